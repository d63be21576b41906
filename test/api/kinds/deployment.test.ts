import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import { type FieldError, StatusError } from '../../../src/api/errors.js';
import { deploymentKind, replicaSetKind } from '../../../src/api/kinds/deployment.js';
import type { KindInfo, KubeObject } from '../../../src/api/types.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { MemoryStore } from '../../../src/storage/memory.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form test fixtures
const ds = deploymentKind.strategy;
const rss = replicaSetKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-01T12:00:00Z');

function deployment(extra: Obj = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'u1', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } },
      ...extra,
    },
  } as Deployment;
}

const defaulted = <T extends object>(kind: KindInfo<T>, o: T): T => {
  const c = structuredClone(o);
  kind.strategy.defaults!(c);
  return c;
};

describe('Deployment discovery info', () => {
  it('matches upstream discovery', () => {
    assert.equal(deploymentKind.group, 'apps');
    assert.equal(deploymentKind.version, 'v1');
    assert.equal(deploymentKind.resource, 'deployments');
    assert.deepEqual(deploymentKind.shortNames, ['deploy']);
    assert.deepEqual(deploymentKind.categories, ['all']);
    assert.equal(deploymentKind.generation, true);
    assert.equal(deploymentKind.subresources?.status, true);
    assert.equal(deploymentKind.subresources?.scale?.specReplicasPath, '.spec.replicas');
    assert.equal(deploymentKind.subresources?.scale?.statusReplicasPath, '.status.replicas');
  });
});

describe('Deployment defaults', () => {
  it('sets upstream v1 defaults', () => {
    const d = defaulted(deploymentKind, deployment()) as Obj;
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.spec.progressDeadlineSeconds, 600);
    const pod = d.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Always');
    assert.equal(pod.dnsPolicy, 'ClusterFirst');
    assert.equal(pod.terminationGracePeriodSeconds, 30);
    assert.equal(pod.containers[0].imagePullPolicy, 'IfNotPresent');
  });

  it('is idempotent and keeps what the user set', () => {
    const once = defaulted(deploymentKind, deployment({ replicas: 0, strategy: { type: 'Recreate' }, revisionHistoryLimit: 2 }));
    const twice = defaulted(deploymentKind, once);
    assert.deepEqual(twice, once);
    const spec = once.spec as Obj;
    assert.equal(spec.replicas, 0);
    assert.deepEqual(spec.strategy, { type: 'Recreate' }, 'no rollingUpdate for Recreate');
    assert.equal(spec.revisionHistoryLimit, 2);
    const partial = defaulted(deploymentKind, deployment({ strategy: { rollingUpdate: { maxSurge: 1 } } })).spec as Obj;
    assert.deepEqual(partial.strategy.rollingUpdate, { maxSurge: 1, maxUnavailable: '25%' });
  });
});

