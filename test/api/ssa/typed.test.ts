import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../../../src/api/errors.js';
import { compare, merge, removeItems, ssaSchemaFor, toFieldSet, FieldSet } from '../../../src/api/ssa/index.js';

const deployment = ssaSchemaFor('apps/v1', 'Deployment');
const service = ssaSchemaFor('v1', 'Service');
const configMap = ssaSchemaFor('v1', 'ConfigMap');
type Obj = Record<string, unknown>;

const applied = (): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' }, finalizers: ['a'] },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx', args: ['-x'], ports: [{ containerPort: 80 }], resources: {} }], nodeSelector: { disk: 'ssd' } },
    },
  },
});

describe('toFieldSet', () => {
  it('owns leaves, map keys, list items by key and atomic structs, lists and maps whole', () => {
    assert.deepEqual(toFieldSet(applied(), deployment).toFieldsV1(), {
      'f:apiVersion': {},
      'f:kind': {},
      'f:metadata': { 'f:finalizers': { 'v:"a"': {} }, 'f:labels': { 'f:app': {} }, 'f:name': {} },
      'f:spec': {
        'f:replicas': {},
        'f:selector': {},
        'f:template': {
          'f:metadata': { 'f:labels': { 'f:app': {} } },
          'f:spec': {
            'f:containers': {
              'k:{"name":"c"}': {
                '.': {},
                'f:args': {},
                'f:image': {},
                'f:name': {},
                // protocol is part of the key through its default
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                'f:resources': {},
              },
            },
            'f:nodeSelector': {},
          },
        },
      },
    });
  });

  it('keys service ports by port and protocol', () => {
    const set = toFieldSet({ spec: { ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }], selector: { a: 'b' } } }, service);
    assert.deepEqual(Object.keys((set.toFieldsV1()['f:spec'] as Obj)['f:ports'] as Obj), ['k:{"port":53,"protocol":"TCP"}', 'k:{"port":53,"protocol":"UDP"}']);
  });

  it('owns a field set to null', () => {
    assert.ok(toFieldSet({ data: { a: null } }, configMap).has(['f:data', 'f:a']));
    assert.ok(toFieldSet({ spec: { replicas: null } }, deployment).has(['f:spec', 'f:replicas']));
  });

  it('refuses list items without their key', () => {
    assert.throws(
      () => toFieldSet({ spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, deployment),
      (e: unknown) => e instanceof StatusError && e.code === 400 && /omits all key fields \["name"\]/.test(e.message),
    );
  });
});

describe('compare', () => {
  it('reports new containers and structs as added, changed leaves as modified, gone ones as removed', () => {
    const before = applied();
    const after = applied();
    const spec = after.spec as Obj;
    spec.replicas = 3;
    const podSpec = (spec.template as Obj).spec as Obj;
    (podSpec.containers as Obj[]).push({ name: 'sidecar', image: 'busybox' });
    delete podSpec.nodeSelector;
    const c = compare(before, after, deployment);
    assert.deepEqual(c.modified.paths(), [['f:spec', 'f:replicas']]);
    const sidecar = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"sidecar"}'];
    assert.deepEqual(c.added.paths(), [sidecar, [...sidecar, 'f:image'], [...sidecar, 'f:name']]);
    assert.deepEqual(c.removed.paths(), [['f:spec', 'f:template', 'f:spec', 'f:nodeSelector']]);
  });

  it('leaves out skipped fields', () => {
    const c = compare({ spec: { replicas: 1 }, status: { replicas: 1 } }, { spec: { replicas: 2 }, status: { replicas: 2 } }, deployment, FieldSet.of(['f:status']));
    assert.deepEqual(c.modified.paths(), [['f:spec', 'f:replicas']]);
  });
});

describe('merge', () => {
  const live = (): Obj => {
    const o = applied();
    const m = o.metadata as Obj;
    m.labels = { app: 'web', team: 'x' };
    m.finalizers = ['b'];
    const podSpec = ((o.spec as Obj).template as Obj).spec as Obj;
    podSpec.containers = [
      { name: 'a', image: 'a:1', args: ['-a', '-b'], env: [{ name: 'X', value: '1' }] },
      { name: 'c', image: 'c:1', args: ['-y'], env: [{ name: 'Y', value: '2' }] },
    ];
    podSpec.tolerations = [{ key: 'k', operator: 'Exists' }];
    return o;
  };

  it('merges maps and keyed lists, unions sets, replaces atomic lists', () => {
    const out = merge(
      live(),
      {
        metadata: { labels: { app: 'web2' }, finalizers: ['a'] },
        spec: { template: { spec: { containers: [{ name: 'c', image: 'c:2', args: ['-z'], env: [{ name: 'Z', value: '3' }] }], tolerations: [] } } },
      },
      deployment,
    );
    const meta = out.metadata as Obj;
    assert.deepEqual(meta.labels, { app: 'web2', team: 'x' });
    assert.deepEqual(meta.finalizers, ['b', 'a']);
    const podSpec = ((out.spec as Obj).template as Obj).spec as Obj;
    assert.deepEqual(podSpec.containers, [
      { name: 'a', image: 'a:1', args: ['-a', '-b'], env: [{ name: 'X', value: '1' }] },
      { name: 'c', image: 'c:2', args: ['-z'], env: [{ name: 'Y', value: '2' }, { name: 'Z', value: '3' }] },
    ]);
    assert.deepEqual(podSpec.tolerations, []);
    assert.equal((out.spec as Obj).replicas, 2, 'fields the configuration does not name are kept');
  });

  it('unsets fields set to null and refuses duplicate keys', () => {
    const out = merge(live(), { spec: { replicas: null } }, deployment);
    assert.ok(!('replicas' in (out.spec as Obj)));
    assert.throws(
      () => merge(live(), { spec: { template: { spec: { containers: [{ name: 'x' }, { name: 'x' }] } } } }, deployment),
      /duplicate entries for key \[name="x"\]/,
    );
  });

  it('puts new keyed items where the configuration has them', () => {
    const out = merge(
      { data: {}, spec: { template: { spec: { containers: [{ name: 'a' }, { name: 'b' }] } } } },
      { spec: { template: { spec: { containers: [{ name: 'b' }, { name: 'n' }, { name: 'a' }] } } } },
      deployment,
    );
    const names = ((((out.spec as Obj).template as Obj).spec as Obj).containers as Obj[]).map((c) => c.name);
    assert.deepEqual(names, ['b', 'n', 'a']);
  });
});

describe('removeItems', () => {
  it('removes members with what is below them and drops emptied maps', () => {
    const out = removeItems(
      { metadata: { labels: { a: '1' }, name: 'x' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'i' }, { name: 'b' }] } } } },
      FieldSet.of(['f:metadata', 'f:labels', 'f:a'], ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"b"}'], ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"a"}', 'f:image']),
      deployment,
    );
    assert.deepEqual(out, { metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'a' }] } } } });
  });
});
