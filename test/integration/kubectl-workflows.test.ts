// kubectl workflows beyond CRUD, with kubectl 1.33 and 1.20: `edit` through an EDITOR script (a valid
// change lands; an invalid one is refused and nothing changes), `apply --prune` with the default and an
// explicit allowlist, and `patch --type=json` whose `test` operation fails.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';
import { scratchDir } from './support.js';

interface ObjectJSON {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: { replicas?: number };
}

const configMap = (ns: string, name: string, data: Record<string, string>, labels: Record<string, string> = { app: 'x' }) =>
  `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  namespace: ${ns}
  labels: ${JSON.stringify(labels)}
data: ${JSON.stringify(data)}
`;

const deployment = (ns: string, name: string, replicas: number, labels: Record<string, string> = { app: 'x' }) =>
  `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  labels: ${JSON.stringify(labels)}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers: [{name: c, image: nginx:1.27}]
`;

let cluster: TestCluster;
before(async () => {
  cluster = await startTestCluster({ controllers: ['namespace'] });
});
after(async () => {
  await cluster?.close();
});

for (const version of ['1.33', '1.20']) {
  describe(`kubectl ${version} workflows`, skipUnless(kubectlPath(version) !== undefined, `kubectl ${version} not found (scripts/setup.sh fetches it)`), () => {
    const ns = `wf-${version.replace('.', '')}`;
    const scratch = scratchDir('timonel-kubectl-wf-');
    const k = (args: string[], env: Record<string, string> = {}) => cluster.kubectl(args, { version, env, timeoutMs: 60_000 });
    const ok = async (args: string[], env: Record<string, string> = {}) => {
      const r = await k(args, env);
      assert.equal(r.code, 0, `kubectl ${version} ${args.join(' ')}:\n${r.stderr}${r.stdout}`);
      return r;
    };
    const get = async (ref: string) => JSON.parse((await ok(['get', ref, '-n', ns, '-o', 'json'])).stdout) as ObjectJSON;
    const names = async (kinds: string, selector?: string) =>
      (await ok(['get', kinds, '-n', ns, '-o', 'name', ...(selector ? ['-l', selector] : [])])).stdout.trim().split('\n').filter(Boolean).sort();
    /** An EDITOR that runs a sed program over the file kubectl hands it. */
    const editor = (name: string, sedProgram: string) => {
      const path = scratch.write(name, `#!/bin/sh\nexec sed -i -e '${sedProgram}' "$1"\n`);
      chmodSync(path, 0o755);
      return path;
    };

    before(async () => {
      await ok(['create', 'namespace', ns]);
    });
    after(() => scratch.remove());

    test('edit: the EDITOR change lands; an invalid edit is reported and changes nothing', async () => {
      await ok(['create', '-f', scratch.write('edit.yaml', configMap(ns, 'edited', { greeting: 'hello', keep: 'me' }, { app: 'edit' }) + '---\n' + deployment(ns, 'edit-web', 2, { app: 'edit' }))]);
      const before = await get('cm/edited');

      const edited = await ok(['edit', 'cm/edited', '-n', ns], { EDITOR: editor('good.sh', 's/greeting: hello/greeting: edited/'), KUBE_EDITOR: '' });
      assert.match(edited.stdout, /configmap\/edited edited/);
      const after = await get('cm/edited');
      assert.deepEqual(after.data, { greeting: 'edited', keep: 'me' });
      assert.ok(Number(after.metadata.resourceVersion) > Number(before.metadata.resourceVersion));

      // kubectl reopens the editor with the server's reasons; the unchanged file then cancels the edit
      const tmp = join(scratch.dir, 'tmp');
      mkdirSync(tmp);
      const deployBefore = await get('deploy/edit-web');
      const refused = await k(['edit', 'deploy/edit-web', '-n', ns], { EDITOR: editor('bad.sh', 's/replicas: 2/replicas: -1/'), KUBE_EDITOR: '', TMPDIR: tmp });
      assert.notEqual(refused.code, 0, refused.stdout);
      assert.match(refused.stderr, /deployments\.apps "edit-web" is invalid/);
      assert.match(refused.stderr, /Edit cancelled, no valid changes were saved/);
      const copy = /A copy of your changes has been stored to "([^"]+)"/.exec(refused.stderr);
      assert.ok(copy && copy[1].startsWith(tmp), refused.stderr);
      const kept = readFileSync(copy[1], 'utf8');
      assert.match(kept, /replicas: -1/);
      assert.match(kept, /# \* spec\.replicas: Invalid value: -1: must be greater than or equal to 0/);
      const deployAfter = await get('deploy/edit-web');
      assert.equal(deployAfter.spec?.replicas, 2);
      assert.equal(deployAfter.metadata.resourceVersion, deployBefore.metadata.resourceVersion);
      rmSync(tmp, { recursive: true, force: true });
    });

    test('apply --prune -l removes what left the directory and keeps the rest', async () => {
      // the kinds are listed explicitly, which also tests the allowlist (1.20 calls the flag
      // --prune-whitelist); pruning with kubectl's default list is tested in replicationcontroller.test.ts
      const allow = (...gvks: string[]) => gvks.map((g) => `${version === '1.20' ? '--prune-whitelist' : '--prune-allowlist'}=${g}`);
      const dir = join(scratch.dir, 'prune');
      mkdirSync(dir);
      const write = (name: string, text: string) => scratch.write(join('prune', name), text);
      write('a.yaml', configMap(ns, 'prune-a', { v: '1' }));
      write('b.yaml', configMap(ns, 'prune-b', { v: '1' }));
      write('web.yaml', deployment(ns, 'prune-web', 1));
      await ok(['apply', '-f', dir]);
      // applied too, but with another label: outside the selector, so never pruned
      await ok(['apply', '-f', scratch.write('other.yaml', configMap(ns, 'prune-other', { v: '1' }, { app: 'y' }))]);

      rmSync(join(dir, 'b.yaml'));
      const pruned = await ok(['apply', '--prune', '-l', 'app=x', ...allow('core/v1/ConfigMap', 'apps/v1/Deployment'), '-f', dir]);
      assert.match(pruned.stdout, /configmap\/prune-b pruned/);
      assert.match(pruned.stdout, /configmap\/prune-a unchanged/);
      assert.match(pruned.stdout, /deployment\.apps\/prune-web unchanged/);
      assert.deepEqual(await names('cm,deploy', 'app in (x,y)'), ['configmap/prune-a', 'configmap/prune-other', 'deployment.apps/prune-web']);

      // only the listed kinds are pruned: the Deployment that left the directory stays
      rmSync(join(dir, 'a.yaml'));
      rmSync(join(dir, 'web.yaml'));
      write('c.yaml', configMap(ns, 'prune-c', { v: '1' }));
      const limited = await ok(['apply', '--prune', '-l', 'app=x', ...allow('core/v1/ConfigMap'), '-f', dir]);
      assert.match(limited.stdout, /configmap\/prune-c created/);
      assert.match(limited.stdout, /configmap\/prune-a pruned/);
      assert.doesNotMatch(limited.stdout, /prune-web/);
      assert.deepEqual(await names('cm,deploy', 'app in (x,y)'), ['configmap/prune-c', 'configmap/prune-other', 'deployment.apps/prune-web']);
    });

    test('patch --type=json: a failing test op is an error and changes nothing', async () => {
      await ok(['create', '-f', scratch.write('jp.yaml', configMap(ns, 'jp', { a: '1' }))]);
      const passing = JSON.stringify([
        { op: 'test', path: '/data/a', value: '1' },
        { op: 'replace', path: '/data/a', value: '2' },
      ]);
      assert.match((await ok(['patch', 'cm/jp', '-n', ns, '--type=json', '-p', passing])).stdout, /configmap\/jp patched/);
      const before = await get('cm/jp');
      assert.deepEqual(before.data, { a: '2' });

      const failing = JSON.stringify([
        { op: 'replace', path: '/data/a', value: '3' },
        { op: 'test', path: '/data/a', value: '1' },
        { op: 'add', path: '/data/b', value: 'x' },
      ]);
      const r = await k(['patch', 'cm/jp', '-n', ns, '--type=json', '-p', failing]);
      assert.notEqual(r.code, 0, r.stdout);
      // upstream answers 422 Invalid; kubectl prints it this way (1.33 adds the server's message)
      assert.match(r.stderr, /The request is invalid/);
      const after = await get('cm/jp');
      assert.deepEqual(after.data, { a: '2' });
      assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    });
  });
}
