import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { errInvalid } from '../../src/api/errors.js';
import {
  dns1035LabelErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  nameIsPathSegment,
  qualifiedNameErrors,
  validateAnnotations,
  validateFinalizers,
  validateLabels,
  validateObjectMeta,
  validateOwnerReferences,
} from '../../src/api/validation.js';

const QUALIFIED_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

describe('DNS names', () => {
  it('checks RFC 1123 labels', () => {
    for (const ok of ['a', 'my-name', '123-abc', '0', 'a'.repeat(63)]) assert.deepEqual(dns1123LabelErrors(ok), [], ok);
    for (const bad of ['', 'My-Name', '-a', 'a-', 'a.b', 'a_b']) assert.equal(dns1123LabelErrors(bad).length, 1, bad);
    assert.match(dns1123LabelErrors('A')[0], /^a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'/);
    assert.deepEqual(dns1123LabelErrors('a'.repeat(64)), ['must be no more than 63 characters']);
  });

  it('checks RFC 1123 subdomains', () => {
    for (const ok of ['example.com', 'a.b-c.d', 'a'.repeat(253)]) assert.deepEqual(dns1123SubdomainErrors(ok), [], ok);
    for (const bad of ['Example.com', 'a..b', '.a', 'a.', 'a_b']) assert.equal(dns1123SubdomainErrors(bad).length, 1, bad);
    assert.deepEqual(dns1123SubdomainErrors('a'.repeat(254)), ['must be no more than 253 characters']);
  });

  it('checks DNS-1035 labels (Service names)', () => {
    assert.deepEqual(dns1035LabelErrors('abc-123'), []);
    assert.match(dns1035LabelErrors('1abc')[0], /^a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character/);
  });

  it('allows a trailing dash in generateName prefixes only', () => {
    assert.deepEqual(nameIsDNSSubdomain('web-', true), []);
    assert.equal(nameIsDNSSubdomain('web-', false).length, 1);
    assert.deepEqual(nameIsDNSLabel('job-', true), []);
    assert.equal(nameIsDNSLabel('Job-', true).length, 1);
  });

  it('checks path-segment names', () => {
    assert.deepEqual(nameIsPathSegment('system:controller:foo', false), []);
    assert.deepEqual(nameIsPathSegment('..', false), ["may not be '..'"]);
    assert.deepEqual(nameIsPathSegment('a/b%c', false), ["may not contain '/'", "may not contain '%'"]);
  });
});

describe('label keys and values', () => {
  it('accepts qualified names', () => {
    for (const ok of ['app', 'app.kubernetes.io/name', 'MyName', 'my.name', '123-abc', 'a_b', `example.com/${'a'.repeat(63)}`])
      assert.deepEqual(qualifiedNameErrors(ok), [], ok);
  });

  it('rejects bad qualified names as upstream words it', () => {
    assert.deepEqual(qualifiedNameErrors('app:monolith'), [QUALIFIED_MSG]);
    assert.deepEqual(qualifiedNameErrors('/name'), ['prefix part must be non-empty']);
    assert.deepEqual(qualifiedNameErrors('example.com/'), ['name part must be non-empty', QUALIFIED_MSG]);
    assert.deepEqual(qualifiedNameErrors(''), ['name part must be non-empty', QUALIFIED_MSG]);
    assert.deepEqual(qualifiedNameErrors('a'.repeat(64)), ['name part must be no more than 63 characters']);
    assert.match(qualifiedNameErrors('Example.com/x')[0], /^prefix part a lowercase RFC 1123 subdomain/);
    assert.match(qualifiedNameErrors('a/b/c')[0], /^a qualified name must consist of .* with an optional DNS subdomain prefix and '\/' \(e\.g\. 'example\.com\/MyName'\)$/);
  });

  it('checks label values', () => {
    for (const ok of ['', 'v1', 'my_value', '12345', 'a.b-c', 'a'.repeat(63)]) assert.deepEqual(labelValueErrors(ok), [], ok);
    assert.equal(labelValueErrors('a b').length, 1);
    assert.equal(labelValueErrors('-a').length, 1);
    assert.equal(labelValueErrors('a/b').length, 1);
    assert.ok(labelValueErrors('a'.repeat(64)).includes('must be no more than 63 characters'));
  });

  it('reports label errors at the labels path', () => {
    assert.deepEqual(validateLabels({ app: 'web', 'app.kubernetes.io/name': 'x' }, 'metadata.labels'), []);
    const errs = validateLabels({ 'bad key': 'ok', good: 'bad value', n: 5 }, 'metadata.labels');
    assert.deepEqual(
      errs.map((e) => [e.field, e.value]),
      [
        ['metadata.labels', 'bad key'],
        ['metadata.labels', 'bad value'],
        ['metadata.labels.n', 5],
      ],
    );
  });
});

describe('annotations', () => {
  const LIMIT = 256 * 1024;

  it('checks keys case-insensitively', () => {
    assert.deepEqual(validateAnnotations({ 'Example.COM/Some-Key': 'anything at all: {"json": true}' }, 'metadata.annotations'), []);
    assert.equal(validateAnnotations({ 'bad key': 'v' }, 'metadata.annotations').length, 1);
  });

  it('limits the total size to 256 KiB of keys and values', () => {
    assert.deepEqual(validateAnnotations({ a: 'x'.repeat(LIMIT - 1) }, 'metadata.annotations'), []);
    const errs = validateAnnotations({ a: 'x'.repeat(LIMIT) }, 'metadata.annotations');
    assert.equal(errs.length, 1);
    assert.equal(errs[0].type, 'FieldValueTooLong');
    assert.equal(errs[0].field, 'metadata.annotations');
    assert.match(errs[0].detail ?? '', /262144/);
  });

  it('counts bytes, not characters', () => {
    // 131072 two-byte characters are 262144 bytes; with the key that is one byte over
    assert.equal(validateAnnotations({ a: 'é'.repeat(LIMIT / 2) }, 'metadata.annotations').length, 1);
    assert.deepEqual(validateAnnotations({ a: 'é'.repeat(LIMIT / 2 - 1) }, 'metadata.annotations'), []);
  });
});

describe('validateObjectMeta', () => {
  const namespaced = { namespaced: true, nameValidator: nameIsDNSSubdomain };
  const cluster = { namespaced: false, nameValidator: nameIsDNSSubdomain };
  const fields = (meta: ObjectMeta | undefined, opts = namespaced) => validateObjectMeta(meta, opts).map((e) => `${e.type} ${e.field}`);

  it('accepts good metadata', () => {
    assert.deepEqual(fields({ name: 'web', namespace: 'default', labels: { app: 'web' }, annotations: { note: 'x' } }), []);
    assert.deepEqual(fields({ name: 'node-1' }, cluster), []);
  });

  it('requires metadata, a name, and a namespace for namespaced kinds', () => {
    assert.deepEqual(fields(undefined), ['FieldValueRequired metadata']);
    assert.deepEqual(fields({ namespace: 'default' }), ['FieldValueRequired metadata.name']);
    assert.equal(validateObjectMeta({ namespace: 'default' }, namespaced)[0].detail, 'name or generateName is required');
    assert.deepEqual(fields({ name: 'web' }), ['FieldValueRequired metadata.namespace']);
  });

  it('forbids a namespace on cluster-scoped kinds', () => {
    const errs = validateObjectMeta({ name: 'n1', namespace: 'default' }, cluster);
    assert.deepEqual(errs.map((e) => `${e.type} ${e.field} ${e.detail}`), ['FieldValueForbidden metadata.namespace not allowed on this type']);
  });

  it('validates names, generateName and namespace', () => {
    assert.deepEqual(fields({ name: 'Web', namespace: 'default' }), ['FieldValueInvalid metadata.name']);
    assert.deepEqual(fields({ name: 'web', generateName: 'Web-', namespace: 'default' }), ['FieldValueInvalid metadata.generateName']);
    assert.deepEqual(fields({ name: 'web', namespace: 'Not_A_Label' }), ['FieldValueInvalid metadata.namespace']);
    assert.deepEqual(fields({ name: 'web', namespace: 'default', generation: -1 }), ['FieldValueInvalid metadata.generation']);
  });

  it('rejects two controller ownerReferences as upstream does', () => {
    const refs = [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: 'u1', controller: true },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'b', uid: 'u2', controller: true },
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'u3' },
    ];
    const errs = validateObjectMeta({ name: 'web', namespace: 'default', ownerReferences: refs }, namespaced);
    assert.equal(errs.length, 1);
    assert.equal(errs[0].field, 'metadata.ownerReferences');
    assert.equal(
      errs[0].detail,
      'Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and ReplicaSet/b',
    );
    const status = errInvalid('', 'Pod', 'web', errs).toStatus();
    assert.equal(status.code, 422);
    assert.equal(status.details?.causes?.[0].field, 'metadata.ownerReferences');
    assert.deepEqual(validateOwnerReferences(refs.slice(0, 1).concat(refs.slice(2)), 'metadata.ownerReferences'), []);
  });

  it('reports each extra controller reference', () => {
    const ref = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', name, uid: name, controller: true });
    const errs = validateOwnerReferences([ref('a'), ref('b'), ref('c')], 'metadata.ownerReferences');
    assert.deepEqual(
      errs.map((e) => e.detail),
      [
        'Only one reference can have Controller set to true. Found "true" in references for Pod/a and Pod/b',
        'Only one reference can have Controller set to true. Found "true" in references for Pod/a and Pod/c',
      ],
    );
  });

  it('checks owner reference fields at un-indexed paths', () => {
    const errs = validateOwnerReferences([{ apiVersion: 'apps/', kind: '', name: '', uid: '' }], 'metadata.ownerReferences');
    assert.deepEqual(
      errs.map((e) => `${e.field}: ${e.detail}`),
      [
        'metadata.ownerReferences.apiVersion: version must not be empty',
        'metadata.ownerReferences.kind: must not be empty',
        'metadata.ownerReferences.name: must not be empty',
        'metadata.ownerReferences.uid: must not be empty',
      ],
    );
    const event = validateOwnerReferences([{ apiVersion: 'v1', kind: 'Event', name: 'e', uid: 'u' }], 'metadata.ownerReferences');
    assert.deepEqual(event.map((e) => e.detail), ['/v1, Kind=Event is disallowed from being an owner']);
  });

  it('checks finalizers', () => {
    assert.deepEqual(validateFinalizers(['example.com/cleanup', 'kubernetes'], 'metadata.finalizers'), []);
    const bad = validateFinalizers(['bad finalizer'], 'metadata.finalizers');
    assert.deepEqual(bad.map((e) => [e.field, e.value]), [['metadata.finalizers', 'bad finalizer']]);
    const both = validateFinalizers(['orphan', 'foregroundDeletion'], 'metadata.finalizers');
    assert.deepEqual(both.map((e) => e.detail), ['finalizer orphan and foregroundDeletion cannot be both set']);
    assert.deepEqual(fields({ name: 'web', namespace: 'default', finalizers: ['a b'] }), ['FieldValueInvalid metadata.finalizers']);
  });
});
