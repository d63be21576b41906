// Load job: creates `count` objects with distinct names, `concurrency` requests in flight.
import { Client, configMap, objectName, secret } from '../lib/http.js';
import type { PreloadParams, PreloadResult } from '../lib/jobs.js';
import { loadJob } from '../lib/load.js';

loadJob(async (p: PreloadParams): Promise<PreloadResult> => {
  const client = new Client(p.url, p.concurrency);
  const path = `/api/v1/namespaces/${p.namespace}/${p.kind}`;
  const statuses: Record<string, number> = {};
  let next = 0;
  let created = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + p.timeLimitMs;
  const worker = async () => {
    while (next < p.count && performance.now() < deadline) {
      const name = objectName(p.namePrefix, next++);
      const body = p.kind === 'secrets' ? secret(name, p.dataBytes) : configMap(name, p.dataBytes);
      try {
        const r = await client.request('POST', path, body);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 201) created++;
        else firstError ??= `${r.status} ${r.body.slice(0, 200)}`;
      } catch (e) {
        statuses.error = (statuses.error ?? 0) + 1;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: p.concurrency }, worker));
  const elapsedMs = performance.now() - t0;
  client.close();
  return { created, failed: next - created, statuses, firstError, elapsedMs, rate: (created / elapsedMs) * 1000 };
});
