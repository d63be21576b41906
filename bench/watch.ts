// Benchmark 3: watch fan-out. 1,000 watch streams on one collection, one write every 50 ms, latency from
// each write's request to each watcher's receipt; the baseline is the same with a single watcher.
import { runBench } from './lib/harness.js';
import { Client, configMap } from './lib/http.js';
import type { WatchParams, WatchResult } from './lib/jobs.js';
import { runLoad } from './lib/load.js';
import { watchProcess } from './lib/proc.js';
import { mib, ms, num, ratio } from './lib/stats.js';

const WATCHERS = 1000;
const WRITES = 100;
const BASELINE_WRITES = 40;
const INTERVAL_MS = 50;

await runBench('watch', 3, 'Watch fan-out', async (b) => {
  const r = b.report;
  const server = await b.timonel({ tag: 'watch' });
  const client = new Client(server.url);
  await client.ensureNamespace('bench-watch');
  await client.must('POST', '/api/v1/namespaces/bench-watch/configmaps', configMap('watched', 1024, { seq: 'none' }));
  client.close();
  r.log(`watch streams on the ConfigMaps of one namespace; one merge-patch of a 1 KiB ConfigMap every ${INTERVAL_MS} ms;`);
  r.log(`latency = watcher receipt − write request sent (both in one load process on the load core)`);

  const sampler = watchProcess(server.pid);
  const { result, cpuSeconds: loadCpu, wallSeconds: loadWall } = await runLoad<WatchResult>(
    'watch',
    {
      url: server.url,
      namespace: 'bench-watch',
      name: 'watched',
      phases: [
        { watchers: 1, writes: BASELINE_WRITES },
        { watchers: WATCHERS, writes: WRITES },
      ],
      intervalMs: INTERVAL_MS,
      settleMs: 15_000,
      serverPid: server.pid,
    } satisfies WatchParams,
    120_000,
  );
  const usage = sampler.stop();
  b.contention(usage, 'the watch phases');
  b.alive(server, 'the watch fan-out');

  for (const ph of result.phases) {
    for (const p of ph.problems) r.problem(`${ph.watchers} watchers: ${p}`);
    r.log(
      `  ${num(ph.watchers)} watcher(s), ${ph.writes} writes: delivered ${num(ph.delivered)}/${num(ph.expected)}; ` +
        `latency p50 ${ms(ph.latency.p50)}, p90 ${ms(ph.latency.p90)}, p99 ${ms(ph.latency.p99)}, max ${ms(ph.latency.max)}; ` +
        `first→last receipt per write p50 ${ms(ph.spread.p50)}, max ${ms(ph.spread.max)}; write response p50 ${ms(ph.writeLatency.p50)}, ` +
        `p99 ${ms(ph.writeLatency.p99)}; connect+sync ${ms(ph.connectMs)}; ` +
        `CPU during the writes: server ${num(ph.serverCpu * 100)}%, load process ${num(ph.loadCpu * 100)}% of a core`,
    );
  }
  r.log(`  server: peak RSS ${mib(usage.peakRss)}, ${num(usage.cpuSeconds, 1)} CPU-seconds; load process: ${num(loadCpu, 1)} CPU-seconds in ${num(loadWall, 1)} s`);
  const [one, many] = result.phases;
  r.row({
    metric: `Watch event delivery p50, ${num(many.watchers)} watchers`,
    value: ms(many.latency.p50),
    baseline: `${ms(one.latency.p50)} (1 watcher)`,
    ratio: ratio(many.latency.p50 / one.latency.p50),
  });
  r.row({
    metric: `Watch event delivery p99, ${num(many.watchers)} watchers`,
    value: ms(many.latency.p99),
    baseline: `${ms(one.latency.p99)} (1 watcher)`,
    ratio: ratio(many.latency.p99 / one.latency.p99),
    goal: '< 100 ms',
    met: many.latency.p99 < 100 && many.delivered === many.expected && many.watchers === WATCHERS,
  });
});
