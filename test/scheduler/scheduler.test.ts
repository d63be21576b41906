// The scheduler through the real API, with simulated nodes: pods get bound and go Running, pods that
// fit nowhere say why (condition, event, `kubectl describe`), and cordons, selectors, affinity,
// taints, spreading and resources are respected. Each test has its own node group (label `group`).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Event, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { RestClient, type ResourceClient, type ResourceRef } from '../../src/client/rest.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { ControllerManager, type ControllerFactory } from '../../src/controllers/manager.js';
import { newSchedulerController, schedulerController, type Scheduler } from '../../src/scheduler/index.js';
import { startSimulatedNodes, type SimulatedNodes, type SimulatedNodesOptions } from '../../src/node/simulated/index.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const ref = (resource: string, namespaced = true): ResourceRef => ({ group: '', version: 'v1', resource, namespaced });

// the scheduler declares its own context types (components do not import each other); they must stay
// what the controller manager hands out
const asControllerFactory: ControllerFactory = schedulerController;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('scheduler with simulated nodes', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let nodeTransport: Transport;
  let schedulerTransport: Transport;
  let manager: ControllerManager;
  let scheduler: Scheduler;
  let rest: RestClient;
  let pods: ResourceClient<Pod>;
  let nodes: ResourceClient<Node>;
  const groups: SimulatedNodes[] = [];
  const logs: string[] = [];
  let nextIndex = 0;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    const acceptor = inProcessAcceptor(cluster.api.handle);
    transport = inProcessTransport(acceptor, { username: 'test', groups: ['system:masters'] });
    nodeTransport = inProcessTransport(acceptor, { username: 'system:node:simulated', groups: ['system:nodes'] });
    schedulerTransport = inProcessTransport(acceptor, { username: 'system:kube-scheduler', groups: [] });
    rest = new RestClient(transport);
    pods = rest.resource<Pod>(ref('pods'), 'default');
    nodes = rest.resource<Node>(ref('nodes', false));
    manager = new ControllerManager(schedulerTransport, [(ctx) => (scheduler = newSchedulerController({ podInitialBackoffMs: 200, podMaxBackoffMs: 1000 })(ctx))], {
      log: (l) => logs.push(l),
    });
    await manager.start();
  });

  after(async () => {
    for (const g of groups) await g.stop({ deleteNodes: false });
    await manager?.stop();
    for (const t of [transport, nodeTransport, schedulerTransport]) t?.close();
    await cluster?.close();
  });

  /** A group of simulated nodes labelled `group=<name>`, with its own names and addresses. */
  async function nodeGroup(name: string, count: number, o: Partial<SimulatedNodesOptions> = {}): Promise<SimulatedNodes> {
    const g = await startSimulatedNodes(nodeTransport, {
      count,
      namePrefix: `${name}-`,
      firstIndex: nextIndex,
      capacity: { cpu: '2', memory: '4Gi', pods: 20 },
      startupDelayMs: 20,
      jobDurationMs: 200,
      ...o,
      labels: { group: name, ...(o.labels ?? {}) },
    });
    nextIndex += count;
    groups.push(g);
    return g;
  }

  const podIn = (group: string, name: string, spec: Partial<PodSpec> = {}, cpu?: string): Pod => ({
    metadata: { name, namespace: 'default', labels: { app: name.replace(/-\d+$/, '') } },
    spec: {
      nodeSelector: { group },
      containers: [{ name: 'app', image: 'busybox:1.36', ...(cpu ? { resources: { requests: { cpu } } } : {}) }],
      ...spec,
    } as PodSpec,
  });

  const get = (name: string) => pods.get(name);
  const boundTo = (name: string) => waitFor(`${name} to be bound`, async () => (await get(name)).spec?.nodeName);
  const running = (name: string) => waitFor(`${name} to run`, async () => ((await get(name)).status?.phase === 'Running' ? true : undefined));
  const unschedulableMessage = (name: string) =>
    waitFor(`${name} to be reported unschedulable`, async () => {
      const c = (await get(name)).status?.conditions?.find((x) => x.type === 'PodScheduled');
      return c?.status === 'False' && c.reason === 'Unschedulable' ? c.message : undefined;
    });

  it('is a controller factory the manager runs', () => {
    assert.equal(typeof asControllerFactory, 'function');
    assert.equal(scheduler.name, 'scheduler');
  });

  it('binds pods to simulated nodes, which run them, and records Scheduled events', async () => {
    const g = await nodeGroup('basic', 3);
    for (let i = 0; i < 6; i++) await pods.create(podIn('basic', `web-${i}`, {}, '100m'));
    const placed = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const node = await boundTo(`web-${i}`);
      assert.ok(g.nodeNames.includes(node), node);
      placed.set(node, (placed.get(node) ?? 0) + 1);
      await running(`web-${i}`);
    }
    // equal pods on equal nodes spread evenly (LeastAllocated)
    assert.deepEqual([...placed.values()].sort(), [2, 2, 2]);
    const p = await get('web-0');
    assert.ok(p.status?.podIP?.startsWith('10.'), p.status?.podIP);
    assert.equal(p.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const events = await rest.resource<Event>(ref('events'), 'default').list({ fieldSelector: 'involvedObject.name=web-0' });
    const scheduled = events.items.find((e) => e.reason === 'Scheduled');
    assert.equal(scheduled?.message, `Successfully assigned default/web-0 to ${p.spec?.nodeName}`);
    assert.equal(scheduled?.source?.component, 'default-scheduler');
  });

  it('reports a pod that fits nowhere, in its condition, an event and kubectl describe', skipUnless(!!kubectlPath('1.33'), 'kubectl 1.33'), async () => {
    await nodeGroup('tight', 2);
    // NoSchedule: DefaultTolerationSeconds makes every pod tolerate unreachable:NoExecute for 300 s
    await nodeGroup('tight-dead', 1, { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] });
    // no selector: every node of every test is a candidate, and none has 3 cpus free
    const n = (await nodes.list()).items.length;
    await pods.create({ metadata: { name: 'huge' }, spec: { containers: [{ name: 'app', image: 'busybox', resources: { requests: { cpu: '3' } } }] } });
    const message = await unschedulableMessage('huge');
    assert.equal(
      message,
      `0/${n} nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, ${n - 1} Insufficient cpu. ` +
        `preemption: 0/${n} nodes are available: 1 Preemption is not helpful for scheduling, ${n - 1} No preemption victims found for incoming pod.`,
    );
    const describe = await waitFor('the FailedScheduling event', async () => {
      const out = (await cluster.kubectlOk(['describe', 'pod', 'huge'])).stdout;
      return /FailedScheduling/.test(out) ? out : undefined;
    });
    const line = describe.split('\n').find((l) => l.includes('FailedScheduling'))!;
    assert.match(line, /^\s+Warning\s+FailedScheduling\s+\S+.*\s+default-scheduler\s+0\/\d+ nodes are available: 1 node\(s\) had untolerated taint/);
    assert.ok(line.includes(message.slice(0, 60)), line);
    assert.match(describe, /Status:\s+Pending/);
    assert.match(describe, /PodScheduled\s+False/);
    assert.equal((await get('huge')).spec?.nodeName, undefined);
    await pods.delete('huge');
  });

  it('respects cordons (kubectl cordon) and schedules once a node is uncordoned', skipUnless(!!kubectlPath('1.33'), 'kubectl 1.33'), async () => {
    const g = await nodeGroup('cordon', 2);
    for (const n of g.nodeNames) await cluster.kubectlOk(['cordon', n]);
    await pods.create(podIn('cordon', 'waiting'));
    const message = await unschedulableMessage('waiting');
    assert.match(message, /2 node\(s\) were unschedulable/);
    await cluster.kubectlOk(['uncordon', g.nodeNames[1]]);
    assert.equal(await boundTo('waiting'), g.nodeNames[1]);
    await cluster.kubectlOk(['uncordon', g.nodeNames[0]]);
  });

  it('follows nodeSelector, required and preferred node affinity', async () => {
    const g = await nodeGroup('affinity', 3);
    // label the nodes one by one: zone a, b, b
    const zones = ['a', 'b', 'b'];
    for (let i = 0; i < 3; i++) await nodes.patch(g.nodeNames[i], 'merge', { metadata: { labels: { zone: zones[i], size: String(i) } } });
    await waitFor('labels to reach the scheduler', () => g.nodeNames.every((n) => scheduler.cache.get(n)?.labels.size !== undefined) || undefined);
    await pods.create(podIn('affinity', 'in-a', { nodeSelector: { group: 'affinity', zone: 'a' } }));
    assert.equal(await boundTo('in-a'), g.nodeNames[0]);
    await pods.create(
      podIn('affinity', 'big-b', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] }] },
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'size', operator: 'Gt', values: ['1'] }] } }],
          },
        },
      }),
    );
    assert.equal(await boundTo('big-b'), g.nodeNames[2]);
    await pods.create(podIn('affinity', 'nowhere', { nodeSelector: { group: 'affinity', zone: 'c' } }));
    // every node of this group (and of the other tests) fails the selector; only a tainted node of another test fails earlier
    assert.match(await unschedulableMessage('nowhere'), /^0\/\d+ nodes are available: (1 node\(s\) had untolerated taint [^,]*, )?\d+ node\(s\) didn't match Pod's node affinity\/selector\. /);
    // a node that gets the label lets the pod in
    await nodes.patch(g.nodeNames[1], 'merge', { metadata: { labels: { zone: 'c' } } });
    assert.equal(await boundTo('nowhere'), g.nodeNames[1]);
  });

  it('keeps pods off tainted nodes unless they tolerate the taint', async () => {
    const plain = await nodeGroup('taints', 1);
    const tainted = await nodeGroup('taints-dedicated', 1, { labels: { group: 'taints' }, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] });
    for (let i = 0; i < 3; i++) await pods.create(podIn('taints', `plain-${i}`));
    for (let i = 0; i < 3; i++) assert.equal(await boundTo(`plain-${i}`), plain.nodeNames[0]);
    await pods.create(
      podIn('taints', 'db', { nodeSelector: { group: 'taints' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }] }),
    );
    // the tolerating pod may go to the emptier tainted node
    assert.equal(await boundTo('db'), tainted.nodeNames[0]);
  });

  it('spreads pods across nodes with topology spread constraints and pod anti-affinity', async () => {
    const g = await nodeGroup('spread', 3);
    const constraint = { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'spread' } } };
    // big requests on one node would otherwise pull the scores apart: spreading must win
    await pods.create(podIn('spread', 'filler', { nodeName: undefined }, '1'));
    await boundTo('filler');
    for (let i = 0; i < 6; i++) await pods.create(podIn('spread', `spread-${i}`, { topologySpreadConstraints: [constraint] }));
    const counts = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const n = await boundTo(`spread-${i}`);
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    assert.deepEqual(g.nodeNames.map((n) => counts.get(n) ?? 0), [2, 2, 2]);

    const anti = { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'solo' } } }] };
    for (let i = 0; i < 4; i++) await pods.create(podIn('spread', `solo-${i}`, { affinity: { podAntiAffinity: anti } }));
    const soloNodes = [];
    for (let i = 0; i < 3; i++) soloNodes.push(await boundTo(`solo-${i}`));
    assert.equal(new Set(soloNodes).size, 3);
    assert.match(await unschedulableMessage('solo-3'), /3 node\(s\) didn't match pod anti-affinity rules/);
  });

  it('fits pods by resources and retries them when pods go away or nodes arrive', async () => {
    const g = await nodeGroup('fit', 2);
    await pods.create(podIn('fit', 'a', {}, '1500m'));
    await pods.create(podIn('fit', 'b', {}, '1500m'));
    const [na, nb] = [await boundTo('a'), await boundTo('b')];
    assert.notEqual(na, nb);
    await pods.create(podIn('fit', 'c', {}, '1'));
    assert.match(await unschedulableMessage('c'), /2 Insufficient cpu/);
    // deleting a pod frees its node (the simulated node finishes the deletion)
    await pods.delete('a');
    assert.equal(await boundTo('c'), na);
    await pods.create(podIn('fit', 'd', {}, '1500m'));
    await unschedulableMessage('d');
    const more = await nodeGroup('fit-more', 1, { labels: { group: 'fit' } });
    assert.equal(await boundTo('d'), more.nodeNames[0]);
    assert.equal(g.nodeNames.length, 2);
  });

  it('picks a node for WaitForFirstConsumer claims, annotates them, and binds the pod once they are bound', async () => {
    const g = await nodeGroup('volumes', 2);
    const classes = rest.resource({ group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', namespaced: false });
    const claims = rest.resource<PersistentVolumeClaim>(ref('persistentvolumeclaims'), 'default');
    await classes.create({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'late' }, provisioner: 'example.com/csi', volumeBindingMode: 'WaitForFirstConsumer' });
    await claims.create({ metadata: { name: 'data' }, spec: { storageClassName: 'late', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    await pods.create(podIn('volumes', 'vol-db', { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] }));
    const selected = await waitFor('the selected-node annotation', async () => (await claims.get('data')).metadata?.annotations?.['volume.kubernetes.io/selected-node']);
    assert.ok(g.nodeNames.includes(selected), selected);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await get('vol-db')).spec?.nodeName, undefined, 'not bound before its claim is');
    // what the provisioner and the PV controller would do
    const claim = await claims.get('data');
    await rest.resource<PersistentVolume>(ref('persistentvolumes', false)).create({
      metadata: { name: 'pv-data' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'late',
        hostPath: { path: '/tmp/pv-data' },
        claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'data', uid: claim.metadata?.uid },
      },
    });
    const boundClaim = await claims.update({ ...claim, spec: { ...claim.spec, volumeName: 'pv-data' } });
    await claims.updateStatus({ ...boundClaim, status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } } });
    assert.equal(await boundTo('vol-db'), selected);
    // a pod whose claim does not exist says so
    await pods.create(podIn('volumes', 'vol-lost', { volumes: [{ name: 'x', persistentVolumeClaim: { claimName: 'missing' } }] }));
    assert.match(await unschedulableMessage('vol-lost'), /^0\/\d+ nodes are available: persistentvolumeclaim "missing" not found\. preemption: 0\/\d+ nodes are available: \d+ Preemption is not helpful for scheduling\.$/);
  });

  it('lets Job-like pods complete and ignores pods of other schedulers', async () => {
    await nodeGroup('jobs', 1);
    await pods.create(podIn('jobs', 'once', { restartPolicy: 'Never' }));
    await waitFor('the pod to succeed', async () => ((await get('once')).status?.phase === 'Succeeded' ? true : undefined));
    await pods.create(podIn('jobs', 'other', { schedulerName: 'my-scheduler' }));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await get('other')).spec?.nodeName, undefined);
    assert.equal((await get('other')).status?.conditions, undefined);
  });
});
