// `timonel up` in a child process: a clean SIGTERM shutdown, a restart on the same data, and no
// acknowledged write lost to kill -9.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { spawnServer, type SpawnedServer } from '../helpers/cluster.js';
import { rawRequest } from '../helpers/raw.js';

interface Meta {
  metadata: { name: string; uid: string; resourceVersion: string; namespace?: string };
  data?: Record<string, string>;
}

const NS = 'durable';

describe('restart and durability', () => {
  const servers: SpawnedServer[] = [];
  let dataDir: string | undefined;

  async function start(): Promise<SpawnedServer> {
    const s = await spawnServer(dataDir ? ['--data-dir', dataDir] : []);
    dataDir = s.dataDir;
    servers.push(s);
    return s;
  }
  const req = (s: SpawnedServer, method: string, path: string, body?: unknown) => rawRequest(s.kubeconfigPath, method, path, { body });
  const createCM = async (s: SpawnedServer, name: string, data: Record<string, string> = { v: name }) => {
    const r = await req(s, 'POST', `/api/v1/namespaces/${NS}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
    assert.equal(r.status, 201, r.body);
    return r.json as Meta;
  };

  after(() => {
    for (const s of servers) s.kill('SIGKILL');
  });

  let before: Meta[] = [];

  test('SIGTERM shuts down cleanly with exit code 0', async () => {
    const s = await start();
    const ns = await req(s, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    assert.equal(ns.status, 201, ns.body);
    before = await Promise.all(['one', 'two', 'three'].map((n) => createCM(s, n)));
    const updated = await req(s, 'PUT', `/api/v1/namespaces/${NS}/configmaps/two`, { ...before[1], data: { v: 'two, updated' } });
    assert.equal(updated.status, 200, updated.body);
    before[1] = updated.json as Meta;
    const deleted = await req(s, 'DELETE', `/api/v1/namespaces/${NS}/configmaps/three`);
    assert.equal(deleted.status, 200);
    before.pop();
    s.kill('SIGTERM');
    const exit = await s.waitExit();
    assert.deepEqual(exit, { code: 0, signal: null }, s.output());
  });

  test('a restart on the same data dir serves the same objects and continues the revisions', async () => {
    assert.ok(dataDir);
    const s = await start();
    const list = (await req(s, 'GET', `/api/v1/namespaces/${NS}/configmaps`)).json as { items: Meta[]; metadata: { resourceVersion: string } };
    // kube-root-ca.crt is the cluster's own (in every namespace, as upstream)
    const byName = new Map(list.items.filter((i) => i.metadata.name !== 'kube-root-ca.crt').map((i) => [i.metadata.name, i]));
    assert.deepEqual([...byName.keys()].sort(), ['one', 'two']);
    for (const old of before) assert.deepEqual(byName.get(old.metadata.name), old, `${old.metadata.name} survives unchanged`);
    const highest = Math.max(...before.map((o) => Number(o.metadata.resourceVersion)));
    assert.ok(Number(list.metadata.resourceVersion) >= highest);
    const fresh = await createCM(s, 'after-restart');
    assert.ok(Number(fresh.metadata.resourceVersion) > Number(list.metadata.resourceVersion), `new write rv ${fresh.metadata.resourceVersion} > list rv ${list.metadata.resourceVersion}`);
    // kubectl finds the restarted server through the rewritten kubeconfig
    const { stdout } = await s.kubectlOk(['get', 'cm', '-n', NS, '-o', 'name']);
    assert.deepEqual(stdout.split('\n').filter((l) => l && l !== 'configmap/kube-root-ca.crt').sort(), ['configmap/after-restart', 'configmap/one', 'configmap/two']);
    s.kill('SIGTERM');
    assert.equal((await s.waitExit()).code, 0);
  });

  test('kill -9 right after acknowledged writes loses none of them', async () => {
    const s = await start();
    const acked: Meta[] = await Promise.all(Array.from({ length: 20 }, (_, i) => createCM(s, `acked-${i}`, { i: String(i) })));
    const last = await createCM(s, 'last-before-kill');
    s.kill('SIGKILL');
    const exit = await s.waitExit();
    assert.equal(exit.signal, 'SIGKILL');

    const s2 = await start();
    for (const want of [...acked, last]) {
      const r = await req(s2, 'GET', `/api/v1/namespaces/${NS}/configmaps/${want.metadata.name}`);
      assert.equal(r.status, 200, `${want.metadata.name} lost after kill -9: ${r.body}`);
      assert.deepEqual(r.json, want);
    }
    const highest = Math.max(...[...acked, last].map((o) => Number(o.metadata.resourceVersion)));
    const next = await createCM(s2, 'after-kill');
    assert.ok(Number(next.metadata.resourceVersion) > highest, `rv ${next.metadata.resourceVersion} > ${highest}`);
    s2.kill('SIGTERM');
    assert.equal((await s2.waitExit()).code, 0);
  });
});
