// Load job: times full LISTs of one collection, then paginated walks through it (`limit` + `continue`).
import { Client } from '../lib/http.js';
import type { ListParams, ListResult } from '../lib/jobs.js';
import { loadJob } from '../lib/load.js';
import { summarize } from '../lib/stats.js';

interface ListBody {
  items?: unknown[];
  metadata?: { continue?: string };
}

loadJob(async (p: ListParams): Promise<ListResult> => {
  const client = new Client(p.url, 1);
  const path = `/api/v1/namespaces/${p.namespace}/${p.resource}`;
  const problems: string[] = [];
  const check = (what: string, status: number, items: number) => {
    if (status !== 200) problems.push(`${what}: status ${status}`);
    else if (items !== p.expectItems) problems.push(`${what}: ${items} items, expected ${p.expectItems}`);
  };

  const fullList = async () => {
    const r = await client.request('GET', path);
    const body = JSON.parse(r.body) as ListBody;
    return { ms: r.ms, status: r.status, items: body.items?.length ?? 0, bytes: Buffer.byteLength(r.body) };
  };
  const paginatedList = async () => {
    let ms = 0;
    let items = 0;
    let pages = 0;
    let cont: string | undefined;
    do {
      const r = await client.request('GET', `${path}?limit=${p.pageLimit}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      ms += r.ms;
      pages++;
      if (r.status !== 200) return { ms, status: r.status, items, pages };
      const body = JSON.parse(r.body) as ListBody;
      items += body.items?.length ?? 0;
      cont = body.metadata?.continue || undefined;
    } while (cont && pages <= p.expectItems / p.pageLimit + 1);
    return { ms, status: 200, items, pages };
  };

  // one untimed round of each, so both are measured warm
  const warm = await fullList();
  check('full list (warm-up)', warm.status, warm.items);
  await paginatedList();

  const full: number[] = [];
  let deadline = performance.now() + p.timeLimitMs;
  while (full.length < p.iterations && performance.now() < deadline) {
    const r = await fullList();
    check('full list', r.status, r.items);
    full.push(r.ms);
  }
  const paginated: number[] = [];
  let pages = 0;
  deadline = performance.now() + p.timeLimitMs;
  while (paginated.length < p.iterations && performance.now() < deadline) {
    const r = await paginatedList();
    check(`paginated list (limit=${p.pageLimit})`, r.status, r.items);
    paginated.push(r.ms);
    pages = r.pages;
  }
  client.close();
  return { full: summarize(full), fullBytes: warm.bytes, paginated: summarize(paginated), pages, problems: [...new Set(problems)] };
});
