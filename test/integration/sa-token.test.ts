// Service account tokens with the real kubectl 1.33 over HTTPS: `kubectl create token`, then kubectl
// authenticated by nothing but that token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ServiceAccountTokenKeys, tokenClaims } from '../../src/apiserver/sa-token.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import type { RunResult } from '../helpers/exec.js';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { rawRequest, readKubeconfig } from '../helpers/raw.js';
import { skipUnless } from '../helpers/skip.js';
import { eventually } from './support.js';

let cluster: TestCluster;
let tokenConfigs = 0;

const k = (args: string[]) => cluster.kubectlOk(args, { timeoutMs: 60_000 });

/** kubectl 1.33 with a kubeconfig that holds the CA and `token`, no client certificate. */
function asToken(token: string, args: string[]): Promise<RunResult> {
  const creds = readKubeconfig(cluster.kubeconfigPath);
  const path = join(cluster.dataDir, `token-${++tokenConfigs}.kubeconfig`);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: creds.server, 'certificate-authority-data': Buffer.from(creds.caPem).toString('base64') } }],
    users: [{ name: 'u', user: { token } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'default' } }],
    'current-context': 'c',
  };
  writeFileSync(path, toYaml(config), { mode: 0o600 });
  return kubectl('1.33', path, args, { timeoutMs: 60_000 });
}

interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

