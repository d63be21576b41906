// Bodies captured live from kubectl 1.33 and Helm 3/4 by a recording stub server decode to what the
// same command prints as JSON (`--dry-run=client -o json`), empty values aside.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decodeKubernetesProtobuf } from '../../../src/api/protobuf/decode.js';
import { isStatusError } from '../../../src/api/errors.js';
import { helm, helmPath } from '../../helpers/helm.js';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { skipUnless } from '../../helpers/skip.js';
import type { ConfigMap, Namespace, ResourceQuota, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ClusterRole, Role } from 'kubernetes-types/rbac/v1.js';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import { RecordingServer, type RecordedRequest } from './recorder.js';

const PROTOBUF = 'application/vnd.kubernetes.protobuf';
type Obj = Record<string, unknown>;

/** Drops what JSON prints but a decoder need not produce: nulls, empty objects and empty lists. */
function pruneEmpty(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneEmpty);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const p = pruneEmpty(x);
    if (p === null || (Array.isArray(p) && p.length === 0)) continue;
    if (typeof p === 'object' && !Array.isArray(p) && Object.keys(p as object).length === 0) continue;
    out[k] = p;
  }
  return out;
}

async function withRecorder<T>(fn: (rec: RecordingServer) => Promise<T>): Promise<T> {
  const rec = new RecordingServer();
  await rec.start();
  try {
    return await fn(rec);
  } finally {
    await rec.stop();
  }
}

/** Every prefix of a real body decodes or fails with a 400 — never another error. */
function assertTruncationsAreBadRequests(body: Buffer): void {
  let failures = 0;
  for (let n = 0; n < body.length; n++) {
    try {
      decodeKubernetesProtobuf(body.subarray(0, n));
    } catch (e) {
      assert.ok(isStatusError(e), `prefix ${n}: ${String(e)}`);
      assert.equal(e.code, 400, `prefix ${n}: ${e.message}`);
      failures++;
    }
  }
  assert.ok(failures > 0);
}

interface KubectlCase {
  args: string[];
  /** after `--` */
  command?: string[];
  check?: (o: unknown) => void;
}

const KUBECTL = kubectlPath('1.33');

