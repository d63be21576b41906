// Benchmark: the service proxy (src/proxy, nftables). (a) From creating a Service and its EndpointSlice
// (and from adding endpoints to a Service that had none) to a TCP connect to the ClusterIP from the host
// reaching a backend in a network namespace; (b) building and loading the ruleset of 1,000 Services ×
// 10 endpoints, and one endpoint change on top of it: as the proxy applies it (a partial transaction of
// only what changed) against the baseline of reloading the whole table. Needs root, nft and ip; says SKIP otherwise.
// Touches only its own table, network namespace and veth pair, removed even on failure.
// BENCH_PROXY_SERVICES=N changes the 1,000 of (b) (a quick run: 10).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { startCluster } from '../src/cli/cluster.js';
import { RestClient } from '../src/client/rest.js';
import { RESOURCES } from '../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport } from '../src/client/transport.js';
import {
  buildRuleset,
  buildRulesetModel,
  deleteTable,
  nftApply,
  NftSession,
  nftUsable,
  partialTransaction,
  startServiceProxy,
  transaction,
  type ServiceProxy,
  type ServiceRulesCache,
} from '../src/proxy/index.js';
import { runBench } from './lib/harness.js';
import { SHORT, sleep } from './lib/proc.js';
import { median, ms, num, ratio } from './lib/stats.js';

const SAMPLES = SHORT ? 5 : 10;
const PARTIAL_SAMPLES = SHORT ? 10 : 30;
const BIG_SERVICES = Number(process.env.BENCH_PROXY_SERVICES ?? 1000);
const BIG_ENDPOINTS = 10;
const GOAL_MS = 100;
const tag = (process.pid % 100_000).toString(36);
const TABLE = `tmbench${tag}`;
const BIG_TABLE = `tmbenchbig${tag}`;
const NETNS = `tmbench-${tag}`;
const VETH = `tmbh${tag}`.slice(0, 15);
const VETH_PEER = `tmbn${tag}`.slice(0, 15);
const NET = `10.198.${process.pid % 250}`;
const HOST_ADDR = `${NET}.1`;
const BACKEND_ADDR = `${NET}.2`;
const BACKEND_PORT = 8080;

const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || r.error?.message}`);
};

/** Whether a TCP connect reaches `host:port` within `timeoutMs`. */
function connects(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** ms from `t0` until a connect to host:port succeeds: a new attempt every 2 ms (each a new connection, so a new conntrack entry). */
async function firstConnect(host: string, port: number, t0: number, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = false;
    const attempt = () => {
      if (done) return;
      if (performance.now() - t0 > timeoutMs) {
        done = true;
        clearInterval(timer);
        return reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`));
      }
      void connects(host, port, 200).then((ok) => {
        if (!ok || done) return;
        done = true;
        clearInterval(timer);
        resolve(performance.now() - t0);
      });
    };
    const timer = setInterval(attempt, 2);
    attempt();
  });
}

