// Leader election on a coordination.k8s.io/v1 Lease, as client-go's tools/leaderelection: candidates
// try to acquire the Lease every retry period; the holder renews it and gives up when it could not
// renew within the renew deadline; others take over once they have seen the same record, unchanged,
// for a whole lease duration. Expiry is judged by local observation times, never by the timestamps in
// the Lease, so clock skew between candidates does not matter.
import type { Lease, LeaseSpec } from 'kubernetes-types/coordination/v1.js';
import { microTimeRFC3339 } from '../api/names.js';
import { realClock, type Clock } from './clock.js';
import { isNotFound, type ResourceClient, type RestClient } from './rest.js';

const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true } as const;

/** Upstream's wait.JitterUntil factor for acquire retries. */
export const JITTER_FACTOR = 1.2;


export interface LeaderElectorOptions {
  namespace: string;
  name: string;
  /** this candidate's holderIdentity (unique per process, e.g. hostname + random suffix) */
  identity: string;
  /** how long others wait, after the last change they saw, before taking over (default 15) */
  leaseDurationSeconds?: number;
  /** how long the leader keeps retrying a failed renewal before it gives up (default 10) */
  renewDeadlineSeconds?: number;
  /** how often candidates try to acquire and the leader renews (default 2) */
  retryPeriodSeconds?: number;
  /** hand the Lease over at once on stop() (default true) */
  releaseOnCancel?: boolean;
  /** jitter on acquire retries, as a fraction of the retry period (default JITTER_FACTOR) */
  jitterFactor?: number;
  clock?: Clock;
  log?: (line: string) => void;
  /** became the leader; `signal` aborts when leadership ends. A returned promise is awaited before the Lease is released. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** run() is ending (called whether or not this candidate led, as client-go does) */
  onStoppedLeading?(): void;
  /** a different (non-empty) holder was observed, this candidate included */
  onNewLeader?(identity: string): void;
}

/** The election record of a Lease. */
interface LeaderElectionRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

function recordOf(spec: LeaseSpec | undefined): LeaderElectionRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: spec?.acquireTime,
    renewTime: spec?.renewTime,
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

