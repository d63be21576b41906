// @kubernetes/client-node 1.4 against a real server: typed CRUD, lists with selectors, the generic
// object API, watch, and an informer that resumes from a compacted revision (410) and relists.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { rawWatch } from '../helpers/raw.js';
import { eventually } from './support.js';

const NS = 'client-node';

async function apiError(p: Promise<unknown>): Promise<k8s.ApiException<string>> {
  try {
    await p;
  } catch (e) {
    if (e instanceof k8s.ApiException) return e as k8s.ApiException<string>;
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** The Status the server answered with (client-node keeps the raw body text). */
function statusOf(e: k8s.ApiException<string>): k8s.V1Status {
  return (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as k8s.V1Status;
}

const deployment = (name: string, replicas = 1): k8s.V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } },
  },
});

describe('@kubernetes/client-node', () => {
  let cluster: TestCluster;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  before(async () => {
    // no history kept beyond what compact() is asked to drop, so a test can make a revision "too old";
    // no workload controllers: these tests write Deployment status themselves
    cluster = await startTestCluster({ controllers: ['namespace'], storeOptions: { historyRevisions: 0, historySeconds: 0, compactIntervalMs: 3_600_000 } });
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
  });
  after(async () => {
    await cluster?.close();
  });

  test('ConfigMap create, read, replace, patch, delete', async () => {
    const created = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'crud', labels: { app: 'crud' } }, data: { a: '1' } } });
    assert.equal(created.metadata?.namespace, NS);
    assert.ok(created.metadata?.uid);
    assert.ok(created.metadata?.creationTimestamp instanceof Date, 'creationTimestamp deserializes to a Date');

    const read = await core.readNamespacedConfigMap({ name: 'crud', namespace: NS });
    assert.deepEqual(read.data, { a: '1' });
    assert.equal(read.metadata?.resourceVersion, created.metadata?.resourceVersion);

    const replaced = await core.replaceNamespacedConfigMap({ name: 'crud', namespace: NS, body: { ...read, data: { a: '2' } } });
    assert.deepEqual(replaced.data, { a: '2' });
    assert.ok(Number(replaced.metadata?.resourceVersion) > Number(read.metadata?.resourceVersion));

    const stale = await apiError(core.replaceNamespacedConfigMap({ name: 'crud', namespace: NS, body: { ...read, data: { a: 'stale' } } }));
    assert.equal(stale.code, 409);
    assert.equal(statusOf(stale).reason, 'Conflict');

    const patched = await core.patchNamespacedConfigMap(
      { name: 'crud', namespace: NS, body: { data: { b: 'x' }, metadata: { annotations: { note: 'patched' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    assert.deepEqual(patched.data, { a: '2', b: 'x' });
    assert.equal(patched.metadata?.annotations?.note, 'patched');

    const jsonPatched = await core.patchNamespacedConfigMap(
      { name: 'crud', namespace: NS, body: [{ op: 'remove', path: '/data/a' }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    assert.deepEqual(jsonPatched.data, { b: 'x' });

    const dup = await apiError(core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'crud' } } }));
    assert.equal(dup.code, 409);
    assert.equal(statusOf(dup).reason, 'AlreadyExists');

    await core.deleteNamespacedConfigMap({ name: 'crud', namespace: NS });
    const gone = await apiError(core.readNamespacedConfigMap({ name: 'crud', namespace: NS }));
    assert.equal(gone.code, 404);
    assert.equal(statusOf(gone).reason, 'NotFound');
  });

  test('Deployment create, read, scale, status, delete', async () => {
    const created = await apps.createNamespacedDeployment({ namespace: NS, body: deployment('web', 2) });
    assert.equal(created.metadata?.generation, 1);
    assert.equal(created.spec?.template.spec?.containers[0].image, 'nginx:1.27');

    const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace: NS });
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec?.replicas, 2);
    assert.equal(scale.status?.selector, 'app=web');
    const scaled = await apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace: NS, body: { spec: { replicas: 4 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    assert.equal(scaled.spec?.replicas, 4);

    const current = await apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    assert.equal(current.spec?.replicas, 4);
    assert.equal(current.metadata?.generation, 2);

    const withStatus = await apps.replaceNamespacedDeploymentStatus({
      name: 'web',
      namespace: NS,
      body: { ...current, status: { replicas: 4, readyReplicas: 3, observedGeneration: 2, conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', lastTransitionTime: new Date() }] } },
    });
    assert.equal(withStatus.status?.readyReplicas, 3);
    assert.ok(withStatus.status?.conditions?.[0].lastTransitionTime instanceof Date);
    assert.equal(withStatus.metadata?.generation, 2, 'a status write does not bump generation');

    const list = await apps.listNamespacedDeployment({ namespace: NS, labelSelector: 'app=web' });
    assert.deepEqual(list.items.map((d) => d.metadata?.name), ['web']);

    await apps.deleteNamespacedDeployment({ name: 'web', namespace: NS, propagationPolicy: 'Background' });
    assert.equal((await apiError(apps.readNamespacedDeployment({ name: 'web', namespace: NS }))).code, 404);

    const invalid = await apiError(apps.createNamespacedDeployment({ namespace: NS, body: { ...deployment('bad'), metadata: { name: 'Bad_Name' } } }));
    assert.equal(invalid.code, 422);
    assert.equal(statusOf(invalid).reason, 'Invalid');
  });

  test('Deployment strategic merge patch, then server-side apply with a fieldManager', async () => {
    const body = deployment('smp');
    body.spec!.template.spec!.containers.push({ name: 'sidecar', image: 'busybox:1.36' });
    await apps.createNamespacedDeployment({ namespace: NS, body });
    const smp = await apps.patchNamespacedDeployment(
      { name: 'smp', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.28' }] } } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    const containers = smp.spec?.template.spec?.containers ?? [];
    assert.deepEqual(containers.map((c) => [c.name, c.image]), [['main', 'nginx:1.28'], ['sidecar', 'busybox:1.36']], 'containers merge by name');
    assert.equal(containers[0].ports?.[0].containerPort, 80);

    const applied: k8s.V1Deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'smp', namespace: NS, labels: { team: 'a' } }, spec: { replicas: 3 } as k8s.V1DeploymentSpec };
    const ssa = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
    const conflict = await apiError(apps.patchNamespacedDeployment({ name: 'smp', namespace: NS, body: applied, fieldManager: 'ts-client' }, ssa));
    assert.equal(conflict.code, 409);
    assert.match(statusOf(conflict).message ?? '', /^Apply failed with 1 conflict: conflict with "[^"]+" using apps\/v1: \.spec\.replicas$/);

    const forced = await apps.patchNamespacedDeployment({ name: 'smp', namespace: NS, body: applied, fieldManager: 'ts-client', force: true }, ssa);
    assert.equal(forced.spec?.replicas, 3);
    assert.deepEqual(forced.metadata?.labels, { app: 'smp', team: 'a' });
    assert.equal(forced.spec?.template.spec?.containers.length, 2, 'apply leaves fields it does not name');
    const entry = forced.metadata?.managedFields?.find((e) => e.manager === 'ts-client');
    assert.equal(entry?.operation, 'Apply');
    assert.ok(entry?.time instanceof Date);
    await apps.deleteNamespacedDeployment({ name: 'smp', namespace: NS });
  });

  test('lists with label selectors, field selectors and pages', async () => {
    const mk = (name: string, labels: Record<string, string>) => core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name, labels: { list: 'yes', ...labels } } } });
    await Promise.all([mk('l1', { env: 'prod' }), mk('l2', { env: 'dev' }), mk('l3', { env: 'test' }), mk('l4', {})]);
    const names = (l: k8s.V1ConfigMapList) => l.items.map((i) => i.metadata?.name).sort();
    const [inSet, notIn, exists, byName, allNs] = await Promise.all([
      core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'list=yes,env in (prod,dev)' }),
      core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'list=yes,env notin (prod)' }),
      core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'list=yes,!env' }),
      core.listNamespacedConfigMap({ namespace: NS, fieldSelector: 'metadata.name=l3' }),
      core.listConfigMapForAllNamespaces({ fieldSelector: `metadata.namespace=${NS}`, labelSelector: 'list=yes' }),
    ]);
    assert.deepEqual(names(inSet), ['l1', 'l2']);
    assert.deepEqual(names(notIn), ['l2', 'l3', 'l4']);
    assert.deepEqual(names(exists), ['l4']);
    assert.deepEqual(names(byName), ['l3']);
    assert.deepEqual(names(allNs), ['l1', 'l2', 'l3', 'l4']);

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'list=yes', limit: 3, _continue: token });
      seen.push(...page.items.map((i) => i.metadata!.name!));
      token = page.metadata?._continue || undefined;
      pages++;
    } while (token);
    assert.equal(pages, 2);
    assert.deepEqual(seen.sort(), ['l1', 'l2', 'l3', 'l4']);
  });

  test('the generic object API creates, reads, patches, lists and deletes any kind', async () => {
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const role: k8s.V1Role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader', namespace: NS }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
    const svc: k8s.V1Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: NS }, spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } };
    await objects.create(role);
    await objects.create(svc);
    const readRole = await objects.read<k8s.V1Role>({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader', namespace: NS } });
    assert.deepEqual(readRole.rules?.[0].verbs, ['get']);
    const patched = await objects.patch<k8s.V1Service>(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: NS, labels: { patched: 'yes' } } },
      undefined,
      undefined,
      undefined,
      undefined,
      k8s.PatchStrategy.MergePatch,
    );
    assert.equal(patched.metadata?.labels?.patched, 'yes');
    assert.equal(patched.spec?.ports?.[0].port, 80);
    const services = await objects.list<k8s.V1Service>('v1', 'Service', NS);
    assert.deepEqual(services.items.map((s) => s.metadata?.name), ['svc']);
    await objects.delete(role);
    await objects.delete(svc);
    const roles = await objects.list('rbac.authorization.k8s.io/v1', 'Role', NS);
    assert.equal(roles.items.length, 0);
  });

  test('watch sees ADDED, MODIFIED and DELETED', async () => {
    const events: { type: string; name?: string; data?: Record<string, string> }[] = [];
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const watch = new k8s.Watch(kc);
    let ended: unknown = 'not ended';
    const req = await watch.watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'watched=yes' },
      (type: string, obj: k8s.V1ConfigMap) => events.push({ type, name: obj.metadata?.name, data: obj.data }),
      (err: unknown) => (ended = err),
    );
    try {
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'w', labels: { watched: 'yes' } }, data: { v: '1' } } });
      await core.patchNamespacedConfigMap({ name: 'w', namespace: NS, body: { data: { v: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'unwatched' } } });
      await core.deleteNamespacedConfigMap({ name: 'w', namespace: NS });
      await eventually('DELETED event', () => events.some((e) => e.type === 'DELETED'));
      assert.deepEqual(
        events.map((e) => [e.type, e.name, e.data?.v]),
        [
          ['ADDED', 'w', '1'],
          ['MODIFIED', 'w', '2'],
          ['DELETED', 'w', '2'],
        ],
      );
      assert.equal(ended, 'not ended');
    } finally {
      req.abort();
    }
  });

  test('an informer resuming from a compacted resourceVersion gets 410, relists and keeps watching', async () => {
    const ns = 'informed';
    await core.createNamespace({ body: { metadata: { name: ns } } });
    let lists = 0;
    const listFn = () => {
      lists++;
      return core.listNamespacedConfigMap({ namespace: ns });
    };
    const informer = k8s.makeInformer<k8s.V1ConfigMap>(kc, `/api/v1/namespaces/${ns}/configmaps`, listFn);
    const added: string[] = [];
    const deleted: string[] = [];
    informer.on('add', (o) => added.push(o.metadata!.name!));
    informer.on('delete', (o) => deleted.push(o.metadata!.name!));
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'before' } } });
    await informer.start();
    try {
      await eventually('informer has "before"', () => informer.get('before', ns) !== undefined);
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'watched' } } });
      await eventually('informer watches "watched"', () => informer.get('watched', ns) !== undefined);
      assert.equal(lists, 1);

      // while it is stopped, its resourceVersion falls out of the history
      await informer.stop();
      const staleRV = (informer as unknown as { latestResourceVersion(): string }).latestResourceVersion();
      assert.match(staleRV, /^\d+$/);
      await core.deleteNamespacedConfigMap({ name: 'before', namespace: ns });
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'while-stopped' } } });
      for (let i = 0; i < 5; i++) await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: `churn-${i}` } } });
      await cluster.store.compact();
      assert.ok(cluster.store.compactedRevision() > Number(staleRV), 'the informer revision is compacted');
      const probe = await rawWatch(cluster.kubeconfigPath, `/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${staleRV}`);
      const err = await probe.waitFor((e) => e.type === 'ERROR');
      probe.close();
      assert.equal(err.object.code, 410);

      await informer.start();
      await eventually('informer relisted', () => informer.get('while-stopped', ns) !== undefined && informer.get('before', ns) === undefined);
      assert.equal(lists, 2, 'the 410 made the informer list again');
      assert.ok(deleted.includes('before'), 'the relist reports what went away');
      assert.ok(added.includes('while-stopped'));

      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'after' } } });
      await eventually('informer watches again after the relist', () => informer.get('after', ns) !== undefined);
      assert.deepEqual(informer.list(ns).map((o) => o.metadata?.name).sort(), ['after', 'watched', 'while-stopped']);
      assert.equal(lists, 2);
    } finally {
      await informer.stop();
    }
  });
});
