import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Framework, NoNodesAvailableError, numFeasibleNodesToFind } from '../../src/scheduler/algorithm.js';
import { FitError, fitErrorMessage, preemptionMessage, unresolvable, unschedulable, type Status } from '../../src/scheduler/framework.js';
import { defaultPlugins } from '../../src/scheduler/plugins/index.js';
import { info, makeNode, makePod, snapshotOf } from './builders.js';

test('numFeasibleNodesToFind: all below 100 nodes, then an adaptive percentage, never under 100', () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(100), 100);
  assert.equal(numFeasibleNodesToFind(200), 100, '48% of 200 is under the minimum of 100');
  assert.equal(numFeasibleNodesToFind(400), 188);
  assert.equal(numFeasibleNodesToFind(1000), 420);
  assert.equal(numFeasibleNodesToFind(5000), 500);
  assert.equal(numFeasibleNodesToFind(10000), 500, 'the percentage bottoms out at 5%');
  assert.equal(numFeasibleNodesToFind(1000, 100), 1000);
  assert.equal(numFeasibleNodesToFind(1000, 5), 100);
});

test("the FitError message counts reasons per node, sorted, with upstream's preemption sentence", () => {
  const statuses = new Map<string, Status>([
    ['n1', unresolvable('node(s) had untolerated taint {node.kubernetes.io/unreachable: }')],
    ['n2', unschedulable('Insufficient cpu')],
    ['n3', unschedulable('Insufficient cpu')],
  ]);
  assert.equal(
    new FitError(3, statuses, undefined, preemptionMessage(undefined, 3, statuses)).message,
    '0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu. ' +
      'preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
  );
  assert.equal(
    fitErrorMessage(1, new Map([['n', unschedulable('Insufficient cpu', 'Insufficient memory')]]), undefined, preemptionMessage('Never', 1, new Map())),
    '0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: not eligible due to preemptionPolicy=Never.',
  );
  const pre = unresolvable('persistentvolumeclaim "data" not found');
  assert.equal(
    fitErrorMessage(2, new Map(), pre, preemptionMessage(undefined, 2, new Map(), pre)),
    '0/2 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.',
  );
});

test('schedulePod: picks a feasible node and reports every node when none fits', () => {
  const fw = new Framework(defaultPlugins(), { random: () => 0.5 });
  const snap = snapshotOf([
    makeNode('small', { cpu: '1' }),
    makeNode('tainted', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }),
    makeNode('cordoned', { unschedulable: true }),
    makeNode('big', { cpu: '8' }),
  ]);
  assert.equal(fw.schedulePod(info(makePod('p', { cpu: '2' })), snap).node.name, 'big');
  assert.throws(
    () => fw.schedulePod(info(makePod('huge', { cpu: '16' })), snap),
    (e: unknown) =>
      e instanceof FitError &&
      e.message ===
        '0/4 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable, 2 Insufficient cpu. ' +
          'preemption: 0/4 nodes are available: 2 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.' &&
      [...e.unschedulablePlugins()].sort().join() === 'NodeResourcesFit,NodeUnschedulable,TaintToleration',
  );
  assert.throws(() => fw.schedulePod(info(makePod('p')), snapshotOf([])), NoNodesAvailableError);
});

test('schedulePod: a pinned pod (metadata.name field) only looks at its node', () => {
  const fw = new Framework(defaultPlugins());
  const snap = snapshotOf([makeNode('a'), makeNode('b', { cpu: '1' }), makeNode('c')]);
  const pin = (cpu: string) =>
    makePod('ds', { cpu, spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }] } } } } });
  const r = fw.schedulePod(info(pin('500m')), snap);
  assert.equal(r.node.name, 'b');
  assert.equal(r.evaluatedNodes, 1);
  assert.throws(
    () => fw.schedulePod(info(pin('2')), snap),
    (e: unknown) => e instanceof FitError && e.message.startsWith("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."),
  );
});

test('schedulePod: with many nodes only a sample is filtered, starting where the last cycle stopped', () => {
  const nodes = Array.from({ length: 1000 }, (_, i) => makeNode(`n${i}`));
  const snap = snapshotOf(nodes);
  const fw = new Framework(defaultPlugins());
  const a = fw.schedulePod(info(makePod('a')), snap);
  assert.equal(a.evaluatedNodes, 420);
  assert.equal(a.feasibleNodes, 420);
  const b = fw.schedulePod(info(makePod('b')), snap);
  assert.equal(b.evaluatedNodes, 420);
  const idx = (n: string) => Number(n.slice(1));
  assert.ok(idx(a.node.name) < 420, a.node.name);
  assert.ok(idx(b.node.name) >= 420 && idx(b.node.name) < 840, b.node.name);
});

test('schedulePod: scores spread equal pods over equal nodes (LeastAllocated) once they are assumed', () => {
  const snap = snapshotOf([makeNode('a'), makeNode('b'), makeNode('c')]);
  const fw = new Framework(defaultPlugins());
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  for (let i = 0; i < 9; i++) {
    const pi = info(makePod(`p${i}`, { cpu: '100m', memory: '100Mi' }));
    const r = fw.schedulePod(pi, snap);
    snap.assumePod(pi, r.node.name);
    counts[r.node.name]++;
  }
  assert.deepEqual(counts, { a: 3, b: 3, c: 3 });
});
