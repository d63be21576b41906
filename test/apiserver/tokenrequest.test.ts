import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { builtinScheme } from '../../src/api/kinds/index.js';
import type { KubeObject } from '../../src/api/types.js';
import { listen, newApiServer, type RunningApiServer } from '../../src/apiserver/server.js';
import { MemoryStore } from '../../src/storage/memory.js';

// Requests without a token are anonymous admins (anonymousIsAdmin); requests with one are whoever it says.
let running: RunningApiServer;
let base: string;

interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, any>;
}

async function call(method: string, path: string, body?: unknown, token?: string): Promise<Reply> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : {} };
}

const tokenPath = (ns: string, sa: string) => `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`;
const requestToken = (ns: string, sa: string, spec: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  call('POST', tokenPath(ns, sa), { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec, ...extra });
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
const whoami = (token: string) => call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, token);

async function create(resource: string, ns: string | undefined, obj: KubeObject): Promise<KubeObject> {
  const r = await call('POST', ns ? `/api/v1/namespaces/${ns}/${resource}` : `/api/v1/${resource}`, obj);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json as KubeObject;
}

let saUid: string;
let podUid: string;
let nodeUid: string;

before(async () => {
  const api = newApiServer({ store: new MemoryStore(), scheme: builtinScheme(), authenticate: () => undefined, serverAddress: '127.0.0.1:1', anonymousIsAdmin: true });
  running = await listen(api, { port: 0, bind: '127.0.0.1' });
  base = `http://127.0.0.1:${running.port}`;
  await create('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  saUid = (await create('serviceaccounts', 'team', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } })).metadata!.uid!;
  await create('serviceaccounts', 'team', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'other' } });
  nodeUid = (await create('nodes', undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } })).metadata!.uid!;
  podUid = (
    await create('pods', 'team', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0' },
      spec: { serviceAccountName: 'robot', nodeName: 'node-a', containers: [{ name: 'c', image: 'nginx' }] },
    })
  ).metadata!.uid!;
});

after(async () => {
  await running?.close();
});

