// Benchmark 5: `timonel up` from spawn to its ready line (first run with certificate generation, then an
// existing data dir), idle RSS after start and after the 5,000-Secret preload of benchmark 4, idle CPU.
// The baseline is the bare node:http server: its start-up, RSS and idle CPU measured the same way.
import { join, relative } from 'node:path';
import { writeFileSync } from 'node:fs';
import { runBench } from './lib/harness.js';
import { Client } from './lib/http.js';
import type { PreloadParams, PreloadResult } from './lib/jobs.js';
import { runLoad } from './lib/load.js';
import { bareServer, cpuSeconds, REPO, rssBytes, SHORT, sleep, timonelMain, timonelUp, type ServerProcess } from './lib/proc.js';
import { median, ms, num, ratio } from './lib/stats.js';

const FIRST_RUNS = 3;
const RUNS = 10;
const IDLE_S = SHORT ? 10 : 30;
const SETTLE_MS = 2000;
/** how long after the preload the idle CPU window starts */
const POST_LOAD_S = 20;

const mb = (bytes: number) => `${num(bytes / 1e6)} MB`;

/** Starts and stops a server `runs` times; returns the spawn → ready times. */
async function startTimes(runs: number, start: (i: number) => Promise<ServerProcess>): Promise<{ ready: number[]; reported: number[]; cpu: number[] }> {
  const ready: number[] = [];
  const reported: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = await start(i);
    ready.push(s.readyMs);
    if (s.reportedMs !== undefined) reported.push(s.reportedMs);
    if (Number.isFinite(s.readyCpuMs)) cpu.push(s.readyCpuMs);
    await s.stop();
  }
  return { ready, reported, cpu };
}

const describe = (xs: number[]) => `median ${ms(median(xs))}, min ${ms(Math.min(...xs))}, max ${ms(Math.max(...xs))}`;

await runBench('startup', 5, 'Start-up, memory and idle CPU', async (b) => {
  const r = b.report;
  r.log(`timonel up (HTTPS with client certificates, SQLite) from spawn() to its ready line; ${FIRST_RUNS} first runs on fresh data dirs, then ${RUNS} on an existing one`);
  r.log(`  running ${relative(REPO, timonelMain()) || timonelMain()}`);
  let lastDir = '';
  const first = await startTimes(FIRST_RUNS, () => timonelUp({ dataDir: (lastDir = b.dir('first')), insecureHttp: false }));
  const again = await startTimes(RUNS, () => timonelUp({ dataDir: lastDir, insecureHttp: false }));
  const bodyFile = join(b.dir('bare'), 'body.json');
  writeFileSync(bodyFile, '{}');
  const bare = await startTimes(RUNS, () => bareServer(bodyFile));
  r.log(`  first run (certificates generated): ${describe(first.ready)}; as printed by the server: ${describe(first.reported)}; CPU time to ready: ${describe(first.cpu)}`);
  r.log(`  existing data dir: ${describe(again.ready)}; as printed by the server: ${describe(again.reported)}; CPU time to ready: ${describe(again.cpu)}`);
  r.log(`  bare node:http server: ${describe(bare.ready)}; CPU time to ready: ${describe(bare.cpu)}`);
  const startMedian = median(again.ready);
  r.row({
    metric: '`timonel up` to ready, existing data dir',
    value: `${ms(startMedian)} (max ${ms(Math.max(...again.ready))})`,
    baseline: `${ms(median(bare.ready))} (bare node:http)`,
    ratio: ratio(startMedian / median(bare.ready)),
    goal: '< 1 s',
    met: Math.max(...again.ready) < 1000,
  });
  r.row({ metric: '`timonel up` to ready, first run (certificate generation)', value: `${ms(median(first.ready))} (max ${ms(Math.max(...first.ready))})` });

  // Memory and idle CPU: the plain-HTTP server the load benchmarks use, beside the bare baseline.
  const server = await b.timonel({ tag: 'idle' });
  const baseline = await b.bare('{}');
  await sleep(SETTLE_MS);
  const rssStart = rssBytes(server.pid);
  const rssBare = rssBytes(baseline.pid);
  const client = new Client(server.url);
  await client.ensureNamespace('bench-mixed');
  client.close();
  const { result: preload } = await runLoad<PreloadResult>(
    'preload',
    { url: server.url, namespace: 'bench-mixed', kind: 'secrets', count: 5000, dataBytes: 1024, concurrency: 16, timeLimitMs: 60_000, namePrefix: 'secret-' } satisfies PreloadParams,
    90_000,
  );
  if (preload.failed) r.problem(`preload: ${preload.failed} creates failed (first: ${preload.firstError})`);
  await sleep(SETTLE_MS);
  const rssLoaded = rssBytes(server.pid);
  // V8 collects once more some seconds after a burst of allocation (its memory reducer: ~0.2 s of CPU
  // here): that belongs to the load, not to idling, and is reported apart
  const cpuAfterLoad = cpuSeconds(server.pid);
  await sleep(POST_LOAD_S * 1000);
  const postLoadCpu = cpuSeconds(server.pid) - cpuAfterLoad;
  const rssSettled = rssBytes(server.pid);
  const cpu0 = { server: cpuSeconds(server.pid), bare: cpuSeconds(baseline.pid) };
  const t0 = performance.now();
  await sleep(IDLE_S * 1000);
  const wall = (performance.now() - t0) / 1000;
  const idle = { server: (cpuSeconds(server.pid) - cpu0.server) / wall, bare: (cpuSeconds(baseline.pid) - cpu0.bare) / wall };
  const rssIdle = rssBytes(server.pid);
  b.alive(server, 'the idle period');
  r.log(
    `  RSS: after start ${mb(rssStart)}, ${SETTLE_MS / 1000} s after preloading ${num(preload.created)} Secrets ${mb(rssLoaded)}, ${POST_LOAD_S} s after ${mb(rssSettled)}, ${POST_LOAD_S + IDLE_S} s after ${mb(rssIdle)}; bare node:http ${mb(rssBare)}`,
  );
  r.log(`  CPU in the ${POST_LOAD_S} s after the preload (garbage collection after the burst): ${num(postLoadCpu * 1000)} ms`);
  r.row({ metric: 'Idle RSS after start', value: mb(rssStart), baseline: `${mb(rssBare)} (bare node:http)`, ratio: ratio(rssStart / rssBare), goal: '< 150 MB', met: rssStart < 150e6 });
  r.row({
    metric: `Idle RSS with ${num(preload.created)} Secrets loaded (${POST_LOAD_S} s after the preload; ${SETTLE_MS / 1000} s after: ${mb(rssLoaded)})`,
    value: mb(rssSettled),
    baseline: `${mb(rssBare)} (bare node:http)`,
    ratio: ratio(rssSettled / rssBare),
    goal: '< 150 MB',
    met: rssSettled < 150e6,
  });
  r.row({
    metric: `Idle CPU over ${IDLE_S} s (5,000 Secrets loaded, from ${POST_LOAD_S} s after the preload)`,
    value: `${num(idle.server * 100, 2)} % of a core`,
    baseline: `${num(idle.bare * 100, 2)} % (bare node:http)`,
    goal: '< 1 %',
    met: idle.server < 0.01,
  });
});
