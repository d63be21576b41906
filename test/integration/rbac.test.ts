// RBAC with the real kubectl 1.33 over HTTPS, users holding kubeconfigs made by `timonel kubeconfig`:
// 403s that name the verb, resource and user, namespace-scoped editors, `kubectl auth can-i` (and
// `--list`), `--as` impersonation, escalation prevention, service account tokens and aggregation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { repoRoot, run, type RunResult } from '../helpers/exec.js';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';
import { eventually } from './support.js';

let cluster: TestCluster;
const configs: Record<string, string> = {};

const admin = (args: string[]) => cluster.kubectlOk(args, { timeoutMs: 60_000 });
const as = (user: string, args: string[]): Promise<RunResult> => kubectl('1.33', configs[user], args, { timeoutMs: 60_000 });

/** `timonel kubeconfig --user NAME --group G… --out FILE`, as a user would run it. */
async function newUser(name: string, groups: string[] = []): Promise<void> {
  const out = join(cluster.dataDir, `${name}.kubeconfig`);
  const args = ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'kubeconfig', '--user', name, '--data-dir', cluster.dataDir, '--out', out, ...groups.flatMap((g) => ['--group', g])];
  const r = await run(process.execPath, args, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  configs[name] = out;
}

const forbidden = (r: RunResult, message: string) => {
  assert.notEqual(r.code, 0, r.stdout);
  assert.ok(r.stderr.includes(message), `stderr:\n${r.stderr}\nwanted:\n${message}`);
};
const canI = async (user: string, args: string[]) => {
  const r = await as(user, ['auth', 'can-i', ...args]);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return r.stdout.trim();
};

