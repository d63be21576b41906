import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Namespace } from 'kubernetes-types/core/v1.js';
import { namespaceKind } from '../../../src/api/kinds/namespace.js';

const s = namespaceKind.strategy;

describe('namespace', () => {
  it('defaults the name label, finalizers and phase on create', () => {
    const ns = { metadata: { name: 'team-a', labels: { x: 'y' } } } as Namespace;
    s.defaults!(ns);
    s.prepareForCreate!(ns);
    assert.deepEqual(ns.metadata!.labels, { x: 'y', 'kubernetes.io/metadata.name': 'team-a' });
    assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
    assert.deepEqual(ns.status, { phase: 'Active' });
    const again = JSON.parse(JSON.stringify(ns)) as Namespace;
    s.defaults!(again);
    assert.deepEqual(again, ns);
  });

  it('keeps spec.finalizers on main-resource updates and holds deletion while they remain', () => {
    const old = { metadata: { name: 'a' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } } as Namespace;
    const next = { metadata: { name: 'a', labels: { team: 'x' } }, spec: { finalizers: [] } } as Namespace;
    s.prepareForUpdate!(next, old);
    assert.deepEqual(next.spec!.finalizers, ['kubernetes']);
    assert.equal(next.metadata!.labels!['kubernetes.io/metadata.name'], 'a');
    assert.equal(s.deletionBlocked!(old), true);
    assert.equal(s.deletionBlocked!({ metadata: { name: 'a' }, spec: { finalizers: [] } } as Namespace), false);
    s.beginDelete!(old);
    assert.equal(old.status!.phase, 'Terminating');
  });

  it('validates finalizer names and uses DNS-1123 label names', () => {
    const errs = s.validate!({ metadata: { name: 'a' }, spec: { finalizers: ['kubernetes', 'custom', 'example.com/f'] } } as Namespace);
    assert.deepEqual(errs.map((e) => [e.field, e.detail]), [['spec.finalizers', 'name is neither a standard finalizer name nor is it fully qualified']]);
    assert.equal(namespaceKind.nameValidator('a.b', false).length, 1);
    assert.deepEqual(namespaceKind.verbs?.includes('deletecollection'), false);
  });

  it('prints NAME STATUS AGE and selects on status.phase', () => {
    const ns = { metadata: { name: 'a', creationTimestamp: '2024-05-01T00:00:00Z' }, status: { phase: 'Terminating' } } as Namespace;
    assert.deepEqual(s.table!.row(ns, Date.parse('2024-05-03T00:00:00Z')), ['a', 'Terminating', '2d']);
    assert.deepEqual(s.selectableFields!(ns), { 'status.phase': 'Terminating', name: 'a' });
  });
});
