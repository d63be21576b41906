// managedFields of a create: objects created alike share one computation; the result must be exactly
// what computing it afresh gives, for every shape, and objects that differ must not share it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FieldSet, updateManagedFields, type ManageOptions } from '../../../src/api/ssa/index.js';
import type { KubeObject } from '../../../src/api/types.js';

const CM: ManageOptions = { apiVersion: 'v1', kind: 'ConfigMap', now: '2024-01-01T00:00:00Z' };
const POD: ManageOptions = { apiVersion: 'v1', kind: 'Pod', ignored: FieldSet.of(['f:status']), now: '2024-01-01T00:00:00Z' };
const DEPLOY: ManageOptions = { apiVersion: 'apps/v1', kind: 'Deployment', ignored: FieldSet.of(['f:status']), now: '2024-01-01T00:00:00Z' };
const WIDGET: ManageOptions = { apiVersion: 'example.com/v1', kind: 'Widget', now: '2024-01-01T00:00:00Z' };

const meta = (name: string) => ({ name, namespace: 'default', uid: `u-${name}`, creationTimestamp: '2024-01-01T00:00:00Z' });
const shapes: [string, ManageOptions, KubeObject][] = [
  ['configmap', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('a'), data: { payload: 'x'.repeat(1024) } }],
  ['configmap with labels, empty and null values', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...meta('b'), labels: { app: 'x' }, annotations: {} }, data: { a: '', b: null } as never, binaryData: {} }],
  ['configmap without data', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('c') }],
  [
    'pod with status',
    POD,
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...meta('p'), ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u-rs', controller: true }], finalizers: ['x/y'] },
      spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [{ name: 'A', value: '1' }] }], restartPolicy: 'Always', nodeSelector: {} },
      status: { phase: 'Pending' },
    },
  ],
  [
    'deployment',
    DEPLOY,
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...meta('d'), labels: { app: 'nginx' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'nginx' } }, template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] } } },
    },
  ],
  ['custom resource', WIDGET, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: meta('w'), spec: { size: 3, tags: ['a', 'b'], nested: { deep: { x: true } }, items: [{ k: 1 }, { k: 2 }] } }],
];

const fresh = (o: KubeObject): KubeObject => JSON.parse(JSON.stringify(o)) as KubeObject;

describe('updateManagedFields on create', () => {
  for (const [what, opts, obj] of shapes) {
    it(`gives a ${what} the same managedFields whether computed or shared`, () => {
      const manager = `m-${what}`;
      const first = fresh(obj);
      updateManagedFields(undefined, first, manager, opts);
      if (first.data === undefined && first.spec === undefined) {
        assert.equal(first.metadata?.managedFields, undefined, 'metadata alone is owned by nobody');
        const again = fresh(obj);
        updateManagedFields(undefined, again, manager, opts);
        assert.equal(again.metadata?.managedFields, undefined);
        return;
      }
      assert.ok(first.metadata?.managedFields?.length, 'a create records its fields');
      const again = fresh(obj);
      updateManagedFields(undefined, again, manager, opts);
      assert.deepEqual(again.metadata?.managedFields, first.metadata?.managedFields);
      assert.equal(JSON.stringify(again), JSON.stringify(first), 'same fields, same order');
      // what is shared is frozen: changing one result in place fails loudly and leaves the next alone
      assert.throws(() => {
        (again.metadata!.managedFields![0].fieldsV1 as Record<string, unknown>)['f:extra'] = {};
      }, TypeError);
      const third = fresh(obj);
      updateManagedFields(undefined, third, manager, opts);
      assert.deepEqual(third.metadata?.managedFields, first.metadata?.managedFields);
    });
  }

  it('records a ConfigMap create as upstream does, with the time of each write', () => {
    const o = fresh(shapes[0][2]);
    updateManagedFields(undefined, o, 'wrk', CM);
    const o2 = fresh(shapes[0][2]);
    updateManagedFields(undefined, o2, 'wrk', { ...CM, now: '2024-01-02T00:00:00Z' });
    const want = (time: string) => [{ manager: 'wrk', operation: 'Update', apiVersion: 'v1', time, fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:payload': {} } } }];
    assert.deepEqual(o.metadata?.managedFields, want('2024-01-01T00:00:00Z'));
    assert.deepEqual(o2.metadata?.managedFields, want('2024-01-02T00:00:00Z'));
    const anonymous = fresh(shapes[0][2]);
    updateManagedFields(undefined, anonymous, '', CM);
    assert.equal(anonymous.metadata?.managedFields?.[0].manager, 'unknown');
  });

  it('does not share between objects that differ in keys, item keys or managers', () => {
    const fields = (o: KubeObject, manager = 'm', opts = CM) => {
      const c = fresh(o);
      updateManagedFields(undefined, c, manager, opts);
      return c.metadata?.managedFields;
    };
    const a = fields({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('x'), data: { one: '1' } });
    const b = fields({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('x'), data: { two: '1' } });
    assert.deepEqual(a?.[0].fieldsV1, { 'f:data': { '.': {}, 'f:one': {} } });
    assert.deepEqual(b?.[0].fieldsV1, { 'f:data': { '.': {}, 'f:two': {} } });
    const pod = (container: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta('p'), spec: { containers: [{ name: container, image: 'i' }] } });
    const pa = fields(pod('a'), 'm', POD);
    const pb = fields(pod('b'), 'm', POD);
    assert.ok(JSON.stringify(pa).includes('{\\"name\\":\\"a\\"}'));
    assert.ok(JSON.stringify(pb).includes('{\\"name\\":\\"b\\"}'));
    assert.equal(fields(shapes[0][2], 'other')?.[0].manager, 'other');
    // a status subresource write is never shared with a create
    const s = fresh(shapes[3][2]);
    updateManagedFields(undefined, s, 'm-pod with status', { ...POD, subresource: 'status', ignored: undefined });
    assert.equal(s.metadata?.managedFields?.[0].subresource, 'status');
  });
});
