import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Framework, xorshiftRandom } from '../../src/scheduler/algorithm.js';
import { deepEqual } from '../../src/api/object.js';
import { SchedulerCache } from '../../src/scheduler/cache.js';
import { CycleState, emptyListers } from '../../src/scheduler/framework.js';
import { NodeInfo, NodeTable, nodeInfoOf, type PodInfo } from '../../src/scheduler/nodeinfo.js';
import { NodeResourcesBalancedAllocationPlugin } from '../../src/scheduler/plugins/node-resources-balanced-allocation.js';
import { NodeResourcesFitPlugin } from '../../src/scheduler/plugins/node-resources-fit.js';
import { defaultPlugins } from '../../src/scheduler/plugins/index.js';
import { info, makeNode, makePod, snapshotOf } from './builders.js';

/** The row's numbers next to the Resource sums they mirror. */
function row(n: NodeInfo) {
  return {
    alloc: [n.allocatableMilliCPU, n.allocatableMemory, n.allocatableEphemeralStorage, n.allowedPodNumber],
    fromAllocatable: [n.allocatable.milliCPU, n.allocatable.memory, n.allocatable.ephemeralStorage, n.allocatable.allowedPodNumber],
    req: [n.requestedMilliCPU, n.requestedMemory, n.requestedEphemeralStorage, n.podCount],
    fromRequested: [n.requested.milliCPU, n.requested.memory, n.requested.ephemeralStorage, n.pods.size],
    nonZero: [n.nonZeroMilliCPU, n.nonZeroMemory],
  };
}

test('NodeInfo: the table row follows allocatable, requests, the pod count and non-zero requests', () => {
  const n = nodeInfoOf(makeNode('n', { cpu: '4', memory: '16Gi', extra: { 'ephemeral-storage': '100Gi' } }));
  const a = info(makePod('a', { cpu: '250m', memory: '1Gi' }));
  const b = info(makePod('b')); // no requests: 100m / 200Mi when scoring
  n.addPod(a);
  n.addPod(b);
  let r = row(n);
  assert.deepEqual(r.alloc, [4000, 16 * 2 ** 30, 100 * 2 ** 30, 110]);
  assert.deepEqual(r.alloc, r.fromAllocatable);
  assert.deepEqual(r.req, [250, 2 ** 30, 0, 2]);
  assert.deepEqual(r.req, r.fromRequested);
  assert.deepEqual(r.nonZero, [350, 2 ** 30 + 200 * 2 ** 20]);
  n.addPod(a); // the same pod again replaces itself
  n.removePod(b.key);
  r = row(n);
  assert.deepEqual(r.req, [250, 2 ** 30, 0, 1]);
  assert.deepEqual(r.nonZero, [250, 2 ** 30]);
  n.setNode(makeNode('n', { cpu: '8', memory: '1Gi', pods: 5 }));
  assert.deepEqual(row(n).alloc, [8000, 2 ** 30, 0, 5]);
  n.setNode(undefined);
  assert.deepEqual(row(n).alloc, [0, 0, 0, 0]);
});

test('NodeTable: rows are reused once released; a detached NodeInfo keeps its numbers', () => {
  const t = new NodeTable(1);
  const a = new NodeInfo('a', t);
  const b = new NodeInfo('b', t); // the table grows
  a.setNode(makeNode('a', { cpu: '2' }));
  b.setNode(makeNode('b', { cpu: '3' }));
  assert.equal(t.size, 2);
  a.detach();
  assert.equal(t.size, 1);
  const c = new NodeInfo('c', t); // takes a's row, zeroed
  assert.equal(t.size, 2);
  assert.equal(c.allocatableMilliCPU, 0);
  c.setNode(makeNode('c', { cpu: '5' }));
  assert.deepEqual([a.allocatableMilliCPU, b.allocatableMilliCPU, c.allocatableMilliCPU], [2000, 3000, 5000]);
});

test('the cache gives a NodeInfo row back when the NodeInfo goes, and keeps one per NodeInfo', () => {
  const c = new SchedulerCache(emptyListers);
  for (let i = 0; i < 100; i++) c.addNode(makeNode(`n${i}`));
  c.addPod(makePod('p', { nodeName: 'ghost', cpu: '1' }));
  assert.equal(c.tableRows(), 101);
  for (let i = 0; i < 50; i++) c.removeNode(makeNode(`n${i}`));
  c.removePod(makePod('p'));
  assert.equal(c.tableRows(), 50);
  for (let i = 0; i < 50; i++) c.addNode(makeNode(`m${i}`, { cpu: '2' }));
  assert.equal(c.tableRows(), 100);
  assert.ok(c.nodes().every((n) => n.allocatableMilliCPU === (n.name.startsWith('m') ? 2000 : 4000) && n.requestedMilliCPU === 0));
});

