import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { ValueTransformer } from '../../src/storage/encryption.js';
import { SqliteStore } from '../../src/storage/sqlite.js';
import type { StoreEvent } from '../../src/storage/store.js';
import { obj, pod, resourceVersionOf, runStoreConformance } from './conformance.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tempDirs: string[] = [];

function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'timonel-sqlite-'));
  tempDirs.push(dir);
  return path.join(dir, 'state.db');
}

function fileSize(file: string): number {
  return [file, `${file}-wal`, `${file}-shm`].reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
}

after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

runStoreConformance('sqlite', (opts) => SqliteStore.open(tempFile(), opts));

// every value of the conformance suite (pods, configmaps) encrypted at rest: the same behaviour
const encryptEverything = ValueTransformer.fromConfiguration({
  resources: [{ resources: ['pods', 'configmaps'], providers: [{ aesgcm: { keys: [{ name: 'k', secret: Buffer.alloc(32, 7).toString('base64') }] } }] }],
});
runStoreConformance('sqlite with encryption at rest', (opts) => SqliteStore.open(tempFile(), { ...opts, valueTransformer: encryptEverything }));

describe('SqliteStore', () => {
  it('commits writes made in one turn together: consecutive revisions, a failing write fails alone', async () => {
    const store = SqliteStore.open(tempFile());
    try {
      await store.create('/core/pods/ns/taken', pod('taken'));
      const seen: StoreEvent[] = [];
      store.watch('/core/pods/', { afterRev: 1, onEvent: (ev) => seen.push(ev) });
      const results = await Promise.allSettled([
        store.create('/core/pods/ns/a', pod('a')),
        store.create('/core/pods/ns/taken', pod('taken')),
        store.create('/core/pods/ns/b', pod('b')),
        store.update('/core/pods/ns/taken', pod('taken'), 999),
        store.delete('/core/pods/ns/a'),
      ]);
      assert.deepEqual(
        results.map((r) => (r.status === 'fulfilled' ? r.value.rev : (r.reason as { code: string }).code)),
        [2, 'KeyExists', 3, 'Conflict', 4],
      );
      assert.deepEqual(
        seen.map((e) => `${e.type} ${e.key} ${e.rev}`),
        ['ADDED /core/pods/ns/a 2', 'ADDED /core/pods/ns/b 3', 'DELETED /core/pods/ns/a 4'],
      );
      assert.equal(store.currentRevision(), 4);
      assert.equal((await store.get('/core/pods/ns/a')), undefined);
      assert.equal(resourceVersionOf((await store.get('/core/pods/ns/b'))!.value), '3');
    } finally {
      await store.close();
    }
  });

  it('answers repeated gets from memory, always current with its own writes', async () => {
    const store = SqliteStore.open(tempFile());
    const a = await store.create('/t/a', obj('T', 'a', { v: 1 }));
    assert.deepEqual(await store.get('/t/a'), a);
    assert.deepEqual(await store.get('/t/a'), a);
    // the store's own writes replace and remove what it holds, in the order they commit
    const b = await store.update('/t/a', obj('T', 'a', { v: 2 }), a.rev);
    assert.deepEqual(await store.get('/t/a'), b);
    const returned = (await store.get('/t/a'))!;
    returned.value = 'mutated by a caller';
    assert.equal((await store.get('/t/a'))!.value, b.value, 'callers get copies');
    await assert.rejects(store.update('/t/a', obj('T', 'a', { v: 3 }), a.rev));
    assert.equal((await store.get('/t/a'))!.rev, b.rev, 'a failed write changes nothing held');
    await store.delete('/t/a');
    assert.equal(await store.get('/t/a'), undefined);
    const c = await store.create('/t/a', obj('T', 'a', { v: 4 }));
    assert.deepEqual(await store.get('/t/a'), c);
    // bounded: far more objects than it keeps are all still read right
    for (let i = 0; i < 5000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => store.create(`/t/many-${i + j}`, obj('T', `many-${i + j}`, { i: i + j }))));
    for (let i = 0; i < 5000; i += 3) await store.get(`/t/many-${i}`);
    for (let i = 0; i < 5000; i += 7) assert.equal(JSON.parse((await store.get(`/t/many-${i}`))!.value).i, i);
    await store.close();
  });

  it('encrypted lists reuse what gets decrypted, never a stale revision (current or at an old revision)', async () => {
    const store = SqliteStore.open(tempFile(), { valueTransformer: encryptEverything });
    const key = (n: string) => `/core/configmaps/ns/${n}`;
    const a1 = await store.create(key('a'), obj('ConfigMap', 'a', { data: { v: '1' } }));
    await store.create(key('b'), obj('ConfigMap', 'b', { data: { v: '1' } }));
    await store.get(key('a'));
    const a2 = await store.update(key('a'), obj('ConfigMap', 'a', { data: { v: '2' } }), a1.rev);
    const now = await store.list('/core/configmaps/ns/');
    assert.deepEqual(now.items.map((i) => JSON.parse(i.value).data.v), ['2', '1']);
    assert.equal(now.items[0].rev, a2.rev);
    const then = await store.list('/core/configmaps/ns/', { revision: a1.rev + 1 });
    assert.deepEqual(then.items.map((i) => JSON.parse(i.value).data.v), ['1', '1']);
    await store.close();
  });

  it('decrypts each listed object once: later lists of it come from memory, same bytes, current with writes', async () => {
    const file = tempFile();
    const transformer = ValueTransformer.fromConfiguration({
      resources: [{ resources: ['configmaps'], providers: [{ aesgcm: { keys: [{ name: 'k', secret: Buffer.alloc(32, 9).toString('base64') }] } }] }],
    });
    let decrypted = 0;
    const fromStorage = transformer.fromStorage.bind(transformer);
    transformer.fromStorage = (key, stored) => {
      decrypted++;
      return fromStorage(key, stored);
    };
    const key = (i: number) => `/core/configmaps/ns/cm-${String(i).padStart(4, '0')}`;
    const store = SqliteStore.open(file, { valueTransformer: transformer });
    try {
      for (let i = 0; i < 300; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => store.create(key(i + j), obj('ConfigMap', `cm-${i + j}`, { data: { v: '0' } }))));
      const first = await store.list('/core/configmaps/ns/', { limit: 100 });
      assert.equal(decrypted, 100, 'a cold page decrypts each of its objects');
      const again = await store.list('/core/configmaps/ns/', { limit: 100 });
      assert.equal(decrypted, 100, 'the same page again decrypts nothing');
      assert.deepEqual(again, first);
      again.items[0].value = 'mutated by a caller';
      assert.notEqual((await store.list('/core/configmaps/ns/', { limit: 1 })).items[0].value, 'mutated by a caller', 'callers get copies');

      // an update of a held object neither decrypts its previous value nor leaves the list stale
      const seen: StoreEvent[] = [];
      store.watch('/core/configmaps/', { afterRev: store.currentRevision(), onEvent: (ev) => seen.push(ev) });
      const old5 = first.items[5];
      const new5 = await store.update(key(5), obj('ConfigMap', 'cm-5', { data: { v: '1' } }), old5.rev);
      assert.equal(decrypted, 100);
      assert.equal(seen[0].prevValue, old5.value, 'the watch event carries the previous object');
      const after = await store.list('/core/configmaps/ns/', { limit: 100 });
      assert.equal(decrypted, 100);
      assert.deepEqual(after.items[5], new5);
      assert.equal(after.revision, new5.rev);

      // the next page, current and at the first page's revision (a continue token's list)
      const [old150] = (await store.list('/core/configmaps/ns/', { limit: 1, after: key(149) })).items;
      await store.update(key(150), obj('ConfigMap', 'cm-150', { data: { v: '1' } }), old150.rev);
      const page2Then = await store.list('/core/configmaps/ns/', { limit: 100, after: key(99), revision: first.revision });
      assert.equal(page2Then.revision, first.revision);
      assert.deepEqual(page2Then.items.map((i) => JSON.parse(i.value).data.v), Array(100).fill('0'));
      assert.deepEqual(page2Then.items[50], old150);
      const page2Now = await store.list('/core/configmaps/ns/', { limit: 100, after: key(99) });
      assert.equal(JSON.parse(page2Now.items[50].value).data.v, '1');
      assert.equal(page2Now.remaining, 100);

      // the same bytes a store that holds nothing in memory reads
      const whole = await store.list('/core/configmaps/ns/');
      await store.close();
      const cold = SqliteStore.open(file, { valueTransformer: transformer });
      try {
        assert.deepEqual(await cold.list('/core/configmaps/ns/'), whole);
      } finally {
        await cold.close();
      }
    } finally {
      await store.close();
    }
  });

  it('keeps what lists decrypt within the bounds of its cache', async () => {
    const transformer = ValueTransformer.fromConfiguration({
      resources: [{ resources: ['configmaps'], providers: [{ aesgcm: { keys: [{ name: 'k', secret: Buffer.alloc(32, 3).toString('base64') }] } }] }],
    });
    let decrypted = 0;
    const fromStorage = transformer.fromStorage.bind(transformer);
    transformer.fromStorage = (key, stored) => {
      decrypted++;
      return fromStorage(key, stored);
    };
    const store = SqliteStore.open(tempFile(), { valueTransformer: transformer });
    try {
      // more objects than the cache holds (8,192): a second full list still has to decrypt the ones it let go
      const n = 9000;
      for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: 500 }, (_, j) => store.create(`/core/configmaps/ns/cm-${i + j}`, obj('ConfigMap', `cm-${i + j}`, {}))));
      assert.equal((await store.list('/core/configmaps/ns/')).items.length, n);
      assert.equal(decrypted, n);
      decrypted = 0;
      assert.equal((await store.list('/core/configmaps/ns/')).items.length, n);
      assert.ok(decrypted >= n - 8192, `only what the cache holds is not decrypted again (${decrypted} of ${n} were)`);
    } finally {
      await store.close();
    }
  });

  it('checkpoints a steady stream of writes every few MiB by default, on a thread of its own, and the log stays bounded', async () => {
    const file = tempFile();
    const walSize = () => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
    const store = SqliteStore.open(file);
    try {
      // 600 commits of ~10 KB objects put about 20 MB into the log; it is reused after each checkpoint
      let largest = 0;
      for (let i = 0; i < 600; i++) {
        await store.create(`/t/big-${i}`, obj('T', `big-${i}`, { data: 'z'.repeat(10_000) }));
        await new Promise((r) => setImmediate(r));
        largest = Math.max(largest, walSize());
      }
      // (the event loop checkpoints until the thread has opened the file, then what came during the thread's)
      assert.ok(store.checkpoints.thread >= 1, `the checkpoint thread ran checkpoints (${JSON.stringify(store.checkpoints)})`);
      assert.ok(largest < 16 * 1024 * 1024, `the log stayed within a few checkpoints' worth (largest: ${largest} bytes)`);
    } finally {
      await store.close();
    }
  });

  it('checkpoints the write-ahead log when writes pause or the log grows, not inside commits', async () => {
    const file = tempFile();
    const walSize = () => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
    const store = SqliteStore.open(file, { checkpointIdleMs: 150, checkpointBytes: 256 * 1024 });
    // a burst of writes in quick turns: the log only grows while they go on
    for (let i = 0; i < 20; i++) await store.create(`/t/burst-${i}`, obj('T', `burst-${i}`, { data: 'x'.repeat(1000) }));
    assert.ok(walSize() > 20 * 1000, `the log holds the burst (${walSize()} bytes)`);
    // a pause: the log is copied into the database and emptied
    const deadline = Date.now() + 5000;
    while (walSize() > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(walSize(), 0, 'checkpointed after the pause');
    // writes that never pause are checkpointed once about checkpointBytes went into the log, which is then
    // reused from its start (how far it grows meanwhile depends on how fast the checkpoint thread gets the disk:
    // unchecked, 400 commits of a few pages each pass 6 MB)
    const before = store.checkpoints.thread + store.checkpoints.eventLoop;
    for (let i = 0; i < 400; i++) {
      await store.create(`/t/steady-${i}`, obj('T', `steady-${i}`, { data: 'y'.repeat(1000) }));
      await new Promise((r) => setImmediate(r));
    }
    const during = store.checkpoints.thread + store.checkpoints.eventLoop - before;
    assert.ok(during >= 2, `a steady stream of writes still gets checkpoints (${during})`);
    assert.ok(walSize() < 6 * 1024 * 1024, `the log was reused from its start (log: ${walSize()} bytes)`);
    await store.close();
    const again = SqliteStore.open(file);
    assert.equal(JSON.parse((await again.get('/t/burst-7'))!.value).data.length, 1000);
    assert.ok(await again.get('/t/steady-0'));
    await again.close();
  });

  it("starts the checkpoint thread when a full log calls for it, and closes its connection with the store", async () => {
    const file = tempFile();
    const walFds = () =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${file}-wal`);
        } catch {
          return false;
        }
      }).length;
    const walSize = () => (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
    const store = SqliteStore.open(file, { checkpointIdleMs: 60_000, checkpointBytes: 64 * 1024 });
    // a few writes call for no checkpoint: no thread yet (it would cost ~10 MB for nothing)
    for (let i = 0; i < 2; i++) await store.create(`/t/few-${i}`, obj('T', `few-${i}`));
    await sleep(100);
    assert.equal(walFds(), 1, "only this thread's connection has the log open");
    for (let i = 0; i < 400; i++) {
      await store.create(`/t/s-${i}`, obj('T', `s-${i}`, { data: 'z'.repeat(1000) }));
      await new Promise((r) => setImmediate(r));
    }
    // (no idle checkpoint could run: it waits a minute; how far the log grows while the thread's run is up to the
    // disk, see the steady-stream test)
    assert.ok(store.checkpoints.thread >= 1, `the checkpoint thread ran checkpoints (${JSON.stringify(store.checkpoints)})`);
    assert.equal(walFds(), 2, "the log is open twice: this thread's connection and the checkpoint thread's");
    // close while a checkpoint may still run on the thread
    for (let i = 0; i < 100; i++) await store.create(`/t/t-${i}`, obj('T', `t-${i}`, { data: 'z'.repeat(1000) }));
    await store.close();
    assert.equal(walFds(), 0, 'no descriptor of the log left after close');
    assert.equal(walSize(), 0, 'the last connection to close copied the log into the file');
    const again = SqliteStore.open(file);
    assert.equal((await again.list('/t/')).items.length, 502);
    await again.close();
  });

  it('a store left open does not keep its process alive, checkpoint thread and all; its writes are there', async () => {
    const file = tempFile();
    // 1,500 commits call for checkpoints (the thread starts), then the script ends without closing the store
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/storage/crash-writer.ts'), file, '1500', 'leave-open'], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      assert.equal(await exited, 0, `the writer ended by itself (stderr: ${stderr})`);
    } finally {
      clearTimeout(timer);
    }
    const again = SqliteStore.open(file);
    try {
      assert.equal(await again.count('/core/configmaps/default/'), 1500);
    } finally {
      await again.close();
    }
  });

  it('opens a schema-1 file (objects WITHOUT ROWID) and converts it, keeping objects and history', async () => {
    const file = tempFile();
    const old = new Database(file);
    old.exec(`
      CREATE TABLE objects (key TEXT PRIMARY KEY, rev INTEGER NOT NULL, create_rev INTEGER NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE INDEX objects_key ON objects (key);
      CREATE TABLE events (rev INTEGER PRIMARY KEY, type TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, prev_rev INTEGER, create_rev INTEGER NOT NULL);
      CREATE INDEX events_key_rev ON events (key, rev);
      CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta VALUES ('schema', 1);
    `);
    const v = JSON.stringify({ ...pod('a'), metadata: { ...pod('a').metadata, resourceVersion: '7' } });
    old.prepare('INSERT INTO objects VALUES (?, 7, 7, ?)').run('/core/pods/ns/a', v);
    old.prepare("INSERT INTO events VALUES (7, 'ADDED', ?, ?, NULL, 7)").run('/core/pods/ns/a', v);
    old.close();
    const store = SqliteStore.open(file);
    try {
      assert.equal(store.currentRevision(), 7);
      assert.equal(resourceVersionOf((await store.get('/core/pods/ns/a'))!.value), '7');
      const b = await store.create('/core/pods/ns/b', pod('b'));
      assert.equal(b.rev, 8);
      assert.deepEqual((await store.list('/core/pods/')).items.map((i) => i.key), ['/core/pods/ns/a', '/core/pods/ns/b']);
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.prepare("SELECT value FROM meta WHERE name = 'schema'").pluck().get(), 2);
      const sql = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'objects'").pluck().get() as string;
      assert.doesNotMatch(sql, /WITHOUT ROWID/);
      assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'objects_key'").pluck().get(), 0);
    } finally {
      db.close();
    }
  });

  it('creates the file in WAL mode with incremental auto-vacuum', async () => {
    const file = tempFile();
    const store = SqliteStore.open(file);
    await store.create('/core/pods/ns/a', pod('a'));
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('auto_vacuum', { simple: true }), 2);
    } finally {
      db.close();
    }
  });

  it('keeps data across reopen, and the revision continues upward', async () => {
    const file = tempFile();
    let store = SqliteStore.open(file, { historyRevisions: 2, historySeconds: 0 });
    const a1 = await store.create('/core/pods/ns/a', pod('a'));
    const b = await store.create('/core/pods/ns/b', pod('b'));
    const a2 = await store.update('/core/pods/ns/a', pod('a', { v: 2 }), a1.rev);
    await store.delete('/core/pods/ns/b', b.rev);
    const c = await store.create('/core/pods/ns/c', pod('c'));
    await store.close();

    store = SqliteStore.open(file, { historyRevisions: 2, historySeconds: 0 });
    try {
      assert.equal(store.currentRevision(), 5);
      assert.deepEqual(await store.get('/core/pods/ns/a'), a2);
      assert.equal(await store.get('/core/pods/ns/b'), undefined);
      assert.deepEqual((await store.list('/core/pods/ns/', { revision: 2 })).items, [a1, b]);

      // history written before the reopen is replayed from the file, with previous values
      const events: StoreEvent[] = [];
      store.watch('/core/pods/', { afterRev: 2, onEvent: (ev) => events.push(ev) });
      assert.deepEqual(
        events.map((e) => [e.rev, e.type, e.prevValue]),
        [
          [3, 'MODIFIED', a1.value],
          [4, 'DELETED', b.value],
          [5, 'ADDED', undefined],
        ],
      );
      const d = await store.create('/core/pods/ns/d', pod('d'));
      assert.equal(d.rev, 6);
      assert.equal(events.at(-1)?.rev, 6);
      assert.deepEqual(
        (await store.list('/core/pods/')).items.map((i) => i.key),
        [a2.key, c.key, d.key],
      );
      await store.compact();
      assert.equal(store.compactedRevision(), 4);
    } finally {
      await store.close();
    }

    store = SqliteStore.open(file);
    try {
      assert.equal(store.compactedRevision(), 4);
      assert.equal(store.currentRevision(), 6);
      await assert.rejects(store.list('/core/pods/', { revision: 3 }), { code: 'Compacted' });
      assert.equal((await store.create('/core/pods/ns/e', pod('e'))).rev, 7);
    } finally {
      await store.close();
    }
  });

  it('keeps every acknowledged write when the process is killed mid-way (SIGKILL)', async () => {
    const file = tempFile();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'test/storage/crash-writer.ts'), file, '1000000'],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
          if (stdout.split('\n').length > 1500) resolve();
        });
        child.on('exit', () => reject(new Error(`writer exited before it was killed: ${stderr}`)));
        setTimeout(() => reject(new Error(`writer too slow: ${stdout.length} bytes, ${stderr}`)), 60_000).unref();
      });
      process.kill(child.pid!, 'SIGKILL');
      assert.equal(await exited, 'SIGKILL');
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    }

    // only complete lines were acknowledged before the kill
    const acked = new Map<string, number>();
    let maxRev = 0;
    for (const line of stdout.slice(0, stdout.lastIndexOf('\n')).split('\n')) {
      const [key, rev] = line.split(' ');
      acked.set(key, Number(rev));
      maxRev = Math.max(maxRev, Number(rev));
    }
    assert.ok(acked.size > 1000, `acknowledged ${acked.size}`);

    const store = SqliteStore.open(file);
    try {
      assert.ok(store.currentRevision() >= maxRev);
      for (const [key, rev] of acked) {
        const stored = await store.get(key);
        assert.ok(stored, `acknowledged ${key}@${rev} is missing`);
        assert.ok(stored.rev >= rev, `${key} is at ${stored.rev}, acknowledged ${rev}`);
        assert.equal(resourceVersionOf(stored.value), String(stored.rev));
      }
      const next = await store.create('/core/configmaps/default/after-crash', obj('ConfigMap', 'after-crash'));
      assert.equal(next.rev, store.currentRevision());
      assert.ok(next.rev > maxRev);
    } finally {
      await store.close();
    }
  });

  it('100,000 updates of one key leave a file proportional to live data, not history', async () => {
    const file = tempFile();
    const store = SqliteStore.open(file, { historyRevisions: 100, historySeconds: 0, compactIntervalMs: 20 });
    try {
      const filler = 'y'.repeat(200);
      let cur = await store.create('/core/configmaps/ns/hot', obj('ConfigMap', 'hot', { data: { filler } }));
      for (let i = 0; i < 100; i++) await store.create(`/core/configmaps/ns/cold${i}`, obj('ConfigMap', `cold${i}`));
      let peak = 0;
      for (let i = 1; i <= 100_000; i++) {
        cur = await store.update(cur.key, obj('ConfigMap', 'hot', { data: { filler, i: String(i) } }), cur.rev);
        if (i % 10_000 === 0) {
          await sleep(40);
          peak = Math.max(peak, fileSize(file));
        }
      }
      const deadline = Date.now() + 5000;
      while (store.compactedRevision() < store.currentRevision() - 100 && Date.now() < deadline) await sleep(10);
      assert.equal(store.compactedRevision(), store.currentRevision() - 100);
      const size = fileSize(file);
      assert.ok(size < 512 * 1024, `file is ${size} bytes after compaction`);
      assert.ok(peak < 16 * 1024 * 1024, `file peaked at ${peak} bytes`);
      assert.equal(resourceVersionOf((await store.get('/core/configmaps/ns/hot'))!.value), String(cur.rev));
      assert.equal(await store.count('/core/configmaps/ns/'), 101);
      const events: StoreEvent[] = [];
      store.watch('/core/configmaps/', { afterRev: store.compactedRevision(), onEvent: (ev) => events.push(ev) });
      assert.equal(events.length, 100);
      assert.ok(events.every((e) => e.prevValue !== undefined));
    } finally {
      await store.close();
    }
  });

  it('does not let a second store open the same file', async () => {
    const file = tempFile();
    const store = SqliteStore.open(file);
    try {
      await store.create('/core/pods/ns/a', pod('a'));
      const started = Date.now();
      assert.throws(() => SqliteStore.open(file, {}), /locked|busy/i);
      assert.ok(Date.now() - started < 10_000);
      assert.ok(await store.get('/core/pods/ns/a'));
      // the lock is a transaction on an empty sidecar file, with no journal file of its own
      const beside = fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith(`${path.basename(file)}-lock`));
      assert.deepEqual(beside, [`${path.basename(file)}-lock`]);
    } finally {
      await store.close();
    }
    // closing lets the lock go
    const again = SqliteStore.open(file);
    assert.ok(await again.get('/core/pods/ns/a'));
    await again.close();
  });
});
