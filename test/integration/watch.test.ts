// Watch over HTTPS: too-old resourceVersions (410 Expired), bookmarks and timeoutSeconds, and
// label-selector watches that see objects leave and re-enter the selection.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { rawRequest, rawWatch, type WatchEvent } from '../helpers/raw.js';

const NS = 'watching';
const CM = `/api/v1/namespaces/${NS}/configmaps`;

interface Meta {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
}

describe('watch', () => {
  let cluster: TestCluster;
  const req = (method: string, path: string, body?: unknown, contentType?: string) =>
    rawRequest(cluster.kubeconfigPath, method, path, { body, headers: contentType ? { 'Content-Type': contentType } : undefined });
  const watch = (query: string, path = CM) => rawWatch(cluster.kubeconfigPath, `${path}?watch=true&${query}`);
  const create = async (name: string, labels: Record<string, string> = {}) => {
    const r = await req('POST', CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { v: '0' } });
    assert.equal(r.status, 201, r.body);
    return r.json as Meta;
  };
  const patch = async (name: string, body: unknown) => {
    const r = await req('PATCH', `${CM}/${name}`, body, 'application/merge-patch+json');
    assert.equal(r.status, 200, r.body);
    return r.json as Meta;
  };
  const listRV = async () => ((await req('GET', CM)).json as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

  before(async () => {
    // history is only dropped when the test calls compact(), and then all of it
    cluster = await startTestCluster({ storeOptions: { historyRevisions: 0, historySeconds: 0, compactIntervalMs: 3_600_000 } });
    const r = await req('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    assert.equal(r.status, 201, r.body);
  });
  after(async () => {
    await cluster?.close();
  });

  test('a compacted resourceVersion gives an ERROR event with a 410 Expired Status, then the stream ends', async () => {
    const old = await create('old');
    const oldRV = old.metadata.resourceVersion;
    for (let i = 1; i <= 10; i++) await patch('old', { data: { v: String(i) } });
    await cluster.store.compact();
    assert.ok(cluster.store.compactedRevision() > Number(oldRV), `compacted ${cluster.store.compactedRevision()} > ${oldRV}`);

    for (const path of [CM, `${CM}/old`, '/api/v1/configmaps']) {
      const w = await watch(`resourceVersion=${oldRV}`, path);
      assert.equal(w.status, 200, 'the watch starts; the error travels as an event');
      const ev = await w.waitFor((e) => e.type === 'ERROR');
      assert.equal(ev.object.kind, 'Status');
      assert.equal(ev.object.code, 410);
      assert.equal(ev.object.reason, 'Expired');
      assert.match(ev.object.message ?? '', /too old resource version/);
      await w.ended;
      assert.deepEqual(w.events.map((e) => e.type), ['ERROR'], path);
    }

    const exact = await req('GET', `${CM}?resourceVersion=${oldRV}&resourceVersionMatch=Exact`);
    assert.equal(exact.status, 410, exact.body);
    assert.equal((exact.json as { reason: string }).reason, 'Expired');

    // resuming from a revision still in history works
    const fresh = await listRV();
    const w = await watch(`resourceVersion=${fresh}`);
    try {
      await patch('old', { data: { v: 'after compaction' } });
      const ev = await w.waitFor((e) => e.type === 'MODIFIED');
      assert.equal((ev.object as { data?: Record<string, string> }).data?.v, 'after compaction');
    } finally {
      w.close();
    }
  });

  test('allowWatchBookmarks with timeoutSeconds: the stream ends on time with a BOOKMARK at the latest revision', async () => {
    await create('bm');
    const rv = await listRV();
    const t0 = Date.now();
    const w = await watch(`resourceVersion=${rv}&allowWatchBookmarks=true&timeoutSeconds=2`);
    const changed = await patch('bm', { data: { v: 'changed' } });
    await w.waitFor((e) => e.type === 'MODIFIED');
    await w.ended;
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 1500 && elapsed < 8000, `the server ended the watch after timeoutSeconds (${elapsed} ms)`);
    const bookmark = w.events.at(-1)!;
    assert.equal(bookmark.type, 'BOOKMARK', JSON.stringify(w.events.map((e) => e.type)));
    assert.equal(bookmark.object.kind, 'ConfigMap');
    assert.equal(bookmark.object.apiVersion, 'v1');
    assert.ok(Number(bookmark.object.metadata?.resourceVersion) >= Number(changed.metadata.resourceVersion));

    const plain = await watch(`resourceVersion=${await listRV()}&timeoutSeconds=1`);
    await plain.ended;
    assert.ok(!plain.events.some((e) => e.type === 'BOOKMARK'), 'no bookmarks unless asked for');
  });

  test('sendInitialEvents streams the current state, then a BOOKMARK marking its end', async () => {
    const w = await watch('sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&resourceVersion=&timeoutSeconds=5');
    try {
      const end = await w.waitFor((e) => e.type === 'BOOKMARK' && e.object.metadata?.annotations?.['k8s.io/initial-events-end'] === 'true');
      const initial = w.events.slice(0, w.events.indexOf(end));
      assert.ok(initial.every((e) => e.type === 'ADDED'));
      // kube-root-ca.crt is the cluster's own ConfigMap in every namespace, as upstream
      assert.deepEqual(initial.map((e) => e.object.metadata?.name).filter((n) => n !== 'kube-root-ca.crt').sort(), ['bm', 'old']);
      await create('after-initial');
      const added = await w.waitFor((e) => e.type === 'ADDED' && e.object.metadata?.name === 'after-initial');
      assert.ok(w.events.indexOf(added) > w.events.indexOf(end));
    } finally {
      w.close();
    }
  });

  test('a label-selector watch sees DELETED when the label stops matching, ADDED when it matches again', async () => {
    const rv = await listRV();
    const w = await watch(`resourceVersion=${rv}&labelSelector=${encodeURIComponent('app=sel')}`);
    try {
      await create('sel-1', { app: 'sel' });
      await create('unrelated', { app: 'other' });
      const added = await w.waitFor((e) => e.type === 'ADDED' && e.object.metadata?.name === 'sel-1');
      assert.equal(added.object.metadata?.resourceVersion !== undefined, true);

      const relabelled = await patch('sel-1', { metadata: { labels: { app: 'gone' } } });
      const left = await w.waitFor((e) => e.type === 'DELETED');
      assert.equal(left.object.metadata?.name, 'sel-1');
      assert.equal(left.object.metadata?.resourceVersion, relabelled.metadata.resourceVersion, 'DELETED at the revision of the change');

      await patch('sel-1', { data: { v: 'unseen while not matching' } });
      const back = await patch('sel-1', { metadata: { labels: { app: 'sel' } } });
      const readded = await w.waitFor((e) => e.type === 'ADDED' && e.object.metadata?.resourceVersion === back.metadata.resourceVersion);
      assert.equal(readded.object.metadata?.name, 'sel-1');
      await patch('sel-1', { data: { v: 'seen' } });
      await w.waitFor((e) => e.type === 'MODIFIED');

      const summary = w.events.map((e: WatchEvent) => `${e.type} ${e.object.metadata?.name}`);
      assert.deepEqual(summary, ['ADDED sel-1', 'DELETED sel-1', 'ADDED sel-1', 'MODIFIED sel-1'], 'only matching objects, and nothing while it did not match');
    } finally {
      w.close();
    }
  });

  test('a watch without resourceVersion starts with ADDED for what exists; one across namespaces sees them all', async () => {
    const other = await req('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watching-2' } });
    assert.equal(other.status, 201, other.body);
    const w = await watch('labelSelector=multi%3Dyes', '/api/v1/configmaps');
    try {
      await create('multi-a', { multi: 'yes' });
      const r = await req('POST', '/api/v1/namespaces/watching-2/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'multi-b', labels: { multi: 'yes' } } });
      assert.equal(r.status, 201, r.body);
      await w.waitFor((e) => e.object.metadata?.name === 'multi-b');
      const namespaces = w.events.map((e) => e.object.metadata?.namespace).sort();
      assert.deepEqual(namespaces, [NS, 'watching-2']);
    } finally {
      w.close();
    }
    const initial = await watch('labelSelector=multi%3Dyes&timeoutSeconds=1', '/api/v1/configmaps');
    await initial.ended;
    assert.deepEqual(initial.events.map((e) => `${e.type} ${e.object.metadata?.name}`).sort(), ['ADDED multi-a', 'ADDED multi-b']);
  });
});
