// Scheduler throughput through the real API (not a timed test; a benchmark to move to bench/):
// NODES simulated nodes, PODS pending pods created while no scheduler runs, then the scheduler
// starts and the time until every pod is bound is measured. The baseline, measured in the same run
// and process, is the API's own rate of bare Bindings posted for as many other pods (no scheduling).
//   node --import tsx test/scheduler/throughput.ts   (env: NODES=5000 PODS=10000 RUN_PODS=1 HEARTBEAT=10)
import type { Pod } from 'kubernetes-types/core/v1.js';
import { RestClient, type ResourceClient } from '../../src/client/rest.js';
import { inProcessAcceptor, inProcessTransport } from '../../src/client/transport.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { startSimulatedNodes } from '../../src/node/simulated/index.js';
import { newSchedulerController, type Scheduler } from '../../src/scheduler/index.js';
import { startTestCluster } from '../helpers/cluster.js';

const NODES = Number(process.env.NODES ?? 5000);
const PODS = Number(process.env.PODS ?? 10000);
/** 1: the simulated nodes also take the pods to Running (status writes compete with bindings) */
const RUN_PODS = process.env.RUN_PODS !== '0';
const HEARTBEAT = Number(process.env.HEARTBEAT ?? 10);

const pod = (name: string): Pod => ({
  metadata: { name, labels: { app: 'bench' } },
  spec: { containers: [{ name: 'app', image: 'busybox', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
});

async function createAll(pods: ResourceClient<Pod>, prefix: string, n: number): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (i < n) await pods.create(pod(`${prefix}-${i++}`));
    }),
  );
}

const seconds = (since: number) => (performance.now() - since) / 1000;

const cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
const acceptor = inProcessAcceptor(cluster.api.handle);
const admin = inProcessTransport(acceptor, { username: 'bench', groups: ['system:masters'] });
const nodeT = inProcessTransport(acceptor, { username: 'system:node:simulated', groups: ['system:nodes'] });
const schedT = inProcessTransport(acceptor, { username: 'system:kube-scheduler', groups: [] });
try {
  const pods = new RestClient(admin).resource<Pod>({ group: '', version: 'v1', resource: 'pods', namespaced: true }, 'default');
  let t = performance.now();
  const sim = await startSimulatedNodes(nodeT, {
    count: NODES,
    capacity: { cpu: '32', memory: '256Gi', pods: 110 },
    heartbeatSeconds: HEARTBEAT,
    ...(RUN_PODS ? {} : { stages: [] }),
  });
  console.log(`${NODES} simulated nodes registered in ${seconds(t).toFixed(1)} s`);

  // baseline: bare Bindings, round robin over the nodes
  await createAll(pods, 'base', PODS);
  t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < PODS) {
        const i = next++;
        await pods.createSubresource(`base-${i}`, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: `base-${i}` }, target: { kind: 'Node', name: sim.nodeNames[i % NODES] } });
      }
    }),
  );
  const baseRate = PODS / seconds(t);
  // clear the baseline's pods (the simulated nodes finish their deletion) before the measured run
  await pods.deleteCollection({ labelSelector: 'app=bench' });
  for (let left = PODS; left > 0; ) {
    await new Promise((r) => setTimeout(r, 200));
    left = (await pods.list({ labelSelector: 'app=bench', limit: 1 })).items.length;
    if (left && !RUN_PODS) await pods.deleteCollection({ labelSelector: 'app=bench', gracePeriodSeconds: 0 });
  }

  await createAll(pods, 'sched', PODS);
  let scheduler: Scheduler | undefined;
  const manager = new ControllerManager(schedT, [(ctx) => (scheduler = newSchedulerController()(ctx))]);
  t = performance.now();
  const cpu = process.cpuUsage();
  await manager.start();
  while (scheduler!.counters.scheduled < PODS) {
    if (seconds(t) > 600) throw new Error(`only ${scheduler!.counters.scheduled} pods bound after 600 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const s = seconds(t);
  const used = process.cpuUsage(cpu);
  const rate = PODS / s;
  console.log(`scheduler: ${PODS} pods bound in ${s.toFixed(2)} s = ${rate.toFixed(0)} pods/s (process CPU ${((used.user + used.system) / 1000 / PODS).toFixed(2)} ms/pod)`);
  console.log(`baseline: bare Bindings ${baseRate.toFixed(0)}/s; ratio scheduler/baseline = ${(rate / baseRate).toFixed(2)}`);
  console.log(`memory: rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
  await manager.stop();
  await sim.stop();
} finally {
  admin.close();
  nodeT.close();
  schedT.close();
  await cluster.close();
}
