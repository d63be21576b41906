// Recording core/v1 Events, so `kubectl describe` tells what components did. As upstream's recorder and
// EventCorrelator: repeats of the same event are folded into one with a growing count; a source may
// burst 25 events about one object, then one per 5 minutes (the spam filter); events are written in
// the background by a few writers from a queue of at most 1,000, and dropped when it is full, so a
// burst of work (thousands of pods scheduled) is not slowed down by its own events.
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import { nowRFC3339, randomString } from '../api/names.js';
import type { KubeObject } from '../api/types.js';
import { isNotFound, RestClient, type MetaObject } from './rest.js';

const EVENTS = { group: '', version: 'v1', resource: 'events', namespaced: true };

export type EventType = 'Normal' | 'Warning';

export interface EventSource {
  component: string;
  host?: string;
}

export interface EventRecorderOptions {
  /** events waiting to be written at most; more are dropped (default 1000, upstream's maxQueuedEvents) */
  maxQueued?: number;
  /** writes in flight at once (default 4) */
  writers?: number;
  /** events one source may record about one object at once, and the refill rate (default 25, 1/300 per s) */
  spamBurst?: number;
  spamQPS?: number;
  now?: () => number;
}

/** One event as recorded so far; repeats raise `count`, a write sends what is there by then. */
interface Folded {
  name: string;
  namespace: string;
  count: number;
  /** the count the server has (0: not created yet) */
  written: number;
  firstTimestamp: string;
  lastTimestamp: string;
  ref: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  queued: boolean;
  writing: boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_FOLDED = 4096;

export function objectReference(obj: MetaObject): ObjectReference {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    name: obj.metadata?.name,
    namespace: obj.metadata?.namespace,
    uid: obj.metadata?.uid,
    resourceVersion: obj.metadata?.resourceVersion,
  };
}

/** Map insertion order as LRU: a hit moves the key to the end; the oldest goes past `max`. */
function touch<V>(m: Map<string, V>, key: string, v: V, max: number): void {
  m.delete(key);
  m.set(key, v);
  if (m.size > max) m.delete(m.keys().next().value as string);
}

export class EventRecorder {
  private readonly folded = new Map<string, Folded>();
  private readonly spam = new Map<string, Bucket>();
  private readonly queue: Folded[] = [];
  private head = 0;
  private writing = 0;
  private readonly client: RestClient;
  private readonly maxQueued: number;
  private readonly writers: number;
  private readonly spamBurst: number;
  private readonly spamQPS: number;
  private readonly now: () => number;
  private idle: (() => void)[] = [];
  /** events dropped because the queue was full, and those the spam filter kept back */
  readonly dropped = { queueFull: 0, spam: 0 };

  constructor(
    client: RestClient,
    readonly source: EventSource,
    private readonly log: (line: string) => void = () => {},
    opts: EventRecorderOptions = {},
  ) {
    this.client = client;
    this.maxQueued = opts.maxQueued ?? 1000;
    this.writers = opts.writers ?? 4;
    this.spamBurst = opts.spamBurst ?? 25;
    this.spamQPS = opts.spamQPS ?? 1 / 300;
    this.now = opts.now ?? Date.now;
  }

  /** Records an event about `obj` (in the background). Never throws: a failed event must not fail the caller's work. */
  event(obj: MetaObject, type: EventType, reason: string, message: string): void {
    const ref = objectReference(obj);
    const namespace = ref.namespace || 'default';
    const at = this.now();
    const objectKey = [this.source.component, this.source.host ?? '', ref.kind, namespace, ref.name, ref.uid, ref.apiVersion].join('\u0000');
    if (!this.allow(objectKey, at)) {
      this.dropped.spam++;
      return;
    }
    const key = [objectKey, type, reason, message].join('\u0000');
    const ts = nowRFC3339(at);
    let f = this.folded.get(key);
    if (f) {
      f.count++;
      f.lastTimestamp = ts;
      touch(this.folded, key, f, MAX_FOLDED);
    } else {
      f = {
        name: `${ref.name ?? 'unknown'}.${at.toString(16)}${randomString(4)}`,
        namespace,
        count: 1,
        written: 0,
        firstTimestamp: ts,
        lastTimestamp: ts,
        ref,
        type,
        reason,
        message,
        queued: false,
        writing: false,
      };
      touch(this.folded, key, f, MAX_FOLDED);
    }
    this.enqueue(f);
  }

  /** Events queued or being written. */
  get pending(): number {
    return this.queue.length - this.head + this.writing;
  }

  /** Resolves once every queued event has been written (or has failed). */
  flush(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }

  /** The spam filter: a token bucket per source and object. */
  private allow(key: string, at: number): boolean {
    let b = this.spam.get(key);
    if (!b) b = { tokens: this.spamBurst, at };
    else b.tokens = Math.min(this.spamBurst, b.tokens + ((at - b.at) / 1000) * this.spamQPS);
    b.at = at;
    const ok = b.tokens >= 1;
    if (ok) b.tokens--;
    touch(this.spam, key, b, MAX_FOLDED);
    return ok;
  }

  private enqueue(f: Folded): void {
    // a write in flight or queued sends the latest count when it runs (or again after it)
    if (f.queued || f.writing) return;
    if (this.queue.length - this.head >= this.maxQueued) {
      if (this.dropped.queueFull++ % 1000 === 0) this.log(`events: the queue of ${this.maxQueued} is full; dropping events (${this.dropped.queueFull} so far)`);
      return;
    }
    f.queued = true;
    this.queue.push(f);
    this.pump();
  }

  private pump(): void {
    while (this.writing < this.writers && this.head < this.queue.length) {
      const f = this.queue[this.head++];
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      f.queued = false;
      f.writing = true;
      this.writing++;
      this.write(f)
        .catch((e: unknown) => this.log(`event ${f.reason} on ${f.ref.kind}/${f.ref.name}: ${(e as Error).message}`))
        .finally(() => {
          f.writing = false;
          this.writing--;
          if (f.count > f.written && f.written > 0) this.enqueue(f);
          this.pump();
          if (this.pending === 0) for (const w of this.idle.splice(0)) w();
        });
    }
  }

  private async write(f: Folded): Promise<void> {
    const events = this.client.resource<KubeObject>(EVENTS, f.namespace);
    const count = f.count;
    if (f.written > 0) {
      try {
        await events.patch(f.name, 'merge', { count, lastTimestamp: f.lastTimestamp });
        f.written = count;
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        // removed meanwhile (TTL, a namespace deleted): record it afresh
        f.name = `${f.ref.name ?? 'unknown'}.${this.now().toString(16)}${randomString(4)}`;
      }
    }
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: f.name, namespace: f.namespace },
      involvedObject: f.ref,
      reason: f.reason,
      message: f.message,
      source: { component: this.source.component, ...(this.source.host ? { host: this.source.host } : {}) },
      firstTimestamp: f.firstTimestamp,
      lastTimestamp: f.lastTimestamp,
      count,
      type: f.type,
      eventTime: null,
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? '',
    };
    await events.create(ev);
    f.written = count;
  }
}
