import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { RestClient } from '../../src/client/rest.js';
import type { Transport, TransportRequest } from '../../src/client/transport.js';
import { CycleState, emptyListers, type Listers } from '../../src/scheduler/framework.js';
import { ANN_SELECTED_NODE, VolumeBindingPlugin } from '../../src/scheduler/plugins/volume-binding.js';
import { filterAll, info, makeNode, makePod, nodeIn, snapshotOf } from './builders.js';

const pvc = (name: string, o: { className?: string; volumeName?: string; size?: string } = {}): PersistentVolumeClaim => ({
  metadata: { name, namespace: 'default', uid: `uid-${name}` },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: o.size ?? '1Gi' } }, storageClassName: o.className, volumeName: o.volumeName },
});
const pv = (name: string, o: { className?: string; node?: string; size?: string; claim?: string } = {}): PersistentVolume => ({
  metadata: { name },
  spec: {
    capacity: { storage: o.size ?? '5Gi' },
    accessModes: ['ReadWriteOnce'],
    storageClassName: o.className ?? '',
    ...(o.claim ? { claimRef: { namespace: 'default', name: o.claim } } : {}),
    ...(o.node
      ? { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [o.node] }] }] } } }
      : {}),
  },
  status: { phase: o.claim ? 'Bound' : 'Available' },
});
const sc = (name: string, provisioner: string, mode = 'WaitForFirstConsumer'): StorageClass => ({ metadata: { name }, provisioner, volumeBindingMode: mode });

function listersOf(claims: PersistentVolumeClaim[], volumes: PersistentVolume[], classes: StorageClass[]): Listers & { claims: Map<string, PersistentVolumeClaim> } {
  const m = new Map(claims.map((c) => [c.metadata!.name!, c]));
  return {
    ...emptyListers,
    claims: m,
    persistentVolumeClaim: (_ns, name) => m.get(name),
    persistentVolume: (name) => volumes.find((v) => v.metadata?.name === name),
    persistentVolumes: () => volumes,
    storageClass: (name) => classes.find((c) => c.metadata?.name === name),
  };
}

const withClaim = (claim: string): Pod => makePod('p', { spec: { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] } });
const nodes = () => [makeNode('n1'), makeNode('n2')];
const clock = { now: () => Date.now(), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms) };

test('VolumeBinding: missing, deleting and unbound immediate claims reject the pod in PreFilter', () => {
  const going = pvc('going', { className: 'fast' });
  const gone = { ...going, metadata: { ...going.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } };
  const l = listersOf([pvc('immediate', { className: 'now' }), gone], [], [sc('now', 'x', 'Immediate'), sc('fast', 'x')]);
  const snap = snapshotOf(nodes(), [], l);
  const plugin = new VolumeBindingPlugin();
  assert.equal(filterAll(plugin, withClaim('nope'), snap).n1, 'prefilter: persistentvolumeclaim "nope" not found');
  assert.equal(filterAll(plugin, withClaim('going'), snap).n1, 'prefilter: persistentvolumeclaim "going" is being deleted');
  assert.equal(filterAll(plugin, withClaim('immediate'), snap).n1, 'prefilter: pod has unbound immediate PersistentVolumeClaims');
  assert.deepEqual(filterAll(plugin, makePod('novolumes'), snap), { n1: '', n2: '' });
});

test('VolumeBinding: a bound claim needs its volume, reachable from the node', () => {
  const l = listersOf([pvc('data', { volumeName: 'local-n2' }), pvc('lost', { volumeName: 'missing' })], [pv('local-n2', { node: 'n2', claim: 'data' })], []);
  const snap = snapshotOf(nodes(), [], l);
  const plugin = new VolumeBindingPlugin();
  assert.deepEqual(filterAll(plugin, withClaim('data'), snap), { n1: 'node(s) had volume node affinity conflict', n2: '' });
  assert.equal(filterAll(plugin, withClaim('lost'), snap).n1, 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)');
});

test('VolumeBinding: WaitForFirstConsumer claims need a free matching volume on the node, or a provisioner', () => {
  const l = listersOf(
    [pvc('local', { className: 'local' }), pvc('big', { className: 'local', size: '10Gi' }), pvc('dyn', { className: 'dynamic' })],
    [pv('pv-n1', { className: 'local', node: 'n1' }), pv('taken', { className: 'local', node: 'n2', claim: 'someone-else' })],
    [sc('local', 'kubernetes.io/no-provisioner'), sc('dynamic', 'example.com/csi')],
  );
  const snap = snapshotOf(nodes(), [], l);
  const plugin = new VolumeBindingPlugin();
  const NONE = "node(s) didn't find available persistent volumes to bind";
  assert.deepEqual(filterAll(plugin, withClaim('local'), snap), { n1: '', n2: NONE });
  assert.deepEqual(filterAll(plugin, withClaim('big'), snap), { n1: NONE, n2: NONE });
  assert.deepEqual(filterAll(plugin, withClaim('dyn'), snap), { n1: '', n2: '' });
});

