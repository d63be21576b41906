// Admission webhooks through the real API: a local HTTPS webhook server on 127.0.0.1 answers
// AdmissionReviews; configurations are created over the API (and once with kubectl apply).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { mutatingWebhookConfigurationKind, validatingWebhookConfigurationKind } from '../../src/api/kinds/admissionregistration.js';
import { ruleMatches, objectSelectorMatches, registryServiceResolver } from '../../src/apiserver/admission/webhook.js';
import { createCA, issueCert } from '../../src/cli/pki.js';
import type { KindInfo } from '../../src/api/types.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { rawRequest, type RawResponse } from '../helpers/raw.js';

interface Review {
  path: string;
  request: Record<string, unknown> & { uid: string; object?: { metadata?: { name?: string; labels?: Record<string, string> } } };
}

const VWC = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

describe('admission webhooks', () => {
  let cluster: TestCluster;
  let hookServer: Server;
  let hookPort = 0;
  let closedPort = 0;
  let caBundle = '';
  const reviews: Review[] = [];

  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse> =>
    rawRequest(cluster.kubeconfigPath, method, path, { body, headers });

  /** The webhook server: its behaviour is chosen by the path. */
  function answer(path: string, req: Review['request']): Record<string, unknown> {
    const uid = req.uid;
    switch (path.split('?')[0]) {
      case '/allow':
        return { uid, allowed: true };
      case '/deny':
        return { uid, allowed: false, status: { code: 403, message: 'configmaps named like that are not welcome' } };
      case '/deny-silent':
        return { uid, allowed: false };
      case '/warn':
        return { uid, allowed: true, warnings: ['careful with that configmap'] };
      case '/wrong-uid':
        return { uid: 'not-the-uid', allowed: true };
      case '/add-label': {
        const labels = req.object?.metadata?.labels;
        const patch = labels
          ? [{ op: 'add', path: '/metadata/labels/mutated', value: 'yes' }]
          : [{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }];
        return { uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
      }
      case '/add-second': {
        const patch = [{ op: 'add', path: '/data', value: { second: 'added' } }];
        return { uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
      }
      default:
        return { uid, allowed: true };
    }
  }

  before(async () => {
    const ca = await createCA('webhook-test-ca');
    const leaf = await issueCert(ca, { commonName: 'webhook', dnsNames: ['hooks.default.svc'], ips: ['127.0.0.1'], server: true });
    caBundle = Buffer.from(ca.certPem).toString('base64');
    hookServer = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: Review['request'] };
        const path = req.url ?? '/';
        reviews.push({ path, request: review.request });
        const send = () => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: answer(path, review.request) }));
        };
        if (path.startsWith('/slow')) setTimeout(send, 2500);
        else send();
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
    hookPort = (hookServer.address() as AddressInfo).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));

    cluster = await startTestCluster({ storage: 'memory', controllers: false });
    for (const ns of ['wh-a', 'wh-b', 'wh-labelled'])
      assert.equal((await api('POST', '/api/v1/namespaces', { metadata: { name: ns, labels: ns === 'wh-labelled' ? { webhooks: 'on' } : {} } })).status, 201);
  });

  after(async () => {
    await cluster?.close();
    hookServer?.closeAllConnections();
    await new Promise<void>((r) => (hookServer ? hookServer.close(() => r()) : r()));
  });

  const hook = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
    name,
    clientConfig: { url: `https://127.0.0.1:${hookPort}${path}`, caBundle },
    rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    ...extra,
  });

  /** Creates a configuration, runs `fn`, deletes it again. */
  async function withConfig(base: string, name: string, webhooks: unknown[], fn: () => Promise<void>): Promise<void> {
    const kind = base === VWC ? 'ValidatingWebhookConfiguration' : 'MutatingWebhookConfiguration';
    const created = await api('POST', base, { apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name }, webhooks });
    assert.equal(created.status, 201, created.body);
    try {
      await fn();
    } finally {
      assert.equal((await api('DELETE', `${base}/${name}`)).status, 200);
    }
  }

  const createConfigMap = (ns: string, name: string, labels?: Record<string, string>, query = '') =>
    api('POST', `/api/v1/namespaces/${ns}/configmaps${query}`, { metadata: { name, ...(labels ? { labels } : {}) }, data: { a: 'b' } });

  it('serves both configuration kinds with defaults and refuses invalid ones', async () => {
    await withConfig(VWC, 'defaults', [hook('allow.example.com', '/allow')], async () => {
      const got = (await api('GET', `${VWC}/defaults`)).json as { metadata: { generation: number }; webhooks: Record<string, unknown>[] };
      const w = got.webhooks[0];
      assert.equal(w.failurePolicy, 'Fail');
      assert.equal(w.matchPolicy, 'Equivalent');
      assert.equal(w.timeoutSeconds, 10);
      assert.deepEqual(w.namespaceSelector, {});
      assert.deepEqual((w.rules as { scope: string }[])[0].scope, '*');
      assert.equal(got.metadata.generation, 1);
    });
    const bad = await api('POST', MWC, {
      metadata: { name: 'bad' },
      webhooks: [{ name: 'short', clientConfig: { url: 'http://x' }, admissionReviewVersions: ['v2'], timeoutSeconds: 31, rules: [{ operations: ['PATCH'], apiGroups: ['*', 'apps'], apiVersions: ['v1'], resources: ['pods'] }] }],
    });
    assert.equal(bad.status, 422, bad.body);
    const msg = (bad.json as { message: string }).message;
    for (const part of [
      'webhooks[0].name: Invalid value: "short": should be a domain with at least three segments separated by dots',
      'webhooks[0].sideEffects: Required value',
      "webhooks[0].clientConfig.url: Invalid value: \"http://x\": 'https' is the only allowed URL scheme",
      'the timeout value must be between 1 and 30 seconds',
      'must include at least one of v1, v1beta1',
      'webhooks[0].rules[0].operations[0]: Unsupported value: "PATCH"',
      "if '*' is present, must not specify other API groups",
    ])
      assert.ok(msg.includes(part), `${part} in ${msg}`);
  });

  it('calls a matching webhook with the AdmissionReview and lets an allowed request through', async () => {
    await withConfig(VWC, 'allow', [hook('allow.example.com', '/allow')], async () => {
      reviews.length = 0;
      const res = await createConfigMap('wh-a', 'allowed');
      assert.equal(res.status, 201, res.body);
      assert.equal(reviews.length, 1);
      const r = reviews[0].request;
      assert.match(reviews[0].path, /^\/allow\?timeout=10s$/);
      assert.equal(typeof r.uid, 'string');
      assert.deepEqual(r.kind, { group: '', version: 'v1', kind: 'ConfigMap' });
      assert.deepEqual(r.resource, { group: '', version: 'v1', resource: 'configmaps' });
      assert.deepEqual(r.requestKind, r.kind);
      assert.equal(r.name, 'allowed');
      assert.equal(r.namespace, 'wh-a');
      assert.equal(r.operation, 'CREATE');
      assert.equal(r.dryRun, false);
      assert.equal((r.userInfo as { username: string }).username.length > 0, true);
      assert.equal(r.object?.metadata?.name, 'allowed');
      assert.equal(r.oldObject, undefined);
      assert.equal((r.options as { kind: string }).kind, 'CreateOptions');

      // an update carries the old object; a delete is not matched by CREATE/UPDATE rules
      reviews.length = 0;
      const upd = await api('PATCH', '/api/v1/namespaces/wh-a/configmaps/allowed', { data: { a: 'c' } }, { 'Content-Type': 'application/merge-patch+json' });
      assert.equal(upd.status, 200, upd.body);
      assert.equal(reviews[0].request.operation, 'UPDATE');
      assert.equal((reviews[0].request.oldObject as { data: Record<string, string> }).data.a, 'b');
      assert.equal((await api('DELETE', '/api/v1/namespaces/wh-a/configmaps/allowed')).status, 200);
      assert.equal(reviews.length, 1);
      // other resources are not sent
      assert.equal((await api('POST', '/api/v1/namespaces/wh-a/secrets', { metadata: { name: 's' } })).status, 201);
      assert.equal(reviews.length, 1);
    });
  });

  it('answers a denial with the webhook message and code', async () => {
    await withConfig(VWC, 'deny', [hook('deny.example.com', '/deny'), hook('silent.example.com', '/deny-silent')], async () => {
      const res = await createConfigMap('wh-a', 'denied');
      assert.equal(res.status, 403);
      const s = res.json as { reason: string; message: string };
      assert.equal(s.reason, 'Forbidden');
      assert.equal(s.message, 'admission webhook "deny.example.com" denied the request: configmaps named like that are not welcome');
      assert.equal((await api('GET', '/api/v1/namespaces/wh-a/configmaps/denied')).status, 404);
    });
    await withConfig(VWC, 'silent', [hook('silent.example.com', '/deny-silent')], async () => {
      const res = await createConfigMap('wh-a', 'denied');
      assert.equal((res.json as { message: string }).message, 'admission webhook "silent.example.com" denied the request without explanation');
    });
  });

  it('applies a mutating webhook JSON patch before validating webhooks see the object', async () => {
    await withConfig(MWC, 'mutate', [hook('label.example.com', '/add-label')], async () => {
      await withConfig(VWC, 'observe', [hook('observe.example.com', '/allow')], async () => {
        reviews.length = 0;
        const res = await createConfigMap('wh-a', 'mutated', { own: 'label' });
        assert.equal(res.status, 201, res.body);
        const obj = res.json as { metadata: { labels: Record<string, string> } };
        assert.deepEqual(obj.metadata.labels, { own: 'label', mutated: 'yes' });
        const stored = (await api('GET', '/api/v1/namespaces/wh-a/configmaps/mutated')).json as { metadata: { labels: Record<string, string> } };
        assert.equal(stored.metadata.labels.mutated, 'yes');
        assert.deepEqual(reviews.map((r) => r.path.split('?')[0]), ['/add-label', '/allow']);
        assert.equal(reviews[1].request.object?.metadata?.labels?.mutated, 'yes');
      });
    });
  });

  it('reinvokes an IfNeeded mutating webhook once after a later webhook changed the object', async () => {
    await withConfig(
      MWC,
      'reinvoke',
      [hook('first.example.com', '/add-label', { reinvocationPolicy: 'IfNeeded' }), hook('second.example.com', '/add-second')],
      async () => {
        reviews.length = 0;
        const res = await createConfigMap('wh-a', 'reinvoked');
        assert.equal(res.status, 201, res.body);
        assert.deepEqual(reviews.map((r) => r.path.split('?')[0]), ['/add-label', '/add-second', '/add-label']);
        assert.deepEqual((res.json as { data: Record<string, string> }).data, { second: 'added' });
      },
    );
  });

  it('fails closed on an unreachable webhook with failurePolicy Fail and open with Ignore', async () => {
    const unreachable = (name: string, failurePolicy: string) => ({ ...hook(name, '/x', { failurePolicy }), clientConfig: { url: `https://127.0.0.1:${closedPort}/x`, caBundle } });
    await withConfig(VWC, 'fail', [unreachable('fail.example.com', 'Fail')], async () => {
      const res = await createConfigMap('wh-a', 'unreachable');
      assert.equal(res.status, 500, res.body);
      const s = res.json as { reason: string; message: string };
      assert.equal(s.reason, 'InternalError');
      assert.equal(
        s.message,
        `Internal error occurred: failed calling webhook "fail.example.com": failed to call webhook: Post "https://127.0.0.1:${closedPort}/x?timeout=10s": dial tcp 127.0.0.1:${closedPort}: connect: connection refused`,
      );
    });
    await withConfig(VWC, 'ignore', [unreachable('ignore.example.com', 'Ignore')], async () => {
      assert.equal((await createConfigMap('wh-a', 'unreachable')).status, 201);
    });
  });

  it('treats a wrong response uid as a failed call', async () => {
    await withConfig(VWC, 'wrong-uid', [hook('uid.example.com', '/wrong-uid')], async () => {
      const res = await createConfigMap('wh-a', 'wrong-uid');
      assert.equal(res.status, 500);
      assert.match((res.json as { message: string }).message, /received invalid webhook response: expected response\.uid=".+", got "not-the-uid"/);
    });
  });

  it('gives up on a webhook after timeoutSeconds', async () => {
    await withConfig(VWC, 'slow', [hook('slow.example.com', '/slow', { timeoutSeconds: 1 })], async () => {
      const t0 = Date.now();
      const res = await createConfigMap('wh-a', 'slow');
      const took = Date.now() - t0;
      assert.equal(res.status, 500, res.body);
      assert.match((res.json as { message: string }).message, /failed calling webhook "slow\.example\.com": failed to call webhook: Post ".*\/slow\?timeout=1s": context deadline exceeded$/);
      assert.ok(took >= 900 && took < 2400, `took ${took} ms`);
    });
  });

  it('calls only webhooks whose namespaceSelector and objectSelector match', async () => {
    await withConfig(
      VWC,
      'selectors',
      [
        hook('ns.example.com', '/deny', { namespaceSelector: { matchLabels: { webhooks: 'on' } } }),
        hook('obj.example.com', '/deny', { objectSelector: { matchExpressions: [{ key: 'guarded', operator: 'Exists' }] } }),
      ],
      async () => {
        const inLabelled = await createConfigMap('wh-labelled', 'x');
        assert.equal(inLabelled.status, 403);
        assert.match((inLabelled.json as { message: string }).message, /^admission webhook "ns\.example\.com" denied/);
        assert.equal((await createConfigMap('wh-b', 'x')).status, 201);
        const guarded = await createConfigMap('wh-b', 'y', { guarded: 'true' });
        assert.equal(guarded.status, 403);
        assert.match((guarded.json as { message: string }).message, /^admission webhook "obj\.example\.com" denied/);
        // the old object's labels count too: removing the label is judged by the webhook
        const plain = await createConfigMap('wh-b', 'z');
        assert.equal(plain.status, 201);
      },
    );
  });

  it('passes webhook warnings to the response as Warning headers', async () => {
    await withConfig(VWC, 'warn', [hook('warn.example.com', '/warn')], async () => {
      const res = await createConfigMap('wh-a', 'warned');
      assert.equal(res.status, 201);
      assert.match(String(res.headers.warning), /299 - "careful with that configmap"/);
    });
  });

  it('sends dry runs only to webhooks without side effects', async () => {
    await withConfig(VWC, 'dry', [hook('dry.example.com', '/allow', { sideEffects: 'NoneOnDryRun' })], async () => {
      reviews.length = 0;
      const res = await createConfigMap('wh-a', 'dry', undefined, '?dryRun=All');
      assert.equal(res.status, 201, res.body);
      assert.equal(reviews.length, 1);
      assert.equal(reviews[0].request.dryRun, true);
      assert.deepEqual((reviews[0].request.options as { dryRun: string[] }).dryRun, ['All']);
      assert.equal((await api('GET', '/api/v1/namespaces/wh-a/configmaps/dry')).status, 404);
    });
    // sideEffects Some can only be stored by an older server: write it past validation
    const info = validatingWebhookConfigurationKind as unknown as KindInfo;
    const reg = cluster.api.registry;
    await reg.store.create(reg.key(info, undefined, 'side-effects'), {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'side-effects', uid: 'x', creationTimestamp: new Date().toISOString() },
      webhooks: [{ ...hook('some.example.com', '/allow'), sideEffects: 'Some' }],
    });
    try {
      const dry = await createConfigMap('wh-a', 'dry2', undefined, '?dryRun=All');
      assert.equal(dry.status, 400);
      assert.equal((dry.json as { message: string }).message, 'admission webhook "some.example.com" does not support dry run');
      assert.equal((await createConfigMap('wh-a', 'wet')).status, 201);
    } finally {
      assert.equal((await api('DELETE', `${VWC}/side-effects`)).status, 200);
    }
  });

  it('does not send its own configuration kinds to webhooks', async () => {
    const denyAll = { ...hook('deny-all.example.com', '/deny'), rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }] };
    await withConfig(VWC, 'deny-all', [denyAll], async () => {
      assert.equal((await createConfigMap('wh-a', 'blocked')).status, 403);
      const other = await api('POST', MWC, { metadata: { name: 'still-allowed' }, webhooks: [] });
      assert.equal(other.status, 201, other.body);
      assert.equal((await api('DELETE', `${MWC}/still-allowed`)).status, 200);
    });
  });

  it('reaches a webhook behind a Service', async () => {
    // an ExternalName service keeps the test on loopback; the certificate is checked against hooks.default.svc
    assert.equal((await api('POST', '/api/v1/namespaces/default/services', { metadata: { name: 'hooks' }, spec: { type: 'ExternalName', externalName: '127.0.0.1' } })).status, 201);
    const viaService = { ...hook('svc.example.com', '/deny'), clientConfig: { service: { namespace: 'default', name: 'hooks', path: '/deny', port: hookPort }, caBundle } };
    await withConfig(VWC, 'service', [viaService], async () => {
      reviews.length = 0;
      const res = await createConfigMap('wh-a', 'via-service');
      assert.equal(res.status, 403, res.body);
      assert.equal(reviews.length, 1);
    });
  });

  it('resolves a Service to a ready endpoint on the target port', async () => {
    assert.equal(
      (await api('POST', '/api/v1/namespaces/default/services', { metadata: { name: 'resolved' }, spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] } })).status,
      201,
    );
    const eps = {
      metadata: { name: 'resolved' },
      subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ name: 'https', port: 8443 }] }],
    };
    assert.equal((await api('POST', '/api/v1/namespaces/default/endpoints', eps)).status, 201);
    const resolve = registryServiceResolver((g, v, r) => cluster.api.scheme.lookup(g, v, r));
    assert.deepEqual(await resolve({ namespace: 'default', name: 'resolved', port: 443 }, cluster.api.registry), { host: '192.0.2.10', port: 8443 });
    await assert.rejects(resolve({ namespace: 'default', name: 'resolved', port: 80 }, cluster.api.registry), /no service port 80 found for service "resolved"/);
    await assert.rejects(resolve({ namespace: 'default', name: 'missing', port: 443 }, cluster.api.registry), /services "missing" not found/);
  });

  it('denies through kubectl apply of a configuration', async () => {
    const manifest = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: kubectl-deny
webhooks:
- name: kubectl-deny.example.com
  admissionReviewVersions: ["v1"]
  sideEffects: None
  clientConfig:
    url: https://127.0.0.1:${hookPort}/deny
    caBundle: ${caBundle}
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
    scope: Namespaced
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: wh-b
`;
    const applied = await cluster.kubectlOk(['apply', '-f', '-'], { stdin: manifest });
    assert.match(applied.stdout, /validatingwebhookconfiguration.admissionregistration.k8s.io\/kubectl-deny created/);
    try {
      const got = await cluster.kubectlOk(['get', 'validatingwebhookconfigurations']);
      assert.match(got.stdout, /^NAME\s+WEBHOOKS\s+AGE\n/);
      assert.match(got.stdout, /\nkubectl-deny\s+1\s+/);
      const denied = await cluster.kubectl(['create', 'configmap', 'nope', '-n', 'wh-b', '--from-literal=a=b']);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /admission webhook "kubectl-deny\.example\.com" denied the request: configmaps named like that are not welcome/);
      // re-applying unchanged is a no-op update
      const again = await cluster.kubectlOk(['apply', '-f', '-'], { stdin: manifest });
      assert.match(again.stdout, /kubectl-deny unchanged/);
    } finally {
      await cluster.kubectlOk(['delete', 'validatingwebhookconfiguration', 'kubectl-deny']);
    }
    assert.equal((await cluster.kubectl(['create', 'configmap', 'yes', '-n', 'wh-b', '--from-literal=a=b'])).code, 0);
  });

  it('matches rules by operation, group, version, resource/subresource and scope', () => {
    const info = { group: '', version: 'v1', resource: 'pods' } as KindInfo;
    const ns = { group: '', version: 'v1', resource: 'namespaces' } as KindInfo;
    const base = { operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'] };
    const attrs = (subresource: string, namespace = 'default', i = info) => ({ operation: 'UPDATE' as const, info: i, subresource, namespace });
    assert.equal(ruleMatches({ ...base, resources: ['pods'] }, attrs('')), true);
    assert.equal(ruleMatches({ ...base, resources: ['pods'] }, attrs('status')), false);
    assert.equal(ruleMatches({ ...base, resources: ['pods/status'] }, attrs('status')), true);
    assert.equal(ruleMatches({ ...base, resources: ['*'] }, attrs('status')), false);
    assert.equal(ruleMatches({ ...base, resources: ['*/*'] }, attrs('status')), true);
    assert.equal(ruleMatches({ ...base, resources: ['*/status'] }, attrs('status')), true);
    assert.equal(ruleMatches({ ...base, operations: ['CREATE'], resources: ['pods'] }, attrs('')), false);
    assert.equal(ruleMatches({ ...base, operations: ['*'], apiGroups: ['apps'], resources: ['pods'] }, attrs('')), false);
    assert.equal(ruleMatches({ ...base, resources: ['pods'], scope: 'Cluster' }, attrs('')), false);
    assert.equal(ruleMatches({ ...base, resources: ['pods'], scope: 'Namespaced' }, attrs('')), true);
    assert.equal(ruleMatches({ ...base, resources: ['namespaces'], scope: 'Cluster' }, attrs('', 'ns1', ns)), true);
    assert.equal(ruleMatches({ ...base, resources: ['namespaces'], scope: 'Namespaced' }, attrs('', 'ns1', ns)), false);
    const sel = { matchLabels: { a: 'b' } };
    assert.equal(objectSelectorMatches(sel, { object: { metadata: { labels: { a: 'c' } } }, oldObject: { metadata: { labels: { a: 'b' } } } }), true);
    assert.equal(objectSelectorMatches(sel, { object: { metadata: { labels: { a: 'c' } } } }), false);
    assert.equal(objectSelectorMatches({}, { object: {} }), true);
    assert.ok(mutatingWebhookConfigurationKind.categories?.includes('api-extensions'));
  });
});