function specOf(r: LeaderElectionRecord): LeaseSpec {
  const spec: LeaseSpec = { holderIdentity: r.holderIdentity, leaseDurationSeconds: r.leaseDurationSeconds, leaseTransitions: r.leaseTransitions };
  if (r.acquireTime) spec.acquireTime = r.acquireTime;
  if (r.renewTime) spec.renewTime = r.renewTime;
  return spec;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class LeaderElector {
  private readonly leases: ResourceClient<Lease>;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  private observed: LeaderElectionRecord = recordOf(undefined);
  private observedRaw = '';
  private observedTime = 0;
  /** the Lease as last read or written, whose resourceVersion guards the next write */
  private lease?: Lease;
  private reportedLeader = '';

  private running?: Promise<void>;
  private abort?: AbortController;
  private leadership?: AbortController;
  private timer?: { handle: unknown; wake: () => void };

  constructor(
    client: RestClient,
    private readonly opts: LeaderElectorOptions,
  ) {
    const lease = opts.leaseDurationSeconds ?? 15;
    const renew = opts.renewDeadlineSeconds ?? 10;
    const retry = opts.retryPeriodSeconds ?? 2;
    if (!(lease > renew)) throw new Error('leaseDuration must be greater than renewDeadline');
    if (!(renew > JITTER_FACTOR * retry)) throw new Error('renewDeadline must be greater than retryPeriod*JitterFactor');
    if (!(retry > 0)) throw new Error('retryPeriod must be greater than zero');
    if (!opts.identity) throw new Error('Lock identity is empty');
    if (!opts.namespace || !opts.name) throw new Error('the Lease needs a namespace and a name');
    this.leaseMs = lease * 1000;
    this.renewDeadlineMs = renew * 1000;
    this.retryMs = retry * 1000;
    this.leases = client.resource<Lease>(LEASES, opts.namespace);
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? (() => {});
  }

  get identity(): string {
    return this.opts.identity;
  }

  /** The holder last observed ('' when none). */
  getLeader(): string {
    return this.observed.holderIdentity;
  }

  /** Whether the last observed record names this candidate. */
  isLeader(): boolean {
    return this.observed.holderIdentity === this.opts.identity;
  }

  /**
   * Campaigns until this candidate leads, then renews until it loses the Lease or stop() is called.
   * Resolves when that happens (like client-go's Run, it does not campaign again).
   */
  run(): Promise<void> {
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Ends run(): leadership (if held) ends, the Lease is released when releaseOnCancel, onStoppedLeading is called. */
  async stop(): Promise<void> {
    this.abort?.abort();
    this.timer?.wake();
    await this.running;
  }

  private async loop(): Promise<void> {
    const abort = (this.abort = new AbortController());
    try {
      if (!(await this.acquire(abort.signal))) return;
      if (abort.signal.aborted) {
        if (this.opts.releaseOnCancel ?? true) await this.release();
        return;
      }
      const leadership = (this.leadership = new AbortController());
      const onAbort = () => leadership.abort();
      abort.signal.addEventListener('abort', onAbort, { once: true });
      let leading: Promise<void> = Promise.resolve();
      try {
        leading = Promise.resolve(this.opts.onStartedLeading(leadership.signal));
      } catch (e) {
        leading = Promise.reject(e);
      }
      const led = leading.catch((e: unknown) => this.log(`leader election ${this.describe()}: the leader's work failed: ${errText(e)}`));
      await this.renew(abort.signal);
      abort.signal.removeEventListener('abort', onAbort);
      leadership.abort();
      await led;
      if (abort.signal.aborted && (this.opts.releaseOnCancel ?? true)) await this.release();
    } finally {
      this.leadership = undefined;
      this.abort = undefined;
      try {
        this.opts.onStoppedLeading?.();
      } catch (e) {
        this.log(`leader election ${this.describe()}: onStoppedLeading: ${errText(e)}`);
      }
    }
  }

  private describe(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  /** Waits `ms` of clock time, or less when stop() wakes it. */
  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        if (this.timer?.wake !== wake) return;
        this.clock.clearTimeout(this.timer.handle);
        this.timer = undefined;
        resolve();
      };
      this.timer = { handle: this.clock.setTimeout(wake, ms), wake };
    });
  }

  /** Tries every retry period (jittered) until it holds the Lease; false when stopped first. */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    this.log(`attempting to acquire leader lease ${this.describe()}...`);
    const jitter = this.opts.jitterFactor ?? JITTER_FACTOR;
    while (!signal.aborted) {
      const ok = await this.tryAcquireOrRenew();
      this.maybeReportTransition();
      if (ok) {
        this.log(`successfully acquired lease ${this.describe()}`);
        return true;
      }
      await this.sleep(this.retryMs * (1 + Math.random() * jitter), signal);
    }
    return false;
  }

  /** Renews every retry period; returns when a renewal failed for a whole renew deadline, or when stopped. */
  private async renew(signal: AbortSignal): Promise<void> {
    let lastRenew = this.clock.now();
    while (!signal.aborted) {
      await this.sleep(this.retryMs, signal);
      if (signal.aborted) return;
      const ok = await this.tryAcquireOrRenew();
      this.maybeReportTransition();
      if (ok) {
        lastRenew = this.clock.now();
        continue;
      }
      if (this.clock.now() - lastRenew >= this.renewDeadlineMs || (!this.isLeader() && this.observed.holderIdentity)) {
        this.log(`failed to renew lease ${this.describe()}: leadership lost`);
        return;
      }
    }
  }

  private isLeaseValid(now: number): boolean {
    return this.observedTime + this.observed.leaseDurationSeconds * 1000 > now;
  }

  private setObserved(r: LeaderElectionRecord, lease: Lease | undefined, now: number): void {
    this.observed = r;
    this.observedRaw = JSON.stringify(specOf(r));
    this.observedTime = now;
    this.lease = lease;
  }

  /** One attempt: renews what this candidate holds, or takes a Lease that is free or expired. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const stamp = microTimeRFC3339(now);
    const want: LeaderElectionRecord = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.leaseMs / 1000)),
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: 0,
    };

    // fast path: the leader writes over the Lease it last saw, trusting it is still current
    if (this.isLeader() && this.isLeaseValid(now) && this.lease) {
      const r = { ...want, acquireTime: this.observed.acquireTime, leaseTransitions: this.observed.leaseTransitions };
      try {
        const written = await this.leases.update({ ...this.lease, spec: specOf(r) });
        this.setObserved(r, written, now);
        return true;
      } catch (e) {
        this.log(`failed to update lease ${this.describe()} optimistically: ${errText(e)}, falling back to slow path`);
      }
    }

    let current: Lease;
    try {
      current = await this.leases.get(this.opts.name);
    } catch (e) {
      if (!isNotFound(e)) {
        this.log(`error retrieving lease ${this.describe()}: ${errText(e)}`);
        return false;
      }
      try {
        const created = await this.leases.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: specOf(want),
        });
        this.setObserved(want, created, now);
        return true;
      } catch (e2) {
        this.log(`error initially creating lease ${this.describe()}: ${errText(e2)}`);
        return false;
      }
    }

    const seen = recordOf(current.spec);
    if (JSON.stringify(specOf(seen)) !== this.observedRaw) this.setObserved(seen, current, now);
    else this.lease = current;
    if (seen.holderIdentity && this.isLeaseValid(now) && !this.isLeader()) return false;

    const r = this.isLeader()
      ? { ...want, acquireTime: seen.acquireTime, leaseTransitions: seen.leaseTransitions }
      : { ...want, leaseTransitions: seen.leaseTransitions + 1 };
    try {
      const written = await this.leases.update({ ...current, spec: specOf(r) });
      this.setObserved(r, written, now);
      return true;
    } catch (e) {
      this.log(`failed to update lease ${this.describe()}: ${errText(e)}`);
      return false;
    }
  }

  /** Gives the Lease up: no holder and a 1 s duration, so the next candidate takes it at once. */
  private async release(): Promise<void> {
    if (!this.isLeader() || !this.lease) return;
    const stamp = microTimeRFC3339(this.clock.now());
    const r: LeaderElectionRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: stamp, renewTime: stamp, leaseTransitions: this.observed.leaseTransitions };
    try {
      const written = await this.leases.update({ ...this.lease, spec: specOf(r) });
      this.setObserved(r, written, this.clock.now());
    } catch (e) {
      this.log(`failed to release lease ${this.describe()}: ${errText(e)}`);
    }
  }

  private maybeReportTransition(): void {
    const holder = this.observed.holderIdentity;
    if (holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (!holder) return;
    try {
      this.opts.onNewLeader?.(holder);
    } catch (e) {
      this.log(`leader election ${this.describe()}: onNewLeader: ${errText(e)}`);
    }
  }
}
