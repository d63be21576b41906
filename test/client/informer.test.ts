import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { inProcessAuthenticator } from '../../src/apiserver/authn.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { Informer, metaNamespaceKey, NAMESPACE_INDEX, splitMetaNamespaceKey } from '../../src/client/informer.js';
import { RestClient, type ResourceRef } from '../../src/client/rest.js';
import { inProcessAcceptor, inProcessTransport, type Transport, type TransportRequest, type TransportStream } from '../../src/client/transport.js';
import { openStore, type Store } from '../../src/storage/index.js';

const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Wraps a transport so a test can cut every open stream and hold new ones back until released. */
function gated(inner: Transport) {
  const open = new Set<TransportStream>();
  const watchPaths: string[] = [];
  let gate: Promise<void> | undefined;
  let release = () => {};
  const t: Transport = {
    request: (r) => inner.request(r),
    async stream(r: TransportRequest) {
      while (gate) await gate;
      watchPaths.push(r.path);
      const s = await inner.stream(r);
      open.add(s);
      return s;
    },
    close: () => inner.close(),
  };
  return {
    transport: t,
    watchPaths,
    cut() {
      gate = new Promise<void>((r) => (release = r));
      for (const s of open) s.close();
      open.clear();
    },
    release() {
      gate = undefined;
      release();
    },
  };
}

