import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { StatusError } from '../../../src/api/errors.js';
import { applyConfiguration, FieldSet, updateManagedFields, type ManageOptions } from '../../../src/api/ssa/index.js';
import type { KubeObject } from '../../../src/api/types.js';

type Obj = Record<string, unknown>;
const DEPLOY: ManageOptions = { apiVersion: 'apps/v1', kind: 'Deployment', ignored: FieldSet.of(['f:status']), now: '2024-01-01T00:00:00Z' };
const CM: ManageOptions = { apiVersion: 'v1', kind: 'ConfigMap', now: '2024-01-01T00:00:00Z' };
const later = (o: ManageOptions): ManageOptions => ({ ...o, now: '2024-01-02T00:00:00Z' });

const entries = (o: KubeObject): ManagedFieldsEntry[] => o.metadata?.managedFields ?? [];
const entry = (o: KubeObject, manager: string) => entries(o).find((e) => e.manager === manager);
const owns = (o: KubeObject, manager: string, ...path: string[]) =>
  !!entry(o, manager) && FieldSet.fromFieldsV1(entry(o, manager)!.fieldsV1).has(path);

function statusError(code: number, message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof StatusError, `not a StatusError: ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  };
}

/** A Deployment as `kubectl create deployment nginx --image=nginx --port=80` leaves it, defaults applied. */
function created(): KubeObject {
  const d: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'nginx', namespace: 'default', uid: 'u-1', labels: { app: 'nginx' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'nginx' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }], resources: {} }], restartPolicy: 'Always' },
      },
    },
    status: {},
  };
  updateManagedFields(undefined, d, 'kubectl-create', DEPLOY);
  return d;
}

describe('updateManagedFields', () => {
  it('records a create the way upstream does', () => {
    const d = created();
    assert.deepEqual(entries(d), [
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'apps/v1',
        time: '2024-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:strategy': { 'f:rollingUpdate': { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} }, 'f:type': {} },
            'f:template': {
              'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
              'f:spec': {
                'f:containers': {
                  'k:{"name":"nginx"}': {
                    '.': {},
                    'f:image': {},
                    'f:name': {},
                    'f:ports': { '.': {}, 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} } },
                    'f:resources': {},
                  },
                },
                'f:restartPolicy': {},
              },
            },
          },
        },
      },
    ]);
  });

  it('moves a changed field to the manager that changed it, with a new time', () => {
    const old = created();
    const next = structuredClone(old);
    (next.spec as Obj).replicas = 3;
    updateManagedFields(old, next, 'kubectl-scale', later(DEPLOY));
    assert.ok(owns(next, 'kubectl-scale', 'f:spec', 'f:replicas'));
    assert.ok(!owns(next, 'kubectl-create', 'f:spec', 'f:replicas'));
    assert.equal(entry(next, 'kubectl-scale')!.time, '2024-01-02T00:00:00Z');
    assert.equal(entry(next, 'kubectl-create')!.time, '2024-01-01T00:00:00Z');
  });

  it('keeps the set of a manager that changes only fields it owns, with a new time', () => {
    const old = created();
    const scaled = structuredClone(old);
    (scaled.spec as Obj).replicas = 3;
    updateManagedFields(old, scaled, 'kubectl-scale', later(DEPLOY));
    const again = structuredClone(scaled);
    (again.spec as Obj).replicas = 5;
    updateManagedFields(scaled, again, 'kubectl-scale', { ...DEPLOY, now: '2024-01-03T00:00:00Z' });
    assert.deepEqual(entry(again, 'kubectl-scale')!.fieldsV1, entry(scaled, 'kubectl-scale')!.fieldsV1);
    assert.equal(entry(again, 'kubectl-scale')!.time, '2024-01-03T00:00:00Z');
    assert.deepEqual(entry(again, 'kubectl-create'), entry(scaled, 'kubectl-create'));
    // the newest updater sorts last
    assert.deepEqual(
      entries(again).map((e) => e.manager),
      ['kubectl-create', 'kubectl-scale'],
    );
    // a field it did not own yet joins its set
    const labelled = structuredClone(again);
    (labelled.metadata!.labels as Record<string, string>).tier = 'web';
    updateManagedFields(again, labelled, 'kubectl-scale', later(DEPLOY));
    assert.ok(owns(labelled, 'kubectl-scale', 'f:spec', 'f:replicas'));
    assert.ok(owns(labelled, 'kubectl-scale', 'f:metadata', 'f:labels', 'f:tier'));
  });

  it('changes nothing when nothing changed', () => {
    const old = created();
    const next = structuredClone(old);
    updateManagedFields(old, next, 'kubectl-create', later(DEPLOY));
    assert.deepEqual(next, old);
  });

  it('leaves status changes on the main resource unowned, and takes status writes as subresource entries', () => {
    const old = created();
    const next = structuredClone(old);
    next.status = { replicas: 1 };
    updateManagedFields(old, next, 'editor', later(DEPLOY));
    assert.equal(entry(next, 'editor'), undefined);
    const status = structuredClone(old);
    status.status = { replicas: 1 };
    status.metadata!.managedFields = [];
    updateManagedFields(old, status, 'kube-controller-manager', { apiVersion: 'apps/v1', kind: 'Deployment', subresource: 'status', ignored: FieldSet.of(['f:spec'], ['f:metadata']) });
    const e = entry(status, 'kube-controller-manager')!;
    assert.equal(e.subresource, 'status');
    assert.deepEqual(e.fieldsV1, { 'f:status': { 'f:replicas': {} } });
    assert.ok(entry(status, 'kubectl-create'), 'managedFields sent to a subresource are ignored');
  });

  it('replaces managedFields a client sends, and clears them for []', () => {
    const old = created();
    const mine = structuredClone(old);
    mine.metadata!.managedFields = [{ manager: 'me', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }];
    updateManagedFields(old, mine, 'editor', DEPLOY);
    assert.deepEqual(entries(mine).map((e) => e.manager), ['me']);
    const reset = structuredClone(old);
    reset.metadata!.managedFields = [];
    updateManagedFields(old, reset, 'editor', DEPLOY);
    assert.equal(reset.metadata!.managedFields, undefined);
    const bad = structuredClone(old);
    bad.metadata!.managedFields = [{ manager: 'x', operation: 'Bogus' }];
    updateManagedFields(old, bad, 'editor', DEPLOY);
    assert.deepEqual(entries(bad).map((e) => e.manager), ['kubectl-create'], 'malformed entries fall back to the stored ones');
  });

  it('keeps an existing untracked object untracked', () => {
    const old = created();
    delete old.metadata!.managedFields;
    const next = structuredClone(old);
    (next.spec as Obj).replicas = 2;
    updateManagedFields(old, next, 'editor', DEPLOY);
    assert.equal(next.metadata!.managedFields, undefined);
  });

  it('names a manager that gives none "unknown" and merges the oldest of more than 10 updaters', () => {
    let obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', uid: 'u' }, data: {} };
    updateManagedFields(undefined, obj, undefined, { ...CM, now: '2024-01-01T00:00:00Z' });
    for (let i = 0; i < 12; i++) {
      const next = structuredClone(obj);
      (next.data as Obj)[`k${i}`] = 'v';
      updateManagedFields(obj, next, `m${i}`, { ...CM, now: `2024-01-01T00:00:${String(10 + i)}Z` });
      obj = next;
    }
    const managers = entries(obj).map((e) => e.manager);
    assert.equal(managers.length, 10);
    assert.ok(managers.includes('ancient-changes'));
    assert.ok(!managers.includes('unknown') && !managers.includes('m0'));
    assert.ok(owns(obj, 'ancient-changes', 'f:data', 'f:k0'));
  });
});

describe('applyConfiguration', () => {
  const config = (replicas: number, extra: Obj = {}): Obj => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'nginx', labels: { app: 'nginx', ...extra } },
    spec: { replicas, selector: { matchLabels: { app: 'nginx' } }, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } } },
  });

  it('creates, owning exactly what was applied', () => {
    const d = applyConfiguration(undefined, config(1), 'kubectl', false, DEPLOY);
    assert.deepEqual(entries(d), [
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        time: '2024-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:replicas': {},
            'f:selector': {},
            'f:template': {
              'f:metadata': { 'f:labels': { 'f:app': {} } },
              'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
            },
          },
        },
      },
    ]);
  });

  it('reports a conflict with the Update manager that set the field, in upstream words', () => {
    const live = created();
    assert.throws(
      () => applyConfiguration(live, config(2), 'kubectl', false, DEPLOY),
      (e: unknown) => {
        assert.ok(e instanceof StatusError);
        assert.equal(e.code, 409);
        assert.equal(e.reason, 'Conflict');
        assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas');
        assert.deepEqual(e.details?.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-create" using apps/v1', field: '.spec.replicas' }]);
        return true;
      },
    );
    // the same value is no conflict: both own it
    const shared = applyConfiguration(live, config(1), 'kubectl', false, later(DEPLOY));
    assert.ok(owns(shared, 'kubectl', 'f:spec', 'f:replicas') && owns(shared, 'kubectl-create', 'f:spec', 'f:replicas'));
  });

  it('lists several conflicts by manager', () => {
    const live = applyConfiguration(undefined, config(1, { tier: 'a' }), 'first', false, DEPLOY);
    assert.throws(
      () => applyConfiguration(live, config(2, { tier: 'b' }), 'second', false, DEPLOY),
      statusError(409, /^Apply failed with 2 conflicts: conflicts with "first":\n- \.metadata\.labels\.tier\n- \.spec\.replicas$/),
    );
  });

  it('with force, takes the field over', () => {
    const live = applyConfiguration(undefined, config(1), 'first', false, DEPLOY);
    const out = applyConfiguration(live, config(5), 'second', true, later(DEPLOY));
    assert.equal((out.spec as Obj).replicas, 5);
    assert.ok(owns(out, 'second', 'f:spec', 'f:replicas'));
    assert.ok(!owns(out, 'first', 'f:spec', 'f:replicas'));
    assert.ok(owns(out, 'first', 'f:spec', 'f:selector'));
  });

  it('removes what the applier no longer applies, unless someone else owns it', () => {
    let live = applyConfiguration(undefined, config(1, { tier: 'a', team: 't' }), 'first', false, DEPLOY);
    live = applyConfiguration(live, config(1, { team: 't' }), 'second', false, DEPLOY);
    const out = applyConfiguration(live, config(1), 'first', false, later(DEPLOY));
    assert.deepEqual((out.metadata as Obj).labels, { app: 'nginx', team: 't' });
    const gone = applyConfiguration(out, config(1), 'second', false, later(DEPLOY));
    assert.deepEqual((gone.metadata as Obj).labels, { app: 'nginx' });
  });

  it('leaves a re-apply of the same configuration untouched, time included', () => {
    const live = applyConfiguration(undefined, config(1), 'kubectl', false, DEPLOY);
    const again = applyConfiguration(live, config(1), 'kubectl', false, later(DEPLOY));
    assert.deepEqual(again, live);
  });

  it('gives the fields of an object nobody tracked to before-first-apply', () => {
    const live = created();
    delete live.metadata!.managedFields;
    assert.throws(() => applyConfiguration(live, config(3), 'kubectl', false, DEPLOY), statusError(409, /conflict with "before-first-apply" using apps\/v1: \.spec\.replicas/));
  });

  it('refuses another kind or version and client managedFields', () => {
    assert.throws(() => applyConfiguration(undefined, { ...config(1), kind: 'ReplicaSet' }, 'm', false, DEPLOY), statusError(400, /^invalid object type: apps\/v1, Kind=ReplicaSet$/));
    assert.throws(() => applyConfiguration(undefined, { ...config(1), apiVersion: 'v1' }, 'm', false, DEPLOY), statusError(400, /^invalid object type: \/v1, Kind=Deployment$/));
    const withFields = config(1);
    (withFields.metadata as Obj).managedFields = [];
    assert.throws(() => applyConfiguration(undefined, withFields, 'm', false, DEPLOY), statusError(400, /^metadata.managedFields must be nil$/));
  });

  it('lets kubectl take over what its client-side apply annotation set, and keeps the annotation current', () => {
    const lastApplied = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', annotations: {} }, data: { a: '1', b: '2' } };
    const live: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'default', uid: 'u', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${JSON.stringify(lastApplied)}\n` } },
      data: { a: '1', b: '2' },
    };
    updateManagedFields(undefined, live, 'kubectl-client-side-apply', CM);
    const cfg = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { a: '10' } };
    assert.throws(() => applyConfiguration(live, cfg, 'other', false, CM), statusError(409, /conflict with "kubectl-client-side-apply" using v1: \.data\.a/));
    const out = applyConfiguration(live, cfg, 'kubectl', false, later(CM));
    assert.deepEqual(out.data, { a: '10', b: '2' });
    assert.ok(owns(out, 'kubectl', 'f:data', 'f:a'));
    assert.equal(
      (out.metadata!.annotations as Record<string, string>)['kubectl.kubernetes.io/last-applied-configuration'],
      '{"apiVersion":"v1","data":{"a":"10"},"kind":"ConfigMap","metadata":{"name":"c","namespace":"default"}}\n',
    );
  });
});