describe('kubectl 1.33 create sends protobuf that decodes to its JSON form', { ...skipUnless(KUBECTL !== undefined, 'kubectl 1.33'), concurrency: 2 }, () => {
  let dir = '';
  const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0a]);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'timonel-pb-capture-'));
    writeFileSync(join(dir, 'blob.bin'), binary);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Record<string, KubectlCase> = {
    'secret generic': {
      args: ['create', 'secret', 'generic', 's', '--from-literal=a=b', '--from-literal=empty=', '--type=Opaque'],
      check: (o) => assert.deepEqual((o as Secret).data, { a: 'Yg==', empty: '' }),
    },
    'secret docker-registry': {
      args: ['create', 'secret', 'docker-registry', 'reg', '--docker-server=r.example.com', '--docker-username=u', '--docker-password=p'],
      check: (o) => assert.equal((o as Secret).type, 'kubernetes.io/dockerconfigjson'),
    },
    configmap: {
      args: ['create', 'configmap', 'cm', '--from-literal=k=v', '--from-literal=blank='],
      check: (o) => assert.deepEqual((o as ConfigMap).data, { k: 'v', blank: '' }),
    },
    'configmap with binaryData': {
      args: ['create', 'configmap', 'bin', '--from-file=blob=BLOB'],
      check: (o) => assert.equal((o as ConfigMap).binaryData?.blob, binary.toString('base64')),
    },
    namespace: { args: ['create', 'namespace', 'ns1'], check: (o) => assert.deepEqual((o as Namespace).metadata, { name: 'ns1' }) },
    deployment: {
      args: ['create', 'deployment', 'web', '--image=nginx', '--replicas=2', '--port=80'],
      check: (o) => {
        const d = o as Deployment;
        assert.equal(d.spec?.replicas, 2);
        assert.equal(d.spec?.template.spec?.containers[0].ports?.[0].containerPort, 80);
        assert.equal(d.metadata?.creationTimestamp, undefined);
      },
    },
    'deployment with zero replicas (pointer presence)': {
      args: ['create', 'deployment', 'zero', '--image=nginx', '--replicas=0'],
      check: (o) => assert.equal((o as Deployment).spec?.replicas, 0),
    },
    job: { args: ['create', 'job', 'j', '--image=busybox'], command: ['echo', 'hi'], check: (o) => assert.equal((o as Job).spec?.template.spec?.restartPolicy, 'Never') },
    cronjob: {
      args: ['create', 'cronjob', 'cj', '--image=busybox', '--schedule=*/5 * * * *', '--restart=OnFailure'],
      command: ['date'],
      check: (o) => assert.deepEqual((o as CronJob).spec?.jobTemplate.spec?.template.spec?.containers[0].command, ['date']),
    },
    'service clusterip': {
      args: ['create', 'service', 'clusterip', 'svc', '--tcp=80:8080'],
      check: (o) => assert.equal((o as Service).spec?.ports?.[0].targetPort, 8080),
    },
    'service nodeport': { args: ['create', 'service', 'nodeport', 'np', '--tcp=80:http', '--node-port=30080'], check: (o) => assert.equal((o as Service).spec?.ports?.[0].targetPort, 'http') },
    'service headless': { args: ['create', 'service', 'clusterip', 'hl', '--clusterip=None'], check: (o) => assert.equal((o as Service).spec?.clusterIP, 'None') },
    'service externalname': { args: ['create', 'service', 'externalname', 'ext', '--external-name=example.com'] },
    'service loadbalancer': { args: ['create', 'service', 'loadbalancer', 'lb', '--tcp=443:8443'] },
    serviceaccount: { args: ['create', 'serviceaccount', 'sa'] },
    role: {
      args: ['create', 'role', 'r', '--verb=get,list', '--resource=pods,deployments.apps', '--resource-name=x'],
      check: (o) => assert.ok((o as Role).rules?.some((r) => r.apiGroups?.includes(''))),
    },
    rolebinding: { args: ['create', 'rolebinding', 'rb', '--role=r', '--user=alice', '--serviceaccount=default:sa', '--group=devs'] },
    clusterrole: { args: ['create', 'clusterrole', 'cr', '--verb=get', '--resource=nodes', '--non-resource-url=/logs/*'] },
    'clusterrole aggregated': {
      args: ['create', 'clusterrole', 'agg', '--aggregation-rule=rbac.example.com/aggregate=true'],
      check: (o) => assert.deepEqual((o as ClusterRole).aggregationRule?.clusterRoleSelectors, [{ matchLabels: { 'rbac.example.com/aggregate': 'true' } }]),
    },
    clusterrolebinding: { args: ['create', 'clusterrolebinding', 'crb', '--clusterrole=cr', '--group=devs'] },
    ingress: {
      args: ['create', 'ingress', 'ing', '--class=nginx', '--rule=foo.com/bar=svc1:8080,tls=my-cert', '--rule=/path*=svc2:http', '--default-backend=def:80', '--annotation=a=b'],
      check: (o) => assert.equal((o as Ingress).spec?.rules?.[0].http?.paths[0].pathType, 'Exact'),
    },
    'pdb with percent': { args: ['create', 'pdb', 'pdb', '--selector=app=x', '--min-available=50%'], check: (o) => assert.equal((o as PodDisruptionBudget).spec?.minAvailable, '50%') },
    'pdb with zero maxUnavailable (pointer presence)': {
      args: ['create', 'pdb', 'pdb0', '--selector=app=x', '--max-unavailable=0'],
      check: (o) => assert.equal((o as PodDisruptionBudget).spec?.maxUnavailable, 0),
    },
    quota: {
      args: ['create', 'quota', 'q', '--hard=cpu=1,memory=1Gi,pods=10,requests.storage=500Mi', '--scopes=NotBestEffort'],
      check: (o) => assert.deepEqual((o as ResourceQuota).spec?.hard, { cpu: '1', memory: '1Gi', pods: '10', 'requests.storage': '500Mi' }),
    },
    priorityclass: {
      args: ['create', 'priorityclass', 'pc', '--value=1000', '--description=high', '--preemption-policy=Never'],
      check: (o) => assert.equal((o as PriorityClass).value, 1000),
    },
  };

  for (const [name, c] of Object.entries(cases)) {
    test(name, async () => {
      const args = c.args.map((a) => a.replace('BLOB', join(dir, 'blob.bin')));
      const tail = c.command ? ['--', ...c.command] : [];
      await withRecorder(async (rec) => {
        const [live, dry] = await Promise.all([
          kubectl('1.33', rec.kubeconfig, [...args, ...tail]),
          kubectl('1.33', rec.kubeconfig, [...args, '--dry-run=client', '-o', 'json', ...tail]),
        ]);
        assert.equal(live.code, 0, live.stderr);
        assert.equal(dry.code, 0, dry.stderr);
        const writes = rec.writes('POST');
        assert.equal(writes.length, 1, JSON.stringify(rec.requests.map((r) => `${r.method} ${r.path}`)));
        assert.equal(writes[0].contentType, PROTOBUF);
        const decoded = decodeKubernetesProtobuf(writes[0].body);
        const expected = pruneEmpty(JSON.parse(dry.stdout)) as Obj;
        assert.equal(decoded.apiVersion, expected.apiVersion);
        assert.equal(decoded.kind, expected.kind);
        assert.deepEqual(decoded.object, expected);
        c.check?.(decoded.object);
      });
    });
  }

  test('every prefix of a captured Deployment body is a 400 or decodes', async () => {
    await withRecorder(async (rec) => {
      const r = await kubectl('1.33', rec.kubeconfig, ['create', 'deployment', 'web', '--image=nginx', '--port=80']);
      assert.equal(r.code, 0, r.stderr);
      assertTruncationsAreBadRequests(rec.writes('POST')[0].body);
    });
  });
});

