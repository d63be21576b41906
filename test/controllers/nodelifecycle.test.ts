// Node lifecycle controller through the real API on a fake clock: nodes whose heartbeats stop go
// Unknown with taints and their pods NotReady, Ready=False gives not-ready taints, taints go when
// heartbeats resume; the taint manager deletes pods at once or after tolerationSeconds, and cancels;
// no NoExecute taints when no node is Ready.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Event, Node, NodeCondition, Pod, Toleration } from 'kubernetes-types/core/v1.js';
import { microTimeRFC3339, nowRFC3339 } from '../../src/api/names.js';
import { isNotFound, type RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { nodeLifecycleControllerWith } from '../../src/controllers/nodelifecycle/index.js';
import { matchingTolerations, minTolerationMs, swapTaints } from '../../src/controllers/nodelifecycle/taints.js';
import { startControllerHarness, waitFor, type ControllerHarness } from '../helpers/fake-kubelet.js';
import { FakeClock } from './support-clock.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const GRACE_S = 40;
const taintKeys = (n: Node) => (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
const ready = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready');

describe('taint helpers', () => {
  it('matches tolerations and finds the shortest tolerationSeconds', () => {
    const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }];
    const tol = (t: Partial<Toleration>): Toleration => ({ operator: 'Exists', effect: 'NoExecute', ...t });
    assert.equal(matchingTolerations(taints, []).allTolerated, false);
    assert.equal(matchingTolerations(taints, [tol({ key: 'other' })]).allTolerated, false);
    const m = matchingTolerations(taints, [tol({ key: 'node.kubernetes.io/unreachable', tolerationSeconds: 30 }), tol({ tolerationSeconds: 10 })]);
    assert.equal(m.allTolerated, true);
    assert.equal(minTolerationMs(m.used), 30_000);
    assert.equal(minTolerationMs(matchingTolerations(taints, [{ operator: 'Exists' }]).used), -1);
    assert.equal(minTolerationMs(matchingTolerations(taints, [tol({ tolerationSeconds: 0 })]).used), 0);
    assert.equal(matchingTolerations(taints, [{ key: 'node.kubernetes.io/unreachable', operator: 'Equal', value: 'x', effect: 'NoExecute' }]).allTolerated, false);
  });

  it('swaps taints, keeping unrelated ones and stamping new ones', () => {
    const cur = [{ key: 'user', value: 'v', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: 'old' }];
    const isReady = (t: { key: string }) => t.key.startsWith('node.kubernetes.io/');
    const next = swapTaints(cur, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }], isReady, 'now');
    assert.deepEqual(next, [cur[0], { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: 'now' }]);
    assert.equal(swapTaints(cur, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }], isReady, 'now'), undefined, 'nothing to change');
  });
});

