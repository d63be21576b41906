import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deployment, StatefulSet } from 'kubernetes-types/apps/v1.js';
import { applyScale, scaleOf, validateScale } from '../../../src/api/kinds/scale.js';
import { workloadKinds } from '../../../src/api/kinds/workloads-index.js';
import { Scheme } from '../../../src/api/scheme.js';

const dep: Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', uid: 'u1', resourceVersion: '42', creationTimestamp: '2024-05-01T11:00:00Z', labels: { a: 'b' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe', 'be'] }] },
    template: { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
  },
  status: { replicas: 2 },
};

describe('Scale of workloads', () => {
  it('builds an autoscaling/v1 Scale as upstream does', () => {
    assert.deepEqual(scaleOf(dep), {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'web', namespace: 'default', uid: 'u1', resourceVersion: '42', creationTimestamp: '2024-05-01T11:00:00Z' },
      spec: { replicas: 3 },
      status: { replicas: 2, selector: 'app=web,tier in (be,fe)' },
    });
    const bare = scaleOf({ metadata: { name: 's' }, spec: { selector: {} } } as StatefulSet);
    assert.deepEqual([bare.spec, bare.status], [{ replicas: 0 }, { replicas: 0, selector: '' }]);
  });

  it('applies spec.replicas and the resourceVersion precondition to a copy', () => {
    const next = applyScale(dep, { spec: { replicas: 5 }, metadata: { resourceVersion: '41' } });
    assert.equal(next.spec?.replicas, 5);
    assert.equal(next.metadata?.resourceVersion, '41');
    assert.equal(dep.spec?.replicas, 3, 'the input is not changed');
    assert.equal(applyScale(dep, { spec: { replicas: 1 } }).metadata?.resourceVersion, '42');
  });

  it('validates spec.replicas', () => {
    assert.deepEqual(validateScale({ spec: { replicas: 2 } }), []);
    assert.deepEqual(validateScale({ spec: {} }), []);
    assert.deepEqual(validateScale({ spec: { replicas: -1 } }).map((e) => `${e.field}:${e.detail}`), ['spec.replicas:must be greater than or equal to 0']);
    assert.deepEqual(validateScale({ spec: { replicas: 'two' } }).map((e) => e.type), ['FieldValueTypeInvalid']);
  });
});

describe('workloadKinds', () => {
  it('lists the workload kinds once each and registers in a scheme', () => {
    assert.deepEqual(
      workloadKinds.map((k) => `${k.group}/${k.version}/${k.kind}`),
      [
        'apps/v1/Deployment',
        'apps/v1/ReplicaSet',
        'apps/v1/StatefulSet',
        'apps/v1/DaemonSet',
        'apps/v1/ControllerRevision',
        'batch/v1/Job',
        'batch/v1/CronJob',
        'autoscaling/v2/HorizontalPodAutoscaler',
        'policy/v1/PodDisruptionBudget',
      ],
    );
    const scheme = new Scheme().register(...workloadKinds);
    assert.equal(scheme.lookup('apps', 'v1', 'deployments')?.kind, 'Deployment');
    assert.equal(scheme.lookupKind('batch/v1', 'CronJob')?.resource, 'cronjobs');
    for (const k of workloadKinds) {
      assert.equal(k.namespaced, true, k.kind);
      assert.equal(k.singular, k.kind.toLowerCase(), k.kind);
      assert.ok(k.strategy.table, `${k.kind} has a table`);
      assert.equal(k.strategy.table!.columns[0].name, 'Name');
    }
    assert.deepEqual(
      workloadKinds.filter((k) => k.subresources?.scale).map((k) => k.kind),
      ['Deployment', 'ReplicaSet', 'StatefulSet'],
    );
  });
});