async function whoami(token: string): Promise<UserInfo> {
  const r = await asToken(token, ['auth', 'whoami', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const review = JSON.parse(r.stdout) as { kind: string; status: { userInfo: UserInfo } };
  assert.equal(review.kind, 'SelfSubjectReview');
  return review.status.userInfo;
}

const unauthorized = (r: RunResult) => {
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/);
};

describe('service account tokens with kubectl 1.33', skipUnless(kubectlPath('1.33') !== undefined, 'kubectl 1.33 not found (scripts/setup.sh fetches it)'), () => {
  before(async () => {
    cluster = await startTestCluster();
    // under RBAC a service account holds nothing until bound: let this namespace's accounts read
    await k(['create', 'rolebinding', 'service-accounts-view', '--clusterrole=view', '--group=system:serviceaccounts:default']);
  });
  after(async () => {
    await cluster?.close();
  });

  test('`kubectl create token default` prints a token that authenticates as the service account', async () => {
    // the serviceaccount controller makes `default` in the background
    await eventually('the default service account', async () => (await cluster.kubectl(['get', 'serviceaccount', 'default'])).code === 0, 20_000);
    const token = (await k(['create', 'token', 'default'])).stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const uid = (await k(['get', 'serviceaccount', 'default', '-o', 'jsonpath={.metadata.uid}'])).stdout;

    const user = await whoami(token);
    assert.equal(user.username, 'system:serviceaccount:default:default');
    assert.equal(user.uid, uid);
    assert.deepEqual(user.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
    assert.match(user.extra?.['authentication.kubernetes.io/credential-id']?.[0] ?? '', /^JTI=/);

    const table = await asToken(token, ['auth', 'whoami']);
    assert.match(table.stdout, /Username\s+system:serviceaccount:default:default/);

    await k(['create', 'configmap', 'seen', '--from-literal=a=1']);
    const got = await asToken(token, ['get', 'configmaps', 'seen', '-o', 'jsonpath={.data.a}']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, '1');
    assert.equal((await asToken(token, ['get', 'pods'])).code, 0);
  });

  test('flags: --duration, --audience, and the ten-minute minimum', async () => {
    await k(['create', 'serviceaccount', 'robot']);
    const token = (await k(['create', 'token', 'robot', '--duration=2h', '--audience=vault'])).stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { aud: string[]; exp: number; iat: number };
    assert.deepEqual(claims.aud, ['vault']);
    assert.equal(claims.exp - claims.iat, 7200);
    // a token for another audience is not a credential for the API
    unauthorized(await asToken(token, ['get', 'pods']));

    const short = await cluster.kubectl(['create', 'token', 'robot', '--duration=1m']);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /spec\.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes/);
    const missing = await cluster.kubectl(['create', 'token', 'nobody']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
  });

  test('a token bound to a pod names it, and stops working when the pod is gone', async () => {
    await k(['create', 'serviceaccount', 'runner']);
    await k(['run', 'job-pod', '--image=busybox', '--overrides={"spec":{"serviceAccountName":"runner"}}']);
    const token = (await k(['create', 'token', 'runner', '--bound-object-kind=Pod', '--bound-object-name=job-pod'])).stdout.trim();
    const podUid = (await k(['get', 'pod', 'job-pod', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const user = await whoami(token);
    assert.equal(user.username, 'system:serviceaccount:default:runner');
    assert.deepEqual(user.extra?.['authentication.kubernetes.io/pod-name'], ['job-pod']);
    assert.deepEqual(user.extra?.['authentication.kubernetes.io/pod-uid'], [podUid]);

    const wrong = await cluster.kubectl(['create', 'token', 'robot', '--bound-object-kind=Pod', '--bound-object-name=job-pod']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /cannot bind token for serviceaccount "robot" to pod running with different serviceaccount name/);

    await k(['delete', 'pod', 'job-pod', '--grace-period=0', '--force']);
    await eventually('the pod to be gone', async () => (await cluster.kubectl(['get', 'pod', 'job-pod'])).code !== 0, 20_000);
    unauthorized(await asToken(token, ['get', 'pods']));
  });

  test('a token of a deleted service account gets 401 Unauthorized', async () => {
    await k(['create', 'serviceaccount', 'temp']);
    const token = (await k(['create', 'token', 'temp'])).stdout.trim();
    assert.equal((await asToken(token, ['get', 'pods'])).code, 0);
    await k(['delete', 'serviceaccount', 'temp']);
    const r = await asToken(token, ['get', 'pods']);
    unauthorized(r);
    assert.match(r.stderr, /You must be logged in to the server/);
    const raw = await rawRequest(cluster.kubeconfigPath, 'GET', '/api/v1/namespaces/default/pods', { anonymous: true, headers: { Authorization: `Bearer ${token}` } });
    assert.equal(raw.status, 401);
    assert.equal((raw.json as { reason?: string }).reason, 'Unauthorized');
  });

  test('an expired token signed with the cluster key gets 401; the same key with valid times works', async () => {
    // the server keeps its signing key in the data dir; sign with it directly to control the times
    const keys = new ServiceAccountTokenKeys({ keyPem: readFileSync(join(cluster.dataDir, 'pki', 'sa.key'), 'utf8') });
    const sa = JSON.parse((await k(['get', 'serviceaccount', 'robot', '-o', 'json'])).stdout) as { metadata: { name: string; namespace: string; uid: string } };
    const now = Math.floor(Date.now() / 1000);
    const valid = keys.sign(tokenClaims(keys, { serviceAccount: sa }, keys.audiences, 600, now));
    assert.equal((await whoami(valid)).username, 'system:serviceaccount:default:robot');
    const expired = keys.sign(tokenClaims(keys, { serviceAccount: sa }, keys.audiences, 600, now - 3600));
    unauthorized(await asToken(expired, ['get', 'pods']));
  });

  test('issuer discovery serves the configuration and the key that verifies the tokens', async () => {
    const cfg = JSON.parse((await k(['get', '--raw', '/.well-known/openid-configuration'])).stdout) as { issuer: string; jwks_uri: string };
    assert.equal(cfg.issuer, 'https://kubernetes.default.svc.cluster.local');
    assert.equal(cfg.jwks_uri, `${cluster.url}/openid/v1/jwks`);
    const jwks = JSON.parse((await k(['get', '--raw', '/openid/v1/jwks'])).stdout) as { keys: { kid: string; alg: string }[] };
    const token = (await k(['create', 'token', 'default'])).stdout.trim();
    const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as { alg: string; kid: string };
    assert.deepEqual(jwks.keys.map((key) => [key.kid, key.alg]), [[header.kid, header.alg]]);
  });
});
