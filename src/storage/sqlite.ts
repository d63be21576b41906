// The embedded backend: one SQLite file in WAL mode, one writing connection, writes serialized by the
// (synchronous) driver, a revision log that feeds watches and is compacted in the background; a second
// connection, on a thread of its own, runs the log's checkpoints (checkpointer.ts).
import Database from 'better-sqlite3';
import { Checkpointer } from './checkpointer.js';
import {
  closedError,
  conflictError,
  keyExistsError,
  keyRange,
  listCompactedError,
  notFoundError,
  restampValue,
  restoreOnFailure,
  stampResourceVersion,
  watchCompactedError,
} from './encoding.js';
import { CompactionSchedule, DEFAULT_WATCH_WINDOW, type StoreOptions } from './retention.js';
import {
  publishLending,
  StorageError,
  type ListOptions,
  type ListResult,
  type StorableObject,
  type Store,
  type StoreEvent,
  type StoredValue,
  type WatchEventType,
  type WatchOptions,
  type Watcher,
} from './store.js';
import type { ValueTransformer } from './encryption.js';
import { WatchHub } from './watchhub.js';

// 1: objects WITHOUT ROWID (rows of ~1 KiB spilled to overflow pages); 2: a rowid table
const SCHEMA_VERSION = 2;
/** revisions deleted per compaction transaction, so a big backlog does not block writes for long */
const COMPACT_CHUNK = 10_000;
// Longer than the gaps of periodic writers (node Lease renewals come in ticks a second apart), which
// would otherwise pay a truncating checkpoint per tick.
const DEFAULT_CHECKPOINT_IDLE_MS = 2000;
// On the event loop a checkpoint blocked it while it copied the log's pages and synced the file (16 MiB of log
// stalled requests ~150 ms); on the checkpoint thread, a smaller log leaves less for this thread to copy after it.
const DEFAULT_CHECKPOINT_BYTES = 4 * 1024 * 1024;
const LOG_PAGES_PER_COMMIT = 4;
// how long a write may wait for the checkpoint thread's lock (a truncating checkpoint holds writers back)
const BUSY_TIMEOUT_MS = 5000;
// how long a second server waits for the first one's lock on the file before it gives up
const OWNER_TIMEOUT_MS = 1000;
// bounds of SqliteStore's cache of objects read by get and by lists of encrypted values
const READ_CACHE_ENTRIES = 8192;
const READ_CACHE_CHARS = 16 * 1024 * 1024;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  key TEXT PRIMARY KEY,
  rev INTEGER NOT NULL,
  create_rev INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  rev INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  prev_rev INTEGER,
  create_rev INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_key_rev ON events (key, rev);
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
`;

const OBJECT_COLUMNS = 'key, rev, create_rev AS createRev, value';

// The state at an older revision @at: objects with rev <= @at are unchanged since. Every other
// key has events after @at; the first one tells its state then: ADDED → absent, else its prev_rev
// is the event holding that state (compaction keeps such events).
const CHANGED_SINCE = `
WITH changed AS (
  SELECT key, min(rev) AS first, max(rev) AS last FROM events
  WHERE key >= max(@lo, @after) AND key <> @after AND key < @hi AND rev > @at
  GROUP BY key
)`;

// An event at or below @hi may go unless it holds the state of a key at @hi that changed later
// (the next event of its key comes after @hi). The state of keys unchanged since lives in objects
// (and is copied back into events when they change: see keepPrevious).
const COMPACT_CHUNK_SQL = `
DELETE FROM events WHERE rev <= @hi AND NOT (
  type != 'DELETED' AND
  coalesce((SELECT min(n.rev) FROM events n WHERE n.key = events.key AND n.rev > events.rev), 0) > @hi
)`;

interface EventRow {
  rev: number;
  type: WatchEventType;
  key: string;
  value: string;
  prevValue: string | null;
}

interface Page {
  lo: string;
  hi: string;
  after: string;
  limit: number;
}

function prepareStatements(db: Database.Database) {
  return {
    get: db.prepare<[string], StoredValue>(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE key = ?`),
    insertObject: db.prepare<[string, number, number, string]>(
      'INSERT INTO objects (key, rev, create_rev, value) VALUES (?, ?, ?, ?)',
    ),
    updateObject: db.prepare<[number, string, string]>('UPDATE objects SET rev = ?, value = ? WHERE key = ?'),
    deleteObject: db.prepare<[string]>('DELETE FROM objects WHERE key = ?'),
    insertEvent: db.prepare<[number, WatchEventType, string, string, number | null, number]>(
      'INSERT INTO events (rev, type, key, value, prev_rev, create_rev) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    list: db.prepare<Page, StoredValue>(
      `SELECT ${OBJECT_COLUMNS} FROM objects WHERE key >= max(@lo, @after) AND key <> @after AND key < @hi ORDER BY key LIMIT @limit`,
    ),
    listHeads: db.prepare<Page, Omit<StoredValue, 'value'>>(
      'SELECT key, rev, create_rev AS createRev FROM objects WHERE key >= max(@lo, @after) AND key <> @after AND key < @hi ORDER BY key LIMIT @limit',
    ),
    value: db.prepare<[string], string>('SELECT value FROM objects WHERE key = ?').pluck(),
    count: db
      .prepare<Omit<Page, 'limit'>, number>(
        'SELECT count(*) FROM objects WHERE key >= max(@lo, @after) AND key <> @after AND key < @hi',
      )
      .pluck(),
    listUnchangedSince: db.prepare<Page & { at: number }, StoredValue>(
      `SELECT ${OBJECT_COLUMNS} FROM objects
       WHERE key >= max(@lo, @after) AND key <> @after AND key < @hi AND rev <= @at ORDER BY key LIMIT @limit`,
    ),
    listChangedSince: db.prepare<Page & { at: number }, StoredValue>(
      `${CHANGED_SINCE}
       SELECT p.key, p.rev, p.create_rev AS createRev, p.value FROM changed c
       JOIN events f ON f.rev = c.first
       JOIN events p ON p.rev = f.prev_rev
       ORDER BY p.key LIMIT @limit`,
    ),
    /** among keys changed since @at: how many exist now, and how many existed at @at */
    countChangedSince: db.prepare<Omit<Page, 'limit'> & { at: number }, { existNow: number; existedThen: number }>(
      `${CHANGED_SINCE}
       SELECT coalesce(sum(l.type != 'DELETED'), 0) AS existNow, coalesce(sum(f.type != 'ADDED'), 0) AS existedThen
       FROM changed c
       JOIN events f ON f.rev = c.first
       JOIN events l ON l.rev = c.last`,
    ),
    eventsAfter: db.prepare<{ after: number; lo: string; hi: string }, EventRow>(
      `SELECT e.rev, e.type, e.key, e.value, p.value AS prevValue FROM events e
       LEFT JOIN events p ON p.rev = e.prev_rev
       WHERE e.rev > @after AND e.key >= @lo AND e.key < @hi ORDER BY e.rev`,
    ),
    restoreEvent: db.prepare<[number, WatchEventType, string, string, number]>(
      'INSERT OR IGNORE INTO events (rev, type, key, value, prev_rev, create_rev) VALUES (?, ?, ?, ?, NULL, ?)',
    ),
    maxRev: db.prepare<[], number | null>('SELECT max(rev) FROM events').pluck(),
    getMeta: db.prepare<[string], number>('SELECT value FROM meta WHERE name = ?').pluck(),
    setMeta: db.prepare<[string, number]>(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    ),
    compactChunk: db.prepare<{ hi: number }>(COMPACT_CHUNK_SQL),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * Takes this process's lock on a database file: an exclusive SQLite lock on an empty sidecar database
 * (`<file>-lock`), held by a transaction left open until the store closes. The kernel lets the lock go when the
 * process ends, however it ends; a second process waits OWNER_TIMEOUT_MS for it, then fails ("database is locked").
 */
