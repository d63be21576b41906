// Heartbeats are cheap for the node lifecycle controller: a Lease renewal or a node update that only
// moves lastHeartbeatTime records the time without a sync, and the grace period still runs from the
// last heartbeat seen.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Event, Node, NodeCondition } from 'kubernetes-types/core/v1.js';
import { microTimeRFC3339, nowRFC3339 } from '../../src/api/names.js';
import type { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { NodeLifecycleController, onlyHeartbeatMoved } from '../../src/controllers/nodelifecycle/controller.js';
import { startControllerHarness, waitFor, type ControllerHarness } from '../helpers/fake-kubelet.js';
import { FakeClock } from './support-clock.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cond = (type: string, status: string, t: string, beat = t): NodeCondition => ({ type, status, reason: 'R', lastHeartbeatTime: beat, lastTransitionTime: t });

describe('onlyHeartbeatMoved', () => {
  const node = (conditions: NodeCondition[], extra: Partial<Node> = {}): Node => ({ metadata: { name: 'n' }, status: { conditions }, ...extra });
  it('is true only when nothing but heartbeat times differ', () => {
    const a = node([cond('Ready', 'True', 't0', 't1')]);
    assert.equal(onlyHeartbeatMoved(a, node([cond('Ready', 'True', 't0', 't2')])), true);
    assert.equal(onlyHeartbeatMoved(a, node([cond('Ready', 'False', 't0', 't2')])), false);
    assert.equal(onlyHeartbeatMoved(a, node([cond('Ready', 'True', 't9', 't2')])), false);
    assert.equal(onlyHeartbeatMoved(a, node([cond('Ready', 'True', 't0'), cond('DiskPressure', 'False', 't0')])), false);
    assert.equal(onlyHeartbeatMoved(a, node([cond('Ready', 'True', 't0', 't2')], { spec: { unschedulable: true } })), false);
    assert.equal(onlyHeartbeatMoved(a, node([cond('Ready', 'True', 't0', 't2')], { spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } })), false);
  });
});

describe('node lifecycle heartbeats on a fake clock', () => {
  const GRACE_S = 40;
  let h: ControllerHarness | undefined;
  let rest: RestClient;
  let ctl: NodeLifecycleController | undefined;
  const synced: string[] = [];
  const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
  const nodes = () => rest.resource<Node>(RESOURCES.nodes);
  const leases = () => rest.resource<Lease>(RESOURCES.leases, 'kube-node-lease');
  const renew = () => leases().patch('hb', 'merge', { spec: { renewTime: microTimeRFC3339(clock.now()) } });
  const postReady = (transition: string) =>
    nodes().patch('hb', 'merge', { status: { conditions: [cond('Ready', 'True', transition, nowRFC3339(clock.now()))] } }, { subresource: 'status' });
  const syncsOfHb = () => synced.filter((k) => k === 'node/hb').length;

  before(async () => {
    h = await startControllerHarness(
      [
        (ctx) => {
          const c = new NodeLifecycleController(ctx, { nodeMonitorGracePeriodSeconds: GRACE_S, taintEviction: false });
          const sync = c.sync.bind(c);
          c.sync = (key: string) => {
            synced.push(key);
            return sync(key);
          };
          ctl = c;
          return c;
        },
      ],
      { controllerUser: 'system:serviceaccount:kube-system:node-controller', clock },
    );
    rest = h.rest;
  });
  after(() => h?.close());

  it('records heartbeats without syncing, and still notices when they stop', async () => {
    assert.ok(ctl);
    const transition = nowRFC3339(clock.now());
    await nodes().create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'hb' } });
    await postReady(transition);
    await leases().create({ metadata: { name: 'hb' }, spec: { holderIdentity: 'hb', leaseDurationSeconds: 40, renewTime: microTimeRFC3339(clock.now()) } });
    await waitFor('RegisteredNode', async () => {
      const evs = (await rest.resource<Event>(RESOURCES.events, 'default').list()).items;
      return evs.find((e) => e.involvedObject.name === 'hb' && e.reason === 'RegisteredNode');
    });
    await pause(150);

    const before = syncsOfHb();
    for (let i = 0; i < 3; i++) {
      clock.advance(10_000);
      await renew();
      await postReady(transition);
    }
    await pause(200);
    assert.equal(syncsOfHb(), before, 'heartbeats inside the grace period cause no sync');

    // the grace timer (40 s after registration) fires once, sees the heartbeats and waits again
    clock.advance(15_000);
    await renew();
    await pause(200);
    assert.equal(syncsOfHb(), before + 1);
    assert.equal((await nodes().get('hb')).status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

    // silence: Unknown once the grace period has run out from the last renewal (t = 55 s)
    clock.advance(30_000);
    await pause(200);
    assert.equal((await nodes().get('hb')).status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', 'not before the grace period');
    clock.advance(15_000);
    const n = await waitFor('Unknown', async () => {
      const x = await nodes().get('hb');
      return x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown' ? x : undefined;
    });
    assert.equal(n.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'NodeStatusUnknown');

    // a real change (the kubelet reports Ready again) is synced at once
    const count = syncsOfHb();
    await postReady(nowRFC3339(clock.now()));
    await waitFor('sync after a condition change', async () => (syncsOfHb() > count ? true : undefined));
  });
});
