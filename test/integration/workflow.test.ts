// The course workflow end to end on `timonel up`'s own components: scheduler, controllers, simulated nodes —
// on the API server's thread, and on a component thread of their own (as `up` runs a large cluster).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

for (const componentThread of [false, true])
  describe(componentThread ? 'components on their own thread' : 'components on the API server thread', () => {
    let cluster: TestCluster;

    before(async () => {
      cluster = await startTestCluster({ simulatedNodes: 3, componentThread, audit: componentThread });
    });
    after(async () => {
      await cluster?.close();
    });

    test('deploy, scale, self-heal, update, roll back, run a job', () => workflow((args) => cluster.kubectlOk(args, { timeoutMs: 60_000 })));

    if (componentThread)
      test('a component thread that crashes starts again, and its controllers, scheduler and nodes work again', async () => {
        const k = (args: string[]) => cluster.kubectlOk(args, { timeoutMs: 60_000 });
        const ct = cluster.componentThread!;
        assert.equal(ct.restarts, 0);
        await k(['create', 'deployment', 'before', '--image=nginx', '--replicas=1']);
        await k(['rollout', 'status', 'deploy/before', '--timeout=30s']);
        await ct.crashForTest();
        assert.ok(cluster.logs.some((l) => /^component thread: exited \(code \d\); the controllers and simulated nodes start again in 1 s$/.test(l)), cluster.logs.join('\n'));
        for (let i = 0; i < 100 && ct.restarts === 0; i++) await new Promise((r) => setTimeout(r, 100));
        assert.equal(ct.restarts, 1);
        await deployRunning(k, 'again', 'nginx', 2);
        // a pod from before the crash: its node (started again) finishes its deletion, and it is replaced
        const old = (await k(['get', 'pods', '-l', 'app=before', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
        await k(['delete', 'pod', old, '--wait=true', '--timeout=30s']);
        await k(['rollout', 'status', 'deploy/before', '--timeout=30s']);
        const now = (await k(['get', 'pods', '-l', 'app=before', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.phase}{"\\n"}{end}'])).stdout.trim();
        assert.match(now, /^\S+ Running$/);
        assert.ok(!now.startsWith(`${old} `));
        await k(['delete', 'deployment', 'again', 'before']);
      });

    if (componentThread)
      test("the thread's components write as their own service accounts, and stop with the cluster", async () => {
        const k = (args: string[]) => cluster.kubectlOk(args, { timeoutMs: 60_000 });
        await k(['create', 'deployment', 'who', '--image=nginx', '--replicas=1']);
        await k(['rollout', 'status', 'deploy/who', '--timeout=30s']);
        // the audit log names who wrote what: the binding, the pod's status, the lease
        const pod = (await k(['get', 'pods', '-l', 'app=who', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
        const sa = (name: string) => `system:serviceaccount:kube-system:${name}`;
        const writers = (): Map<string, Set<string>> => {
          const users = new Map<string, Set<string>>();
          for (const line of readFileSync(join(cluster.dataDir, 'audit', 'audit.log'), 'utf8').split('\n')) {
            if (!line) continue;
            const e = JSON.parse(line) as { verb: string; user: { username: string }; objectRef?: { resource?: string; subresource?: string; name?: string } };
            const what = `${e.verb} ${e.objectRef?.resource ?? ''}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef?.name ?? ''}`;
            if (!users.has(what)) users.set(what, new Set());
            users.get(what)!.add(e.user.username);
          }
          return users;
        };
        // the log is written in the background
        let users = writers();
        for (let i = 0; i < 50 && !users.has(`patch pods/status ${pod}`); i++) {
          await new Promise((r) => setTimeout(r, 100));
          users = writers();
        }
        assert.deepEqual([...(users.get(`create pods/binding ${pod}`) ?? [])], [sa('controller-manager')]);
        assert.deepEqual([...(users.get(`patch pods/status ${pod}`) ?? [])], [sa('simulated-nodes')]);
        assert.ok([...users].some(([what, who]) => what.startsWith('create replicasets ') && who.has(sa('controller-manager'))));
        const threads = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
        const before = threads();
        await cluster.close();
        assert.ok(threads() < before, `threads before close ${before}, after ${threads()}`);
      });
  });

type Kubectl = (args: string[]) => ReturnType<TestCluster['kubectlOk']>;

/** Creates a Deployment and checks that its pods run on the simulated nodes. */
async function deployRunning(k: Kubectl, name: string, image: string, replicas: number): Promise<void> {
  await k(['create', 'deployment', name, `--image=${image}`, `--replicas=${replicas}`]);
  await k(['rollout', 'status', `deploy/${name}`, '--timeout=30s']);
  const pods = (await k(['get', 'pods', '-l', `app=${name}`, '-o', 'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{"\\n"}{end}'])).stdout.trim().split('\n');
  assert.equal(pods.length, replicas);
  for (const p of pods) assert.match(p, /^sim-node-\d Running$/);
}

async function workflow(k: Kubectl): Promise<void> {
  // nodes register in the background
  for (let i = 0; i < 100; i++) {
    const out = (await k(['get', 'nodes', '--no-headers'])).stdout;
    if (out.split('\n').filter((l) => /\sReady\s/.test(l)).length === 3) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await deployRunning(k, 'web', 'nginx:1.25', 3);

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
}
