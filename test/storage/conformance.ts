// The behaviour every Store backend must share; each backend's test file runs it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoreOptions } from '../../src/storage/retention.js';
import {
  StorageError,
  type Store,
  type StoreEvent,
  type StorageErrorCode,
  type StoredValue,
} from '../../src/storage/store.js';

export type MakeStore = (opts?: StoreOptions) => Store | Promise<Store>;

/** A JSON object as the layers above hand it to the store. */
export interface TestObject {
  metadata?: { resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export function pod(name: string, extra: Record<string, unknown> = {}): TestObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, ...extra };
}

export function obj(kind: string, name: string, extra: Record<string, unknown> = {}): TestObject {
  return { kind, metadata: { name }, ...extra };
}

export function resourceVersionOf(value: string): string | undefined {
  return (JSON.parse(value) as TestObject).metadata?.resourceVersion;
}

function isStorageError(code: StorageErrorCode, check?: (err: StorageError) => void) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof StorageError, `expected a StorageError, got ${String(err)}`);
    assert.equal(err.code, code);
    check?.(err);
    return true;
  };
}

function collect(store: Store, prefix: string, afterRev: number): { events: StoreEvent[]; stop(): void } {
  const events: StoreEvent[] = [];
  const watcher = store.watch(prefix, { afterRev, onEvent: (ev) => events.push(ev) });
  return { events, stop: () => watcher.stop() };
}

const keysOf = (items: StoredValue[]) => items.map((i) => i.key);

