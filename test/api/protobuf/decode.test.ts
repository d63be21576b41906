// Malformed and unsupported protobuf bodies fail with Status errors, and value types convert to their
// JSON forms. Well-formed bodies of real clients are covered by capture.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Event, Secret } from 'kubernetes-types/core/v1.js';
import { isStatusError, type StatusError } from '../../../src/api/errors.js';
import { decodeKubernetesProtobuf, PROTOBUF_MAGIC, protobufKinds } from '../../../src/api/protobuf/decode.js';
import { builtinScheme } from '../../../src/api/kinds/index.js';
import type { KindInfo } from '../../../src/api/types.js';
import { decodeProtobufFor } from '../../../src/apiserver/protobuf.js';

// A minimal protobuf writer, only to build malformed bodies and value-type edge cases.
function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const bytesField = (num: number, payload: Buffer | string) => {
  const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint((num << 3) | 2), varint(b.length), b]);
};
const varintField = (num: number, n: number | bigint) => Buffer.concat([varint(num << 3), varint(n)]);
const msg = (...parts: Buffer[]) => Buffer.concat(parts);

function envelope(apiVersion: string, kind: string, raw: Buffer, ...extra: Buffer[]): Buffer {
  return Buffer.concat([PROTOBUF_MAGIC, bytesField(1, msg(bytesField(1, apiVersion), bytesField(2, kind))), bytesField(2, raw), ...extra]);
}

