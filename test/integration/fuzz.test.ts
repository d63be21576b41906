// API fuzzing: 10,000 randomized, malformed requests (seeded PRNG; FUZZ_SEED, FUZZ_COUNT override) against a
// running server — bodies, headers, paths, query parameters, patch documents of the four types, protobuf
// bytes — must get no 5xx, leave the server alive, and leave every stored object exactly as it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:https';
import { connect } from 'node:tls';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { rawRequest, readKubeconfig } from '../helpers/raw.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
const CONCURRENCY = 16;
const NS = 'fuzz';

/** mulberry32: small, seeded, good enough to pick cases. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

const RESOURCES = [
  `/api/v1/namespaces/${NS}/configmaps`,
  `/api/v1/namespaces/${NS}/secrets`,
  `/api/v1/namespaces/${NS}/pods`,
  `/api/v1/namespaces/${NS}/services`,
  `/apis/apps/v1/namespaces/${NS}/deployments`,
  `/apis/batch/v1/namespaces/${NS}/jobs`,
  `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`,
  `/api/v1/namespaces`,
  `/api/v1/nodes`,
  `/apis/apiextensions.k8s.io/v1/customresourcedefinitions`,
];
const TARGETS: Record<string, string> = {
  [`/api/v1/namespaces/${NS}/configmaps`]: 'target',
  [`/api/v1/namespaces/${NS}/secrets`]: 'target',
  [`/apis/apps/v1/namespaces/${NS}/deployments`]: 'target',
  [`/api/v1/namespaces`]: NS,
};
const SUBRESOURCES = ['status', 'scale', 'log', 'eviction', 'binding', 'token', 'finalize', 'proxy', 'exec', 'attach', 'portforward', 'ephemeralcontainers', 'nope'];

function deeplyNested(depth: number, arrays: boolean): string {
  return arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** A body that no server may accept for a create or an update. */
function badBody(r: Rng, resource: string): { body: Buffer | string; type: string } {
  const kind = resource.includes('configmaps') ? 'ConfigMap' : resource.includes('deployments') ? 'Deployment' : 'Secret';
  const apiVersion = resource.includes('/apps/') ? 'apps/v1' : 'v1';
  const json = 'application/json';
  switch (r.int(16)) {
    case 0:
      return { body: JSON.stringify({ apiVersion, kind, metadata: { name: 'x' } }).slice(0, 1 + r.int(40)), type: json };
    case 1:
      return { body: r.bytes(1 + r.int(300)), type: r.pick([json, 'application/yaml', 'application/vnd.kubernetes.protobuf']) };
    case 2:
      return { body: deeplyNested(1000 + r.int(100_000), r.chance(0.5)), type: json };
    case 3:
      return { body: `{"apiVersion":"${apiVersion}","kind":"${kind}","metadata":{"name":"n${r.int(1e6)}"},"spec":{"replicas":1e400},"data":{"k":1e999}}`, type: json };
    case 4:
      return { body: JSON.stringify({ apiVersion, kind, metadata: r.pick([5, 'str', [], { name: 7 }, { name: 'UPPER_case!' }, { name: ['x'] }]) }), type: json };
    // (an empty or absent kind or apiVersion is taken from the URL, as upstream does: not a defect)
    case 5:
      return { body: JSON.stringify({ apiVersion: r.pick(['v9', 'apps/v1beta0', 7, 'v1/v1']), kind, metadata: { name: `n${r.int(1e6)}` } }), type: json };
    case 6:
      return { body: JSON.stringify({ apiVersion, kind: r.pick(['Nope', 42, ['ConfigMap']]), metadata: { name: `n${r.int(1e6)}` } }), type: json };
    case 7:
      return { body: r.pick(['a: [b\n  - c', 'key: {unclosed', '- - - :', '!!binary zz', 'a: &x [*x]', '---\n...\n%YAML 9.9\n']), type: 'application/yaml' };
    case 8:
      return { body: `a: &a [${'*a,'.repeat(50)}]\nb: &b [${'*a,'.repeat(50)}]\nc: [${'*b,'.repeat(50)}]\n`, type: 'application/yaml' };
    case 9:
      return { body: Buffer.concat([Buffer.from('k8s\0'), r.bytes(r.int(200))]), type: 'application/vnd.kubernetes.protobuf' };
    case 10:
      return { body: Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), r.bytes(r.int(20))]), type: 'application/vnd.kubernetes.protobuf' };
    case 11:
      return { body: JSON.stringify(r.pick([null, 42, 'string', [1, 2], true])), type: json };
    case 12:
      return { body: JSON.stringify({ apiVersion, kind, metadata: { name: `n${r.int(1e6)}`, labels: { 'bad key!': 'v' } } }), type: json };
    case 13:
      return { body: JSON.stringify({ apiVersion, kind, metadata: { name: `n${r.int(1e6)}` } }), type: r.pick(['text/plain', 'application/xml', 'application/json-patch+json', '*/*', 'application/jsonx']) };
    case 14:
      return { body: `{"apiVersion":"${apiVersion}","kind":"${kind}","metadata":{"name":"\uD800"}}`, type: json };
    default:
      return { body: `{"apiVersion":"${apiVersion}","kind":"${kind}","metadata":{"name":"dup"},"metadata":{"name":"dup2","namespace":"other"}}`, type: json };
  }
}

