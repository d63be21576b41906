import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { RESOURCES } from '../../src/client/shared.js';
import type { Transport, TransportRequest } from '../../src/client/transport.js';
import { calculateReplicaSetStatus, replicaSetController, slowStartBatch } from '../../src/controllers/replicaset/controller.js';
import { ControllerExpectations } from '../../src/controllers/replicaset/expectations.js';
import { isPodAvailable, podsToDelete, rankPodsForDeletion } from '../../src/controllers/replicaset/pods.js';
import { eventsAbout, startWorkloadHarness, waitFor, type WorkloadHarness } from '../helpers/fake-kubelet.js';

const NS = 'default';

function rsManifest(name: string, replicas: number, extra: { minReadySeconds?: number; app?: string } = {}): string {
  const app = extra.app ?? name;
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      ...(extra.minReadySeconds ? { minReadySeconds: extra.minReadySeconds } : {}),
      selector: { matchLabels: { app } },
      template: { metadata: { labels: { app, tier: 'web' }, annotations: { note: 'copied' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } },
    },
  });
}

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('replicaset controller (through the API and kubectl)', () => {
  let h: WorkloadHarness;
  /** pods whose name is in here are not made ready by the fake kubelet */
  let holdReady: (p: Pod) => boolean = () => false;
  /** requests matching this get a 500, as a failing API would answer */
  let failing: ((req: TransportRequest) => boolean) | undefined;

  before(async () => {
    h = await startWorkloadHarness([replicaSetController], {
      kubelet: { readyAfterMs: 30, shouldRun: (p) => !holdReady(p) },
      wrapControllerTransport: (t): Transport => ({
        request: async (req) => {
          if (failing?.(req)) {
            const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 500, reason: 'InternalError', message: 'etcdserver: request timed out' });
            return { status: 500, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
          }
          return t.request(req);
        },
        stream: (req) => t.stream(req),
        close: () => t.close(),
      }),
    });
  });
  after(async () => {
    await h?.close();
  });

  const pods = () => h.rest.resource<Pod>(RESOURCES.pods, NS);
  const replicaSets = () => h.rest.resource<ReplicaSet>(RESOURCES.replicasets, NS);
  const podsOf = async (app: string) => (await pods().list({ labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const rsStatus = (name: string, want: (rs: ReplicaSet) => boolean) =>
    waitFor(`replicaset ${name} status`, async () => {
      const rs = await replicaSets().get(name);
      return want(rs) ? rs : undefined;
    });

  it('creates pods from the template with a controller reference and reports the status', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: rsManifest('web', 3) });
    const rs = await rsStatus('web', (r) => r.status?.readyReplicas === 3 && r.status?.availableReplicas === 3);
    assert.equal(rs.status?.replicas, 3);
    assert.equal(rs.status?.fullyLabeledReplicas, 3);
    assert.equal(rs.status?.observedGeneration, rs.metadata?.generation);
    const list = await podsOf('web');
    assert.equal(list.length, 3);
    for (const p of list) {
      assert.match(p.metadata!.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.equal(p.metadata?.generateName, 'web-');
      assert.deepEqual(p.metadata?.labels, { app: 'web', tier: 'web' });
      assert.equal(p.metadata?.annotations?.note, 'copied');
      assert.deepEqual(p.metadata?.ownerReferences, [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata?.uid, controller: true, blockOwnerDeletion: true },
      ]);
      assert.equal(p.spec?.containers[0].image, 'nginx:1.25');
    }
    const created = (await eventsAbout(h.rest, NS, 'web')).filter((e) => e.reason === 'SuccessfulCreate');
    assert.deepEqual(created.map((e) => e.message).sort(), list.map((p) => `Created pod: ${p.metadata!.name}`).sort());
    assert.ok(created.every((e) => e.source?.component === 'replicaset-controller' && e.type === 'Normal'));

    const got = await h.cluster.kubectlOk(['get', 'rs', 'web', '--no-headers']);
    assert.match(got.stdout, /^web\s+3\s+3\s+3\s/);
  });

  it('replaces a deleted pod', async () => {
    const before = await podsOf('web');
    const victim = before[0].metadata!.name!;
    await h.cluster.kubectlOk(['delete', 'pod', victim, '--wait=false']);
    const after = await waitFor('a replacement pod', async () => {
      const now = await podsOf('web');
      return now.length === 3 && !now.some((p) => p.metadata?.name === victim) ? now : undefined;
    });
    assert.equal(after.filter((p) => before.some((b) => b.metadata?.name === p.metadata?.name)).length, 2);
    await rsStatus('web', (r) => r.status?.readyReplicas === 3);
  });

  it('scales up without creating more than asked, and scales down deleting pods that are not ready first', async () => {
    let added = 0;
    const w = await pods().watch({ resourceVersion: (await pods().list()).metadata.resourceVersion, labelSelector: 'app=web' });
    const counting = (async () => {
      for await (const ev of w.events) if (ev.type === 'ADDED') added++;
    })();
    try {
      await h.cluster.kubectlOk(['scale', 'rs', 'web', '--replicas=20']);
      await rsStatus('web', (r) => r.status?.readyReplicas === 20);
      assert.equal((await podsOf('web')).length, 20);
      await h.cluster.kubectlOk(['scale', 'rs', 'web', '--replicas=3']);
      await waitFor('3 pods', async () => ((await podsOf('web')).length === 3 ? true : undefined));
      assert.equal(added, 17, 'exactly the missing pods were created');

      // two more pods that never become ready: scaling back down removes exactly those
      holdReady = () => true;
      await h.cluster.kubectlOk(['scale', 'rs', 'web', '--replicas=5']);
      await waitFor('5 pods', async () => ((await podsOf('web')).length === 5 ? true : undefined));
      await rsStatus('web', (r) => r.status?.replicas === 5);
      const readyNow = new Set((await podsOf('web')).filter(isReady).map((p) => p.metadata!.name!));
      assert.equal(readyNow.size, 3);
      await h.cluster.kubectlOk(['scale', 'rs', 'web', '--replicas=3']);
      const left = await waitFor('3 pods again', async () => {
        const now = await podsOf('web');
        return now.length === 3 ? now : undefined;
      });
      assert.deepEqual(new Set(left.map((p) => p.metadata!.name!)), readyNow);
      // upstream's EventCorrelator spam filter lets one source record 25 events about one object in a burst:
      // 21 creations (3 + 1 replacement + 17) leave room for 4 of the 19 deletions, the rest are dropped
      await waitFor('SuccessfulDelete events', async () => ((await eventsAbout(h.rest, NS, 'web')).filter((e) => e.reason === 'SuccessfulDelete').length >= 4 ? true : undefined));
      const deleted = (await eventsAbout(h.rest, NS, 'web')).filter((e) => e.reason === 'SuccessfulDelete');
      assert.equal(deleted.length, 4, `SuccessfulDelete events: ${deleted.length}`);
      assert.ok(deleted.every((e) => /^Deleted pod: web-[a-z0-9]{5}$/.test(e.message ?? '')));
    } finally {
      holdReady = () => false;
      w.close();
      await counting.catch(() => undefined);
    }
  });

  it('adopts a matching orphan instead of creating a pod', async () => {
    await pods().create({ metadata: { name: 'stray', namespace: NS, labels: { app: 'adopt', tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } });
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: rsManifest('adopt', 1) });
    const rs = await rsStatus('adopt', (r) => r.status?.replicas === 1 && r.status?.readyReplicas === 1);
    const stray = await pods().get('stray');
    assert.deepEqual(stray.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['ReplicaSet', 'adopt', rs.metadata?.uid, true]]);
    assert.deepEqual((await podsOf('adopt')).map((p) => p.metadata?.name), ['stray']);
    assert.equal((await eventsAbout(h.rest, NS, 'adopt')).filter((e) => e.reason === 'SuccessfulCreate').length, 0);
  });

  it('releases a pod whose labels stop matching and replaces it', async () => {
    await h.cluster.kubectlOk(['label', 'pod', 'stray', 'app=gone', '--overwrite']);
    const released = await waitFor('the pod to be released', async () => {
      const p = await pods().get('stray');
      return p.metadata?.ownerReferences?.length ? undefined : p;
    });
    assert.equal(released.metadata?.labels?.app, 'gone');
    const replacement = await waitFor('a replacement', async () => {
      const now = await podsOf('adopt');
      return now.length === 1 && now[0].metadata?.name !== 'stray' ? now[0] : undefined;
    });
    assert.match(replacement.metadata!.name!, /^adopt-/);
  });

  it('reports failed creations as FailedCreate events and a ReplicaFailure condition, then recovers', async () => {
    let posts = 0;
    failing = (req) => {
      if (req.method !== 'POST' || !req.path.startsWith(`/api/v1/namespaces/${NS}/pods`)) return false;
      posts++;
      // the first three creations work, then the API fails
      return posts > 3;
    };
    try {
      await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: rsManifest('quota', 10) });
      const failed = await rsStatus('quota', (r) => (r.status?.conditions?.some((c) => c.type === 'ReplicaFailure') ?? false) && r.status?.replicas === 3);
      const cond = failed.status!.conditions!.find((c) => c.type === 'ReplicaFailure')!;
      assert.equal(cond.status, 'True');
      assert.equal(cond.reason, 'FailedCreate');
      assert.equal(cond.message, 'etcdserver: request timed out');
      // slow start: batches of 1 and 2 succeeded, the batch of 4 failed and nothing more was tried
      assert.equal(failed.status?.replicas ?? 0, 3);
      assert.ok(posts >= 7);
      const events = await eventsAbout(h.rest, NS, 'quota');
      assert.ok(events.some((e) => e.reason === 'FailedCreate' && e.type === 'Warning' && e.message === 'Error creating: etcdserver: request timed out'));
    } finally {
      failing = undefined;
    }
    const healed = await rsStatus('quota', (r) => r.status?.replicas === 10 && !r.status?.conditions?.length);
    assert.equal(healed.status?.conditions, undefined);
  });

  it('counts pods available only after minReadySeconds', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: rsManifest('slow', 2, { minReadySeconds: 2 }) });
    const ready = await rsStatus('slow', (r) => r.status?.readyReplicas === 2);
    assert.equal(ready.status?.availableReplicas ?? 0, 0);
    const t0 = Date.now();
    await rsStatus('slow', (r) => r.status?.availableReplicas === 2);
    assert.ok(Date.now() - t0 < 5000);
  });

  it('leaves pods owned by another controller alone', async () => {
    await pods().create({
      metadata: {
        name: 'owned-elsewhere',
        namespace: NS,
        labels: { app: 'slow', tier: 'web' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'ghost', uid: '0b5c4a4e-0000-4000-8000-000000000000', controller: true }],
      },
      spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] },
    });
    await new Promise((r) => setTimeout(r, 300));
    const p = await pods().get('owned-elsewhere');
    assert.equal(p.metadata?.ownerReferences?.[0].name, 'ghost');
    assert.equal((await podsOf('slow')).filter((x) => x.metadata?.ownerReferences?.[0].name === 'slow').length, 2);
  });
});

