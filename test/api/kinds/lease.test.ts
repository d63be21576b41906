import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { leaseKind } from '../../../src/api/kinds/lease.js';
import { formatAge } from '../../../src/api/names.js';
import type { KubeObject } from '../../../src/api/types.js';

type L = Lease & KubeObject;
const s = leaseKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const lease = (spec: Record<string, unknown>): L =>
  ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'node-1', namespace: 'kube-node-lease' }, spec }) as L;

describe('Lease', () => {
  it('has upstream discovery info and allows create on update', () => {
    assert.equal(leaseKind.group, 'coordination.k8s.io');
    assert.equal(leaseKind.resource, 'leases');
    assert.equal(leaseKind.allowCreateOnUpdate, true);
    assert.equal(leaseKind.shortNames, undefined);
  });

  it('accepts a node heartbeat lease', () => {
    assert.deepEqual(s.validate!(lease({ holderIdentity: 'node-1', leaseDurationSeconds: 40, renewTime: '2024-01-01T00:00:00.000000Z' })), []);
    assert.deepEqual(s.validate!(lease({})), []);
  });

  it('validates durations, transitions and times', () => {
    assert.deepEqual(
      s.validate!(lease({ leaseDurationSeconds: 0, leaseTransitions: -1 })).map((e) => [e.field, e.detail]),
      [
        ['spec.leaseDurationSeconds', 'must be greater than 0'],
        ['spec.leaseTransitions', 'must be greater than or equal to 0'],
      ],
    );
    assert.deepEqual(fields(s.validate!(lease({ leaseDurationSeconds: '15', holderIdentity: 3, acquireTime: 'soon' }))), [
      'spec.holderIdentity:FieldValueTypeInvalid',
      'spec.leaseDurationSeconds:FieldValueTypeInvalid',
      'spec.acquireTime:FieldValueTypeInvalid',
    ]);
  });

  it('drops fields of the disabled CoordinatedLeaderElection feature unless already in use', () => {
    const o = lease({ holderIdentity: 'a', strategy: 'OldestEmulationVersion', preferredHolder: 'b' });
    s.prepareForCreate!(o);
    assert.deepEqual(o.spec, { holderIdentity: 'a' });
    const old = lease({ strategy: 'OldestEmulationVersion' });
    const upd = lease({ strategy: 'OldestEmulationVersion', preferredHolder: 'b' });
    s.prepareForUpdate!(upd, old);
    assert.equal((upd.spec as Record<string, unknown>).preferredHolder, 'b');
  });

  it('prints HOLDER', () => {
    const now = Date.parse('2024-01-01T00:01:00Z');
    const o = lease({ holderIdentity: 'node-1' });
    o.metadata = { ...o.metadata, creationTimestamp: '2024-01-01T00:00:00Z' };
    assert.deepEqual(s.table!.columns.map((c) => c.name.toUpperCase()), ['NAME', 'HOLDER', 'AGE']);
    assert.deepEqual(s.table!.row(o, now), ['node-1', 'node-1', formatAge('2024-01-01T00:00:00Z', now)]);
    assert.equal(s.table!.row(lease({}), now)[1], '');
  });
});
