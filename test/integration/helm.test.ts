// A release's whole life with the real Helm 3 and Helm 4 against a cluster with controllers and
// simulated nodes: install --wait, list, status, upgrade, history, rollback, uninstall. The chart
// (test/fixtures/charts/webapp) has a Deployment, Service, ConfigMap, Secret, Ingress, a CRD in crds/
// and a custom resource of it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { repoRoot } from '../helpers/exec.js';
import { helm, helmPath } from '../helpers/helm.js';
import { skipUnless } from '../helpers/skip.js';
import { eventually } from './support.js';

const CHART = join(repoRoot, 'test', 'fixtures', 'charts', 'webapp');
const CRD = 'customresourcedefinition.apiextensions.k8s.io/widgets.charts.timonel.dev';

interface Release {
  name: string;
  namespace: string;
  revision: string | number;
  status: string;
  chart: string;
}
interface Revision {
  revision: number;
  status: string;
  description: string;
}

const haveHelm = helmPath('3') !== undefined || helmPath('4') !== undefined;

describe('Helm', skipUnless(haveHelm, 'helm 3 or 4 (scripts/setup.sh fetches them)'), () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await startTestCluster({ simulatedNodes: 2 });
    await eventually(
      'two Ready nodes',
      async () => (await cluster.kubectlOk(['get', 'nodes', '--no-headers'])).stdout.split('\n').filter((l) => /\sReady\s/.test(l)).length === 2,
      20_000,
    );
  });
  after(async () => {
    await cluster?.close();
  });

  for (const major of ['3', '4'] as const) {
    const options = { timeout: 240_000, ...skipUnless(helmPath(major) !== undefined, `helm ${major} not found (scripts/setup.sh fetches it)`) };
    test(`Helm ${major}: install --wait, list, status, upgrade, history, rollback, uninstall`, options, async () => {
      const ns = `helm${major}`;
      const rel = `shop${major}`;
      const h = async (args: string[]) => {
        const r = await helm(major, cluster.kubeconfigPath, [...args, '--namespace', ns], { timeoutMs: 120_000 });
        assert.equal(r.code, 0, `helm ${major} ${args.join(' ')}:\n${r.stderr}${r.stdout}`);
        return r;
      };
      const jsonpath = async (ref: string, path: string) => (await cluster.kubectlOk(['get', ref, '-n', ns, '-o', `jsonpath=${path}`])).stdout;
      const state = async () => ({
        replicas: await jsonpath(`deploy/${rel}-web`, '{.spec.replicas}'),
        image: await jsonpath(`deploy/${rel}-web`, '{.spec.template.spec.containers[0].image}'),
        greeting: await jsonpath(`cm/${rel}-config`, '{.data.greeting}'),
        password: Buffer.from(await jsonpath(`secret/${rel}-secret`, '{.data.password}'), 'base64').toString(),
        host: await jsonpath(`ingress/${rel}-web`, '{.spec.rules[0].host}'),
        widgetSize: await jsonpath(`widget/${rel}-widget`, '{.spec.size}'),
      });
      const revision1 = { replicas: '2', image: 'nginx:1.27', greeting: 'hello', password: 'hunter2', host: 'web.example.com', widgetSize: '3' };

      await h(['install', rel, CHART, '--create-namespace', '--wait', '--timeout', '90s']);
      assert.deepEqual(await state(), revision1);
      assert.equal(await jsonpath(`deploy/${rel}-web`, '{.status.availableReplicas}'), '2', '--wait returned once the Deployment was available');
      assert.match(await jsonpath(`svc/${rel}-web`, '{.spec.clusterIP}'), /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal((await cluster.kubectlOk(['get', CRD, '-o', 'name'])).stdout.trim(), CRD);

      const listed = JSON.parse((await h(['list', '-o', 'json'])).stdout) as Release[];
      assert.deepEqual(
        listed.map((r) => [r.name, r.namespace, String(r.revision), r.status, r.chart]),
        [[rel, ns, '1', 'deployed', 'webapp-0.1.0']],
      );
      const status = (await h(['status', rel])).stdout;
      assert.match(status, new RegExp(`NAME: ${rel}\\n`));
      assert.match(status, /STATUS: deployed\n/);
      assert.match(status, /REVISION: 1\n/);

      await h(['upgrade', rel, CHART, '--wait', '--timeout', '90s', '--set', 'replicas=3,image=nginx:1.28,greeting=hi,password=s3cret,host=shop.example.com,widgetSize=5']);
      const revision2 = { replicas: '3', image: 'nginx:1.28', greeting: 'hi', password: 's3cret', host: 'shop.example.com', widgetSize: '5' };
      assert.deepEqual(await state(), revision2);
      await eventually('3 available replicas after the upgrade', async () => (await jsonpath(`deploy/${rel}-web`, '{.status.availableReplicas}')) === '3', 30_000);
      assert.match((await h(['status', rel])).stdout, /REVISION: 2\n/);

      const history = JSON.parse((await h(['history', rel, '-o', 'json'])).stdout) as Revision[];
      assert.deepEqual(
        history.map((r) => [r.revision, r.status]),
        [
          [1, 'superseded'],
          [2, 'deployed'],
        ],
      );

      await h(['rollback', rel, '1', '--wait', '--timeout', '90s']);
      assert.deepEqual(await state(), revision1);
      const afterRollback = JSON.parse((await h(['history', rel, '-o', 'json'])).stdout) as Revision[];
      assert.deepEqual(
        afterRollback.map((r) => [r.revision, r.status]),
        [
          [1, 'superseded'],
          [2, 'superseded'],
          [3, 'deployed'],
        ],
      );
      assert.equal(afterRollback[2].description, 'Rollback to 1');
      const releaseSecrets = (await cluster.kubectlOk(['get', 'secrets', '-n', ns, '-l', `owner=helm,name=${rel}`, '-o', 'name'])).stdout.trim().split('\n');
      assert.deepEqual(releaseSecrets.sort(), [1, 2, 3].map((v) => `secret/sh.helm.release.v1.${rel}.v${v}`));

      await h(['uninstall', rel, '--wait', '--timeout', '60s']);
      await eventually(
        'the release objects to be gone',
        async () => (await cluster.kubectlOk(['get', 'deploy,rs,pods,svc,cm,secrets,ingress,widgets', '-n', ns, '-l', `app.kubernetes.io/instance=${rel}`, '-o', 'name'])).stdout.trim() === '',
        30_000,
      );
      const left = (await cluster.kubectlOk(['get', 'deploy,svc,cm,secrets,ingress,widgets', '-n', ns, '-o', 'name'])).stdout;
      assert.doesNotMatch(left, new RegExp(`${rel}-|sh\\.helm\\.release`));
      assert.equal((await cluster.kubectlOk(['get', CRD, '-o', 'name'])).stdout.trim(), CRD, 'Helm keeps the CRDs of crds/');
      assert.equal((await h(['list', '-o', 'json'])).stdout.trim(), '[]');
    });
  }
});