function ownFile(path: string): Database.Database {
  const lock = new Database(`${path}-lock`, { timeout: OWNER_TIMEOUT_MS });
  try {
    // (its journal in memory: nothing is ever written, and no journal file appears next to it)
    lock.pragma('journal_mode = MEMORY');
    lock.exec('BEGIN EXCLUSIVE');
    return lock;
  } catch (err) {
    lock.close();
    throw err;
  }
}

/** One queued write; `apply` runs inside the batch's transaction and throws StorageError to fail alone. */
interface PendingWrite {
  obj?: StorableObject;
  /** the object at the expected revision, as the writer parsed it (lent to watchers with obj) */
  prev?: object;
  apply(rev: number, compacted: number): [StoredValue, StoredValue | undefined];
  type: WatchEventType;
  resolve(v: StoredValue): void;
  reject(e: unknown): void;
}

interface WriteOutcome {
  write: PendingWrite;
  stored?: StoredValue;
  prev?: StoredValue;
  error?: unknown;
}

/** Stored text ↔ plain JSON; the identity unless encryption at rest covers the key. */
interface Codec {
  toStorage(key: string, plain: string): string;
  fromStorage(key: string, stored: string): string;
  /** whether values under `prefix` may be stored encrypted */
  mayEncrypt?(prefix: string): boolean;
}

