// `timonel up --authorization-mode`: RBAC by default (anonymous requests get 401 outside the public paths),
// AlwaysAllow keeps HTTPS but lets a request without credentials do anything.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { spawnServer, type SpawnedServer } from '../helpers/cluster.js';
import { rawRequest } from '../helpers/raw.js';

describe('timonel up --authorization-mode', () => {
  const servers: SpawnedServer[] = [];
  after(() => Promise.all(servers.map((s) => s.stop())));

  it('RBAC (default): an anonymous request is refused with 401; AlwaysAllow: it is served, over HTTPS', async () => {
    const rbac = await spawnServer([]);
    servers.push(rbac);
    const open = await spawnServer(['--authorization-mode', 'AlwaysAllow']);
    servers.push(open);
    assert.match(open.url, /^https:/);

    const refused = await rawRequest(rbac.kubeconfigPath, 'GET', '/api/v1/namespaces', { anonymous: true });
    assert.equal(refused.status, 401);
    const served = await rawRequest(open.kubeconfigPath, 'GET', '/api/v1/namespaces', { anonymous: true });
    assert.equal(served.status, 200);
    const created = await rawRequest(open.kubeconfigPath, 'POST', '/api/v1/namespaces', { anonymous: true, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'made-anonymously' } } });
    assert.equal(created.status, 201);
    // a client certificate still authenticates
    const asAdmin = await rawRequest(open.kubeconfigPath, 'GET', '/api/v1/namespaces/made-anonymously');
    assert.equal(asAdmin.status, 200);
  });

  it('refuses an unknown mode', async () => {
    await assert.rejects(spawnServer(['--authorization-mode', 'Webhook'], { readyTimeoutMs: 20_000 }), /--authorization-mode: RBAC or AlwaysAllow, not Webhook/);
  });
});
