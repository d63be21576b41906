import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { persistentVolumeKind, persistentVolumeClaimKind } from '../../../src/api/kinds/persistentvolume.js';
import type { FieldError } from '../../../src/api/errors.js';

const pvs = persistentVolumeKind.strategy;
const pvcs = persistentVolumeClaimKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-01T01:00:00Z');

const pv = (spec: unknown, extra: Record<string, unknown> = {}) => {
  const v = { metadata: { name: 'pv1', creationTimestamp: '2024-05-01T00:00:00Z' }, spec, ...extra } as PersistentVolume;
  pvs.defaults!(v);
  return v;
};
const pvc = (spec: unknown, extra: Record<string, unknown> = {}) => {
  const v = { metadata: { name: 'c1', namespace: 'default', creationTimestamp: '2024-05-01T00:00:00Z' }, spec, ...extra } as PersistentVolumeClaim;
  pvcs.defaults!(v);
  pvcs.prepareForCreate!(v);
  return v;
};

describe('persistent volume', () => {
  const spec = { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data' }, storageClassName: 'manual' };

  it('defaults reclaim policy, volume mode and phase', () => {
    const v = pv(spec);
    pvs.prepareForCreate!(v);
    assert.equal(v.spec!.persistentVolumeReclaimPolicy, 'Retain');
    assert.equal(v.spec!.volumeMode, 'Filesystem');
    assert.equal(v.spec!.hostPath!.type, '');
    assert.equal(v.status!.phase, 'Pending');
    assert.match(String(v.status!.lastPhaseTransitionTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(pvs.validate!(v), []);
  });

  it('requires access modes, storage capacity and exactly one source', () => {
    const errs = fields(pvs.validate!(pv({ capacity: { cpu: '1' }, nfs: { server: 's', path: '/x' }, hostPath: { path: '/y' } })));
    assert.ok(errs.includes('spec.accessModes:FieldValueRequired'));
    assert.ok(errs.includes('spec.capacity:FieldValueNotSupported'));
    assert.ok(errs.includes('spec.nfs:FieldValueForbidden'));
    assert.ok(fields(pvs.validate!(pv({ capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] }))).includes('spec:FieldValueRequired'));
    assert.ok(fields(pvs.validate!(pv({ ...spec, accessModes: ['ReadWriteOncePod', 'ReadWriteOnce'] }))).includes('spec.accessModes:FieldValueForbidden'));
  });

  it('keeps the volume source immutable', () => {
    const old = pv(spec);
    const next = pv({ ...spec, hostPath: { path: '/other' }, capacity: { storage: '20Gi' } });
    assert.deepEqual(fields(pvs.validateUpdate!(next, old)), ['spec.persistentvolumesource:FieldValueForbidden']);
    assert.deepEqual(pvs.validateUpdate!(pv({ ...spec, capacity: { storage: '20Gi' } }), old), []);
  });

  it('prints upstream PV columns', () => {
    const v = pv({ ...spec, claimRef: { namespace: 'default', name: 'c1' } }, { status: { phase: 'Bound' } });
    assert.deepEqual(pvs.table!.row(v, NOW), ['pv1', '10Gi', 'RWO', 'Retain', 'Bound', 'default/c1', 'manual', '<unset>', '', '60m', 'Filesystem']);
  });
});

describe('persistent volume claim', () => {
  const spec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };

  it('defaults phase and volume mode, mirrors dataSource into dataSourceRef', () => {
    const v = pvc({ ...spec, dataSource: { kind: 'PersistentVolumeClaim', name: 'src' } });
    assert.deepEqual(v.status, { phase: 'Pending' });
    assert.equal(v.spec!.volumeMode, 'Filesystem');
    assert.deepEqual(v.spec!.dataSourceRef, { kind: 'PersistentVolumeClaim', name: 'src' });
    assert.deepEqual(pvcs.validate!(v), []);
  });

  it('requires access modes and a positive storage request', () => {
    const errs = pvcs.validate!(pvc({ resources: { requests: { storage: '0' } } }));
    assert.deepEqual(fields(errs), ['spec.accessModes:FieldValueRequired', 'spec.resources[storage]:FieldValueInvalid']);
    assert.equal(errs[0].detail, 'at least 1 access mode is required');
    assert.deepEqual(fields(pvcs.validate!(pvc({ accessModes: ['ReadWriteOnce'] }))), ['spec.resources[storage]:FieldValueRequired']);
  });

  it('allows binding once and storage growth only for bound claims', () => {
    const old = pvc(spec);
    const bind = pvc({ ...spec, volumeName: 'pv1' });
    assert.deepEqual(pvcs.validateUpdate!(bind, old), []);
    const grown = pvc({ ...spec, resources: { requests: { storage: '2Gi' } } });
    assert.deepEqual(fields(pvcs.validateUpdate!(grown, old)), ['spec:FieldValueForbidden']);
    Object.assign(grown, { status: { phase: 'Bound' } });
    assert.deepEqual(pvcs.validateUpdate!(grown, old), []);
    const shrunk = pvc({ ...spec, resources: { requests: { storage: '512Mi' } } }, {});
    Object.assign(shrunk, { status: { phase: 'Bound' } });
    assert.deepEqual(fields(pvcs.validateUpdate!(shrunk, old)), ['spec.resources.requests.storage:FieldValueForbidden']);
    const sameValue = pvc({ ...spec, resources: { requests: { storage: '1024Mi' } } });
    assert.deepEqual(pvcs.validateUpdate!(sameValue, old), []);
  });

  it('prints upstream PVC columns', () => {
    const pending = pvc({ ...spec, storageClassName: 'fast' });
    assert.deepEqual(pvcs.table!.row(pending, NOW), ['c1', 'Pending', '', '', '', 'fast', '<unset>', '60m', 'Filesystem']);
    const bound = pvc({ ...spec, volumeName: 'pv1' });
    Object.assign(bound, { status: { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] } });
    assert.deepEqual(pvcs.table!.row(bound, NOW).slice(0, 6), ['c1', 'Bound', 'pv1', '1Gi', 'RWO,ROX', '']);
  });
});
