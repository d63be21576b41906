// Pod Security admission and ServiceAccount admission through the real API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { evaluatePod, podSecurityAdmission, violationText } from '../../src/apiserver/admission/podsecurity.js';
import { serviceAccountAdmission } from '../../src/apiserver/admission/serviceaccount.js';
import { ClientStatusError, RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const refusal = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (err: unknown) => err);
  assert.ok(e instanceof ClientStatusError, 'expected a refusal');
  assert.equal(e.status.code, 403);
  return e.status.message ?? '';
};

describe('Pod Security checks', () => {
  it('reports restricted violations of a bare pod in upstream order and wording', () => {
    const r = evaluatePod('restricted', {}, { containers: [{ name: 'c', image: 'x' }] });
    assert.equal(
      violationText({ level: 'restricted', version: 'latest' }, r),
      'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
  });
  it('reports baseline violations', () => {
    const r = evaluatePod('baseline', {}, {
      hostNetwork: true,
      volumes: [{ name: 'h', hostPath: { path: '/' } }],
      containers: [{ name: 'a', image: 'x', securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN', 'CHOWN'] } }, ports: [{ containerPort: 80, hostPort: 8080 }] }],
    });
    assert.deepEqual(r.map((x) => `${x.reason} (${x.detail})`), [
      'non-default capabilities (container "a" must not include "NET_ADMIN" in securityContext.capabilities.add)',
      'host namespaces (hostNetwork=true)',
      'hostPath volumes (volume "h")',
      'hostPort (container "a" uses hostPort 8080)',
      'privileged (container "a" must not set securityContext.privileged=true)',
    ]);
  });
  it('passes a pod that meets restricted', () => {
    const sc = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } };
    assert.deepEqual(evaluatePod('restricted', {}, { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ name: 'c', image: 'x', securityContext: sc }] }), []);
  });
});

describe('PodSecurity and ServiceAccount admission', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let client: RestClient;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    const lookup = (r: string) => () => cluster.api.scheme.lookup('', 'v1', r);
    cluster.api.registry.admission.push(serviceAccountAdmission(lookup('serviceaccounts'), { defaultAttempts: 2, retryIntervalMs: 10 }), podSecurityAdmission(lookup('namespaces')));
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    client = new RestClient(transport);
    await client.resource(RESOURCES.namespaces).create({ metadata: { name: 'locked', labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } } });
    for (const ns of ['default', 'locked']) await client.resource<ServiceAccount>(RESOURCES.serviceaccounts, ns).create({ metadata: { name: 'default' } });
  });
  after(async () => {
    transport?.close();
    await cluster?.close();
  });

  it('refuses a privileged pod in a restricted namespace', async () => {
    const msg = await refusal(
      client.resource<Pod>(RESOURCES.pods, 'locked').create({ metadata: { name: 'x' }, spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] } }),
    );
    assert.match(msg, /^pods "x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "c" must set securityContext.allowPrivilegeEscalation=false\), unrestricted capabilities \(container "c" must set securityContext.capabilities.drop=\["ALL"\]\), privileged \(container "c" must not set securityContext.privileged=true\), /);
  });

  it('warns on a Deployment whose template violates, and stores it', async () => {
    const res = await fetch(`${cluster.url}/apis/apps/v1/namespaces/locked/deployments`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
      }),
    });
    assert.equal(res.status, 201);
    const warning = res.headers.get('warning') ?? '';
    assert.match(warning, /^299 - "would violate PodSecurity \\?"restricted:latest\\?": allowPrivilegeEscalation != false/);
  });

  it('defaults the service account and mounts the projected token volume', async () => {
    const p = await client.resource<Pod>(RESOURCES.pods, 'default').create({ metadata: { name: 'sa' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    assert.equal(p.spec?.serviceAccountName, 'default');
    const vol = p.spec?.volumes?.find((v) => v.name.startsWith('kube-api-access-'));
    assert.ok(vol, 'token volume added');
    assert.match(vol.name, /^kube-api-access-[a-z0-9]{5}$/);
    assert.deepEqual(vol.projected?.sources?.[0], { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } });
    assert.deepEqual(p.spec?.containers[0].volumeMounts, [{ name: vol.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
  });

  it('honours automountServiceAccountToken=false', async () => {
    const p = await client
      .resource<Pod>(RESOURCES.pods, 'default')
      .create({ metadata: { name: 'nomount' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'c', image: 'busybox' }] } });
    assert.equal(p.spec?.volumes, undefined);
    assert.equal(p.spec?.containers[0].volumeMounts, undefined);
  });

  it('refuses a pod whose service account does not exist', async () => {
    assert.equal(
      await refusal(client.resource<Pod>(RESOURCES.pods, 'default').create({ metadata: { name: 'ghost' }, spec: { serviceAccountName: 'nobody', containers: [{ name: 'c', image: 'busybox' }] } })),
      'pods "ghost" is forbidden: error looking up service account default/nobody: serviceaccount "nobody" not found',
    );
  });
});