const IDENTITY: Codec = { toStorage: (_k, v) => v, fromStorage: (_k, v) => v };

function plain(c: Codec, v: StoredValue): StoredValue {
  const value = c.fromStorage(v.key, v.value);
  return value === v.value ? v : { ...v, value };
}

/** The plain value of `row` as the store's read cache holds it at the same revision, if it does. */
type CachedPlain = (row: StoredValue) => StoredValue | undefined;

// Rows are read and copied (keepPrevious) in their stored form; callers and watchers get plain JSON.
function prepareWrites(s: Statements, c: Codec, cached: CachedPlain) {
  const plainRow = (row: StoredValue) => cached(row) ?? plain(c, row);
  return {
    create(key: string, obj: StorableObject, rev: number): [StoredValue, undefined] {
      if (s.get.get(key)) throw keyExistsError(key);
      const value = stampResourceVersion(obj, rev);
      const stored = c.toStorage(key, value);
      s.insertObject.run(key, rev, rev, stored);
      s.insertEvent.run(rev, 'ADDED', key, stored, null, rev);
      return [{ key, rev, createRev: rev, value }, undefined];
    },
    update(key: string, obj: StorableObject, expectedRev: number, rev: number, compacted: number): [StoredValue, StoredValue] {
      const current = s.get.get(key);
      if (!current) throw notFoundError(key);
      if (current.rev !== expectedRev) throw conflictError(key, expectedRev, plainRow(current));
      keepPrevious(s, current, compacted);
      const value = stampResourceVersion(obj, rev);
      const stored = c.toStorage(key, value);
      s.updateObject.run(rev, stored, key);
      s.insertEvent.run(rev, 'MODIFIED', key, stored, current.rev, current.createRev);
      return [{ key, rev, createRev: current.createRev, value }, plainRow(current)];
    },
    delete(key: string, expectedRev: number | undefined, rev: number, compacted: number): [StoredValue, StoredValue] {
      const stored = s.get.get(key);
      if (!stored) throw notFoundError(key);
      const current = plainRow(stored);
      if (expectedRev !== undefined && current.rev !== expectedRev) throw conflictError(key, expectedRev, current);
      keepPrevious(s, stored, compacted);
      const value = restampValue(current.value, rev);
      s.deleteObject.run(key);
      s.insertEvent.run(rev, 'DELETED', key, c.toStorage(key, value), current.rev, current.createRev);
      return [{ key, rev, createRev: current.createRev, value }, current];
    },
  };
}

