// StatefulSets and DaemonSets end to end with real kubectl 1.33: the scheduler binds their pods to
// simulated nodes, which run them; rollouts are driven and inspected with `kubectl rollout`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Informer } from '../../src/client/informer.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { daemonSetController } from '../../src/controllers/daemonset/controller.js';
import { garbageCollectorController } from '../../src/controllers/garbagecollector/controller.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { statefulSetController } from '../../src/controllers/statefulset/controller.js';
import { startSimulatedNodes, type SimulatedNodes } from '../../src/node/simulated/index.js';
import { schedulerController } from '../../src/scheduler/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/fake-kubelet.js';

let cluster: TestCluster;
let manager: ControllerManager;
const transports: Transport[] = [];
const nodeGroups: SimulatedNodes[] = [];
let rest: RestClient;
let podWatch: Informer<Pod>;
/** pod name → when it was first seen, first seen Ready and seen deleted (ms), in watch order */
const seen = new Map<string, { created: number; ready?: number; deleted?: number }>();
const deletedOrder: string[] = [];

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const k = (args: string[]) => cluster.kubectlOk(args, { timeoutMs: 60_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
  const acceptor = inProcessAcceptor(cluster.api.handle);
  const transport = (username: string, groups: string[] = []) => {
    const t = inProcessTransport(acceptor, { username, groups });
    transports.push(t);
    return t;
  };
  manager = new ControllerManager(transport('system:serviceaccount:kube-system:controller-manager'), [
    schedulerController,
    garbageCollectorController,
    statefulSetController,
    daemonSetController,
  ]);
  await manager.start();
  nodeGroups.push(await startSimulatedNodes(transport('system:serviceaccount:kube-system:simulated-nodes'), { count: 3 }));
  rest = new RestClient(transport('test', ['system:masters']));
  podWatch = new Informer<Pod>(rest.resource<Pod>(RESOURCES.pods, 'default'));
  podWatch.addEventHandler({
    onAdd: (p) => {
      if (!seen.has(p.metadata!.name!)) seen.set(p.metadata!.name!, { created: performance.now(), ...(isReady(p) ? { ready: performance.now() } : {}) });
    },
    onUpdate: (_o, p) => {
      const s = seen.get(p.metadata!.name!);
      if (s && s.ready === undefined && isReady(p)) s.ready = performance.now();
    },
    onDelete: (p) => {
      const s = seen.get(p.metadata!.name!);
      if (s) s.deleted = performance.now();
      deletedOrder.push(p.metadata!.name!);
      seen.delete(p.metadata!.name!);
    },
  });
  podWatch.start();
  await podWatch.waitForSync();
  await waitFor('3 ready nodes', async () => {
    const out = (await k(['get', 'nodes', '--no-headers'])).stdout;
    return out.split('\n').filter((l) => /\sReady\s/.test(l)).length === 3 ? true : undefined;
  });
});

after(async () => {
  await podWatch?.stop();
  for (const g of nodeGroups) await g.stop();
  await manager?.stop();
  for (const t of transports) t.close();
  await cluster?.close();
});

const sts = (name: string, replicas: number, extra: Record<string, unknown> = {}, claims = false) =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      serviceName: name,
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', ...(claims ? { volumeMounts: [{ name: 'data', mountPath: '/data' }] } : {}) }] },
      },
      ...(claims ? { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] } : {}),
      ...extra,
    },
  });

const podLines = async (selector: string) =>
  (await k(['get', 'pods', '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase}{"\\n"}{end}'])).stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .sort();

