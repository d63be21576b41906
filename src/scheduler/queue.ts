// The scheduling queue, as upstream's PriorityQueue: an active queue (priority, then age), a backoff
// queue (pods that failed wait 1 s doubling to 10 s), and a pool of unschedulable pods that cluster
// events move back (to active, or to backoff while their backoff runs), plus a periodic sweep so
// that no pod waits there longer than five minutes.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../client/clock.js';
import { podKey } from './nodeinfo.js';


export interface QueuedPodInfo {
  key: string;
  pod: Pod;
  /** when the pod last entered the queue (orders equal priorities; starts the backoff) */
  timestamp: number;
  /** when the pod first entered the queue */
  initialAttemptTimestamp: number;
  attempts: number;
  /** plugins that rejected the pod last time; empty = any event may help */
  unschedulablePlugins: Set<string>;
}

export interface SchedulingQueueOptions {
  clock: Clock;
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  /** an unschedulable pod is retried after this long even without an event (default 5 min) */
  podMaxInUnschedulablePodsMs?: number;
}

type Where = 'active' | 'backoff' | 'unschedulable' | 'gated';

/** A binary heap with lazy deletion: entries whose `seq` is no longer current are skipped. */
class Heap<T extends { seq: number }> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }
  push(x: T): void {
    const a = this.items;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  peek(): T | undefined {
    return this.items[0];
  }
  pop(): T | undefined {
    const a = this.items;
    if (!a.length) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
  clear(): void {
    this.items.length = 0;
  }
}

interface Entry {
  qp: QueuedPodInfo;
  where: Where;
  /** the current heap entry's sequence number */
  seq: number;
}

interface HeapItem {
  entry: Entry;
  seq: number;
  priority: number;
  order: number;
  due: number;
}

const priorityOf = (pod: Pod): number => pod.spec?.priority ?? 0;
export const isGated = (pod: Pod): boolean => (pod.spec?.schedulingGates?.length ?? 0) > 0;

/** Whether an update of a pending pod can change where it fits (not a status-only write). */
export function podSchedulingChanged(a: Pod, b: Pod): boolean {
  return (
    JSON.stringify([a.spec, a.metadata?.labels, a.metadata?.annotations]) !== JSON.stringify([b.spec, b.metadata?.labels, b.metadata?.annotations])
  );
}

export class SchedulingQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, QueuedPodInfo>();
  /** counts move requests; a pod that fails after one came while it was in flight goes to backoff */
  private moveRequests = 0;
  private readonly poppedAt = new Map<string, number>();
  private readonly active = new Heap<HeapItem>((a, b) => (a.priority !== b.priority ? a.priority > b.priority : a.order < b.order));
  private readonly backoff = new Heap<HeapItem>((a, b) => a.due < b.due || (a.due === b.due && a.order < b.order));
  private activeCount = 0;
  /** the pods waiting for a cluster event */
  private readonly unschedulable = new Map<string, Entry>();
  /** how many of them each plugin rejected ('' counts those with no recorded plugin) */
  private readonly rejectedBy = new Map<string, number>();
  private seq = 0;
  private order = 0;
  private waiters: (() => void)[] = [];
  private backoffTimer?: { handle: unknown; due: number };
  private leftoverTimer?: unknown;
  private closed = false;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private readonly maxUnschedulable: number;
  private readonly clock: Clock;

  constructor(opts: SchedulingQueueOptions) {
    this.clock = opts.clock;
    this.initialBackoff = opts.podInitialBackoffMs ?? 1000;
    this.maxBackoff = opts.podMaxBackoffMs ?? 10_000;
    this.maxUnschedulable = opts.podMaxInUnschedulablePodsMs ?? 5 * 60_000;
  }

  /** A new pending pod. */
  add(pod: Pod): void {
    const key = podKey(pod);
    if (this.closed) return;
    if (this.entries.has(key)) return this.update(pod);
    if (this.inFlight.has(key)) {
      this.inFlight.get(key)!.pod = pod;
      return;
    }
    const now = this.clock.now();
    const qp: QueuedPodInfo = { key, pod, timestamp: now, initialAttemptTimestamp: now, attempts: 0, unschedulablePlugins: new Set() };
    this.place(qp, isGated(pod) ? 'gated' : 'active');
  }

  /** A newer version of a pending pod. */
  update(pod: Pod): void {
    const key = podKey(pod);
    const flying = this.inFlight.get(key);
    if (flying) {
      flying.pod = pod;
      return;
    }
    const e = this.entries.get(key);
    if (!e) return this.add(pod);
    const old = e.qp.pod;
    e.qp.pod = pod;
    if (e.where === 'gated') {
      if (!isGated(pod)) this.place(e.qp, 'active');
    } else if (e.where === 'unschedulable') {
      if (podSchedulingChanged(old, pod)) this.place(e.qp, this.backingOff(e.qp) ? 'backoff' : 'active');
    } else if (e.where === 'active' && priorityOf(old) !== priorityOf(pod)) {
      this.place(e.qp, 'active');
    }
  }

  delete(pod: Pod): void {
    this.deleteKey(podKey(pod));
  }

  deleteKey(key: string): void {
    const e = this.entries.get(key);
    if (e) this.remove(e);
    this.inFlight.delete(key);
    this.poppedAt.delete(key);
  }

  /** The next pod to schedule, or undefined when the active queue is empty. The pod is in flight until done(). */
  pop(): QueuedPodInfo | undefined {
    for (;;) {
      const item = this.active.pop();
      if (!item) return undefined;
      const e = item.entry;
      if (e.seq !== item.seq || e.where !== 'active') continue;
      this.remove(e);
      e.qp.attempts++;
      this.inFlight.set(e.qp.key, e.qp);
      this.poppedAt.set(e.qp.key, this.moveRequests);
      return e.qp;
    }
  }

  /** Resolves when the active queue has a pod (or the queue is closed). */
  waitForPod(): Promise<void> {
    if (this.activeCount > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The pod's attempt ended (bound, or handed back with one of the add* calls). */
  done(key: string): void {
    this.inFlight.delete(key);
    this.poppedAt.delete(key);
  }

  /** The pod fits nowhere: it waits for an event, unless one came while it was being scheduled. */
  addUnschedulable(qp: QueuedPodInfo, plugins: Set<string>): void {
    const key = qp.key;
    if (!this.inFlight.has(key) && !this.entries.has(key)) return; // deleted meanwhile
    const moved = (this.poppedAt.get(key) ?? this.moveRequests) < this.moveRequests;
    this.done(key);
    qp.unschedulablePlugins = plugins;
    qp.timestamp = this.clock.now();
    this.place(qp, moved ? 'backoff' : 'unschedulable');
  }

  /** The attempt failed for another reason (an API error): retry after the backoff. */
  addBackoff(qp: QueuedPodInfo): void {
    const key = qp.key;
    if (!this.inFlight.has(key) && !this.entries.has(key)) return;
    this.done(key);
    qp.timestamp = this.clock.now();
    this.place(qp, 'backoff');
  }

  /**
   * Something changed in the cluster that may help pods rejected by `plugins` (undefined = any):
   * those go back to active, or to backoff while it runs.
   */
  moveAllToActiveOrBackoff(plugins?: readonly string[]): void {
    this.moveRequests++;
    if (this.unschedulable.size === 0) return;
    if (plugins && !this.rejectedBy.get('') && !plugins.some((p) => this.rejectedBy.get(p))) return;
    for (const e of [...this.unschedulable.values()]) {
      if (plugins && e.qp.unschedulablePlugins.size > 0 && !plugins.some((p) => e.qp.unschedulablePlugins.has(p))) continue;
      this.place(e.qp, this.backingOff(e.qp) ? 'backoff' : 'active');
    }
  }

  /** How many pods wait in each part of the queue. */
  stats(): { active: number; backoff: number; unschedulable: number; gated: number; inFlight: number } {
    let backoff = 0;
    let gated = 0;
    for (const e of this.entries.values()) {
      if (e.where === 'backoff') backoff++;
      else if (e.where === 'gated') gated++;
    }
    return { active: this.activeCount, backoff, unschedulable: this.unschedulable.size, gated, inFlight: this.inFlight.size };
  }

  /** Where a pod waits, if it does. */
  whereIs(key: string): Where | 'inFlight' | undefined {
    if (this.inFlight.has(key)) return 'inFlight';
    return this.entries.get(key)?.where;
  }

  close(): void {
    this.closed = true;
    if (this.backoffTimer) this.clock.clearTimeout(this.backoffTimer.handle);
    if (this.leftoverTimer !== undefined) this.clock.clearTimeout(this.leftoverTimer);
    this.backoffTimer = undefined;
    this.leftoverTimer = undefined;
    this.entries.clear();
    this.unschedulable.clear();
    this.rejectedBy.clear();
    this.active.clear();
    this.backoff.clear();
    for (const w of this.waiters.splice(0)) w();
  }

  // ---- internals ----

  /** backoff = initial · 2^(attempts−1), capped */
  backoffDuration(qp: QueuedPodInfo): number {
    let d = this.initialBackoff;
    for (let i = 1; i < qp.attempts; i++) {
      d *= 2;
      if (d >= this.maxBackoff) return this.maxBackoff;
    }
    return Math.min(d, this.maxBackoff);
  }

  private backoffExpiry(qp: QueuedPodInfo): number {
    return qp.timestamp + this.backoffDuration(qp);
  }

  private backingOff(qp: QueuedPodInfo): boolean {
    return qp.attempts > 0 && this.backoffExpiry(qp) > this.clock.now();
  }

  private place(qp: QueuedPodInfo, where: Where): void {
    if (this.closed) return;
    let e = this.entries.get(qp.key);
    if (e) this.remove(e);
    e = { qp, where, seq: ++this.seq };
    this.entries.set(qp.key, e);
    const item: HeapItem = { entry: e, seq: e.seq, priority: priorityOf(qp.pod), order: ++this.order, due: 0 };
    switch (where) {
      case 'active':
        this.activeCount++;
        this.active.push(item);
        for (const w of this.waiters.splice(0)) w();
        break;
      case 'backoff':
        item.due = this.backoffExpiry(qp);
        this.backoff.push(item);
        this.armBackoffTimer();
        break;
      case 'unschedulable':
        this.unschedulable.set(qp.key, e);
        this.countRejections(qp, 1);
        this.armLeftoverTimer();
        break;
      case 'gated':
        break;
    }
  }

  private remove(e: Entry): void {
    if (this.entries.get(e.qp.key) !== e) return;
    this.entries.delete(e.qp.key);
    if (e.where === 'active') this.activeCount--;
    else if (e.where === 'unschedulable') {
      this.unschedulable.delete(e.qp.key);
      this.countRejections(e.qp, -1);
    }
    e.seq = -1;
  }

  private countRejections(qp: QueuedPodInfo, by: number): void {
    const plugins = qp.unschedulablePlugins.size ? qp.unschedulablePlugins : [''];
    for (const p of plugins) this.rejectedBy.set(p, (this.rejectedBy.get(p) ?? 0) + by);
  }

  private armBackoffTimer(): void {
    let top = this.backoff.peek();
    while (top && top.entry.seq !== top.seq) {
      this.backoff.pop();
      top = this.backoff.peek();
    }
    if (!top) return;
    if (this.backoffTimer && this.backoffTimer.due <= top.due) return;
    if (this.backoffTimer) this.clock.clearTimeout(this.backoffTimer.handle);
    const due = top.due;
    const handle = this.clock.setTimeout(() => {
      this.backoffTimer = undefined;
      this.flushBackoff();
    }, Math.max(0, due - this.clock.now()));
    this.backoffTimer = { handle, due };
  }

  /** Moves pods whose backoff ended to the active queue. */
  flushBackoff(): void {
    const now = this.clock.now();
    for (;;) {
      const top = this.backoff.peek();
      if (!top) break;
      if (top.entry.seq !== top.seq) {
        this.backoff.pop();
        continue;
      }
      if (top.due > now) break;
      this.backoff.pop();
      this.place(top.entry.qp, 'active');
    }
    this.armBackoffTimer();
  }

  private armLeftoverTimer(): void {
    if (this.leftoverTimer !== undefined || this.closed) return;
    this.leftoverTimer = this.clock.setTimeout(() => {
      this.leftoverTimer = undefined;
      this.flushUnschedulableLeftover();
    }, 30_000);
  }

  /** Pods unschedulable for longer than the maximum get another try. */
  flushUnschedulableLeftover(): void {
    const now = this.clock.now();
    for (const e of [...this.unschedulable.values()])
      if (now - e.qp.timestamp >= this.maxUnschedulable) this.place(e.qp, this.backingOff(e.qp) ? 'backoff' : 'active');
    if (this.unschedulable.size > 0) this.armLeftoverTimer();
  }
}
