// Bad requests get a meaningful Status and never change stored data; the server keeps serving.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { rawRequest, type RawRequestOptions, type RawResponse } from '../helpers/raw.js';

const NS = 'bad';
const CM = `/api/v1/namespaces/${NS}/configmaps`;
const DEPLOY = `/apis/apps/v1/namespaces/${NS}/deployments`;

interface StatusBody {
  kind?: string;
  apiVersion?: string;
  status?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; kind?: string; group?: string; causes?: { field?: string; reason?: string; message?: string }[] };
}

const deploymentBody = (name: string, replicas: unknown = 1) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
  },
});

describe('bad input', () => {
  let cluster: TestCluster;
  const req = (method: string, path: string, opts?: RawRequestOptions) => rawRequest(cluster.kubeconfigPath, method, path, opts);

  /** Everything readable about stored state: the targets' bodies and the store's revision. */
  async function snapshot() {
    const [cm, deploy, list] = await Promise.all([req('GET', `${CM}/target`), req('GET', `${DEPLOY}/target`), req('GET', CM)]);
    assert.equal(cm.status, 200);
    assert.equal(deploy.status, 200);
    return { revision: cluster.store.currentRevision(), cm: cm.json, deploy: deploy.json, list: (list.json as { items: unknown[] }).items };
  }

  /** Sends a bad request and checks its Status and that nothing was stored. */
  async function refused(
    method: string,
    path: string,
    opts: RawRequestOptions,
    want: { code: number | ((c: number) => boolean); reason?: string; message: RegExp },
  ): Promise<StatusBody> {
    const before = await snapshot();
    const r: RawResponse = await req(method, path, opts);
    const status = r.json as StatusBody | undefined;
    const where = `${method} ${path} → ${r.status} ${r.body.slice(0, 300)}`;
    if (typeof want.code === 'number') assert.equal(r.status, want.code, where);
    else assert.ok(want.code(r.status), where);
    assert.ok(status, `not JSON: ${where}`);
    assert.equal(status.kind, 'Status', where);
    assert.equal(status.apiVersion, 'v1', where);
    assert.equal(status.status, 'Failure', where);
    assert.equal(status.code, r.status, where);
    if (want.reason) assert.equal(status.reason, want.reason, where);
    assert.match(status.message ?? '', want.message, where);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.deepEqual(await snapshot(), before, `stored data changed after ${method} ${path}`);
    return status;
  }

  before(async () => {
    cluster = await startTestCluster({ controllers: ['namespace'] });
    const ns = await req('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
    assert.equal(ns.status, 201, ns.body);
    const cm = await req('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target', labels: { a: 'b' } }, data: { k: 'v' } } });
    assert.equal(cm.status, 201, cm.body);
    const d = await req('POST', DEPLOY, { body: deploymentBody('target') });
    assert.equal(d.status, 201, d.body);
  });
  after(async () => {
    await cluster?.close();
  });

  test('malformed JSON → 400 BadRequest', async () => {
    const broken = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"';
    await refused('POST', CM, { body: broken, headers: { 'Content-Type': 'application/json' } }, { code: 400, reason: 'BadRequest', message: /JSON|decode|unexpected|invalid/i });
    await refused('PUT', `${CM}/target`, { body: broken, headers: { 'Content-Type': 'application/json' } }, { code: 400, reason: 'BadRequest', message: /JSON|decode|unexpected|invalid/i });
    await refused('PATCH', `${CM}/target`, { body: '{"data": ', headers: { 'Content-Type': 'application/merge-patch+json' } }, { code: 400, reason: 'BadRequest', message: /JSON|decode|unexpected|invalid/i });
    await refused('POST', CM, { body: '[1, 2, 3]', headers: { 'Content-Type': 'application/json' } }, { code: 400, message: /object|cannot be handled|ConfigMap/i });
    await refused('POST', CM, { body: '', headers: { 'Content-Type': 'application/json' } }, { code: 400, message: /.+/ });
  });

  test('malformed YAML (Content-Type: application/yaml) → 400 BadRequest', async () => {
    await refused(
      'POST',
      CM,
      { body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n  labels: {a: b\n', headers: { 'Content-Type': 'application/yaml' } },
      { code: 400, reason: 'BadRequest', message: /yaml/i },
    );
    await refused('PUT', `${CM}/target`, { body: 'data:\n\tk: tab-indented\n', headers: { 'Content-Type': 'application/yaml' } }, { code: 400, reason: 'BadRequest', message: /yaml/i });
    // well-formed YAML still works through the same path
    const ok = await req('POST', CM, { body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-yaml}\ndata: {k: v}\n', headers: { 'Content-Type': 'application/yaml' } });
    assert.equal(ok.status, 201, ok.body);
    assert.equal(((await req('DELETE', `${CM}/from-yaml`)).status), 200);
  });

  test('a body over 3 MiB → 413 RequestEntityTooLarge, with or without Content-Length', async () => {
    const big = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { blob: 'x'.repeat(3 * 1024 * 1024 + 1) } };
    await refused('POST', CM, { body: big }, { code: 413, reason: 'RequestEntityTooLarge', message: /too large/i });
    await refused('POST', CM, { body: big, chunked: true }, { code: 413, reason: 'RequestEntityTooLarge', message: /too large/i });
    await refused('PUT', `${CM}/target`, { body: { ...big, metadata: { name: 'target' } } }, { code: 413, reason: 'RequestEntityTooLarge', message: /too large/i });
    assert.equal((await req('GET', `${CM}/big`)).status, 404);
  });

  test('a kind sent to the wrong URL → 400', async () => {
    const s = await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wrong' }, data: {} } }, { code: 400, reason: 'BadRequest', message: /Secret/ });
    assert.match(s.message!, /ConfigMap|configmaps/);
    await refused('POST', CM, { body: { apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'wrong' } } }, { code: 400, reason: 'BadRequest', message: /apps\/v1/ });
    await refused('PUT', `${CM}/target`, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'target' } } }, { code: 400, reason: 'BadRequest', message: /Secret/ });
  });

  test('namespace in the body differs from the URL → 400', async () => {
    await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'elsewhere', namespace: 'default' } } }, { code: 400, reason: 'BadRequest', message: /namespace/ });
    await refused('PUT', `${CM}/target`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target', namespace: 'default' }, data: { k: 'changed' } } }, { code: 400, reason: 'BadRequest', message: /namespace/ });
    await refused('PUT', `${CM}/target`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other' }, data: { k: 'changed' } } }, { code: 400, reason: 'BadRequest', message: /name/ });
  });

  test('an invalid name → 422 Invalid with causes[].field metadata.name', async () => {
    const s = await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'BAD_Name' } } }, { code: 422, reason: 'Invalid', message: /BAD_Name/ });
    assert.equal(s.details?.name, 'BAD_Name');
    assert.equal(s.details?.kind, 'ConfigMap');
    const cause = s.details?.causes?.find((c) => c.field === 'metadata.name');
    assert.ok(cause, JSON.stringify(s.details));
    assert.equal(cause.reason, 'FieldValueInvalid');
    assert.match(cause.message ?? '', /RFC 1123|lower case/);
    const long = await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a'.repeat(254) } } }, { code: 422, reason: 'Invalid', message: /metadata\.name/ });
    assert.ok(long.details?.causes?.some((c) => c.field === 'metadata.name'));
    const missing = await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } }, { code: 422, reason: 'Invalid', message: /name/ });
    assert.ok(missing.details?.causes?.some((c) => c.field === 'metadata.name' && c.reason === 'FieldValueRequired'), JSON.stringify(missing.details));
  });

  test('invalid labels and annotations → 422 Invalid', async () => {
    const s = await refused(
      'POST',
      CM,
      { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'labels', labels: { 'bad key!': 'v' } } } },
      { code: 422, reason: 'Invalid', message: /bad key!/ },
    );
    assert.ok(s.details?.causes?.some((c) => c.field === 'metadata.labels'), JSON.stringify(s.details));
    const v = await refused(
      'POST',
      CM,
      { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'labels', labels: { ok: 'bad value!' } } } },
      { code: 422, reason: 'Invalid', message: /bad value!/ },
    );
    assert.ok(v.details?.causes?.some((c) => c.field === 'metadata.labels'), JSON.stringify(v.details));
    await refused('PATCH', `${CM}/target`, { body: { metadata: { labels: { 'x/y/z': '1' } } }, headers: { 'Content-Type': 'application/merge-patch+json' } }, { code: 422, reason: 'Invalid', message: /x\/y\/z/ });
    await refused('PATCH', `${CM}/target`, { body: { metadata: { annotations: { '': 'empty key' } } }, headers: { 'Content-Type': 'application/merge-patch+json' } }, { code: 422, reason: 'Invalid', message: /annotations/ });
  });

  test('wrong types → 4xx, never 500', async () => {
    const is4xx = (c: number) => c >= 400 && c < 500;
    await refused('POST', DEPLOY, { body: deploymentBody('three', 'three') }, { code: is4xx, message: /replicas|three|integer/ });
    await refused('PUT', `${DEPLOY}/target`, { body: deploymentBody('target', 'three') }, { code: is4xx, message: /replicas|three|integer/ });
    await refused('PATCH', `${DEPLOY}/target`, { body: { spec: { replicas: 'three' } }, headers: { 'Content-Type': 'application/merge-patch+json' } }, { code: is4xx, message: /replicas|three|integer/ });
    await refused('PATCH', `${DEPLOY}/target/scale`, { body: { spec: { replicas: 'three' } }, headers: { 'Content-Type': 'application/merge-patch+json' } }, { code: is4xx, message: /replicas/ });
    await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typed' }, data: 'not a map' } }, { code: is4xx, message: /data/ });
    await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typed' }, data: { n: 1 } } }, { code: is4xx, message: /data|string/ });
    await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: 'typed' } }, { code: is4xx, message: /metadata/ });
    await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typed', labels: ['a'] } } }, { code: is4xx, message: /labels/ });
    await refused(
      'POST',
      `/api/v1/namespaces/${NS}/pods`,
      { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'typed' }, spec: { containers: { name: 'c' } } } },
      { code: is4xx, message: /containers/ },
    );
    const logs = cluster.logs.filter((l) => /internal error/i.test(l));
    assert.deepEqual(logs, [], 'no request reached the internal-error path');
    // a number where a string belongs is a decoding error (upstream: 400), not a conflict
    await refused('PUT', `${CM}/target`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target', resourceVersion: 7 }, data: { k: 'v2' } } }, { code: 400, reason: 'BadRequest', message: /resourceVersion/ });
  });

  test('PUT with a stale resourceVersion → 409 Conflict', async () => {
    const current = (await req('GET', `${CM}/target`)).json as { metadata: { resourceVersion: string } };
    const staleRV = String(Number(current.metadata.resourceVersion) - 1);
    const s = await refused(
      'PUT',
      `${CM}/target`,
      { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target', resourceVersion: staleRV }, data: { k: 'lost update' } } },
      { code: 409, reason: 'Conflict', message: /the object has been modified/ },
    );
    assert.equal(s.details?.name, 'target');
    await refused(
      'DELETE',
      `${CM}/target`,
      { body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: staleRV } } },
      { code: 409, reason: 'Conflict', message: /Precondition failed/ },
    );
    await refused(
      'PATCH',
      `${CM}/target`,
      { body: { metadata: { resourceVersion: staleRV }, data: { k: 'lost' } }, headers: { 'Content-Type': 'application/merge-patch+json' } },
      { code: 409, reason: 'Conflict', message: /modified/ },
    );
  });

  test('creating an existing object → 409 AlreadyExists', async () => {
    const s = await refused('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'target' }, data: { k: 'overwrite?' } } }, { code: 409, reason: 'AlreadyExists', message: /configmaps "target" already exists/ });
    assert.deepEqual([s.details?.name, s.details?.kind], ['target', 'configmaps']);
    await refused('POST', DEPLOY, { body: deploymentBody('target', 5) }, { code: 409, reason: 'AlreadyExists', message: /deployments.apps "target" already exists/ });
  });

  test('unknown resource paths → 404 NotFound', async () => {
    for (const path of [`/api/v1/namespaces/${NS}/widgets`, '/apis/example.com/v1/things', '/apis/apps/v9/deployments', '/api/v2', '/nonsense', `${CM}/target/bogus-subresource`, `/api/v1/namespaces/${NS}/configmaps/a/b/c`]) {
      await refused('GET', path, {}, { code: 404, reason: 'NotFound', message: /could not find|not found/ });
    }
    await refused('POST', `/api/v1/namespaces/${NS}/widgets`, { body: { kind: 'Widget' } }, { code: 404, reason: 'NotFound', message: /could not find|not found/ });
    await refused('GET', `${CM}/missing`, {}, { code: 404, reason: 'NotFound', message: /configmaps "missing" not found/ });
    await refused('DELETE', `${CM}/missing`, {}, { code: 404, reason: 'NotFound', message: /configmaps "missing" not found/ });
  });

  test('a missing namespace → 404 NotFound', async () => {
    const s = await refused('POST', '/api/v1/namespaces/nope/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } } }, { code: 404, reason: 'NotFound', message: /namespaces "nope" not found/ });
    assert.equal(s.details?.kind, 'namespaces');
    await refused('POST', '/apis/apps/v1/namespaces/nope/deployments', { body: deploymentBody('x') }, { code: 404, reason: 'NotFound', message: /namespaces "nope" not found/ });
  });

  test('bad query parameters and content types → 4xx', async () => {
    await refused('GET', `${CM}?labelSelector=${encodeURIComponent('a in (b')}`, {}, { code: 400, reason: 'BadRequest', message: /selector|parse/i });
    await refused('GET', `${CM}?fieldSelector=data.k%3Dv`, {}, { code: 400, reason: 'BadRequest', message: /field label not supported: data\.k/ });
    await refused('GET', `${CM}?limit=ten`, {}, { code: 400, reason: 'BadRequest', message: /limit/ });
    await refused('GET', `${CM}?watch=true&resourceVersion=abc`, {}, { code: 400, reason: 'BadRequest', message: /resourceVersion/ });
    await refused('GET', `${CM}?continue=not-a-token`, {}, { code: 400, reason: 'BadRequest', message: /continue/ });
    await refused('DELETE', `${CM}/target?propagationPolicy=Sometimes`, {}, { code: 400, reason: 'BadRequest', message: /propagationPolicy/ });
    await refused('POST', `${CM}?dryRun=Maybe`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry' } } }, { code: 400, reason: 'BadRequest', message: /dryRun/ });
    await refused('PATCH', `${CM}/target`, { body: { data: { k: 'x' } }, headers: { 'Content-Type': 'application/json' } }, { code: 415, reason: 'UnsupportedMediaType', message: /patch|media type/i });
    await refused('POST', CM, { body: 'k=v', headers: { 'Content-Type': 'text/plain' } }, { code: (c) => c === 400 || c === 415, message: /content type|media type|text\/plain/i });
    await refused('PATCH', `${CM}/target`, { body: [{ op: 'test', path: '/data/k', value: 'not v' }, { op: 'replace', path: '/data/k', value: 'changed' }], headers: { 'Content-Type': 'application/json-patch+json' } }, { code: (c) => c >= 400 && c < 500, message: /test|patch/i });
    await refused('PUT', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } } }, { code: 405, reason: 'MethodNotAllowed', message: /not (supported|allowed)|does not allow/i });
  });

  test('unauthenticated requests → 401; /version and health checks answer anonymously', async () => {
    for (const path of ['/api/v1/namespaces', CM, `${CM}/target`, '/apis', '/api']) {
      const r = await req('GET', path, { anonymous: true });
      assert.equal(r.status, 401, `${path}: ${r.body}`);
      const s = r.json as StatusBody;
      assert.deepEqual([s.kind, s.reason, s.code], ['Status', 'Unauthorized', 401]);
    }
    await refused('POST', CM, { anonymous: true, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'anon' } } }, { code: 401, reason: 'Unauthorized', message: /Unauthorized/ });
    await refused('DELETE', `${CM}/target`, { anonymous: true }, { code: 401, reason: 'Unauthorized', message: /Unauthorized/ });
    const junkToken = await req('GET', CM, { anonymous: true, headers: { Authorization: 'Bearer not-a-token' } });
    assert.equal(junkToken.status, 401);
    const version = await req('GET', '/version', { anonymous: true });
    assert.equal(version.status, 200);
    assert.match((version.json as { gitVersion: string }).gitVersion, /^v1\.\d+\.\d+/);
    for (const path of ['/healthz', '/livez', '/readyz']) {
      const r = await req('GET', path, { anonymous: true });
      assert.equal(r.status, 200, path);
      assert.equal(r.body, 'ok');
    }
  });

  test('the server keeps serving afterwards', async () => {
    const health = await req('GET', '/healthz');
    assert.equal(health.status, 200);
    const created = await req('POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'still-works' }, data: { ok: 'yes' } } });
    assert.equal(created.status, 201, created.body);
    const target = (await req('GET', `${CM}/target`)).json as { data: Record<string, string>; metadata: { labels: Record<string, string> } };
    assert.deepEqual(target.data, { k: 'v' });
    assert.deepEqual(target.metadata.labels, { a: 'b' });
    const { stdout } = await cluster.kubectlOk(['get', 'cm', '-n', NS, '-o', 'name']);
    assert.deepEqual(stdout.split('\n').filter(Boolean).sort(), ['configmap/still-works', 'configmap/target']);
    assert.deepEqual(cluster.logs.filter((l) => /internal error/i.test(l)), []);
  });
});
