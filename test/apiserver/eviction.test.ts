// pods/eviction through the real API: budgets that allow and refuse, dry run, missing pods, the pods
// that need no budget, and what an eviction leaves on the pod and the budget.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Status } from 'kubernetes-types/meta/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { ClientStatusError, RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const NS = 'default';
let cluster: TestCluster;
let transport: Transport;
let rest: RestClient;

before(async () => {
  cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
  transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
  rest = new RestClient(transport);
});
after(async () => {
  transport?.close();
  await cluster?.close();
});

const pods = () => rest.resource<Pod>(RESOURCES.pods, NS);
const pdbs = () => rest.resource<PodDisruptionBudget>(RESOURCES.poddisruptionbudgets, NS);

interface PodOpts {
  labels?: Record<string, string>;
  nodeName?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  ready?: boolean;
}

async function makePod(name: string, o: PodOpts = {}): Promise<Pod> {
  const pod = await pods().create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: o.labels ?? { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'nginx' }], terminationGracePeriodSeconds: 30, ...(o.nodeName ? { nodeName: o.nodeName } : {}) },
  });
  const phase = o.phase ?? 'Running';
  if (phase === 'Pending') return pod;
  const ready = o.ready ?? phase === 'Running';
  return pods().updateStatus({ ...pod, status: { ...pod.status, phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
}

/** A budget whose status says what a disruption controller would have written. */
async function makePDB(name: string, status: { allowed: number; current?: number; desired?: number }, extra: { selector?: Record<string, string>; unhealthy?: string } = {}) {
  const pdb = await pdbs().create({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: NS },
    spec: { minAvailable: 1, selector: { matchLabels: extra.selector ?? { app: name } }, ...(extra.unhealthy ? { unhealthyPodEvictionPolicy: extra.unhealthy } : {}) },
  });
  return pdbs().updateStatus({
    ...pdb,
    status: { disruptionsAllowed: status.allowed, currentHealthy: status.current ?? 2, desiredHealthy: status.desired ?? 1, expectedPods: 2, observedGeneration: pdb.metadata?.generation },
  });
}

function evict(name: string, body: Record<string, unknown> = {}, query = ''): Promise<Status> {
  return rest.call<Status>('POST', `/api/v1/namespaces/${NS}/pods/${name}/eviction${query}`, {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name, namespace: NS },
    ...body,
  });
}

async function evictFails(name: string, body: Record<string, unknown> = {}, query = ''): Promise<Status> {
  try {
    await evict(name, body, query);
  } catch (e) {
    assert.ok(e instanceof ClientStatusError, String(e));
    return e.status;
  }
  assert.fail(`evicting ${name} succeeded`);
}

const gone = async (name: string) => (await pods().list()).items.every((p) => p.metadata?.name !== name);

