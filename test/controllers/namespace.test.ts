import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigMap, Namespace, NamespaceCondition, Pod, Secret } from 'kubernetes-types/core/v1.js';
import { ClientStatusError, isNotFound, RestClient, type ResourceRef } from '../../src/client/rest.js';
import { inProcessAcceptor, inProcessTransport, type Transport, type TransportRequest } from '../../src/client/transport.js';
import { startNamespaceController } from '../../src/controllers/namespace/controller.js';
import { NamespaceConditionUpdater } from '../../src/controllers/namespace/conditions.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const ref = (resource: string, namespaced = true): ResourceRef => ({ group: '', version: 'v1', resource, namespaced });
const NAMESPACES = ref('namespaces', false);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const condition = (ns: Namespace, type: string): NamespaceCondition | undefined => ns.status?.conditions?.find((c) => c.type === type);

describe('namespace controller', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let rest: RestClient;
  let controller: { stop(): Promise<void> };
  const logs: string[] = [];
  let failing: ((req: TransportRequest) => boolean) | undefined;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    // the test itself and the controller each get their own in-process client
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    rest = new RestClient(transport);
    const controllerTransport = inProcessTransport(inProcessAcceptor(cluster.api.handle), {
      username: 'system:serviceaccount:kube-system:namespace-controller',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'],
    });
    // requests matching `failing` get a 500 Status, as a broken API would answer
    const flaky: Transport = {
      request: async (req) => {
        if (failing?.(req)) {
          const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 500, reason: 'InternalError', message: 'etcdserver: request timed out' });
          return { status: 500, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
        }
        return controllerTransport.request(req);
      },
      stream: (req) => controllerTransport.stream(req),
      close: () => controllerTransport.close(),
    };
    const started = startNamespaceController(flaky, { log: (l) => logs.push(l), maxRemainingRequeueMs: 100 });
    controller = {
      stop: async () => {
        await started.stop();
        controllerTransport.close();
      },
    };
  });
  after(async () => {
    await controller?.stop();
    transport?.close();
    await cluster?.close();
  });

  it('empties a deleted namespace, then lets it go', async () => {
    const nss = rest.resource<Namespace>(NAMESPACES);
    await nss.create({ metadata: { name: 'doomed' } });
    const cms = rest.resource<ConfigMap>(ref('configmaps'), 'doomed');
    const secrets = rest.resource<Secret>(ref('secrets'), 'doomed');
    const pods = rest.resource<Pod>(ref('pods'), 'doomed');
    for (let i = 0; i < 3; i++) await cms.create({ metadata: { name: `cm-${i}` }, data: { i: String(i) } });
    await secrets.create({ metadata: { name: 's' }, stringData: { password: 'x' } } as Secret);
    await pods.create({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    // held by a finalizer, so the namespace stays Terminating until the test lets go
    await cms.create({ metadata: { name: 'held', finalizers: ['example.com/hold'] } });
    // a namespace nobody deletes is left alone
    await nss.create({ metadata: { name: 'bystander' } });
    await rest.resource<ConfigMap>(ref('configmaps'), 'bystander').create({ metadata: { name: 'keep' } });

    await nss.delete('doomed');

    const terminating = await waitFor('conditions naming what is left', async () => {
      const ns = await nss.get('doomed');
      return condition(ns, 'NamespaceFinalizersRemaining')?.status === 'True' ? ns : undefined;
    });
    assert.equal(terminating.status?.phase, 'Terminating');
    assert.ok(terminating.metadata?.deletionTimestamp);
    assert.deepEqual(terminating.spec?.finalizers, ['kubernetes']);
    const remaining = condition(terminating, 'NamespaceContentRemaining');
    assert.equal(remaining?.status, 'True');
    assert.equal(remaining?.reason, 'SomeResourcesRemain');
    assert.equal(remaining?.message, 'Some resources are remaining: configmaps. has 1 resource instances');
    const finalizers = condition(terminating, 'NamespaceFinalizersRemaining');
    assert.equal(finalizers?.reason, 'SomeFinalizerRemain');
    assert.equal(finalizers?.message, 'Some finalizers are remaining: example.com/hold in 1 resource instances');
    for (const [type, reason] of [
      ['NamespaceDeletionDiscoveryFailure', 'ResourcesDiscovered'],
      ['NamespaceDeletionContentFailure', 'ContentDeleted'],
    ]) {
      assert.equal(condition(terminating, type)?.status, 'False', type);
      assert.equal(condition(terminating, type)?.reason, reason, type);
    }

    // everything else is gone already
    assert.deepEqual((await cms.list()).items.map((c) => c.metadata?.name), ['held']);
    assert.equal((await secrets.list()).items.length, 0);
    assert.equal((await pods.list()).items.length, 0);
    const held = await cms.get('held');
    assert.ok(held.metadata?.deletionTimestamp, 'the held object is being deleted');

    // nothing new may be created in it meanwhile
    await assert.rejects(cms.create({ metadata: { name: 'late' } }), (e: unknown) => {
      assert.ok(e instanceof ClientStatusError);
      assert.equal(e.code, 403);
      assert.match(e.message, /because it is being terminated/);
      return true;
    });

    // the last finalizer goes: the controller finishes and the API server removes the namespace
    await cms.patch('held', 'merge', { metadata: { finalizers: null } });
    await waitFor('the namespace to be gone', async () => {
      try {
        await nss.get('doomed');
        return undefined;
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
    });

    const bystander = await nss.get('bystander');
    assert.equal(bystander.status?.phase, 'Active');
    assert.equal((await rest.resource<ConfigMap>(ref('configmaps'), 'bystander').list()).items.length, 1);
  });

  it('reports failed deletions in its conditions and retries until they succeed', async () => {
    const nss = rest.resource<Namespace>(NAMESPACES);
    await nss.create({ metadata: { name: 'flaky' } });
    const cms = rest.resource<ConfigMap>(ref('configmaps'), 'flaky');
    await cms.create({ metadata: { name: 'cm' } });
    let refused = 0;
    failing = (req) => {
      const hit = req.method === 'DELETE' && req.path.startsWith('/api/v1/namespaces/flaky/configmaps');
      if (hit) refused++;
      return hit;
    };
    try {
      await nss.delete('flaky');
      const failed = await waitFor('a content failure condition', async () => {
        const ns = await nss.get('flaky');
        return condition(ns, 'NamespaceDeletionContentFailure')?.status === 'True' ? ns : undefined;
      });
      assert.equal(condition(failed, 'NamespaceDeletionContentFailure')?.reason, 'ContentDeletionFailed');
      assert.equal(condition(failed, 'NamespaceDeletionContentFailure')?.message, 'Failed to delete all resource types, 1 remaining: etcdserver: request timed out');
      // it keeps trying with backoff, not once and not in a hot loop
      await waitFor('retries', async () => (refused >= 3 ? true : undefined));
      assert.ok(logs.some((l) => l.includes('error syncing "flaky"')));
      assert.equal((await cms.list()).items.length, 1);
    } finally {
      failing = undefined;
    }
    await waitFor('the namespace to be gone after the API recovered', async () => {
      try {
        await nss.get('flaky');
        return undefined;
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
    });
  });

  it('finishes a namespace that was empty at once', async () => {
    const nss = rest.resource<Namespace>(NAMESPACES);
    await nss.create({ metadata: { name: 'empty' } });
    await nss.delete('empty');
    await waitFor('the empty namespace to be gone', async () => {
      try {
        await nss.get('empty');
        return undefined;
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
    });
  });
});

describe('NamespaceConditionUpdater', () => {
  it('writes upstream reasons and messages and keeps transition times when nothing flips', () => {
    const status: { conditions?: NamespaceCondition[] } = {};
    const u = new NamespaceConditionUpdater();
    u.discoveryFailed('', new Map([['metrics.k8s.io/v1beta1', 'the server is currently unable to handle the request']]));
    u.contentDeletionFailed('b failed');
    u.contentDeletionFailed('a failed');
    u.contentTotals({ byResource: new Map([['pods.', 2], ['deployments.apps', 1]]), byFinalizer: new Map() });
    assert.equal(u.update(status), true);
    const get = (t: string) => status.conditions!.find((c) => c.type === t)!;
    assert.equal(status.conditions!.length, 5);
    assert.equal(get('NamespaceDeletionDiscoveryFailure').reason, 'DiscoveryFailed');
    assert.equal(
      get('NamespaceDeletionDiscoveryFailure').message,
      'Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: the server is currently unable to handle the request',
    );
    assert.equal(get('NamespaceDeletionContentFailure').message, 'Failed to delete all resource types, 2 remaining: a failed, b failed');
    assert.equal(get('NamespaceContentRemaining').message, 'Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances');
    assert.equal(get('NamespaceFinalizersRemaining').status, 'False');
    assert.equal(get('NamespaceFinalizersRemaining').message, 'All content successfully removed');
    assert.equal(get('NamespaceDeletionGroupVersionParsingFailure').reason, 'ParsedGroupVersions');

    const before = JSON.stringify(status);
    const again = new NamespaceConditionUpdater();
    again.discoveryFailed('', new Map([['metrics.k8s.io/v1beta1', 'the server is currently unable to handle the request']]));
    again.contentDeletionFailed('a failed');
    again.contentDeletionFailed('b failed');
    again.contentTotals({ byResource: new Map([['deployments.apps', 1], ['pods.', 2]]), byFinalizer: new Map() });
    assert.equal(again.update(status), false);
    assert.equal(JSON.stringify(status), before);

    const ok = new NamespaceConditionUpdater();
    assert.equal(ok.update(status), true);
    assert.ok(status.conditions!.every((c) => c.status === 'False'));
  });
});
