import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap, Event, Namespace, Pod } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { isNotFound, type RestClient, type MetaObject, type ResourceClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { GarbageCollector, garbageCollectorController } from '../../src/controllers/garbagecollector/controller.js';
import type { TestCluster } from '../helpers/cluster.js';
import { startControllerHarness, type ControllerHarness } from '../helpers/fake-kubelet.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function exists(client: ResourceClient<MetaObject>, name: string): Promise<MetaObject | undefined> {
  try {
    return await client.get(name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

const gone = (client: ResourceClient<MetaObject>, name: string) =>
  waitFor(`${client.ref.resource}/${name} to be gone`, async () => ((await exists(client, name)) ? undefined : true));

const ownerRef = (o: MetaObject, block = true): OwnerReference => ({
  apiVersion: o.apiVersion!,
  kind: o.kind!,
  name: o.metadata!.name!,
  uid: o.metadata!.uid!,
  ...(block ? { blockOwnerDeletion: true, controller: true } : {}),
});

describe('garbage collector', () => {
  let h: ControllerHarness | undefined;
  let cluster: TestCluster;
  let rest: RestClient;
  const logs: string[] = [];

  const rs = (ns = 'default') => rest.resource<ReplicaSet>(RESOURCES.replicasets, ns) as ResourceClient<MetaObject>;
  const pods = (ns = 'default') => rest.resource<Pod>(RESOURCES.pods, ns) as ResourceClient<MetaObject>;
  const cms = (ns = 'default') => rest.resource<ConfigMap>(RESOURCES.configmaps, ns) as ResourceClient<MetaObject>;

  async function replicaSet(name: string): Promise<ReplicaSet> {
    const created = await rest.resource<ReplicaSet>(RESOURCES.replicasets, 'default').create({
      metadata: { name },
      spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    return { ...created, apiVersion: 'apps/v1', kind: 'ReplicaSet' };
  }

  async function pod(name: string, owners: OwnerReference[], extra: Partial<Pod['metadata']> = {}): Promise<Pod> {
    const created = await rest.resource<Pod>(RESOURCES.pods, 'default').create({
      metadata: { name, ownerReferences: owners, ...extra },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    return { ...created, apiVersion: 'v1', kind: 'Pod' };
  }

  before(async () => {
    let gc: GarbageCollector | undefined;
    h = await startControllerHarness([(ctx) => (gc = garbageCollectorController(ctx) as GarbageCollector)], {
      controllerUser: 'system:serviceaccount:kube-system:generic-garbage-collector',
      logs,
    });
    ({ cluster, rest } = h);
    await waitFor('the garbage collector to watch everything', async () => (gc?.hasSynced() ? true : undefined));
  });
  after(() => h?.close());

  it('kubectl delete --cascade=background: the owner goes at once, its dependents (and theirs) after', async () => {
    const owner = await replicaSet('bg');
    const p1 = await pod('bg-1', [ownerRef(owner)]);
    await pod('bg-2', [ownerRef(owner)]);
    await cms().create({ metadata: { name: 'bg-grandchild', ownerReferences: [ownerRef(p1)] } });
    await cluster.kubectlOk(['delete', 'replicaset', 'bg', '--cascade=background']);
    assert.equal(await exists(rs(), 'bg'), undefined, 'the owner is deleted immediately');
    await gone(pods(), 'bg-1');
    await gone(pods(), 'bg-2');
    await gone(cms(), 'bg-grandchild');
  });

  it('kubectl delete --cascade=foreground: the owner waits, marked, until blocking dependents are gone', async () => {
    const owner = await replicaSet('fg');
    await pod('fg-held', [ownerRef(owner)], { finalizers: ['example.com/hold'] });
    await pod('fg-free', [ownerRef(owner, false)]);
    const out = await cluster.kubectlOk(['delete', 'replicaset', 'fg', '--cascade=foreground', '--wait=false']);
    assert.match(out.stdout, /replicaset.apps "fg" deleted/);
    await gone(pods(), 'fg-free');
    const held = await waitFor('the held pod to be marked', async () => {
      const p = await exists(pods(), 'fg-held');
      return p?.metadata?.deletionTimestamp ? p : undefined;
    });
    assert.ok(held);
    const waiting = await exists(rs(), 'fg');
    assert.ok(waiting?.metadata?.deletionTimestamp, 'the owner is being deleted');
    assert.deepEqual(waiting?.metadata?.finalizers, ['foregroundDeletion']);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(await exists(rs(), 'fg'), 'still waiting for the blocking dependent');
    await rest.resource<Pod>(RESOURCES.pods, 'default').patch('fg-held', 'merge', { metadata: { finalizers: null } });
    await gone(pods(), 'fg-held');
    await gone(rs(), 'fg');
  });

  it('kubectl delete --cascade=foreground (waiting) returns once everything is gone', async () => {
    const owner = await replicaSet('fgw');
    const child = await replicaSet('fgw-child');
    await rs().patch('fgw-child', 'merge', { metadata: { ownerReferences: [ownerRef(owner)] } });
    await pod('fgw-pod', [ownerRef(child)]);
    const res = await cluster.kubectl(['delete', 'replicaset', 'fgw', '--cascade=foreground', '--timeout=20s']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await exists(rs(), 'fgw'), undefined);
    assert.equal(await exists(rs(), 'fgw-child'), undefined, 'the middle owner went first (in the foreground too)');
    assert.equal(await exists(pods(), 'fgw-pod'), undefined);
  });

  it('kubectl delete --cascade=orphan: dependents lose the owner reference and stay', async () => {
    const owner = await replicaSet('orph');
    const other = await cms().create({ metadata: { name: 'orph-other-owner' } });
    await pod('orph-1', [ownerRef(owner), ownerRef({ ...other, apiVersion: 'v1', kind: 'ConfigMap' }, false)]);
    await pod('orph-2', [ownerRef(owner)]);
    await cluster.kubectlOk(['delete', 'replicaset', 'orph', '--cascade=orphan']);
    await gone(rs(), 'orph');
    const p1 = await exists(pods(), 'orph-1');
    const p2 = await exists(pods(), 'orph-2');
    assert.deepEqual(p1?.metadata?.ownerReferences?.map((r) => r.name), ['orph-other-owner']);
    assert.equal(p2?.metadata?.ownerReferences, undefined);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(await exists(pods(), 'orph-2'), 'orphans are not collected');
  });

  it('keeps a dependent that still has a live owner, dropping the reference to the gone one', async () => {
    const a = await replicaSet('two-a');
    const b = await replicaSet('two-b');
    await pod('two-child', [ownerRef(a), ownerRef(b, false)]);
    await rs().delete('two-a', { propagationPolicy: 'Background' });
    const p = await waitFor('the reference to go', async () => {
      const x = await exists(pods(), 'two-child');
      return x?.metadata?.ownerReferences?.length === 1 ? x : undefined;
    });
    assert.equal(p.metadata!.ownerReferences![0].name, 'two-b');
  });

  it('deletes objects whose owner never existed', async () => {
    await cms().create({
      metadata: { name: 'ghost-child', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '00000000-0000-0000-0000-00000000beef' }] },
    });
    await gone(cms(), 'ghost-child');
  });

  it('applies the per-kind default policy: batch/v1 Jobs orphan, apps/v1 cascades in the background', async () => {
    const job = await rest.resource<Job>(RESOURCES.jobs, 'default').create({
      metadata: { name: 'legacy' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    await pod('legacy-pod', [ownerRef({ ...job, apiVersion: 'batch/v1', kind: 'Job' })]);
    const deleting = (await rest.resource<Job>(RESOURCES.jobs, 'default').delete('legacy')) as Job;
    assert.deepEqual(deleting.metadata?.finalizers, ['orphan']);
    assert.ok(deleting.metadata?.deletionTimestamp);
    await gone(rest.resource<Job>(RESOURCES.jobs, 'default') as ResourceClient<MetaObject>, 'legacy');
    assert.equal((await exists(pods(), 'legacy-pod'))?.metadata?.ownerReferences, undefined, 'the pod was orphaned');

    const owner = await replicaSet('modern');
    await pod('modern-pod', [ownerRef(owner)]);
    await rs().delete('modern');
    assert.equal(await exists(rs(), 'modern'), undefined);
    await gone(pods(), 'modern-pod');
  });

  it('reports owner references to another namespace and never treats them as live owners', async () => {
    await rest.resource<Namespace>(RESOURCES.namespaces).create({ metadata: { name: 'gc-a' } });
    await rest.resource<Namespace>(RESOURCES.namespaces).create({ metadata: { name: 'gc-b' } });
    const owner = { ...(await cms('gc-a').create({ metadata: { name: 'owner' } })), apiVersion: 'v1', kind: 'ConfigMap' };
    await waitFor('the owner to be in the graph', async () => ((await exists(cms('gc-a'), 'owner')) ? true : undefined));
    await new Promise((r) => setTimeout(r, 100));
    await cms('gc-b').create({ metadata: { name: 'stray', ownerReferences: [ownerRef(owner, false)] } });
    const ev = await waitFor('an OwnerRefInvalidNamespace event', async () =>
      (await rest.resource<Event>(RESOURCES.events, 'gc-b').list()).items.find((e) => e.reason === 'OwnerRefInvalidNamespace'),
    );
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.involvedObject.name, 'stray');
    assert.equal(ev.message, `ownerRef [v1/ConfigMap, namespace: gc-b, name: owner, uid: ${owner.metadata!.uid}] does not exist in namespace "gc-b"`);
    // no owner of that name in gc-b: the reference is dangling, so the object is collected
    await gone(cms('gc-b'), 'stray');
    assert.ok(await exists(cms('gc-a'), 'owner'));
  });

  it('leaves a cluster-scoped object naming a namespaced owner alone', async () => {
    const owner = { ...(await cms().create({ metadata: { name: 'ns-owner' } })), apiVersion: 'v1', kind: 'ConfigMap' };
    const scs = rest.resource<StorageClass>(RESOURCES.storageclasses);
    await scs.create({ metadata: { name: 'owned-class', ownerReferences: [ownerRef(owner, false)] }, provisioner: 'example.com/none' } as StorageClass);
    await waitFor('an OwnerRefInvalidNamespace event in default', async () =>
      (await rest.resource<Event>(RESOURCES.events, 'default').list()).items.find((e) => e.reason === 'OwnerRefInvalidNamespace' && e.involvedObject.name === 'owned-class'),
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(await exists(scs as ResourceClient<MetaObject>, 'owned-class'));
    assert.ok(!logs.some((l) => /owned-class/.test(l)), logs.join('\n'));
  });
});
