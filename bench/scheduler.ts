// Benchmark 8: scheduler throughput at upstream's scheduler_perf size (SchedulingBasic, 5000Nodes_10000Pods)
// through the real API: `timonel up --simulated-nodes 5000`, 10,000 pending pods created by a client
// (32 in flight), time from the first create to the last pod bound (spec.nodeName, seen on a watch).
// RSS per simulated node: RSS with 5,000 registered nodes minus RSS of a server without nodes, / 5,000.
// The baseline, in the same run: the same 10,000 pods created on the server without nodes with a
// schedulerName no scheduler serves, i.e. the API's create rate with nothing scheduling.
// Both servers may use every core: with 5,000 nodes `timonel up` runs its controllers, scheduler and
// simulated nodes on a thread of their own, and that thread shares the second core with this load client.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { runBench, type Bench } from './lib/harness.js';
import { Client } from './lib/http.js';
import { countOf, createMany, settledRss, waitForCount, watchStream } from './lib/kube.js';
import { cpuSeconds, SHORT, sleep, watchProcess, type ServerProcess } from './lib/proc.js';
import { mib, ms, num, ratio } from './lib/stats.js';

// BENCH_SCHED_NODES / BENCH_SCHED_PODS: a smaller run to compare two builds quickly
const NODES = Number(process.env.BENCH_SCHED_NODES) || 5000;
const PODS = Number(process.env.BENCH_SCHED_PODS) || 10_000;
const CONCURRENCY = 32;
const NAMESPACE = 'bench-sched';
const IDLE_S = SHORT ? 5 : 15;
/** upstream's scheduler_perf CI floor for SchedulingBasic 5000Nodes_10000Pods (printed, not rerun) */
const UPSTREAM_FLOOR = 680;
/** k0s's published controller sizing works out to about this much RSS per idle node (printed, not rerun) */
const K0S_PER_NODE = 5e6;

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
const podsPath = `/api/v1/namespaces/${NAMESPACE}/pods`;

/** upstream's scheduler_perf pod template: one pause container, 100m CPU and 500Mi requested */
function pod(i: number, schedulerName?: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `sched-${String(i).padStart(5, '0')}`, labels: { app: 'sched-bench' } },
    spec: {
      ...(schedulerName ? { schedulerName } : {}),
      containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10', ports: [{ containerPort: 80 }], resources: { requests: { cpu: '100m', memory: '500Mi' }, limits: { cpu: '100m', memory: '500Mi' } } }],
    },
  };
}

const mb = (bytes: number) => `${num(bytes / 1e6, 1)} MB`;
const kb = (bytes: number) => `${num(bytes / 1e3)} kB`;

interface Bound {
  /** pods seen with spec.nodeName, by the time each was first seen, in ms since `t0` */
  boundAt: Map<string, number>;
  runningAt: Map<string, number>;
  close(): void;
  errors: string[];
}

/** Watches the namespace's bound pods (fieldSelector spec.nodeName!=) from `rv` on. */
async function watchBound(client: Client, rv: string, t0: () => number): Promise<Bound> {
  const out: Bound = { boundAt: new Map(), runningAt: new Map(), close: () => {}, errors: [] };
  const w = watchStream<Pod>(
    client.base,
    `${podsPath}?watch=1&fieldSelector=${encodeURIComponent('spec.nodeName!=')}&resourceVersion=${rv}&allowWatchBookmarks=false`,
    (e) => {
      const name = e.object.metadata?.name;
      if (!name || (e.type !== 'ADDED' && e.type !== 'MODIFIED')) return;
      const now = performance.now() - t0();
      if (!out.boundAt.has(name)) out.boundAt.set(name, now);
      if (e.object.status?.phase === 'Running' && !out.runningAt.has(name)) out.runningAt.set(name, now);
    },
    (e) => out.errors.push(e.message),
  );
  out.close = () => w.close();
  await w.ready;
  return out;
}