describe('StatefulSet', () => {
  it('creates web-0, web-1, web-2 in order, each only after the one before is Running and Ready', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: sts('web', 3) });
    const out = await k(['rollout', 'status', 'statefulset/web', '--timeout=30s']);
    assert.match(out.stdout, /partitioned roll out complete: 3 new pods have been updated/);
    const lines = await podLines('app=web');
    assert.equal(lines.length, 3);
    lines.forEach((l, i) => assert.match(l, new RegExp(`^web-${i} sim-node-\\d Running$`)));
    for (let i = 1; i < 3; i++) {
      const prev = seen.get(`web-${i - 1}`)!;
      const cur = seen.get(`web-${i}`)!;
      assert.ok(prev.ready !== undefined && cur.created >= prev.ready, `web-${i} created after web-${i - 1} became ready`);
    }
    const got = await k(['get', 'sts', 'web', '--no-headers']);
    assert.match(got.stdout, /^web\s+3\/3\s/);
  });

  it('rolls out a new image in reverse ordinal order and undoes it', async () => {
    deletedOrder.length = 0;
    await k(['set', 'image', 'statefulset/web', 'nginx=nginx:1.26']);
    await k(['rollout', 'status', 'statefulset/web', '--timeout=30s']);
    assert.deepEqual(
      deletedOrder.filter((n) => n.startsWith('web-')),
      ['web-2', 'web-1', 'web-0'],
    );
    const images = (await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.containers[0].image}'])).stdout.split(' ');
    assert.deepEqual(images, ['nginx:1.26', 'nginx:1.26', 'nginx:1.26']);
    const history = (await k(['rollout', 'history', 'statefulset/web'])).stdout;
    assert.match(history, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    assert.match((await k(['rollout', 'undo', 'statefulset/web'])).stdout, /statefulset.apps\/web rolled back/);
    await waitFor('web rolled back', async () => {
      const st = JSON.parse((await k(['get', 'sts', 'web', '-o', 'json'])).stdout) as { status: Record<string, unknown>; metadata: { generation: number } };
      return st.status.observedGeneration === st.metadata.generation && st.status.currentRevision === st.status.updateRevision && st.status.readyReplicas === 3 ? true : undefined;
    }, 30_000);
    const back = (await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.containers[0].image}'])).stdout.split(' ');
    assert.deepEqual(back, ['nginx:1.25', 'nginx:1.25', 'nginx:1.25']);
    assert.match((await k(['rollout', 'history', 'statefulset/web'])).stdout, /\n2\s+<none>\n3\s+<none>/);
  });

  it('scales down from the highest ordinal', async () => {
    deletedOrder.length = 0;
    await k(['scale', 'statefulset/web', '--replicas=1']);
    await waitFor('web scaled to 1', async () => ((await podLines('app=web')).length === 1 ? true : undefined), 30_000);
    await waitFor('deletions seen', () => (deletedOrder.length >= 2 ? true : undefined));
    assert.deepEqual(deletedOrder, ['web-2', 'web-1']);
    assert.match((await podLines('app=web'))[0], /^web-0 /);
  });

  it('creates claims from volumeClaimTemplates before the pods that mount them', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: sts('db', 2, { podManagementPolicy: 'Parallel' }, true) });
    await waitFor('db pods', async () => ((await podLines('app=db')).length === 2 ? true : undefined));
    const pvcs = (await k(['get', 'pvc', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ').sort();
    assert.deepEqual(pvcs, ['data-db-0', 'data-db-1']);
    const claims = (await k(['get', 'pods', '-l', 'app=db', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.volumes[0].persistentVolumeClaim.claimName}{"\\n"}{end}'])).stdout.trim().split('\n').sort();
    assert.deepEqual(claims, ['db-0=data-db-0', 'db-1=data-db-1']);
  });
});

describe('DaemonSet', () => {
  const ds = JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'agent', image: 'agent:1' }] } } },
  });
  const agentNodes = async () => (await podLines('app=agent')).map((l) => l.split(' ')[1]).sort();

  it('lands one pod on each node, bound there by the scheduler', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: ds });
    const out = await k(['rollout', 'status', 'ds/agent', '--timeout=30s']);
    assert.match(out.stdout, /daemon set "agent" successfully rolled out/);
    assert.deepEqual(await agentNodes(), ['sim-node-0', 'sim-node-1', 'sim-node-2']);
    for (const l of await podLines('app=agent')) assert.match(l, / Running$/);
  });

  it('still runs its pod on a cordoned node', async () => {
    await k(['cordon', 'sim-node-0']);
    const victim = (await podLines('app=agent')).find((l) => l.includes(' sim-node-0 '))!.split(' ')[0];
    await k(['delete', 'pod', victim, '--wait=true']);
    await waitFor('replacement on the cordoned node', async () => {
      const line = (await podLines('app=agent')).find((l) => l.includes(' sim-node-0 '));
      return line && !line.startsWith(`${victim} `) && line.endsWith(' Running') ? true : undefined;
    }, 30_000);
    await k(['uncordon', 'sim-node-0']);
  });

  it('adds a pod when a node joins, none on a node with a taint it does not tolerate', async () => {
    const transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:simulated-nodes', groups: [] });
    transports.push(transport);
    nodeGroups.push(await startSimulatedNodes(transport, { count: 1, namePrefix: 'extra-node-', firstIndex: 10 }));
    nodeGroups.push(
      await startSimulatedNodes(transport, { count: 1, namePrefix: 'tainted-node-', firstIndex: 20, taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
    );
    await waitFor('pod on extra-node-0', async () => ((await agentNodes()).includes('extra-node-0') ? true : undefined), 30_000);
    await k(['rollout', 'status', 'ds/agent', '--timeout=30s']);
    await sleep(300);
    assert.deepEqual(await agentNodes(), ['extra-node-0', 'sim-node-0', 'sim-node-1', 'sim-node-2']);
    const got = await k(['get', 'ds', 'agent', '--no-headers']);
    assert.match(got.stdout, /^agent\s+4\s+4\s+4\s+4\s+4\s+<none>\s/);
  });

  it('rolls out, shows history and undoes with kubectl rollout', async () => {
    await k(['set', 'image', 'ds/agent', 'agent=agent:2']);
    await k(['rollout', 'status', 'ds/agent', '--timeout=30s']);
    const images = (await k(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.containers[0].image}'])).stdout.split(' ');
    assert.deepEqual(images, ['agent:2', 'agent:2', 'agent:2', 'agent:2']);
    assert.match((await k(['rollout', 'history', 'ds/agent'])).stdout, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    assert.match((await k(['rollout', 'history', 'ds/agent', '--revision=1'])).stdout, /Image:\s+agent:1/);
    assert.match((await k(['rollout', 'undo', 'ds/agent'])).stdout, /daemonset.apps\/agent rolled back/);
    await waitFor('agent back on agent:1', async () => {
      const imgs = (await k(['get', 'pods', '-l', 'app=agent', '-o', 'jsonpath={.items[*].spec.containers[0].image}'])).stdout.split(' ');
      return imgs.length === 4 && imgs.every((i) => i === 'agent:1') ? true : undefined;
    }, 30_000);
    await k(['rollout', 'status', 'ds/agent', '--timeout=30s']);
  });
});
