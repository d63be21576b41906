import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { secretKind } from '../../../src/api/kinds/secret.js';
import type { FieldError } from '../../../src/api/errors.js';

const s = secretKind.strategy;
const b64 = (x: string) => Buffer.from(x).toString('base64');
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const secret = (extra: Record<string, unknown>) => {
  const v = { metadata: { name: 's', namespace: 'default' }, ...extra } as Secret;
  s.defaults!(v);
  return v;
};

describe('secret', () => {
  it('defaults type Opaque and merges stringData into data', () => {
    const v = secret({ data: { a: b64('1') }, stringData: { b: 'two', a: 'one' } });
    assert.equal(v.type, 'Opaque');
    assert.deepEqual(v.data, { a: b64('one'), b: b64('two') });
    assert.equal((v as Record<string, unknown>).stringData, undefined);
    const again = JSON.parse(JSON.stringify(v)) as Secret;
    s.defaults!(again);
    assert.deepEqual(again, v);
  });

  it('rejects invalid base64, bad keys and oversized data', () => {
    const errs = s.validate!(secret({ data: { ok: b64('x'), bad: 'not base64!', 'no/slash': '' } }));
    assert.deepEqual(fields(errs).sort(), ['data[bad]:FieldValueInvalid', 'data[no/slash]:FieldValueInvalid']);
    const big = s.validate!(secret({ data: { a: Buffer.alloc(1024 * 1024 + 1).toString('base64') } }));
    assert.deepEqual(fields(big), ['data:FieldValueTooLong']);
  });

  it('requires the keys of known types', () => {
    assert.deepEqual(fields(s.validate!(secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c') } }))), ['data[tls.key]:FieldValueRequired']);
    assert.deepEqual(fields(s.validate!(secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{nope') } }))), [
      'data[.dockerconfigjson]:FieldValueInvalid',
    ]);
    assert.deepEqual(s.validate!(secret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{"auths":{}}') } })), []);
    assert.deepEqual(fields(s.validate!(secret({ type: 'kubernetes.io/basic-auth' }))), ['data[username]:FieldValueRequired', 'data[password]:FieldValueRequired']);
    assert.deepEqual(fields(s.validate!(secret({ type: 'kubernetes.io/ssh-auth' }))), ['data[ssh-privatekey]:FieldValueRequired']);
    assert.deepEqual(fields(s.validate!(secret({ type: 'kubernetes.io/service-account-token' }))), [
      'metadata.annotations[kubernetes.io/service-account.name]:FieldValueRequired',
    ]);
  });

  it('keeps type and immutable data fixed on update', () => {
    const old = secret({ immutable: true, data: { a: b64('1') } });
    const changed = secret({ immutable: true, type: 'Opaque', stringData: { a: '2' } });
    assert.deepEqual(fields(s.validateUpdate!(changed, old)), ['data:FieldValueForbidden']);
    const retyped = secret({ type: 'kubernetes.io/tls' });
    assert.equal(s.validateUpdate!(retyped, secret({}))[0].detail, 'field is immutable');
  });

  it('prints TYPE and DATA count and selects on type', () => {
    const v = secret({ data: { a: '', b: '' }, metadata: { name: 's', creationTimestamp: '2024-05-01T00:00:00Z' } });
    assert.deepEqual(s.table!.row(v, Date.parse('2024-05-01T00:00:30Z')), ['s', 'Opaque', 2, '30s']);
    assert.deepEqual(s.selectableFields!(v), { type: 'Opaque' });
  });
});
