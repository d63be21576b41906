// Bootstrap tokens: `<id>.<secret>` bearers backed by kube-system Secrets authenticate as system:bootstrap:<id>.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScheme } from '../../src/api/kinds/index.js';
import type { KubeObject } from '../../src/api/types.js';
import { checkBootstrapToken, inProcessAuthenticator, type BootstrapTokenSecret } from '../../src/apiserver/authn.js';
import { authorizationOf } from '../../src/apiserver/authz/index.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import { listen, newApiServer, type RunningApiServer } from '../../src/apiserver/server.js';
import { bootstrapTokenSecret, createBootstrapToken, parseDuration } from '../../src/cli/token.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport } from '../../src/client/transport.js';
import { MemoryStore } from '../../src/storage/memory.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>, type = 'bootstrap.kubernetes.io/token'): BootstrapTokenSecret => ({
  type,
  data: Object.fromEntries(Object.entries({ 'token-id': 'abcdef', 'token-secret': '0123456789abcdef', 'usage-bootstrap-authentication': 'true', ...data }).map(([k, v]) => [k, b64(v)])),
});

describe('checkBootstrapToken', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('authenticates as system:bootstrap:<id> with its extra groups', () => {
    assert.deepEqual(checkBootstrapToken(secret({ 'auth-extra-groups': 'system:bootstrappers:worker' }), 'abcdef', '0123456789abcdef', now), {
      username: 'system:bootstrap:abcdef',
      groups: ['system:bootstrappers', 'system:bootstrappers:worker', 'system:authenticated'],
    });
  });
  it('refuses a wrong secret, a wrong type, an expired token, one not for authentication, a bad extra group', () => {
    assert.ok('error' in checkBootstrapToken(secret({}), 'abcdef', 'ffffffffffffffff', now));
    assert.ok('error' in checkBootstrapToken(secret({}, 'Opaque'), 'abcdef', '0123456789abcdef', now));
    assert.ok('error' in checkBootstrapToken(secret({ expiration: '2025-12-31T23:59:59Z' }), 'abcdef', '0123456789abcdef', now));
    assert.ok(!('error' in checkBootstrapToken(secret({ expiration: '2026-01-01T00:00:01Z' }), 'abcdef', '0123456789abcdef', now)));
    assert.ok('error' in checkBootstrapToken(secret({ 'usage-bootstrap-authentication': 'false' }), 'abcdef', '0123456789abcdef', now));
    assert.ok('error' in checkBootstrapToken(secret({ 'auth-extra-groups': 'system:masters' }), 'abcdef', '0123456789abcdef', now));
    assert.ok('error' in checkBootstrapToken({ ...secret({}), metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } }, 'abcdef', '0123456789abcdef', now));
  });
  it('parses --ttl and builds the Secret as kubeadm does', () => {
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('0'), 0);
    assert.throws(() => parseDuration('5d'));
    const { token, secret: s } = bootstrapTokenSecret({ ttlMs: 60_000, nowMs: Date.parse('2026-01-01T00:00:00Z') });
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.equal(s.metadata?.name, `bootstrap-token-${token.slice(0, 6)}`);
    assert.equal(s.type, 'bootstrap.kubernetes.io/token');
    assert.equal(s.stringData?.expiration, '2026-01-01T00:01:00Z');
  });
});

describe('bootstrap tokens against the API server', () => {
  let api: ApiServer;
  let running: RunningApiServer;
  let admin: RestClient;
  let token = '';
  const call = (bearer: string, method: string, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${running.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  before(async () => {
    api = newApiServer({ store: new MemoryStore(), scheme: builtinScheme(), authenticate: inProcessAuthenticator(), serverAddress: 'x' });
    await authorizationOf(api)!.ready;
    running = await listen(api, { port: 0, bind: '127.0.0.1' });
    admin = new RestClient(inProcessTransport(inProcessAcceptor(api.handle), { username: 'admin', groups: ['system:masters'] }));
    await admin.resource(RESOURCES.namespaces).create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
    token = await createBootstrapToken(admin, { ttlMs: 3_600_000 });
  });
  after(() => running.close());

  it('authenticates a bearer of the token as system:bootstrap:<id> in system:bootstrappers', async () => {
    const r = await call(token, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    assert.equal(r.status, 201, await r.clone().text());
    const review = (await r.json()) as { status: { userInfo: { username: string; groups: string[] } } };
    assert.equal(review.status.userInfo.username, `system:bootstrap:${token.slice(0, 6)}`);
    assert.deepEqual(review.status.userInfo.groups, ['system:bootstrappers', 'system:authenticated']);
  });

  it('lets a bootstrapper create CSRs (system:node-bootstrapper) and nothing more', async () => {
    const can = async (verb: string, resource: string, group = '') => {
      const r = await call(token, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb, resource, group } },
      });
      assert.equal(r.status, 201);
      return ((await r.json()) as { status: { allowed: boolean } }).status.allowed;
    };
    assert.equal(await can('create', 'certificatesigningrequests', 'certificates.k8s.io'), true);
    assert.equal(await can('list', 'pods'), false);
    assert.equal((await call(token, 'GET', '/api/v1/namespaces/kube-system/secrets')).status, 403);
  });

  it('refuses a wrong, expired or deleted token with 401', async () => {
    assert.equal((await call(`${token.slice(0, 7)}${'x'.repeat(16)}`, 'GET', '/api/v1/namespaces')).status, 401);
    const secrets = admin.resource(RESOURCES.secrets, 'kube-system');
    const { token: expired, secret: s } = bootstrapTokenSecret({ ttlMs: 1000, nowMs: Date.now() - 60_000 });
    await secrets.create(s as KubeObject);
    assert.equal((await call(expired, 'GET', '/api/v1/namespaces')).status, 401);
    await secrets.delete(`bootstrap-token-${token.slice(0, 6)}`);
    assert.equal((await call(token, 'GET', '/api/v1/namespaces')).status, 401);
  });
});