describe('Informer', () => {
  let store: Store;
  let api: ApiServer;
  let g: ReturnType<typeof gated>;
  let rest: RestClient;

  before(async () => {
    // History kept for no time at all, so a compaction drops every past revision.
    store = openStore('memory', undefined, { historyRevisions: 0, historySeconds: 0, compactIntervalMs: 3_600_000 });
    api = newApiServer({ store, scheme: builtinScheme(), authenticate: inProcessAuthenticator(), serverAddress: 'in-process' });
    g = gated(inProcessTransport(inProcessAcceptor(api.handle), { username: 'informer-test', groups: ['system:masters'] }));
    rest = new RestClient(g.transport);
    await rest.resource<Namespace>(NAMESPACES).create({ metadata: { name: 'inf' } });
    await rest.resource<Namespace>(NAMESPACES).create({ metadata: { name: 'other' } });
  });
  after(async () => {
    api.closeWatches();
    g.transport.close();
    await store.close();
  });

  it('transforms objects before caching them (managedFields dropped)', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'other');
    await cms.create({ metadata: { name: 'managed' }, data: { a: '1' } });
    const seen: (object | undefined)[] = [];
    const inf = new Informer<ConfigMap>(cms, {
      transform: (o) => {
        if (o.metadata) delete o.metadata.managedFields;
      },
    });
    inf.onAdd((o) => seen.push(o.metadata?.managedFields));
    inf.start();
    try {
      await inf.waitForSync();
      await cms.patch('managed', 'merge', { data: { a: '2' } });
      await waitFor('the update', () => inf.getByName('other', 'managed')?.data?.a === '2');
      assert.ok((await cms.get('managed')).metadata?.managedFields?.length, 'the server keeps them');
      assert.equal(inf.getByName('other', 'managed')?.metadata?.managedFields, undefined);
      assert.deepEqual(seen, [undefined]);
    } finally {
      await inf.stop();
      await cms.delete('managed');
    }
  });

  it('re-delivers every cached object to onUpdate each resync period, unchanged, and stops with the informer', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'other');
    await cms.create({ metadata: { name: 'r1' }, data: { a: '1' } });
    await cms.create({ metadata: { name: 'r2' }, data: { a: '2' } });
    const updates: string[] = [];
    const inf = new Informer<ConfigMap>(cms, { resyncPeriodMs: 50 });
    inf.onUpdate((oldObj, newObj) => {
      assert.equal(oldObj, newObj, 'a resync hands the cached object as both');
      updates.push(newObj.metadata!.name!);
    });
    inf.start();
    try {
      await inf.waitForSync();
      await waitFor('two resyncs', () => updates.filter((n) => n === 'r1').length >= 2 && updates.filter((n) => n === 'r2').length >= 2);
    } finally {
      await inf.stop();
      await cms.delete('r1');
      await cms.delete('r2');
    }
    const after = updates.length;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(updates.length, after, 'no resync after stop()');
  });

  it('keys objects by namespace/name', () => {
    assert.equal(metaNamespaceKey({ metadata: { namespace: 'a', name: 'b' } }), 'a/b');
    assert.equal(metaNamespaceKey({ metadata: { name: 'n' } }), 'n');
    assert.deepEqual(splitMetaNamespaceKey('a/b'), { namespace: 'a', name: 'b' });
    assert.deepEqual(splitMetaNamespaceKey('n'), { name: 'n' });
  });

  it('lists, watches, indexes, survives a dropped stream and a 410', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'inf');
    await cms.create({ metadata: { name: 'a', labels: { tier: 'x' } } });
    await rest.resource<ConfigMap>(CONFIGMAPS, 'other').create({ metadata: { name: 'elsewhere' } });

    const logs: string[] = [];
    const events: string[] = [];
    const inf = new Informer<ConfigMap>(rest.resource<ConfigMap>(CONFIGMAPS), {
      log: (l) => logs.push(l),
      backoffInitialMs: 10,
      backoffMaxMs: 50,
      indexers: { tier: (cm) => (cm.metadata?.labels?.tier ? [cm.metadata.labels.tier] : []) },
    });
    inf.addEventHandler({
      onAdd: (o) => events.push(`add ${metaNamespaceKey(o)}`),
      onUpdate: (o, n) => events.push(`update ${metaNamespaceKey(n)} ${o.metadata?.resourceVersion}->${n.metadata?.resourceVersion}`),
      onDelete: (o) => events.push(`delete ${metaNamespaceKey(o)}`),
    });
    // a handler that throws must not stop the others or the informer
    inf.onAdd(() => {
      throw new Error('boom');
    });
    assert.equal(inf.hasSynced(), false);
    inf.start();
    try {
      await inf.waitForSync();
      assert.equal(inf.hasSynced(), true);
      assert.deepEqual(inf.keys().sort(), ['inf/a', 'other/elsewhere']);
      assert.deepEqual(events.sort(), ['add inf/a', 'add other/elsewhere']);
      assert.ok(logs.some((l) => l.includes('event handler failed: boom')));

      // live events
      events.length = 0;
      const b = await cms.create({ metadata: { name: 'b', labels: { tier: 'y' } } });
      await waitFor('b added', () => !!inf.get('inf/b'));
      const b2 = await cms.patch('b', 'merge', { metadata: { labels: { tier: 'x' } } });
      await waitFor('b updated', () => inf.get('inf/b')?.metadata?.resourceVersion === b2.metadata?.resourceVersion);
      assert.deepEqual(events, ['add inf/b', `update inf/b ${b.metadata?.resourceVersion}->${b2.metadata?.resourceVersion}`]);
      assert.deepEqual(inf.byIndex('tier', 'x').map(metaNamespaceKey).sort(), ['inf/a', 'inf/b']);
      assert.deepEqual(inf.byIndex('tier', 'y'), []);
      assert.deepEqual(inf.byIndex(NAMESPACE_INDEX, 'inf').map(metaNamespaceKey).sort(), ['inf/a', 'inf/b']);
      assert.equal(inf.lastSyncResourceVersion(), b2.metadata?.resourceVersion);

      // nothing fires while nothing changes
      events.length = 0;
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(events, []);

      // a dropped stream resumes from the last resourceVersion without a relist
      const rvBeforeCut = inf.lastSyncResourceVersion();
      g.cut();
      const c = await cms.create({ metadata: { name: 'c' } });
      g.release();
      await waitFor('c after resume', () => !!inf.get('inf/c'));
      assert.equal(inf.listCount, 1);
      assert.ok(
        g.watchPaths.some((p) => p.includes(`resourceVersion=${rvBeforeCut}`) && p.includes('allowWatchBookmarks=true')),
        `a watch resumed at ${rvBeforeCut}: ${g.watchPaths.join(' ')}`,
      );
      assert.equal(inf.lastSyncResourceVersion(), c.metadata?.resourceVersion);

      // a resume point that was compacted away: 410, relist, and the cache converges
      events.length = 0;
      g.cut();
      await cms.create({ metadata: { name: 'd' } });
      await cms.delete('b');
      await store.compact();
      assert.ok(store.compactedRevision() > Number(inf.lastSyncResourceVersion()));
      g.release();
      await waitFor('relist after 410', () => !!inf.get('inf/d') && !inf.get('inf/b'));
      assert.equal(inf.listCount, 2);
      assert.ok(logs.some((l) => /expired|too old/.test(l)), logs.join('\n'));
      assert.deepEqual(events.sort(), ['add inf/d', 'delete inf/b']);
      assert.deepEqual(inf.byIndex('tier', 'x').map(metaNamespaceKey), ['inf/a']);

      // and it keeps watching afterwards
      await cms.create({ metadata: { name: 'e' } });
      await waitFor('e after relist', () => !!inf.get('inf/e'));
    } finally {
      await inf.stop();
    }
    // stopped: no more events
    events.length = 0;
    await cms.create({ metadata: { name: 'f' } });
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(events, []);
  });

  it('keeps retrying with backoff while the server refuses the list', async () => {
    const logs: string[] = [];
    // a field selector the server rejects: list fails, and keeps failing, without crashing
    const inf = new Informer<ConfigMap>(rest.resource<ConfigMap>(CONFIGMAPS), {
      fieldSelector: 'no.such.field=1',
      log: (l) => logs.push(l),
      backoffInitialMs: 5,
      backoffMaxMs: 20,
    }).start();
    try {
      await waitFor('a few failed lists', () => logs.filter((l) => l.includes('list failed')).length >= 3);
      assert.equal(inf.hasSynced(), false);
    } finally {
      await inf.stop();
    }
  });
});
