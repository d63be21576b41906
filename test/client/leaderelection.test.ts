// Lease-based leader election through the real API, on a fake clock: one leader among candidates,
// take-over after the lease duration when the leader goes silent, immediate hand-over on release,
// and stepping down when another holder shows up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { LeaderElector, type LeaderElectorOptions } from '../../src/client/leaderelection.js';
import { RestClient, type ResourceClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { FakeClock } from '../controllers/support-clock.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(10);
  }
}

interface Candidate {
  elector: LeaderElector;
  leading: boolean;
  started: number;
  stopped: number;
  signals: AbortSignal[];
  leaders: string[];
  done: Promise<void>;
}

describe('LeaderElector', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let rest: RestClient;
  let leases: ResourceClient<Lease>;
  const clock = new FakeClock(Date.UTC(2025, 0, 1));
  const running: Candidate[] = [];

  /** Moves the fake clock `ms` forward in steps, letting API calls finish between them. */
  async function drive(ms: number, step = 250): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      clock.advance(Math.min(step, ms - t));
      await pause(8);
    }
  }

  function candidate(name: string, identity: string, extra: Partial<LeaderElectorOptions> = {}): Candidate {
    const c = { leading: false, started: 0, stopped: 0, signals: [], leaders: [] } as unknown as Candidate;
    c.elector = new LeaderElector(rest, {
      namespace: 'kube-system',
      name,
      identity,
      clock,
      onStartedLeading: (signal) => {
        c.leading = true;
        c.started++;
        c.signals.push(signal);
        signal.addEventListener('abort', () => (c.leading = false));
      },
      onStoppedLeading: () => c.stopped++,
      onNewLeader: (id) => c.leaders.push(id),
      ...extra,
    });
    c.done = c.elector.run();
    running.push(c);
    return c;
  }

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:le', groups: [] });
    rest = new RestClient(transport);
    leases = rest.resource<Lease>(RESOURCES.leases, 'kube-system');
  });
  after(async () => {
    for (const c of running) await c.elector.stop();
    transport?.close();
    await cluster?.close();
  });

  it('refuses timings that cannot work, as client-go does', () => {
    const base = { namespace: 'kube-system', name: 'x', identity: 'i', onStartedLeading: () => {} };
    assert.throws(() => new LeaderElector(rest, { ...base, leaseDurationSeconds: 10, renewDeadlineSeconds: 10 }), /leaseDuration must be greater than renewDeadline/);
    assert.throws(() => new LeaderElector(rest, { ...base, renewDeadlineSeconds: 2, retryPeriodSeconds: 2 }), /renewDeadline must be greater than retryPeriod\*JitterFactor/);
    assert.throws(() => new LeaderElector(rest, { ...base, identity: '' }), /identity is empty/);
  });

  it('lets only one of two candidates lead, and records it in the Lease', async () => {
    const a = candidate('one-leader', 'a');
    await waitFor('a to lead', () => a.leading);
    const b = candidate('one-leader', 'b');
    await drive(30_000);
    assert.equal(a.leading, true);
    assert.equal(b.leading, false);
    assert.equal(b.started, 0);
    assert.deepEqual(b.leaders, ['a']);
    assert.equal(b.elector.getLeader(), 'a');
    assert.equal(b.elector.isLeader(), false);
    const lease = await leases.get('one-leader');
    assert.equal(lease.spec?.holderIdentity, 'a');
    assert.equal(lease.spec?.leaseDurationSeconds, 15);
    assert.equal(lease.spec?.leaseTransitions, 0);
    assert.match(lease.spec?.acquireTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // renewals move renewTime on, acquireTime stays
    assert.ok(Date.parse(lease.spec!.renewTime!) >= Date.parse(lease.spec!.acquireTime!) + 25_000, `${lease.spec?.renewTime} vs ${lease.spec?.acquireTime}`);
    await a.elector.stop();
    await b.elector.stop();
  });

  it('takes over after the lease duration when the leader stops renewing', async () => {
    const a = candidate('silent-leader', 'a', { releaseOnCancel: false });
    await waitFor('a to lead', () => a.leading);
    const b = candidate('silent-leader', 'b');
    await drive(3_000);
    assert.equal(b.leading, false);
    // a goes silent without releasing: the Lease still names it
    await a.elector.stop();
    assert.equal(a.leading, false);
    assert.equal(a.signals[0].aborted, true);
    assert.equal(a.stopped, 1);
    assert.equal((await leases.get('silent-leader')).spec?.holderIdentity, 'a');
    await drive(9_000);
    assert.equal(b.leading, false, 'b must not take over before the lease duration');
    await drive(12_000);
    assert.equal(b.leading, true, 'b takes over once a has been silent for a lease duration');
    const lease = await leases.get('silent-leader');
    assert.equal(lease.spec?.holderIdentity, 'b');
    assert.equal(lease.spec?.leaseTransitions, 1);
    assert.deepEqual(b.leaders, ['a', 'b']);
    await b.elector.stop();
  });

  it('hands over at once when the leader releases the Lease on stop', async () => {
    const a = candidate('released', 'a');
    await waitFor('a to lead', () => a.leading);
    const b = candidate('released', 'b');
    await drive(2_000);
    assert.equal(b.leading, false);
    await a.elector.stop();
    await a.done;
    const released = await leases.get('released');
    assert.equal(released.spec?.holderIdentity ?? '', '');
    assert.equal(released.spec?.leaseDurationSeconds, 1);
    await drive(5_000);
    assert.equal(b.leading, true, 'b takes over within a few retry periods, not a lease duration');
    assert.equal((await leases.get('released')).spec?.holderIdentity, 'b');
    await b.elector.stop();
    assert.equal(b.stopped, 1);
  });

  it('steps down when another holder took the Lease', async () => {
    const a = candidate('stolen', 'a');
    await waitFor('a to lead', () => a.leading);
    const cur = await leases.get('stolen');
    await leases.update({ ...cur, spec: { ...cur.spec, holderIdentity: 'intruder', leaseTransitions: (cur.spec?.leaseTransitions ?? 0) + 1 } });
    await drive(3_000);
    await waitFor('a to stop leading', () => !a.leading);
    await a.done;
    assert.equal(a.signals[0].aborted, true);
    assert.equal(a.stopped, 1);
    assert.equal(a.elector.getLeader(), 'intruder');
    assert.equal((await leases.get('stolen')).spec?.holderIdentity, 'intruder', 'a does not write over the new holder');
  });
});
