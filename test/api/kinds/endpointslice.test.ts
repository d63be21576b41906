import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { formatAge } from '../../../src/api/names.js';
import {
  cidrContains,
  endpointIPErrors,
  endpointSliceKind,
  parseCIDR,
  parseIP,
} from '../../../src/api/kinds/endpointslice.js';
import type { KubeObject } from '../../../src/api/types.js';

type EPS = EndpointSlice & KubeObject;
const s = endpointSliceKind.strategy;

function slice(extra: Partial<EPS> = {}): EPS {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'] }],
    ports: [{ port: 80 }],
    ...extra,
  } as EPS;
}

const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const validate = (o: EPS) => s.validate!(o);

describe('EndpointSlice discovery info', () => {
  it('matches upstream discovery', () => {
    assert.equal(endpointSliceKind.group, 'discovery.k8s.io');
    assert.equal(endpointSliceKind.resource, 'endpointslices');
    assert.equal(endpointSliceKind.namespaced, true);
    assert.equal(endpointSliceKind.generation, true);
    assert.equal(endpointSliceKind.shortNames, undefined);
  });
});

describe('EndpointSlice defaults', () => {
  it('defaults port name to "" and protocol to TCP, idempotently', () => {
    const o = slice({ ports: [{ port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] });
    s.defaults!(o);
    const once = structuredClone(o);
    s.defaults!(o);
    assert.deepEqual(o, once);
    assert.deepEqual(o.ports, [
      { port: 80, name: '', protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ]);
  });
});

describe('EndpointSlice validation', () => {
  const valid = () => {
    const o = slice();
    s.defaults!(o);
    return o;
  };

  it('accepts a valid slice', () => assert.deepEqual(validate(valid()), []));

  it('requires addressType and rejects unknown ones', () => {
    const o = valid();
    delete (o as Record<string, unknown>).addressType;
    assert.deepEqual(fields(validate(o)), ['addressType:FieldValueRequired']);
    o.addressType = 'IP';
    const errs = validate(o);
    assert.deepEqual(fields(errs), ['addressType:FieldValueNotSupported']);
    assert.match(errs[0].detail!, /"FQDN", "IPv4", "IPv6"/);
  });

  it('checks addresses against the address type', () => {
    const o = valid();
    o.endpoints = [{ addresses: ['fd00::1', '127.0.0.1', '0.0.0.0', '169.254.1.1', '224.0.0.5', '300.1.1.1'] }];
    const errs = validate(o);
    const at = (i: number) => errs.filter((e) => e.field === `endpoints[0].addresses[${i}]`).map((e) => e.detail);
    assert.deepEqual(at(0), ['must be a valid IPv4 address']);
    assert.deepEqual(at(1), ['may not be in the loopback range (127.0.0.0/8, ::1/128)']);
    assert.deepEqual(at(2), ['may not be unspecified (0.0.0.0)']);
    assert.deepEqual(at(3), ['may not be in the link-local range (169.254.0.0/16, fe80::/10)']);
    assert.deepEqual(at(4), ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)']);
    assert.deepEqual(at(5), ['must be a valid IPv4 address', 'must be a valid IP address']);

    o.addressType = 'IPv6';
    o.endpoints = [{ addresses: ['fd00::1', '10.0.0.1', '::1'] }];
    assert.deepEqual(
      validate(o).map((e) => [e.field, e.detail]),
      [
        ['endpoints[0].addresses[1]', 'must be a valid IPv6 address'],
        ['endpoints[0].addresses[2]', 'may not be in the loopback range (127.0.0.0/8, ::1/128)'],
      ],
    );

    o.addressType = 'FQDN';
    o.endpoints = [{ addresses: ['db.example.com', 'localhost', 'Bad_Name.com'] }];
    assert.deepEqual(
      validate(o).map((e) => [e.field, e.detail?.slice(0, 40)]),
      [
        ['endpoints[0].addresses[1]', 'should be a domain with at least two seg'],
        ['endpoints[0].addresses[2]', 'a lowercase RFC 1123 subdomain must cons'],
      ],
    );
  });

  it('requires at least one address and validates hostname, nodeName and hints', () => {
    const o = valid();
    o.endpoints = [
      { addresses: [] },
      { addresses: ['10.0.0.2'], hostname: 'Web.1', nodeName: 'node_1', hints: { forZones: [{ name: 'a' }, { name: 'a' }] } },
    ];
    assert.deepEqual(fields(validate(o)), [
      'endpoints[0].addresses:FieldValueRequired',
      'endpoints[1].nodeName:FieldValueInvalid',
      'endpoints[1].hostname:FieldValueInvalid',
      'endpoints[1].hints.forZones[1].name:FieldValueDuplicate',
    ]);
  });

  it('validates ports: names, duplicates, protocols, appProtocol', () => {
    const o = valid();
    o.ports = [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'http', port: 81, protocol: 'TCP' },
      { name: 'Bad', port: 82, protocol: 'ICMP', appProtocol: 'a/b/c' },
    ];
    assert.deepEqual(fields(validate(o)), [
      'ports[1].name:FieldValueDuplicate',
      'ports[2].name:FieldValueInvalid',
      'ports[2].protocol:FieldValueNotSupported',
      'ports[2].appProtocol:FieldValueInvalid',
    ]);
  });

  it('reports wrong JSON types instead of throwing', () => {
    const o = valid();
    (o as Record<string, unknown>).endpoints = 'nope';
    (o as Record<string, unknown>).ports = [{ port: '80', protocol: 'TCP', name: '' }];
    assert.deepEqual(fields(validate(o)), ['endpoints:FieldValueTypeInvalid', 'ports[0].port:FieldValueTypeInvalid']);
  });

  it('keeps addressType immutable', () => {
    const old = valid();
    const o = valid();
    o.addressType = 'IPv6';
    assert.deepEqual(s.validateUpdate!(o, old).map((e) => [e.field, e.detail]), [['addressType', 'field is immutable']]);
    assert.deepEqual(s.validateUpdate!(valid(), old), []);
  });
});

describe('EndpointSlice prepare', () => {
  it('drops deprecatedTopology on create and bumps generation on label changes', () => {
    const o = slice({ endpoints: [{ addresses: ['10.0.0.1'], deprecatedTopology: { a: 'b' } }] });
    s.prepareForCreate!(o);
    assert.deepEqual(o.endpoints, [{ addresses: ['10.0.0.1'] }]);

    const old = slice();
    (old.metadata as { generation?: number }).generation = 3;
    const upd = slice();
    (upd.metadata as { generation?: number }).generation = 3;
    upd.metadata!.labels = { 'kubernetes.io/service-name': 'web', extra: 'x' };
    s.prepareForUpdate!(upd, old);
    assert.equal(upd.metadata!.generation, 4);

    const same = slice();
    (same.metadata as { generation?: number }).generation = 3;
    s.prepareForUpdate!(same, old);
    assert.equal(same.metadata!.generation, 3);
  });
});

describe('EndpointSlice table', () => {
  it('prints ports and up to three endpoints then "+ N more..."', () => {
    const now = Date.parse('2024-01-01T01:00:00Z');
    const o = slice({
      ports: [{ port: 80 }, { name: 'metrics' }, {}, { port: 9000 }],
      endpoints: [{ addresses: ['10.0.0.1', '10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4', '10.0.0.5'] }],
    });
    o.metadata = { ...o.metadata, creationTimestamp: '2024-01-01T00:00:00Z' };
    assert.deepEqual(endpointSliceKind.strategy.table!.columns.map((c) => c.name.toUpperCase()), [
      'NAME',
      'ADDRESSTYPE',
      'PORTS',
      'ENDPOINTS',
      'AGE',
    ]);
    assert.deepEqual(s.table!.row(o, now), [
      'web-abc',
      'IPv4',
      '80,metrics,* + 1 more...',
      '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...',
      formatAge('2024-01-01T00:00:00Z', now),
    ]);
    const empty = slice({ ports: [], endpoints: [] });
    assert.deepEqual(s.table!.row(empty, now).slice(2, 4), ['<unset>', '<unset>']);
    assert.deepEqual(s.table!.row(slice({ endpoints: [{ addresses: ['10.0.0.9'] }] }), now)[3], '10.0.0.9');
  });
});

describe('IP helpers', () => {
  it('parse addresses with Go semantics', () => {
    assert.equal(parseIP('10.1.2.3')?.is4, true);
    assert.equal(parseIP('::ffff:10.1.2.3')?.is4, true);
    assert.equal(parseIP('2001:db8::1')?.is4, false);
    assert.deepEqual(parseIP('1:2:3:4:5:6:7:8')?.bytes, [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    assert.deepEqual(parseIP('::1.2.3.4')?.bytes.slice(12), [1, 2, 3, 4]);
    for (const bad of ['1.2.3', '1.2.3.256', '1::2::3', 'fe80::1%eth0', '12345::', ':1::', 'abc', '']) assert.equal(parseIP(bad), null, bad);
    assert.deepEqual(endpointIPErrors('fe80::1'), ['may not be in the link-local range (169.254.0.0/16, fe80::/10)']);
    assert.deepEqual(endpointIPErrors('ff02::1'), ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)']);
    assert.deepEqual(endpointIPErrors('::'), ['may not be unspecified (::)']);
    assert.deepEqual(endpointIPErrors('8.8.8.8'), []);
  });

  it('parse CIDRs and test containment', () => {
    const net = parseCIDR('10.0.0.1/8')!;
    assert.deepEqual(net.ip.bytes.slice(12), [10, 0, 0, 0]);
    assert.equal(net.prefix, 8);
    assert.equal(cidrContains(net, parseIP('10.200.1.1')!), true);
    assert.equal(cidrContains(net, parseIP('11.0.0.1')!), false);
    assert.equal(cidrContains(net, parseIP('fd00::1')!), false);
    assert.equal(parseCIDR('10.0.0.0/33'), null);
    assert.equal(parseCIDR('10.0.0.0'), null);
    const v6 = parseCIDR('2001:db8::/32')!;
    assert.equal(cidrContains(v6, parseIP('2001:db8:1::5')!), true);
    assert.equal(cidrContains(v6, parseIP('2001:db9::5')!), false);
  });
});
