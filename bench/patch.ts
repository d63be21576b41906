// Benchmark 7: strategic-merge-patch throughput on one Deployment from a keep-alive Node client, every
// other patch changing the container image (nginx:1.27 ↔ nginx:1.28) or a metadata label; the baseline
// is the same loop sending JSON merge patches (which replace the containers list whole).
import { runBench } from './lib/harness.js';
import { Client } from './lib/http.js';
import { SHORT, watchProcess } from './lib/proc.js';
import { num, ms, ratio, summarize, type Summary } from './lib/stats.js';

const NS = 'bench-patch';
// PATCHes of one object race each other (and the controller's status writes): the server retries them
const IN_FLIGHT = 4;
const WARM_UP_MS = 1000;
const ROUND_MS = SHORT ? 3000 : 8000;
const ROUNDS = SHORT ? 1 : 2;
const MAX_PATCHES = 100_000;

type PatchType = 'strategic' | 'merge';
const CONTENT_TYPE: Record<PatchType, string> = {
  strategic: 'application/strategic-merge-patch+json',
  merge: 'application/merge-patch+json',
};

function patchBody(k: number): object {
  if (k % 2 === 1) return { metadata: { labels: { 'bench-seq': String(k) } } };
  const image = (k / 2) % 2 === 0 ? 'nginx:1.28' : 'nginx:1.27';
  return { spec: { template: { spec: { containers: [{ name: 'web', image }] } } } };
}

interface LoopResult {
  count: number;
  ms: number;
  latencies: number[];
  statuses: Record<string, number>;
  firstError?: string;
}

/** IN_FLIGHT workers patch the one Deployment back to back until the time or count bound. */
async function patchLoop(client: Client, path: string, type: PatchType, durationMs: number): Promise<LoopResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let firstError: string | undefined;
  let k = 0;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async () => {
    while (performance.now() < deadline && k < MAX_PATCHES) {
      const seq = k++;
      try {
        const r = await client.request('PATCH', path, patchBody(seq), CONTENT_TYPE[type]);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 200) latencies.push(r.ms);
        else firstError ??= `${r.status} ${r.body.slice(0, 200)}`;
      } catch (e) {
        statuses.error = (statuses.error ?? 0) + 1;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { count: latencies.length, ms: performance.now() - t0, latencies, statuses, firstError };
}

await runBench('patch', 7, 'Strategic merge patch of one Deployment', async (b) => {
  const r = b.report;
  r.log(`${IN_FLIGHT} request(s) in flight from one keep-alive client, ${ROUNDS} × ${ROUND_MS / 1000} s per patch type (alternating), after ${WARM_UP_MS / 1000} s warm-up each`);
  r.log('every other patch sets the image (nginx:1.27 ↔ 1.28, so the controller flips between two ReplicaSets) or a label; replicas 0, SQLite');
  const server = await b.timonel({ tag: 'patch', storage: 'sqlite' });
  const client = new Client(server.url, IN_FLIGHT);
  await client.ensureNamespace(NS);
  await client.must('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } },
    },
  });
  const path = `/apis/apps/v1/namespaces/${NS}/deployments/web`;

  const totals: Record<PatchType, { count: number; ms: number; latencies: number[] }> = {
    strategic: { count: 0, ms: 0, latencies: [] },
    merge: { count: 0, ms: 0, latencies: [] },
  };
  for (const type of ['merge', 'strategic'] as const) await patchLoop(client, path, type, WARM_UP_MS);
  for (let round = 0; round < ROUNDS && b.alive(server, 'the patches'); round++) {
    for (const type of ['merge', 'strategic'] as const) {
      const sampler = watchProcess(server.pid);
      const res = await patchLoop(client, path, type, ROUND_MS);
      const usage = sampler.stop();
      b.contention(usage, `${type} patches (round ${round + 1})`);
      const bad = Object.entries(res.statuses).filter(([s]) => s !== '200');
      if (bad.length) r.problem(`${type} patches: ${JSON.stringify(res.statuses)}; first: ${res.firstError}`);
      if (res.count + bad.reduce((a, [, n]) => a + n, 0) >= MAX_PATCHES) r.note(`${type} patches hit the count bound (${MAX_PATCHES}): the rate is a lower bound`);
      const s = summarize(res.latencies);
      r.log(
        `  round ${round + 1}, ${type}: ${num((res.count / res.ms) * 1000)} patches/s, p50 ${ms(s.p50)}, p99 ${ms(s.p99)}; server CPU ${num((usage.cpuSeconds / (res.ms / 1000)) * 100)}% of a core`,
      );
      totals[type].count += res.count;
      totals[type].ms += res.ms;
      totals[type].latencies.push(...res.latencies);
    }
  }
  const final = JSON.parse((await client.must('GET', path)).body) as { spec: { template: { spec: { containers: { image: string; ports?: unknown[] }[] } } } };
  const containers = final.spec.template.spec.containers;
  if (containers.length !== 1 || !/^nginx:1\.2[78]$/.test(containers[0].image)) r.problem(`unexpected containers after the patches: ${JSON.stringify(containers)}`);
  client.close();

  const rate = (t: PatchType) => (totals[t].count / totals[t].ms) * 1000;
  const sm: Summary = summarize(totals.strategic.latencies);
  const mp: Summary = summarize(totals.merge.latencies);
  if (totals.strategic.count === 0) return;
  r.row({
    metric: `Strategic merge patches/s, one Deployment (${IN_FLIGHT} in flight, image or label)`,
    value: num(rate('strategic')),
    baseline: totals.merge.count ? `${num(rate('merge'))} (JSON merge patch)` : undefined,
    ratio: totals.merge.count ? ratio(rate('strategic') / rate('merge')) : undefined,
  });
  r.row({ metric: 'Strategic merge patch p50 latency', value: ms(sm.p50), baseline: ms(mp.p50), ratio: ratio(sm.p50 / mp.p50) });
  r.row({ metric: 'Strategic merge patch p99 latency', value: ms(sm.p99), baseline: ms(mp.p99), ratio: ratio(sm.p99 / mp.p99) });
});