describe('Deployment validation', () => {
  const validate = (extra: Obj = {}) => ds.validate!(defaulted(deploymentKind, deployment(extra)));

  it('accepts a well-formed deployment', () => assert.deepEqual(validate(), []));

  it('requires a selector that matches the template labels', () => {
    assert.deepEqual(fields(validate({ selector: undefined })), ['spec.selector:FieldValueRequired', 'spec.template.metadata.labels:FieldValueInvalid']);
    const errs = validate({ selector: { matchLabels: { app: 'other' } } });
    assert.deepEqual(fields(errs), ['spec.template.metadata.labels:FieldValueInvalid']);
    assert.equal(errs[0].detail, '`selector` does not match template `labels`');
    assert.deepEqual(errs[0].value, { app: 'web' });
    const empty = validate({ selector: {} });
    assert.deepEqual(fields(empty), ['spec.selector:FieldValueInvalid']);
    assert.equal(empty[0].detail, 'empty selector is invalid for deployment');
  });

  it('checks rolling update parameters', () => {
    const zero = validate({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } });
    assert.deepEqual(fields(zero), ['spec.strategy.rollingUpdate.maxUnavailable:FieldValueInvalid']);
    assert.equal(zero[0].detail, 'may not be 0 when `maxSurge` is 0');
    const bad = validate({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25', maxUnavailable: '150%' } } });
    assert.deepEqual(fields(bad), ['spec.strategy.rollingUpdate.maxSurge:FieldValueInvalid', 'spec.strategy.rollingUpdate.maxUnavailable:FieldValueInvalid']);
    assert.match(bad[0].detail!, /a valid percent string/);
    assert.equal(bad[1].detail, 'must not be greater than 100%');
    assert.deepEqual(fields(validate({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: -1 } } })), ['spec.strategy.rollingUpdate.maxSurge:FieldValueInvalid']);
  });

  it('checks the strategy type', () => {
    assert.deepEqual(fields(validate({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } })), ['spec.strategy.rollingUpdate:FieldValueForbidden']);
    assert.deepEqual(fields(validate({ strategy: { type: 'BlueGreen' } })), ['spec.strategy:FieldValueNotSupported']);
  });

  it('validates the pod template and requires restartPolicy Always', () => {
    const d = deployment();
    (d.spec!.template.spec as Obj).containers = [{ name: 'nginx' }];
    (d.spec!.template.spec as Obj).restartPolicy = 'OnFailure';
    const errs = ds.validate!(defaulted(deploymentKind, d));
    assert.deepEqual(fields(errs), ['spec.template.spec.containers[0].image:FieldValueRequired', 'spec.template.spec.restartPolicy:FieldValueNotSupported']);
    assert.deepEqual(fields(validate({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }], activeDeadlineSeconds: 5 } } })), [
      'spec.template.spec.activeDeadlineSeconds:FieldValueForbidden',
    ]);
  });

  it('checks counts and their types', () => {
    assert.deepEqual(fields(validate({ replicas: -1 })), ['spec.replicas:FieldValueInvalid']);
    assert.deepEqual(fields(validate({ replicas: '3' })), ['spec.replicas:FieldValueTypeInvalid']);
    const pds = validate({ minReadySeconds: 600 });
    assert.deepEqual(fields(pds), ['spec.progressDeadlineSeconds:FieldValueInvalid']);
    assert.equal(pds[0].detail, 'must be greater than minReadySeconds');
  });

  it('keeps the selector immutable', () => {
    const old = defaulted(deploymentKind, deployment());
    const next = defaulted(deploymentKind, deployment({ selector: { matchLabels: { app: 'web', tier: 'x' } } }));
    const errs = ds.validateUpdate!(next, old);
    assert.deepEqual(fields(errs), ['spec.selector:FieldValueInvalid']);
    assert.equal(errs[0].detail, 'field is immutable');
    assert.deepEqual(ds.validateUpdate!(defaulted(deploymentKind, deployment({ replicas: 5 })), old), []);
  });
});

describe('Deployment create and update', () => {
  it('clears status on create and bumps generation on annotation changes', () => {
    const d = defaulted(deploymentKind, deployment()) as Obj;
    d.status = { replicas: 9 };
    ds.prepareForCreate!(d as Deployment);
    assert.deepEqual(d.status, {});
    const old = structuredClone(d);
    old.metadata.generation = 4;
    const next = structuredClone(old);
    next.metadata.annotations = { 'kubernetes.io/change-cause': 'x' };
    ds.prepareForUpdate!(next as Deployment, old as Deployment);
    assert.equal(next.metadata.generation, 5);
    const same = structuredClone(old);
    same.metadata.annotations = {};
    ds.prepareForUpdate!(same as Deployment, old as Deployment);
    assert.equal(same.metadata.generation, 4, 'no annotations and empty annotations are the same');
  });

  it('goes through the generic store as upstream does', async () => {
    const reg = new Registry(new MemoryStore());
    const info = deploymentKind as unknown as KindInfo;
    const body = deployment() as Obj;
    delete body.metadata.uid;
    delete body.metadata.creationTimestamp;
    body.status = { replicas: 3 };
    const { obj } = await reg.create(info, 'default', body);
    assert.equal(obj.metadata.generation, 1);
    assert.deepEqual(obj.status, {});
    assert.equal((obj.spec as Obj).replicas, 1);

    const annotated = structuredClone(obj) as KubeObject;
    annotated.metadata!.annotations = { note: 'a' };
    const r1 = await reg.update(info, 'default', 'web', annotated);
    assert.equal(r1.item.obj.metadata.generation, 2);

    const scaled = structuredClone(r1.item.obj) as Obj;
    scaled.spec.replicas = 3;
    const r2 = await reg.update(info, 'default', 'web', scaled);
    assert.equal(r2.item.obj.metadata.generation, 3);

    const moved = structuredClone(r2.item.obj) as Obj;
    moved.spec.selector = { matchLabels: { app: 'web', v: '2' } };
    moved.spec.template.metadata.labels.v = '2';
    await assert.rejects(reg.update(info, 'default', 'web', moved), (e: unknown) => e instanceof StatusError && e.code === 422 && /spec\.selector: Invalid value: .*field is immutable/.test(e.message));
  });
});