interface HelmRelease {
  name: string;
  info: { status: string };
  chart: { metadata: { name: string } };
}

function decodeHelmRelease(secret: Secret): HelmRelease {
  // data.release = base64 (JSON) of base64 (Helm) of gzip of the release JSON
  const helmEncoded = Buffer.from(secret.data?.release ?? '', 'base64').toString('utf8');
  return JSON.parse(gunzipSync(Buffer.from(helmEncoded, 'base64')).toString('utf8')) as HelmRelease;
}

for (const major of ['3', '4'] as const) {
  test(`helm ${major} install sends its release Secret as protobuf`, skipUnless(helmPath(major) !== undefined, `helm ${major} (scripts/setup.sh)`), async () => {
    const dir = mkdtempSync(join(tmpdir(), 'timonel-pb-chart-'));
    try {
      mkdirSync(join(dir, 'chart', 'templates'), { recursive: true });
      writeFileSync(join(dir, 'chart', 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 0.1.0\n');
      await withRecorder(async (rec) => {
        const r = await helm(major, rec.kubeconfig, ['install', 'rel', join(dir, 'chart'), '--namespace', 'default']);
        assert.equal(r.code, 0, r.stderr);
        const create = rec.writes('POST');
        const update = rec.writes('PUT');
        assert.equal(create.length, 1);
        assert.equal(update.length, 1);
        const bodies: [RecordedRequest, string][] = [
          [create[0], 'pending-install'],
          [update[0], 'deployed'],
        ];
        for (const [req, status] of bodies) {
          assert.equal(req.contentType, PROTOBUF);
          const { apiVersion, kind, object } = decodeKubernetesProtobuf(req.body);
          assert.equal(apiVersion, 'v1');
          assert.equal(kind, 'Secret');
          const secret = object as Secret;
          assert.equal(secret.type, 'helm.sh/release.v1');
          assert.equal(secret.metadata?.name, 'sh.helm.release.v1.rel.v1');
          assert.equal(secret.metadata?.creationTimestamp, undefined);
          const labels = secret.metadata?.labels ?? {};
          assert.deepEqual({ name: labels.name, owner: labels.owner, status: labels.status, version: labels.version }, { name: 'rel', owner: 'helm', status, version: '1' });
          const release = decodeHelmRelease(secret);
          assert.equal(release.name, 'rel');
          assert.equal(release.info.status, status);
          assert.equal(release.chart.metadata.name, 'demo');
        }
        assert.equal(update[0].path, '/api/v1/namespaces/default/secrets/sh.helm.release.v1.rel.v1');
        assertTruncationsAreBadRequests(create[0].body);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
