import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyListers } from '../../src/scheduler/framework.js';
import { SchedulerCache } from '../../src/scheduler/cache.js';
import { info, makeNode, makePod } from './builders.js';

test('the cache sums requests per node; assumed pods count until confirmed or forgotten', () => {
  const c = new SchedulerCache(emptyListers);
  c.addNode(makeNode('n'));
  c.addPod(makePod('bound', { nodeName: 'n', cpu: '1' }));
  const n = c.get('n')!;
  assert.equal(n.requested.milliCPU, 1000);
  c.assumePod(info(makePod('new', { cpu: '500m' })), 'n');
  assert.equal(n.requested.milliCPU, 1500);
  assert.equal(c.isAssumed('default/new'), true);
  // the informer shows it bound: confirmed, counted once
  c.addPod(makePod('new', { nodeName: 'n', cpu: '500m' }));
  assert.equal(c.isAssumed('default/new'), false);
  assert.equal(n.requested.milliCPU, 1500);
  assert.equal(n.pods.size, 2);
  c.assumePod(info(makePod('failed', { cpu: '2' })), 'n');
  c.forgetPod('default/failed');
  assert.equal(n.requested.milliCPU, 1500);
  // finished pods hold nothing
  const done = { ...makePod('bound', { nodeName: 'n', cpu: '1' }), status: { phase: 'Succeeded' } };
  c.updatePod(done);
  assert.equal(n.requested.milliCPU, 500);
  c.removePod(makePod('new'));
  assert.equal(n.requested.milliCPU, 0);
});

test('pods may arrive before their node; a removed node with pods stays until they go', () => {
  const c = new SchedulerCache(emptyListers);
  c.addPod(makePod('early', { nodeName: 'late', cpu: '1' }));
  assert.equal(c.nodes().length, 0);
  c.addNode(makeNode('late'));
  assert.equal(c.nodes().length, 1);
  assert.equal(c.get('late')!.requested.milliCPU, 1000);
  c.removeNode(makeNode('late'));
  assert.equal(c.nodes().length, 0);
  assert.ok(c.get('late'));
  c.removePod(makePod('early'));
  assert.equal(c.get('late'), undefined);
});

test('the cache lists nodes holding pods with affinity, and forgets them when those pods go', () => {
  const c = new SchedulerCache(emptyListers);
  c.addNode(makeNode('a'));
  c.addNode(makeNode('b'));
  const anti = makePod('anti', {
    nodeName: 'b',
    spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { x: 'y' } } }] } } },
  });
  c.addPod(anti);
  assert.deepEqual(c.nodesWithPodAffinity().map((n) => n.name), ['b']);
  assert.deepEqual(c.nodesWithRequiredAntiAffinity().map((n) => n.name), ['b']);
  c.removePod(anti);
  assert.deepEqual(c.nodesWithPodAffinity(), []);
  assert.deepEqual(c.nodesWithRequiredAntiAffinity(), []);
});