function prepareTransactions(db: Database.Database, s: Statements) {
  return {
    /**
     * Group commit: every write queued in one turn of the event loop shares one transaction (one WAL
     * commit). Each write checks its own preconditions first, so one that fails with a StorageError
     * has written nothing and fails alone; any other error rolls the whole batch back.
     */
    batch: db.transaction((writes: PendingWrite[], firstRev: number, compacted: number): WriteOutcome[] => {
      let rev = firstRev;
      return writes.map((write) => {
        try {
          const [stored, prev] = write.obj
            ? restoreOnFailure(write.obj, () => write.apply(rev, compacted))
            : write.apply(rev, compacted);
          rev++;
          return { write, stored, prev };
        } catch (error) {
          if (!(error instanceof StorageError)) throw error;
          return { write, error };
        }
      });
    }),
    compactChunk: db.transaction((hi: number) => {
      s.compactChunk.run({ hi });
      s.setMeta.run('compacted', hi);
    }),
  };
}

/** Schema 1 kept objects WITHOUT ROWID; copy them into the rowid table once. */
function migrateFromV1(db: Database.Database): void {
  db.transaction(() => {
    db.exec(`
      CREATE TABLE objects_v2 (key TEXT PRIMARY KEY, rev INTEGER NOT NULL, create_rev INTEGER NOT NULL, value TEXT NOT NULL);
      INSERT INTO objects_v2 (key, rev, create_rev, value) SELECT key, rev, create_rev, value FROM objects ORDER BY key;
      DROP INDEX IF EXISTS objects_key;
      DROP TABLE objects;
      ALTER TABLE objects_v2 RENAME TO objects;
    `);
    db.prepare("UPDATE meta SET value = ? WHERE name = 'schema'").run(SCHEMA_VERSION);
  }).immediate();
}

type Transactions = ReturnType<typeof prepareTransactions>;

/**
 * Before a key changes, makes sure the event holding its current state exists: list-at-revision
 * and watch read it through the next event's prev_rev. Compaction may have dropped it while it was
 * only the live state; the live row holds the same bytes.
 */
function keepPrevious(s: Statements, current: StoredValue, compacted: number): void {
  if (current.rev > compacted) return;
  const type: WatchEventType = current.createRev === current.rev ? 'ADDED' : 'MODIFIED';
  s.restoreEvent.run(current.rev, type, current.key, current.value, current.createRev);
}

export class SqliteStore implements Store {
  private rev: number;
  private compacted: number;
  private closed = false;
  private readonly hub: WatchHub;
  private readonly schedule: CompactionSchedule;
  private compaction: Promise<void> = Promise.resolve();

  private readonly stmt: Statements;
  private readonly tx: Transactions;
  private readonly writes: ReturnType<typeof prepareWrites>;
  private pending: PendingWrite[] = [];
  private readonly codec: Codec;
  /**
   * Objects read by `get` (and encrypted ones listed), kept current by this process's commits (the only writer
   * of the file): reading the same object again costs no query and no decryption. Bounded; the oldest go first.
   */
  private readonly readCache = new Map<string, StoredValue>();
  private readCacheChars = 0;
  /** about how many bytes were committed to the write-ahead log since the last checkpoint */
  private logBytes = 0;
  private lastWriteAt = 0;
  /**
   * Runs the passive checkpoints of a file database on a thread of its own (their time is mostly the wait for
   * the disk). Started by the first checkpoint that a full log calls for (a thread costs ~10 MB, and a store
   * whose writes pause is checkpointed in the pauses); null for an in-memory database, or when it could not
   * start (then they run on the event loop).
   */
  private checkpointer: Checkpointer | null | undefined;
  /** checkpoints completed: by the checkpoint thread, and on the event loop (remainders, truncations, fallbacks) */
  readonly checkpoints = { thread: 0, eventLoop: 0 };
  /** written to since the last truncating checkpoint: a pause empties the log file (a passive checkpoint keeps its size) */
  private logUntruncated = false;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private readonly checkpointIdleMs: number;
  private readonly checkpointBytes: number;

