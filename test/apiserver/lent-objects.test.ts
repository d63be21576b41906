// A write lends the objects it holds (the one stored and the one it replaced) to its watchers while its event
// is delivered, so filtered watchers need not parse the event's JSON again. These tests check the lending and
// its limits (only during delivery; a changed object is caught with TIMONEL_CHECK_LENT=1 and not used).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { SqliteStore } from '../../src/storage/sqlite.js';
import { lentObjects, type Store, type StoreEvent } from '../../src/storage/store.js';

// the registry reads the variable when it loads
process.env.TIMONEL_CHECK_LENT = '1';
const { builtinScheme } = await import('../../src/api/kinds/index.js');
const { newApiServer } = await import('../../src/apiserver/server.js');
const { eventObject, lentObjectMismatches } = await import('../../src/apiserver/registry.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'timonel-lent-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

const stores: [string, () => Store][] = [
  ['memory', () => new MemoryStore()],
  ['sqlite', () => SqliteStore.open(path.join(dir, `s${files++}.db`))],
];

for (const [name, open] of stores) {
  describe(`lent objects (${name} store)`, () => {
    it('the watchers of a write see its objects while it is delivered, and no longer once it has been', async () => {
      const store = open();
      const seen: { ev: StoreEvent; value?: object; prev?: object }[] = [];
      store.watch('/core/pods/', { afterRev: 0, onEvent: (ev) => seen.push({ ev, ...lentObjects(ev) }) });
      const obj = { metadata: { name: 'a', labels: { x: '1' } } };
      const created = await store.create('/core/pods/ns/a', obj);
      const prev = JSON.parse(created.value) as object;
      const next = { metadata: { name: 'a', labels: { x: '2' } } };
      await store.update('/core/pods/ns/a', next, created.rev, prev);
      await store.delete('/core/pods/ns/a');
      assert.deepEqual(
        seen.map((s) => s.ev.type),
        ['ADDED', 'MODIFIED', 'DELETED'],
      );
      assert.equal(seen[0].value, obj);
      assert.equal(seen[0].prev, undefined);
      assert.equal(seen[1].value, next);
      assert.equal(seen[1].prev, prev);
      // a delete holds no object: its event carries the last state, re-stamped
      assert.equal(seen[2].value, undefined);
      // what is lent equals the event's text
      assert.equal(JSON.stringify(seen[0].value), seen[0].ev.value);
      assert.equal(JSON.stringify(seen[1].prev), seen[1].ev.prevValue);
      // after delivery nothing is lent any more (a watcher that keeps the event parses it)
      for (const s of seen) assert.equal(lentObjects(s.ev), undefined);
      await store.close();
    });

    it("a filtered watch decides on the written objects, and a changed one is caught and parsed instead", async () => {
      const scheme = builtinScheme();
      const api = newApiServer({ store: open(), scheme, authenticate: () => undefined, serverAddress: 'x', serviceAccountAdmission: { requireServiceAccount: false } });
      const reg = api.registry;
      const pods = scheme.lookup('', 'v1', 'pods')!;
      await reg.create(scheme.lookup('', 'v1', 'namespaces')!, undefined, { metadata: { name: 'default' } });
      const pod = (n: string): Pod => ({ metadata: { name: n, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

      // the store-level view: the object the registry parsed for the event is the one it wrote
      const parsed: object[] = [];
      const sw = reg.store.watch('/core/pods/', { afterRev: reg.store.currentRevision(), onEvent: (ev) => parsed.push(eventObject(ev)) });
      const seen: string[] = [];
      const w = await reg.watch(pods, 'default', { resourceVersion: String(reg.store.currentRevision()), fieldSelector: 'spec.nodeName=n1', labelSelector: 'app=web' }, (type, it) => {
        seen.push(`${type}:${it.obj.metadata.name}:${(it.obj.spec as Pod['spec'])?.nodeName ?? ''}:${it.obj.metadata.resourceVersion}`);
        assert.deepEqual(it.obj, JSON.parse(it.raw));
      });
      const before = lentObjectMismatches();
      const a = await reg.create(pods, 'default', pod('a'), {});
      const b = (await reg.guaranteedUpdate(pods, 'default', 'a', (cur) => {
        (cur!.spec as Pod['spec'])!.nodeName = 'n1';
        return cur!;
      }, { subresource: 'binding' })).item;
      const c = (await reg.guaranteedUpdate(pods, 'default', 'a', (cur) => {
        cur!.metadata!.labels = { app: 'db' };
        return cur!;
      })).item;
      assert.equal(lentObjectMismatches(), before);
      assert.deepEqual(seen, [`ADDED:a:n1:${b.obj.metadata.resourceVersion}`, `DELETED:a:n1:${c.obj.metadata.resourceVersion}`]);
      // the registry's own objects, not parses of the events' text
      assert.equal(parsed.length, 3);
      assert.equal(parsed[0], a.obj);
      assert.equal(parsed[1], b.obj);
      assert.equal(parsed[2], c.obj);

      // a watcher that breaks the rule and changes the object: the next one sees the stored JSON
      const bad = reg.store.watch('/core/pods/', {
        afterRev: reg.store.currentRevision(),
        onEvent: (ev) => {
          (eventObject(ev).metadata.labels as Record<string, string>).app = 'web';
        },
      });
      const after: string[] = [];
      const w2 = await reg.watch(pods, 'default', { resourceVersion: String(reg.store.currentRevision()), labelSelector: 'app=web' }, (type, it) => after.push(`${type}:${it.obj.metadata.name}`));
      const origError = console.error;
      const errors: string[] = [];
      console.error = (line: string) => errors.push(line);
      try {
        await reg.create(pods, 'default', { ...pod('d'), metadata: { name: 'd', labels: { app: 'db' } } });
      } finally {
        console.error = origError;
      }
      assert.equal(lentObjectMismatches(), before + 1);
      assert.match(errors.join('\n'), /lent with the event of \/core\/pods\/default\/d/);
      assert.deepEqual(after, [], 'the pod labelled app=db is not in an app=web selection');
      for (const x of [sw, w, bad, w2]) x.stop();
      await reg.store.close();
    });
  });
}
