// Controller expectations (upstream ControllerExpectations / UIDTrackingControllerExpectations):
// how many creations and deletions a controller waits to see in its caches before it trusts them
// enough to act again, so a burst of creates is not repeated while the watch catches up.

/** Expectations older than this are considered stale and no longer block a sync (upstream 5 min). */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface Expectation {
  add: number;
  del: number;
  timestamp: number;
}

export class ControllerExpectations {
  private readonly records = new Map<string, Expectation>();
  /** keys (`namespace/name`) of the pods whose deletion `controllerKey` waits for */
  private readonly deletions = new Map<string, Set<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** True when `key` has nothing outstanding (or never set expectations, or they expired). */
  satisfied(key: string): boolean {
    const e = this.records.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.now() - e.timestamp > EXPECTATIONS_TIMEOUT_MS;
  }

  expectCreations(key: string, count: number): void {
    this.records.set(key, { add: count, del: 0, timestamp: this.now() });
  }

  /** Expects the pods with these keys to go away; each is counted once however it is observed. */
  expectDeletions(key: string, podKeys: string[]): void {
    this.deletions.set(key, new Set(podKeys));
    this.records.set(key, { add: 0, del: podKeys.length, timestamp: this.now() });
  }

  creationObserved(key: string): void {
    const e = this.records.get(key);
    if (e) e.add--;
  }

  deletionObserved(key: string, podKey: string): void {
    const pending = this.deletions.get(key);
    if (!pending?.has(podKey)) return;
    pending.delete(podKey);
    const e = this.records.get(key);
    if (e) e.del--;
  }

  /** The outstanding counts of `key`, for tests and logs. */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.records.get(key);
    return e ? { add: e.add, del: e.del } : undefined;
  }

  delete(key: string): void {
    this.records.delete(key);
    this.deletions.delete(key);
  }
}
