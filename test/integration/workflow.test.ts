// The course workflow end to end on `timonel up`'s own components: scheduler, controllers, simulated nodes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;

before(async () => {
  cluster = await startTestCluster({ simulatedNodes: 3 });
});
after(async () => {
  await cluster?.close();
});

const k = (args: string[]) => cluster.kubectlOk(args, { timeoutMs: 60_000 });

test('deploy, scale, self-heal, update, roll back, run a job', async () => {
  // nodes register in the background
  for (let i = 0; i < 100; i++) {
    const out = (await k(['get', 'nodes', '--no-headers'])).stdout;
    if (out.split('\n').filter((l) => /\sReady\s/.test(l)).length === 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await k(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3']);
  await k(['rollout', 'status', 'deploy/web', '--timeout=30s']);
  const pods = (await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{"\\n"}{end}'])).stdout.trim().split('\n');
  assert.equal(pods.length, 3);
  for (const p of pods) assert.match(p, /^sim-node-\d Running$/);

  // self-healing: a deleted pod is replaced
  const victim = (await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
  await k(['delete', 'pod', victim, '--wait=true']);
  await k(['rollout', 'status', 'deploy/web', '--timeout=30s']);
  const names = (await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ');
  assert.equal(names.length, 3);
  assert.ok(!names.includes(victim));

  await k(['scale', 'deploy/web', '--replicas=5']);
  await k(['rollout', 'status', 'deploy/web', '--timeout=30s']);
  assert.equal((await k(['get', 'deploy', 'web', '-o', 'jsonpath={.status.availableReplicas}'])).stdout, '5');

  // rolling update then rollback to the first ReplicaSet (reused, not recreated)
  const firstRS = (await k(['get', 'rs', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
  await k(['set', 'image', 'deploy/web', 'nginx=nginx:1.27']);
  await k(['rollout', 'status', 'deploy/web', '--timeout=30s']);
  assert.equal((await k(['get', 'rs', '-l', 'app=web', '--no-headers'])).stdout.trim().split('\n').length, 2);
  await k(['rollout', 'undo', 'deploy/web']);
  await k(['rollout', 'status', 'deploy/web', '--timeout=30s']);
  const rs = (await k(['get', 'rs', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.replicas}{"\\n"}{end}'])).stdout.trim().split('\n');
  assert.equal(rs.length, 2, rs.join(','));
  assert.ok(rs.includes(`${firstRS}=5`), rs.join(','));
  assert.equal((await k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).stdout, 'nginx:1.25');

  // a Job runs to completion on a simulated node
  await k(['create', 'job', 'hello', '--image=busybox', '--', 'echo', 'hi']);
  await k(['wait', '--for=condition=complete', 'job/hello', '--timeout=30s']);

  // describe tells the story through Events
  const described = (await k(['describe', 'deploy', 'web'])).stdout;
  assert.match(described, /ScalingReplicaSet/);
  const podEvents = (await k(['get', 'events', '--field-selector', 'reason=Scheduled', '-o', 'name'])).stdout.trim().split('\n');
  assert.ok(podEvents.length >= 3, podEvents.join(','));

  // cascading delete removes ReplicaSets and pods
  await k(['delete', 'deploy', 'web', '--wait=true']);
  for (let i = 0; i < 100; i++) {
    const left = (await k(['get', 'rs,pods', '-l', 'app=web', '-o', 'name'])).stdout.trim();
    if (!left) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await k(['get', 'rs,pods', '-l', 'app=web', '-o', 'name'])).stdout.trim(), '');
});
