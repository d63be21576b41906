import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { RESOURCES } from '../../src/client/shared.js';
import { deploymentController } from '../../src/controllers/deployment/controller.js';
import {
  buildDisruptedPodMap,
  countHealthyPods,
  DELETION_TIMEOUT_MS,
  disruptionController,
  scaledValue,
} from '../../src/controllers/disruption/controller.js';
import { replicaSetController } from '../../src/controllers/replicaset/controller.js';
import { eventsAbout, startWorkloadHarness, waitFor, type WorkloadHarness } from '../helpers/fake-kubelet.js';

const NS = 'default';

const pod = (name: string, o: { ready?: boolean; deleting?: boolean } = {}): Pod => ({
  metadata: { name, namespace: NS, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});

describe('disruption controller: pure parts', () => {
  it('scales ints and percentages, rounding up', () => {
    assert.equal(scaledValue(2, 10), 2);
    assert.equal(scaledValue('50%', 5), 3);
    assert.equal(scaledValue('30%', 4), 2);
    assert.equal(scaledValue('0%', 4), 0);
    assert.throws(() => scaledValue('3', 4), /not a percentage/);
  });

  it('counts ready pods that are neither being deleted nor granted an eviction', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    const pods = [pod('a'), pod('b', { ready: false }), pod('c', { deleting: true }), pod('d'), pod('e')];
    const disrupted = { d: new Date(now - 1000).toISOString(), e: new Date(now - DELETION_TIMEOUT_MS - 1000).toISOString() };
    // e's eviction expired: it counts again
    assert.equal(countHealthyPods(pods, disrupted, now), 2);
  });

  it('keeps pending evictions, drops expired and completed ones, and says when to look again', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    const recent = new Date(now - 30_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const old = new Date(now - DELETION_TIMEOUT_MS - 1000).toISOString();
    const pdb: PodDisruptionBudget = {
      metadata: { name: 'p', namespace: NS },
      status: { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, disruptionsAllowed: 0, disruptedPods: { a: recent, b: old, c: recent, gone: recent } },
    };
    const out = buildDisruptedPodMap([pod('a'), pod('b'), pod('c', { deleting: true })], pdb, now);
    assert.deepEqual(out.disrupted, { a: recent });
    assert.deepEqual(
      out.notDeleted.map((p) => p.metadata?.name),
      ['b'],
    );
    assert.equal(out.recheckAt, Date.parse(recent) + DELETION_TIMEOUT_MS);
  });
});

