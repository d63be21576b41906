import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScheme } from '../../../src/api/kinds/index.js';
import { builtinSchema, parseFieldType, pruneUnknownFields, schemaForKind, unknownFields, type FieldShape } from '../../../src/api/schema/index.js';
import { builtinPatchMeta } from '../../../src/api/schema/patch-meta.js';
import { apiVersionOf } from '../../../src/api/types.js';
import { repoRoot, run } from '../../helpers/exec.js';

const generate = () => run(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/gen-schema.ts'), '--stdout'], { timeoutMs: 60_000 });

/** Every type name a field type mentions. */
function refs(shape: FieldShape): string[] {
  switch (shape.kind) {
    case 'ref':
      return [shape.name];
    case 'array':
      return refs(shape.items);
    case 'map':
      return refs(shape.values);
    default:
      return [];
  }
}

describe('schema facts of the built-in kinds', () => {
  // the committed table came from an earlier run: equal output means the generator is deterministic
  test('generation is deterministic: a fresh run writes exactly the committed table', async () => {
    const a = await generate();
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, readFileSync(join(repoRoot, 'src/api/schema/builtin.ts'), 'utf8'), 'run: node --import tsx scripts/gen-schema.ts');
    assert.ok(Buffer.byteLength(a.stdout) < 400 * 1024, `the table is ${Buffer.byteLength(a.stdout)} bytes`);
    assert.doesNotMatch(a.stdout, /More info|Kubernetes|Populated by the system/, 'no descriptions are copied');
  });

  test('covers every served kind, and every type it references is in the table', () => {
    const schema = builtinSchema();
    for (const k of builtinScheme().kinds()) {
      const name = schema.typeNameForKind(apiVersionOf(k), k.kind);
      assert.ok(name, `no schema for ${apiVersionOf(k)} ${k.kind}`);
      assert.ok(schema.field(name, 'metadata'), `${name} has no metadata`);
      assert.deepEqual(schemaForKind(apiVersionOf(k), k.kind), { kind: 'ref', name });
    }
    for (const name of Object.keys(schema.facts.types)) {
      for (const shape of schema.fields(name).values()) for (const r of refs(shape)) assert.ok(schema.type(r), `${name} references ${r}, which is not in the table`);
      for (const req of schema.type(name)!.required ?? []) assert.ok(schema.field(name, req), `${name} requires ${req}, which it does not declare`);
    }
    assert.equal(schemaForKind('example.com/v1', 'Widget'), undefined);
  });

  test('field types, required fields and free-form types are read from the declarations', () => {
    const s = builtinSchema();
    const t = (name: string, field: string) => s.type(`io.k8s.${name}`)?.fields?.[field];
    assert.equal(t('api.apps.v1.DeploymentSpec', 'template'), 'io.k8s.api.core.v1.PodTemplateSpec');
    assert.equal(t('api.apps.v1.DeploymentSpec', 'replicas'), 'integer');
    assert.equal(t('api.apps.v1.DeploymentSpec', 'paused'), 'boolean');
    assert.equal(t('api.apps.v1.RollingUpdateDeployment', 'maxSurge'), 'IntOrString');
    assert.equal(t('api.core.v1.ResourceRequirements', 'limits'), '{}Quantity');
    assert.equal(t('api.core.v1.PodSpec', 'containers'), '[]io.k8s.api.core.v1.Container');
    assert.equal(t('apimachinery.pkg.apis.meta.v1.ObjectMeta', 'labels'), '{}string');
    assert.equal(t('apimachinery.pkg.apis.meta.v1.ObjectMeta', 'creationTimestamp'), 'Time');
    assert.equal(t('api.core.v1.Event', 'eventTime'), 'MicroTime');
    assert.deepEqual(s.type('io.k8s.api.apps.v1.DeploymentSpec')?.required, ['selector', 'template']);
    assert.deepEqual(s.type('io.k8s.api.core.v1.Container')?.required, ['name']);
    assert.equal(s.type('io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1')?.freeForm, true);
    assert.ok(s.typeNameForKind('autoscaling/v1', 'Scale'), 'the scale subresource kind is there');
    assert.ok(s.typeNameForKind('apps/v1', 'DeploymentList'), 'list kinds are there');
    assert.deepEqual(parseFieldType('[]{}Quantity'), { kind: 'array', items: { kind: 'map', values: { kind: 'scalar', type: 'Quantity' } } });
    assert.throws(() => parseFieldType('nonsense'), /unknown field type/);
  });

  test('the walker finds and prunes undeclared fields, and leaves free-form ones alone', () => {
    const schema = builtinSchema();
    const shape = schemaForKind('apps/v1', 'Deployment')!;
    const obj = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        labels: { 'app.kubernetes.io/name': 'web' },
        annotations: { anything: 'goes' },
        managedFields: [{ manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }],
        colour: 'blue',
      },
      spec: {
        replica: 3,
        selector: { matchLabels: { app: 'web' } },
        template: { spec: { containers: [{ name: 'c', image: 'nginx', resources: { limits: { cpu: '1' } } }, { name: 'd', imagePullPolicyy: 'Always' }] } },
      },
      stauts: {},
    };
    assert.deepEqual(unknownFields(schema, shape, obj), ['metadata.colour', 'spec.replica', 'spec.template.spec.containers[1].imagePullPolicyy', 'stauts']);
    const removed = pruneUnknownFields(schema, shape, obj);
    assert.equal(removed.length, 4);
    assert.deepEqual(unknownFields(schema, shape, obj), []);
    assert.equal('replica' in obj.spec, false);
    assert.equal('stauts' in obj, false);
    assert.deepEqual(obj.metadata.labels, { 'app.kubernetes.io/name': 'web' });
    assert.deepEqual(obj.metadata.managedFields[0].fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    assert.deepEqual(obj.spec.template.spec.containers[0], { name: 'c', image: 'nginx', resources: { limits: { cpu: '1' } } });
    // values of the wrong JSON type are validation's business, not pruning's
    assert.deepEqual(unknownFields(schema, shape, { spec: 'not an object', metadata: { labels: ['x'] } }), []);
  });

  test('patch facts come from the strategic merge tables, keyed by schema type', () => {
    const meta = builtinPatchMeta();
    assert.deepEqual(meta('io.k8s.api.core.v1.PodSpec', 'containers'), { strategy: 'merge', mergeKey: 'name' });
    assert.deepEqual(meta('io.k8s.api.core.v1.PodSpec', 'volumes'), { strategy: 'merge,retainKeys', mergeKey: 'name' });
    assert.deepEqual(meta('io.k8s.api.core.v1.Container', 'ports'), { strategy: 'merge', mergeKey: 'containerPort' });
    assert.deepEqual(meta('io.k8s.api.apps.v1.DeploymentSpec', 'strategy'), { strategy: 'retainKeys' });
    assert.deepEqual(meta('io.k8s.api.policy.v1.PodDisruptionBudgetSpec', 'selector'), { strategy: 'replace' });
    assert.deepEqual(meta('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'finalizers'), { strategy: 'merge' });
    assert.equal(meta('io.k8s.api.core.v1.PodSpec', 'tolerations'), undefined);
  });
});
