// Benchmark 13: what security costs. (1) GET of one ConfigMap as a non-admin user authenticated by
// client certificate and authorized by RBAC (a RoleBinding), against the same GET, also over TLS, from a
// server that neither authenticates nor authorizes (`--authorization-mode AlwaysAllow`, no client
// credentials): that ratio is the price of authn + RBAC. Also as an admin over TLS (system:masters skips
// the RBAC rules: RBAC alone) and from an --insecure-http server (TLS included). (2) Secret creates
// and reads per second with encryption at rest (the default AES-GCM config) against an
// EncryptionConfiguration that has only `identity`. Node keep-alive clients on the load core.
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { issueCert } from '../src/cli/pki.js';
import { runBench } from './lib/harness.js';
import { Client, configMap, secret } from './lib/http.js';
import { SHORT, watchProcess, type ServerProcess } from './lib/proc.js';
import { num, ratio } from './lib/stats.js';

const IN_FLIGHT = 32;
const ROUNDS = 2;
const ROUND_S = SHORT ? 3 : 6;
const WARM_UP_S = SHORT ? 1 : 2;
const MAX_REQUESTS = 2_000_000;
const NS = 'bench';
const PATH = `/api/v1/namespaces/${NS}/configmaps/cm-1k`;
const SECRET_BYTES = 1024;

interface Target {
  name: string;
  send(method: string, path: string, body?: string): Promise<number>;
  close(): void;
}

