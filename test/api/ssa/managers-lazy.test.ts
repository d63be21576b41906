// managedFields read lazily and changed in FieldsV1: every result must be what reading every entry into
// a set, changing the sets and writing them out again gives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { decodeManagedFields, FieldSet, updateManagedFields, type ManageOptions } from '../../../src/api/ssa/index.js';
import { patchFieldsV1, readManagedFields } from '../../../src/api/ssa/managers.js';
import type { KubeObject } from '../../../src/api/types.js';

type Obj = Record<string, unknown>;
const CM: ManageOptions = { apiVersion: 'v1', kind: 'ConfigMap', now: '2024-01-01T00:00:00Z' };
const at = (now: string): ManageOptions => ({ ...CM, now });

let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const ELEMENTS = ['f:a', 'f:b', 'f:c', 'k:{"name":"x"}', 'k:{"name":"y"}', 'v:"s"', 'v:1'];
function randomSet(depth = 3): FieldSet {
  const s = new FieldSet();
  for (const pe of ELEMENTS) {
    const r = rnd();
    if (r < 0.3) s.members.add(pe);
    if (depth > 0 && r > 0.15 && r < 0.45) s.attach(pe, randomSet(depth - 1));
  }
  return s;
}

describe('patchFieldsV1', () => {
  it('changes FieldsV1 as the sets read from it would change: add wins, dropping keeps what is below', () => {
    for (let i = 0; i < 500; i++) {
      const [s, add, d1, d2] = [randomSet(), randomSet(), randomSet(), randomSet()];
      const want = s.difference(d1).difference(d2).union(add).toFieldsV1();
      const v = s.toFieldsV1();
      const before = JSON.stringify(v);
      const got = patchFieldsV1(v, add, d1, d2);
      assert.equal(JSON.stringify(got), JSON.stringify(want), `case ${i}`);
      assert.equal(JSON.stringify(v), before, 'the FieldsV1 patched is left as it was');
    }
  });

  it('gives back the same object when nothing changes, and shares what the change does not reach', () => {
    const s = FieldSet.of(['f:spec', 'f:replicas'], ['f:spec', 'f:template', 'f:metadata', 'f:labels', 'f:app'], ['f:metadata', 'f:labels', 'f:x']);
    const v = s.toFieldsV1();
    assert.equal(patchFieldsV1(v, undefined, FieldSet.of(['f:status', 'f:phase']), undefined), v);
    assert.equal(patchFieldsV1(v, FieldSet.of(['f:spec', 'f:replicas']), undefined, undefined), v);
    const got = patchFieldsV1(v, FieldSet.of(['f:spec', 'f:paused']), undefined, undefined);
    assert.notEqual(got, v);
    assert.equal(got['f:metadata'], v['f:metadata']);
    assert.equal((got['f:spec'] as Obj)['f:template'], (v['f:spec'] as Obj)['f:template']);
    assert.deepEqual(Object.keys(got['f:spec'] as Obj), ['f:paused', 'f:replicas', 'f:template']);
  });
});

describe('readManagedFields', () => {
  const entry = (fieldsV1: unknown): ManagedFieldsEntry => ({ manager: 'm', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: fieldsV1 as object });

  it('refuses what decodeManagedFields refuses', () => {
    const bad: unknown[] = [
      'x',
      [{ manager: 'm', operation: 'Bogus', apiVersion: 'v1', fieldsType: 'FieldsV1' }],
      [entry({ 'f:data': 'not an object' })],
      [entry({ 'f:data': { 'k:notjson': {} } })],
      [entry({ 'x:what': {} })],
      [entry([])],
    ];
    for (const b of bad) {
      assert.throws(() => decodeManagedFields(b));
      assert.throws(() => readManagedFields(b), Error, JSON.stringify(b));
    }
  });

  it('reads the same sets as decodeManagedFields, however FieldsV1 is spelled', () => {
    const entries = [
      entry({ 'f:data': { '.': {}, 'f:b': {}, 'f:a': {} } }),
      { ...entry({ 'f:spec': { 'f:ports': { 'k:{"protocol":"TCP","port":80}': { '.': {} } } } }), manager: 'n' },
    ];
    const eager = decodeManagedFields(entries);
    const lazy = readManagedFields(entries);
    assert.deepEqual([...lazy.keys()], [...eager.keys()]);
    for (const [id, e] of eager) assert.ok(lazy.get(id)!.set.equals(e.set), id);
  });
});

describe('updateManagedFields with managedFields read lazily', () => {
  function configMap(): KubeObject {
    const o: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', uid: 'u' }, data: { a: '1' } };
    updateManagedFields(undefined, o, 'creator', CM);
    return o;
  }

  it('keeps the spelling of entries a write does not touch and spells the ones it changes as upstream', () => {
    const old = configMap();
    // another manager's entry, spelled out of order and with "." on a member without children
    old.metadata!.managedFields!.push({ manager: 'other', operation: 'Update', apiVersion: 'v1', time: '2024-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:z': { '.': {} }, '.': {} } } } });
    (old.metadata as Obj).labels = { z: '1' };
    const untouched = structuredClone(old);
    (untouched.data as Obj).b = '2';
    updateManagedFields(old, untouched, 'writer', at('2024-01-02T00:00:00Z'));
    const other = untouched.metadata!.managedFields!.find((e) => e.manager === 'other')!;
    assert.equal(JSON.stringify(other.fieldsV1), '{"f:metadata":{"f:labels":{"f:z":{".":{}},".":{}}}}');
    // a write that takes a field from it writes its entry out again, canonically
    const touched = structuredClone(untouched);
    (touched.metadata as Obj).labels = { z: '2' };
    updateManagedFields(untouched, touched, 'writer', at('2024-01-03T00:00:00Z'));
    const after = touched.metadata!.managedFields!.find((e) => e.manager === 'other')!;
    assert.equal(JSON.stringify(after.fieldsV1), '{"f:metadata":{"f:labels":{}}}');
    assert.ok(FieldSet.fromFieldsV1(touched.metadata!.managedFields!.find((e) => e.manager === 'writer')!.fieldsV1).has(['f:metadata', 'f:labels', 'f:z']));
  });

  it('changes the writer’s own entry in place: new fields join it, removed ones leave it, its time moves', () => {
    const old = configMap();
    const next = structuredClone(old);
    next.data = { b: '2' };
    updateManagedFields(old, next, 'creator', at('2024-01-02T00:00:00Z'));
    assert.deepEqual(next.metadata!.managedFields, [
      { manager: 'creator', operation: 'Update', apiVersion: 'v1', time: '2024-01-02T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:b': {} } } },
    ]);
  });

  it('drops an entry left with nothing and writes managedFields as metadata’s last field', () => {
    const old = configMap();
    const next = structuredClone(old);
    delete next.data;
    // a client sending managedFields first, as some do
    next.metadata = { managedFields: next.metadata!.managedFields, name: 'c', uid: 'u', labels: { a: 'b' } };
    updateManagedFields(old, next, 'editor', at('2024-01-02T00:00:00Z'));
    assert.deepEqual(Object.keys(next.metadata!), ['name', 'uid', 'labels', 'managedFields']);
    assert.deepEqual(
      next.metadata!.managedFields!.map((e) => e.manager),
      ['editor'],
      'the creator owned only data, which is gone',
    );
  });
});
