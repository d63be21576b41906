// kubectl cordon / drain / uncordon against simulated nodes: evictions through pods/eviction, ReplicaSet
// pods rescheduled elsewhere, a PodDisruptionBudget that holds a drain back, and kubectl 1.20's drain.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { BUILTIN_CONTROLLERS } from '../../src/cli/cluster.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { disruptionController } from '../../src/controllers/disruption/controller.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';

let cluster: TestCluster;
let transport: Transport;
let manager: ControllerManager;

before(async () => {
  cluster = await startTestCluster({ simulatedNodes: 3, controllers: ['namespace'] });
  transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:drain-test', groups: ['system:masters'] });
  const factories = BUILTIN_CONTROLLERS.includes(disruptionController) ? BUILTIN_CONTROLLERS : [...BUILTIN_CONTROLLERS, disruptionController];
  manager = new ControllerManager(transport, factories, { log: (l) => cluster.logs.push(l) });
  await manager.start();
});
after(async () => {
  await manager?.stop();
  transport?.close();
  await cluster?.close();
});

const k = (args: string[], version = '1.33') => cluster.kubectlOk(args, { timeoutMs: 60_000, version });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function webPods(): Promise<Pod[]> {
  const list = JSON.parse((await k(['get', 'pods', '-l', 'app=web', '-o', 'json'])).stdout) as { items: Pod[] };
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

/** The node holding the most web pods, and how many. */
async function busiestNode(except: string[] = []): Promise<{ node: string; count: number }> {
  const counts = new Map<string, number>();
  for (const p of await webPods()) if (p.spec?.nodeName && !except.includes(p.spec.nodeName)) counts.set(p.spec.nodeName, (counts.get(p.spec.nodeName) ?? 0) + 1);
  const [node, count] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  return { node, count };
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) {
      const state = (await cluster.kubectl(['get', 'nodes,pods,pdb', '-o', 'wide'])).stdout;
      throw new Error(`timed out waiting for ${what}\n${state}\n${cluster.logs.slice(-30).join('\n')}`);
    }
    await sleep(100);
  }
}

test('cordon, drain with evictions, a budget that holds a drain, uncordon', async () => {
  await until('3 Ready nodes', async () => (await k(['get', 'nodes', '--no-headers'])).stdout.split('\n').filter((l) => /\sReady\s/.test(l)).length === 3);
  await k(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=4']);
  await k(['rollout', 'status', 'deploy/web', '--timeout=30s']);

  // drain: cordons, evicts, and the ReplicaSet's replacements land on the other nodes
  const first = await busiestNode();
  assert.ok(first.count > 0);
  assert.match((await k(['cordon', first.node])).stdout, new RegExp(`node/${first.node} cordoned`));
  assert.equal((await k(['get', 'node', first.node, '-o', 'jsonpath={.spec.unschedulable}'])).stdout, 'true');
  const drained = await k(['drain', first.node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=30s']);
  assert.match(drained.stdout, new RegExp(`node/${first.node} already cordoned`));
  assert.match(drained.stdout, /pod\/web-\S+ evicted/);
  assert.match(drained.stdout, new RegExp(`node/${first.node} drained`));
  assert.match((await k(['get', 'node', first.node, '--no-headers'])).stdout, /SchedulingDisabled/);
  await k(['rollout', 'status', 'deploy/web', '--timeout=30s']);
  await until('4 web pods elsewhere', async () => {
    const pods = await webPods();
    return pods.length === 4 && pods.every((p) => p.spec?.nodeName && p.spec.nodeName !== first.node && p.status?.phase === 'Running');
  });

  // a budget that allows no disruption: drain retries every 5 s until its timeout and reports the refusal
  await k(['create', 'pdb', 'web', '--selector=app=web', '--max-unavailable=0']);
  await until('the budget status', async () => {
    const out = (await k(['get', 'pdb', 'web', '-o', 'jsonpath={.status.expectedPods}/{.status.currentHealthy}/{.status.disruptionsAllowed}/{.status.conditions[0].reason}'])).stdout;
    return out === '4/4/0/InsufficientPods';
  });
  const second = await busiestNode([first.node]);
  const held = await cluster.kubectl(['drain', second.node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=7s'], { timeoutMs: 60_000 });
  assert.notEqual(held.code, 0, held.stdout);
  assert.match(held.stderr, /Cannot evict pod as it would violate the pod's disruption budget\./);
  assert.match(held.stderr, /will retry after 5s/);
  assert.match(held.stderr, /global timeout reached: 7s/);
  const stillThere = (await webPods()).filter((p) => p.spec?.nodeName === second.node);
  assert.equal(stillThere.length, second.count);
  assert.ok(stillThere.every((p) => !p.status?.conditions?.some((c) => c.type === 'DisruptionTarget')));

  // uncordon makes both nodes schedulable again
  for (const node of [first.node, second.node]) {
    assert.match((await k(['uncordon', node])).stdout, new RegExp(`node/${node} uncordoned`));
    assert.equal((await k(['get', 'node', node, '-o', 'jsonpath={.spec.unschedulable}'])).stdout, '');
  }

  // a budget with room for one disruption at a time, for the next drain
  await k(['delete', 'pdb', 'web']);
  await k(['create', 'pdb', 'web', '--selector=app=web', '--min-available=3']);
  await until('one disruption allowed', async () => (await k(['get', 'pdb', 'web', '-o', 'jsonpath={.status.disruptionsAllowed}'])).stdout === '1');
});

test('kubectl 1.20 drains through the eviction API, one disruption at a time', skipUnless(kubectlPath('1.20') !== undefined, 'kubectl 1.20 (scripts/setup.sh)'), async () => {
  await until('4 running web pods', async () => (await webPods()).filter((p) => p.status?.phase === 'Running').length === 4);
  const target = await busiestNode();
  const out = await cluster.kubectl(['drain', target.node, '--ignore-daemonsets', '--timeout=30s', '-v=6'], { version: '1.20', timeoutMs: 60_000 });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /evicted/);
  assert.match(out.stderr, new RegExp(`POST \\S+/api/v1/namespaces/default/pods/web-\\S+/eviction 201 Created`));
  await until('pods moved off the 1.20-drained node', async () => {
    const pods = await webPods();
    return pods.length === 4 && pods.every((p) => p.spec?.nodeName !== target.node);
  });
  assert.equal(out.stdout.split('\n').filter((l) => /^pod\/web-\S+ evicted$/.test(l)).length, target.count, out.stdout);
  // the budget saw the evicted pods go and forgot them
  await until('no disruptedPods left', async () => (await k(['get', 'pdb', 'web', '-o', 'jsonpath={.status.disruptedPods}'])).stdout === '');
  await k(['uncordon', target.node], '1.20');
});
