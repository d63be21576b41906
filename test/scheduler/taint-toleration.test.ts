import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toleratesTaint } from '../../src/scheduler/corev1.js';
import { CycleState } from '../../src/scheduler/framework.js';
import { TaintTolerationPlugin } from '../../src/scheduler/plugins/taint-toleration.js';
import { filterAll, info, makeNode, makePod, snapshotOf } from './builders.js';

test('toleration matching: Equal/Exists, empty key, empty effect', () => {
  const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
  assert.equal(toleratesTaint({ key: 'k', value: 'v', effect: 'NoSchedule' }, taint), true);
  assert.equal(toleratesTaint({ key: 'k', operator: 'Equal', value: 'x' }, taint), false);
  assert.equal(toleratesTaint({ key: 'k', operator: 'Exists' }, taint), true);
  assert.equal(toleratesTaint({ operator: 'Exists', effect: 'NoExecute' }, taint), false);
  assert.equal(toleratesTaint({ operator: 'Exists' }, taint), true);
  assert.equal(toleratesTaint({ key: 'other', operator: 'Exists' }, taint), false);
  assert.equal(toleratesTaint({ key: 'k', operator: 'Bogus' }, taint), false);
});

test('TaintToleration filter: NoSchedule and NoExecute keep pods off, PreferNoSchedule does not', () => {
  const snap = snapshotOf([
    makeNode('clean'),
    makeNode('dead', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }),
    makeNode('gpu', { taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }),
    makeNode('soft', { taints: [{ key: 'meh', value: 'x', effect: 'PreferNoSchedule' }] }),
  ]);
  const plugin = new TaintTolerationPlugin();
  assert.deepEqual(filterAll(plugin, makePod('p'), snap), {
    clean: '',
    dead: 'node(s) had untolerated taint {node.kubernetes.io/unreachable: }',
    gpu: 'node(s) had untolerated taint {gpu: true}',
    soft: '',
  });
  const gpuPod = makePod('g', { tolerations: [{ key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] });
  assert.equal(filterAll(plugin, gpuPod, snap).gpu, '');
  assert.match(filterAll(plugin, gpuPod, snap).dead, /untolerated/);
});

test('TaintToleration score: fewer untolerated PreferNoSchedule taints score higher', () => {
  const snap = snapshotOf([
    makeNode('none'),
    makeNode('one', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] }),
    makeNode('two', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] }),
  ]);
  const plugin = new TaintTolerationPlugin();
  const score = (tolerations = [] as { key: string; operator: string }[]) => {
    const state = new CycleState();
    const pi = info(makePod('p', { tolerations }));
    const nodes = snap.nodes();
    assert.equal(plugin.preScore(state, pi, nodes), undefined);
    const scores = nodes.map((n) => plugin.score(state, pi, n));
    plugin.normalizeScores(state, pi, scores);
    return Object.fromEntries(nodes.map((n, i) => [n.name, scores[i]]));
  };
  assert.deepEqual(score(), { none: 100, one: 50, two: 0 });
  assert.deepEqual(score([{ key: 'a', operator: 'Exists' }]), { none: 100, one: 100, two: 0 });
  // without PreferNoSchedule taints anywhere the plugin does not score
  assert.equal(plugin.preScore(new CycleState(), info(makePod('p')), snapshotOf([makeNode('x')]).nodes())?.code, 'Skip');
});
