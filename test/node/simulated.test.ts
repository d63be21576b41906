// Simulated nodes through the real API: registration, leases, pod lifecycles from the stage table
// (start, completion, failure, crash loops, deletion), and stopping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import { isNotFound, RestClient, type ResourceClient, type ResourceRef } from '../../src/client/rest.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { ANN_SIMULATE, startSimulatedNodes, type SimulatedNodes } from '../../src/node/simulated/index.js';
import { RESOURCES, SharedInformers } from '../../src/client/shared.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const ref = (group: string, resource: string, namespaced = true): ResourceRef => ({ group, version: 'v1', resource, namespaced });

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('simulated nodes', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let nodeTransport: Transport;
  let sim: SimulatedNodes;
  let pods: ResourceClient<Pod>;
  let nodes: ResourceClient<Node>;
  let leases: ResourceClient<Lease>;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    const acceptor = inProcessAcceptor(cluster.api.handle);
    transport = inProcessTransport(acceptor, { username: 'test', groups: ['system:masters'] });
    nodeTransport = inProcessTransport(acceptor, { username: 'system:node:sim', groups: ['system:nodes'] });
    const rest = new RestClient(transport);
    pods = rest.resource<Pod>(ref('', 'pods'), 'default');
    nodes = rest.resource<Node>(ref('', 'nodes', false));
    leases = rest.resource<Lease>(ref('coordination.k8s.io', 'leases'), 'kube-node-lease');
    sim = await startSimulatedNodes(nodeTransport, {
      count: 3,
      namePrefix: 'sim-',
      capacity: { cpu: '8', memory: '32Gi', pods: 50 },
      labels: { 'topology.kubernetes.io/zone': 'z1' },
      taints: [{ key: 'simulated', value: 'yes', effect: 'PreferNoSchedule' }],
      startupDelayMs: 300,
      jobDurationMs: 300,
      failAfterMs: 100,
      crashBackoffBaseMs: 200,
      deleteDelayMs: 50,
      heartbeatSeconds: 1,
    });
  });

  after(async () => {
    await sim?.stop();
    transport?.close();
    nodeTransport?.close();
    await cluster?.close();
  });

  const bound = (name: string, node: string, spec: Partial<PodSpec> = {}, annotations?: Record<string, string>): Pod => ({
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { nodeName: node, containers: [{ name: 'app', image: 'busybox:1.36' }], ...spec } as PodSpec,
  });
  const phase = (name: string, want: string) =>
    waitFor(`${name} to be ${want}`, async () => {
      const p = await pods.get(name);
      return p.status?.phase === want ? p : undefined;
    });

  it('registers Nodes as a kubelet would, and Leases it renews', async () => {
    assert.deepEqual(sim.nodeNames, ['sim-0', 'sim-1', 'sim-2']);
    const n = await nodes.get('sim-1');
    assert.equal(n.metadata?.labels?.['kubernetes.io/hostname'], 'sim-1');
    assert.equal(n.metadata?.labels?.['topology.kubernetes.io/zone'], 'z1');
    assert.equal(n.metadata?.labels?.['kubernetes.io/os'], 'linux');
    assert.deepEqual(n.spec?.taints, [{ key: 'simulated', value: 'yes', effect: 'PreferNoSchedule' }]);
    assert.equal(n.spec?.podCIDR, '10.128.1.0/24');
    assert.equal(n.status?.capacity?.cpu, '8');
    assert.equal(n.status?.allocatable?.memory, '32Gi');
    assert.equal(n.status?.allocatable?.pods, '50');
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
    assert.equal(ready?.reason, 'KubeletReady');
    assert.deepEqual(n.status?.addresses, [
      { type: 'InternalIP', address: '172.16.0.2' },
      { type: 'Hostname', address: 'sim-1' },
    ]);
    assert.equal(n.status?.nodeInfo?.operatingSystem, 'linux');
    assert.match(n.status?.nodeInfo?.kubeletVersion ?? '', /^v1\.\d+/);

    const lease = await leases.get('sim-1');
    assert.equal(lease.spec?.holderIdentity, 'sim-1');
    assert.equal(lease.spec?.leaseDurationSeconds, 40);
    assert.equal(lease.metadata?.ownerReferences?.[0]?.uid, n.metadata?.uid);
    const first = Date.parse(lease.spec!.renewTime!);
    await waitFor('the lease to be renewed', async () => (Date.parse((await leases.get('sim-1')).spec!.renewTime!) > first ? true : undefined), 5000);
  });

  it('takes a bound pod through ContainerCreating to Running', skipUnless(!!kubectlPath('1.33'), 'kubectl 1.33'), async () => {
    await pods.create(bound('web', 'sim-2'));
    const creating = await waitFor('ContainerCreating', async () => {
      const out = (await cluster.kubectlOk(['get', 'pod', 'web', '--no-headers'])).stdout;
      return /ContainerCreating/.test(out) ? out : undefined;
    });
    assert.match(creating, /0\/1\s+ContainerCreating/);
    const p = await phase('web', 'Running');
    const s = p.status!;
    assert.equal(s.hostIP, '172.16.0.3');
    assert.match(s.podIP ?? '', /^10\.128\.2\.\d+$/);
    assert.deepEqual(s.podIPs, [{ ip: s.podIP }]);
    assert.ok(s.startTime);
    const cond = Object.fromEntries((s.conditions ?? []).map((c) => [c.type, c.status]));
    assert.deepEqual(cond, { PodReadyToStartContainers: 'True', Initialized: 'True', Ready: 'True', ContainersReady: 'True', PodScheduled: 'True' });
    const c = s.containerStatuses![0];
    assert.equal(c.name, 'app');
    assert.equal(c.ready, true);
    assert.equal(c.started, true);
    assert.equal(c.restartCount, 0);
    assert.equal(c.image, 'busybox:1.36');
    assert.match(c.imageID, /^busybox@sha256:[0-9a-f]{64}$/);
    assert.match(c.containerID ?? '', /^sim:\/\/[0-9a-f]{64}$/);
    assert.ok(c.state?.running?.startedAt);
    const out = (await cluster.kubectlOk(['get', 'pod', 'web', '-o', 'wide', '--no-headers'])).stdout;
    assert.match(out, /^web\s+1\/1\s+Running\s+0\s+\S+\s+10\.128\.2\.\d+\s+sim-2/);
  });

  it('completes pods that do not restart, and fails them when asked to', async () => {
    await pods.create(bound('job', 'sim-0', { restartPolicy: 'Never' }));
    await pods.create(bound('broken-job', 'sim-0', { restartPolicy: 'Never' }, { [ANN_SIMULATE]: 'fail' }));
    const done = await phase('job', 'Succeeded');
    const t = done.status!.containerStatuses![0].state!.terminated!;
    assert.equal(t.exitCode, 0);
    assert.equal(t.reason, 'Completed');
    assert.equal(done.status!.conditions!.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
    const failed = await phase('broken-job', 'Failed');
    assert.equal(failed.status!.containerStatuses![0].state!.terminated!.exitCode, 1);
    assert.equal(failed.status!.containerStatuses![0].state!.terminated!.reason, 'Error');
  });

  it('restarts failing containers of Always pods with a growing CrashLoopBackOff', async () => {
    await pods.create(bound('crasher', 'sim-1', {}, { [ANN_SIMULATE]: 'fail' }));
    const crashed = await waitFor('a crash loop', async () => {
      const p = await pods.get('crasher');
      const c = p.status?.containerStatuses?.[0];
      return c?.state?.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
    });
    const c = crashed.status!.containerStatuses![0];
    assert.equal(crashed.status!.phase, 'Running');
    assert.equal(c.restartCount, 1);
    assert.equal(c.ready, false);
    assert.equal(c.lastState?.terminated?.exitCode, 1);
    assert.match(c.state!.waiting!.message!, /^back-off 10s restarting failed container=app pod=crasher_default\(/);
    assert.equal(crashed.status!.conditions!.find((x) => x.type === 'Ready')?.status, 'False');
    // it comes back (Running) after the backoff, and crashes again
    await waitFor('a second restart', async () => ((await pods.get('crasher')).status?.containerStatuses?.[0]?.restartCount === 2 ? true : undefined));
  });

  it('removes deleted pods with gracePeriodSeconds=0 after a short delay, and frees their IPs', async () => {
    await pods.create(bound('doomed', 'sim-0'));
    const p = await phase('doomed', 'Running');
    const before = sim.podCount();
    const res = await pods.delete('doomed');
    assert.ok((res as Pod).metadata?.deletionTimestamp, 'a bound running pod is deleted gracefully');
    await waitFor('the pod to go', async () => {
      try {
        await pods.get('doomed');
        return undefined;
      } catch (e) {
        return isNotFound(e) ? true : undefined;
      }
    });
    await waitFor('the simulator to forget it', async () => (sim.podCount() < before ? true : undefined));
    // the address goes back to the pool: a new pod on the node may get it
    await pods.create(bound('reuse', 'sim-0'));
    const q = await phase('reuse', 'Running');
    assert.match(q.status!.podIP!, /^10\.128\.0\./);
    assert.ok(p.status?.podIP);
  });

  it('goes silent when stopped: no more lease renewals, no more pod updates; deleteNodes removes the nodes', async () => {
    const acceptor = inProcessAcceptor(cluster.api.handle);
    const t = inProcessTransport(acceptor, { username: 'system:node:other', groups: ['system:nodes'] });
    try {
      const other = await startSimulatedNodes(t, { count: 2, namePrefix: 'mortal-', firstIndex: 10, heartbeatSeconds: 1, startupDelayMs: 0 });
      other.stopNode('mortal-1');
      await pods.create(bound('orphan', 'mortal-1'));
      await pods.create(bound('alive', 'mortal-0'));
      await phase('alive', 'Running');
      const renewed = Date.parse((await leases.get('mortal-1')).spec!.renewTime!);
      await new Promise((r) => setTimeout(r, 1300));
      assert.equal(Date.parse((await leases.get('mortal-1')).spec!.renewTime!), renewed, 'a stopped node renews nothing');
      assert.equal((await pods.get('orphan')).status?.phase, 'Pending');
      assert.equal((await pods.get('orphan')).status?.containerStatuses, undefined);
      await other.stop({ deleteNodes: true });
      await assert.rejects(nodes.get('mortal-0'), isNotFound);
      await assert.rejects(leases.get('mortal-0'), isNotFound);
      // a new group with the same names takes the nodes over
      const again = await startSimulatedNodes(t, { count: 1, namePrefix: 'sim-', firstIndex: 0 });
      assert.equal((await nodes.get('sim-0')).status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
      await again.stop();
    } finally {
      t.close();
    }
  });

  it("reads pods from a shared informer when given one, and leaves it running when stopped", async () => {
    // the group's own requests, to see that it opens no watch of pods
    const groupRequests: string[] = [];
    const acceptor = inProcessAcceptor((req, res) => {
      groupRequests.push(`${req.method} ${req.url}`);
      cluster.api.handle(req, res);
    });
    const t = inProcessTransport(acceptor, { username: 'system:node:shared', groups: ['system:nodes'] });
    const shared = new SharedInformers(transport);
    const informer = shared.informer<Pod>(RESOURCES.pods);
    shared.start();
    try {
      await shared.waitForSync();
      // a pod bound before the group starts is picked up from what the synced informer already holds
      await pods.create(bound('early', 'shared-0'));
      await waitFor('the informer to see early', async () => informer.get('default/early'));
      const group = await startSimulatedNodes(t, { count: 1, namePrefix: 'shared-', firstIndex: 20, heartbeatSeconds: 1, podInformer: informer });
      await phase('early', 'Running');
      await pods.create(bound('late', 'shared-0'));
      await phase('late', 'Running');
      assert.deepEqual(groupRequests.filter((r) => r.includes('/pods?')), [], 'no list or watch of pods of its own');
      assert.ok(groupRequests.some((r) => r.includes('/pods/late/status')), 'it wrote the pods through its own transport');
      await group.stop();
      // the informer is its owner's: still watching after the group stopped
      await pods.create(bound('after', 'shared-0'));
      await waitFor('the informer to see a pod created after the stop', async () => informer.get('default/after'));
      assert.equal((await pods.get('after')).status?.phase, 'Pending', 'a stopped group moves no pod');
    } finally {
      await shared.stop();
      t.close();
    }
  });
});
