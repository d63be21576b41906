import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeSelectorTerm } from 'kubernetes-types/core/v1.js';
import { nodeSelectorRequirementMatches } from '../../src/scheduler/corev1.js';
import { CycleState } from '../../src/scheduler/framework.js';
import { NodeAffinityPlugin } from '../../src/scheduler/plugins/node-affinity.js';
import { filterAll, info, makeNode, makePod, snapshotOf } from './builders.js';

const snap = () =>
  snapshotOf([
    makeNode('a', { labels: { zone: 'z1', disk: 'ssd', cores: '8' } }),
    makeNode('b', { labels: { zone: 'z2', disk: 'hdd', cores: '16' } }),
    makeNode('c', { labels: { zone: 'z3' } }),
  ]);
const required = (...terms: NodeSelectorTerm[]) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
const NO = "node(s) didn't match Pod's node affinity/selector";

test('node selector operators', () => {
  const labels = { a: '5', b: 'x' };
  assert.equal(nodeSelectorRequirementMatches({ key: 'a', operator: 'Gt', values: ['4'] }, labels), true);
  assert.equal(nodeSelectorRequirementMatches({ key: 'a', operator: 'Lt', values: ['4'] }, labels), false);
  assert.equal(nodeSelectorRequirementMatches({ key: 'b', operator: 'Gt', values: ['4'] }, labels), false);
  assert.equal(nodeSelectorRequirementMatches({ key: 'b', operator: 'NotIn', values: ['y'] }, labels), true);
  assert.equal(nodeSelectorRequirementMatches({ key: 'z', operator: 'NotIn', values: ['y'] }, labels), true);
  assert.equal(nodeSelectorRequirementMatches({ key: 'z', operator: 'DoesNotExist' }, labels), true);
  assert.equal(nodeSelectorRequirementMatches({ key: 'b', operator: 'Exists' }, labels), true);
});

test('NodeAffinity: nodeSelector must match every label', () => {
  const p = new NodeAffinityPlugin();
  assert.deepEqual(filterAll(p, makePod('p', { spec: { nodeSelector: { disk: 'ssd' } } }), snap()), { a: '', b: NO, c: NO });
  assert.deepEqual(filterAll(p, makePod('p', { spec: { nodeSelector: { disk: 'ssd', zone: 'z2' } } }), snap()), { a: NO, b: NO, c: NO });
  assert.deepEqual(filterAll(p, makePod('p'), snap()), { a: '', b: '', c: '' });
});

test('NodeAffinity: required terms are ORed, expressions within a term ANDed, and both nodeSelector and affinity must hold', () => {
  const p = new NodeAffinityPlugin();
  const pod = makePod('p', {
    spec: required(
      { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1', 'z2'] }, { key: 'cores', operator: 'Gt', values: ['10'] }] },
      { matchExpressions: [{ key: 'disk', operator: 'DoesNotExist' }] },
    ),
  });
  assert.deepEqual(filterAll(p, pod, snap()), { a: NO, b: '', c: '' });
  const both = makePod('p', { spec: { ...required({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }), nodeSelector: { disk: 'hdd' } } });
  assert.deepEqual(filterAll(p, both, snap()), { a: NO, b: '', c: NO });
  // an empty term matches nothing
  assert.deepEqual(filterAll(p, makePod('p', { spec: required({}) }), snap()), { a: NO, b: NO, c: NO });
});

test('NodeAffinity: metadata.name fields narrow the nodes in PreFilter', () => {
  const p = new NodeAffinityPlugin();
  const state = new CycleState();
  const pod = makePod('ds', { spec: required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }) });
  assert.equal(p.preFilter(state, info(pod)), undefined);
  assert.deepEqual([...state.nodeNames!], ['b']);
  assert.deepEqual(filterAll(p, pod, snap()), { a: NO, b: '', c: NO });
});

test('NodeAffinity: preferred terms add their weights, normalized to 100', () => {
  const p = new NodeAffinityPlugin();
  const pod = makePod('p', {
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
            { weight: 30, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2', 'z3'] }] } },
          ],
        },
      },
    },
  });
  const state = new CycleState();
  const pi = info(pod);
  const nodes = snap().nodes();
  assert.equal(p.preScore(state, pi), undefined);
  const scores = nodes.map((n) => p.score(state, pi, n));
  assert.deepEqual(scores, [10, 30, 30]);
  p.normalizeScores(state, pi, scores);
  assert.deepEqual(scores, [33, 100, 100]);
  assert.equal(p.preScore(new CycleState(), info(makePod('plain')))?.code, 'Skip');
});
