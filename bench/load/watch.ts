// Load job: watch fan-out. Per phase: open N watch streams on one collection, then write one object every
// intervalMs; each write carries a sequence number in its data, and every watcher notes when the event with
// that number arrives. Writer and watchers share this process, so both ends read the same clock.
import { Agent, request, type IncomingMessage } from 'node:http';
import { Client } from '../lib/http.js';
import type { WatchParams, WatchPhase, WatchPhaseResult, WatchResult } from '../lib/jobs.js';
import { loadJob } from '../lib/load.js';
import { cpuSeconds } from '../lib/proc.js';
import { summarize } from '../lib/stats.js';

const SEQ = '"seq":"';
const CONNECT_BATCH = 100;

const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, msec)));

/** Resolves when `done()` holds, or false after `timeoutMs`. */
async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

loadJob(async (p: WatchParams): Promise<WatchResult> => {
  const writer = new Client(p.url, 8);
  const base = new URL(p.url);
  const collection = `/api/v1/namespaces/${p.namespace}/configmaps`;
  const objectPath = `${collection}/${p.name}`;

  const runPhase = async (index: number, phase: WatchPhase): Promise<WatchPhaseResult> => {
    const problems: string[] = [];
    const current = await writer.must('GET', objectPath);
    const rv = (JSON.parse(current.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

    // seq → receipt times, one per watcher that saw it
    const receipts = new Map<string, number[]>();
    const sentAt = new Map<string, number>();
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
    const streams: IncomingMessage[] = [];
    let streamErrors = 0;

    const openWatch = () =>
      new Promise<void>((resolve) => {
        const req = request(
          {
            host: base.hostname,
            port: base.port,
            path: `${collection}?watch=1&resourceVersion=${rv}&timeoutSeconds=600`,
            agent,
            headers: { Accept: 'application/json' },
          },
          (res) => {
            if (res.statusCode !== 200) {
              problems.push(`watch request answered ${res.statusCode}`);
              res.resume();
              return resolve();
            }
            streams.push(res);
            let tail = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              const now = performance.now();
              const text = tail + chunk;
              let start = 0;
              for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
                const i = text.indexOf(SEQ, start);
                if (i >= 0 && i < nl) {
                  const seq = text.slice(i + SEQ.length, text.indexOf('"', i + SEQ.length));
                  let list = receipts.get(seq);
                  if (!list) receipts.set(seq, (list = []));
                  list.push(now);
                }
                start = nl + 1;
              }
              tail = text.slice(start);
            });
            res.on('error', () => streamErrors++);
            resolve();
          },
        );
        req.on('error', (e) => {
          problems.push(`watch request failed: ${e.message}`);
          resolve();
        });
        req.end();
      });

    const write = async (seq: string) => {
      sentAt.set(seq, performance.now());
      const r = await writer.request('PATCH', objectPath, { data: { seq } }, 'application/merge-patch+json');
      if (r.status !== 200) problems.push(`write ${seq}: ${r.status} ${r.body.slice(0, 200)}`);
      return r.ms;
    };

    const t0 = performance.now();
    for (let opened = 0; opened < phase.watchers; opened += CONNECT_BATCH) {
      await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, phase.watchers - opened) }, openWatch));
    }
    // A first write every stream must see: then every watch is registered on the server.
    const sync = `sync-${index}`;
    await write(sync);
    const allSynced = await waitFor(() => (receipts.get(sync)?.length ?? 0) >= streams.length, p.settleMs);
    const connectMs = performance.now() - t0;
    if (!allSynced) problems.push(`only ${receipts.get(sync)?.length ?? 0} of ${streams.length} watchers saw the first write within ${p.settleMs} ms`);

    const writeMs: Promise<number>[] = [];
    const serverCpu0 = cpuSeconds(p.serverPid);
    const loadCpu0 = process.cpuUsage();
    const start = performance.now();
    for (let k = 0; k < phase.writes; k++) {
      await sleep(start + k * p.intervalMs - performance.now());
      writeMs.push(write(`${index}-${k}`));
    }
    const writeLatencies = await Promise.all(writeMs);
    const expected = phase.writes * streams.length;
    const deliveredCount = () => {
      let n = 0;
      for (let k = 0; k < phase.writes; k++) n += receipts.get(`${index}-${k}`)?.length ?? 0;
      return n;
    };
    await waitFor(() => deliveredCount() >= expected, p.settleMs);
    const busySeconds = (performance.now() - start) / 1000;
    const loadCpu = process.cpuUsage(loadCpu0);
    const serverCpu = (cpuSeconds(p.serverPid) - serverCpu0) / busySeconds;

    const latencies: number[] = [];
    const spreads: number[] = [];
    for (let k = 0; k < phase.writes; k++) {
      const seq = `${index}-${k}`;
      const got = receipts.get(seq) ?? [];
      const sent = sentAt.get(seq)!;
      for (const t of got) latencies.push(t - sent);
      if (got.length) spreads.push(Math.max(...got) - Math.min(...got));
    }
    const delivered = deliveredCount();
    if (delivered < expected) problems.push(`${expected - delivered} of ${expected} events not delivered within ${p.settleMs} ms of the last write`);
    if (streamErrors) problems.push(`${streamErrors} watch streams broke`);
    const ended = streams.filter((s) => s.complete).length;
    if (ended) problems.push(`${ended} watch streams were ended by the server during the phase`);
    agent.destroy();
    for (const s of streams) s.destroy();
    return {
      watchers: streams.length,
      writes: phase.writes,
      connectMs,
      latency: summarize(latencies),
      spread: summarize(spreads),
      writeLatency: summarize(writeLatencies),
      expected,
      delivered,
      serverCpu,
      loadCpu: (loadCpu.user + loadCpu.system) / 1e6 / busySeconds,
      problems: [...new Set(problems)],
    };
  };

  const phases: WatchPhaseResult[] = [];
  for (const [i, phase] of p.phases.entries()) {
    phases.push(await runPhase(i, phase));
    // let the server notice the closed streams before the next phase
    await sleep(500);
  }
  writer.close();
  return { phases };
});
