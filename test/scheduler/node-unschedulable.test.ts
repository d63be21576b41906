import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CycleState } from '../../src/scheduler/framework.js';
import { NodeInfo } from '../../src/scheduler/nodeinfo.js';
import { NodeUnschedulablePlugin } from '../../src/scheduler/plugins/node-unschedulable.js';
import { filterAll, info, makeNode, makePod, snapshotOf } from './builders.js';

test('NodeUnschedulable: cordoned nodes take only pods tolerating the unschedulable taint', () => {
  const snap = snapshotOf([makeNode('open'), makeNode('cordoned', { unschedulable: true })]);
  const plugin = new NodeUnschedulablePlugin();
  assert.deepEqual(filterAll(plugin, makePod('p'), snap), { open: '', cordoned: 'node(s) were unschedulable' });
  const tolerant = makePod('t', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
  assert.deepEqual(filterAll(plugin, tolerant, snap), { open: '', cordoned: '' });
  const wrongEffect = makePod('w', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoExecute' }] });
  assert.equal(filterAll(plugin, wrongEffect, snap).cordoned, 'node(s) were unschedulable');
  const everything = makePod('e', { tolerations: [{ operator: 'Exists' }] });
  assert.equal(filterAll(plugin, everything, snap).cordoned, '');
});

test('NodeUnschedulable: a NodeInfo without a Node is rejected as unknown', () => {
  const s = new NodeUnschedulablePlugin().filter(new CycleState(), info(makePod('p')), new NodeInfo('ghost'));
  assert.equal(s?.code, 'UnschedulableAndUnresolvable');
  assert.deepEqual(s?.reasons, ['node(s) had unknown conditions']);
});
