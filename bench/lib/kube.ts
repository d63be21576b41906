// Helpers of the control-plane benchmarks (scheduler.ts, deployment.ts): counting objects cheaply,
// a watch stream read line by line, RSS sampled over a moment, a bounded-concurrency creator.
import { request, type ClientRequest } from 'node:http';
import type { Client } from './http.js';
import { rssBytes, sleep } from './proc.js';
import { median } from './stats.js';

/** How many objects a collection holds: one item plus remainingItemCount, so the server sends almost nothing. */
export async function countOf(client: Client, path: string): Promise<number> {
  const r = await client.must('GET', `${path}${path.includes('?') ? '&' : '?'}limit=1`);
  const list = JSON.parse(r.body) as { items: unknown[]; metadata?: { remainingItemCount?: number; continue?: string } };
  const remaining = list.metadata?.remainingItemCount;
  if (list.metadata?.continue && remaining === undefined) throw new Error(`${path}: the server sent no remainingItemCount`);
  return list.items.length + (remaining ?? 0);
}

/** Polls countOf until it reaches `n`; returns the milliseconds waited. */
export async function waitForCount(client: Client, path: string, n: number, timeoutMs: number, everyMs = 250): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const c = await countOf(client, path);
    if (c >= n) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${path}: ${c} of ${n} objects after ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** Polls `check` until it returns true (or throws after `timeoutMs`); returns the milliseconds waited. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
  return performance.now() - t0;
}

/** The median of `samples` RSS readings `everyMs` apart (a single reading jumps with the GC). */
export async function settledRss(pid: number, samples = 5, everyMs = 400): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i) await sleep(everyMs);
    xs.push(rssBytes(pid));
  }
  return median(xs);
}

export interface WatchEventLine<T> {
  type: string;
  object: T;
}

/** A watch stream (`?watch=1`), each event handed to `onEvent` as it arrives; close() ends it. */
export function watchStream<T>(base: URL, path: string, onEvent: (e: WatchEventLine<T>) => void, onError: (e: Error) => void): { close(): void; ready: Promise<void> } {
  let req: ClientRequest | undefined;
  let closed = false;
  const ready = new Promise<void>((resolve, reject) => {
    req = request({ host: base.hostname, port: base.port, path, method: 'GET', headers: { Accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      resolve();
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) onEvent(JSON.parse(line) as WatchEventLine<T>);
        }
      });
      res.on('end', () => {
        if (!closed) onError(new Error(`watch ${path}: the server ended the stream`));
      });
      res.on('error', (e) => {
        if (!closed) onError(e);
      });
    });
    req.on('error', (e) => {
      if (!closed) {
        reject(e);
        onError(e);
      }
    });
    req.end();
  });
  return {
    ready,
    close() {
      closed = true;
      req?.destroy();
    },
  };
}

export interface CreateResult {
  created: number;
  failed: number;
  firstError?: string;
  elapsedMs: number;
}

/** POSTs `count` objects made by `body(i)` to `path`, `concurrency` in flight. */
export async function createMany(client: Client, path: string, count: number, concurrency: number, body: (i: number) => object, timeLimitMs: number): Promise<CreateResult> {
  let next = 0;
  let created = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + timeLimitMs;
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      try {
        const r = await client.request('POST', path, body(i));
        if (r.status === 201) created++;
        else firstError ??= `${r.status} ${r.body.slice(0, 200)}`;
      } catch (e) {
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { created, failed: next - created, firstError, elapsedMs: performance.now() - t0 };
}
