import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { podDisruptionBudgetKind } from '../../../src/api/kinds/pdb.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form test fixtures
const s = podDisruptionBudgetKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-01T12:00:00Z');

function pdb(spec: Obj = {}): PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-05-01T11:59:00Z' },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
  } as PodDisruptionBudget;
}

describe('PodDisruptionBudget', () => {
  it('matches upstream discovery', () => {
    assert.equal(podDisruptionBudgetKind.group, 'policy');
    assert.equal(podDisruptionBudgetKind.resource, 'poddisruptionbudgets');
    assert.deepEqual(podDisruptionBudgetKind.shortNames, ['pdb']);
    assert.equal(podDisruptionBudgetKind.categories, undefined);
    assert.equal(podDisruptionBudgetKind.generation, true);
    assert.equal(podDisruptionBudgetKind.subresources?.status, true);
  });

  it('accepts minAvailable or maxUnavailable, not both', () => {
    assert.deepEqual(s.validate!(pdb({ minAvailable: 1 })), []);
    assert.deepEqual(s.validate!(pdb({ maxUnavailable: '50%' })), []);
    assert.deepEqual(s.validate!(pdb()), [], 'neither is allowed in policy/v1');
    const both = s.validate!(pdb({ minAvailable: 1, maxUnavailable: 1 }));
    assert.deepEqual(fields(both), ['spec:FieldValueInvalid']);
    assert.equal(both[0].detail, 'minAvailable and maxUnavailable cannot be both set');
  });

  it('checks int-or-percent values, the selector and the eviction policy', () => {
    assert.deepEqual(fields(s.validate!(pdb({ minAvailable: -1 }))), ['spec.minAvailable:FieldValueInvalid']);
    assert.deepEqual(fields(s.validate!(pdb({ maxUnavailable: '120%' }))), ['spec.maxUnavailable:FieldValueInvalid']);
    assert.deepEqual(fields(s.validate!(pdb({ minAvailable: 'half' }))), ['spec.minAvailable:FieldValueInvalid']);
    assert.deepEqual(fields(s.validate!(pdb({ selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }))), [
      'spec.selector.matchExpressions[0].values:FieldValueRequired',
    ]);
    assert.deepEqual(s.validate!(pdb({ unhealthyPodEvictionPolicy: 'AlwaysAllow' })), []);
    assert.deepEqual(fields(s.validate!(pdb({ unhealthyPodEvictionPolicy: 'Never' }))), ['spec.unhealthyPodEvictionPolicy:FieldValueNotSupported']);
  });

  it('starts with the zero status upstream serializes', () => {
    const o = pdb({ minAvailable: 1 }) as Obj;
    o.status = { disruptionsAllowed: 5 };
    s.prepareForCreate!(o as PodDisruptionBudget);
    assert.deepEqual(o.status, { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 });
  });

  it('prints MIN AVAILABLE, MAX UNAVAILABLE and ALLOWED DISRUPTIONS', () => {
    assert.deepEqual(s.table!.columns.map((c) => c.name), ['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age']);
    const o = pdb({ minAvailable: 2 }) as Obj;
    o.status = { disruptionsAllowed: 1 };
    assert.deepEqual(s.table!.row(o as PodDisruptionBudget, NOW), ['web', '2', 'N/A', 1, '60s']);
    assert.deepEqual(s.table!.row(pdb({ maxUnavailable: '25%' }), NOW).slice(1, 4), ['N/A', '25%', 0]);
  });
});
