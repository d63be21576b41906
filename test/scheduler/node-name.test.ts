import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeNamePlugin } from '../../src/scheduler/plugins/node-name.js';
import { filterAll, makeNode, makePod, snapshotOf } from './builders.js';

test('NodeName: a pod naming a node fits only there', () => {
  const snap = snapshotOf([makeNode('a'), makeNode('b')]);
  assert.deepEqual(filterAll(new NodeNamePlugin(), makePod('p', { nodeName: 'b' }), snap), { a: "node(s) didn't match the requested node name", b: '' });
  assert.deepEqual(filterAll(new NodeNamePlugin(), makePod('q'), snap), { a: '', b: '' });
});
