import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { CycleState } from '../../src/scheduler/framework.js';
import { PodTopologySpreadPlugin } from '../../src/scheduler/plugins/pod-topology-spread.js';
import { filterAll, info, makeNode, makePod, snapshotOf } from './builders.js';

const NOT_MATCH = "node(s) didn't match pod topology spread constraints";
const MISSING = "node(s) didn't match pod topology spread constraints (missing required label)";
const spread = (c: Partial<TopologySpreadConstraint>): TopologySpreadConstraint => ({
  maxSkew: 1,
  topologyKey: 'zone',
  whenUnsatisfiable: 'DoNotSchedule',
  labelSelector: { matchLabels: { app: 'web' } },
  ...c,
});
const web = (name: string, nodeName?: string) => makePod(name, { nodeName, labels: { app: 'web' } });
const nodes = () => [makeNode('a1', { labels: { zone: 'a' } }), makeNode('a2', { labels: { zone: 'a' } }), makeNode('b1', { labels: { zone: 'b' } }), makeNode('nolabel')];

test('PodTopologySpread: DoNotSchedule keeps the skew between zones within maxSkew', () => {
  const snap = snapshotOf(nodes(), [web('w1', 'a1'), web('w2', 'a2')]);
  const pod = makePod('w3', { labels: { app: 'web' }, spec: { topologySpreadConstraints: [spread({})] } });
  assert.deepEqual(filterAll(new PodTopologySpreadPlugin(), pod, snap), { a1: NOT_MATCH, a2: NOT_MATCH, b1: '', nolabel: MISSING });
  const loose = makePod('w3', { labels: { app: 'web' }, spec: { topologySpreadConstraints: [spread({ maxSkew: 3 })] } });
  assert.deepEqual(filterAll(new PodTopologySpreadPlugin(), loose, snap), { a1: '', a2: '', b1: '', nolabel: MISSING });
});

test('PodTopologySpread: terminating pods, other namespaces and non-matching pods do not count', () => {
  const w2 = web('w2', 'a2');
  const gone = { ...w2, metadata: { ...w2.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } };
  const snap = snapshotOf(nodes(), [web('w1', 'a1'), gone, makePod('x', { nodeName: 'b1', namespace: 'other', labels: { app: 'web' } }), makePod('y', { nodeName: 'b1', labels: { app: 'db' } })]);
  const pod = makePod('w3', { labels: { app: 'web' }, spec: { topologySpreadConstraints: [spread({ topologyKey: 'kubernetes.io/hostname' })] } });
  // per host: a1 has 1, every other host 0 → a1 would make 2 − 0 = 2 > 1
  assert.deepEqual(filterAll(new PodTopologySpreadPlugin(), pod, snap), { a1: NOT_MATCH, a2: '', b1: '', nolabel: '' });
});

test('PodTopologySpread: minDomains makes the global minimum 0 while domains are missing', () => {
  const snap = snapshotOf([makeNode('a1', { labels: { zone: 'a' } }), makeNode('b1', { labels: { zone: 'b' } })], [web('w1', 'a1'), web('w2', 'b1')]);
  const pod = makePod('w3', { labels: { app: 'web' }, spec: { topologySpreadConstraints: [spread({ minDomains: 3 })] } });
  assert.deepEqual(filterAll(new PodTopologySpreadPlugin(), pod, snap), { a1: NOT_MATCH, b1: NOT_MATCH });
  const two = makePod('w3', { labels: { app: 'web' }, spec: { topologySpreadConstraints: [spread({ minDomains: 2 })] } });
  assert.deepEqual(filterAll(new PodTopologySpreadPlugin(), two, snap), { a1: '', b1: '' });
});

test('PodTopologySpread: nodeAffinityPolicy Honor leaves nodes the pod cannot use out of the domains', () => {
  const snap = snapshotOf([makeNode('a1', { labels: { zone: 'a', pool: 'x' } }), makeNode('b1', { labels: { zone: 'b', pool: 'x' } }), makeNode('c1', { labels: { zone: 'c' } })], [web('w1', 'a1')]);
  const pod = makePod('w2', { labels: { app: 'web' }, spec: { nodeSelector: { pool: 'x' }, topologySpreadConstraints: [spread({})] } });
  // zone c is not a domain (its node fails the selector), so the minimum is 0 (zone b) and a1 gives skew 2
  assert.deepEqual(filterAll(new PodTopologySpreadPlugin(), pod, snap), { a1: NOT_MATCH, b1: '', c1: '' });
  const ignore = makePod('w2', { labels: { app: 'web' }, spec: { nodeSelector: { pool: 'x' }, topologySpreadConstraints: [spread({ nodeAffinityPolicy: 'Ignore' })] } });
  assert.deepEqual(filterAll(new PodTopologySpreadPlugin(), ignore, snap), { a1: NOT_MATCH, b1: '', c1: '' });
});

test('PodTopologySpread: ScheduleAnyway scores emptier domains higher', () => {
  const snap = snapshotOf(nodes(), [web('w1', 'a1'), web('w2', 'a2'), web('w3', 'a1')]);
  const pod = makePod('w4', { labels: { app: 'web' }, spec: { topologySpreadConstraints: [spread({ whenUnsatisfiable: 'ScheduleAnyway' })] } });
  const plugin = new PodTopologySpreadPlugin();
  const state = new CycleState();
  const pi = info(pod);
  const ns = snap.nodes();
  assert.equal(plugin.preFilter(state, pi, snap)?.code, 'Skip');
  assert.equal(plugin.preScore(state, pi, ns, snap), undefined);
  const scores = ns.map((n) => plugin.score(state, pi, n));
  plugin.normalizeScores(state, pi, scores, ns);
  const by = Object.fromEntries(ns.map((n, i) => [n.name, scores[i]]));
  assert.equal(by.nolabel, 0, 'nodes without the key are ignored');
  assert.equal(by.b1, 100);
  assert.ok(by.a1 < by.b1 && by.a1 === by.a2, JSON.stringify(by));
});
