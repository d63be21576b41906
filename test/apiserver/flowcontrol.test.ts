// Flow control: max in-flight (read-only and mutating counted apart, watches not at all, system:masters and
// in-process components exempt: served and never counted) and the per-user token bucket answer 429
// TooManyRequests with Retry-After; a request that was let in always completes, and a refused write stores nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installFlowControl, TOO_MANY_REQUESTS_MESSAGE, type InstalledFlowControl } from '../../src/apiserver/flowcontrol.js';
import { kubeconfigYAML, writeKubeconfig } from '../../src/cli/kubeconfig.js';
import { issueCert } from '../../src/cli/pki.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { rawRequest, type RawRequestOptions, type RawResponse } from '../helpers/raw.js';

const NS = 'default';
const CM = `/api/v1/namespaces/${NS}/configmaps`;
const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: name } });

describe('flow control', () => {
  let cluster: TestCluster;
  const kubeconfigs: Record<string, string> = {};
  let fc: InstalledFlowControl | undefined;
  const as = (user: string, method: string, path: string, opts?: RawRequestOptions) => rawRequest(kubeconfigs[user], method, path, opts);

  /** A kubeconfig with a client certificate for `name`, bound to cluster-admin (but not in system:masters). */
  async function newUser(name: string): Promise<void> {
    const pki = join(cluster.dataDir, 'pki');
    const ca = { certPem: readFileSync(join(pki, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(pki, 'ca.key'), 'utf8') };
    const pair = await issueCert(ca, { commonName: name, client: true, days: 1 });
    const path = join(cluster.dataDir, `${name}.kubeconfig`);
    writeKubeconfig(path, kubeconfigYAML(cluster.url, ca.certPem, { name, clientCertPem: pair.certPem, clientKeyPem: pair.keyPem }));
    kubeconfigs[name] = path;
    const b = await as('admin', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: `${name}-admin` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }],
      },
    });
    assert.equal(b.status, 201, b.body);
  }

  function assertTooMany(r: RawResponse, retryAfter = '1'): void {
    assert.equal(r.status, 429, r.body);
    assert.equal(r.headers['retry-after'], retryAfter);
    const s = r.json as { kind: string; status: string; reason: string; message: string; code: number; details?: { retryAfterSeconds?: number } };
    assert.equal(s.kind, 'Status');
    assert.equal(s.status, 'Failure');
    assert.equal(s.reason, 'TooManyRequests');
    assert.equal(s.code, 429);
    assert.equal(s.message, TOO_MANY_REQUESTS_MESSAGE);
    assert.equal(s.details?.retryAfterSeconds, Number(retryAfter));
  }

  /** Requests wait after flow control until `open()`, so they stay in flight; `restore()` opens and undoes it. */
  function holdRequests(): { open: () => void; restore: () => void } {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const previous = cluster.api.whenReady;
    cluster.api.whenReady = gate;
    return {
      open,
      restore: () => {
        open();
        cluster.api.whenReady = previous;
      },
    };
  }

  before(async () => {
    cluster = await startTestCluster({ controllers: false });
    kubeconfigs.admin = cluster.kubeconfigPath;
    await newUser('bob');
    await newUser('carol');
    // RBAC caches see the bindings
    for (let i = 0; i < 100; i++) {
      if ((await as('bob', 'GET', CM)).status === 200 && (await as('carol', 'GET', CM)).status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  after(async () => {
    fc?.uninstall();
    await cluster?.close();
  });

  test('max in-flight: 429 + Retry-After beyond the limit, read-only and mutating apart, watches and system:masters not refused', async () => {
    fc = installFlowControl(cluster.api, { maxRequestsInFlight: 1, maxMutatingRequestsInFlight: 1 });
    const { open, restore } = holdRequests();
    try {
      const heldGet = as('bob', 'GET', CM);
      const heldCreate = as('bob', 'POST', CM, { body: cm('held') });
      await waitFor(() => fc!.inFlight().readOnly === 1 && fc!.inFlight().mutating === 1);
      assertTooMany(await as('carol', 'GET', CM));
      assertTooMany(await as('bob', 'POST', CM, { body: cm('refused') }));
      const watch = as('bob', 'GET', `${CM}?watch=true&timeoutSeconds=1`);
      const masters = as('admin', 'GET', CM);
      const mastersWrite = as('admin', 'POST', CM, { body: cm('by-admin') });
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(fc.inFlight(), { readOnly: 1, mutating: 1 });
      open();
      const [g, c, w, m, mw] = await Promise.all([heldGet, heldCreate, watch, masters, mastersWrite]);
      assert.equal(g.status, 200, g.body);
      assert.equal(c.status, 201, c.body);
      assert.equal(w.status, 200, w.body);
      assert.equal(m.status, 200, m.body);
      assert.equal(mw.status, 201, mw.body);
    } finally {
      restore();
    }
    await waitFor(() => fc!.inFlight().readOnly === 0 && fc!.inFlight().mutating === 0);
    assert.equal((await as('admin', 'GET', `${CM}/held`)).status, 200);
    assert.equal((await as('admin', 'GET', `${CM}/refused`)).status, 404);
    assert.equal(fc.rejected(), 2);
    fc.uninstall();
  });

  test('exempt requests take no seat: system:masters requests held in flight leave the limits to others', async () => {
    fc = installFlowControl(cluster.api, { maxRequestsInFlight: 1, maxMutatingRequestsInFlight: 1 });
    const { open, restore } = holdRequests();
    try {
      const admin = [as('admin', 'GET', CM), as('admin', 'POST', CM, { body: cm('exempt-held') })];
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(fc.inFlight(), { readOnly: 0, mutating: 0 });
      const bob = [as('bob', 'GET', CM), as('bob', 'POST', CM, { body: cm('seated') })];
      await waitFor(() => fc!.inFlight().readOnly === 1 && fc!.inFlight().mutating === 1);
      assertTooMany(await as('carol', 'POST', CM, { body: cm('no-seat') }));
      open();
      for (const r of await Promise.all([...admin, ...bob])) assert.ok(r.status === 200 || r.status === 201, r.body);
    } finally {
      restore();
    }
    await waitFor(() => fc!.inFlight().readOnly === 0 && fc!.inFlight().mutating === 0);
    assert.equal(fc.rejected(), 1);
    fc.uninstall();
  });

  test('per-user token bucket: a burst, then 429 with the wait; other users and system:masters unaffected', async () => {
    fc = installFlowControl(cluster.api, { perUser: { qps: 0.25, burst: 3 } });
    for (let i = 0; i < 3; i++) assert.equal((await as('bob', 'GET', CM)).status, 200);
    assertTooMany(await as('bob', 'GET', CM), '4');
    assertTooMany(await as('bob', 'POST', CM, { body: cm('rate-limited') }), '4');
    assert.equal((await as('carol', 'GET', CM)).status, 200);
    for (let i = 0; i < 10; i++) assert.equal((await as('admin', 'GET', CM)).status, 200);
    assert.equal((await as('admin', 'GET', `${CM}/rate-limited`)).status, 404);
    fc.uninstall();
  });

  test('no lost write: under a tiny limit every create is 201 (and stored) or 429 (and not stored)', async () => {
    fc = installFlowControl(cluster.api, { maxMutatingRequestsInFlight: 2 });
    const names = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
    const results = await Promise.all(names.map((n) => as('bob', 'POST', CM, { body: cm(n) })));
    const codes = results.map((r) => r.status);
    assert.ok(codes.every((c) => c === 201 || c === 429), codes.join(' '));
    assert.ok(codes.includes(201));
    for (const [i, r] of results.entries()) {
      const got = await as('admin', 'GET', `${CM}/${names[i]}`);
      if (r.status === 201) {
        assert.equal(got.status, 200);
        assert.equal((got.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion, (r.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
      } else {
        assertTooMany(r);
        assert.equal(got.status, 404, `${names[i]} was refused but stored`);
      }
    }
    await waitFor(() => fc!.inFlight().mutating === 0);
    fc.uninstall();
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
