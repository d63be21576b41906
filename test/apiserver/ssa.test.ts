// Server-side apply and managedFields through the real API: kubectl 1.33, raw requests, Helm 3 and 4.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { parse as parseYaml } from 'yaml';
import { startTestCluster, tempDataDir, removeTempDataDir, type TestCluster } from '../helpers/cluster.js';
import { helm, helmPath } from '../helpers/helm.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { rawRequest } from '../helpers/raw.js';
import { skipUnless } from '../helpers/skip.js';

type Obj = Record<string, unknown>;
interface Meta {
  name?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  managedFields?: ManagedFieldsEntry[];
}
interface Item {
  metadata: Meta;
  spec?: Obj;
  data?: Record<string, string>;
}

const NS = 'ssa';
const APPLY = { 'Content-Type': 'application/apply-patch+yaml' };

function deployment(o: { replicas: number; labels?: Record<string, string>; image?: string }): string {
  const labels = Object.entries({ app: 'web', ...o.labels })
    .map(([k, v]) => `    ${k}: ${v}`)
    .join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ${NS}
  labels:
${labels}
spec:
  replicas: ${o.replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: ${o.image ?? 'nginx:1.27'}
        ports: [{containerPort: 80}]
`;
}

const configMap = (name: string, data: Record<string, string>) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${NS}\ndata:\n${Object.entries(data)
    .map(([k, v]) => `  ${k}: "${v}"\n`)
    .join('')}`;

const fieldsOf = (item: Item, manager: string) => item.metadata.managedFields?.find((e) => e.manager === manager)?.fieldsV1 as Obj | undefined;

describe('server-side apply', skipUnless(kubectlPath('1.33') !== undefined, 'kubectl 1.33 not found'), () => {
  let cluster: TestCluster;
  let dir: string;
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const getJSON = async (args: string[]): Promise<Item> => JSON.parse((await cluster.kubectlOk(['get', '-n', NS, ...args, '-o', 'json', '--show-managed-fields'])).stdout) as Item;

  before(async () => {
    cluster = await startTestCluster({ controllers: false });
    dir = tempDataDir('timonel-ssa-');
    await cluster.kubectlOk(['create', 'namespace', NS]);
  });
  after(async () => {
    removeTempDataDir(dir);
    await cluster?.close();
  });

  test('kubectl apply --server-side creates with 201, then updates', async () => {
    const p = file('web.yaml', deployment({ replicas: 1, labels: { tier: 'fe' } }));
    const first = await cluster.kubectlOk(['apply', '--server-side', '-f', p, '-v=6']);
    assert.match(first.stdout, /deployment.apps\/web serverside-applied/);
    assert.match(first.stderr, /verb="PATCH" url="[^"]*\/deployments\/web\?fieldManager=kubectl[^"]*" status="201 Created"/);
    writeFileSync(p, deployment({ replicas: 1, labels: { tier: 'fe' }, image: 'nginx:1.28' }));
    const second = await cluster.kubectlOk(['apply', '--server-side', '-f', p, '-v=6']);
    assert.match(second.stderr, /verb="PATCH" url="[^"]*\/deployments\/web\?[^"]*" status="200 OK"/);
    const d = await getJSON(['deployment', 'web']);
    const containers = ((d.spec!.template as Obj).spec as Obj).containers as Obj[];
    assert.equal(containers[0].image, 'nginx:1.28');
    assert.equal((containers[0].ports as Obj[])[0].protocol, 'TCP', 'defaults still apply');
    assert.deepEqual(d.metadata.managedFields!.map((e) => [e.manager, e.operation]), [['kubectl', 'Apply']]);
  });

  test('re-applying the same configuration is a no-op: resourceVersion and time stay', async () => {
    const before = await getJSON(['deployment', 'web']);
    await cluster.kubectlOk(['apply', '--server-side', '-f', join(dir, 'web.yaml')]);
    const again = await getJSON(['deployment', 'web']);
    assert.equal(again.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.deepEqual(again.metadata.managedFields, before.metadata.managedFields);
  });

  test('another manager changing an owned field gets 409 listing the conflict, and wins with --force-conflicts', async () => {
    const p = file('web-other.yaml', deployment({ replicas: 3, image: 'nginx:1.28' }));
    const refused = await cluster.kubectl(['apply', '--server-side', '--field-manager=other', '-f', p]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.replicas/);

    const raw = await rawRequest(cluster.kubeconfigPath, 'PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/web?fieldManager=other`, {
      body: deployment({ replicas: 3, image: 'nginx:1.28' }),
      headers: APPLY,
    });
    assert.equal(raw.status, 409);
    const status = raw.json as { reason: string; message: string; details: { causes: Obj[] } };
    assert.equal(status.reason, 'Conflict');
    assert.equal(status.message, 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas');
    assert.deepEqual(status.details.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.spec.replicas' }]);

    await cluster.kubectlOk(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', p]);
    const d = await getJSON(['deployment', 'web']);
    assert.equal(d.spec!.replicas, 3);
    assert.deepEqual(fieldsOf(d, 'other')!['f:spec'] !== undefined && Object.keys((fieldsOf(d, 'other')!['f:spec'] as Obj)).includes('f:replicas'), true);
    assert.ok(!Object.keys(fieldsOf(d, 'kubectl')!['f:spec'] as Obj).includes('f:replicas'), 'kubectl no longer owns replicas');
  });

  test('a field dropped from the applied configuration is removed when only that manager owned it', async () => {
    // kubectl owns labels app and tier; "other" co-owns app (same value) but not tier
    await cluster.kubectlOk(['apply', '--server-side', '-f', file('web.yaml', deployment({ replicas: 3, image: 'nginx:1.28' }))]);
    const d = await getJSON(['deployment', 'web']);
    assert.deepEqual(d.metadata.labels, { app: 'web' });
    // "other" stops applying app: kubectl still owns it, so it stays
    const otherless = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ${NS}\nspec:\n  replicas: 3\n`;
    await cluster.kubectlOk(['apply', '--server-side', '--field-manager=other', '-f', file('web-other.yaml', otherless)]);
    const kept = await getJSON(['deployment', 'web']);
    assert.deepEqual(kept.metadata.labels, { app: 'web' });
    assert.equal(((kept.spec!.template as Obj).spec as { containers: unknown[] }).containers.length, 1);
  });

  test('kubectl get -o yaml --show-managed-fields shows entries in upstream shape', async () => {
    const shown = parseYaml((await cluster.kubectlOk(['get', 'deployment', 'web', '-n', NS, '-o', 'yaml', '--show-managed-fields'])).stdout) as Item;
    const entries = shown.metadata.managedFields!;
    assert.ok(entries.length >= 2);
    for (const e of entries) {
      assert.deepEqual(Object.keys(e).sort(), ['apiVersion', 'fieldsType', 'fieldsV1', 'manager', 'operation', 'time']);
      assert.equal(e.apiVersion, 'apps/v1');
      assert.equal(e.fieldsType, 'FieldsV1');
      assert.match(String(e.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    assert.deepEqual(entries.map((e) => e.operation), entries.map(() => 'Apply'));
    const kubectl = fieldsOf(shown, 'kubectl')!;
    const container = ((((kubectl['f:spec'] as Obj)['f:template'] as Obj)['f:spec'] as Obj)['f:containers'] as Obj)['k:{"name":"c"}'] as Obj;
    assert.deepEqual(container, { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } });
    const hidden = parseYaml((await cluster.kubectlOk(['get', 'deployment', 'web', '-n', NS, '-o', 'yaml'])).stdout) as Item;
    assert.equal(hidden.metadata.managedFields, undefined);
  });

  test('writes without apply are owned by their manager: fieldManager, else the User-Agent', async () => {
    await cluster.kubectlOk(['scale', 'deployment', 'web', '-n', NS, '--replicas=4']);
    await cluster.kubectlOk(['label', 'deployment', 'web', '-n', NS, 'extra=1']);
    const d = await getJSON(['deployment', 'web']);
    const updaters = d.metadata.managedFields!.filter((e) => e.operation === 'Update').map((e) => e.manager);
    assert.ok(updaters.includes('kubectl-label'), `managers: ${updaters.join(', ')}`);
    const merge = await rawRequest(cluster.kubeconfigPath, 'PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/web`, {
      body: { metadata: { annotations: { note: 'x' } } },
      headers: { 'Content-Type': 'application/merge-patch+json', 'User-Agent': 'my-tool/1.2 (linux)' },
    });
    assert.equal(merge.status, 200);
    const entry = (merge.json as Item).metadata.managedFields!.find((e) => e.manager === 'my-tool');
    assert.deepEqual(entry?.fieldsV1, { 'f:metadata': { 'f:annotations': { '.': {}, 'f:note': {} } } });
    assert.equal(entry?.operation, 'Update');
  });

  test('an update that changes nothing keeps resourceVersion and managedFields', async () => {
    const d = (await rawRequest(cluster.kubeconfigPath, 'GET', `/apis/apps/v1/namespaces/${NS}/deployments/web`)).json as Item;
    await new Promise((r) => setTimeout(r, 1100)); // a new second would show in a refreshed time
    const put = await rawRequest(cluster.kubeconfigPath, 'PUT', `/apis/apps/v1/namespaces/${NS}/deployments/web?fieldManager=editor`, { body: d });
    assert.equal(put.status, 200);
    const after = put.json as Item;
    assert.equal(after.metadata.resourceVersion, d.metadata.resourceVersion);
    assert.deepEqual(after.metadata.managedFields, d.metadata.managedFields);
  });

  test('apply requests are checked as upstream checks them', async () => {
    const path = `/api/v1/namespaces/${NS}/configmaps/checked`;
    const body = configMap('checked', { a: '1' });
    const noManager = await rawRequest(cluster.kubeconfigPath, 'PATCH', path, { body, headers: APPLY });
    assert.equal(noManager.status, 422);
    assert.equal((noManager.json as { message: string }).message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    const wrongKind = await rawRequest(cluster.kubeconfigPath, 'PATCH', `${path}?fieldManager=t`, { body: body.replace('kind: ConfigMap', 'kind: Secret'), headers: APPLY });
    assert.equal(wrongKind.status, 400);
    assert.equal((wrongKind.json as { message: string }).message, 'invalid object type: /v1, Kind=Secret');
    const withFields = await rawRequest(cluster.kubeconfigPath, 'PATCH', `${path}?fieldManager=t`, {
      body: body.replace('  namespace: ssa\n', '  namespace: ssa\n  managedFields: []\n'),
      headers: APPLY,
    });
    assert.equal(withFields.status, 400);
    assert.equal((withFields.json as { message: string }).message, 'metadata.managedFields must be nil');
    const created = await rawRequest(cluster.kubeconfigPath, 'PATCH', `${path}?fieldManager=t`, { body, headers: APPLY });
    assert.equal(created.status, 201);
    const json = await rawRequest(cluster.kubeconfigPath, 'PATCH', `${path}?fieldManager=t`, {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'checked' }, data: { a: '2' } }),
      headers: APPLY,
    });
    assert.equal(json.status, 200, 'JSON is YAML');
    assert.deepEqual((json.json as Item).data, { a: '2' });
  });

  test('client-side apply, then server-side apply, migrates ownership without conflicts', async () => {
    const p = file('cfg.yaml', configMap('cfg', { a: '1', b: '2' }));
    await cluster.kubectlOk(['apply', '-f', p]);
    const csa = await getJSON(['configmap', 'cfg']);
    assert.deepEqual(csa.metadata.managedFields!.map((e) => [e.manager, e.operation]), [['kubectl-client-side-apply', 'Update']]);
    assert.deepEqual(fieldsOf(csa, 'kubectl-client-side-apply'), {
      'f:data': { '.': {}, 'f:a': {}, 'f:b': {} },
      'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} } },
    });
    writeFileSync(p, configMap('cfg', { a: '10' }));
    await cluster.kubectlOk(['apply', '--server-side', '-f', p]);
    const ssa = await getJSON(['configmap', 'cfg']);
    assert.deepEqual(ssa.data, { a: '10' });
    const managers = ssa.metadata.managedFields!.map((e) => e.manager);
    assert.ok(!managers.includes('kubectl-client-side-apply'), `managers: ${managers.join(', ')}`);
    assert.deepEqual(fieldsOf(ssa, 'kubectl'), { 'f:data': { 'f:a': {} } });
  });
});

const CHART_TEMPLATE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cfg
data:
  greeting: {{ .Values.greeting | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}-web}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}-web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-svc
spec:
  selector: {app: {{ .Release.Name }}-web}
  ports: [{port: 80, targetPort: 80}]
`;

for (const major of ['4', '3'] as const) {
  describe(`Helm ${major}`, skipUnless(helmPath(major) !== undefined, `helm ${major} not found (scripts/setup.sh fetches it)`), () => {
    let cluster: TestCluster;
    let dir: string;
    const ns = `helm${major}`;
    before(async () => {
      cluster = await startTestCluster({ controllers: false });
      dir = tempDataDir('timonel-helm-chart-');
      const chart = join(dir, 'demo');
      mkdirSync(join(chart, 'templates'), { recursive: true });
      writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 0.1.0\n');
      writeFileSync(join(chart, 'values.yaml'), 'replicas: 1\ngreeting: hello\n');
      writeFileSync(join(chart, 'templates', 'all.yaml'), CHART_TEMPLATE);
      await cluster.kubectlOk(['create', 'namespace', ns]);
    });
    after(async () => {
      removeTempDataDir(dir);
      await cluster?.close();
    });
    const run = async (args: string[]) => {
      const r = await helm(major, cluster.kubeconfigPath, [...args, '--namespace', ns]);
      assert.equal(r.code, 0, `helm ${args.join(' ')}:\n${r.stderr}${r.stdout}`);
      return r;
    };
    const get = async (kind: string, name: string) => JSON.parse((await cluster.kubectlOk(['get', kind, name, '-n', ns, '-o', 'json', '--show-managed-fields'])).stdout) as Item;

    test('installs, upgrades and uninstalls a chart', async () => {
      await run(['install', 'rel', join(dir, 'demo')]);
      const installed = await get('deployment', 'rel-web');
      assert.equal(installed.spec!.replicas, 1);
      const helmEntry = installed.metadata.managedFields!.find((e) => e.manager === 'helm');
      assert.ok(helmEntry, `managers: ${installed.metadata.managedFields!.map((e) => e.manager).join(', ')}`);
      // Helm 4 applies server-side; Helm 3 creates and patches
      assert.equal(helmEntry.operation, major === '4' ? 'Apply' : 'Update');

      await run(['upgrade', 'rel', join(dir, 'demo'), '--set', 'replicas=3', '--set', 'greeting=hi']);
      assert.equal((await get('deployment', 'rel-web')).spec!.replicas, 3);
      assert.deepEqual((await get('configmap', 'rel-cfg')).data, { greeting: 'hi' });
      assert.match((await run(['status', 'rel'])).stdout, /REVISION: 2/);

      await run(['uninstall', 'rel']);
      const left = await cluster.kubectlOk(['get', 'deployments,configmaps,services,secrets', '-n', ns, '-o', 'name']);
      assert.doesNotMatch(left.stdout, /rel-web|rel-cfg|rel-svc|sh\.helm\.release/);
    });
  });
}
