// Benchmark 1: GET of one 1 KiB ConfigMap from `timonel up` (SQLite) against a bare node:http server
// returning the same JSON bytes from memory — same wrk, connections and duration, runs interleaved.
import { runBench } from './lib/harness.js';
import { Client, configMap } from './lib/http.js';
import { SHORT, watchProcess } from './lib/proc.js';
import { ms, num, ratio } from './lib/stats.js';
import { runWrk, wrkProblems, type WrkResult } from './lib/wrk.js';

const CONNECTIONS = 50;
const WARM_UP_S = 2;
const ROUNDS = 2;
const ROUND_S = SHORT ? 3 : 5;
const MAX_REQUESTS = 1_000_000;
const PATH = '/api/v1/namespaces/bench/configmaps/cm-1k';

interface Totals {
  requests: number;
  seconds: number;
  p50: number[];
  p99: number[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

await runBench('get', 1, 'GET of one object: Timonel vs bare node:http', async (b) => {
  const r = b.report;
  const server = await b.timonel({ tag: 'get' });
  const client = new Client(server.url);
  await client.ensureNamespace('bench');
  await client.must('POST', '/api/v1/namespaces/bench/configmaps', configMap('cm-1k', 1024));
  const body = (await client.must('GET', PATH)).body;
  client.close();
  const bare = await b.bare(body);
  r.log(`a ConfigMap with 1 KiB of data (${body.length} bytes of JSON); wrk -t1 -c${CONNECTIONS};`);
  r.log(`${WARM_UP_S} s warm-up each, then ${ROUNDS} interleaved rounds of ${ROUND_S} s per server`);

  const targets = [
    { name: 'timonel', url: server.url + PATH, totals: { requests: 0, seconds: 0, p50: [], p99: [] } as Totals },
    { name: 'bare node:http', url: bare.url + PATH, totals: { requests: 0, seconds: 0, p50: [], p99: [] } as Totals },
  ];
  const run = (url: string, durationS: number): Promise<WrkResult> =>
    runWrk({ url, script: 'get.lua', connections: CONNECTIONS, durationS, maxRequests: MAX_REQUESTS });
  for (const t of targets) await run(t.url, WARM_UP_S);
  const sampler = watchProcess(server.pid, [bare.pid]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of targets) {
      const w = await run(t.url, ROUND_S);
      const trouble = wrkProblems(w);
      if (trouble) r.problem(`${t.name}: ${trouble}`);
      if (w.countBoundHit) r.note(`${t.name}: stopped by the count bound (${MAX_REQUESTS}); its rate is a lower bound`);
      r.log(`  ${t.name} round ${round + 1}: ${num(w.rps)} req/s, p50 ${ms(w.p50Ms)}, p99 ${ms(w.p99Ms)}`);
      t.totals.requests += w.requests;
      t.totals.seconds += w.durationS;
      t.totals.p50.push(w.p50Ms);
      t.totals.p99.push(w.p99Ms);
    }
  }
  b.contention(sampler.stop(), 'the GET rounds');
  b.alive(server, 'the GET load');

  const [ours, base] = targets.map((t) => ({ rps: t.totals.requests / t.totals.seconds, p50: mean(t.totals.p50), p99: mean(t.totals.p99) }));
  const throughput = ours.rps / base.rps;
  r.row({ metric: 'GET 1 KiB ConfigMap, req/s', value: num(ours.rps), baseline: `${num(base.rps)} (bare node:http)`, ratio: ratio(throughput), goal: '≥ 0.5× bare', met: throughput >= 0.5 });
  r.row({ metric: 'GET 1 KiB ConfigMap, p99 latency', value: ms(ours.p99), baseline: ms(base.p99), ratio: ratio(ours.p99 / base.p99) });
  r.log(`  p50: timonel ${ms(ours.p50)}, bare ${ms(base.p50)}`);
});