// ---- pure parts ----

function pod(name: string, o: { node?: string; phase?: string; ready?: boolean; readySince?: string; created?: string; restarts?: number; cost?: string } = {}): Pod {
  return {
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
      ...(o.cost !== undefined ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': o.cost } } : {}),
    },
    spec: { containers: [{ name: 'c' }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: o.readySince ?? '2024-01-01T00:00:00Z' }],
      containerStatuses: [{ name: 'c', image: 'x', imageID: '', ready: o.ready !== false, restartCount: o.restarts ?? 0 }],
    },
  };
}

describe('which pods go first when scaling down', () => {
  const now = Date.parse('2024-01-02T00:00:00Z');
  const names = (ps: Pod[]) => ps.map((p) => p.metadata!.name);

  it('ranks unscheduled < scheduled, pending < unknown < running, not ready < ready', () => {
    const ps = [pod('running', { node: 'n1' }), pod('unknown', { node: 'n1', phase: 'Unknown' }), pod('pending', { node: 'n1', phase: 'Pending' }), pod('unready', { node: 'n1', ready: false }), pod('unscheduled')];
    assert.deepEqual(names(rankPodsForDeletion(ps, [], now)), ['unscheduled', 'pending', 'unknown', 'unready', 'running']);
  });

  it('then lower deletion cost, doubled-up nodes, shorter readiness, more restarts, newer pods', () => {
    const cost = [pod('expensive', { node: 'n1', cost: '100' }), pod('cheap', { node: 'n1', cost: '-5' })];
    assert.deepEqual(names(rankPodsForDeletion(cost, [], now)), ['cheap', 'expensive']);

    const crowded = [pod('alone', { node: 'n1' }), pod('crowded', { node: 'n2' })];
    const related = [pod('crowded'), pod('x', { node: 'n2' }), pod('y', { node: 'n2' }), pod('alone2', { node: 'n1' })];
    related[0].spec!.nodeName = 'n2';
    assert.deepEqual(names(rankPodsForDeletion(crowded, related, now)), ['crowded', 'alone']);

    // ready for an hour vs. for a day: the recently ready one goes first (log-scale buckets differ)
    const readiness = [pod('old-ready', { node: 'n1', readySince: '2024-01-01T00:00:00Z' }), pod('new-ready', { node: 'n1', readySince: '2024-01-01T23:00:00Z' })];
    assert.deepEqual(names(rankPodsForDeletion(readiness, [], now)), ['new-ready', 'old-ready']);

    const restarts = [pod('stable', { node: 'n1' }), pod('crashy', { node: 'n1', restarts: 7 })];
    assert.deepEqual(names(rankPodsForDeletion(restarts, [], now)), ['crashy', 'stable']);

    const age = [pod('older', { node: 'n1', created: '2023-06-01T00:00:00Z' }), pod('newer', { node: 'n1', created: '2024-01-01T20:00:00Z' })];
    assert.deepEqual(names(rankPodsForDeletion(age, [], now)), ['newer', 'older']);
  });

  it('takes all pods without ranking when all go, and the first ones otherwise', () => {
    const ps = [pod('a', { node: 'n' }), pod('b')];
    assert.deepEqual(names(podsToDelete(ps, [], 2, now)), ['a', 'b']);
    assert.deepEqual(names(podsToDelete(ps, [], 1, now)), ['b']);
  });

  it('counts availability from the Ready transition plus minReadySeconds', () => {
    const p = pod('p', { readySince: '2024-01-01T23:59:50Z' });
    assert.equal(isPodAvailable(p, 5, now), true);
    assert.equal(isPodAvailable(p, 10, now), false);
    assert.equal(isPodAvailable(p, 0, now), true);
    assert.equal(isPodAvailable(pod('q', { ready: false }), 0, now), false);
  });
});

