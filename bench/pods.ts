// Benchmark 14: pods as real containers on this machine (root, crun). Timonel: the build's API server,
// controllers and scheduler with the node agent in one process (bench/lib/pod-node-server.mjs, on its own
// bridge and pod CIDR): pod POSTed → Running and → Ready, one at a time; then 100 pods POSTed → all
// Running, the process's RSS and the overhead per pod (its RSS growth plus the `crun run` monitor of each
// container). The baseline, in the same run: Debian's containerd on its own temporary root and socket,
// `ctr run -d` with crun of the same image (imported from the same archive) into a pod network namespace
// set up the same way (netns, veth, bridge, IP: what the CNI bridge plugin does for the kubelet).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { detectRuntime } from '../src/node/runtime/index.js';
import { PodSandboxes } from '../src/node/sandbox/index.js';
import { Containerd, containerdMissing, killCgroup } from './lib/containerd.js';
import { runBench } from './lib/harness.js';
import { Client } from './lib/http.js';
import { settledRss, waitUntil, watchStream } from './lib/kube.js';
import { buildPodImage, POD_IMAGE, podImageMissing } from './lib/pod-image.js';
import { DIST, REPO, rssBytes, SHORT, sleep, startServerProcess, watchProcess, type ServerProcess } from './lib/proc.js';
import { mib, ms, num, ratio, summarize } from './lib/stats.js';

const SAMPLES = SHORT ? 10 : 50;
const MANY = 100;
const IN_FLIGHT = 8;
const NAMESPACE = 'default';
const podsPath = `/api/v1/namespaces/${NAMESPACE}/pods`;

const tag = (process.pid % 100_000).toString(36);
const octet = process.pid % 250;
const node = { name: `bench-node-${tag}`, podCIDR: `10.187.${octet}.0/24`, bridge: `tmbp${tag}`.slice(0, 15), netnsPrefix: `tmbp-${tag}-`, cgroupParent: `/timonel-bench-pods-${process.pid}` };
const ctrNet = { podCIDR: `10.188.${octet}.0/24`, bridge: `tmbc${tag}`.slice(0, 15), netnsPrefix: `tmbc-${tag}-` };

function whyNot(detectDir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (real containers need root)';
  const d = detectRuntime({ stateDir: detectDir, preferred: 'crun' });
  if (!d.ok) return `no container runtime: ${d.reason}`;
  if (spawnSync('crun', ['--version'], { stdio: 'ignore' }).status !== 0) return 'crun is not installed';
  if (!existsSync(join(DIST, 'cli', 'main.js'))) return `${DIST}/cli/main.js is missing: run npm run build`;
  return podImageMissing();
}

function httpdPod(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench' } },
    spec: {
      terminationGracePeriodSeconds: 1,
      enableServiceLinks: false,
      containers: [
        {
          name: 'httpd',
          image: POD_IMAGE,
          imagePullPolicy: 'IfNotPresent',
          command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

function sleepPod(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'many' } },
    spec: { terminationGracePeriodSeconds: 1, enableServiceLinks: false, containers: [{ name: 'sleep', image: POD_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
  };
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 500 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.once('timeout', () => done(false));
  });
}

/** Runs `fn(i)` for i in 0..count-1, `inFlight` at a time. */
async function pool(count: number, inFlight: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) await fn(next++);
  }));
}

/**
 * The processes the server keeps per container (its shim and the `crun run` under it): its descendants
 * outside the pods' cgroups, which hold the containers themselves.
 */
function containerHelpers(serverPid: number, cgroupParent: string): { rss: number; count: number; crun: number } {
  const children = new Map<number, number[]>();
  const comm = new Map<number, string>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      comm.set(Number(e), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // exited meanwhile
    }
  }
  let rss = 0;
  let count = 0;
  let crun = 0;
  const visit = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      try {
        if (readFileSync(`/proc/${c}/cgroup`, 'utf8').includes(`${cgroupParent}/`)) continue;
        rss += rssBytes(c);
        count++;
        if (comm.get(c) === 'crun') crun++;
      } catch {
        continue; // exited meanwhile
      }
      visit(c);
    }
  };
  visit(serverPid);
  return { rss, count, crun };
}

