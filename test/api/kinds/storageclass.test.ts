import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { isDefaultStorageClass, storageClassKind } from '../../../src/api/kinds/storageclass.js';
import { formatAge } from '../../../src/api/names.js';
import type { KubeObject } from '../../../src/api/types.js';

type SC = StorageClass & KubeObject;
const s = storageClassKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

const sc = (extra: Partial<SC> = {}): SC =>
  ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'local' }, provisioner: 'rancher.io/local-path', ...extra }) as SC;
const defaulted = (extra: Partial<SC> = {}) => {
  const o = sc(extra);
  s.defaults!(o);
  return o;
};

describe('StorageClass', () => {
  it('has upstream discovery info', () => {
    assert.deepEqual(storageClassKind.shortNames, ['sc']);
    assert.equal(storageClassKind.namespaced, false);
    assert.equal(storageClassKind.resource, 'storageclasses');
  });

  it('defaults reclaimPolicy to Delete and volumeBindingMode to Immediate without overwriting', () => {
    const o = defaulted();
    assert.equal(o.reclaimPolicy, 'Delete');
    assert.equal(o.volumeBindingMode, 'Immediate');
    const once = structuredClone(o);
    s.defaults!(o);
    assert.deepEqual(o, once);
    const kept = defaulted({ reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer' });
    assert.equal(kept.reclaimPolicy, 'Retain');
    assert.equal(kept.volumeBindingMode, 'WaitForFirstConsumer');
  });

  it('validates provisioner, parameters, policies and topologies', () => {
    assert.deepEqual(s.validate!(defaulted({ parameters: { type: 'ssd' } })), []);
    const o = defaulted({
      provisioner: '',
      parameters: { '': 'x' },
      reclaimPolicy: 'Recycle',
      volumeBindingMode: 'Later',
      allowedTopologies: [
        { matchLabelExpressions: [{ key: 'zone', values: [] }] },
        { matchLabelExpressions: [{ key: 'zone', values: ['a', 'a'] }, { key: 'zone', values: ['b'] }] },
      ],
    });
    assert.deepEqual(fields(s.validate!(o)), [
      'provisioner:FieldValueRequired',
      'parameters:FieldValueInvalid',
      'reclaimPolicy:FieldValueNotSupported',
      'volumeBindingMode:FieldValueNotSupported',
      'allowedTopologies[0].matchLabelExpressions[0].values:FieldValueRequired',
      'allowedTopologies[1].matchLabelExpressions[0].values[1]:FieldValueDuplicate',
      'allowedTopologies[1].matchLabelExpressions[1].key:FieldValueDuplicate',
    ]);
    const bad = s.validate!(defaulted({ provisioner: 'Example.com/My Provisioner' }));
    assert.deepEqual(fields(bad), ['provisioner:FieldValueInvalid']);
    assert.equal(bad[0].value, 'example.com/my provisioner');
    const dup = defaulted({ allowedTopologies: [{ matchLabelExpressions: [{ key: 'z', values: ['a'] }] }, { matchLabelExpressions: [{ key: 'z', values: ['a'] }] }] });
    assert.deepEqual(fields(s.validate!(dup)), ['allowedTopologies[1].matchLabelExpressions:FieldValueDuplicate']);
  });

  it('requires volumeBindingMode when nothing defaulted it and rejects wrong types', () => {
    const o = sc();
    (o as Record<string, unknown>).parameters = ['x'];
    (o as Record<string, unknown>).allowVolumeExpansion = 'yes';
    assert.deepEqual(fields(s.validate!(o)), [
      'parameters:FieldValueTypeInvalid',
      'allowVolumeExpansion:FieldValueTypeInvalid',
      'volumeBindingMode:FieldValueRequired',
    ]);
  });

  it('forbids changing provisioner, parameters, reclaimPolicy and volumeBindingMode', () => {
    const old = defaulted({ parameters: { a: 'b' } });
    assert.deepEqual(s.validateUpdate!(defaulted({ parameters: { a: 'b' }, allowVolumeExpansion: true }), old), []);
    const changed = defaulted({ provisioner: 'other.io/x', parameters: { a: 'c' }, reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer' });
    assert.deepEqual(
      s.validateUpdate!(changed, old).map((e) => [e.field, e.type, e.detail]),
      [
        ['parameters', 'FieldValueForbidden', 'updates to parameters are forbidden.'],
        ['provisioner', 'FieldValueForbidden', 'updates to provisioner are forbidden.'],
        ['reclaimPolicy', 'FieldValueForbidden', 'updates to reclaimPolicy are forbidden.'],
        ['volumeBindingMode', 'FieldValueInvalid', 'field is immutable'],
      ],
    );
  });

  it('prints the (default) suffix and upstream columns', () => {
    const now = Date.parse('2024-01-02T00:00:00Z');
    assert.deepEqual(s.table!.columns.map((c) => c.name.toUpperCase()), [
      'NAME',
      'PROVISIONER',
      'RECLAIMPOLICY',
      'VOLUMEBINDINGMODE',
      'ALLOWVOLUMEEXPANSION',
      'AGE',
    ]);
    const o = defaulted({ allowVolumeExpansion: true });
    o.metadata = { name: 'local', creationTimestamp: '2024-01-01T00:00:00Z', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } };
    assert.equal(isDefaultStorageClass(o), true);
    assert.deepEqual(s.table!.row(o, now), ['local (default)', 'rancher.io/local-path', 'Delete', 'Immediate', true, formatAge('2024-01-01T00:00:00Z', now)]);
    const plain = sc({ metadata: { name: 'slow', annotations: { 'storageclass.kubernetes.io/is-default-class': 'false' } } });
    assert.deepEqual(s.table!.row(plain, now).slice(0, 5), ['slow', 'rancher.io/local-path', 'Delete', 'Immediate', false]);
    const beta = sc({ metadata: { name: 'b', annotations: { 'storageclass.beta.kubernetes.io/is-default-class': 'true' } } });
    assert.equal(s.table!.row(beta, now)[0], 'b (default)');
  });
});