describe('slowStartBatch', () => {
  it('calls in batches of 1, 2, 4 … and stops after the first failing batch', async () => {
    let calls = 0;
    const r = await slowStartBatch(20, 1, async () => {
      calls++;
      if (calls > 4) throw new Error('quota');
    });
    // 1 + 2 succeed, the batch of 4 has one success (call 4) and three failures
    assert.equal(calls, 7);
    assert.equal(r.successes, 4);
    assert.equal((r.error as Error).message, 'quota');
    let n = 0;
    assert.deepEqual(await slowStartBatch(10, 1, async () => void n++), { successes: 10 });
    assert.equal(n, 10);
    assert.deepEqual(await slowStartBatch(0, 1, async () => void n++), { successes: 0 });
  });
});

describe('ControllerExpectations', () => {
  it('holds a key back until the expected creations and deletions were seen, or they expired', () => {
    let t = 0;
    const e = new ControllerExpectations(() => t);
    assert.equal(e.satisfied('ns/rs'), true);
    e.expectCreations('ns/rs', 2);
    assert.equal(e.satisfied('ns/rs'), false);
    e.creationObserved('ns/rs');
    assert.equal(e.satisfied('ns/rs'), false);
    e.creationObserved('ns/rs');
    assert.equal(e.satisfied('ns/rs'), true);

    e.expectDeletions('ns/rs', ['ns/a', 'ns/b']);
    e.deletionObserved('ns/rs', 'ns/a');
    e.deletionObserved('ns/rs', 'ns/a');
    e.deletionObserved('ns/rs', 'ns/unrelated');
    assert.deepEqual(e.pending('ns/rs'), { add: 0, del: 1 });
    assert.equal(e.satisfied('ns/rs'), false);
    t += 5 * 60 * 1000 + 1;
    assert.equal(e.satisfied('ns/rs'), true, 'expired');
    e.delete('ns/rs');
    assert.equal(e.pending('ns/rs'), undefined);
  });
});

