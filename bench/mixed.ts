// Benchmark 4: a mixed load modelled on a published k3s datastore test — 5,000 Secrets, then 200 requests/s
// of get (60%) / list with limit (10%) / update (30%) for 60 s (15 s with BENCH_SHORT=1), latency per verb.
import { runBench } from './lib/harness.js';
import { Client } from './lib/http.js';
import type { MixedParams, MixedResult, PreloadParams, PreloadResult, Verb } from './lib/jobs.js';
import { runLoad } from './lib/load.js';
import { rssBytes, SHORT, watchProcess } from './lib/proc.js';
import { mib, ms, num, ratio } from './lib/stats.js';

const OBJECTS = 5000;
const DATA_BYTES = 1024;
const RATE = 200;
const DURATION_MS = SHORT ? 15_000 : 60_000;
const LIST_LIMIT = 500;
const MAX_IN_FLIGHT = 256;
const MIX = { get: 0.6, list: 0.1, update: 0.3 };
/** what the published test reported as average latency under this load */
const K3S_SQLITE_MS = 1400;
const K3S_ETCD_MS = 350;

await runBench('mixed', 4, 'Mixed load on 5,000 Secrets', async (b) => {
  const r = b.report;
  const server = await b.timonel({ tag: 'mixed' });
  const client = new Client(server.url);
  await client.ensureNamespace('bench-mixed');
  client.close();
  const rssStart = rssBytes(server.pid);
  const { result: preload } = await runLoad<PreloadResult>(
    'preload',
    { url: server.url, namespace: 'bench-mixed', kind: 'secrets', count: OBJECTS, dataBytes: DATA_BYTES, concurrency: 16, timeLimitMs: 60_000, namePrefix: 'secret-' } satisfies PreloadParams,
    90_000,
  );
  if (preload.failed) r.problem(`preload: ${preload.failed} creates failed (${JSON.stringify(preload.statuses)}; first: ${preload.firstError})`);
  const rssLoaded = rssBytes(server.pid);
  r.log(`preloaded ${num(preload.created)} Secrets (1 KiB of data each) in ${ms(preload.elapsedMs)} (${num(preload.rate)}/s); RSS ${mib(rssStart)} → ${mib(rssLoaded)}`);
  r.log(`${RATE} requests/s for ${DURATION_MS / 1000} s, open loop: get ${MIX.get * 100}%, list limit=${LIST_LIMIT} ${MIX.list * 100}%, update (PUT) ${MIX.update * 100}%`);

  const sampler = watchProcess(server.pid);
  const { result: m, cpuSeconds: loadCpu } = await runLoad<MixedResult>(
    'mixed',
    {
      url: server.url,
      namespace: 'bench-mixed',
      namePrefix: 'secret-',
      objects: preload.created,
      dataBytes: DATA_BYTES,
      rate: RATE,
      durationMs: DURATION_MS,
      maxInFlight: MAX_IN_FLIGHT,
      listLimit: LIST_LIMIT,
      mix: MIX,
    } satisfies MixedParams,
    DURATION_MS + 60_000,
  );
  const usage = sampler.stop();
  b.contention(usage, 'the mixed load');
  b.alive(server, 'the mixed load');

  const bad = Object.entries(m.statuses).filter(([k]) => !/ 200$/.test(k));
  if (bad.length) r.problem(`responses other than 200: ${bad.map(([k, v]) => `${k}: ${v}`).join(', ')} (first: ${m.firstError})`);
  if (m.skipped) r.problem(`${m.skipped} requests skipped: ${MAX_IN_FLIGHT} already in flight`);
  r.log(`  sent ${num(m.sent)} requests at ${num(m.achievedRate, 1)}/s; server CPU ${num((usage.cpuSeconds / (DURATION_MS / 1000)) * 100)}% of a core, peak RSS ${mib(usage.peakRss)}; load process ${num(loadCpu, 1)} CPU-s`);
  r.log('  | verb | n | p50 | p90 | p99 | max |');
  r.log('  |---|---|---|---|---|---|');
  const line = (name: string, s: MixedResult['overall']) => r.log(`  | ${name} | ${num(s.n)} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.max)} |`);
  for (const v of ['get', 'list', 'update'] as Verb[]) line(v === 'list' ? `list (limit=${LIST_LIMIT})` : v, m.perVerb[v]);
  line('all', m.overall);
  const slow = Object.entries(m.slowBySecond).sort((x, y) => y[1] - x[1]);
  if (slow.length) {
    const total = slow.reduce((a, [, n]) => a + n, 0);
    r.log(`  ${num(total)} requests over 100 ms, sent within ${slow.length} distinct seconds; the worst: ${slow.slice(0, 6).map(([s, n]) => `${n} at ${s} s`).join(', ')}`);
  }

  r.row({
    metric: `Mixed ${RATE} req/s on ${num(OBJECTS)} Secrets, mean latency`,
    value: ms(m.overall.mean),
    baseline: `k3s published: ${ms(K3S_SQLITE_MS)} (SQLite), ${ms(K3S_ETCD_MS)} (etcd)`,
    ratio: `${ratio(m.overall.mean / K3S_SQLITE_MS)} of k3s SQLite`,
  });
  for (const v of ['get', 'list', 'update'] as Verb[]) {
    r.row({ metric: `Mixed load p99, ${v === 'list' ? `list limit=${LIST_LIMIT}` : v}`, value: ms(m.perVerb[v].p99), goal: '< 50 ms', met: m.perVerb[v].p99 < 50 });
  }
  r.row({
    metric: 'Mixed load p99, all verbs',
    value: ms(m.overall.p99),
    baseline: 'upstream SLO ≤ 1 s',
    goal: '< 50 ms',
    met: m.overall.p99 < 50 && m.skipped === 0 && bad.length === 0,
  });
});
