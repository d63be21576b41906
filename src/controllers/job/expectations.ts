// Expectations (upstream ControllerExpectations and uidTrackingExpectations): pod creations and
// deletions the controller waits to see in its cache before trusting it again, and the pods whose
// tracking finalizer it removed but whose update it has not seen yet.

/** Expectations older than this no longer block a sync (upstream 5 min). */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface Expectation {
  add: number;
  del: number;
  timestamp: number;
}

export class ControllerExpectations {
  private readonly records = new Map<string, Expectation>();

  constructor(private readonly now: () => number) {}

  satisfied(key: string): boolean {
    const e = this.records.get(key);
    if (!e || (e.add <= 0 && e.del <= 0)) return true;
    return this.now() - e.timestamp > EXPECTATIONS_TIMEOUT_MS;
  }

  expectCreations(key: string, n: number): void {
    this.records.set(key, { add: n, del: 0, timestamp: this.now() });
  }

  expectDeletions(key: string, n: number): void {
    this.records.set(key, { add: 0, del: n, timestamp: this.now() });
  }

  creationObserved(key: string): void {
    const e = this.records.get(key);
    if (e) e.add--;
  }

  deletionObserved(key: string): void {
    const e = this.records.get(key);
    if (e) e.del--;
  }

  delete(key: string): void {
    this.records.delete(key);
  }
}

export class FinalizerExpectations {
  private readonly uids = new Map<string, Set<string>>();

  expectRemoved(key: string, uids: string[]): void {
    let s = this.uids.get(key);
    if (!s) this.uids.set(key, (s = new Set()));
    for (const u of uids) s.add(u);
  }

  observed(key: string, uid: string): void {
    const s = this.uids.get(key);
    if (!s) return;
    s.delete(uid);
    if (!s.size) this.uids.delete(key);
  }

  expected(key: string): ReadonlySet<string> {
    return new Set(this.uids.get(key) ?? []);
  }

  delete(key: string): void {
    this.uids.delete(key);
  }
}