function bigObjects(services: number, endpoints: number): { svcs: Service[]; slices: EndpointSlice[] } {
  const svcs: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    svcs.push({
      metadata: { name, namespace: 'bench', uid: `uid-${i}` },
      spec: { type: 'ClusterIP', clusterIP: `10.200.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    });
    slices.push({
      metadata: { name: `${name}-1`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: endpoints }, (_, j) => ({ addresses: [`10.201.${(i * endpoints + j) >> 8 & 255}.${(i * endpoints + j) & 255}`], conditions: { ready: true } })),
    });
  }
  return { svcs, slices };
}

await runBench('proxy', 16, 'Service proxy (nftables): change → traffic, rule updates', async (b) => {
  const r = b.report;
  const missing =
    process.getuid?.() !== 0
      ? 'not root'
      : !(await nftUsable())
        ? 'nft (Debian nftables) not installed or not usable'
        : spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0
          ? 'ip (iproute2) not installed'
          : '';
  if (missing) {
    console.log(`proxy: SKIP — ${missing} (this benchmark needs root, nft and ip)`);
    r.note(`skipped: ${missing}`);
    return;
  }
  const dataDir = b.dir('proxy');
  let backend: ChildProcess | undefined;
  let proxy: ServiceProxy | undefined;
  let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
  let transport: ReturnType<typeof inProcessTransport> | undefined;
  const proxyLog: string[] = [];
  try {
    // (b) first, on a quiet proxy: pure build time and nft load time
    const big = bigObjects(BIG_SERVICES, BIG_ENDPOINTS);
    const builds: number[] = [];
    let rs = buildRuleset(big.svcs, big.slices, { tableName: BIG_TABLE, nodeName: 'bench-node' });
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      rs = buildRuleset(big.svcs, big.slices, { tableName: BIG_TABLE, nodeName: 'bench-node' });
      builds.push(performance.now() - t);
    }
    let t = performance.now();
    await nftApply(transaction(rs, { chains: [], sets: [] }, BIG_TABLE));
    const firstLoad = performance.now() - t;
    // baseline: one endpoint of one Service replaced, the whole table rebuilt and reloaded (the proxy before partial syncs)
    const ropts = { tableName: BIG_TABLE, nodeName: 'bench-node' };
    const replaceEndpoint = (i: number, n: number) => {
      const s = big.slices[i];
      big.slices[i] = { ...s, endpoints: [{ addresses: [`10.202.${n >> 8}.${n & 255}`], conditions: { ready: true } }, ...s.endpoints!.slice(1)] };
    };
    replaceEndpoint(BIG_SERVICES >> 1, 1);
    t = performance.now();
    const next = buildRuleset(big.svcs, big.slices, ropts);
    const rebuild = performance.now() - t;
    await nftApply(transaction(next, rs, BIG_TABLE));
    const update = performance.now() - t;
    // as the proxy does it now: cached per-Service rules, a transaction of only what changed, fed to a
    // long-lived `nft -i`; and the same transactions through a new `nft -f` each, for comparison
    const cache: ServiceRulesCache = new Map();
    let model = buildRulesetModel(big.svcs, big.slices, ropts, cache);
    const session = new NftSession();
    session.open();
    const partial: number[] = [];
    const partialBuild: number[] = [];
    const viaProcess: number[] = [];
    let txBytes = 0;
    try {
      for (let i = 0; i < PARTIAL_SAMPLES; i++) {
        replaceEndpoint((i * 97) % BIG_SERVICES, 2 + i);
        t = performance.now();
        const m = buildRulesetModel(big.svcs, big.slices, ropts, cache);
        const tx = partialTransaction(model, m)!;
        partialBuild.push(performance.now() - t);
        await session.apply(tx);
        partial.push(performance.now() - t);
        txBytes = tx.length;
        model = m;
        replaceEndpoint((i * 89 + 7) % BIG_SERVICES, 1000 + i);
        t = performance.now();
        const m2 = buildRulesetModel(big.svcs, big.slices, ropts, cache);
        await nftApply(partialTransaction(model, m2)!);
        viaProcess.push(performance.now() - t);
        model = m2;
      }
    } finally {
      await session.close();
    }
    r.log(`${num(BIG_SERVICES)} Services × ${BIG_ENDPOINTS} endpoints: ${num(next.stats.servicePorts)} service ports, ${num(next.stats.endpoints)} endpoints, ruleset ${num(next.text.length / 1024)} KiB`);
    r.log(`  build ${ms(median(builds))} (median of 3), first nft -f ${ms(firstLoad)}`);
    r.log(`  one endpoint changed, whole table: build ${ms(rebuild)} + nft -f = ${ms(update)}`);
    r.log(`  one endpoint changed, partial through nft -i (${PARTIAL_SAMPLES} changes, ${num(txBytes)} bytes each): ${partial.map((x) => x.toFixed(1)).join(', ')} ms (build + diff median ${ms(median(partialBuild))}, max ${ms(Math.max(...partialBuild))})`);
    r.log(`  the same through a new nft -f each: p50 ${ms(median(viaProcess))}, max ${ms(Math.max(...viaProcess))}`);
    await deleteTable(BIG_TABLE);
    r.row({ metric: `ruleset build, ${num(BIG_SERVICES)} Services × ${BIG_ENDPOINTS} endpoints`, value: ms(median(builds)) });
    r.row({ metric: `nft -f of that ruleset (first load)`, value: ms(firstLoad) });
    r.row({ metric: 'one endpoint changed among them: whole-table build + nft -f (old way)', value: ms(update) });
    r.row({
      metric: 'one endpoint changed among them: partial transaction (build + diff + nft -i)',
      value: `p50 ${ms(median(partial))}, max ${ms(Math.max(...partial))}`,
      baseline: ms(update),
      ratio: ratio(median(partial) / update),
      goal: `< ${GOAL_MS} ms`,
      met: Math.max(...partial) < GOAL_MS,
    });

    // (a) a backend in a network namespace behind a veth pair
    ip('netns', 'add', NETNS);
    ip('link', 'add', VETH, 'type', 'veth', 'peer', 'name', VETH_PEER);
    ip('link', 'set', VETH_PEER, 'netns', NETNS);
    ip('addr', 'add', `${HOST_ADDR}/30`, 'dev', VETH);
    ip('link', 'set', VETH, 'up');
    ip('-n', NETNS, 'addr', 'add', `${BACKEND_ADDR}/30`, 'dev', VETH_PEER);
    ip('-n', NETNS, 'link', 'set', VETH_PEER, 'up');
    ip('-n', NETNS, 'link', 'set', 'lo', 'up');
    ip('-n', NETNS, 'route', 'add', 'default', 'via', HOST_ADDR);
    const script = `require('node:net').createServer((s) => { s.on('error', () => {}); s.end('ok\\n'); }).listen(${BACKEND_PORT}, '${BACKEND_ADDR}')`;
    backend = spawn('ip', ['netns', 'exec', NETNS, process.execPath, '-e', script], { stdio: 'ignore' });
    for (let i = 0; !(await connects(BACKEND_ADDR, BACKEND_PORT, 200)); i++) {
      if (i > 100 || backend.exitCode !== null) throw new Error('the backend in the network namespace did not start');
      await sleep(20);
    }

    cluster = await startCluster({ port: 0, bind: '127.0.0.1', dataDir, storage: 'memory', insecureHttp: true, controllers: false, log: () => {} });
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'bench', groups: ['system:masters'] });
    const client = new RestClient(transport);
    const services = client.resource<Service>(RESOURCES.services, 'default');
    const slices = client.resource<EndpointSlice>(RESOURCES.endpointslices, 'default');
    const applies: number[] = [];
    proxy = await startServiceProxy(transport, {
      nodeName: 'bench-node',
      nodeIPs: ['127.0.0.1'],
      tableName: TABLE,
      sysctls: false,
      manageLoadBalancerStatus: false,
      onSync: (s) => s.applied && applies.push(s.durationMs),
      log: (l) => proxyLog.push(l),
    });
    await proxy.syncNow();
    const makeSlice = (name: string): EndpointSlice => ({
      metadata: { name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: BACKEND_PORT, protocol: 'TCP' }],
      endpoints: [{ addresses: [BACKEND_ADDR], conditions: { ready: true } }],
    });
    const makeService = (name: string): Service => ({ metadata: { name }, spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: BACKEND_PORT, protocol: 'TCP' }] } });

    const created: number[] = [];
    const added: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      // a new Service with its endpoints
      let t0 = performance.now();
      const svc = await services.create(makeService(`new-${i}`));
      await slices.create(makeSlice(`new-${i}`));
      created.push(await firstConnect(svc.spec!.clusterIP!, 80, t0));
      // a Service without endpoints (connects are rejected) getting one
      const empty = await services.create(makeService(`empty-${i}`));
      await proxy.syncNow();
      await sleep(60);
      t0 = performance.now();
      await slices.create(makeSlice(`empty-${i}`));
      added.push(await firstConnect(empty.spec!.clusterIP!, 80, t0));
    }
    const show = (xs: number[]) => `p50 ${ms(median(xs))}, max ${ms(Math.max(...xs))}`;
    r.log(`${SAMPLES} samples each; a connect attempt to the ClusterIP every 2 ms from the host; backend in a network namespace`);
    r.log(`  new Service + EndpointSlice → first connect: ${created.map((x) => x.toFixed(1)).join(', ')} ms`);
    r.log(`  endpoint added to a Service → first connect: ${added.map((x) => x.toFixed(1)).join(', ')} ms`);
    r.log(`  proxy syncs (build + nft -f) meanwhile: median ${ms(median(applies))} over ${applies.length}`);
    r.row({ metric: 'new Service + EndpointSlice → traffic to the ClusterIP', value: show(created), goal: `< ${GOAL_MS} ms`, met: Math.max(...created) < GOAL_MS });
    r.row({ metric: 'endpoint added to a Service → traffic', value: show(added), goal: `< ${GOAL_MS} ms`, met: Math.max(...added) < GOAL_MS });
  } catch (e) {
    if (proxyLog.length) r.log(`the proxy's log:\n${proxyLog.slice(-20).join('\n')}`);
    throw e;
  } finally {
    await proxy?.stop({ removeTable: true }).catch(() => {});
    await deleteTable(TABLE).catch(() => {});
    await deleteTable(BIG_TABLE).catch(() => {});
    if (backend?.pid !== undefined && backend.exitCode === null) backend.kill('SIGKILL');
    spawnSync('ip', ['link', 'del', VETH], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', NETNS], { stdio: 'ignore' });
    transport?.close();
    await cluster?.close();
  }
});