/** Whatever a failed run left of a node: containers, netns, bridge, mounts under `dir`. */
async function sweep(o: { cgroupParent?: string; netnsPrefix: string; bridge: string; dir?: string }): Promise<void> {
  if (o.cgroupParent) await killCgroup(o.cgroupParent);
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(o.netnsPrefix)) : [];
  for (const n of netns) spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore' });
  if (spawnSync('ip', ['link', 'show', 'dev', o.bridge], { stdio: 'ignore' }).status === 0) spawnSync('ip', ['link', 'delete', o.bridge, 'type', 'bridge'], { stdio: 'ignore' });
  if (o.dir) {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mp = line.split(' ')[4];
      if (mp?.startsWith(o.dir + '/')) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
    }
  }
}

interface Side {
  running: number[];
  ready: number[];
  manyRunningMs: number;
  /** all Ready (containerd has no readiness: not measured there) */
  manyReadyMs?: number;
  rssBefore: number;
  rssWithPods: number;
  /** RSS of the per-container helper processes (crun monitors, containerd shims) */
  helpersRss: number;
  helpers: number;
}

await runBench('pods', 14, 'Pods on a real node: Timonel vs containerd (ctr run)', async (b) => {
  const r = b.report;
  const missing = whyNot(b.dir('detect'));
  if (missing) {
    r.log(`  skipped: ${missing}`);
    r.note(`skipped: ${missing}`);
    return;
  }
  const work = b.dir('pods');
  const archive = await buildPodImage(join(work, 'image'));
  r.log(`one image (static busybox, ${num(readFileSync(archive).length / 1024)} KiB docker-archive) imported into both; crun for both; ${SAMPLES} single pods (after one warm-up), then ${MANY} pods (${IN_FLIGHT} in flight)`);

  // ---- Timonel ----
  const ours = await measureTimonel(b, join(work, 'timonel'), archive);

  // ---- containerd ----
  let theirs: Side | undefined;
  const ctrWhy = containerdMissing();
  if (ctrWhy) {
    r.log(`  containerd baseline not run: ${ctrWhy}`);
    r.note(`no containerd baseline: ${ctrWhy}`);
  } else {
    try {
      theirs = await measureContainerd(b, join(work, 'containerd'), archive);
    } catch (e) {
      r.problem(`the containerd baseline failed: ${(e as Error).message}`);
    }
  }

  const none = 'n/a (no containerd)';
  const o1 = summarize(ours.running);
  const o2 = summarize(ours.ready);
  const t1 = theirs ? summarize(theirs.running) : undefined;
  const t2 = theirs ? summarize(theirs.ready) : undefined;
  r.row({
    metric: `One pod: POST → Running (median, p99 of ${SAMPLES})`,
    value: `${ms(o1.p50)} (p99 ${ms(o1.p99)})`,
    baseline: t1 ? `${ms(t1.p50)} (p99 ${ms(t1.p99)}): netns + veth + ctr run -d → task running` : none,
    ratio: t1 ? ratio(o1.p50 / t1.p50) : undefined,
    goal: 'p50 < 0.3 s (SLO: p99 ≤ 5 s)',
    met: o1.p50 < 300 && o1.p99 <= 5000,
  });
  r.row({
    metric: 'One pod: POST → Ready (tcpSocket readiness probe, period 1 s)',
    value: `${ms(o2.p50)} (p99 ${ms(o2.p99)})`,
    baseline: t2 ? `${ms(t2.p50)} (p99 ${ms(t2.p99)}): ctr run → port accepts (polled every 10 ms)` : none,
    ratio: t2 ? ratio(o2.p50 / t2.p50) : undefined,
  });
  r.row({
    metric: `${MANY} pods POSTed → all Running (all Ready)`,
    value: `${ms(ours.manyRunningMs)} (${ms(ours.manyReadyMs ?? NaN)})`,
    baseline: theirs ? `${ms(theirs.manyRunningMs)}: ${MANY} × (netns + ctr run -d), ${IN_FLIGHT} in flight` : none,
    ratio: theirs ? ratio(ours.manyRunningMs / theirs.manyRunningMs) : undefined,
  });
  const oursTotal = ours.rssWithPods + ours.helpersRss;
  const theirsTotal = theirs ? theirs.rssWithPods + theirs.helpersRss : NaN;
  r.row({
    metric: `RSS with ${MANY} pods: Timonel process (+ ${ours.helpers} per-container helpers: shim, crun)`,
    value: `${mib(ours.rssWithPods)} (+ ${mib(ours.helpersRss)})`,
    baseline: theirs ? `containerd ${mib(theirs.rssWithPods)} (+ ${theirs.helpers} shims ${mib(theirs.helpersRss)}); no API server` : none,
    ratio: theirs ? ratio(oursTotal / theirsTotal) : undefined,
  });
  const perPod = (s: Side) => (s.rssWithPods - s.rssBefore + s.helpersRss) / MANY;
  r.row({
    metric: 'Overhead per pod (RSS growth + per-container helper process)',
    value: mib(perPod(ours)),
    baseline: theirs ? `${mib(perPod(theirs))} (containerd growth + shim)` : none,
    ratio: theirs ? ratio(perPod(ours) / perPod(theirs)) : undefined,
  });
});

