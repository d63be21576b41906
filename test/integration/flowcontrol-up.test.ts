// `timonel up --per-user-qps/--per-user-burst` and the in-flight limits as flags: a user over its rate gets
// 429 TooManyRequests with Retry-After; admins are exempt.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { spawnServer, type SpawnedServer } from '../helpers/cluster.js';
import { rawRequest } from '../helpers/raw.js';

describe('timonel up flow-control flags', () => {
  const servers: SpawnedServer[] = [];
  after(() => Promise.all(servers.map((s) => s.stop())));

  it('--per-user-qps 1 --per-user-burst 2: the third quick request of a user is refused with 429 and Retry-After; admin is not limited', async () => {
    const s = await spawnServer(['--per-user-qps', '1', '--per-user-burst', '2']);
    servers.push(s);
    const anonymous = [];
    for (let i = 0; i < 4; i++) anonymous.push(await rawRequest(s.kubeconfigPath, 'GET', '/version', { anonymous: true }));
    assert.deepEqual(anonymous.slice(0, 2).map((r) => r.status), [200, 200]);
    const refused = anonymous.slice(2).filter((r) => r.status === 429);
    assert.ok(refused.length >= 1, `statuses: ${anonymous.map((r) => r.status).join(' ')}`);
    assert.match(String(refused[0].headers['retry-after']), /^[1-9][0-9]*$/);
    assert.equal((refused[0].json as { reason?: string }).reason, 'TooManyRequests');
    for (let i = 0; i < 10; i++) assert.equal((await rawRequest(s.kubeconfigPath, 'GET', '/api/v1/namespaces')).status, 200, 'admin is exempt');
  });

  it('refuses a bad count', async () => {
    await assert.rejects(spawnServer(['--max-requests-inflight', 'lots'], { readyTimeoutMs: 20_000 }), /--max-requests-inflight: not a count: lots/);
  });
});
