import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Namespace, PodAffinityTerm } from 'kubernetes-types/core/v1.js';
import { CycleState, emptyListers } from '../../src/scheduler/framework.js';
import { InterPodAffinityPlugin } from '../../src/scheduler/plugins/inter-pod-affinity.js';
import { filterAll, info, makeNode, makePod, snapshotOf } from './builders.js';

const nodes = () => [
  makeNode('a1', { labels: { zone: 'a' } }),
  makeNode('a2', { labels: { zone: 'a' } }),
  makeNode('b1', { labels: { zone: 'b' } }),
  makeNode('nozone'),
];
const term = (labels: Record<string, string>, topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({ labelSelector: { matchLabels: labels }, topologyKey, ...extra });
const AFF = "node(s) didn't match pod affinity rules";
const ANTI = "node(s) didn't match pod anti-affinity rules";
const EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules";

test('InterPodAffinity: required affinity needs a matching pod in the same topology domain', () => {
  const snap = snapshotOf(nodes(), [makePod('db', { nodeName: 'a1', labels: { app: 'db' } })]);
  const pod = makePod('web', { spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, 'zone')] } } } });
  assert.deepEqual(filterAll(new InterPodAffinityPlugin(), pod, snap), { a1: '', a2: '', b1: AFF, nozone: AFF });
  // another namespace's pod does not count unless the term names it
  const other = snapshotOf(nodes(), [makePod('db', { nodeName: 'a1', namespace: 'x', labels: { app: 'db' } })]);
  assert.deepEqual(filterAll(new InterPodAffinityPlugin(), pod, other), { a1: AFF, a2: AFF, b1: AFF, nozone: AFF });
  const named = makePod('web', { spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, 'zone', { namespaces: ['x'] })] } } } });
  assert.equal(filterAll(new InterPodAffinityPlugin(), named, other).a2, '');
});

test('InterPodAffinity: the first pod of a self-affine group may go anywhere with the topology key', () => {
  const snap = snapshotOf(nodes());
  const pod = makePod('w', { labels: { app: 'w' }, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'w' }, 'zone')] } } } });
  assert.deepEqual(filterAll(new InterPodAffinityPlugin(), pod, snap), { a1: '', a2: '', b1: '', nozone: AFF });
});

test('InterPodAffinity: required anti-affinity keeps a pod out of domains with matching pods', () => {
  const snap = snapshotOf(nodes(), [makePod('w1', { nodeName: 'a1', labels: { app: 'w' } })]);
  const byHost = makePod('w2', { labels: { app: 'w' }, spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'w' }, 'kubernetes.io/hostname')] } } } });
  assert.deepEqual(filterAll(new InterPodAffinityPlugin(), byHost, snap), { a1: ANTI, a2: '', b1: '', nozone: '' });
  const byZone = makePod('w2', { labels: { app: 'w' }, spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'w' }, 'zone')] } } } });
  assert.deepEqual(filterAll(new InterPodAffinityPlugin(), byZone, snap), { a1: ANTI, a2: ANTI, b1: '', nozone: '' });
});

test("InterPodAffinity: an existing pod's anti-affinity keeps matching pods away from it", () => {
  const loner = makePod('loner', { nodeName: 'b1', spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ noisy: 'true' }, 'zone')] } } } });
  const snap = snapshotOf(nodes(), [loner]);
  assert.deepEqual(filterAll(new InterPodAffinityPlugin(), makePod('n', { labels: { noisy: 'true' } }), snap), { a1: '', a2: '', b1: EXISTING, nozone: '' });
  assert.deepEqual(filterAll(new InterPodAffinityPlugin(), makePod('q', { labels: { noisy: 'false' } }), snap), { a1: '', a2: '', b1: '', nozone: '' });
});

test('InterPodAffinity: namespaceSelector picks namespaces by their labels', () => {
  const listers = { ...emptyListers, namespace: (n: string): Namespace | undefined => (n === 'prod' ? { metadata: { name: 'prod', labels: { env: 'prod' } } } : { metadata: { name: n } }) };
  const snap = snapshotOf(nodes(), [makePod('db', { nodeName: 'b1', namespace: 'prod', labels: { app: 'db' } })], listers);
  const pod = makePod('web', {
    spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, 'zone', { namespaceSelector: { matchLabels: { env: 'prod' } } })] } } },
  });
  assert.deepEqual(filterAll(new InterPodAffinityPlugin(), pod, snap), { a1: AFF, a2: AFF, b1: '', nozone: AFF });
  const all = makePod('web', { spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'db' }, 'zone', { namespaceSelector: {} })] } } } });
  assert.equal(filterAll(new InterPodAffinityPlugin(), all, snap).b1, '');
});

test('InterPodAffinity: preferred terms score domains (affinity up, anti-affinity down), normalized between min and max', () => {
  const snap = snapshotOf(nodes(), [makePod('cache', { nodeName: 'a1', labels: { app: 'cache' } }), makePod('batch', { nodeName: 'b1', labels: { app: 'batch' } })]);
  const pod = makePod('web', {
    spec: {
      affinity: {
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term({ app: 'cache' }, 'zone') }] },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 20, podAffinityTerm: term({ app: 'batch' }, 'kubernetes.io/hostname') }] },
      },
    },
  });
  const plugin = new InterPodAffinityPlugin();
  const state = new CycleState();
  const pi = info(pod);
  const ns = snap.nodes();
  assert.equal(plugin.preScore(state, pi, ns, snap), undefined);
  const scores = ns.map((n) => plugin.score(state, pi, n));
  assert.deepEqual(scores, [50, 50, -20, 0]);
  plugin.normalizeScores(state, pi, scores);
  assert.deepEqual(scores, [100, 100, 0, 28]);
  // nothing to prefer and no pods with affinity: no score
  assert.equal(plugin.preScore(new CycleState(), info(makePod('plain')), ns, snap)?.code, 'Skip');
});

test("InterPodAffinity: existing pods' required affinity attracts matching pods (hard weight)", () => {
  const fan = makePod('fan', { nodeName: 'b1', labels: { app: 'fan' }, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: 'star' }, 'zone')] } } } });
  const snap = snapshotOf(nodes(), [fan]);
  const plugin = new InterPodAffinityPlugin();
  const state = new CycleState();
  const pi = info(makePod('star', { labels: { app: 'star' } }));
  assert.equal(plugin.preScore(state, pi, snap.nodes(), snap), undefined);
  assert.deepEqual(snap.nodes().map((n) => plugin.score(state, pi, n)), [0, 0, 1, 0]);
});