describe('node lifecycle controller on a fake clock', () => {
  let h: ControllerHarness | undefined;
  let rest: RestClient;
  const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
  const nodes = () => rest.resource<Node>(RESOURCES.nodes);
  const leases = () => rest.resource<Lease>(RESOURCES.leases, 'kube-node-lease');
  const pods = () => rest.resource<Pod>(RESOURCES.pods, 'default');
  const events = () => rest.resource<Event>(RESOURCES.events, 'default');
  /** nodes whose "kubelet" renews its Lease when heartbeat() runs */
  const alive = new Set<string>();

  function conditions(status: string, reason = 'KubeletReady'): NodeCondition[] {
    const t = nowRFC3339(clock.now());
    return [
      { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: t, lastTransitionTime: t },
      { type: 'Ready', status, reason, message: 'kubelet says so', lastHeartbeatTime: t, lastTransitionTime: t },
    ];
  }

  async function postStatus(name: string, status = 'True'): Promise<void> {
    await nodes().patch(name, 'merge', { status: { conditions: conditions(status) } }, { subresource: 'status' });
  }

  async function registerNode(name: string): Promise<void> {
    await nodes().create({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
    await postStatus(name);
    await leases().create({ metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTimeRFC3339(clock.now()) } });
    alive.add(name);
  }

  /** Renews the Leases of the live nodes. */
  async function heartbeat(): Promise<void> {
    for (const name of alive) await leases().patch(name, 'merge', { spec: { renewTime: microTimeRFC3339(clock.now()) } });
  }

  /** Moves the clock `ms` forward in 10 s heartbeat periods. */
  async function drive(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 10_000) {
      clock.advance(Math.min(10_000, ms - t));
      await heartbeat();
      await pause(30);
    }
  }

  async function runningPod(name: string, node: string, tolerations?: Toleration[]): Promise<Pod> {
    const p = await pods().create({ metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }], ...(tolerations ? { tolerations } : {}) } });
    const t = nowRFC3339(clock.now());
    return pods().updateStatus({ ...p, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }] } });
  }

  const nodeWhere = (name: string, ok: (n: Node) => boolean) =>
    waitFor(`node ${name}`, async () => {
      const n = await nodes().get(name);
      return ok(n) ? n : undefined;
    });
  const gone = (name: string) =>
    waitFor(`pod ${name} to be deleted`, async () => {
      try {
        const p = await pods().get(name);
        return p.metadata?.deletionTimestamp ? p : undefined;
      } catch (e) {
        if (isNotFound(e)) return {} as Pod;
        throw e;
      }
    });
  const eventsFor = async (name: string, reason: string) => (await events().list()).items.filter((e) => e.involvedObject.name === name && e.reason === reason);

  before(async () => {
    h = await startControllerHarness([nodeLifecycleControllerWith({ nodeMonitorGracePeriodSeconds: GRACE_S })], {
      controllerUser: 'system:serviceaccount:kube-system:node-controller',
      clock,
      async beforeStart(parts) {
        // pods here carry exactly the tolerations each test gives them (no DefaultTolerationSeconds defaults)
        const admission = parts.cluster.api.registry.admission;
        const i = admission.findIndex((p) => p.name === 'DefaultTolerationSeconds');
        if (i >= 0) admission.splice(i, 1);
        rest = parts.rest;
        await registerNode('steady');
      },
    });
  });
  after(() => h?.close());

  it('marks a silent node Unknown with unreachable taints and its pods not ready; heartbeats remove the taints', async () => {
    await registerNode('quiet');
    await runningPod('on-quiet', 'quiet', [{ operator: 'Exists' }]);
    await drive(60_000);
    let n = await nodes().get('quiet');
    assert.equal(ready(n)?.status, 'True', 'heartbeating node stays Ready');
    assert.deepEqual(taintKeys(n), []);

    alive.delete('quiet');
    await drive(30_000);
    assert.equal(ready(await nodes().get('quiet'))?.status, 'True', 'not Unknown before the grace period');
    await drive(20_000);
    n = await nodeWhere('quiet', (x) => ready(x)?.status === 'Unknown' && (x.spec?.taints?.length ?? 0) === 2);
    assert.equal(ready(n)?.reason, 'NodeStatusUnknown');
    assert.equal(ready(n)?.message, 'Kubelet stopped posting node status.');
    assert.equal(n.status?.conditions?.find((c) => c.type === 'MemoryPressure')?.status, 'Unknown');
    assert.deepEqual(taintKeys(n), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    assert.ok(n.spec?.taints?.every((t) => t.timeAdded));
    const pod = await waitFor('pod not ready', async () => {
      const p = await pods().get('on-quiet');
      return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False' ? p : undefined;
    });
    assert.equal(pod.metadata?.deletionTimestamp, undefined, 'a pod tolerating everything stays');
    await waitFor('NodeNotReady event', async () => {
      const evs = await eventsFor('quiet', 'NodeNotReady');
      return evs.length ? evs : undefined;
    });
    assert.equal((await eventsFor('quiet', 'NodeNotReady'))[0].message, 'Node quiet status is now: NodeNotReady');
    assert.equal((await eventsFor('on-quiet', 'NodeNotReady'))[0]?.type, 'Warning');
    assert.deepEqual(taintKeys(await nodes().get('steady')), [], 'the heartbeating node is untouched');

    // the kubelet comes back
    alive.add('quiet');
    await postStatus('quiet');
    await drive(10_000);
    n = await nodeWhere('quiet', (x) => ready(x)?.status === 'True' && !x.spec?.taints?.length);
    assert.equal(n.spec?.taints, undefined);
  });

  it('taints a node whose kubelet reports Ready=False with not-ready taints', async () => {
    await registerNode('sick');
    await postStatus('sick', 'False');
    const n = await nodeWhere('sick', (x) => (x.spec?.taints?.length ?? 0) === 2);
    assert.deepEqual(taintKeys(n), ['node.kubernetes.io/not-ready:NoExecute', 'node.kubernetes.io/not-ready:NoSchedule']);
    await postStatus('sick', 'True');
    await nodeWhere('sick', (x) => !x.spec?.taints?.length);
  });

  it('deletes pods that do not tolerate a NoExecute taint at once, and tolerating ones after tolerationSeconds', async () => {
    await registerNode('tainted');
    const thirty: Toleration[] = [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }];
    await runningPod('intolerant', 'tainted');
    await runningPod('patient', 'tainted', thirty);
    await runningPod('forever', 'tainted', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]);
    await runningPod('cancelled', 'tainted', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }]);
    alive.delete('tainted');
    await drive(50_000);
    await nodeWhere('tainted', (x) => taintKeys(x).includes('node.kubernetes.io/unreachable:NoExecute'));
    const evicted = await gone('intolerant');
    const cond = evicted.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
    assert.equal(cond?.status, 'True');
    assert.equal(cond?.reason, 'DeletionByTaintManager');
    assert.equal(cond?.message, 'Taint manager: deleting due to NoExecute taint');
    const ev = await waitFor('eviction event', async () => (await eventsFor('intolerant', 'TaintManagerEviction'))[0]);
    assert.equal(ev.message, 'Marking for deletion Pod default/intolerant');

    await pause(200);
    assert.equal((await pods().get('patient')).metadata?.deletionTimestamp, undefined, 'not before tolerationSeconds');
    clock.advance(20_000);
    await pause(200);
    assert.equal((await pods().get('patient')).metadata?.deletionTimestamp, undefined, 'not before tolerationSeconds');
    clock.advance(11_000);
    await gone('patient');
    assert.equal((await pods().get('forever')).metadata?.deletionTimestamp, undefined, 'tolerating forever');
    assert.equal((await pods().get('cancelled')).metadata?.deletionTimestamp, undefined);

    // the node recovers before the 60 s run out: the pending deletion is cancelled
    alive.add('tainted');
    await postStatus('tainted');
    await heartbeat();
    await nodeWhere('tainted', (x) => !x.spec?.taints?.length);
    await waitFor('cancel event', async () => (await eventsFor('cancelled', 'TaintManagerEviction')).find((e) => e.message === 'Cancelling deletion of Pod default/cancelled'));
    clock.advance(40_000);
    await heartbeat();
    await pause(200);
    assert.equal((await pods().get('cancelled')).metadata?.deletionTimestamp, undefined);
    assert.equal((await pods().get('forever')).metadata?.deletionTimestamp, undefined);
  });

  it('adds no NoExecute taints while no node is Ready', async () => {
    const all = (await nodes().list()).items.map((n) => n.metadata!.name!);
    alive.clear();
    await drive(50_000);
    for (const name of all) {
      const n = await nodeWhere(name, (x) => ready(x)?.status === 'Unknown' && taintKeys(x).includes('node.kubernetes.io/unreachable:NoSchedule'));
      await pause(100);
      assert.ok(!taintKeys(await nodes().get(name)).some((k) => k.endsWith(':NoExecute')), `${name}: ${taintKeys(n)}`);
    }
    // one node back: the others, still Unknown, get their NoExecute taints
    alive.add('steady');
    await postStatus('steady');
    await heartbeat();
    await nodeWhere('steady', (x) => ready(x)?.status === 'True' && !x.spec?.taints?.length);
    await nodeWhere('quiet', (x) => taintKeys(x).includes('node.kubernetes.io/unreachable:NoExecute'));
  });
});