function target(name: string, base: string, tls?: { ca: string; cert?: string; key?: string }): Target {
  const url = new URL(base);
  if (url.hostname !== '127.0.0.1') throw new Error(`bench clients talk to 127.0.0.1 only, not ${url.hostname}`);
  const agent = tls ? new HttpsAgent({ keepAlive: true, maxSockets: IN_FLIGHT, ...tls }) : new HttpAgent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const request = tls ? httpsRequest : httpRequest;
  return {
    name,
    send: (method, path, body) =>
      new Promise((resolve, reject) => {
        const headers: Record<string, string | number> = { Accept: 'application/json' };
        if (body !== undefined) {
          headers['Content-Type'] = 'application/json';
          headers['Content-Length'] = Buffer.byteLength(body);
        }
        const req = request({ host: url.hostname, port: url.port, method, path, headers, agent, timeout: 30_000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** `IN_FLIGHT` requests kept in flight for `seconds`: responses per second, and the statuses that were not `ok`. */
async function closedLoop(t: Target, seconds: number, next: (i: number) => [string, string, string?], ok: number): Promise<{ rps: number; bad: number; requests: number }> {
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let i = 0;
  let done = 0;
  let bad = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < end && i < MAX_REQUESTS) {
        const [method, path, body] = next(i++);
        const status = await t.send(method, path, body);
        done++;
        if (status !== ok) bad++;
      }
    }),
  );
  return { rps: done / ((performance.now() - t0) / 1000), bad, requests: done };
}

await runBench('authz', 13, 'Cost of authentication + RBAC; Secrets with and without encryption at rest', async (b) => {
  const r = b.report;

  // ---- (1) authn + RBAC on a GET ----
  const secure = await b.timonel({ tag: 'authz-tls', insecureHttp: false });
  const open = await b.timonel({ tag: 'authz-open', insecureHttp: false, args: ['--authorization-mode', 'AlwaysAllow'] });
  const insecure = await b.timonel({ tag: 'authz-http' });
  const secureDir = secureDataDir(secure);
  const pki = join(secureDir, 'pki');
  const ca = { certPem: readFileSync(join(pki, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(pki, 'ca.key'), 'utf8') };
  const admin = { ca: ca.certPem, cert: readFileSync(join(pki, 'admin.crt'), 'utf8'), key: readFileSync(join(pki, 'admin.key'), 'utf8') };
  const reader = await issueCert(ca, { commonName: 'bench-reader', organizations: ['bench-readers'], client: true, days: 1 });
  const adminT = target('https, admin (system:masters)', secure.url, admin);
  const userT = target('https, user with a RoleBinding', secure.url, { ca: ca.certPem, cert: reader.certPem, key: reader.keyPem });
  const plainT = target('--insecure-http', insecure.url);
  const openT = target('https, anonymous, AlwaysAllow', open.url, { ca: readFileSync(join(secureDataDir(open), 'pki', 'ca.crt'), 'utf8') });
  const body = JSON.stringify(configMap('cm-1k', 1024));
  for (const t of [adminT, plainT, openT]) {
    if ((await t.send('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }))) !== 201) throw new Error(`${t.name}: namespace not created`);
    if ((await t.send('POST', `/api/v1/namespaces/${NS}/configmaps`, body)) !== 201) throw new Error(`${t.name}: ConfigMap not created`);
  }
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'bench-readers-view', namespace: NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bench-reader' }],
  };
  if ((await adminT.send('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, JSON.stringify(binding))) !== 201) throw new Error('RoleBinding not created');
  for (let i = 0; i < 200 && (await userT.send('GET', PATH)) !== 200; i++) await new Promise((res) => setTimeout(res, 25));
  if ((await userT.send('GET', PATH)) !== 200) throw new Error('the RoleBinding does not let bench-reader read the ConfigMap');
  r.log(`GET of a 1 KiB ConfigMap, ${IN_FLIGHT} requests in flight on keep-alive connections (Node client);`);
  r.log(`${WARM_UP_S} s warm-up each, then ${ROUNDS} interleaved rounds of ${ROUND_S} s per variant`);

  const getTargets = [userT, adminT, plainT, openT];
  const totals = new Map<Target, { requests: number; seconds: number }>(getTargets.map((t) => [t, { requests: 0, seconds: 0 }]));
  for (const t of getTargets) await closedLoop(t, WARM_UP_S, () => ['GET', PATH], 200);
  const sampler = watchProcess(secure.pid, [insecure.pid, open.pid]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of getTargets) {
      const res = await closedLoop(t, ROUND_S, () => ['GET', PATH], 200);
      if (res.bad) r.problem(`${t.name}: ${res.bad} answers were not 200`);
      r.log(`  ${t.name} round ${round + 1}: ${num(res.rps)} req/s`);
      const tot = totals.get(t)!;
      tot.requests += res.requests;
      tot.seconds += res.requests / res.rps;
    }
  }
  b.contention(sampler.stop(), 'the GET rounds');
  b.alive(secure, 'the GET load');
  const rate = (t: Target) => totals.get(t)!.requests / totals.get(t)!.seconds;
  const [user, adm, plain, anon] = getTargets.map(rate);
  r.row({ metric: 'GET as an RBAC user over client-cert TLS, req/s', value: num(user), baseline: `${num(anon)} (TLS, no authn/authz)`, ratio: ratio(user / anon), goal: '< 10% slower', met: user / anon >= 0.9 });
  r.row({ metric: 'GET: RBAC rules alone (RBAC user vs admin, both TLS), req/s', value: num(user), baseline: `${num(adm)} (admin over TLS)`, ratio: ratio(user / adm), goal: '< 10% slower', met: user / adm >= 0.9 });
  r.row({ metric: 'GET: authn + RBAC + TLS, req/s', value: num(user), baseline: `${num(plain)} (--insecure-http)`, ratio: ratio(user / plain) });
  for (const t of getTargets) t.close();
  await secure.stop();
  await open.stop();
  await insecure.stop();

  // ---- (2) Secrets with and without encryption at rest ----
  const identityDir = b.dir('authz-identity');
  const identityConfig = join(identityDir, 'identity.yaml');
  writeFileSync(
    identityConfig,
    'apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - identity: {}\n',
  );
  const encrypted = await b.timonel({ tag: 'authz-enc' });
  const plainStore = await b.timonel({ tag: 'authz-noenc', args: ['--encryption-provider-config', identityConfig] });
  const secretTargets = [target('encrypted (AES-GCM)', encrypted.url), target('identity', plainStore.url)];
  for (const s of [encrypted, plainStore]) await new Client(s.url).ensureNamespace(NS);
  const created = new Map<Target, number>();
  const results = new Map<Target, { create: number; read: number }>(secretTargets.map((t) => [t, { create: 0, read: 0 }]));
  const sampler2 = watchProcess(encrypted.pid, [plainStore.pid]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of secretTargets) {
      const base = created.get(t) ?? 0;
      const c = await closedLoop(t, ROUND_S, (i) => ['POST', `/api/v1/namespaces/${NS}/secrets`, JSON.stringify(secret(`s-${base + i}`, SECRET_BYTES))], 201);
      if (c.bad) r.problem(`${t.name}: ${c.bad} creates were not 201`);
      created.set(t, base + c.requests);
      const n = base + c.requests;
      const g = await closedLoop(t, ROUND_S, (i) => ['GET', `/api/v1/namespaces/${NS}/secrets/s-${(i * 7919) % n}`], 200);
      if (g.bad) r.problem(`${t.name}: ${g.bad} reads were not 200`);
      r.log(`  ${t.name} round ${round + 1}: ${num(c.rps)} creates/s, ${num(g.rps)} reads/s (${n} Secrets)`);
      const res = results.get(t)!;
      res.create += c.rps / ROUNDS;
      res.read += g.rps / ROUNDS;
    }
  }
  b.contention(sampler2.stop(), 'the Secret rounds');
  b.alive(encrypted, 'the Secret load');
  const [enc, id] = secretTargets.map((t) => results.get(t)!);
  r.row({ metric: `Secret create (${SECRET_BYTES} B), /s, encrypted at rest`, value: num(enc.create), baseline: `${num(id.create)} (identity)`, ratio: ratio(enc.create / id.create) });
  r.row({ metric: 'Secret GET, /s, encrypted at rest', value: num(enc.read), baseline: `${num(id.read)} (identity)`, ratio: ratio(enc.read / id.read) });
  for (const t of secretTargets) t.close();
});

/** The data dir of a running server, from its command line. */
function secureDataDir(s: ServerProcess): string {
  const m = /--data-dir (\S+)/.exec(readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').split('\0').join(' '));
  if (!m) throw new Error('cannot find the data dir of the HTTPS server');
  return m[1];
}