describe('disruption controller (through the API)', () => {
  let h: WorkloadHarness;
  /** pods the fake kubelet leaves unready */
  const held = new Set<string>();

  before(async () => {
    h = await startWorkloadHarness([disruptionController, replicaSetController, deploymentController], { kubelet: { readyAfterMs: 20, shouldRun: (p) => !held.has(p.metadata?.name ?? '') } });
    await h.cluster.kubectlOk(['create', 'deployment', 'web', '--image=nginx', '--replicas=4']);
    await waitFor('4 ready pods', async () => {
      const list = await h.rest.resource<Pod>(RESOURCES.pods, NS).list({ labelSelector: 'app=web' });
      return list.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 4 ? true : undefined;
    });
  });
  after(async () => {
    await h?.close();
  });

  const pdbs = () => h.rest.resource<PodDisruptionBudget>(RESOURCES.poddisruptionbudgets, NS);

  async function statusOf(name: string, spec: Record<string, unknown>, selector: Record<string, string> = { app: 'web' }) {
    await pdbs().create({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace: NS }, spec: { ...spec, selector: { matchLabels: selector } } });
    const pdb = await waitFor(`status of ${name}`, async () => {
      const p = await pdbs().get(name);
      return p.status?.observedGeneration === p.metadata?.generation && p.status?.conditions?.length ? p : undefined;
    });
    const st = pdb.status!;
    const cond = st.conditions!.find((c) => c.type === 'DisruptionAllowed')!;
    return { expected: st.expectedPods, current: st.currentHealthy, desired: st.desiredHealthy, allowed: st.disruptionsAllowed, reason: cond.reason, cond: cond.status, message: cond.message };
  }

  it('minAvailable as an int counts the matching pods', async () => {
    assert.deepEqual(await statusOf('min-int', { minAvailable: 3 }), { expected: 4, current: 4, desired: 3, allowed: 1, reason: 'SufficientPods', cond: 'True', message: '' });
  });

  it('minAvailable as a percentage scales the Deployment', async () => {
    assert.deepEqual(await statusOf('min-pct', { minAvailable: '50%' }), { expected: 4, current: 4, desired: 2, allowed: 2, reason: 'SufficientPods', cond: 'True', message: '' });
  });

  it('maxUnavailable as an int and as a percentage', async () => {
    assert.deepEqual(await statusOf('max-int', { maxUnavailable: 1 }), { expected: 4, current: 4, desired: 3, allowed: 1, reason: 'SufficientPods', cond: 'True', message: '' });
    assert.deepEqual(await statusOf('max-pct', { maxUnavailable: '30%' }), { expected: 4, current: 4, desired: 2, allowed: 2, reason: 'SufficientPods', cond: 'True', message: '' });
    assert.deepEqual(await statusOf('max-zero', { maxUnavailable: 0 }), { expected: 4, current: 4, desired: 4, allowed: 0, reason: 'InsufficientPods', cond: 'False', message: '' });
  });

  it('a budget that matches no pods allows nothing', async () => {
    assert.deepEqual(await statusOf('none', { minAvailable: 0 }, { app: 'nothing' }), { expected: 0, current: 0, desired: 0, allowed: 0, reason: 'InsufficientPods', cond: 'False', message: '' });
    const events = await eventsAbout(h.rest, NS, 'none');
    assert.ok(events.some((e) => e.reason === 'NoPods' && e.message === 'No matching pods found'), JSON.stringify(events));
  });

  it('follows the pods: a pod that stops being ready lowers currentHealthy', async () => {
    const pods = await h.rest.resource<Pod>(RESOURCES.pods, NS).list({ labelSelector: 'app=web' });
    const victim = pods.items[0];
    const setReady = (status: string) =>
      h.rest.resource<Pod>(RESOURCES.pods, NS).patch(victim.metadata!.name!, 'merge', { status: { conditions: [{ type: 'Ready', status }] } }, { subresource: 'status' });
    held.add(victim.metadata!.name!);
    await setReady('False');
    const pdb = await waitFor('min-int at 3 healthy', async () => {
      const p = await pdbs().get('min-int');
      return p.status?.currentHealthy === 3 ? p : undefined;
    });
    assert.equal(pdb.status?.disruptionsAllowed, 0);
    assert.equal(pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed')?.reason, 'InsufficientPods');
    held.delete(victim.metadata!.name!);
    await setReady('True');
    await waitFor('min-int back at 4', async () => ((await pdbs().get('min-int')).status?.currentHealthy === 4 ? true : undefined));
  });

  it('fails safe when a pod controller cannot be found', async () => {
    await h.rest.resource<Pod>(RESOURCES.pods, NS).create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'orphan', namespace: NS, labels: { app: 'rc' }, ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'rc', uid: 'u-1', controller: true }] },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    await pdbs().create({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'rc', namespace: NS }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'rc' } } } });
    const pdb = await waitFor('SyncFailed', async () => {
      const p = await pdbs().get('rc');
      return p.status?.conditions?.length ? p : undefined;
    });
    const c = pdb.status!.conditions![0];
    const st = { allowed: pdb.status?.disruptionsAllowed, reason: c.reason, cond: c.status, message: c.message };
    assert.equal(st.allowed, 0);
    assert.equal(st.reason, 'SyncFailed');
    assert.equal(st.cond, 'False');
    // ReplicationControllers are served (with a scale subresource), but this one does not exist
    assert.match(String(st.message), /found no controllers for pod "orphan"/);
  });
});
