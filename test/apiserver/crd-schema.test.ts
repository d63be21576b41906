// Pruning, defaulting and validation of custom resources against a CRD schema, and printer-column JSONPath.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CRDSchema } from '../../src/api/kinds/crd.js';
import { customResourceDefinitionKind, validateStructuralSchema } from '../../src/api/kinds/crd.js';
import { customResourceTable } from '../../src/apiserver/crd/kinds.js';
import { applySchemaDefaults, evalJSONPath, parseJSONPath, pruneUnknownSchemaFields, validateAgainstSchema } from '../../src/apiserver/crd/schema.js';

const schema: CRDSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        size: { type: 'integer', default: 3, minimum: 1, exclusiveMaximum: true, maximum: 10 },
        mode: { type: 'string', default: 'fast', nullable: false },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        port: { 'x-kubernetes-int-or-string': true },
        items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }, uniqueItems: true },
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object' } } },
        note: { type: 'string', nullable: true, maxLength: 3 },
      },
    },
  },
};

test('pruning keeps declared, preserved, map and resource fields and drops the rest', () => {
  const obj = {
    apiVersion: 'x.example.com/v1',
    kind: 'X',
    metadata: { name: 'a', bogusMeta: 1 },
    spec: {
      size: 2,
      extra: 1,
      labels: { a: 'b' },
      free: { deep: { x: 1 } },
      items: [{ name: 'n', junk: true }],
      template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {}, junk: 1 },
    },
    top: 1,
  };
  const pruned = pruneUnknownSchemaFields(schema, obj);
  assert.deepEqual(pruned.sort(), ['metadata.bogusMeta', 'spec.extra', 'spec.items[0].junk', 'spec.template.junk', 'top']);
  assert.deepEqual(obj.spec.free, { deep: { x: 1 } });
  assert.deepEqual(obj.spec.labels, { a: 'b' });
  assert.deepEqual(Object.keys(obj.spec.template).sort(), ['apiVersion', 'kind', 'metadata', 'spec']);
});

test('defaults fill absent fields and non-nullable nulls, idempotently', () => {
  const obj: Record<string, unknown> = { spec: { mode: null } };
  applySchemaDefaults(schema, obj);
  assert.deepEqual(obj.spec, { size: 3, mode: 'fast' });
  applySchemaDefaults(schema, obj);
  assert.deepEqual(obj.spec, { size: 3, mode: 'fast' });
  const none: Record<string, unknown> = {};
  applySchemaDefaults(schema, none);
  assert.deepEqual(none, {}, 'no spec, nothing to default inside it');
});

test('validation messages and paths', () => {
  const errs = validateAgainstSchema(schema, {
    metadata: { name: 'x' },
    spec: { size: 10, port: true, items: [{ name: 'a' }, { name: 'a' }, {}], labels: { k: 1 }, template: { spec: {} }, note: 'toolong' },
  });
  const by = Object.fromEntries(errs.map((e) => [`${e.field}|${e.type}`, e]));
  assert.match(String(by['spec.size|FieldValueInvalid']?.detail), /should be less than 10$/);
  assert.equal(by['spec.port|FieldValueTypeInvalid']?.value, 'boolean');
  assert.ok(by['spec.items[1]|FieldValueDuplicate']);
  assert.ok(by['spec.items[2].name|FieldValueRequired']);
  assert.match(String(by['spec.labels.k|FieldValueTypeInvalid']?.detail), /spec\.labels\.k in body must be of type string: "integer"/);
  assert.ok(by['spec.template.apiVersion|FieldValueRequired']);
  assert.ok(by['spec.note|FieldValueTooLong']);
  assert.deepEqual(validateAgainstSchema(schema, { spec: { size: 5, port: 'http', note: null } }), []);
});

test('structural schema checks of a CRD version', () => {
  const errs = validateStructuralSchema({ type: 'object', properties: { a: {}, b: { type: 'array' }, c: { type: 'nope' } } }, 's');
  assert.deepEqual(
    errs.map((e) => `${e.field}: ${e.type}`),
    ['s.properties[a].type: FieldValueRequired', 's.properties[b].items: FieldValueRequired', 's.properties[c].type: FieldValueNotSupported'],
  );
  assert.match(String(validateStructuralSchema({ type: 'string' }, 's')[0].detail), /must be object at the root/);
});

test('CRD defaults: singular, listKind, conversion; idempotent', () => {
  const crd = { spec: { group: 'g.io', names: { plural: 'foos', kind: 'Foo' }, scope: 'Cluster', versions: [] } } as never;
  customResourceDefinitionKind.strategy.defaults!(crd);
  const once = JSON.stringify(crd);
  customResourceDefinitionKind.strategy.defaults!(crd);
  assert.equal(JSON.stringify(crd), once);
  assert.deepEqual((crd as { spec: { names: unknown; conversion: unknown } }).spec.names, { plural: 'foos', kind: 'Foo', singular: 'foo', listKind: 'FooList' });
});

test('printer columns: JSONPath filters, types, and the default Age column', () => {
  const steps = parseJSONPath('.status.conditions[?(@.type=="Ready")].status')!;
  const obj = { metadata: { name: 'n', creationTimestamp: new Date(Date.now() - 65_000).toISOString() }, status: { conditions: [{ type: 'X', status: 'False' }, { type: 'Ready', status: 'True' }] }, spec: { n: 2.7, m: { a: 1 } } };
  assert.deepEqual(evalJSONPath(steps, obj), ['True']);
  const t = customResourceTable([
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'N', type: 'integer', jsonPath: '.spec.n' },
    { name: 'M', type: 'string', jsonPath: '.spec.m' },
    { name: 'Missing', type: 'string', jsonPath: '.spec.none', priority: 1 },
  ]);
  assert.deepEqual(t.row(obj, Date.now()), ['n', 'True', 2, '{"a":1}', null]);
  assert.equal(t.columns[4].priority, 1);
  const d = customResourceTable(undefined);
  assert.deepEqual(d.columns.map((c) => [c.name, c.type]), [['Name', 'string'], ['Age', 'date']]);
  assert.equal(d.row(obj, Date.now())[1], '65s');
});