function failure(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    assert.ok(isStatusError(e), `expected a StatusError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a failure');
}

const secretRaw = msg(bytesField(1, msg(bytesField(1, 's'), bytesField(3, 'ns'))), bytesField(2, msg(bytesField(1, 'k'), bytesField(2, 'v'))), bytesField(3, 'Opaque'));

/** A deterministic byte stream (xorshift32). */
function randomBytes(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('decodeKubernetesProtobuf', () => {
  test('decodes a Secret envelope', () => {
    const { apiVersion, kind, object } = decodeKubernetesProtobuf(envelope('v1', 'Secret', secretRaw));
    assert.equal(apiVersion, 'v1');
    assert.equal(kind, 'Secret');
    assert.deepEqual(object, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' }, data: { k: 'dg==' }, type: 'Opaque' });
  });

  test('bad magic, empty and short bodies are 400', () => {
    for (const body of [Buffer.alloc(0), Buffer.from('k8s'), Buffer.from('{"kind":"Secret"}'), Buffer.concat([Buffer.from('k8s\x01'), secretRaw])]) {
      const e = failure(() => decodeKubernetesProtobuf(body));
      assert.equal(e.code, 400);
      assert.equal(e.reason, 'BadRequest');
    }
  });

  test('an envelope without kind or apiVersion is 400', () => {
    assert.equal(failure(() => decodeKubernetesProtobuf(PROTOBUF_MAGIC)).code, 400);
    assert.match(failure(() => decodeKubernetesProtobuf(envelope('v1', '', secretRaw))).message, /Kind/);
    assert.match(failure(() => decodeKubernetesProtobuf(envelope('', 'Secret', secretRaw))).message, /apiVersion/);
  });

  test('every truncation of a body is a 400 or a shorter valid message', () => {
    const body = envelope('v1', 'Secret', secretRaw);
    let bad = 0;
    for (let n = 0; n < body.length; n++) {
      try {
        decodeKubernetesProtobuf(body.subarray(0, n));
      } catch (e) {
        assert.ok(isStatusError(e), `prefix ${n}: ${String(e)}`);
        assert.equal(e.code, 400, `prefix ${n}`);
        bad++;
      }
    }
    // all but the prefixes that end exactly on a field boundary of the envelope
    assert.ok(bad >= body.length - 3, `${bad} of ${body.length}`);
  });

  test('random bytes after the magic never crash: 400 or 415 only', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const body = Buffer.concat([PROTOBUF_MAGIC, randomBytes(seed, 1 + (seed % 200))]);
      try {
        decodeKubernetesProtobuf(body);
      } catch (e) {
        assert.ok(isStatusError(e), `seed ${seed}: ${String(e)}`);
        assert.ok(e.code === 400 || e.code === 415, `seed ${seed}: ${e.code}`);
      }
    }
  });

  test('random raw bytes inside a valid Secret envelope never crash', () => {
    let bad = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      try {
        decodeKubernetesProtobuf(envelope('v1', 'Secret', randomBytes(seed, 1 + (seed % 300))));
      } catch (e) {
        assert.ok(isStatusError(e), `seed ${seed}: ${String(e)}`);
        assert.equal(e.code, 400, `seed ${seed}`);
        bad++;
      }
    }
    assert.ok(bad > 0);
  });

  test('a valid envelope with garbage raw is 400', () => {
    const garbage = [
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // metadata claims 4 GiB
      Buffer.from([0x0a, 0x05, 0x0a, 0x01]), // metadata longer than what is left
      Buffer.from([0x18, 0x80]), // a varint cut short
      Buffer.from([0x0f]), // wire type 7 does not exist
      Buffer.from([0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // an 11-byte varint
    ];
    for (const raw of garbage) {
      const e = failure(() => decodeKubernetesProtobuf(envelope('v1', 'Secret', raw)));
      assert.equal(e.code, 400, raw.toString('hex'));
      assert.match(e.message, /v1, Kind=Secret/);
    }
  });

  test('deeply nested groups are a 400, not a stack overflow', () => {
    // 20000 start-group tags of an unknown field, then as many end-group tags
    const raw = Buffer.concat([Buffer.alloc(20000, 0x2b), Buffer.alloc(20000, 0x2c)]);
    const e = failure(() => decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', raw)));
    assert.equal(e.code, 400);
  });

  test('an unknown kind is 415 naming it', () => {
    for (const [apiVersion, kind] of [
      ['example.com/v1', 'Widget'],
      ['v1', 'ObjectMeta'],
      ['apps/v1', 'Secret'],
      ['coordination.k8s.io/v1', 'Lease'],
    ]) {
      const e = failure(() => decodeKubernetesProtobuf(envelope(apiVersion, kind, secretRaw)));
      assert.equal(e.code, 415);
      assert.equal(e.reason, 'UnsupportedMediaType');
      assert.ok(e.message.includes(`${apiVersion}, Kind=${kind}`), e.message);
    }
  });

  test('an encoded or non-protobuf raw is 415', () => {
    assert.equal(failure(() => decodeKubernetesProtobuf(envelope('v1', 'Secret', secretRaw, bytesField(3, 'gzip')))).code, 415);
    assert.equal(failure(() => decodeKubernetesProtobuf(envelope('v1', 'Secret', secretRaw, bytesField(4, 'application/cbor')))).code, 415);
  });

  test('every registered kind has a message in the schema', () => {
    const kinds = protobufKinds();
    assert.ok(kinds.length >= 20);
    for (const { apiVersion, kind } of kinds) {
      const { object } = decodeKubernetesProtobuf(envelope(apiVersion, kind, msg(bytesField(1, msg(bytesField(1, 'x'))))));
      assert.deepEqual(object, { apiVersion, kind, metadata: { name: 'x' } });
    }
  });
});

describe('value types and empty values', () => {
  test('Time, MicroTime, zero Time, empty structs and zero scalars', () => {
    const meta = msg(
      bytesField(1, 'e'),
      bytesField(2, ''), // generateName ""
      varintField(7, 0), // generation 0
      bytesField(8, Buffer.alloc(0)), // creationTimestamp: zero Time
      bytesField(9, msg(varintField(1, 1767225600), varintField(2, 0))), // deletionTimestamp 2026-01-01
      varintField(10, 0), // deletionGracePeriodSeconds: 0, a pointer
      bytesField(11, msg(bytesField(1, 'empty'), bytesField(2, ''))), // labels {empty: ""}
    );
    const raw = msg(
      bytesField(1, meta),
      bytesField(2, msg(bytesField(1, 'Pod'), bytesField(3, 'p'))), // involvedObject
      bytesField(6, msg(varintField(1, 0), varintField(2, 0))), // firstTimestamp: the epoch, written
      bytesField(7, Buffer.alloc(0)), // lastTimestamp: zero
      varintField(8, 0), // count 0
      bytesField(10, msg(varintField(1, 1767225600), varintField(2, 123_456_789))), // eventTime
      bytesField(14, ''), // reportingComponent "" (no omitempty → kept)
    );
    const { object } = decodeKubernetesProtobuf(envelope('v1', 'Event', raw));
    const ev = object as unknown as Event;
    assert.deepEqual(ev.metadata, { name: 'e', deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 0, labels: { empty: '' } });
    assert.deepEqual(ev.involvedObject, { kind: 'Pod', name: 'p' });
    assert.equal(ev.firstTimestamp, '1970-01-01T00:00:00Z');
    assert.equal('lastTimestamp' in ev, false);
    assert.equal('count' in ev, false);
    assert.equal(ev.eventTime, '2026-01-01T00:00:00.123456Z');
    assert.equal(ev.reportingComponent, '');
  });

  test('IntOrString, Quantity, bytes maps, pointers to empty structs, inline structs, int64', () => {
    const volume = msg(bytesField(1, 'scratch'), bytesField(2, msg(bytesField(2, msg(bytesField(1, 'Memory'), bytesField(2, msg(bytesField(1, '64Mi'))))))));
    const cfgVolume = msg(bytesField(1, 'cfg'), bytesField(2, msg(bytesField(19, msg(bytesField(1, msg(bytesField(1, 'cm'))))))));
    const httpGet = msg(bytesField(1, '/healthz'), bytesField(2, msg(varintField(1, 1), bytesField(3, 'http'))));
    const container = msg(
      bytesField(1, 'c'),
      bytesField(8, msg(bytesField(1, msg(bytesField(1, 'cpu'), bytesField(2, msg(bytesField(1, '500m'))))))), // resources.limits
      bytesField(10, msg(bytesField(1, msg(bytesField(2, httpGet))))), // livenessProbe.httpGet
      bytesField(15, Buffer.alloc(0)), // securityContext: {} (a pointer)
    );
    const podSpec = msg(bytesField(1, volume), bytesField(1, cfgVolume), bytesField(2, container), varintField(4, 30));
    const intOrString = (v: number | string) => (typeof v === 'number' ? msg(varintField(1, 0), varintField(2, v)) : msg(varintField(1, 1), bytesField(3, v)));
    const strategy = msg(bytesField(1, 'RollingUpdate'), bytesField(2, msg(bytesField(1, intOrString(0)), bytesField(2, intOrString('25%')))));
    const spec = msg(bytesField(3, msg(bytesField(2, podSpec))), bytesField(4, strategy));
    const raw = msg(
      bytesField(1, msg(bytesField(1, 'd'))),
      bytesField(2, spec),
      bytesField(3, msg(varintField(1, 9_007_199_254_740_991n))), // status.observedGeneration: 2^53 - 1
    );
    const { object } = decodeKubernetesProtobuf(envelope('apps/v1', 'Deployment', raw));
    assert.deepEqual(object, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        template: {
          spec: {
            volumes: [
              { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
              { name: 'cfg', configMap: { name: 'cm' } },
            ],
            containers: [
              {
                name: 'c',
                resources: { limits: { cpu: '500m' } },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
                securityContext: {},
              },
            ],
            terminationGracePeriodSeconds: 30,
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      },
      status: { observedGeneration: 9_007_199_254_740_991 },
    });
  });

  test('Secret data and ConfigMap binaryData become base64; empty values in maps stay', () => {
    const bin = Buffer.from([0, 0xff, 0x80]);
    const secret = decodeKubernetesProtobuf(envelope('v1', 'Secret', msg(bytesField(2, msg(bytesField(1, 'bin'), bytesField(2, bin))), bytesField(2, msg(bytesField(1, 'none')))))).object as Secret;
    assert.deepEqual(secret.data, { bin: bin.toString('base64'), none: '' });
    const cm = decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', msg(bytesField(3, msg(bytesField(1, 'b'), bytesField(2, bin))), varintField(4, 0)))).object;
    assert.deepEqual(cm, { apiVersion: 'v1', kind: 'ConfigMap', binaryData: { b: bin.toString('base64') }, immutable: false });
  });

  test('a field whose JSON name differs from its protobuf name (IngressClass parameters.aPIGroup)', () => {
    const params = msg(bytesField(1, 'example.com'), bytesField(2, 'Params'), bytesField(3, 'p'));
    const { object } = decodeKubernetesProtobuf(envelope('networking.k8s.io/v1', 'IngressClass', msg(bytesField(2, msg(bytesField(1, 'example.com/ic'), bytesField(2, params))))));
    assert.deepEqual(object.spec, { controller: 'example.com/ic', parameters: { apiGroup: 'example.com', kind: 'Params', name: 'p' } });
  });

  test('a time beyond year 9999 or a bad IntOrString type is 400', () => {
    const farMeta = msg(bytesField(9, msg(varintField(1, 400_000_000_000))));
    assert.equal(failure(() => decodeKubernetesProtobuf(envelope('v1', 'Secret', msg(bytesField(1, farMeta))))).code, 400);
    const svc = msg(bytesField(2, msg(bytesField(1, msg(varintField(3, 80), bytesField(4, msg(varintField(1, 7))))))));
    assert.equal(failure(() => decodeKubernetesProtobuf(envelope('v1', 'Service', svc))).code, 400);
  });
});

describe('decodeProtobufFor (the API server hook)', () => {
  const scheme = builtinScheme();
  const kindFor = (resource: string): KindInfo => {
    const info = scheme.lookup('', 'v1', resource);
    assert.ok(info);
    return info;
  };
  const secretKind = kindFor('secrets');
  const configMapKind = kindFor('configmaps');

  test('returns the object when the body names the URL kind', () => {
    const obj = decodeProtobufFor(envelope('v1', 'Secret', secretRaw), secretKind);
    assert.equal(obj.kind, 'Secret');
    assert.equal((obj as Secret).metadata?.name, 's');
  });

  test('a body of another kind or version is 400, as for JSON', () => {
    const e = failure(() => decodeProtobufFor(envelope('v1', 'Secret', secretRaw), configMapKind));
    assert.equal(e.code, 400);
    assert.match(e.message, /the kind in the data \(Secret\) does not match the expected kind \(ConfigMap\)/);
    const v = failure(() => decodeProtobufFor(envelope('v2', 'Secret', secretRaw), secretKind));
    assert.equal(v.code, 400);
    assert.match(v.message, /the API version in the data \(v2\) does not match the expected API version \(v1\)/);
    // an unknown kind under another URL's kind is a mismatch first
    assert.equal(failure(() => decodeProtobufFor(envelope('example.com/v1', 'Widget', secretRaw), secretKind)).code, 400);
  });
});
