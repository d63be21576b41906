// Load job: an open-loop mix of get / list-with-limit / update of Secrets at a fixed request rate.
import { Client, objectName, secret } from '../lib/http.js';
import type { MixedParams, MixedResult, Verb } from '../lib/jobs.js';
import { loadJob } from '../lib/load.js';
import { summarize } from '../lib/stats.js';

const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, msec)));

/** A small seeded generator, so every run asks for the same sequence of requests. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

loadJob(async (p: MixedParams): Promise<MixedResult> => {
  const client = new Client(p.url, p.maxInFlight);
  const collection = `/api/v1/namespaces/${p.namespace}/secrets`;
  const random = mulberry32(20251125);
  const latencies: Record<Verb, number[]> = { get: [], list: [], update: [] };
  const statuses: Record<string, number> = {};
  let firstError: string | undefined;
  let inFlight = 0;
  let sent = 0;
  let skipped = 0;

  const slowBySecond: Record<string, number> = {};
  let start = 0;
  const fire = async (verb: Verb, k: number) => {
    const name = objectName(p.namePrefix, Math.floor(random() * p.objects));
    const second = String(Math.floor((performance.now() - start) / 1000));
    inFlight++;
    sent++;
    try {
      const r =
        verb === 'get'
          ? await client.request('GET', `${collection}/${name}`)
          : verb === 'list'
            ? await client.request('GET', `${collection}?limit=${p.listLimit}`)
            : await client.request('PUT', `${collection}/${name}`, secret(name, p.dataBytes, k));
      statuses[`${verb} ${r.status}`] = (statuses[`${verb} ${r.status}`] ?? 0) + 1;
      if (r.ms > 100) slowBySecond[second] = (slowBySecond[second] ?? 0) + 1;
      if (r.status === 200) latencies[verb].push(r.ms);
      else firstError ??= `${verb} ${name}: ${r.status} ${r.body.slice(0, 200)}`;
    } catch (e) {
      statuses[`${verb} error`] = (statuses[`${verb} error`] ?? 0) + 1;
      firstError ??= `${verb} ${name}: ${(e as Error).message}`;
    } finally {
      inFlight--;
    }
  };

  const total = Math.round((p.rate * p.durationMs) / 1000);
  const interval = 1000 / p.rate;
  const pending: Promise<void>[] = [];
  start = performance.now();
  const deadline = start + p.durationMs + 5000;
  for (let k = 0; k < total && performance.now() < deadline; k++) {
    await sleep(start + k * interval - performance.now());
    if (inFlight >= p.maxInFlight) {
      skipped++;
      continue;
    }
    const x = random();
    const verb: Verb = x < p.mix.get ? 'get' : x < p.mix.get + p.mix.list ? 'list' : 'update';
    pending.push(fire(verb, k));
  }
  const elapsed = performance.now() - start;
  await Promise.race([Promise.all(pending), sleep(30_000)]);
  client.close();
  return {
    sent,
    skipped,
    achievedRate: (sent / elapsed) * 1000,
    perVerb: { get: summarize(latencies.get), list: summarize(latencies.list), update: summarize(latencies.update) },
    overall: summarize([...latencies.get, ...latencies.list, ...latencies.update]),
    statuses,
    firstError,
    slowBySecond,
  };
});
