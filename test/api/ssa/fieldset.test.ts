import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FieldSet, pathString } from '../../../src/api/ssa/index.js';
import { canonicalElement, compareElements, keyElement, valueElement } from '../../../src/api/ssa/fieldset.js';

// The fieldsV1 of `kubectl create deployment` as a real API server stores it (trimmed).
const CREATE_DEPLOYMENT = {
  'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
  'f:spec': {
    'f:replicas': {},
    'f:selector': {},
    'f:template': {
      'f:spec': {
        'f:containers': {
          'k:{"name":"nginx"}': {
            '.': {},
            'f:image': {},
            'f:ports': { '.': {}, 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {}, 'f:protocol': {} } },
          },
        },
      },
    },
  },
};

describe('FieldsV1', () => {
  it('reads and writes upstream encoding unchanged', () => {
    const set = FieldSet.fromFieldsV1(CREATE_DEPLOYMENT);
    assert.deepEqual(set.toFieldsV1(), CREATE_DEPLOYMENT);
    assert.equal(JSON.stringify(set.toFieldsV1()), JSON.stringify(CREATE_DEPLOYMENT));
  });

  it('makes a path with children a member only when it has "."', () => {
    const set = FieldSet.fromFieldsV1(CREATE_DEPLOYMENT);
    assert.ok(set.has(['f:metadata', 'f:labels']));
    assert.ok(set.has(['f:metadata', 'f:labels', 'f:app']));
    assert.ok(!set.has(['f:metadata']));
    assert.ok(!set.has(['f:spec', 'f:template']));
    assert.ok(set.has(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}']));
    assert.ok(set.has(['f:spec', 'f:selector']));
  });

  it('orders fields before keyed items before values, fields by name, and "." first', () => {
    const set = FieldSet.of(['f:b'], ['f:a', 'f:y'], ['f:a'], ['v:"x"'], ['k:{"name":"z"}'], ['f:a', 'f:x']);
    assert.deepEqual(Object.keys(set.toFieldsV1()), ['f:a', 'f:b', 'k:{"name":"z"}', 'v:"x"']);
    assert.deepEqual(Object.keys(set.toFieldsV1()['f:a'] as object), ['.', 'f:x', 'f:y']);
    assert.ok(compareElements('k:{"port":80,"protocol":"TCP"}', 'k:{"port":443,"protocol":"TCP"}') < 0);
    assert.ok(compareElements('v:2', 'v:"1"') < 0, 'numbers before strings');
  });

  it('spells keys sorted, as Go JSON', () => {
    assert.equal(keyElement({ protocol: 'TCP', containerPort: 80 }), 'k:{"containerPort":80,"protocol":"TCP"}');
    assert.equal(canonicalElement('k:{"protocol":"TCP","port":53}'), 'k:{"port":53,"protocol":"TCP"}');
    assert.equal(valueElement('a<b'), 'v:"a\\u003cb"');
    assert.throws(() => canonicalElement('x:oops'), /invalid path element/);
    assert.throws(() => FieldSet.fromFieldsV1({ 'f:a': 1 }), /must be a JSON object/);
  });

  it('prints paths as conflict messages do', () => {
    assert.equal(pathString(['f:spec', 'f:replicas']), '.spec.replicas');
    assert.equal(
      pathString(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"c"}', 'f:image']),
      '.spec.template.spec.containers[name="c"].image',
    );
    assert.equal(pathString(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}']), '.spec.ports[port=80,protocol="TCP"]');
    assert.equal(pathString(['f:metadata', 'f:finalizers', 'v:"x"']), '.metadata.finalizers[="x"]');
  });
});

describe('FieldSet operations', () => {
  const a = FieldSet.of(['f:spec', 'f:replicas'], ['f:spec', 'f:template'], ['f:spec', 'f:template', 'f:x'], ['f:data', 'f:k']);
  const b = FieldSet.of(['f:spec', 'f:template'], ['f:data', 'f:k'], ['f:data', 'f:j']);

  it('intersects and unites member by member', () => {
    assert.deepEqual(a.intersection(b).paths(), [['f:data', 'f:k'], ['f:spec', 'f:template']]);
    assert.equal(a.union(b).paths().length, 5);
  });

  it('tells whether two sets share a member without building the intersection', () => {
    assert.ok(a.intersects(b));
    assert.ok(b.intersects(a));
    assert.ok(!a.intersects(FieldSet.of(['f:spec', 'f:template', 'f:y'], ['f:data', 'f:j'])));
    // a member above another's member is not shared
    assert.ok(!FieldSet.of(['f:spec']).intersects(FieldSet.of(['f:spec', 'f:replicas'])));
    assert.ok(!a.intersects(new FieldSet()));
  });

  it('difference keeps what is below a removed member; recursive difference drops it', () => {
    assert.deepEqual(a.difference(b).paths(), [
      ['f:spec', 'f:replicas'],
      ['f:spec', 'f:template', 'f:x'],
    ]);
    assert.deepEqual(a.recursiveDifference(b).paths(), [['f:spec', 'f:replicas']]);
  });

  it('returns the same set when nothing is taken away', () => {
    assert.equal(a.difference(FieldSet.of(['f:status'])), a);
    assert.equal(a.recursiveDifference(new FieldSet()), a);
    assert.ok(a.equals(FieldSet.fromFieldsV1(a.toFieldsV1())));
    assert.ok(!a.equals(b));
  });
});