test('scoreNodes gives what score gives node by node (NodeResourcesFit, BalancedAllocation)', () => {
  const nodes = [
    nodeInfoOf(makeNode('a', { cpu: '4', memory: '8Gi' }), [makePod('x', { cpu: '1', memory: '1Gi' })]),
    nodeInfoOf(makeNode('b', { cpu: '2', memory: '16Gi' })),
    nodeInfoOf(makeNode('c', { cpu: '0', memory: '4Gi' })),
  ];
  const pod: PodInfo = info(makePod('p', { cpu: '500m', memory: '2Gi' }));
  for (const plugin of [new NodeResourcesFitPlugin(), new NodeResourcesFitPlugin({ cpuWeight: 3 }), new NodeResourcesBalancedAllocationPlugin()]) {
    const state = new CycleState();
    const batch: number[] = [];
    plugin.scoreNodes(state, pod, nodes, batch);
    assert.deepEqual(
      batch,
      nodes.map((n) => plugin.score(state, pod, n)),
      plugin.name,
    );
    assert.ok(new Set(batch).size > 1, 'the nodes score differently');
  }
});

test('deepEqual (the scheduler compares pods with it): equal as JSON up to key order, undefined keys count as absent', () => {
  assert.ok(deepEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }));
  assert.ok(deepEqual({ a: 1, u: undefined }, { a: 1 }));
  assert.ok(deepEqual(undefined, undefined));
  assert.ok(!deepEqual({ a: 1 }, { a: 1, b: 2 }));
  assert.ok(!deepEqual({ a: 1, b: 2 }, { a: 1 }));
  assert.ok(!deepEqual([1, 2], [2, 1]));
  assert.ok(!deepEqual([1], { 0: 1 }));
  assert.ok(!deepEqual({ a: null }, { a: {} }));
  assert.ok(!deepEqual('1', 1));
  assert.ok(!deepEqual(undefined, {}));
});

test('the cache keeps the parsed pod across status updates and parses it again when what it counts changes', () => {
  const c = new SchedulerCache(emptyListers);
  c.addNode(makeNode('n'));
  const bound = makePod('p', { nodeName: 'n', cpu: '1', labels: { app: 'a' } });
  c.addPod({ ...bound, metadata: { ...bound.metadata, resourceVersion: '1' } });
  const n = c.get('n')!;
  const parsed = n.pods.get('default/p')!;
  // status only, the same fields in another key order: the PodInfo stays
  const running = {
    ...bound,
    metadata: { labels: { app: 'a' }, uid: bound.metadata!.uid, namespace: 'default', name: 'p', resourceVersion: '2' },
    status: { phase: 'Running' },
  };
  c.updatePod(running);
  assert.equal(n.pods.get('default/p')!.requests, parsed.requests);
  // a resize: parsed again, counted anew
  const resized = { ...running, metadata: { ...running.metadata, resourceVersion: '3' }, spec: { ...running.spec!, containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '2' } } }] } };
  c.updatePod(resized);
  assert.equal(n.requestedMilliCPU, 2000);
  // new labels: parsed again
  c.updatePod({ ...resized, metadata: { ...resized.metadata, resourceVersion: '4', labels: { app: 'b' } } });
  assert.deepEqual(n.pods.get('default/p')!.labels, { app: 'b' });
});

test('the default tie break draws uniform numbers and spreads equal pods over equal nodes', () => {
  const r = xorshiftRandom();
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = r();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]++;
  }
  for (const b of buckets) assert.ok(b > 9_000 && b < 11_000, String(buckets));
  // six equal empty nodes, pods that are not assumed: every node wins sometimes
  const snap = snapshotOf(Array.from({ length: 6 }, (_, i) => makeNode(`n${i}`)));
  const fw = new Framework(defaultPlugins());
  const wins = new Map<string, number>();
  for (let i = 0; i < 600; i++) {
    const name = fw.schedulePod(info(makePod(`p${i}`, { cpu: '100m' })), snap).node.name;
    wins.set(name, (wins.get(name) ?? 0) + 1);
  }
  assert.equal(wins.size, 6);
  for (const n of wins.values()) assert.ok(n > 50, String([...wins]));
});
