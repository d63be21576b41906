// `timonel up`'s flags for simulated nodes: capacity, labels, taints, the time a pod takes to start and a Job's
// pod to finish — parsed and refused with the flag's name, and seen on the nodes and pods of a running `up`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { simulatedNodeFlags } from '../../src/cli/simulated-flags.js';
import { parseDuration } from '../../src/cli/token.js';
import { spawnServer, type SpawnedServer } from '../helpers/cluster.js';

describe('simulated node flags: parsing', () => {
  it('reads capacity, labels, taints and durations', () => {
    assert.deepEqual(
      simulatedNodeFlags({
        'simulated-node-capacity': 'cpu=8,memory=32Gi,nvidia.com/gpu=1',
        'simulated-node-labels': 'zone=a,node.kubernetes.io/instance-type=big',
        'simulated-node-taints': 'dedicated=ml:NoSchedule,spot:PreferNoSchedule',
        'simulated-startup-delay': '1.5s',
        'simulated-job-duration': '250ms',
      }),
      {
        capacity: { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': '1' },
        labels: { zone: 'a', 'node.kubernetes.io/instance-type': 'big' },
        taints: [
          { key: 'dedicated', value: 'ml', effect: 'NoSchedule' },
          { key: 'spot', effect: 'PreferNoSchedule' },
        ],
        startupDelayMs: 1500,
        jobDurationMs: 250,
      },
    );
    assert.deepEqual(simulatedNodeFlags({}), {});
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('500ms'), 500);
  });

  it('refuses bad values, naming the flag', () => {
    for (const [v, why] of [
      [{ 'simulated-node-capacity': 'cpu' }, /--simulated-node-capacity: "cpu" is not name=value/],
      [{ 'simulated-node-capacity': 'cpu=lots' }, /--simulated-node-capacity: cpu: not a quantity/],
      [{ 'simulated-node-capacity': 'cpu=-1' }, /--simulated-node-capacity: cpu: not a quantity/],
      [{ 'simulated-node-labels': 'bad key=x' }, /--simulated-node-labels: "bad key"/],
      [{ 'simulated-node-labels': 'k=not ok' }, /--simulated-node-labels: "not ok"/],
      [{ 'simulated-node-taints': 'k=v' }, /is not key\[=value\]:Effect/],
      [{ 'simulated-node-taints': 'k=v:Sometimes' }, /effect "Sometimes": one of NoSchedule, PreferNoSchedule, NoExecute/],
      [{ 'simulated-node-taints': 'k:NoSchedule,k=v:NoSchedule' }, /k:NoSchedule given twice/],
      [{ 'simulated-startup-delay': 'soon' }, /--simulated-startup-delay: not a duration/],
      [{ 'simulated-job-duration': '5' }, /--simulated-job-duration: not a duration/],
    ] as const)
      assert.throws(() => simulatedNodeFlags(v), why, JSON.stringify(v));
  });
});

for (const thread of ['--no-component-thread', '--component-thread'])
  describe(`simulated node flags: timonel up ${thread}`, () => {
    let server: SpawnedServer;
    before(async () => {
      server = await spawnServer([
        thread,
        '--no-ingress',
        '--simulated-nodes',
        '2',
        '--simulated-node-capacity',
        'cpu=8,memory=32Gi,pods=20',
        '--simulated-node-labels',
        'zone=lab,tier=ml',
        '--simulated-node-taints',
        'dedicated=ml:NoSchedule',
        '--simulated-startup-delay',
        '3s',
        '--simulated-job-duration',
        '4s',
      ]);
    });
    after(async () => {
      await server?.stop();
    });
    const k = (args: string[]) => server.kubectlOk(args, { timeoutMs: 60_000 });
    const json = async <T>(args: string[]) => JSON.parse((await k([...args, '-o', 'json'])).stdout) as T;
    const seconds = (t: string | undefined) => Date.parse(t ?? '') / 1000;

    it('registers the nodes with the capacity, labels and taints asked for', async () => {
      let nodes: Node[] = [];
      for (let i = 0; i < 100 && nodes.length < 2; i++) {
        nodes = (await json<{ items: Node[] }>(['get', 'nodes'])).items;
        if (nodes.length < 2) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(nodes.length, 2);
      for (const n of nodes) {
        assert.deepEqual([n.status?.capacity?.cpu, n.status?.capacity?.memory, n.status?.capacity?.pods], ['8', '32Gi', '20']);
        assert.equal(n.metadata?.labels?.zone, 'lab');
        assert.equal(n.metadata?.labels?.tier, 'ml');
        assert.deepEqual(n.spec?.taints, [{ key: 'dedicated', value: 'ml', effect: 'NoSchedule' }]);
      }
    });

    it('schedules only pods that tolerate the taint; they start after the delay, Job pods run for the duration', async () => {
      const tolerate = '{"spec":{"tolerations":[{"key":"dedicated","operator":"Equal","value":"ml","effect":"NoSchedule"}]}}';
      await k(['run', 'plain', '--image=nginx', '--restart=Never']);
      await k(['run', 'tolerant', '--image=nginx', '--restart=Always', `--overrides=${tolerate}`]);
      await k(['wait', '--for=condition=Ready', 'pod/tolerant', '--timeout=30s']);
      const pod = await json<Pod>(['get', 'pod', 'tolerant']);
      const cond = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.lastTransitionTime;
      // (condition times are whole seconds: 3 s of delay leaves at least 2 between them, no delay at most 1)
      assert.ok(seconds(cond(pod, 'Ready')) - seconds(cond(pod, 'PodScheduled')) >= 2, JSON.stringify(pod.status?.conditions));
      const plain = await json<Pod>(['get', 'pod', 'plain']);
      assert.equal(plain.spec?.nodeName, undefined, 'the pod without the toleration is not scheduled');
      assert.match(plain.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message ?? '', /untolerated taint.*dedicated: ml/);

      await server.kubectlOk(['apply', '-f', '-'], {
        stdin: `
  apiVersion: batch/v1
  kind: Job
  metadata: { name: batch }
  spec:
    template:
      spec:
        restartPolicy: Never
        tolerations: [{ key: dedicated, operator: Exists }]
        containers: [{ name: work, image: busybox }]
  `,
      });
      await k(['wait', '--for=condition=Complete', 'job/batch', '--timeout=60s']);
      const jobPod = (await json<{ items: Pod[] }>(['get', 'pods', '-l', 'job-name=batch'])).items[0];
      const ran = jobPod?.status?.containerStatuses?.[0]?.state?.terminated;
      assert.ok(ran, JSON.stringify(jobPod?.status));
      // 4 s of running, in whole seconds: at least 3 (the default, 1 s, gives at most 2)
      assert.ok(seconds(ran.finishedAt) - seconds(ran.startedAt) >= 3, JSON.stringify(ran));
      await k(['delete', 'pod', 'plain']);
    });
  });
