// A rate-limited work queue as controllers use it: a key waits at most once in the queue, is handed
// to one worker at a time, and comes back later with per-key exponential backoff when it failed.

/** How long a key waits before it is retried. */
export interface RateLimiter {
  /** the delay for the next retry of `key` (and counts it as one more failure) */
  when(key: string): number;
  /** the key succeeded: its failures are forgotten */
  forget(key: string): void;
  numRequeues(key: string): number;
}

/** base · 2^failures, capped at max (client-go's ItemExponentialFailureRateLimiter). */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const d = this.baseMs * 2 ** n;
    return Number.isFinite(d) ? Math.min(d, this.maxMs) : this.maxMs;
  }
  forget(key: string): void {
    this.failures.delete(key);
  }
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** An overall token bucket: `qps` retries a second with bursts of `burst` (shared by all keys). */
export class BucketRateLimiter implements RateLimiter {
  private tokens: number;
  private last: number;
  constructor(
    private readonly qps = 10,
    private readonly burst = 100,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }
  when(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.qps) * 1000);
  }
  forget(): void {}
  numRequeues(): number {
    return 0;
  }
}

/** The longest delay any of the limiters asks for. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];
  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }
  when(key: string): number {
    let d = 0;
    for (const l of this.limiters) d = Math.max(d, l.when(key));
    return d;
  }
  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }
  numRequeues(key: string): number {
    let n = 0;
    for (const l of this.limiters) n = Math.max(n, l.numRequeues(key));
    return n;
  }
}

/** client-go's DefaultControllerRateLimiter: per key 5 ms doubling to 1000 s, overall 10 qps, burst 100. */
export function defaultControllerRateLimiter(): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1_000_000), new BucketRateLimiter(10, 100));
}

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  name?: string;
}

type Waiter = (item: { key: string; shutdown: false } | { key: undefined; shutdown: true }) => void;

export class WorkQueue {
  private readonly queue: string[] = [];
  private head = 0;
  /** keys that need processing (queued, or re-added while being processed) */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiters: Waiter[] = [];
  private readonly delayed = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: (() => void)[] = [];
  private shuttingDown = false;
  readonly rateLimiter: RateLimiter;
  readonly name: string;

  constructor(opts: WorkQueueOptions = {}) {
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter();
    this.name = opts.name ?? '';
  }

  /** Marks `key` as needing processing. A key already waiting is not queued twice. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `ms`; a key already waiting keeps the earlier of the two times. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const due = Date.now() + ms;
    const cur = this.delayed.get(key);
    if (cur && cur.due <= due) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { due, timer });
  }

  /** Adds `key` after its rate limiter's delay (one more failure for it). */
  addRateLimited(key: string): void {
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** `key` succeeded: its backoff starts over. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key to process; waits for one. After shutDown(), resolves with `shutdown: true`. */
  get(): Promise<{ key: string; shutdown: false } | { key: undefined; shutdown: true }> {
    if (this.shuttingDown) return Promise.resolve({ key: undefined, shutdown: true });
    const key = this.pop();
    if (key !== undefined) return Promise.resolve({ key, shutdown: false });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The worker finished `key`; if it was added meanwhile it goes back in the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Keys waiting to be handed out (not counting delayed or in-flight ones). */
  len(): number {
    return this.queue.length - this.head;
  }

  /** Keys that are queued, delayed or being processed. */
  pending(): number {
    return this.len() + this.delayed.size + this.processing.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops the queue: waiting and future get() calls see shutdown; queued and delayed keys are dropped. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.head = 0;
    for (const w of this.waiters.splice(0)) w({ key: undefined, shutdown: true });
  }

  /** Resolves when no key is being processed. */
  drained(): Promise<void> {
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private push(key: string): void {
    const w = this.waiters.shift();
    if (w) {
      this.dirty.delete(key);
      this.processing.add(key);
      w({ key, shutdown: false });
      return;
    }
    this.queue.push(key);
  }

  private pop(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}

/**
 * Runs `workers` loops that take keys from `queue` and call `sync(key)`: success forgets the key's
 * backoff, a thrown error requeues it rate-limited, a returned number requeues it after that many ms.
 * Resolves when the queue shuts down and every loop has finished its current key.
 */
export async function runWorkers(
  queue: WorkQueue,
  workers: number,
  sync: (key: string) => Promise<number | void>,
  log: (line: string) => void = () => {},
): Promise<void> {
  const loop = async () => {
    for (;;) {
      const item = await queue.get();
      if (item.shutdown) return;
      const key = item.key;
      try {
        const after = await sync(key);
        queue.forget(key);
        if (typeof after === 'number' && after >= 0) queue.addAfter(key, after);
      } catch (e) {
        log(`${queue.name ? queue.name + ': ' : ''}error syncing "${key}", requeuing: ${(e as Error)?.message ?? String(e)}`);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, loop));
}