describe('TokenRequest', () => {
  test('defaults: one hour, the API audiences, status.token and status.expirationTimestamp', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await requestToken('team', 'robot');
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json.kind, 'TokenRequest');
    assert.equal(r.json.apiVersion, 'authentication.k8s.io/v1');
    assert.equal(r.json.metadata.name, 'robot');
    assert.equal(r.json.metadata.namespace, 'team');
    assert.deepEqual(r.json.spec, { audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 3600 });
    const c = claimsOf(r.json.status.token);
    assert.ok(c.iat >= before && c.iat <= before + 5);
    assert.equal(c.exp, c.iat + 3600);
    assert.equal(r.json.status.expirationTimestamp, new Date(c.exp * 1000).toISOString().replace('.000Z', 'Z'));
    assert.equal(c.sub, 'system:serviceaccount:team:robot');
    assert.deepEqual(c['kubernetes.io'], { namespace: 'team', serviceaccount: { name: 'robot', uid: saUid } });

    const who = await whoami(r.json.status.token);
    assert.equal(who.status, 201, JSON.stringify(who.json));
    assert.equal(who.json.kind, 'SelfSubjectReview');
    assert.equal(who.json.status.userInfo.username, 'system:serviceaccount:team:robot');
    assert.equal(who.json.status.userInfo.uid, saUid);
    assert.deepEqual(who.json.status.userInfo.groups, ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated']);
    assert.equal((await call('GET', '/api/v1/namespaces/team/pods', undefined, r.json.status.token)).status, 200);
  });

  test('requested audiences and expiration are kept; a token for another audience does not authenticate', async () => {
    const r = await requestToken('team', 'robot', { audiences: ['vault'], expirationSeconds: 7200 });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.deepEqual(r.json.spec.audiences, ['vault']);
    const c = claimsOf(r.json.status.token);
    assert.deepEqual(c.aud, ['vault']);
    assert.equal(c.exp - c.iat, 7200);
    const denied = await call('GET', '/api/v1/namespaces/team/pods', undefined, r.json.status.token);
    assert.equal(denied.status, 401);
    assert.equal(denied.json.reason, 'Unauthorized');
  });

  test('validation: at least ten minutes, at most 2^32 seconds, names must match', async () => {
    const short = await requestToken('team', 'robot', { expirationSeconds: 60 });
    assert.equal(short.status, 422);
    assert.equal(short.json.reason, 'Invalid');
    assert.equal(short.json.message, 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes');
    assert.equal(short.json.details.causes[0].field, 'spec.expirationSeconds');
    assert.equal((await requestToken('team', 'robot', { expirationSeconds: 600 })).status, 201);
    const long = await requestToken('team', 'robot', { expirationSeconds: 2 ** 32 + 1 });
    assert.equal(long.status, 422);
    assert.match(long.json.message, /may not specify a duration larger than 2\^32 seconds/);
    const named = await requestToken('team', 'robot', {}, { metadata: { name: 'other' } });
    assert.equal(named.status, 422);
    assert.match(named.json.message, /metadata.name: Invalid value: "other": must match the service account name if specified/);
    const missing = await requestToken('team', 'nobody');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.message, 'serviceaccounts "nobody" not found');
    assert.equal((await call('GET', tokenPath('team', 'robot'))).status, 405);
    const wrongKind = await call('POST', tokenPath('team', 'robot'), { apiVersion: 'v1', kind: 'ConfigMap' });
    assert.equal(wrongKind.status, 400);
  });

  test('a pod-bound token names the pod and its node, and dies with the pod', async () => {
    const ref = { kind: 'Pod', apiVersion: 'v1', name: 'web-0', uid: podUid };
    const r = await requestToken('team', 'robot', { boundObjectRef: ref });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.deepEqual(r.json.spec.boundObjectRef, ref);
    const c = claimsOf(r.json.status.token);
    assert.deepEqual(c['kubernetes.io'], {
      namespace: 'team',
      serviceaccount: { name: 'robot', uid: saUid },
      pod: { name: 'web-0', uid: podUid },
      node: { name: 'node-a', uid: nodeUid },
    });
    const who = await whoami(r.json.status.token);
    assert.equal(who.status, 201);
    assert.deepEqual(who.json.status.userInfo.extra['authentication.kubernetes.io/pod-name'], ['web-0']);
    assert.deepEqual(who.json.status.userInfo.extra['authentication.kubernetes.io/pod-uid'], [podUid]);
    assert.deepEqual(who.json.status.userInfo.extra['authentication.kubernetes.io/node-name'], ['node-a']);
    assert.match(who.json.status.userInfo.extra['authentication.kubernetes.io/credential-id'][0], /^JTI=/);

    const conflict = await requestToken('team', 'robot', { boundObjectRef: { ...ref, uid: 'not-the-uid' } });
    assert.equal(conflict.status, 409);
    assert.equal(
      conflict.json.message,
      'Operation cannot be fulfilled on Pod "web-0": the UID in the bound object reference (not-the-uid) does not match the UID in record. The object might have been deleted and then recreated',
    );
    const otherSA = await requestToken('team', 'other', { boundObjectRef: ref });
    assert.equal(otherSA.status, 400);
    assert.equal(otherSA.json.message, 'cannot bind token for serviceaccount "other" to pod running with different serviceaccount name.');
    const noPod = await requestToken('team', 'robot', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'ghost' } });
    assert.equal(noPod.status, 404);
    assert.equal(noPod.json.message, 'pods "ghost" not found');
    const badKind = await requestToken('team', 'robot', { boundObjectRef: { kind: 'Deployment', apiVersion: 'apps/v1', name: 'web' } });
    assert.equal(badKind.status, 400);
    assert.equal(badKind.json.message, 'cannot bind token to object of type apps/v1, Kind=Deployment');

    // kubelet's 3607 seconds: a year on the token, a warning point at the requested time
    const projected = await requestToken('team', 'robot', { boundObjectRef: ref, expirationSeconds: 3607 });
    const pc = claimsOf(projected.json.status.token);
    assert.equal(pc.exp - pc.iat, 365 * 24 * 3600);
    assert.equal(pc['kubernetes.io'].warnafter, pc.iat + 3607);
    assert.equal(projected.json.spec.expirationSeconds, 3607);

    const del = await call('DELETE', '/api/v1/namespaces/team/pods/web-0?gracePeriodSeconds=0');
    assert.equal(del.status, 200, JSON.stringify(del.json));
    assert.equal((await call('GET', '/api/v1/namespaces/team/pods', undefined, r.json.status.token)).status, 401);
  });

  test('a secret-bound token carries the secret', async () => {
    const secret = await create('secrets', 'team', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } });
    const r = await requestToken('team', 'robot', { boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 's' } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.deepEqual(claimsOf(r.json.status.token)['kubernetes.io'].secret, { name: 's', uid: secret.metadata!.uid });
    assert.equal((await whoami(r.json.status.token)).status, 201);
    await call('DELETE', '/api/v1/namespaces/team/secrets/s');
    assert.equal((await whoami(r.json.status.token)).status, 401);
  });

  test('deleting the service account invalidates its tokens; a new one of the same name does not revive them', async () => {
    await create('serviceaccounts', 'team', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'temp' } });
    const r = await requestToken('team', 'temp');
    const token = r.json.status.token as string;
    assert.equal((await whoami(token)).status, 201);
    assert.equal((await call('DELETE', '/api/v1/namespaces/team/serviceaccounts/temp')).status, 200);
    const gone = await whoami(token);
    assert.equal(gone.status, 401);
    assert.equal(gone.json.reason, 'Unauthorized');
    await create('serviceaccounts', 'team', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'temp' } });
    assert.equal((await whoami(token)).status, 401);
  });
});

describe('service account issuer discovery', () => {
  test('the OpenID configuration and the JWKS verify issued tokens', async () => {
    const cfg = await call('GET', '/.well-known/openid-configuration');
    assert.equal(cfg.status, 200);
    assert.equal(cfg.headers.get('content-type'), 'application/json');
    assert.equal(cfg.headers.get('cache-control'), 'public, max-age=3600');
    assert.deepEqual(cfg.json, {
      issuer: 'https://kubernetes.default.svc.cluster.local',
      jwks_uri: `https://127.0.0.1:${running.port}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    });
    const jwks = await call('GET', '/openid/v1/jwks');
    assert.equal(jwks.status, 200);
    assert.equal(jwks.headers.get('content-type'), 'application/jwk-set+json');
    assert.equal(jwks.json.keys.length, 1);
    const jwk = jwks.json.keys[0];
    assert.equal(jwk.use, 'sig');
    assert.equal(jwk.alg, 'ES256');
    assert.equal(jwk.crv, 'P-256');

    const token = (await requestToken('team', 'robot')).json.status.token as string;
    const [h, p, s] = token.split('.');
    assert.equal(JSON.parse(Buffer.from(h, 'base64url').toString()).kid, jwk.kid);
    const pub = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
    assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')));
    assert.equal((await call('POST', '/openid/v1/jwks', {})).status, 405);
  });
});
