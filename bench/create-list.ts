// Benchmark 2: creates per second (ConfigMaps with 1 KiB of data, distinct names) on SQLite and, as the
// baseline, on the memory backend; then LIST of 10,000 objects, whole and paginated with limit=500.
import { runBench } from './lib/harness.js';
import { Client } from './lib/http.js';
import type { ListParams, ListResult, PreloadParams, PreloadResult } from './lib/jobs.js';
import { runLoad } from './lib/load.js';
import { SHORT, watchProcess } from './lib/proc.js';
import { mib, ms, num, ratio } from './lib/stats.js';
import { runWrk, wrkProblems } from './lib/wrk.js';

const CONNECTIONS = 32;
const WARM_UP_S = 2;
const CREATE_S = SHORT ? 5 : 10;
const MAX_CREATES = 200_000;
const LIST_OBJECTS = 10_000;
const PAGE_LIMIT = 500;

interface BackendResult {
  createRate: number;
  createP50: number;
  createP99: number;
  list: ListResult;
}

await runBench('create-list', 2, 'Creates per second and LIST of 10,000 objects', async (b) => {
  const r = b.report;
  r.log(`creates: wrk -t1 -c${CONNECTIONS} POSTing ConfigMaps with 1 KiB of data, ${WARM_UP_S} s warm-up + ${CREATE_S} s measured`);
  r.log(`lists: ${num(LIST_OBJECTS)} such ConfigMaps in one namespace, whole (JSON) and with limit=${PAGE_LIMIT}`);
  const results: Partial<Record<'sqlite' | 'memory', BackendResult>> = {};

  for (const storage of ['sqlite', 'memory'] as const) {
    const server = await b.timonel({ tag: `create-${storage}`, storage });
    const client = new Client(server.url);
    await client.ensureNamespace('bench-create');
    await client.ensureNamespace('bench-list');
    client.close();
    const url = `${server.url}/api/v1/namespaces/bench-create/configmaps`;
    await runWrk({ url, script: 'create.lua', connections: CONNECTIONS, durationS: WARM_UP_S, maxRequests: MAX_CREATES, scriptArgs: ['warm'] });
    const sampler = watchProcess(server.pid);
    const w = await runWrk({ url, script: 'create.lua', connections: CONNECTIONS, durationS: CREATE_S, maxRequests: MAX_CREATES, scriptArgs: ['cm'] });
    const usage = sampler.stop();
    b.contention(usage, `the creates on ${storage}`);
    const trouble = wrkProblems(w);
    if (trouble) r.problem(`creates on ${storage}: ${trouble}`);
    if (w.countBoundHit) r.note(`creates on ${storage}: stopped by the count bound (${MAX_CREATES}); the rate is a lower bound`);
    r.log(`  ${storage}: ${num(w.rps)} creates/s, p50 ${ms(w.p50Ms)}, p99 ${ms(w.p99Ms)}; server CPU ${num((usage.cpuSeconds / w.durationS) * 100)}% of a core (${num((usage.cpuSeconds * 1e6) / Math.max(1, w.rps * w.durationS))} µs per create), peak RSS ${mib(usage.peakRss)}`);
    if (!b.alive(server, `creates on ${storage}`)) continue;

    const { result: preload } = await runLoad<PreloadResult>(
      'preload',
      { url: server.url, namespace: 'bench-list', kind: 'configmaps', count: LIST_OBJECTS, dataBytes: 1024, concurrency: 16, timeLimitMs: 60_000, namePrefix: 'cm-' } satisfies PreloadParams,
      90_000,
    );
    if (preload.failed) r.problem(`preload on ${storage}: ${preload.failed} creates failed (${JSON.stringify(preload.statuses)}; first: ${preload.firstError})`);
    const { result: list } = await runLoad<ListResult>(
      'list',
      { url: server.url, namespace: 'bench-list', resource: 'configmaps', expectItems: preload.created, pageLimit: PAGE_LIMIT, iterations: 10, timeLimitMs: 20_000 } satisfies ListParams,
      60_000,
    );
    for (const p of list.problems) r.problem(`list on ${storage}: ${p}`);
    r.log(
      `  ${storage}: full list of ${num(preload.created)} (${mib(list.fullBytes)}) p50 ${ms(list.full.p50)} (max ${ms(list.full.max)}, n=${list.full.n}); ` +
        `${list.pages} pages of ${PAGE_LIMIT}: p50 ${ms(list.paginated.p50)} in all (max ${ms(list.paginated.max)}, n=${list.paginated.n})`,
    );
    b.alive(server, `lists on ${storage}`);
    results[storage] = { createRate: w.rps, createP50: w.p50Ms, createP99: w.p99Ms, list };
    await server.stop();
  }

  const sq = results.sqlite;
  const mem = results.memory;
  if (!sq) return;
  r.row({
    metric: 'Creates/s, SQLite (1 KiB ConfigMaps)',
    value: num(sq.createRate),
    baseline: mem ? `${num(mem.createRate)} (memory backend)` : undefined,
    ratio: mem ? ratio(sq.createRate / mem.createRate) : undefined,
    goal: '≥ 3,000/s',
    met: sq.createRate >= 3000,
  });
  r.row({ metric: 'Create p99 latency, SQLite', value: ms(sq.createP99), baseline: mem ? ms(mem.createP99) : undefined, ratio: mem ? ratio(sq.createP99 / mem.createP99) : undefined });
  r.row({
    metric: `LIST ${num(LIST_OBJECTS)} objects (JSON, ${mib(sq.list.fullBytes)}), SQLite`,
    value: ms(sq.list.full.p50),
    baseline: mem ? `${ms(mem.list.full.p50)} (memory backend)` : undefined,
    ratio: mem ? ratio(sq.list.full.p50 / mem.list.full.p50) : undefined,
  });
  r.row({
    metric: `LIST ${num(LIST_OBJECTS)} objects in pages of ${PAGE_LIMIT}, SQLite`,
    value: `${ms(sq.list.paginated.p50)} (${sq.list.pages} pages)`,
    baseline: `${ms(sq.list.full.p50)} (one full list)`,
    ratio: ratio(sq.list.paginated.p50 / sq.list.full.p50),
  });
});