  private constructor(
    private readonly db: Database.Database,
    opts: StoreOptions,
    /** holds the file's ownership lock for as long as the store is open (see open) */
    private readonly owner: Database.Database | undefined,
  ) {
    const s = (this.stmt = prepareStatements(db));
    this.tx = prepareTransactions(db, s);
    this.codec = opts.valueTransformer ?? IDENTITY;
    this.checkpointIdleMs = opts.checkpointIdleMs ?? DEFAULT_CHECKPOINT_IDLE_MS;
    this.checkpointBytes = opts.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES;
    this.writes = prepareWrites(s, this.codec, (row) => {
      const hit = this.readCache.get(row.key);
      return hit && hit.rev === row.rev ? hit : undefined;
    });
    this.compacted = s.getMeta.get('compacted') ?? 0;
    this.rev = Math.max(s.maxRev.get() ?? 0, this.compacted);
    this.hub = new WatchHub(opts.watchWindow ?? DEFAULT_WATCH_WINDOW, this.rev);
    this.schedule = new CompactionSchedule(
      opts,
      this.rev,
      () => this.compactNow(),
      () => this.rev - this.compacted > this.schedule.historyRevisions,
    );
    if (db.memory) this.checkpointer = null;
  }

  static open(path: string, opts: StoreOptions = {}): SqliteStore {
    // Only this process writes the file (the store's revisions and watches live in its memory): a second server
    // opening the same file fails instead of interleaving. Its checkpoint thread is the one other connection.
    const owner = path === '' || path === ':memory:' ? undefined : ownFile(path);
    // timeout is SQLite's busy_timeout: the checkpoint thread's truncations are the only lock we may wait for.
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
      // Must precede the first table; an older file without it is converted once by VACUUM.
      db.pragma('auto_vacuum = INCREMENTAL');
      // An in-memory database has no other connection: no locking per transaction.
      if (db.memory) db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      // With WAL, NORMAL loses nothing on a process crash (only on power loss).
      db.pragma('synchronous = NORMAL');
      db.pragma('journal_size_limit = 16777216');
      // A checkpoint copies the log into the database file and syncs it, blocking the event loop: the store
      // runs them itself when writes pause (or the log grows large), not inside every 1,000th page's commit.
      db.pragma('wal_autocheckpoint = 0');
      db.exec(SCHEMA);
      if (db.pragma('auto_vacuum', { simple: true }) !== 2) db.exec('VACUUM');
      const version = db.prepare<[], number>("SELECT value FROM meta WHERE name = 'schema'").pluck().get();
      if (version === undefined) {
        db.prepare("INSERT INTO meta (name, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
      } else if (version === 1) {
        migrateFromV1(db);
      } else if (version !== SCHEMA_VERSION) {
        throw new Error(`storage: ${path} has schema version ${version}, this build reads ${SCHEMA_VERSION}`);
      }
      return new SqliteStore(db, opts, owner);
    } catch (err) {
      db?.close();
      owner?.close();
      throw err;
    }
  }

  currentRevision(): number {
    this.assertOpen();
    return this.rev;
  }

  compactedRevision(): number {
    this.assertOpen();
    return this.compacted;
  }

  async get(key: string): Promise<StoredValue | undefined> {
    this.assertOpen();
    const hit = this.readCache.get(key);
    if (hit) return { ...hit };
    const row = this.stmt.get.get(key);
    if (!row) return undefined;
    const v = plain(this.codec, row);
    this.cacheRead(key, v);
    return { ...v };
  }

