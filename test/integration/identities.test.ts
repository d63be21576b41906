// What each kind of identity can and cannot do, through the real kubectl 1.33 over HTTPS with generated
// kubeconfigs: the admin, a view-only user, a namespace editor, a service account, a node (x509
// system:node:<name> in system:nodes: Node authorizer + NodeRestriction) and a bootstrap token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { kubeconfigYAML, writeKubeconfig } from '../../src/cli/kubeconfig.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { repoRoot, run, type RunResult } from '../helpers/exec.js';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';

let cluster: TestCluster;
const configs: Record<string, string> = {};

const admin = (args: string[], stdin?: string) => cluster.kubectlOk(args, { timeoutMs: 60_000, ...(stdin === undefined ? {} : { stdin }) });
const as = (who: string, args: string[]): Promise<RunResult> => kubectl('1.33', configs[who], args, { timeoutMs: 60_000 });
const canI = async (who: string, args: string[]) => {
  const r = await as(who, ['auth', 'can-i', ...args]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return r.stdout.trim();
};
const refused = (r: RunResult, message: string) => {
  assert.notEqual(r.code, 0, r.stdout);
  assert.ok(r.stderr.includes(message), `stderr:\n${r.stderr}\nwanted:\n${message}`);
};

async function certUser(name: string, groups: string[] = []): Promise<void> {
  const out = join(cluster.dataDir, `${name.replace(/:/g, '_')}.kubeconfig`);
  const args = ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'kubeconfig', '--user', name, '--data-dir', cluster.dataDir, '--out', out, ...groups.flatMap((g) => ['--group', g])];
  const r = await run(process.execPath, args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  configs[name] = out;
}

function tokenUser(name: string, token: string): void {
  const cfg = parseYaml(readFileSync(cluster.kubeconfigPath, 'utf8')) as { clusters: { cluster: { server: string; 'certificate-authority-data'?: string } }[] };
  const ca = cfg.clusters[0].cluster['certificate-authority-data'];
  const out = join(cluster.dataDir, `${name}.kubeconfig`);
  writeKubeconfig(out, kubeconfigYAML(cfg.clusters[0].cluster.server, ca ? Buffer.from(ca, 'base64').toString() : undefined, { name, token }));
  configs[name] = out;
}

const podYAML = (name: string, node: string, secret: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: team}
spec:
  nodeName: ${node}
  containers: [{name: c, image: busybox}]
  volumes: [{name: s, secret: {secretName: ${secret}}}]
`;

describe('identities with kubectl 1.33', skipUnless(kubectlPath('1.33') !== undefined, 'kubectl 1.33 not found (scripts/setup.sh fetches it)'), () => {
  before(async () => {
    cluster = await startTestCluster({ controllers: ['namespace', 'manager'] });
    configs.admin = cluster.kubeconfigPath;
    await certUser('viewer', ['viewers']);
    await certUser('editor');
    await certUser('system:node:n1', ['system:nodes']);
    await admin(['create', 'namespace', 'team']);
    await admin(['create', 'clusterrolebinding', 'viewers-view', '--clusterrole=view', '--group=viewers']);
    await admin(['create', 'rolebinding', 'editor-edit', '--clusterrole=edit', '--user=editor', '-n', 'team']);
    await admin(['create', 'serviceaccount', 'robot', '-n', 'team']);
    await admin(['create', 'rolebinding', 'robot-view', '--clusterrole=view', '--serviceaccount=team:robot', '-n', 'team']);
    tokenUser('robot', (await admin(['create', 'token', 'robot', '-n', 'team'])).stdout.trim());
    for (const n of ['n1', 'n2']) await admin(['apply', '-f', '-'], `apiVersion: v1\nkind: Node\nmetadata: {name: ${n}}\n`);
    for (const s of ['s1', 's2']) await admin(['create', 'secret', 'generic', s, '-n', 'team', `--from-literal=k=${s}`]);
  });
  after(async () => {
    await cluster?.close();
  });

  test('the admin may do everything', async () => {
    assert.equal(await canI('admin', ['*', '*', '--all-namespaces']), 'yes');
    const list = await as('admin', ['auth', 'can-i', '--list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
  });

  test('a view-only user reads everywhere but writes nowhere, and reads no Secrets', async () => {
    assert.equal(await canI('viewer', ['list', 'pods', '-n', 'team']), 'yes');
    assert.equal(await canI('viewer', ['create', 'configmaps', '-n', 'team']), 'no');
    assert.equal(await canI('viewer', ['get', 'secrets', '-n', 'team']), 'no');
    const list = await as('viewer', ['auth', 'can-i', '--list', '-n', 'team']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^pods\s+\[\]\s+\[\]\s+\[get list watch\]$/m);
    assert.doesNotMatch(list.stdout, /^secrets\s/m);
  });

  test('a namespace editor writes in its namespace only', async () => {
    assert.equal(await canI('editor', ['create', 'deployments.apps', '-n', 'team']), 'yes');
    assert.equal(await canI('editor', ['create', 'deployments.apps', '-n', 'default']), 'no');
    assert.equal(await canI('editor', ['create', 'rolebindings.rbac.authorization.k8s.io', '-n', 'team']), 'no');
    refused(await as('editor', ['create', 'configmap', 'x', '-n', 'default']), 'User "editor" cannot create resource "configmaps" in API group "" in the namespace "default"');
    const list = await as('editor', ['auth', 'can-i', '--list', '-n', 'team']);
    assert.match(list.stdout, /^deployments\.apps\s+\[\]\s+\[\]\s+\[create delete deletecollection patch update get list watch\]$/m);
  });

  test('a service account acts with its bindings only', async () => {
    const who = await as('robot', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(who.stdout, 'system:serviceaccount:team:robot', who.stderr);
    assert.equal(await canI('robot', ['list', 'pods', '-n', 'team']), 'yes');
    assert.equal(await canI('robot', ['list', 'pods', '-n', 'default']), 'no');
    assert.equal(await canI('robot', ['delete', 'pods', '-n', 'team']), 'no');
  });

  test('a node reads only what its pods use and modifies only itself', async () => {
    await admin(['apply', '-f', '-'], podYAML('on-n1', 'n1', 's1'));
    await admin(['apply', '-f', '-'], podYAML('on-n2', 'n2', 's2'));
    const who = await as('system:node:n1', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}']);
    assert.equal(who.stdout, 'system:node:n1 ["system:nodes","system:authenticated"]', who.stderr);
    const s1 = await as('system:node:n1', ['get', 'secret', 's1', '-n', 'team', '-o', 'jsonpath={.data.k}']);
    assert.equal(s1.code, 0, s1.stderr);
    assert.equal(Buffer.from(s1.stdout, 'base64').toString(), 's1');
    refused(await as('system:node:n1', ['get', 'secret', 's2', '-n', 'team']), "no relationship found between node 'n1' and this object");
    refused(await as('system:node:n1', ['get', 'secrets', '-n', 'team']), 'cannot list resource "secrets"');
    assert.equal((await as('system:node:n1', ['label', 'node', 'n1', 'team=blue'])).code, 0);
    refused(await as('system:node:n1', ['label', 'node', 'n1', 'node-role.kubernetes.io/control-plane=']), 'is not allowed to modify labels: node-role.kubernetes.io/control-plane');
    refused(await as('system:node:n1', ['label', 'node', 'n2', 'team=blue']), 'node "n1" is not allowed to modify node "n2"');
    refused(await as('system:node:n1', ['delete', 'pod', 'on-n2', '-n', 'team', '--wait=false']), 'node "n1" can only delete pods with spec.nodeName set to itself');
    refused(await as('system:node:n1', ['run', 'x', '--image=busybox', '-n', 'team']), 'node "n1" can only create mirror pods');
    const list = await as('system:node:n1', ['auth', 'can-i', '--list', '-n', 'team']);
    assert.ok(`${list.stdout}${list.stderr}`.includes('node authorizer does not support user rule resolution'), `${list.stdout}\n${list.stderr}`);
  });

  test('a bootstrap token from `timonel token create` authenticates as a bootstrapper that may only ask for CSRs', async () => {
    const cli = `import(${JSON.stringify(join(repoRoot, 'src/cli/token.ts'))}).then((m) => m.runTokenCommand(['create', '--ttl', '1h', '--data-dir', ${JSON.stringify(cluster.dataDir)}]))`;
    const r = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', cli], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    tokenUser('bootstrapper', token);
    const who = await as('bootstrapper', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}']);
    assert.equal(who.stdout, `system:bootstrap:${token.slice(0, 6)} ["system:bootstrappers","system:authenticated"]`, who.stderr);
    // certificates.k8s.io is not served, so kubectl's can-i cannot resolve the group: ask with a review of our own
    const review = `apiVersion: authorization.k8s.io/v1
kind: SelfSubjectAccessReview
spec: {resourceAttributes: {verb: create, group: certificates.k8s.io, resource: certificatesigningrequests}}
`;
    const csr = await kubectl('1.33', configs.bootstrapper, ['create', '-f', '-', '-o', 'jsonpath={.status.allowed}'], { timeoutMs: 60_000, stdin: review });
    assert.equal(csr.stdout, 'true', csr.stderr);
    assert.equal(await canI('bootstrapper', ['list', 'pods', '-n', 'team']), 'no');
    refused(await as('bootstrapper', ['get', 'secrets', '-n', 'kube-system']), 'User "system:bootstrap:');
    await admin(['delete', 'secret', `bootstrap-token-${token.slice(0, 6)}`, '-n', 'kube-system']);
    refused(await as('bootstrapper', ['get', 'pods']), 'Unauthorized');
  });
});