describe('pods/eviction', () => {
  it('deletes a pod no budget covers, answering 201 Success', async () => {
    await makePod('lonely', { labels: { app: 'lonely' } });
    const st = await evict('lonely');
    assert.equal(st.kind, 'Status');
    assert.equal(st.status, 'Success');
    assert.ok(await gone('lonely'));
  });

  it('takes one disruption from the budget, records the pod and marks it DisruptionTarget', async () => {
    await makePDB('allow', { allowed: 1 });
    await makePod('allow-1', { labels: { app: 'allow' }, nodeName: 'n1' });
    const st = await evict('allow-1', { deleteOptions: { gracePeriodSeconds: 20 } });
    assert.equal(st.status, 'Success');
    const pdb = await pdbs().get('allow');
    assert.equal(pdb.status?.disruptionsAllowed, 0);
    assert.ok(pdb.status?.disruptedPods?.['allow-1'], JSON.stringify(pdb.status));
    const cond = pdb.status?.conditions?.find((c) => c.type === 'DisruptionAllowed');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'InsufficientPods');
    // bound to a node: the pod is terminating with the eviction's grace period
    const pod = await pods().get('allow-1');
    assert.ok(pod.metadata?.deletionTimestamp);
    assert.equal(pod.metadata?.deletionGracePeriodSeconds, 20);
    const dt = pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
    assert.equal(dt?.status, 'True');
    assert.equal(dt?.reason, 'EvictionByEvictionAPI');
    assert.equal(dt?.message, 'Eviction API: evicting');
  });

  it('answers 429 with a DisruptionBudget cause when the budget allows no disruption', async () => {
    await makePDB('full', { allowed: 0, current: 1, desired: 1 });
    await makePod('full-1', { labels: { app: 'full' } });
    const st = await evictFails('full-1');
    assert.equal(st.code, 429);
    assert.equal(st.reason, 'TooManyRequests');
    assert.equal(st.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.deepEqual(st.details?.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget full needs 1 healthy pods and has 1 currently' }]);
    const pod = await pods().get('full-1');
    assert.equal(pod.metadata?.deletionTimestamp, undefined);
    assert.equal(pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget'), undefined);
  });

  it('answers 429 while the budget is newer than its status', async () => {
    const pdb = await makePDB('stale', { allowed: 3 });
    await pdbs().update({ ...pdb, spec: { ...pdb.spec, minAvailable: 0 } });
    await makePod('stale-1', { labels: { app: 'stale' } });
    const st = await evictFails('stale-1');
    assert.equal(st.code, 429);
    assert.equal(st.details?.causes?.[0]?.message, 'The disruption budget stale is still being processed by the server.');
    assert.equal(st.details?.retryAfterSeconds, 10);
  });

  it('changes nothing on a dry run, from the query or from deleteOptions', async () => {
    await makePDB('dry', { allowed: 1 });
    await makePod('dry-1', { labels: { app: 'dry' }, nodeName: 'n1' });
    const before = await pdbs().get('dry');
    assert.equal((await evict('dry-1', {}, '?dryRun=All')).status, 'Success');
    assert.equal((await evict('dry-1', { deleteOptions: { dryRun: ['All'] } })).status, 'Success');
    const pod = await pods().get('dry-1');
    assert.equal(pod.metadata?.deletionTimestamp, undefined);
    assert.equal(pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget'), undefined);
    assert.equal((await pdbs().get('dry')).metadata?.resourceVersion, before.metadata?.resourceVersion);
    // a dry run is still refused by a budget that allows nothing
    await makePDB('dryfull', { allowed: 0 });
    await makePod('dryfull-1', { labels: { app: 'dryfull' } });
    assert.equal((await evictFails('dryfull-1', {}, '?dryRun=All')).code, 429);
  });

  it('answers 404 for a missing pod', async () => {
    const st = await evictFails('nope');
    assert.equal(st.code, 404);
    assert.equal(st.reason, 'NotFound');
    assert.equal(st.message, 'pods "nope" not found');
  });

  it('deletes finished and pending pods without asking the budget', async () => {
    await makePDB('done', { allowed: 0 });
    await makePod('done-ok', { labels: { app: 'done' }, nodeName: 'n1', phase: 'Succeeded' });
    await makePod('done-failed', { labels: { app: 'done' }, nodeName: 'n1', phase: 'Failed' });
    await makePod('done-pending', { labels: { app: 'done' }, phase: 'Pending' });
    for (const n of ['done-ok', 'done-failed', 'done-pending']) {
      assert.equal((await evict(n)).status, 'Success');
      assert.ok(await gone(n), n);
    }
    assert.equal((await pdbs().get('done')).status?.disruptionsAllowed, 0);
  });

  it('deletes an unready pod while the budget is healthy, without taking a disruption', async () => {
    await makePDB('unready', { allowed: 0, current: 2, desired: 2 });
    await makePod('unready-1', { labels: { app: 'unready' }, ready: false });
    assert.equal((await evict('unready-1')).status, 'Success');
    assert.ok(await gone('unready-1'));
    // AlwaysAllow lets an unready pod go even when the budget is short
    await makePDB('always', { allowed: 0, current: 0, desired: 2 }, { unhealthy: 'AlwaysAllow' });
    await makePod('always-1', { labels: { app: 'always' }, ready: false });
    assert.equal((await evict('always-1')).status, 'Success');
    assert.ok(await gone('always-1'));
  });

  it('refuses a pod covered by two budgets with a 500 Status', async () => {
    await makePDB('two-a', { allowed: 5 }, { selector: { app: 'two' } });
    await makePDB('two-b', { allowed: 5 }, { selector: { app: 'two' } });
    await makePod('two-1', { labels: { app: 'two' } });
    const st = await evict('two-1');
    assert.equal(st.status, 'Failure');
    assert.equal(st.code, 500);
    assert.equal(st.message, 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    assert.ok(!(await gone('two-1')));
  });

  it('accepts a policy/v1beta1 Eviction, and checks the name', async () => {
    await makePod('beta-1', { labels: { app: 'beta' } });
    const bad = await evictFails('beta-1', { metadata: { name: 'other' } });
    assert.equal(bad.code, 400);
    assert.equal(bad.message, 'name in URL does not match name in Eviction object');
    assert.equal((await evict('beta-1', { apiVersion: 'policy/v1beta1' })).status, 'Success');
    assert.ok(await gone('beta-1'));
  });

  it('is listed in discovery as a policy/v1 Eviction subresource', async () => {
    const list = await rest.call<{ resources: { name: string; kind: string; group?: string; version?: string; verbs: string[] }[] }>('GET', '/api/v1');
    const ev = list.resources.find((r) => r.name === 'pods/eviction');
    assert.deepEqual({ kind: ev?.kind, group: ev?.group, version: ev?.version, verbs: ev?.verbs }, { kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] });
  });
});