/** A patch request that must be refused whatever it targets. */
function badPatch(r: Rng): { body: Buffer | string; type: string; query?: string } {
  switch (r.int(12)) {
    case 0:
      return { body: JSON.stringify({ op: 'add', path: '/x', value: 1 }), type: 'application/json-patch+json' };
    case 1:
      return { body: JSON.stringify([{ op: r.pick(['frobnicate', '', 7, null]), path: '/metadata/labels/a', value: 'b' }]), type: 'application/json-patch+json' };
    case 2:
      return { body: JSON.stringify([{ op: r.pick(['replace', 'remove', 'move', 'copy']), path: r.pick(['no-slash', '/nope/deeper/still', '/metadata/labels/~2', '/spec/containers/99']), from: '/nope/x' }]), type: 'application/json-patch+json' };
    case 3:
      return { body: JSON.stringify([{ op: 'test', path: '/metadata/name', value: 'not-the-name' }, { op: 'add', path: '/metadata/labels', value: { x: 'y' } }]), type: 'application/json-patch+json' };
    case 4:
      return { body: JSON.stringify(r.pick([[1, 2], 42, 'str', null])), type: r.pick(['application/merge-patch+json', 'application/strategic-merge-patch+json']) };
    case 5:
      return { body: JSON.stringify({ metadata: { name: 'renamed', namespace: 'elsewhere' } }), type: r.pick(['application/merge-patch+json', 'application/strategic-merge-patch+json']) };
    case 6:
      return { body: JSON.stringify({ metadata: { labels: { a: 'b' } }, $patch: r.pick(['explode', 'replace-all', 7]) }), type: 'application/strategic-merge-patch+json' };
    case 7:
      return { body: JSON.stringify({ spec: { template: { spec: { containers: [{ $patch: 'delete' }] } } }, data: 5, metadata: { resourceVersion: '1' } }), type: 'application/strategic-merge-patch+json' };
    case 8:
      return { body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: target}\ndata: {k: v}\n', type: 'application/apply-patch+yaml' };
    case 9:
      return { body: 'apiVersion: v1\nkind: Nope\nmetadata: {name: other}\n', type: 'application/apply-patch+yaml', query: 'fieldManager=fuzz' };
    case 10:
      return { body: r.bytes(r.int(200)), type: r.pick(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml']) };
    default:
      return { body: deeplyNested(5000 + r.int(50_000), r.chance(0.5)), type: r.pick(['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json']) };
  }
}

const QUERY_NAMES = ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'resourceVersionMatch', 'watch', 'timeoutSeconds', 'allowWatchBookmarks', 'sendInitialEvents', 'fieldManager', 'fieldValidation', 'dryRun', 'pretty', 'includeObject', 'propagationPolicy', 'gracePeriodSeconds', 'orphanDependents', 'force', 'container', 'follow', 'tailLines', 'sinceSeconds', 'limitBytes'];
const QUERY_VALUES = ['', '!', 'a=', '=b', 'a in (', 'a notin (b,c', 'a,,b', 'metadata.name', 'spec.nodeName=a=b', 'x!=', '-1', '0', '1e10', '99999999999999999999', 'NaN', 'abc', 'true', 'false', '%', '%ZZ', '\u0000', 'Strict', 'All', 'Exact', 'NotOlderThan', 'Table', 'Foreground', 'null', '💥', 'a'.repeat(5000), 'eyJ2IjoibWV0YTUuazhzLmlvL3YxIiwicnYiOi0xfQ', '../../etc/passwd'];

function query(r: Rng, forWrite: boolean): string {
  const parts: string[] = [];
  for (let i = r.int(4); i > 0; i--) {
    const name = r.pick(QUERY_NAMES);
    // an unbounded watch would outlive the test: reads keep a timeout
    if (name === 'timeoutSeconds' || (!forWrite && name === 'watch')) continue;
    const v = r.pick(QUERY_VALUES);
    parts.push(`${name}=${r.chance(0.8) ? encodeURIComponent(v) : v.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c))}`);
  }
  return parts.join('&');
}

function weirdPath(r: Rng): string {
  const base = r.pick(RESOURCES);
  switch (r.int(10)) {
    case 0:
      return base + '/' + r.pick(['..', '.', '%2e%2e', '%2F', '%00', '%', '%E0%A4%A', '%C0%AF', '\u00e9t\u00e9'.normalize('NFD'), '💥']);
    case 1:
      return base + '/' + 'a'.repeat(r.pick([254, 300, 5000, 60_000]));
    case 2:
      return base.replace(/\/v1\//, `/${r.pick(['v0', 'v1beta9', '%76%31', 'V1', ''])}/`);
    case 3:
      return `${base}/${TARGETS[base] ?? 'x'}/${r.pick(SUBRESOURCES)}${r.chance(0.3) ? '/extra/segments' : ''}`;
    case 4:
      return r.pick(['/', '//', '/api', '/apis', '/apis/', '/apis/apps', '/api/v2', '/openapi/v2', '/openapi/v3/apis/nope', '/version/x', '/healthz/../api', '/logs', '/metrics', '/.well-known/openid-configuration', '/openid/v1/jwks', '/apis/apps/v1/watch', '/api/v1/watch/namespaces']);
    case 5:
      return base.replace('namespaces/fuzz', r.pick(['namespaces/', 'namespaces/UPPER', 'namespaces/%00', 'namespaces/..', 'namespaces/' + 'n'.repeat(300)]));
    case 6:
      return '/api/v1/' + Array.from({ length: 1 + r.int(10) }, () => r.pick(['namespaces', 'fuzz', 'watch', 'pods', 'x', '', '%2f'])).join('/');
    case 7:
      return '/apis/' + r.pick(['nope.example.com/v1/things', 'apps/v1/nope', 'apps/v1/namespaces/fuzz/deployments/target/status/x', 'rbac.authorization.k8s.io/v1/clusterroles/admin/extra']);
    default:
      return `${base}/${r.chance(0.5) ? (TARGETS[base] ?? 'missing') : `missing-${r.int(1000)}`}`;
  }
}

const ACCEPTS = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1', 'application/json;as=Nope;g=x;v=v0', 'text/html', '*/*', '', ';;;', 'application/json;q=abc', 'application/json;stream=watch'];

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  /** the request must be refused: it asks to change something with a defect */
  mustFail: boolean;
  watch: boolean;
}

function fuzzRequest(r: Rng): FuzzRequest {
  const headers: Record<string, string> = {};
  if (r.chance(0.6)) headers.Accept = r.pick(ACCEPTS);
  if (r.chance(0.1)) headers['Accept-Encoding'] = r.pick(['gzip', 'br', 'x-nope', '']);
  if (r.chance(0.05)) headers['Impersonate-User'] = r.pick(['', 'nobody', 'system:serviceaccount:', 'system:serviceaccount:a:b:c']);
  if (r.chance(0.03)) headers['Impersonate-Group'] = 'g';
  if (r.chance(0.05)) headers['Content-Encoding'] = r.pick(['gzip', 'deflate', 'x-nope']);
  const method = r.pick(['GET', 'GET', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'FROB']);
  const write = method !== 'GET' && method !== 'HEAD';
  let path = r.chance(0.5) ? weirdPath(r) : r.pick(RESOURCES);
  let q = query(r, write);
  let body: Buffer | string | undefined;
  const mustFail = write;
  if (method === 'PATCH') {
    const p = badPatch(r);
    if (!/\/(target|fuzz)(\/|$)/.test(path)) path = `${r.pick(Object.keys(TARGETS))}/${TARGETS[r.pick(Object.keys(TARGETS))] ?? 'target'}`;
    body = p.body;
    headers['Content-Type'] = r.chance(0.9) ? p.type : r.pick(['application/json', 'text/plain', '']);
    if (p.query) q = q ? `${q}&${p.query}` : p.query;
    // an apply without a field manager is the defect of that case
    else if (p.type === 'application/apply-patch+yaml') q = q.split('&').filter((x) => !x.startsWith('fieldManager=')).join('&');
  } else if (method === 'POST' || method === 'PUT') {
    const b = badBody(r, path);
    body = b.body;
    if (b.type || r.chance(0.5)) headers['Content-Type'] = b.type;
  } else if (method === 'DELETE') {
    // a delete with a body that cannot be DeleteOptions
    body = r.pick(['{', '[1,2', '{"kind":"DeleteOptions","gracePeriodSeconds":"soon"', 'not json at all', Buffer.from([0xff, 0xfe, 0x00])]);
    headers['Content-Type'] = r.pick(['application/json', 'application/yaml']);
  } else if (r.chance(0.1)) {
    body = r.bytes(r.int(100));
  }
  const watch = /(^|&)watch=/.test(q) || path.includes('/watch/');
  if (method === 'GET' && r.chance(0.15)) q = `${q ? q + '&' : ''}watch=${r.pick(['true', '1', 'false', 'yes'])}&timeoutSeconds=${r.pick(['1', '0', '-5', 'abc'])}`;
  if (r.chance(0.05) && !write) q = `${q}&timeoutSeconds=${r.pick(['x', '-1', '1e9'])}`;
  return { method, path: q ? `${path}?${q}` : path, headers, body, mustFail, watch: watch || /watch=(true|1|yes)/.test(q) };
}

interface Outcome {
  status: number;
  body: string;
}

describe('API fuzzing', () => {
  let cluster: TestCluster;
  let agent: Agent;
  let creds: ReturnType<typeof readKubeconfig>;

  before(async () => {
    cluster = await startTestCluster({ controllers: false });
    creds = readKubeconfig(cluster.kubeconfigPath);
    agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: creds.caPem, cert: creds.clientCertPem, key: creds.clientKeyPem });
    const admin = (method: string, path: string, body: unknown) => rawRequest(cluster.kubeconfigPath, method, path, { body });
    const created = await Promise.all([
      admin('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }),
      admin('POST', `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target', labels: { a: 'b' } }, data: { k: 'v' } }),
      admin('POST', `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'target' }, stringData: { password: 'p' } }),
      admin('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'target' },
        spec: { replicas: 1, selector: { matchLabels: { app: 't' } }, template: { metadata: { labels: { app: 't' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
      }),
    ]);
    for (const c of created.slice(1)) assert.equal(c.status, 201, c.body);
  });
  after(async () => {
    agent?.destroy();
    await cluster?.close();
  });

  /** Every stored key, revision and value, and the store's revision. */
  async function checksum(): Promise<{ revision: number; sha: string; keys: string[] }> {
    const h = createHash('sha256');
    const list = await cluster.store.list('/');
    for (const it of list.items) h.update(`${it.key}\0${it.rev}\0${it.value}\0`);
    return { revision: cluster.store.currentRevision(), sha: h.digest('hex'), keys: list.items.map((i) => `${i.key}@${i.rev}`) };
  }

  function send(f: FuzzRequest): Promise<Outcome> {
    const url = new URL(creds.server);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...f.headers };
      if (f.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(f.body));
      const path = f.path.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
      const req = request({ host: url.hostname, port: url.port, method: f.method, path, headers, agent, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        if (f.watch && res.statusCode === 200) {
          // a watch that started is fine; stop it here
          res.destroy();
          resolve({ status: 200, body: '' });
          return;
        }
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size < 4096) chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer in 15 s: ${f.method} ${f.path.slice(0, 200)}`)));
      req.on('error', reject);
      req.end(f.body);
    });
  }

  /** Bytes Node's own client will not send (control characters, bad header names, broken framing), one connection each. */
  function sendRaw(bytes: Buffer): Promise<Outcome> {
    const url = new URL(creds.server);
    return new Promise((resolve, reject) => {
      const sock = connect({ host: url.hostname, port: Number(url.port), ca: creds.caPem, cert: creds.clientCertPem, key: creds.clientKeyPem }, () => sock.end(bytes));
      const chunks: Buffer[] = [];
      sock.setTimeout(10_000, () => sock.destroy(new Error('raw request: no answer in 10 s')));
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.on('error', reject);
      sock.on('close', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        resolve({ status: m ? Number(m[1]) : 0, body: text.slice(0, 300) });
      });
    });
  }

  function rawCase(r: Rng): Buffer {
    const path = r.pick(RESOURCES);
    switch (r.int(6)) {
      case 0:
        return Buffer.from(`GET ${path}/\u0000x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 'latin1');
      case 1:
        return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nBad Header: v\r\nConnection: close\r\n\r\n`, 'latin1');
      case 2:
        return Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, 'latin1');
      case 3:
        return Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\nConnection: close\r\n\r\n{}`, 'latin1');
      case 4:
        return Buffer.from(`GET ${path}/caf\u00e9/${'\u00ff'.repeat(10)} HTTP/1.1\r\nHost: x\r\nX-Weird: \u00ff\u00fe\r\nConnection: close\r\n\r\n`, 'latin1');
      default:
        return Buffer.concat([Buffer.from(`FROB ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`), r.bytes(r.int(64))]);
    }
  }

  test(`${COUNT} malformed requests: no 5xx, refused writes, server alive, stored data unchanged`, { timeout: 600_000 }, async () => {
    const before = await checksum();
    const r = prng(SEED);
    const cases: { f?: FuzzRequest; raw?: Buffer }[] = [];
    for (let i = 0; i < COUNT; i++) cases.push(r.chance(0.02) ? { raw: rawCase(r) } : { f: fuzzRequest(r) });
    const problems: string[] = [];
    // writes the server took as no-ops (an update to the same content): the checksum below says whether anything changed
    const accepted: string[] = [];
    const codes = new Map<number, number>();
    let next = 0;
    const started = Date.now();
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++];
        let out: Outcome;
        try {
          out = c.raw ? await sendRaw(c.raw) : await send(c.f!);
        } catch (e) {
          problems.push(`${c.f ? `${c.f.method} ${c.f.path.slice(0, 200)}` : c.raw!.toString('latin1').slice(0, 120)}: ${(e as Error).message}`);
          continue;
        }
        codes.set(out.status, (codes.get(out.status) ?? 0) + 1);
        const what = c.f ? `${c.f.method} ${c.f.path.slice(0, 200)} [${c.f.headers['Content-Type'] ?? ''}] ${String(c.f.body ?? '').slice(0, 120)}` : JSON.stringify(c.raw!.toString('latin1').slice(0, 120));
        // upstream too answers a resourceVersion from the future with 504 Timeout, "Too large resource version"
        const futureRV = out.status === 504 && out.body.includes('Too large resource version');
        if ((out.status >= 500 && !futureRV) || out.status < 100) problems.push(`${out.status} for ${what}: ${out.body.slice(0, 300)}`);
        else if (c.f?.mustFail && out.status < 400) accepted.push(`${out.status} ${what.slice(0, 400)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (Date.now() - started) / 1000;
    const summary = [...codes.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${c}×${n}`).join(' ');
    process.stderr.write(`fuzz: ${COUNT} requests in ${seconds.toFixed(1)} s (seed ${SEED}): ${summary}; ${accepted.length} defective writes answered < 400\n`);
    if (process.env.FUZZ_VERBOSE) for (const a of accepted) process.stderr.write(`  accepted: ${a}\n`);
    assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problem(s)`);
    const internal = cluster.logs.filter((l) => l.startsWith('internal error'));
    assert.deepEqual(internal.slice(0, 5), []);
    const health = await rawRequest(cluster.kubeconfigPath, 'GET', '/readyz');
    assert.equal(health.status, 200);
    const get = await rawRequest(cluster.kubeconfigPath, 'GET', `/api/v1/namespaces/${NS}/configmaps/target`);
    assert.equal(get.status, 200);
    assert.deepEqual(await checksum(), before);
    // no bound on the wall time: a hanging request fails the test through its timeout, and machines are noisy
  });
});