  private cacheRead(key: string, v: StoredValue): void {
    const old = this.readCache.get(key);
    if (old) {
      this.readCacheChars -= old.value.length;
      this.readCache.delete(key);
    }
    this.readCache.set(key, v);
    this.readCacheChars += v.value.length;
    while (this.readCache.size > READ_CACHE_ENTRIES || this.readCacheChars > READ_CACHE_CHARS) {
      const [oldest, ov] = this.readCache.entries().next().value as [string, StoredValue];
      this.readCache.delete(oldest);
      this.readCacheChars -= ov.value.length;
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.assertOpen();
    const { lo, hi } = keyRange(prefix);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const after = opts.after ?? '';
    const at = opts.revision;
    if (at !== undefined && at < this.rev) {
      if (at < this.compacted) throw listCompactedError(prefix, at, this.compacted);
      return this.listAt(lo, hi, after, limit, at);
    }
    const page = { lo, hi, after, limit: limit < 0 ? -1 : limit + 1 };
    const encrypted = this.codec.mayEncrypt?.(prefix) ?? false;
    const rows: Omit<StoredValue, 'value'>[] = encrypted ? this.stmt.listHeads.all(page) : this.stmt.list.all(page);
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    const items = encrypted ? this.currentValues(rows) : this.plainAll(rows as StoredValue[]);
    if (!more) return { items, revision: this.rev, more: false, remaining: 0 };
    const remaining = this.stmt.count.get({ lo, hi, after: items[limit - 1].key }) ?? 0;
    return { items, revision: this.rev, more, remaining };
  }

  /** A page of the state at revision `at`: unchanged objects merged with reconstructed ones. */
  private listAt(lo: string, hi: string, after: string, limit: number, at: number): ListResult {
    const page = { lo, hi, after, at, limit: limit < 0 ? -1 : limit + 1 };
    const unchanged = this.plainAll(this.stmt.listUnchangedSince.all(page));
    const changed = this.plainAll(this.stmt.listChangedSince.all(page));
    const items: StoredValue[] = [];
    let i = 0;
    let j = 0;
    while ((i < unchanged.length || j < changed.length) && (page.limit < 0 || items.length < page.limit)) {
      const takeUnchanged = j >= changed.length || (i < unchanged.length && unchanged[i].key < changed[j].key);
      items.push(takeUnchanged ? unchanged[i++] : changed[j++]);
    }
    const more = limit > 0 && items.length > limit;
    if (!more) return { items, revision: at, more: false, remaining: 0 };
    items.length = limit;
    const rest = { lo, hi, after: items[limit - 1].key };
    const counts = this.stmt.countChangedSince.get({ ...rest, at })!;
    const remaining = (this.stmt.count.get(rest) ?? 0) - counts.existNow + counts.existedThen;
    return { items, revision: at, more, remaining };
  }

  /**
   * The current objects of `heads` (read in the same turn, so no write came between): from the read cache
   * where it holds them, else read and decrypted once and kept there, so the next page of the same
   * objects decrypts nothing.
   */
  private currentValues(heads: Omit<StoredValue, 'value'>[]): StoredValue[] {
    return heads.map((head) => {
      const hit = this.readCache.get(head.key);
      if (hit && hit.rev === head.rev) return { ...hit };
      const v = plain(this.codec, { ...head, value: this.stmt.value.get(head.key)! });
      this.cacheRead(head.key, v);
      return { ...v };
    });
  }

  /** Rows as plain values; a row whose revision the read cache holds is not decrypted again. */
  private plainAll(rows: StoredValue[]): StoredValue[] {
    if (this.codec === IDENTITY) return rows;
    return rows.map((row) => {
      const hit = this.readCache.get(row.key);
      return hit && hit.rev === row.rev ? { ...hit } : plain(this.codec, row);
    });
  }

  /**
   * Rewrites every stored value under `prefixes` that is not in the form the transformer writes now (plain
   * text, or an older key) — objects and history alike, in place: contents and revisions do not change.
   * Returns how many values were rewritten.
   */
  reencrypt(transformer: ValueTransformer, prefixes: string[]): number {
    this.assertOpen();
    this.flushPending();
    const db = this.db;
    const objects = db.prepare<[string, string], { key: string; value: string }>('SELECT key, value FROM objects WHERE key >= ? AND key < ?');
    const events = db.prepare<[string, string], { rev: number; key: string; value: string }>('SELECT rev, key, value FROM events WHERE key >= ? AND key < ?');
    const setObject = db.prepare<[string, string]>('UPDATE objects SET value = ? WHERE key = ?');
    const setEvent = db.prepare<[string, number]>('UPDATE events SET value = ? WHERE rev = ?');
    let n = 0;
    db.transaction(() => {
      for (const prefix of prefixes) {
        const { lo, hi } = keyRange(prefix);
        for (const row of objects.all(lo, hi)) {
          if (!transformer.isStale(row.key, row.value)) continue;
          setObject.run(transformer.toStorage(row.key, this.codec.fromStorage(row.key, row.value)), row.key);
          n++;
        }
        for (const row of events.all(lo, hi)) {
          if (!transformer.isStale(row.key, row.value)) continue;
          setEvent.run(transformer.toStorage(row.key, this.codec.fromStorage(row.key, row.value)), row.rev);
          n++;
        }
      }
    }).immediate();
    // old ciphertexts and plain text must not linger in free pages or the WAL
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
    return n;
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    return this.stmt.count.get({ ...keyRange(prefix), after: '' }) ?? 0;
  }

  create(key: string, obj: StorableObject): Promise<StoredValue> {
    return this.enqueue('ADDED', obj, (rev) => this.writes.create(key, obj, rev));
  }

  update(key: string, obj: StorableObject, expectedRev: number, prev?: object): Promise<StoredValue> {
    return this.enqueue('MODIFIED', obj, (rev, compacted) => this.writes.update(key, obj, expectedRev, rev, compacted), prev);
  }

  delete(key: string, expectedRev?: number): Promise<StoredValue> {
    return this.enqueue('DELETED', undefined, (rev, compacted) => this.writes.delete(key, expectedRev, rev, compacted));
  }

  private enqueue(type: WatchEventType, obj: StorableObject | undefined, apply: PendingWrite['apply'], prev?: object): Promise<StoredValue> {
    if (this.closed) return Promise.reject(closedError());
    return new Promise<StoredValue>((resolve, reject) => {
      this.pending.push({ type, obj, prev, apply, resolve, reject });
      if (this.pending.length === 1) setImmediate(this.flushPending);
    });
  }

  private readonly flushPending = (): void => {
    const writes = this.pending;
    if (writes.length === 0) return;
    this.pending = [];
    if (this.closed) {
      for (const w of writes) w.reject(closedError());
      return;
    }
    let outcomes: WriteOutcome[];
    try {
      outcomes = this.tx.batch.immediate(writes, this.rev + 1, this.compacted);
    } catch (err) {
      for (const w of writes) w.reject(err);
      return;
    }
    let bytes = 0;
    for (const { write, stored, prev, error } of outcomes) {
      if (!stored) {
        write.reject(error);
        continue;
      }
      // the object row and its event row
      bytes += 2 * (stored.value.length + stored.key.length);
      const ev: StoreEvent = { type: write.type, key: stored.key, rev: stored.rev, value: stored.value };
      if (prev) ev.prevValue = prev.value;
      this.committed(ev, stored, write);
      write.resolve(stored);
    }
    // and the index and interior pages the commit rewrote as well
    if (bytes) this.wroteLog(bytes + LOG_PAGES_PER_COMMIT * 4096);
  };

  private wroteLog(bytes: number): void {
    this.logBytes += bytes;
    this.logUntruncated = true;
    this.lastWriteAt = performance.now();
    // The log file is kept for reuse; on this thread only after the writers of this batch have their answers, and
    // when the checkpoint thread is not there, or (starting, or slow) lets the log grow past twice the threshold.
    if (this.logBytes >= this.checkpointBytes) {
      const onThread = this.checkpointOffThread();
      if (!onThread || this.logBytes >= 2 * this.checkpointBytes) setImmediate(this.checkpoint, 'PASSIVE');
    }
    this.checkpointTimer ??= setTimeout(this.checkpointWhenIdle, this.checkpointIdleMs).unref();
  }

  /**
   * Starts a passive checkpoint on the checkpoint thread; false when there is none ready to run it. The log
   * file starts over (rather than grow) only after a checkpoint that copied every commit, and commits go on
   * during the thread's: once it is done, this thread copies the few made meanwhile.
   */
  private checkpointOffThread(): boolean {
    if (this.checkpointer === undefined) {
      try {
        this.checkpointer = new Checkpointer(this.db.name, BUSY_TIMEOUT_MS);
      } catch (e) {
        this.checkpointer = null;
        console.error(`storage: checkpoints run on the event loop (no thread for them: ${(e as Error).message})`);
      }
    }
    const c = this.checkpointer;
    if (!c?.ready) return false;
    if (c.busy) return true;
    c.run().then(
      () => {
        this.checkpoints.thread++;
        this.checkpoint('PASSIVE');
      },
      (e: Error) => {
        // (a full disk, say) the log keeps every commit; the next write past the threshold tries again
        if (!this.closed && !c.gone) console.error(`storage: checkpoint: ${e.message}`);
      },
    );
    return true;
  }

  private readonly checkpointWhenIdle = (): void => {
    this.checkpointTimer = undefined;
    const quiet = performance.now() - this.lastWriteAt;
    // (a truncation here would wait for the checkpoint thread's, on the event loop)
    if (quiet < this.checkpointIdleMs || this.checkpointer?.busy) {
      this.checkpointTimer = setTimeout(this.checkpointWhenIdle, Math.max(10, this.checkpointIdleMs - quiet)).unref();
      return;
    }
    this.checkpoint('TRUNCATE');
  };

  private readonly checkpoint = (mode: 'PASSIVE' | 'TRUNCATE'): void => {
    if (this.closed || (mode === 'PASSIVE' ? this.logBytes === 0 : !this.logUntruncated)) return;
    try {
      const [r] = this.db.pragma(`wal_checkpoint(${mode})`) as { busy: number }[];
      // busy: the checkpoint thread is running one (a passive checkpoint does not wait for it)
      if (r?.busy) return;
      this.checkpoints.eventLoop++;
      this.logBytes = 0;
      if (mode === 'TRUNCATE') this.logUntruncated = false;
    } catch {
      // (a full disk, say) the log keeps every commit; the next pause tries again
    }
  };

  watch(prefix: string, opts: WatchOptions): Watcher {
    this.assertOpen();
    if (opts.afterRev < this.compacted) throw watchCompactedError(prefix, opts.afterRev, this.compacted);
    return this.hub.watch(prefix, opts.afterRev, opts.onEvent, (after, p) =>
      this.stmt.eventsAfter.all({ after, ...keyRange(p) }).map((row) => {
        const ev: StoreEvent = { type: row.type, key: row.key, rev: row.rev, value: this.codec.fromStorage(row.key, row.value) };
        if (row.prevValue !== null) ev.prevValue = this.codec.fromStorage(row.key, row.prevValue);
        return ev;
      }),
    );
  }

  async compact(): Promise<void> {
    this.assertOpen();
    await this.compactNow();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushPending();
    this.closed = true;
    this.schedule.stop();
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.hub.clear();
    this.readCache.clear();
    // the last connection to close copies the log into the file and removes it
    await this.checkpointer?.close();
    this.db.close();
    this.owner?.close();
  }

  private committed(ev: StoreEvent, stored: StoredValue, write: PendingWrite): void {
    const cached = this.readCache.get(ev.key);
    if (cached) {
      this.readCacheChars -= cached.value.length;
      if (ev.type === 'DELETED') this.readCache.delete(ev.key);
      else {
        this.readCache.set(ev.key, { ...stored });
        this.readCacheChars += stored.value.length;
      }
    }
    this.rev = ev.rev;
    // (the writer's objects: encrypted values are stored as ciphertext but published as plain JSON, like obj)
    publishLending(ev, { value: write.obj, prev: ev.prevValue === undefined ? undefined : write.prev }, this.hub.publish);
    this.schedule.wrote();
  }

  /** Runs after any compaction in progress, so at most one runs at a time. */
  private compactNow(): Promise<void> {
    const run = this.compaction.then(() => this.compactOnce());
    this.compaction = run.catch(() => undefined);
    return run;
  }

  private async compactOnce(): Promise<void> {
    if (this.closed) return;
    const target = this.schedule.target(this.rev);
    if (target <= this.compacted) return;
    while (this.compacted < target) {
      const hi = Math.min(target, this.compacted + COMPACT_CHUNK);
      this.tx.compactChunk.immediate(hi);
      this.compacted = hi;
      if (hi < target) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.closed) return;
      }
    }
    this.db.exec('PRAGMA incremental_vacuum');
    // (after the checkpoint thread's, if one runs: here it would wait for it on the event loop)
    await this.checkpointer?.settled();
    if (!this.closed) this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }
}