async function waitFor(what: string, done: () => boolean, server: ServerProcess, timeoutMs: number): Promise<void> {
  const t0 = performance.now();
  while (!done()) {
    if (server.exited() !== undefined) throw new Error(`the server exited while waiting for ${what}`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function idleCpu(pid: number, seconds: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return (cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
}

await runBench('scheduler', 8, `Scheduler: ${num(NODES)} simulated nodes, ${num(PODS)} pods`, async (b: Bench) => {
  const r = b.report;
  r.log(`timonel up --simulated-nodes ${NODES} (SQLite); ${num(PODS)} pods (one container, 100m CPU / 500Mi requested) POSTed ${CONCURRENCY} in flight`);
  r.log(`throughput: first create sent → last pod seen bound (spec.nodeName) on a watch; baseline: the same pods created with nothing scheduling them`);
  r.log(`the servers run on every core (the component thread of a large cluster takes the second, shared with the load client)`);

  // ---- baseline: a server without nodes; its RSS, then the create rate of pods no scheduler serves ----
  const bare = await b.timonel({ tag: 'sched-base', pin: 'all' });
  await sleep(2000);
  const rssNoNodes = await settledRss(bare.pid);
  let client = new Client(bare.url, CONCURRENCY);
  await client.ensureNamespace(NAMESPACE);
  let sampler = watchProcess(bare.pid);
  const baseCreate = await createMany(client, podsPath, PODS, CONCURRENCY, (i) => pod(i, 'bench-no-scheduler'), 120_000);
  const baseUsage = sampler.stop();
  b.contention(baseUsage, 'the baseline creates');
  if (baseCreate.failed) r.problem(`baseline creates: ${baseCreate.failed} failed (first: ${baseCreate.firstError})`);
  const createRate = (baseCreate.created / baseCreate.elapsedMs) * 1000;
  r.log(`  no nodes: RSS ${mb(rssNoNodes)}; ${num(baseCreate.created)} pods created in ${ms(baseCreate.elapsedMs)} = ${num(createRate)} pods/s`);
  client.close();
  b.alive(bare, 'the baseline');
  await bare.stop();

  // ---- 5,000 simulated nodes ----
  const server = await b.timonel({ tag: 'sched', args: ['--simulated-nodes', String(NODES)], pin: 'all' });
  client = new Client(server.url, CONCURRENCY);
  const registerMs = await waitForCount(client, LEASES, NODES, 300_000, 500);
  const nodeCount = await countOf(client, '/api/v1/nodes');
  if (nodeCount !== NODES) r.problem(`${nodeCount} nodes registered, not ${NODES}`);
  r.log(`  ${num(nodeCount)} nodes and their Leases registered ${ms(registerMs)} after the ready line`);
  await sleep(3000);
  const rssNodes = await settledRss(server.pid);
  const perNode = (rssNodes - rssNoNodes) / NODES;
  const idle = await idleCpu(server.pid, IDLE_S);
  r.log(`  RSS with ${num(NODES)} nodes ${mb(rssNodes)} (${kb(perNode)} per node); CPU with ${num(NODES)} idle nodes (lease renewals) ${num(idle * 100, 1)}% of a core over ${IDLE_S} s`);

  // ---- 10,000 pods ----
  await client.ensureNamespace(NAMESPACE);
  const list = JSON.parse((await client.must('GET', `${podsPath}?limit=1`)).body) as { metadata: { resourceVersion: string } };
  let t0 = 0;
  const bound = await watchBound(client, list.metadata.resourceVersion, () => t0);
  sampler = watchProcess(server.pid);
  const whole = watchProcess(server.pid);
  t0 = performance.now();
  const clientCpu0 = process.cpuUsage();
  const created = await createMany(client, podsPath, PODS, CONCURRENCY, (i) => pod(i), 180_000);
  const createdMs = performance.now() - t0;
  if (created.failed) r.problem(`creates: ${created.failed} failed (first: ${created.firstError})`);
  try {
    await waitFor(`all ${num(created.created)} pods bound`, () => bound.boundAt.size >= created.created, server, 300_000);
  } finally {
    for (const e of bound.errors) r.problem(`watch: ${e}`);
  }
  const boundMs = Math.max(...bound.boundAt.values());
  const usage = sampler.stop();
  const clientCpu = process.cpuUsage(clientCpu0);
  const clientMs = performance.now() - t0;
  b.contention(usage, 'the scheduling');
  const runningDone = await waitFor(`all pods Running`, () => bound.runningAt.size >= created.created, server, 120_000).then(
    () => Math.max(...bound.runningAt.values()),
    (e: Error) => {
      r.problem(e.message);
      return NaN;
    },
  );
  const wholeUsage = whole.stop();
  const wholeMs = performance.now() - t0;
  bound.close();
  const events = await countOf(client, `/api/v1/namespaces/${NAMESPACE}/events`);
  r.log(`  ${num(events)} events recorded in the namespace (Scheduled ones beyond the recorder's queue of 1,000 are dropped, as upstream's broadcaster does)`);
  const times = [...bound.boundAt.values()].sort((x, y) => x - y);
  const firstBound = times[0];
  const rate = (created.created / boundMs) * 1000;
  const bindRate = ((times.length - 1) / (boundMs - firstBound)) * 1000;
  const scheduledCreateRate = (created.created / createdMs) * 1000;
  r.log(
    `  ${num(created.created)} pods created in ${ms(createdMs)} (${num(scheduledCreateRate)}/s while scheduling); first bound at ${ms(firstBound)}, last at ${ms(boundMs)}, all Running at ${ms(runningDone)}`,
  );
  r.log(
    `  server CPU ${num((usage.cpuSeconds / (boundMs / 1000)) * 100)}% of a core, peak RSS ${mib(usage.peakRss)}; this load client (creates, watch) ${num(((clientCpu.user + clientCpu.system) / 1e3 / clientMs) * 100)}% of a core`,
  );
  b.alive(server, 'the scheduling');
  client.close();

  r.row({
    metric: `Scheduling throughput, ${num(NODES)} nodes / ${num(PODS)} pods (first create → last bound)`,
    value: `${num(rate)} pods/s`,
    baseline: `${num(createRate)} creates/s (no scheduler); upstream CI floor ${UPSTREAM_FLOOR}`,
    ratio: ratio(rate / createRate),
    goal: '≥ 1,000 pods/s',
    met: rate >= 1000,
  });
  r.row({ metric: 'Binding rate (first bound → last bound)', value: `${num(bindRate)} pods/s`, baseline: `${num(createRate)} creates/s (no scheduler)`, ratio: ratio(bindRate / createRate) });
  r.row({
    metric: `RSS per simulated node (${num(NODES)} registered, idle)`,
    value: kb(perNode),
    baseline: `${mb(rssNoNodes)} without nodes; k0s ≈ ${mb(K0S_PER_NODE)} per node`,
    ratio: ratio(perNode / K0S_PER_NODE),
    goal: '< 1 MB',
    met: perNode < 1e6,
  });
  // the lease renewals of idle nodes go on meanwhile: their share is taken out
  const podCpu = Math.max(0, wholeUsage.cpuSeconds - idle * (wholeMs / 1000));
  r.row({
    metric: 'Server CPU per pod, first create → all Running (idle load taken out): steadier than rates on a busy machine',
    value: ms((podCpu * 1000) / created.created),
    baseline: `${ms((baseUsage.cpuSeconds * 1000) / baseCreate.created)} per create (no scheduler)`,
    ratio: ratio(podCpu / created.created / (baseUsage.cpuSeconds / baseCreate.created)),
  });
  r.row({ metric: `CPU with ${num(NODES)} idle simulated nodes (lease renewals every 10 s)`, value: `${num(idle * 100, 1)} % of a core` });
});