async function measureTimonel(b: Parameters<Parameters<typeof runBench>[3]>[0], dataDir: string, archive: string): Promise<Side> {
  const r = b.report;
  const imported = spawnSync(process.execPath, [join(DIST, 'cli', 'main.js'), 'image', 'import', '--data-dir', dataDir, archive], { encoding: 'utf8' });
  if (imported.status !== 0) throw new Error(`timonel image import: ${imported.stderr}`);
  const cfg = { dataDir, nodeName: node.name, podCIDR: node.podCIDR, bridge: node.bridge, netnsPrefix: node.netnsPrefix, cgroupParent: node.cgroupParent };
  let server: ServerProcess | undefined;
  let client: Client | undefined;
  try {
    server = await startServerProcess([process.execPath, join(REPO, 'bench', 'lib', 'pod-node-server.mjs'), DIST, JSON.stringify(cfg)], { timeoutMs: 60_000 });
    const c = (client = new Client(server.url, IN_FLIGHT + 4));
    await waitUntil('the node Ready', async () => {
      const res = await c.request('GET', `/api/v1/nodes/${node.name}`);
      const n = res.status === 200 ? (JSON.parse(res.body) as import('kubernetes-types/core/v1.js').Node) : undefined;
      return n?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;
    }, 60_000);
    await waitUntil('the default ServiceAccount', async () => (await c.request('GET', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default`)).status === 200, 60_000);
    r.log(`  Timonel: server ready in ${ms(server.readyMs)}, node ${node.name} Ready (crun, bridge ${node.bridge}, ${node.podCIDR})`);

    const runningAt = new Map<string, number>();
    const readyAt = new Map<string, number>();
    const watchErrors: string[] = [];
    const rv = (JSON.parse((await c.must('GET', `${podsPath}?limit=1`)).body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const watch = watchStream<Pod>(
      c.base,
      `${podsPath}?watch=1&resourceVersion=${rv}`,
      (e) => {
        const name = e.object.metadata?.name ?? '';
        const now = performance.now();
        if (e.object.status?.phase === 'Running' && !runningAt.has(name)) runningAt.set(name, now);
        if (e.object.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') && !readyAt.has(name)) readyAt.set(name, now);
      },
      (e) => watchErrors.push(e.message),
    );
    await watch.ready;
    const gone = (name: string) => waitUntil(`${name} deleted`, async () => (await c.request('GET', `${podsPath}/${name}`).catch(() => undefined))?.status === 404, 120_000, 50);

    const running: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i <= SAMPLES; i++) {
      const name = `one-${i}`;
      const t0 = performance.now();
      await c.must('POST', podsPath, httpdPod(name), [201]);
      await waitUntil(`${name} Ready`, async () => {
        if (server!.exited() !== undefined) throw new Error('the server exited');
        return readyAt.has(name);
      }, 30_000, 2);
      if (i > 0) {
        running.push(runningAt.get(name)! - t0);
        ready.push(readyAt.get(name)! - t0);
      } else r.log(`  Timonel: warm-up pod Running after ${ms(runningAt.get(name)! - t0)}, Ready after ${ms(readyAt.get(name)! - t0)}`);
      await c.must('DELETE', `${podsPath}/${name}?gracePeriodSeconds=0`, undefined, [200, 202]);
      await gone(name);
    }
    r.log(`  Timonel: ${SAMPLES} pods, POST → Running ${running.map((x) => ms(x)).join(', ')}`);
    r.log(`  Timonel: POST → Ready ${ready.map((x) => ms(x)).join(', ')}`);

    await sleep(1000);
    const rssBefore = await settledRss(server.pid, 3);
    const sampler = watchProcess(server.pid);
    const t0 = performance.now();
    const names = Array.from({ length: MANY }, (_, i) => `many-${String(i).padStart(3, '0')}`);
    await pool(MANY, IN_FLIGHT, async (i) => {
      // a starved server answers late, but answers: a busy machine must not end the run
      const res = await c.request('POST', podsPath, sleepPod(names[i]!), 'application/json', 120_000);
      if (res.status !== 201) throw new Error(`POST ${names[i]}: ${res.status} ${res.body.slice(0, 200)}`);
    });
    const postedMs = performance.now() - t0;
    await waitUntil(`${MANY} pods Running`, async () => {
      if (server!.exited() !== undefined) throw new Error('the server exited');
      return names.every((n) => runningAt.has(n));
    }, 300_000, 20);
    const manyRunningMs = Math.max(...names.map((n) => runningAt.get(n)!)) - t0;
    await waitUntil(`${MANY} pods Ready`, async () => {
      if (server!.exited() !== undefined) throw new Error('the server exited');
      return names.every((n) => readyAt.has(n));
    }, 300_000, 20);
    const manyReadyMs = Math.max(...names.map((n) => readyAt.get(n)!)) - t0;
    const usage = sampler.stop();
    b.contention(usage, `the ${MANY} pods`);
    await sleep(2000);
    const rssWithPods = await settledRss(server.pid, 3);
    const monitors = containerHelpers(server.pid, node.cgroupParent);
    r.log(`  Timonel: ${MANY} pods POSTed in ${ms(postedMs)}, all Running after ${ms(manyRunningMs)}, all Ready after ${ms(manyReadyMs)}; server CPU ${num(usage.cpuSeconds, 1)} s, peak RSS ${mib(usage.peakRss)}`);
    r.log(`  Timonel: RSS ${mib(rssBefore)} before, ${mib(rssWithPods)} with ${MANY} pods; ${monitors.count} helper processes (${monitors.crun} crun), ${mib(monitors.rss)} together`);
    if (monitors.crun !== MANY) r.note(`found ${monitors.crun} \`crun run\` processes for ${MANY} containers`);

    const td = performance.now();
    await pool(MANY, IN_FLIGHT, async (i) => void (await c.request('DELETE', `${podsPath}/${names[i]}?gracePeriodSeconds=0`, undefined, 'application/json', 120_000)));
    await pool(MANY, 4, async (i) => void (await gone(names[i]!)));
    r.log(`  Timonel: ${MANY} pods deleted → gone in ${ms(performance.now() - td)}`);
    watch.close();
    for (const e of watchErrors) r.problem(`watch: ${e}`);
    b.alive(server, 'the pods benchmark');
    return { running, ready, manyRunningMs, manyReadyMs, rssBefore, rssWithPods, helpersRss: monitors.rss, helpers: monitors.count };
  } finally {
    client?.close();
    await server?.stop();
    await sweep({ cgroupParent: node.cgroupParent, netnsPrefix: node.netnsPrefix, bridge: node.bridge, dir: dataDir });
  }
}

async function measureContainerd(b: Parameters<Parameters<typeof runBench>[3]>[0], dir: string, archive: string): Promise<Side> {
  const r = b.report;
  execFileSync('mkdir', ['-p', dir]);
  const sandboxes = new PodSandboxes({ stateDir: join(dir, 'network'), podCIDR: ctrNet.podCIDR, bridge: ctrNet.bridge, netnsPrefix: ctrNet.netnsPrefix, hostSysctls: false });
  let ctrd: Containerd | undefined;
  const used: string[] = [];
  const start = async (id: string, args: string[]) => {
    used.push(id);
    const sb = await sandboxes.createSandbox(id, { name: id, namespace: NAMESPACE });
    await ctrd!.run(id, POD_IMAGE, args, sb.netnsPath);
    return sb.ip;
  };
  const stop = async (id: string) => {
    await ctrd!.remove(id);
    await sandboxes.destroySandbox(id);
  };
  try {
    const t = performance.now();
    ctrd = await Containerd.start(dir);
    await ctrd.importImage(archive);
    const version = (await ctrd.ctr(['version'])).stdout.match(/Version:\s+(\S+)/)?.[1] ?? '?';
    r.log(`  containerd ${version}: started and image imported in ${ms(performance.now() - t)} (root ${dir})`);

    const running: number[] = [];
    const ready: number[] = [];
    for (let i = 0; i <= SAMPLES; i++) {
      const id = `one-${i}`;
      const t0 = performance.now();
      const ip = await start(id, ['httpd', '-f', '-p', '8080', '-h', '/www']);
      const runningMs = performance.now() - t0;
      await waitUntil(`${id} accepting`, () => tcpOpen(ip, 8080), 30_000, 10);
      const readyMs = performance.now() - t0;
      if (i > 0) {
        running.push(runningMs);
        ready.push(readyMs);
      } else r.log(`  containerd: warm-up container running after ${ms(runningMs)}, accepting after ${ms(readyMs)}`);
      await stop(id);
    }
    r.log(`  containerd: ${SAMPLES} containers, → running ${running.map((x) => ms(x)).join(', ')}`);

    await sleep(1000);
    const before = ctrd.rss();
    const sampler = watchProcess(ctrd.pid);
    const ids = Array.from({ length: MANY }, (_, i) => `many-${String(i).padStart(3, '0')}`);
    const t0 = performance.now();
    await pool(MANY, IN_FLIGHT, async (i) => void (await start(ids[i]!, ['sleep', '3600'])));
    const manyRunningMs = performance.now() - t0;
    const usage = sampler.stop();
    b.contention(usage, `the ${MANY} containerd containers`);
    await sleep(2000);
    const after = ctrd.rss();
    const daemonRss = await settledRss(ctrd.pid, 3);
    r.log(`  containerd: ${MANY} containers running after ${ms(manyRunningMs)}; containerd CPU ${num(usage.cpuSeconds, 1)} s`);
    r.log(`  containerd: RSS ${mib(before.daemon)} before, ${mib(daemonRss)} with ${MANY} containers; ${after.shimCount} shims, ${mib(after.shims)} together`);
    const td = performance.now();
    await pool(MANY, IN_FLIGHT, async (i) => stop(ids[i]!));
    r.log(`  containerd: ${MANY} containers removed in ${ms(performance.now() - td)}`);
    return { running, ready, manyRunningMs, rssBefore: before.daemon, rssWithPods: daemonRss, helpersRss: after.shims, helpers: after.shimCount };
  } finally {
    await ctrd?.stop();
    for (const id of used) await sandboxes.destroySandbox(id).catch(() => {});
    await sandboxes.deleteBridge().catch(() => {});
    await sweep({ netnsPrefix: ctrNet.netnsPrefix, bridge: ctrNet.bridge, dir });
  }
}