describe('Deployment table', () => {
  it('prints READY, UP-TO-DATE, AVAILABLE and the wide columns', () => {
    const d = defaulted(deploymentKind, deployment({ replicas: 3 })) as Obj;
    d.status = { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 };
    const t = ds.table!;
    assert.deepEqual(
      t.columns.map((c) => `${c.name}:${c.priority}`),
      ['Name:0', 'Ready:0', 'Up-to-date:0', 'Available:0', 'Age:0', 'Containers:1', 'Images:1', 'Selector:1'],
    );
    assert.deepEqual(t.row(d as Deployment, NOW), ['web', '2/3', 3, 2, '60m', 'nginx', 'nginx:1.25', 'app=web']);
  });

  it('does not throw on odd objects', () => {
    assert.deepEqual(ds.table!.row({ metadata: { name: 'x' } } as Deployment, NOW), ['x', '0/0', 0, 0, '<unknown>', '', '', '']);
  });
});

// ---------------------------------------------------------------------------------------------

function replicaSet(extra: Obj = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-5d9c', namespace: 'default', creationTimestamp: '2024-05-01T11:58:00Z' },
    spec: {
      selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d9c' } },
      template: { metadata: { labels: { app: 'web', 'pod-template-hash': '5d9c' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } },
      ...extra,
    },
  } as ReplicaSet;
}

describe('ReplicaSet', () => {
  it('matches upstream discovery', () => {
    assert.deepEqual(replicaSetKind.shortNames, ['rs']);
    assert.deepEqual(replicaSetKind.categories, ['all']);
    assert.equal(replicaSetKind.subresources?.scale?.specReplicasPath, '.spec.replicas');
    assert.equal(replicaSetKind.generation, true);
  });

  it('defaults replicas and the template, idempotently', () => {
    const once = defaulted(replicaSetKind, replicaSet()) as Obj;
    assert.equal(once.spec.replicas, 1);
    assert.equal(once.spec.template.spec.containers[0].imagePullPolicy, 'Always', ':latest pulls always');
    assert.deepEqual(defaulted(replicaSetKind, once as ReplicaSet), once);
  });

  it('validates like upstream (including its "deployment" wording)', () => {
    assert.deepEqual(rss.validate!(defaulted(replicaSetKind, replicaSet())), []);
    const errs = rss.validate!(defaulted(replicaSetKind, replicaSet({ selector: { matchLabels: {} } })));
    assert.deepEqual(fields(errs), ['spec.selector:FieldValueInvalid']);
    assert.equal(errs[0].detail, 'empty selector is invalid for deployment');
    assert.deepEqual(fields(rss.validate!(defaulted(replicaSetKind, replicaSet({ minReadySeconds: -5 })))), ['spec.minReadySeconds:FieldValueInvalid']);
    assert.deepEqual(fields(rss.validateUpdate!(replicaSet({ selector: { matchLabels: { app: 'web' } } }), replicaSet())), ['spec.selector:FieldValueInvalid']);
  });

  it('starts with status.replicas 0 and selects on status.replicas', () => {
    const rs = replicaSet() as Obj;
    rss.prepareForCreate!(rs as ReplicaSet);
    assert.deepEqual(rs.status, { replicas: 0 });
    assert.deepEqual(rss.selectableFields!({ ...rs, status: { replicas: 2 } } as ReplicaSet), { 'status.replicas': '2' });
    assert.deepEqual(rss.selectableFields!({} as ReplicaSet), { 'status.replicas': '0' });
  });

  it('prints DESIRED, CURRENT, READY and the wide columns', () => {
    const rs = defaulted(replicaSetKind, replicaSet({ replicas: 2 })) as Obj;
    rs.status = { replicas: 2, readyReplicas: 1 };
    assert.deepEqual(
      rss.table!.columns.map((c) => c.name),
      ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector'],
    );
    assert.deepEqual(rss.table!.row(rs as ReplicaSet, NOW), ['web-5d9c', 2, 2, 1, '2m', 'nginx', 'nginx', 'app=web,pod-template-hash=5d9c']);
    assert.equal(rss.table!.row({ metadata: { name: 'x' }, spec: { selector: {} } } as ReplicaSet, NOW)[7], '<none>');
  });
});
