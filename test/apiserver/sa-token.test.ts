import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KubeObject } from '../../src/api/types.js';
import { unionAuthenticator } from '../../src/apiserver/authn.js';
import {
  authenticateServiceAccountToken,
  DEFAULT_SERVICE_ACCOUNT_ISSUER,
  ServiceAccountTokenKeys,
  serviceAccountTokenAuthenticator,
  tokenClaims,
  type ObjectLookup,
  type TokenCheck,
} from '../../src/apiserver/sa-token.js';

const sa: KubeObject = { metadata: { name: 'robot', namespace: 'team', uid: 'sa-uid' } };
const pod: KubeObject = { metadata: { name: 'web-0', namespace: 'team', uid: 'pod-uid' } };
const node: KubeObject = { metadata: { name: 'node-a', uid: 'node-uid' } };

function world(objs: Record<string, KubeObject>): ObjectLookup {
  return async (resource, namespace, name) => objs[`${resource}/${namespace ?? ''}/${name}`];
}
const everything = () => ({ 'serviceaccounts/team/robot': sa, 'pods/team/web-0': pod, 'nodes//node-a': node }) as Record<string, KubeObject>;

const nowSec = () => Math.floor(Date.now() / 1000);
const userOf = (r: TokenCheck) => {
  assert.ok('user' in r, 'error' in r ? r.error : '');
  return r.user;
};
const errorOf = (r: TokenCheck) => {
  assert.ok('error' in r, 'the token was accepted');
  return r.error;
};

describe('ES256 JWTs', () => {
  const keys = new ServiceAccountTokenKeys();

  test('a signed token verifies with the published key (raw r||s signature, base64url parts)', () => {
    const token = keys.sign(tokenClaims(keys, { serviceAccount: sa }, keys.audiences, 3600, nowSec()));
    const [h, p, s] = token.split('.');
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: 'ES256', kid: keys.keyId });
    assert.equal(Buffer.from(s, 'base64url').length, 64);
    const jwk = keys.jwks().keys[0];
    assert.equal(jwk.kid, keys.keyId);
    assert.equal(jwk.alg, 'ES256');
    const pub = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
    assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')));
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    assert.equal(claims.iss, DEFAULT_SERVICE_ACCOUNT_ISSUER);
    assert.equal(claims.sub, 'system:serviceaccount:team:robot');
    assert.deepEqual(claims.aud, [DEFAULT_SERVICE_ACCOUNT_ISSUER]);
    assert.equal(claims.exp - claims.iat, 3600);
    assert.equal(claims.nbf, claims.iat);
    assert.deepEqual(claims['kubernetes.io'], { namespace: 'team', serviceaccount: { name: 'robot', uid: 'sa-uid' } });
  });

  test('a key from PEM signs tokens another instance of the same key accepts; another key does not', () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const a = new ServiceAccountTokenKeys({ keyPem: pem });
    const b = new ServiceAccountTokenKeys({ keyPem: pem });
    assert.equal(a.keyId, b.keyId);
    const token = a.sign(tokenClaims(a, { serviceAccount: sa }, a.audiences, 600, nowSec()));
    assert.ok('claims' in b.verifySignature(token));
    assert.deepEqual(keys.verifySignature(token), { error: 'unknown key id' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assert.throws(() => new ServiceAccountTokenKeys({ keyPem: rsa }), /P-256/);
  });

  test('tampered payloads, signatures and headers are rejected', async () => {
    const token = keys.sign(tokenClaims(keys, { serviceAccount: sa }, keys.audiences, 3600, nowSec()));
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims['kubernetes.io'].serviceaccount.name = 'admin';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(everything()), forged)), 'invalid signature');
    const sig = Buffer.from(s, 'base64url');
    sig[10] ^= 1;
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(everything()), `${h}.${p}.${sig.toString('base64url')}`)), 'invalid signature');
    const none = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    assert.match(errorOf(await authenticateServiceAccountToken(keys, world(everything()), `${none}.${p}.`)), /unsupported signing algorithm/);
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(everything()), 'abc.def')), 'not a JWT');
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(everything()), '!!.??.xx')), 'malformed JWT');
  });

  test('expired tokens fail after the leeway, not-yet-valid ones before it', async () => {
    const now = nowSec();
    const expired = keys.sign(tokenClaims(keys, { serviceAccount: sa }, keys.audiences, 600, now - 600 - 61));
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(everything()), expired)), 'service account token has expired');
    const justExpired = keys.sign(tokenClaims(keys, { serviceAccount: sa }, keys.audiences, 600, now - 600 - 30));
    userOf(await authenticateServiceAccountToken(keys, world(everything()), justExpired));
    const future = keys.sign(tokenClaims(keys, { serviceAccount: sa }, keys.audiences, 600, now + 120));
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(everything()), future)), 'service account token is not valid yet');
  });

  test('a token for another audience or another issuer is not accepted', async () => {
    const other = keys.sign(tokenClaims(keys, { serviceAccount: sa }, ['vault'], 3600, nowSec()));
    assert.match(errorOf(await authenticateServiceAccountToken(keys, world(everything()), other)), /token audiences \["vault"\] is invalid/);
    const both = keys.sign(tokenClaims(keys, { serviceAccount: sa }, ['vault', DEFAULT_SERVICE_ACCOUNT_ISSUER], 3600, nowSec()));
    userOf(await authenticateServiceAccountToken(keys, world(everything()), both));
    const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const elsewhere = new ServiceAccountTokenKeys({ keyPem: pem, issuer: 'https://elsewhere.example' });
    const foreign = elsewhere.sign(tokenClaims(elsewhere, { serviceAccount: sa }, [DEFAULT_SERVICE_ACCOUNT_ISSUER], 3600, nowSec()));
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(everything()), foreign)), 'not issued by this issuer');
  });

  test('the service account and the bound pod must still exist with the same uid', async () => {
    const plain = keys.sign(tokenClaims(keys, { serviceAccount: sa }, keys.audiences, 3600, nowSec()));
    const bound = keys.sign(tokenClaims(keys, { serviceAccount: sa, pod, node }, keys.audiences, 3600, nowSec()));
    const u = userOf(await authenticateServiceAccountToken(keys, world(everything()), bound));
    assert.equal(u.username, 'system:serviceaccount:team:robot');
    assert.equal(u.uid, 'sa-uid');
    assert.deepEqual(u.groups, ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated']);
    assert.deepEqual(u.extra?.['authentication.kubernetes.io/pod-name'], ['web-0']);
    assert.deepEqual(u.extra?.['authentication.kubernetes.io/pod-uid'], ['pod-uid']);
    assert.deepEqual(u.extra?.['authentication.kubernetes.io/node-name'], ['node-a']);
    assert.deepEqual(u.extra?.['authentication.kubernetes.io/node-uid'], ['node-uid']);
    assert.match(u.extra?.['authentication.kubernetes.io/credential-id']?.[0] ?? '', /^JTI=[0-9a-f-]{36}$/);

    const noSA = everything();
    delete noSA['serviceaccounts/team/robot'];
    assert.match(errorOf(await authenticateServiceAccountToken(keys, world(noSA), plain)), /not found/);
    const recreated = { ...everything(), 'serviceaccounts/team/robot': { metadata: { ...sa.metadata, uid: 'new-uid' } } };
    assert.match(errorOf(await authenticateServiceAccountToken(keys, world(recreated), plain)), /does not match claim/);
    const noPod = everything();
    delete noPod['pods/team/web-0'];
    userOf(await authenticateServiceAccountToken(keys, world(noPod), plain));
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(noPod), bound)), 'service account token has been invalidated');
    const longGone = { ...everything(), 'pods/team/web-0': { metadata: { ...pod.metadata, deletionTimestamp: new Date(Date.now() - 120_000).toISOString() } } };
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(longGone), bound)), 'service account token has been invalidated');
    // the pod's node is only informative: its absence does not invalidate a pod-bound token
    const noNode = everything();
    delete noNode['nodes//node-a'];
    userOf(await authenticateServiceAccountToken(keys, world(noNode), bound));
    const nodeBound = keys.sign(tokenClaims(keys, { serviceAccount: sa, node }, keys.audiences, 3600, nowSec()));
    assert.equal(errorOf(await authenticateServiceAccountToken(keys, world(noNode), nodeBound)), 'service account token has been invalidated');
  });
});