describe('calculateReplicaSetStatus', () => {
  it('counts fully labeled, ready and available pods, and sets and clears ReplicaFailure', () => {
    const rs: ReplicaSet = {
      metadata: { name: 'r', generation: 2 },
      spec: { replicas: 3, minReadySeconds: 30, selector: { matchLabels: { app: 'r' } }, template: { metadata: { labels: { app: 'r', v: '1' } } } },
      status: { replicas: 0 },
    };
    const now = Date.parse('2024-01-02T00:00:00Z');
    const a = pod('a', { readySince: '2024-01-01T00:00:00Z' });
    a.metadata!.labels = { app: 'r', v: '1' };
    const b = pod('b', { readySince: '2024-01-01T23:59:50Z' });
    b.metadata!.labels = { app: 'r' };
    const s = calculateReplicaSetStatus(rs, [a, b], new Error('boom'), now);
    assert.equal(s.replicas, 2);
    assert.equal(s.fullyLabeledReplicas, 1);
    assert.equal(s.readyReplicas, 2);
    assert.equal(s.availableReplicas, 1);
    assert.deepEqual(
      s.conditions?.map((c) => [c.type, c.status, c.reason, c.message]),
      [['ReplicaFailure', 'True', 'FailedCreate', 'boom']],
    );
    const healed = calculateReplicaSetStatus({ ...rs, status: s }, [a, b], undefined, now);
    assert.equal(healed.conditions, undefined);
    const empty = calculateReplicaSetStatus(rs, [], undefined, now);
    assert.deepEqual(empty, { replicas: 0 });
  });
});
