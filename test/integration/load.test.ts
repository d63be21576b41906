// Load: 200 concurrent keep-alive clients mix get, list, create, update and delete for a bounded time
// (LOAD_SECONDS, default 15) while 20 watches stream, behind a small mutating in-flight limit so 429s
// happen. No 5xx other than 429, and every acknowledged write is there afterwards at its
// acknowledged resourceVersion or a newer one (deletes: gone).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { installFlowControl, type InstalledFlowControl } from '../../src/apiserver/flowcontrol.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { rawRequest, readKubeconfig } from '../helpers/raw.js';

const CLIENTS = 200;
const WATCHES = 20;
const SECONDS = Number(process.env.LOAD_SECONDS ?? 15);
const MAX_OPS_PER_CLIENT = 5_000;
const NS = 'load';
const CM = `/api/v1/namespaces/${NS}/configmaps`;

interface Reply {
  status: number;
  json: { metadata?: { resourceVersion?: string }; items?: unknown[] } | undefined;
}

/** What the server acknowledged last for one name. */
interface Acked {
  op: 'create' | 'update' | 'delete';
  rv: number;
}

describe('load', () => {
  let cluster: TestCluster;
  let creds: ReturnType<typeof readKubeconfig>;
  let fc: InstalledFlowControl;

  before(async () => {
    cluster = await startTestCluster({ controllers: false });
    creds = readKubeconfig(cluster.kubeconfigPath);
    const ns = await rawRequest(cluster.kubeconfigPath, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
    assert.equal(ns.status, 201, ns.body);
    fc = installFlowControl(cluster.api, { maxMutatingRequestsInFlight: 40, maxRequestsInFlight: 80, exempt: () => false });
  });
  after(async () => {
    fc?.uninstall();
    await cluster?.close();
  });

  test(`${CLIENTS} clients and ${WATCHES} watches for ${SECONDS} s: no 5xx but 429, no lost acknowledged write`, { timeout: (SECONDS + 120) * 1000 }, async () => {
    const url = new URL(creds.server);
    const tls = { ca: creds.caPem, cert: creds.clientCertPem, key: creds.clientKeyPem };
    const codes = new Map<number, number>();
    const problems: string[] = [];
    const acked = new Map<string, Acked>();

    const send = (agent: Agent, method: string, path: string, body?: unknown): Promise<Reply> =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const headers: Record<string, string> = { Accept: 'application/json' };
        if (payload) {
          headers['Content-Type'] = 'application/json';
          headers['Content-Length'] = String(Buffer.byteLength(payload));
        }
        const req = request({ host: url.hostname, port: url.port, method, path, headers, agent, timeout: 60_000 }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            let json: Reply['json'];
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Reply['json'];
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
        req.on('error', reject);
        req.end(payload);
      });

    // watches: each must stay open and see events, never an ERROR
    const watchAgent = new Agent({ keepAlive: false, ...tls });
    const watchEvents: number[] = Array(WATCHES).fill(0);
    const watchErrors: string[] = [];
    const watchReqs = Array.from({ length: WATCHES }, (_, i) =>
      request({ host: url.hostname, port: url.port, method: 'GET', path: `${CM}?watch=true&timeoutSeconds=${SECONDS + 60}`, agent: watchAgent, headers: { Accept: 'application/json' } }, (res) => {
        if (res.statusCode !== 200) watchErrors.push(`watch ${i}: ${res.statusCode}`);
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = JSON.parse(line) as { type: string };
            if (ev.type === 'ERROR') watchErrors.push(`watch ${i}: ${line.slice(0, 200)}`);
            watchEvents[i]++;
          }
        });
        res.on('error', () => {});
      }),
    );
    for (const w of watchReqs) {
      w.on('error', (e) => watchErrors.push(`watch: ${e.message}`));
      w.end();
    }

    const deadline = Date.now() + SECONDS * 1000;
    const client = async (id: number) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1, ...tls });
      const mine: string[] = [];
      let seq = 0;
      try {
        for (let n = 0; n < MAX_OPS_PER_CLIENT && Date.now() < deadline; n++) {
          const roll = Math.random();
          const name = mine.length ? mine[Math.floor(Math.random() * mine.length)] : undefined;
          let r: Reply;
          let op: Acked['op'] | undefined;
          let target: string | undefined;
          if (roll < 0.25 || !name) {
            target = `c${id}-${seq++}`;
            op = 'create';
            r = await send(agent, 'POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: target }, data: { n: String(n) } });
            if (r.status === 201) mine.push(target);
          } else if (roll < 0.45) {
            target = name;
            op = 'update';
            const rv = acked.get(name)?.rv;
            r = await send(agent, 'PUT', `${CM}/${name}`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, resourceVersion: String(rv) }, data: { n: String(n) } });
          } else if (roll < 0.55) {
            target = name;
            op = 'delete';
            r = await send(agent, 'DELETE', `${CM}/${name}`);
            if (r.status === 200) mine.splice(mine.indexOf(name), 1);
          } else if (roll < 0.9) {
            r = await send(agent, 'GET', `${CM}/${name}`);
          } else {
            r = await send(agent, 'GET', `${CM}?limit=${Math.random() < 0.5 ? 50 : 500}`);
          }
          codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
          if (r.status >= 500) problems.push(`${op ?? 'read'} ${target ?? name}: ${r.status}`);
          if (op && target && (r.status === 200 || r.status === 201)) {
            const rv = Number(op === 'delete' ? 0 : r.json?.metadata?.resourceVersion);
            if (op !== 'delete' && !Number.isInteger(rv)) problems.push(`${op} ${target}: no resourceVersion in the answer`);
            acked.set(target, { op, rv });
          }
          if (r.status === 429) await new Promise((res) => setTimeout(res, 20 + Math.random() * 50));
        }
      } catch (e) {
        problems.push(`client ${id}: ${(e as Error).message}`);
      } finally {
        agent.destroy();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));

    const summary = [...codes.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${c}×${n}`).join(' ');
    const total = [...codes.values()].reduce((a, b) => a + b, 0);
    process.stderr.write(`load: ${total} requests in ${SECONDS} s: ${summary}; ${acked.size} names written; watch events ${Math.min(...watchEvents)}..${Math.max(...watchEvents)}\n`);
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problem(s)`);
    assert.ok((codes.get(201) ?? 0) > 0 && (codes.get(200) ?? 0) > 0, summary);

    // read back every acknowledged write
    const verify = new Agent({ keepAlive: true, maxSockets: 8, ...tls });
    const lost: string[] = [];
    const names = [...acked.keys()];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < names.length) {
          const name = names[next++];
          const want = acked.get(name)!;
          const r = await send(verify, 'GET', `${CM}/${name}`);
          if (want.op === 'delete') {
            if (r.status !== 404) lost.push(`${name}: deleted (acknowledged) but GET says ${r.status}`);
          } else if (r.status !== 200) lost.push(`${name}: ${want.op} acknowledged at ${want.rv}, GET says ${r.status}`);
          else if (Number(r.json?.metadata?.resourceVersion) < want.rv) lost.push(`${name}: acknowledged at ${want.rv}, stored at ${r.json?.metadata?.resourceVersion}`);
        }
      }),
    );
    verify.destroy();
    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} acknowledged write(s) lost of ${names.length}`);

    for (const w of watchReqs) w.destroy();
    watchAgent.destroy();
    assert.deepEqual(watchErrors, []);
    assert.ok(watchEvents.every((n) => n > 0), `a watch saw nothing: ${watchEvents.join(',')}`);
    const live = (await rawRequest(cluster.kubeconfigPath, 'GET', '/readyz')).status;
    assert.equal(live, 200);
    assert.deepEqual(fc.inFlight(), { readOnly: 0, mutating: 0 });
  });
});