describe('the authenticator', () => {
  const keys = new ServiceAccountTokenKeys();
  const req = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;

  test('answers synchronously for requests that are not ours, asynchronously for ours', async () => {
    const lines: string[] = [];
    const a = serviceAccountTokenAuthenticator(keys, world(everything()), (l) => lines.push(l));
    assert.equal(a(req()), undefined);
    assert.equal(a(req('Bearer static-token')), undefined);
    assert.equal(a(req('Bearer a.b.c')), undefined);
    const good = keys.sign(tokenClaims(keys, { serviceAccount: sa }, keys.audiences, 3600, nowSec()));
    const answer = a(req(`Bearer ${good}`));
    assert.ok(answer instanceof Promise);
    assert.equal((await answer)?.username, 'system:serviceaccount:team:robot');
    const wrongAud = keys.sign(tokenClaims(keys, { serviceAccount: sa }, ['vault'], 3600, nowSec()));
    assert.equal(await a(req(`Bearer ${wrongAud}`)), undefined);
    assert.match(lines.join('\n'), /token audiences/);
  });

  test('unionAuthenticator tries the next authenticator after an asynchronous miss and stays synchronous otherwise', async () => {
    const admin = { username: 'admin', groups: ['system:masters'] };
    const asyncMiss = () => Promise.resolve(undefined);
    const u = unionAuthenticator(asyncMiss, () => admin);
    assert.deepEqual(await u(req()), admin);
    const sync = unionAuthenticator(() => undefined, () => admin);
    assert.deepEqual(sync(req()), admin);
    assert.equal(unionAuthenticator(() => undefined)(req()), undefined);
  });
});
