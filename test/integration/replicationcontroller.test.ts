// ReplicationControllers with real kubectl 1.33 and 1.20: apply, get, scale, `get all`, cascading delete
// (the garbage collector), and `apply --prune` with kubectl's default prune list, which names them.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { garbageCollectorController } from '../../src/controllers/garbagecollector/controller.js';
import { replicationControllerController } from '../../src/controllers/replicaset/controller.js';
import { startWorkloadHarness, waitFor, type WorkloadHarness } from '../helpers/fake-kubelet.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';
import { scratchDir } from './support.js';

const rc = (ns: string, name: string, replicas: number, app: string) => `apiVersion: v1
kind: ReplicationController
metadata: {name: ${name}, namespace: ${ns}, labels: {app: ${app}}}
spec:
  replicas: ${replicas}
  template:
    metadata: {labels: {app: ${app}, rc: ${name}}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
`;

const configMap = (ns: string, name: string, app: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${ns}, labels: {app: ${app}}}
data: {k: v}
`;

let h: WorkloadHarness;
let scratch: ReturnType<typeof scratchDir>;

before(async () => {
  h = await startWorkloadHarness([replicationControllerController, garbageCollectorController], { kubelet: { readyAfterMs: 30 } });
  scratch = scratchDir();
});
after(async () => {
  await h?.close();
  scratch?.remove();
});

for (const version of ['1.33', '1.20']) {
  describe(`kubectl ${version}`, skipUnless(kubectlPath(version) !== undefined, `kubectl ${version} not found (scripts/setup.sh fetches it)`), () => {
    const ns = `rc-${version.replace('.', '')}`;
    const k = (args: string[]) => h.cluster.kubectlOk(args, { version, timeoutMs: 60_000 });
    const podNames = async (selector: string) =>
      (await k(['get', 'pods', '-n', ns, '-l', selector, '-o', 'name'])).stdout
        .split('\n')
        .filter(Boolean)
        .sort();
    const readyColumn = async (name: string) => (await k(['get', 'rc', name, '-n', ns, '-o', 'jsonpath={.status.readyReplicas}'])).stdout;

    before(async () => {
      await k(['create', 'namespace', ns]);
    });

    test('apply, get, scale, get all and a cascading delete', async () => {
      const file = scratch.write(`rc-${ns}.yaml`, rc(ns, 'web', 2, 'web'));
      assert.match((await k(['apply', '-f', file])).stdout, /^replicationcontroller\/web created$/m);
      await waitFor('2 ready replicas', async () => ((await readyColumn('web')) === '2' ? true : undefined), 20_000);

      const table = (await k(['get', 'rc', '-n', ns])).stdout.trim().split('\n');
      assert.match(table[0], /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE$/);
      assert.match(table[1], /^web\s+2\s+2\s+2\s+\d+s$/);
      const wide = (await k(['get', 'rc', 'web', '-n', ns, '-o', 'wide'])).stdout.trim().split('\n');
      assert.match(wide[0], /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/);
      assert.match(wide[1], /^web\s+2\s+2\s+2\s+\d+s\s+web\s+nginx:1\.25\s+app=web,rc=web$/);

      assert.match((await k(['scale', 'rc', 'web', '-n', ns, '--replicas=3'])).stdout, /^replicationcontroller\/web scaled$/m);
      await waitFor('3 ready replicas', async () => ((await readyColumn('web')) === '3' ? true : undefined), 20_000);
      assert.equal((await podNames('rc=web')).length, 3);

      const described = (await k(['describe', 'rc', 'web', '-n', ns])).stdout;
      assert.match(described, /^Replicas:\s+3 current \/ 3 desired$/m);
      assert.match(described, /^Pods Status:\s+3 Running \/ 0 Waiting \/ 0 Succeeded \/ 0 Failed$/m);
      assert.match(described, /SuccessfulCreate/);
      // expose takes the Service's selector from the RC's label map
      await k(['expose', 'rc', 'web', '-n', ns, '--port=80', '--name=web-svc']);
      assert.equal((await k(['get', 'svc', 'web-svc', '-n', ns, '-o', 'jsonpath={.spec.selector}'])).stdout.replace(/\s/g, ''), '{"app":"web","rc":"web"}');

      const all = (await k(['get', 'all', '-n', ns, '-o', 'name'])).stdout.split('\n');
      assert.ok(all.includes('replicationcontroller/web'), all.join('\n'));
      assert.equal(all.filter((l) => l.startsWith('pod/web-')).length, 3);

      assert.match((await k(['delete', 'rc', 'web', '-n', ns])).stdout, /replicationcontroller "web" deleted/);
      const left = await waitFor('the pods to be collected', async () => ((await podNames('rc=web')).length === 0 ? [] : undefined), 20_000);
      assert.deepEqual(left, []);
    });

    test('apply --prune without an allowlist', async () => {
      const dir = join(scratch.dir, `prune-${ns}`);
      const write = (name: string, text: string) => scratch.write(join(`prune-${ns}`, name), text);
      mkdirSync(dir);
      if (version === '1.20') {
        // 1.20's default list goes on to batch/v1beta1 CronJob, gone since Kubernetes 1.25 (a real
        // cluster answers the same); ReplicationController, listed before it, is found
        write('cm.yaml', configMap(ns, 'only-cm', 'x'));
        const r = await h.cluster.kubectl(['apply', '--prune', '-l', 'app=x', '-f', dir], { version });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /no matches for kind "CronJob" in version "batch\/v1beta1"/);
        assert.doesNotMatch(r.stderr, /ReplicationController/);
        return;
      }
      write('rc.yaml', rc(ns, 'keep', 1, 'x'));
      write('gone-rc.yaml', rc(ns, 'gone', 1, 'x'));
      write('cm.yaml', configMap(ns, 'gone-cm', 'x'));
      const first = await k(['apply', '--prune', '-l', 'app=x', '-f', dir]);
      assert.match(first.stdout, /replicationcontroller\/keep created/);
      assert.match(first.stdout, /configmap\/gone-cm created/);

      rmSync(join(dir, 'cm.yaml'));
      rmSync(join(dir, 'gone-rc.yaml'));
      const pruned = await k(['apply', '--prune', '-l', 'app=x', '-f', dir]);
      assert.match(pruned.stdout, /replicationcontroller\/keep unchanged/);
      assert.match(pruned.stdout, /configmap\/gone-cm pruned/);
      assert.match(pruned.stdout, /replicationcontroller\/gone pruned/);
      const left = (await k(['get', 'rc,cm', '-n', ns, '-l', 'app=x', '-o', 'name'])).stdout.trim().split('\n');
      assert.deepEqual(left, ['replicationcontroller/keep']);
    });
  });
}
