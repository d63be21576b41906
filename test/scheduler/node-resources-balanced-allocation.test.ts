import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CycleState } from '../../src/scheduler/framework.js';
import { balancedResourceScore, NodeResourcesBalancedAllocationPlugin } from '../../src/scheduler/plugins/node-resources-balanced-allocation.js';
import { info, makeNode, makePod, nodeIn, snapshotOf } from './builders.js';

test('balancedResourceScore: 1 − std of the used fractions', () => {
  assert.equal(balancedResourceScore([2, 4], [4, 8]), 100);
  assert.equal(balancedResourceScore([4, 0], [4, 8]), 50);
  assert.equal(balancedResourceScore([1, 2, 3], [4, 4, 4]), 79);
  assert.equal(balancedResourceScore([8, 0], [4, 8]), 50, 'fractions are capped at 1');
});

test('NodeResourcesBalancedAllocation prefers the node where cpu and memory stay even', () => {
  const snap = snapshotOf(
    [makeNode('cpu-heavy', { cpu: '4', memory: '8Gi' }), makeNode('even', { cpu: '4', memory: '8Gi' })],
    [makePod('x', { nodeName: 'cpu-heavy', cpu: '3', memory: '1Gi' }), makePod('y', { nodeName: 'even', cpu: '1', memory: '2Gi' })],
  );
  const plugin = new NodeResourcesBalancedAllocationPlugin();
  const pi = info(makePod('p', { cpu: '1', memory: '2Gi' }));
  const state = new CycleState();
  assert.equal(plugin.preScore(state, pi), undefined);
  assert.equal(plugin.score(state, pi, nodeIn(snap, 'even')), 100);
  assert.equal(plugin.score(state, pi, nodeIn(snap, 'cpu-heavy')), 68);
  assert.equal(plugin.preScore(state, info(makePod('besteffort')))?.code, 'Skip');
});
