// CustomResourceDefinitions driven by the real kubectl (1.33 and 1.20) and @kubernetes/client-node:
// apply a CRD, wait for it to be established, use its custom resources (printer columns, apply,
// invalid objects, scale), and delete the CRD with its objects.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';
import { eventually, parseTable, scratchDir } from './support.js';

const crdYAML = (group: string) => `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [cronSpec]
            properties:
              cronSpec: {type: string, description: "the schedule, in cron format"}
              image: {type: string}
              replicas: {type: integer, minimum: 1, default: 1}
          status:
            type: object
            properties:
              replicas: {type: integer}
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
`;

const crYAML = (group: string, name: string, spec: string) => `apiVersion: ${group}/v1\nkind: CronTab\nmetadata: {name: ${name}, namespace: default}\nspec: ${spec}\n`;

for (const version of ['1.33', '1.20']) {
  describe(`CRDs with kubectl ${version}`, skipUnless(kubectlPath(version) !== undefined, `kubectl ${version} not found`), () => {
    let cluster: TestCluster;
    let scratch: ReturnType<typeof scratchDir>;
    const group = `v${version.replace('.', '')}.example.com`;
    const k = (args: string[]) => cluster.kubectl(args, { version });
    const ok = (args: string[]) => cluster.kubectlOk(args, { version });

    before(async () => {
      cluster = await startTestCluster({ controllers: ['namespace'] });
      scratch = scratchDir();
    });
    after(async () => {
      await cluster?.close();
      scratch?.remove();
    });

    test('apply, wait for established, get with printer columns, apply, invalid, scale, delete', async () => {
      assert.match((await ok(['apply', '-f', scratch.write('crd.yaml', crdYAML(group))])).stdout, new RegExp(`customresourcedefinition.apiextensions.k8s.io/crontabs.${group.replace(/\./g, '\\.')} created`));
      await ok(['wait', '--for', 'condition=established', '--timeout=20s', `crd/crontabs.${group}`]);

      assert.match((await ok(['get', 'crd'])).stdout, /^NAME\s+CREATED AT\n/);
      assert.match((await ok(['apply', '-f', scratch.write('a.yaml', crYAML(group, 'a', '{cronSpec: "* * * * */5", image: img}'))])).stdout, /crontab\.v[0-9]+\.example\.com\/a created/);
      assert.match((await ok(['apply', '-f', scratch.write('a2.yaml', crYAML(group, 'a', '{cronSpec: "* * * * */5", image: img2}'))])).stdout, /crontab\.v[0-9]+\.example\.com\/a configured/);

      const table = parseTable((await ok(['get', 'crontabs', '-n', 'default'])).stdout);
      assert.deepEqual(table.headers, ['NAME', 'SPEC', 'REPLICAS', 'AGE']);
      assert.deepEqual([table.rows[0].NAME, table.rows[0].SPEC, table.rows[0].REPLICAS], ['a', '* * * * */5', '1']);
      assert.match(table.rows[0].AGE, /^\d+s$/);
      const byShort = parseTable((await ok(['get', 'ct', 'a', '-n', 'default'])).stdout);
      assert.equal(byShort.rows[0].NAME, 'a');
      const json = JSON.parse((await ok(['get', 'crontab', 'a', '-n', 'default', '-o', 'json'])).stdout) as { spec: { image: string; replicas: number }; metadata: { generation: number } };
      assert.deepEqual([json.spec.image, json.spec.replicas, json.metadata.generation], ['img2', 1, 2]);

      const badFile = scratch.write('bad.yaml', crYAML(group, 'b', '{replicas: 0}'));
      if (version === '1.20') {
        // kubectl 1.20 checks the object against the published OpenAPI v2 schema before sending it
        const local = await k(['apply', '-f', badFile]);
        assert.notEqual(local.code, 0);
        assert.match(local.stderr, /ValidationError\(CronTab\.spec\): missing required field "cronSpec"/);
      }
      const bad = await k(['apply', '--validate=false', '-f', badFile]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /The CronTab "b" is invalid: /);
      assert.match(bad.stderr, /spec\.cronSpec: Required value/);
      assert.match(bad.stderr, /spec\.replicas: Invalid value: 0: spec\.replicas in body should be greater than or equal to 1/);

      assert.match((await ok(['scale', 'crontab', 'a', '-n', 'default', '--replicas=3'])).stdout, /scaled/);
      assert.equal(JSON.parse((await ok(['get', 'crontab', 'a', '-n', 'default', '-o', 'json'])).stdout).spec.replicas, 3);

      if (version === '1.33') {
        const explain = await ok(['explain', `crontabs.spec.cronSpec`]);
        assert.match(explain.stdout, /the schedule, in cron format/);
      }

      assert.match((await ok(['delete', 'crd', `crontabs.${group}`, '--timeout=30s'])).stdout, /deleted/);
      const gone = await k(['get', 'crontabs', '-n', 'default']);
      assert.notEqual(gone.code, 0);
      // with discovery still cached, the list itself is refused (as upstream); with a fresh cache, kubectl knows no such type
      assert.match(gone.stderr, /the server doesn't have a resource type "crontabs"|Unable to list .*Resource=crontabs": the server could not find the requested resource/);
      assert.equal((await ok(['get', 'crd', '-o', 'name'])).stdout.trim(), '');
    });
  });
}

describe('CRDs with @kubernetes/client-node', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ controllers: ['namespace'] });
  });
  after(async () => {
    await cluster?.close();
  });

  test('CustomObjectsApi round trip', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const objects = kc.makeApiClient(k8s.CustomObjectsApi);
    const group = 'client.example.com';
    await ext.createCustomResourceDefinition({
      body: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          scope: 'Cluster',
          names: { plural: 'widgets', kind: 'Widget' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { size: { type: 'integer' } } } } }],
        },
      },
    });
    await eventually('widgets established', async () => {
      const crd = await ext.readCustomResourceDefinition({ name: `widgets.${group}` });
      return !!crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
    const created = (await objects.createClusterCustomObject({ group, version: 'v1', plural: 'widgets', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, size: 3 } })) as {
      size: number;
    };
    assert.equal(created.size, 3);
    const list = (await objects.listClusterCustomObject({ group, version: 'v1', plural: 'widgets' })) as { items: { metadata: { name: string } }[] };
    assert.deepEqual(list.items.map((i) => i.metadata.name), ['w1']);
    const patched = (await objects.patchClusterCustomObject({ group, version: 'v1', plural: 'widgets', name: 'w1', body: { size: 5 } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch))) as {
      size: number;
    };
    assert.equal(patched.size, 5);
    await assert.rejects(
      objects.createClusterCustomObject({ group, version: 'v1', plural: 'widgets', body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w2' }, size: 'big' } }),
      (e: unknown) => (e as { code?: number }).code === 422,
    );
    await objects.deleteClusterCustomObject({ group, version: 'v1', plural: 'widgets', name: 'w1' });
    await assert.rejects(objects.getClusterCustomObject({ group, version: 'v1', plural: 'widgets', name: 'w1' }), (e: unknown) => (e as { code?: number }).code === 404);
  });
});