/** A transport that answers every request with the request body (as a server echoing the object). */
function recordingTransport(log: TransportRequest[]): Transport {
  return {
    request: async (req) => {
      log.push(req);
      return { status: 200, headers: {}, body: Buffer.from(typeof req.body === 'string' ? req.body : '{}') };
    },
    stream: async () => {
      throw new Error('no streams');
    },
    close: () => {},
  };
}

test('VolumeBinding: PreBind annotates a claim for its provisioner with the chosen node, then waits until it is bound', async () => {
  const l = listersOf([pvc('dyn', { className: 'dynamic' })], [], [sc('dynamic', 'example.com/csi')]);
  const snap = snapshotOf(nodes(), [], l);
  const requests: TransportRequest[] = [];
  const plugin = new VolumeBindingPlugin({ client: new RestClient(recordingTransport(requests)), pollMs: 5, bindTimeoutMs: 5000, clock });
  const state = new CycleState();
  const pi = info(withClaim('dyn'));
  assert.equal(plugin.preFilter(state, pi, snap), undefined);
  assert.equal(plugin.reserve(state, pi, nodeIn(snap, 'n2')), undefined);
  const done = plugin.preBind(state, pi, 'n2');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(requests.length, 1);
  assert.equal(requests[0].method, 'PATCH');
  assert.equal(requests[0].path, '/api/v1/namespaces/default/persistentvolumeclaims/dyn');
  assert.deepEqual(JSON.parse(String(requests[0].body)), { metadata: { annotations: { [ANN_SELECTED_NODE]: 'n2' } } });
  // the provisioner and the PV controller do their part
  const bound = { ...pvc('dyn', { className: 'dynamic', volumeName: 'pvc-1' }), status: { phase: 'Bound' } };
  l.claims.set('dyn', bound);
  (l as { persistentVolume: Listers['persistentVolume'] }).persistentVolume = () => pv('pvc-1', { className: 'dynamic', claim: 'dyn' });
  assert.equal(await done, undefined);
});

test('VolumeBinding: PreBind claims a free static volume and times out when nothing completes the binding', async () => {
  const l = listersOf([pvc('local', { className: 'local' })], [pv('pv-n1', { className: 'local', node: 'n1' })], [sc('local', 'kubernetes.io/no-provisioner')]);
  const snap = snapshotOf(nodes(), [], l);
  const requests: TransportRequest[] = [];
  const plugin = new VolumeBindingPlugin({ client: new RestClient(recordingTransport(requests)), pollMs: 5, bindTimeoutMs: 50, clock });
  const state = new CycleState();
  const pi = info(withClaim('local'));
  plugin.preFilter(state, pi, snap);
  assert.equal(plugin.reserve(state, pi, nodeIn(snap, 'n1')), undefined);
  const s = await plugin.preBind(state, pi, 'n1');
  assert.equal(requests[0].method, 'PUT');
  assert.equal(requests[0].path, '/api/v1/persistentvolumes/pv-n1');
  const sent = JSON.parse(String(requests[0].body)) as PersistentVolume;
  assert.equal(sent.spec?.claimRef?.name, 'local');
  assert.equal(sent.spec?.claimRef?.uid, 'uid-local');
  assert.equal(sent.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
  assert.equal(s?.code, 'Error');
  assert.match(s!.reasons[0], /timed out/);
  // while reserved, the volume is not offered to another claim
  const other = listersOf([pvc('local2', { className: 'local' })], l.persistentVolumes(), [sc('local', 'kubernetes.io/no-provisioner')]);
  plugin.preFilter(new CycleState(), info(withClaim('local2')), snapshotOf(nodes(), [], other));
  assert.equal(filterAll(plugin, withClaim('local2'), snapshotOf(nodes(), [], other)).n1, "node(s) didn't find available persistent volumes to bind");
  plugin.unreserve(state);
  assert.equal(filterAll(plugin, withClaim('local2'), snapshotOf(nodes(), [], other)).n1, '');
});
