// The pod write path: bindings leave managedFields alone, filtered watches share the previous object of an
// event, and the Node authorizer's graph skips status writes of bound pods.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { podKind as podKindOfPods } from '../../src/api/kinds/pod.js';
import type { KindInfo, KubeObject } from '../../src/api/types.js';
import { inProcessAuthenticator } from '../../src/apiserver/authn.js';
import { NodeGraph } from '../../src/apiserver/authz/node.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import { Registry, type Item } from '../../src/apiserver/registry.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport } from '../../src/client/transport.js';
import { MemoryStore } from '../../src/storage/memory.js';

describe('pods/binding', () => {
  let api: ApiServer;
  let admin: RestClient;
  before(async () => {
    api = newApiServer({ store: new MemoryStore(), scheme: builtinScheme(), authenticate: inProcessAuthenticator(), serverAddress: 'x', serviceAccountAdmission: { requireServiceAccount: false } });
    admin = new RestClient(inProcessTransport(inProcessAcceptor(api.handle), { username: 'admin', groups: ['system:masters'] }));
    await admin.resource(RESOURCES.namespaces, '').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
  });

  it('sets nodeName and PodScheduled without a managedFields entry', async () => {
    const pods = admin.resource<Pod>(RESOURCES.pods, 'app');
    const created = await pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } }, { fieldManager: 'maker' });
    assert.deepEqual(created.metadata?.managedFields?.map((e) => e.manager), ['maker']);
    await pods.createSubresource('p', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } }, { fieldManager: 'default-scheduler' });
    const bound = await pods.get('p');
    assert.equal(bound.spec?.nodeName, 'n1');
    assert.equal(bound.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
    assert.notEqual(bound.metadata?.resourceVersion, created.metadata?.resourceVersion);
    assert.deepEqual(bound.metadata?.managedFields, created.metadata?.managedFields);
  });
});

const podKind = podKindOfPods as unknown as KindInfo;

describe('filtered watches of one store', () => {
  const store = new MemoryStore();
  const reg = new Registry(store);
  const pod = (name: string, labels: Record<string, string>, nodeName?: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'x' }] },
  });
  const stops: { stop(): void }[] = [];
  after(() => stops.forEach((w) => w.stop()));

  it('sends each watcher the object leaving its selection as DELETED at the event revision', async () => {
    const seen: Record<string, [string, string, string | undefined, Item][]> = { a: [], b: [], field: [] };
    const rv = String(store.currentRevision());
    const watchAs = async (who: string, q: { labelSelector?: string; fieldSelector?: string }) =>
      stops.push(await reg.watch(podKind, 'app', { ...q, resourceVersion: rv }, (type, it) => seen[who].push([type, it.obj.metadata.name, it.obj.metadata.resourceVersion, it])));
    await watchAs('a', { labelSelector: 'tier=a' });
    await watchAs('b', { labelSelector: 'tier=a' });
    await watchAs('field', { fieldSelector: 'spec.nodeName=n1' });
    await reg.create(podKind, 'app', pod('p', { tier: 'a' }, 'n1'));
    const moved = await reg.update(podKind, 'app', 'p', { ...pod('p', { tier: 'b' }, 'n1') });
    const leftRV = moved.item.obj.metadata.resourceVersion;
    await reg.delete(podKind, 'app', 'p', { gracePeriodSeconds: 0 });
    await new Promise((r) => setImmediate(r));
    for (const who of ['a', 'b']) {
      assert.deepEqual(
        seen[who].map(([t, n, v]) => [t, n, t === 'DELETED' ? v : '']),
        [
          ['ADDED', 'p', ''],
          ['DELETED', 'p', leftRV],
        ],
      );
      assert.equal(seen[who][1][3].obj.metadata.labels?.tier, 'a');
      assert.equal(JSON.parse(seen[who][1][3].raw).metadata.resourceVersion, leftRV);
    }
    // the field-selected watcher still matched after the label change: MODIFIED, then the real deletion
    assert.deepEqual(seen.field.map(([t]) => t), ['ADDED', 'MODIFIED', 'DELETED']);
  });
});

describe('Node graph of bound pods', () => {
  const store = new MemoryStore();
  const graph = new NodeGraph(store);
  before(() => graph.start());
  after(() => graph.stop());
  const key = '/core/pods/app/p';
  const base: Pod = { metadata: { namespace: 'app', name: 'p' }, spec: { nodeName: 'n1', containers: [{ name: 'c' }], volumes: [{ name: 's', secret: { secretName: 's1' } }] } };

  it('takes status writes of a bound pod without parsing them, and still follows ephemeral containers', async () => {
    await store.create(key, base);
    assert.equal(graph.reaches('n1', 'secret', 'app', 's1'), true);
    const parse = JSON.parse;
    let parses = 0;
    JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
      parses++;
      return parse(text, reviver);
    }) as typeof JSON.parse;
    let rev: number;
    try {
      const cur = await store.get(key);
      parses = 0;
      rev = (await store.update(key, { ...base, status: { phase: 'Running' } }, cur!.rev)).rev;
    } finally {
      JSON.parse = parse;
    }
    assert.equal(parses, 0);
    assert.equal(graph.reaches('n1', 'secret', 'app', 's1'), true);
    const withDebug: Pod = { ...base, spec: { ...base.spec!, ephemeralContainers: [{ name: 'dbg', envFrom: [{ secretRef: { name: 's2' } }] }] } };
    rev = (await store.update(key, withDebug, rev)).rev;
    assert.equal(graph.reaches('n1', 'secret', 'app', 's2'), true);
    await store.update(key, base, rev);
    assert.equal(graph.reaches('n1', 'secret', 'app', 's2'), false);
    await store.delete(key);
    assert.equal(graph.reaches('n1', 'secret', 'app', 's1'), false);
  });
});