describe('RBAC with kubectl 1.33', skipUnless(kubectlPath('1.33') !== undefined, 'kubectl 1.33 not found (scripts/setup.sh fetches it)'), () => {
  before(async () => {
    cluster = await startTestCluster({ controllers: ['namespace', 'manager'] });
    configs.admin = cluster.kubeconfigPath;
    await newUser('viewer', ['viewers']);
    await newUser('editor');
    await newUser('team-admin');
    await admin(['create', 'namespace', 'team']);
    await admin(['create', 'clusterrolebinding', 'viewers-view', '--clusterrole=view', '--group=viewers']);
    await admin(['create', 'rolebinding', 'editor-edit', '--clusterrole=edit', '--user=editor', '-n', 'team']);
    await admin(['create', 'rolebinding', 'team-admin', '--clusterrole=admin', '--user=team-admin', '-n', 'team']);
  });
  after(async () => {
    await cluster?.close();
  });

  test('the kubeconfig command signs a certificate for the user and groups it names', async () => {
    const cfg = parseYaml(readFileSync(configs.viewer, 'utf8')) as { users: { name: string }[]; clusters: { cluster: { server: string } }[] };
    assert.equal(cfg.users[0].name, 'viewer');
    assert.equal(cfg.clusters[0].cluster.server, cluster.url);
    const who = await as('viewer', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(who.stdout, 'viewer ["viewers","system:authenticated"]');
  });

  test('the admin (system:masters) may do everything; the default roles exist', async () => {
    assert.equal(await canI('admin', ['*', '*', '--all-namespaces']), 'yes');
    const roles = (await admin(['get', 'clusterroles', '-l', 'kubernetes.io/bootstrapping=rbac-defaults', '-o', 'name'])).stdout;
    for (const r of ['cluster-admin', 'admin', 'edit', 'view', 'system:basic-user', 'system:discovery', 'system:public-info-viewer'])
      assert.match(roles, new RegExp(`^clusterrole.rbac.authorization.k8s.io/${r}$`, 'm'));
  });

  test('a view user reads but cannot write, nor read Secrets', async () => {
    await admin(['create', 'configmap', 'settings', '--from-literal=a=1']);
    const got = await as('viewer', ['get', 'configmap', 'settings', '-o', 'jsonpath={.data.a}']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, '1');
    assert.equal((await as('viewer', ['get', 'pods', '-A'])).code, 0);
    forbidden(await as('viewer', ['create', 'configmap', 'mine']), 'configmaps is forbidden: User "viewer" cannot create resource "configmaps" in API group "" in the namespace "default"');
    forbidden(await as('viewer', ['get', 'secrets']), 'secrets is forbidden: User "viewer" cannot list resource "secrets" in API group "" in the namespace "default"');
    forbidden(
      await as('viewer', ['delete', 'configmap', 'settings']),
      'configmaps "settings" is forbidden: User "viewer" cannot delete resource "configmaps" in API group "" in the namespace "default"',
    );
    forbidden(await as('viewer', ['get', 'nodes']), 'nodes is forbidden: User "viewer" cannot list resource "nodes" in API group "" at the cluster scope');
  });

  test('a namespace editor creates in its namespace only', async () => {
    const ok = await as('editor', ['create', 'deployment', 'web', '--image=nginx', '-n', 'team']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await as('editor', ['get', 'deployments', '-n', 'team', '-o', 'name'])).stdout.trim(), 'deployment.apps/web');
    assert.equal((await as('editor', ['scale', 'deployment', 'web', '--replicas=2', '-n', 'team'])).code, 0);
    forbidden(
      await as('editor', ['create', 'deployment', 'web', '--image=nginx', '-n', 'default']),
      'deployments.apps is forbidden: User "editor" cannot create resource "deployments" in API group "apps" in the namespace "default"',
    );
    forbidden(await as('editor', ['get', 'pods', '-n', 'default']), 'User "editor" cannot list resource "pods" in API group "" in the namespace "default"');
  });

  test('kubectl auth can-i answers yes and no, and --list shows the rules', async () => {
    assert.equal(await canI('viewer', ['list', 'pods']), 'yes');
    assert.equal(await canI('viewer', ['create', 'pods']), 'no');
    assert.equal(await canI('viewer', ['get', 'secrets']), 'no');
    assert.equal(await canI('editor', ['create', 'deployments.apps', '-n', 'team']), 'yes');
    assert.equal(await canI('editor', ['create', 'deployments.apps', '-n', 'default']), 'no');
    assert.equal(await canI('editor', ['update', 'deployments.apps/scale', '-n', 'team']), 'yes');
    assert.equal(await canI('viewer', ['get', '/healthz']), 'yes');
    const list = await as('editor', ['auth', 'can-i', '--list', '-n', 'team']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs/);
    assert.match(list.stdout, /^deployments\.apps\s+\[\]\s+\[\]\s+\[.*create.*\]/m);
    assert.match(list.stdout, /^selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/m);
    const elsewhere = await as('editor', ['auth', 'can-i', '--list', '-n', 'default']);
    assert.doesNotMatch(elsewhere.stdout, /^deployments\.apps/m);
  });

  test('--as impersonates for the admin and is refused to the view user', async () => {
    assert.equal((await admin(['auth', 'can-i', 'list', 'pods', '--as=editor', '-n', 'team'])).stdout.trim(), 'yes');
    const r = await cluster.kubectl(['get', 'pods', '-n', 'default', '--as=editor']);
    forbidden(r, 'User "editor" cannot list resource "pods" in API group "" in the namespace "default"');
    const viaGroup = await cluster.kubectl(['get', 'configmaps', '--as=someone', '--as-group=viewers']);
    assert.equal(viaGroup.code, 0, viaGroup.stderr);
    forbidden(await as('viewer', ['get', 'pods', '--as=admin']), 'users "admin" is forbidden: User "viewer" cannot impersonate resource "users" in API group "" at the cluster scope');
    forbidden(await as('viewer', ['get', 'pods', '--as=x', '--as-group=system:masters']), 'User "viewer" cannot impersonate resource "users"');
  });

  test('nobody grants what they do not hold', async () => {
    forbidden(
      await as('team-admin', ['create', 'rolebinding', 'grab', '--clusterrole=cluster-admin', '--user=team-admin', '-n', 'team']),
      'is attempting to grant RBAC permissions not currently held',
    );
    forbidden(
      await as('team-admin', ['create', 'role', 'nodes', '--verb=get', '--resource=nodes', '-n', 'team']),
      'roles.rbac.authorization.k8s.io "nodes" is forbidden: user "team-admin" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}',
    );
    // what they hold in their namespace they may hand on
    assert.equal((await as('team-admin', ['create', 'rolebinding', 'viewer-view', '--clusterrole=view', '--user=viewer', '-n', 'team'])).code, 0);
    assert.equal((await as('team-admin', ['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods', '-n', 'team'])).code, 0);
    // and nothing outside it
    forbidden(await as('team-admin', ['create', 'rolebinding', 'x', '--clusterrole=view', '--user=viewer', '-n', 'default']), 'cannot create resource "rolebindings"');
  });

  test('a service account token gets what its RoleBinding gives', async () => {
    await admin(['create', 'serviceaccount', 'robot', '-n', 'team']);
    await admin(['create', 'rolebinding', 'robot-view', '--clusterrole=view', '--serviceaccount=team:robot', '-n', 'team']);
    const token = (await admin(['create', 'token', 'robot', '-n', 'team'])).stdout.trim();
    const creds = parseYaml(readFileSync(cluster.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
    configs.robot = join(cluster.dataDir, 'robot.kubeconfig');
    writeFileSync(
      configs.robot,
      toYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: creds.clusters[0].cluster }],
        users: [{ name: 'robot', user: { token } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'robot', namespace: 'team' } }],
        'current-context': 'c',
      }),
      { mode: 0o600 },
    );
    assert.equal((await as('robot', ['get', 'deployments'])).code, 0);
    forbidden(await as('robot', ['get', 'pods', '-n', 'default']), 'User "system:serviceaccount:team:robot" cannot list resource "pods" in API group "" in the namespace "default"');
    forbidden(await as('robot', ['create', 'configmap', 'x']), 'User "system:serviceaccount:team:robot" cannot create resource "configmaps" in API group "" in the namespace "team"');
    // the admin may act as the service account
    assert.equal((await admin(['auth', 'can-i', 'list', 'pods', '-n', 'team', '--as=system:serviceaccount:team:robot'])).stdout.trim(), 'yes');
  });

  test('a ClusterRole labelled aggregate-to-view adds its rules to view', async () => {
    assert.equal(await canI('viewer', ['list', 'nodes']), 'no');
    const manifest = join(cluster.dataDir, 'nodes-view.yaml');
    writeFileSync(
      manifest,
      toYaml({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'nodes-view', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
        rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }],
      }),
    );
    await admin(['apply', '-f', manifest]);
    await eventually('view to aggregate nodes-view', async () => (await canI('viewer', ['list', 'nodes'])) === 'yes', 10_000);
    const view = (await admin(['get', 'clusterrole', 'view', '-o', 'jsonpath={.rules[*].resources}'])).stdout;
    assert.match(view, /"nodes"/);
    assert.equal((await as('viewer', ['get', 'nodes'])).code, 0);
  });
});
