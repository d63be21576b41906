import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { CycleState } from '../../src/scheduler/framework.js';
import { DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, podRequests } from '../../src/scheduler/nodeinfo.js';
import { insufficientResources, leastRequestedScore, NodeResourcesFitPlugin } from '../../src/scheduler/plugins/node-resources-fit.js';
import { filterAll, info, makeNode, makePod, nodeIn, snapshotOf } from './builders.js';

const withContainers = (spec: Partial<Pod['spec']>): Pod => makePod('p', { spec });
const req = (cpu: string, memory?: string) => ({ requests: { cpu, ...(memory ? { memory } : {}) } });

test('pod requests: containers add up, init containers count at their peak, overhead adds', () => {
  const pod = withContainers({
    initContainers: [
      { name: 'i1', image: 'x', resources: req('2', '1G') },
      { name: 'i2', image: 'x', resources: req('2', '3G') },
    ],
    containers: [
      { name: 'c1', image: 'x', resources: req('2', '1G') },
      { name: 'c2', image: 'x', resources: req('1', '1G') },
    ],
    overhead: { cpu: '250m', memory: '100M' },
  });
  const r = podRequests(pod);
  assert.equal(r.milliCPU, 3000 + 250);
  assert.equal(r.memory, 3e9 + 100e6);
});

test('pod requests: restartable init containers (sidecars) run beside what follows them', () => {
  const pod = withContainers({
    initContainers: [
      { name: 'sidecar', image: 'x', restartPolicy: 'Always', resources: req('1') },
      { name: 'setup', image: 'x', resources: req('3') },
    ],
    containers: [{ name: 'app', image: 'x', resources: req('1') }],
  });
  // app + sidecar = 2; setup runs while the sidecar does: 3 + 1 = 4
  assert.equal(podRequests(pod).milliCPU, 4000);
});

test('pod requests: non-zero defaults stand in for missing cpu/memory when scoring', () => {
  const r = podRequests(makePod('p'), true);
  assert.equal(r.milliCPU, DEFAULT_MILLI_CPU_REQUEST);
  assert.equal(r.memory, DEFAULT_MEMORY_REQUEST);
  assert.equal(podRequests(makePod('p')).milliCPU, 0);
});

test('NodeResourcesFit: requests must fit in allocatable minus what bound pods request', () => {
  const snap = snapshotOf(
    [makeNode('small', { cpu: '1', memory: '1Gi' }), makeNode('busy', { cpu: '4', memory: '8Gi' }), makeNode('roomy', { cpu: '4', memory: '8Gi' })],
    [makePod('hog', { nodeName: 'busy', cpu: '3500m', memory: '7Gi' })],
  );
  const plugin = new NodeResourcesFitPlugin();
  assert.deepEqual(filterAll(plugin, makePod('p', { cpu: '2', memory: '512Mi' }), snap), { small: 'Insufficient cpu', busy: 'Insufficient cpu', roomy: '' });
  assert.deepEqual(filterAll(plugin, makePod('p', { cpu: '1', memory: '2Gi' }), snap), { small: 'Insufficient memory', busy: 'Insufficient cpu, Insufficient memory', roomy: '' });
  // a pod asking for nothing fits even on an overcommitted node
  assert.deepEqual(filterAll(plugin, makePod('p'), snap), { small: '', busy: '', roomy: '' });
});

test('NodeResourcesFit: the pods count and extended resources', () => {
  const snap = snapshotOf([makeNode('full', { pods: 1 }), makeNode('gpu', { extra: { 'example.com/gpu': '1' } })], [makePod('x', { nodeName: 'full' })]);
  const plugin = new NodeResourcesFitPlugin();
  assert.deepEqual(filterAll(plugin, makePod('p'), snap), { full: 'Too many pods', gpu: '' });
  const gpuPod = withContainers({ containers: [{ name: 'c', image: 'x', resources: { requests: { 'example.com/gpu': '1' } } }] });
  assert.deepEqual(filterAll(plugin, gpuPod, snap), { full: 'Too many pods, Insufficient example.com/gpu', gpu: '' });
  const lacking = insufficientResources(info(gpuPod), nodeIn(snap, 'full'));
  assert.deepEqual(lacking.map((l) => [l.resourceName, l.requested, l.used, l.capacity]), [['pods', 1, 1, 1], ['example.com/gpu', 1, 0, 0]]);
  assert.equal(filterAll(new NodeResourcesFitPlugin({ ignoredResources: ['example.com/gpu'] }), gpuPod, snap).full, 'Too many pods');
});

test('NodeResourcesFit: assumed pods count like bound ones', () => {
  const snap = snapshotOf([makeNode('n', { cpu: '1' })]);
  const plugin = new NodeResourcesFitPlugin();
  snap.assumePod(info(makePod('first', { cpu: '800m' })), 'n');
  assert.equal(filterAll(plugin, makePod('second', { cpu: '300m' }), snap).n, 'Insufficient cpu');
  snap.forgetPod('default/first');
  assert.equal(filterAll(plugin, makePod('second', { cpu: '300m' }), snap).n, '');
});

test('LeastAllocated scoring prefers the emptier node', () => {
  assert.equal(leastRequestedScore(0, 4000), 100);
  assert.equal(leastRequestedScore(3000, 4000), 25);
  assert.equal(leastRequestedScore(5000, 4000), 0);
  const snap = snapshotOf([makeNode('empty'), makeNode('half')], [makePod('x', { nodeName: 'half', cpu: '2', memory: '4Gi' })]);
  const plugin = new NodeResourcesFitPlugin();
  const pi = info(makePod('p', { cpu: '1', memory: '1Gi' }));
  const empty = plugin.score(new CycleState(), pi, nodeIn(snap, 'empty'));
  const half = plugin.score(new CycleState(), pi, nodeIn(snap, 'half'));
  // cpu (4 − 1)/4 = 75, memory (8 − 1)/8 = 87 → 81
  assert.equal(empty, 81);
  assert.ok(half < empty, `${half} < ${empty}`);
});
