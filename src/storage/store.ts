// The storage contract: a small etcd-like key/value store with one global revision.
// Keys look like `/<group or "core">/<resource>/<namespace>/<name>` (namespaced) or
// `/<group or "core">/<resource>/<name>` (cluster-scoped). Values are Kubernetes objects
// serialized as JSON text with `metadata.resourceVersion` set to the revision of the write
// that produced them, so readers can send the stored bytes as they are.

export interface StoredValue {
  key: string;
  /** revision of the last write to this key (== metadata.resourceVersion inside value) */
  rev: number;
  /** revision at which this key was created */
  createRev: number;
  /** JSON text of the object, resourceVersion included */
  value: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  key: string;
  rev: number;
  /** the object after the write; for DELETED, its last state with resourceVersion = rev */
  value: string;
  /** the object before the write (absent for ADDED; may be absent when replayed from old history) */
  prevValue?: string;
}

export interface ListOptions {
  /** at most this many items (0 or absent: all) */
  limit?: number;
  /** only keys strictly greater than this one (continuation) */
  after?: string;
  /** read the state as of this revision (absent: latest). Older than the compacted revision → StorageError Compacted */
  revision?: number;
}

export interface ListResult {
  items: StoredValue[];
  /** the revision the list reflects */
  revision: number;
  /** true when more items follow the last returned one */
  more: boolean;
  /** how many items follow (when known cheaply) */
  remaining?: number;
}

export interface Watcher {
  /** stop delivering events; idempotent */
  stop(): void;
}

export interface WatchOptions {
  /** deliver every event with rev > afterRev (older than the compacted revision → throws Compacted) */
  afterRev: number;
  /** called for each event, in revision order, synchronously from the write path or replay */
  onEvent(ev: StoreEvent): void;
}

export type StorageErrorCode = 'KeyExists' | 'NotFound' | 'Conflict' | 'Compacted' | 'Closed' | 'Internal';

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    readonly key: string,
    message: string,
    /** for Conflict: the current stored value; for Compacted: the compacted revision */
    readonly current?: StoredValue,
    readonly compactedRev?: number,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

export interface Store {
  /** The revision of the newest write (0 for an empty store). */
  currentRevision(): number;
  /** The oldest revision still served by watch/list-at-revision (events at or below it are gone). */
  compactedRevision(): number;

  get(key: string): Promise<StoredValue | undefined>;
  /** Keys that start with `prefix`, ordered by key. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** How many keys start with `prefix`. */
  count(prefix: string): Promise<number>;

  /**
   * Create `key`. `obj` is a JSON-serializable object; the store sets
   * `obj.metadata.resourceVersion` to the new revision, serializes it once, and stores it.
   * Throws StorageError KeyExists if the key exists.
   */
  create(key: string, obj: StorableObject): Promise<StoredValue>;
  /**
   * Replace `key` if its current revision is `expectedRev` (Conflict otherwise, NotFound if absent).
   * `prev`, when given, is the object stored at `expectedRev` as the caller parsed it: lent with `obj`
   * to the watchers of the write (see lentObjects).
   */
  update(key: string, obj: StorableObject, expectedRev: number, prev?: object): Promise<StoredValue>;
  /**
   * Delete `key` (if `expectedRev` is given, only at that revision → else Conflict).
   * Returns the last state, its resourceVersion set to the delete's revision.
   */
  delete(key: string, expectedRev?: number): Promise<StoredValue>;

  /** Watch keys that start with `prefix`. */
  watch(prefix: string, opts: WatchOptions): Watcher;

  /** Drop history older than what watch/list-at-revision need. Runs automatically too. */
  compact(): Promise<void>;
  close(): Promise<void>;
}

/** Any JSON object; its `metadata.resourceVersion` is set by the store on write. */
export type StorableObject = object;

/** The view of a StorableObject the store writes through. */
export interface StampedObject {
  metadata?: { resourceVersion?: string };
}

/** `prefix` for a range: every key that starts with prefix sorts in [prefix, prefixEnd(prefix)). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

// ---- the objects of a write, lent to its watchers ----

/** The parsed forms of a write's event: `value` is the object stored, `prev` the one it replaced. */
export interface LentObjects {
  value?: object;
  prev?: object;
}

const lent = new WeakMap<StoreEvent, LentObjects>();

/**
 * Publishes a write's event with the objects the writer holds (equal to the event's JSON, the stored
 * resourceVersion included): watchers that need the parsed object read these instead of parsing the
 * text again. They are lent for the synchronous delivery only — a watcher that keeps the event and
 * looks at it later parses it — and watchers read them, never change them.
 */
export function publishLending(ev: StoreEvent, objects: LentObjects, publish: (ev: StoreEvent) => void): void {
  if (objects.value === undefined && objects.prev === undefined) return publish(ev);
  lent.set(ev, objects);
  try {
    publish(ev);
  } finally {
    lent.delete(ev);
  }
}

/** The objects lent with `ev` while it is being delivered (see publishLending). */
export function lentObjects(ev: StoreEvent): LentObjects | undefined {
  return lent.get(ev);
}