export function runStoreConformance(name: string, makeStore: MakeStore): void {
  async function withStore(opts: StoreOptions | undefined, body: (store: Store) => Promise<void>): Promise<void> {
    const store = await makeStore(opts);
    try {
      await body(store);
    } finally {
      await store.close();
    }
  }
  const test = (title: string, body: (store: Store) => Promise<void>, opts?: StoreOptions) =>
    it(title, () => withStore(opts, body));

  describe(`Store conformance: ${name}`, () => {
    test('an empty store is at revision 0', async (store) => {
      assert.equal(store.currentRevision(), 0);
      assert.equal(store.compactedRevision(), 0);
      assert.equal(await store.get('/core/pods/default/a'), undefined);
      assert.deepEqual(await store.list('/core/pods/'), { items: [], revision: 0, more: false, remaining: 0 });
      assert.equal(await store.count('/core/pods/'), 0);
    });

    test('create stamps resourceVersion, stores the value, and get returns it', async (store) => {
      const obj = pod('a');
      const created = await store.create('/core/pods/default/a', obj);
      assert.equal(created.key, '/core/pods/default/a');
      assert.equal(created.rev, 1);
      assert.equal(created.createRev, 1);
      assert.equal(obj.metadata?.resourceVersion, '1');
      assert.deepEqual(JSON.parse(created.value), {
        ...pod('a'),
        metadata: { name: 'a', namespace: 'default', resourceVersion: '1' },
      });
      assert.deepEqual(await store.get('/core/pods/default/a'), created);
      assert.equal(store.currentRevision(), 1);

      const bare = await store.create('/core/pods/default/bare', { kind: 'Pod' } as TestObject);
      assert.equal(resourceVersionOf(bare.value), '2');
    });

    test('create of an existing key fails with KeyExists and writes nothing', async (store) => {
      await store.create('/core/pods/default/a', pod('a'));
      const again = pod('a', { spec: { nodeName: 'n1' } });
      await assert.rejects(
        store.create('/core/pods/default/a', again),
        isStorageError('KeyExists', (e) => assert.equal(e.key, '/core/pods/default/a')),
      );
      assert.equal(store.currentRevision(), 1);
      assert.equal(again.metadata?.resourceVersion, undefined);
      assert.equal(resourceVersionOf((await store.get('/core/pods/default/a'))!.value), '1');
    });

    test('update replaces the value at the expected revision and keeps createRev', async (store) => {
      await store.create('/core/pods/default/other', pod('other'));
      const created = await store.create('/core/pods/default/a', pod('a'));
      const updated = await store.update('/core/pods/default/a', pod('a', { spec: { nodeName: 'n1' } }), created.rev);
      assert.equal(updated.rev, 3);
      assert.equal(updated.createRev, 2);
      assert.equal(resourceVersionOf(updated.value), '3');
      assert.deepEqual((JSON.parse(updated.value) as { spec: unknown }).spec, { nodeName: 'n1' });
      assert.deepEqual(await store.get('/core/pods/default/a'), updated);
    });

    test('update fails with NotFound when absent and Conflict (with current) when stale', async (store) => {
      await assert.rejects(store.update('/core/pods/default/missing', pod('missing'), 1), isStorageError('NotFound'));
      const created = await store.create('/core/pods/default/a', pod('a'));
      const updated = await store.update('/core/pods/default/a', pod('a', { x: 1 }), created.rev);
      const stale = pod('a', { x: 2 });
      stale.metadata!.resourceVersion = '1';
      await assert.rejects(
        store.update('/core/pods/default/a', stale, created.rev),
        isStorageError('Conflict', (e) => assert.deepEqual(e.current, updated)),
      );
      assert.equal(stale.metadata?.resourceVersion, '1');
      assert.equal(store.currentRevision(), 2);
      assert.deepEqual(await store.get('/core/pods/default/a'), updated);
    });

    test('delete returns the last state stamped with the delete revision', async (store) => {
      const created = await store.create('/core/pods/default/a', pod('a', { spec: { nodeName: 'n1' } }));
      const deleted = await store.delete('/core/pods/default/a');
      assert.equal(deleted.rev, 2);
      assert.equal(deleted.createRev, created.createRev);
      assert.equal(resourceVersionOf(deleted.value), '2');
      assert.deepEqual((JSON.parse(deleted.value) as { spec: unknown }).spec, { nodeName: 'n1' });
      assert.equal(await store.get('/core/pods/default/a'), undefined);
      assert.equal(await store.count('/core/pods/'), 0);
      // the key can be created again, as a new object
      const again = await store.create('/core/pods/default/a', pod('a'));
      assert.equal(again.createRev, 3);
    });

    test('delete fails with NotFound or, given a stale expected revision, Conflict', async (store) => {
      await assert.rejects(store.delete('/core/pods/default/missing'), isStorageError('NotFound'));
      const created = await store.create('/core/pods/default/a', pod('a'));
      const updated = await store.update('/core/pods/default/a', pod('a', { x: 1 }), created.rev);
      await assert.rejects(
        store.delete('/core/pods/default/a', created.rev),
        isStorageError('Conflict', (e) => assert.deepEqual(e.current, updated)),
      );
      assert.ok(await store.get('/core/pods/default/a'));
      const deleted = await store.delete('/core/pods/default/a', updated.rev);
      assert.equal(deleted.rev, 3);
    });

    test('every write takes the next global revision; failed writes take none', async (store) => {
      const revs: number[] = [];
      const write = async (p: () => Promise<StoredValue>) => {
        const before = store.currentRevision();
        const v = await p();
        assert.equal(v.rev, before + 1);
        assert.equal(store.currentRevision(), v.rev);
        revs.push(v.rev);
        return v;
      };
      const a = await write(() => store.create('/core/pods/default/a', pod('a')));
      await write(() => store.create('/core/services/default/a', obj('Service', 'a')));
      await assert.rejects(store.create('/core/pods/default/a', pod('a')));
      await assert.rejects(store.update('/core/pods/default/a', pod('a'), a.rev + 10));
      await assert.rejects(store.delete('/core/pods/default/zz'));
      const a2 = await write(() => store.update('/core/pods/default/a', pod('a'), a.rev));
      await write(() => store.delete('/core/pods/default/a', a2.rev));
      await write(() => store.create('/apps/deployments/default/d', obj('Deployment', 'd')));
      assert.deepEqual(revs, [1, 2, 3, 4, 5]);
    });

    test('list returns exactly the keys under the prefix, ordered by key', async (store) => {
      const keys = [
        '/core/pods/ab/x',
        '/core/pods/a/y',
        '/core/pods/a/x',
        '/core/pods/a',
        '/core/podsx/a/x',
        '/core/services/a/x',
        '/apps/pods/a/x',
      ];
      for (const k of keys) await store.create(k, pod(k));
      assert.deepEqual(keysOf((await store.list('/core/pods/a/')).items), ['/core/pods/a/x', '/core/pods/a/y']);
      assert.deepEqual(keysOf((await store.list('/core/pods/')).items), [
        '/core/pods/a',
        '/core/pods/a/x',
        '/core/pods/a/y',
        '/core/pods/ab/x',
      ]);
      assert.equal(await store.count('/core/pods/a/'), 2);
      assert.equal(await store.count('/core/pods/'), 4);
      assert.equal(await store.count('/core/'), 6);
      assert.equal(await store.count(''), 7);
      assert.equal((await store.list('')).items.length, 7);
      const list = await store.list('/core/pods/a/');
      assert.equal(list.revision, 7);
      for (const item of list.items) assert.deepEqual(item, await store.get(item.key));
    });

    test('list pages with limit and after, reporting more and remaining', async (store) => {
      for (let i = 0; i < 10; i++) await store.create(`/core/configmaps/ns/cm${i}`, obj('ConfigMap', `cm${i}`));
      await store.create('/core/configmaps/nt/other', obj('ConfigMap', 'other'));
      const seen: string[] = [];
      let after: string | undefined;
      const pages: { n: number; more: boolean; remaining?: number }[] = [];
      for (;;) {
        const page = await store.list('/core/configmaps/ns/', { limit: 3, after });
        seen.push(...keysOf(page.items));
        pages.push({ n: page.items.length, more: page.more, remaining: page.remaining });
        if (!page.more) break;
        after = page.items[page.items.length - 1].key;
      }
      assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => `/core/configmaps/ns/cm${i}`));
      assert.deepEqual(pages, [
        { n: 3, more: true, remaining: 7 },
        { n: 3, more: true, remaining: 4 },
        { n: 3, more: true, remaining: 1 },
        { n: 1, more: false, remaining: 0 },
      ]);
      assert.equal((await store.list('/core/configmaps/ns/', { limit: 0 })).items.length, 10);
      assert.equal((await store.list('/core/configmaps/ns/', { limit: 10 })).more, false);
      const last = await store.list('/core/configmaps/ns/', { after: '/core/configmaps/ns/cm9' });
      assert.deepEqual(last.items, []);
      assert.equal(last.more, false);
      const before = await store.list('/core/configmaps/ns/', { after: '/core/configmaps/', limit: 1 });
      assert.deepEqual(keysOf(before.items), ['/core/configmaps/ns/cm0']);
    });

    test('list at an older revision shows that state (modified, created, deleted, re-created since)', async (store) => {
      const a1 = await store.create('/core/pods/ns/a', pod('a', { v: 1 })); // 1
      const b1 = await store.create('/core/pods/ns/b', pod('b', { v: 1 })); // 2
      const c1 = await store.create('/core/pods/ns/c', pod('c', { v: 1 })); // 3
      await store.create('/core/pods/other/z', pod('z')); // 4
      const at = store.currentRevision();
      const a2 = await store.update('/core/pods/ns/a', pod('a', { v: 2 }), a1.rev); // 5
      await store.delete('/core/pods/ns/b'); // 6
      await store.create('/core/pods/ns/d', pod('d')); // 7
      await store.create('/core/pods/ns/b', pod('b', { v: 2 })); // 8 (re-created)
      await store.update('/core/pods/ns/a', pod('a', { v: 3 }), a2.rev); // 9
      await store.delete('/core/pods/ns/c'); // 10

      const then = await store.list('/core/pods/ns/', { revision: at });
      assert.equal(then.revision, at);
      assert.deepEqual(then.items, [a1, b1, c1]);
      assert.equal(then.more, false);

      const mid = await store.list('/core/pods/ns/', { revision: 7 });
      assert.deepEqual(keysOf(mid.items), ['/core/pods/ns/a', '/core/pods/ns/c', '/core/pods/ns/d']);
      assert.deepEqual(mid.items[0], a2);

      const page1 = await store.list('/core/pods/ns/', { revision: at, limit: 2 });
      assert.deepEqual(page1.items, [a1, b1]);
      assert.equal(page1.more, true);
      assert.equal(page1.remaining, 1);
      const page2 = await store.list('/core/pods/ns/', { revision: at, limit: 2, after: b1.key });
      assert.deepEqual(page2.items, [c1]);
      assert.equal(page2.more, false);

      assert.deepEqual(keysOf((await store.list('/core/pods/', { revision: at })).items), [
        '/core/pods/ns/a',
        '/core/pods/ns/b',
        '/core/pods/ns/c',
        '/core/pods/other/z',
      ]);
      assert.deepEqual((await store.list('/core/pods/ns/', { revision: 0 })).items, []);
      const now = await store.list('/core/pods/ns/', { revision: store.currentRevision() });
      assert.deepEqual(keysOf(now.items), ['/core/pods/ns/a', '/core/pods/ns/b', '/core/pods/ns/d']);
      assert.equal(now.revision, 10);
    });

    test(
      'compaction keeps what list-at-revision and watch need from the compacted revision on',
      async (store) => {
        const a1 = await store.create('/core/pods/ns/a', pod('a')); // 1
        const b2 = await store.create('/core/pods/ns/b', pod('b')); // 2
        const c3 = await store.create('/core/pods/ns/c', pod('c')); // 3
        const b4 = await store.update('/core/pods/ns/b', pod('b', { v: 2 }), b2.rev); // 4
        await store.delete('/core/pods/ns/c'); // 5
        const a6 = await store.update('/core/pods/ns/a', pod('a', { v: 2 }), a1.rev); // 6
        await store.compact();
        assert.equal(store.compactedRevision(), 4);

        assert.deepEqual((await store.list('/core/pods/ns/', { revision: 4 })).items, [a1, b4, c3]);
        assert.deepEqual((await store.list('/core/pods/ns/', { revision: 5 })).items, [a1, b4]);
        await assert.rejects(
          store.list('/core/pods/ns/', { revision: 3 }),
          isStorageError('Compacted', (e) => assert.equal(e.compactedRev, 4)),
        );
        assert.throws(
          () => store.watch('/core/pods/', { afterRev: 3, onEvent: () => assert.fail('no events') }),
          isStorageError('Compacted', (e) => assert.equal(e.compactedRev, 4)),
        );
        const w = collect(store, '/core/pods/', 4);
        assert.deepEqual(
          w.events.map((e) => [e.rev, e.type, e.key, e.prevValue]),
          [
            [5, 'DELETED', '/core/pods/ns/c', c3.value],
            [6, 'MODIFIED', '/core/pods/ns/a', a1.value],
          ],
        );
        w.stop();

        const b7 = await store.update('/core/pods/ns/b', pod('b', { v: 3 }), b4.rev); // 7
        await store.update('/core/pods/ns/b', pod('b', { v: 4 }), b7.rev); // 8
        await store.compact();
        assert.equal(store.compactedRevision(), 6);
        assert.deepEqual((await store.list('/core/pods/ns/', { revision: 6 })).items, [a6, b4]);
        await assert.rejects(store.list('/core/pods/ns/', { revision: 5 }), isStorageError('Compacted'));
        const latest = await store.list('/core/pods/ns/');
        assert.deepEqual(keysOf(latest.items), ['/core/pods/ns/a', '/core/pods/ns/b']);
      },
      { historyRevisions: 2, historySeconds: 0 },
    );

    test(
      'history younger than historySeconds is kept even beyond historyRevisions',
      async (store) => {
        for (let i = 0; i < 5; i++) await store.create(`/core/pods/ns/p${i}`, pod(`p${i}`));
        await store.compact();
        assert.equal(store.compactedRevision(), 0);
        assert.equal(collect(store, '/core/pods/', 0).events.length, 5);
      },
      { historyRevisions: 0, historySeconds: 3600 },
    );

    test(
      'compaction runs by itself after writes',
      async (store) => {
        for (let i = 0; i < 5; i++) await store.create(`/core/pods/ns/p${i}`, pod(`p${i}`));
        const deadline = Date.now() + 5000;
        while (store.compactedRevision() < 4 && Date.now() < deadline) await sleep(10);
        assert.equal(store.compactedRevision(), 4);
        await assert.rejects(store.list('/core/pods/', { revision: 1 }), isStorageError('Compacted'));
      },
      { historyRevisions: 1, historySeconds: 0, compactIntervalMs: 10 },
    );

    test('watch replays history after afterRev, then delivers live events in order', async (store) => {
      const a1 = await store.create('/core/pods/ns/a', pod('a')); // 1
      const a2 = await store.update('/core/pods/ns/a', pod('a', { v: 2 }), a1.rev); // 2
      await store.create('/core/pods/ns/b', pod('b')); // 3
      const w = collect(store, '/core/pods/', 1);
      assert.deepEqual(
        w.events.map((e) => [e.rev, e.type, e.key]),
        [
          [2, 'MODIFIED', '/core/pods/ns/a'],
          [3, 'ADDED', '/core/pods/ns/b'],
        ],
      );
      assert.equal(w.events[0].value, a2.value);
      assert.equal(w.events[0].prevValue, a1.value);
      assert.equal(w.events[1].prevValue, undefined);

      const deleted = await store.delete('/core/pods/ns/a'); // 4, live
      const c = await store.create('/core/pods/ns/c', pod('c')); // 5, live
      assert.deepEqual(
        w.events.map((e) => e.rev),
        [2, 3, 4, 5],
      );
      assert.deepEqual(w.events[2], {
        type: 'DELETED',
        key: '/core/pods/ns/a',
        rev: 4,
        value: deleted.value,
        prevValue: a2.value,
      });
      assert.equal(resourceVersionOf(w.events[2].value), '4');
      assert.deepEqual(w.events[3], { type: 'ADDED', key: c.key, rev: 5, value: c.value });

      const fromNow = collect(store, '/core/pods/', store.currentRevision());
      assert.equal(fromNow.events.length, 0);
      await store.create('/core/pods/ns/d', pod('d'));
      assert.deepEqual(
        fromNow.events.map((e) => e.rev),
        [6],
      );
      w.stop();
      fromNow.stop();
    });

    test('watch replay from beyond the in-memory window matches the live stream', async (store) => {
      const live = collect(store, '/core/', 0);
      let last = await store.create('/core/pods/ns/a', pod('a'));
      for (let i = 0; i < 20; i++) {
        last = await store.update(last.key, pod('a', { i }), last.rev);
        await store.create(`/core/configmaps/ns/cm${i}`, obj('ConfigMap', `cm${i}`));
      }
      for (const after of [0, 3, 17, 30, 39, 40]) {
        const replay = collect(store, '/core/', after);
        assert.deepEqual(replay.events, live.events.slice(after), `replay after ${after}`);
        replay.stop();
      }
      live.stop();
    }, { watchWindow: 4 });

    test('watch filters by prefix; shorter prefixes see several resources', async (store) => {
      const ns1 = collect(store, '/core/pods/ns1/', 0);
      const pods = collect(store, '/core/pods/', 0);
      const core = collect(store, '/core/', 0);
      const all = collect(store, '/', 0);
      const podsPartial = collect(store, '/core/po', 0);
      await store.create('/core/pods/ns1/a', pod('a'));
      await store.create('/core/pods/ns10/a', pod('a'));
      await store.create('/core/pods/ns2/a', pod('a'));
      await store.create('/core/services/ns1/a', obj('Service', 'a'));
      await store.create('/apps/deployments/ns1/a', obj('Deployment', 'a'));
      await store.create('/core/podtemplates/ns1/a', obj('PodTemplate', 'a'));
      const keys = (w: { events: StoreEvent[] }) => w.events.map((e) => e.key);
      assert.deepEqual(keys(ns1), ['/core/pods/ns1/a']);
      assert.deepEqual(keys(pods), ['/core/pods/ns1/a', '/core/pods/ns10/a', '/core/pods/ns2/a']);
      assert.deepEqual(keys(core), [
        '/core/pods/ns1/a',
        '/core/pods/ns10/a',
        '/core/pods/ns2/a',
        '/core/services/ns1/a',
        '/core/podtemplates/ns1/a',
      ]);
      assert.equal(all.events.length, 6);
      assert.deepEqual(keys(podsPartial), [...keys(pods), '/core/podtemplates/ns1/a']);
      // replay filters the same way
      assert.deepEqual(keys(collect(store, '/core/pods/ns1/', 0)), keys(ns1));
      assert.deepEqual(keys(collect(store, '/core/', 0)), keys(core));
    });

    test('a stopped watcher gets nothing more; stop is idempotent and works from inside onEvent', async (store) => {
      const w = collect(store, '/core/pods/', 0);
      await store.create('/core/pods/ns/a', pod('a'));
      w.stop();
      w.stop();
      await store.create('/core/pods/ns/b', pod('b'));
      assert.equal(w.events.length, 1);

      const seen: number[] = [];
      const self = store.watch('/core/pods/', {
        afterRev: store.currentRevision(),
        onEvent: (ev) => {
          seen.push(ev.rev);
          self.stop();
        },
      });
      await store.create('/core/pods/ns/c', pod('c'));
      await store.create('/core/pods/ns/d', pod('d'));
      assert.deepEqual(seen, [3]);
    });

    test('a throwing watcher is stopped without affecting the writer or other watchers', async (store) => {
      let calls = 0;
      store.watch('/core/pods/', {
        afterRev: 0,
        onEvent: () => {
          calls++;
          throw new Error('consumer failed');
        },
      });
      const other = collect(store, '/core/pods/', 0);
      const created = await store.create('/core/pods/ns/a', pod('a'));
      await store.create('/core/pods/ns/b', pod('b'));
      assert.equal(created.rev, 1);
      assert.equal(calls, 1);
      assert.deepEqual(
        other.events.map((e) => e.rev),
        [1, 2],
      );

      // throwing during replay: the watch is returned already stopped
      let replayCalls = 0;
      const w = store.watch('/core/pods/', {
        afterRev: 0,
        onEvent: () => {
          replayCalls++;
          throw new Error('consumer failed');
        },
      });
      await store.create('/core/pods/ns/c', pod('c'));
      assert.equal(replayCalls, 1);
      w.stop();
    });

    test('writes and watches made inside onEvent keep every watcher in order, without duplicates', async (store) => {
      const order: number[] = [];
      const nested: StoreEvent[] = [];
      let nestedWatchMade = false;
      let nestedWrite: Promise<unknown> | undefined;
      store.watch('/core/pods/', {
        afterRev: 0,
        onEvent: (ev) => {
          if (ev.key === '/core/pods/ns/a') nestedWrite = store.create('/core/pods/ns/b', pod('b'));
          if (!nestedWatchMade) {
            nestedWatchMade = true;
            store.watch('/core/pods/', { afterRev: 0, onEvent: (e) => nested.push(e) });
          }
        },
      });
      store.watch('/core/pods/', { afterRev: 0, onEvent: (ev) => order.push(ev.rev) });
      await store.create('/core/pods/ns/a', pod('a'));
      // a backend may commit the nested write with the next batch
      await nestedWrite;
      assert.equal(store.currentRevision(), 2);
      await store.create('/core/pods/ns/c', pod('c'));
      assert.deepEqual(order, [1, 2, 3]);
      assert.deepEqual(
        nested.map((e) => e.rev),
        [1, 2, 3],
      );
    });

    test('replaying every event from 0 rebuilds the listed state', async (store) => {
      let seed = 42;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const early = collect(store, '/core/pods/', 0);
      for (let i = 0; i < 300; i++) {
        const key = `/core/pods/ns${rand(3)}/p${rand(12)}`;
        const cur = await store.get(key);
        const op = rand(3);
        if (!cur) await store.create(key, pod(key, { i }));
        else if (op === 0) await store.delete(key, cur.rev);
        else await store.update(key, pod(key, { i }), cur.rev);
      }
      const replayed = collect(store, '/core/pods/', 0);
      assert.deepEqual(replayed.events, early.events);
      const state = new Map<string, string>();
      let prevRev = 0;
      for (const ev of replayed.events) {
        assert.ok(ev.rev > prevRev);
        prevRev = ev.rev;
        assert.equal(ev.type === 'ADDED', !state.has(ev.key));
        if (ev.type !== 'ADDED') assert.equal(ev.prevValue, state.get(ev.key));
        if (ev.type === 'DELETED') state.delete(ev.key);
        else state.set(ev.key, ev.value);
      }
      const list = await store.list('/core/pods/');
      assert.deepEqual(
        list.items.map((i) => [i.key, i.value]),
        [...state.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      // and the state at a middle revision matches the prefix of the event stream
      const mid = 150;
      const midState = new Map<string, string>();
      for (const ev of replayed.events.filter((e) => e.rev <= mid)) {
        if (ev.type === 'DELETED') midState.delete(ev.key);
        else midState.set(ev.key, ev.value);
      }
      const midList = await store.list('/core/pods/', { revision: mid });
      assert.deepEqual(
        midList.items.map((i) => [i.key, i.value]),
        [...midState.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
      );
      for (const item of midList.items) assert.equal(resourceVersionOf(item.value), String(item.rev));
    });

    test('2,000 watchers of one resource get the event once; watchers of others are not called', async (store) => {
      const counts = new Array<number>(2000).fill(0);
      for (let i = 0; i < 2000; i++) {
        const prefix = i % 2 === 0 ? '/core/pods/' : `/core/pods/ns${i % 7}/`;
        store.watch(prefix, { afterRev: 0, onEvent: () => counts[i]++ });
      }
      let otherCalls = 0;
      for (let i = 0; i < 2000; i++) {
        store.watch('/core/services/', { afterRev: 0, onEvent: () => otherCalls++ });
      }
      await store.create('/core/pods/ns3/a', pod('a'));
      for (let i = 0; i < 2000; i++) {
        const expected = i % 2 === 0 || i % 7 === 3 ? 1 : 0;
        assert.equal(counts[i], expected, `watcher ${i}`);
      }
      assert.equal(otherCalls, 0);
    });

    it('a closed store refuses every call with Closed', async () => {
      const store = await makeStore();
      await store.create('/core/pods/ns/a', pod('a'));
      const w = collect(store, '/core/pods/', 0);
      await store.close();
      await store.close();
      const closed = isStorageError('Closed');
      assert.throws(() => store.currentRevision(), closed);
      assert.throws(() => store.compactedRevision(), closed);
      assert.throws(() => store.watch('/core/pods/', { afterRev: 0, onEvent: () => undefined }), closed);
      await assert.rejects(store.get('/core/pods/ns/a'), closed);
      await assert.rejects(store.list('/core/pods/'), closed);
      await assert.rejects(store.count('/core/pods/'), closed);
      await assert.rejects(store.create('/core/pods/ns/b', pod('b')), closed);
      await assert.rejects(store.update('/core/pods/ns/a', pod('a'), 1), closed);
      await assert.rejects(store.delete('/core/pods/ns/a'), closed);
      await assert.rejects(store.compact(), closed);
      assert.equal(w.events.length, 1);
      w.stop();
    });
  });
}
