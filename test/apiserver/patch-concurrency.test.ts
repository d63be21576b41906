// Writes to one object racing each other: a PATCH carries no resourceVersion precondition, so the
// server recomputes it against the newer object instead of answering 409; a PUT's precondition holds.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import type { KubeObject } from '../../src/api/types.js';
import type { AdmissionPlugin } from '../../src/apiserver/registry.js';
import { rawRequest } from '../helpers/raw.js';

interface CM {
  metadata: { resourceVersion: string };
  data?: Record<string, string>;
}

let cluster: TestCluster;
before(async () => {
  cluster = await startTestCluster({ controllers: false });
});
after(async () => {
  await cluster?.close();
});

const path = '/api/v1/namespaces/default/configmaps';
const req = (method: string, p: string, body?: unknown, contentType = 'application/json') =>
  rawRequest(cluster.kubeconfigPath, method, p, { body, headers: { 'Content-Type': contentType } });

/** Once armed, the next update of ConfigMap default/hot is overtaken by another write between its read and its commit. */
let armed = false;
const interfere: AdmissionPlugin = {
  name: 'TestInterference',
  async admit(op, info, obj, _old, reg) {
    if (!armed || op !== 'update' || info.resource !== 'configmaps' || obj.metadata?.name !== 'hot') return;
    armed = false;
    await reg.guaranteedUpdate(info, 'default', 'hot', (cur) => ({ ...cur!, data: { ...(cur as CM).data, overtaken: 'yes' } }) as KubeObject);
  },
};

test('a PATCH overtaken by another write is recomputed against it, not refused', async () => {
  cluster.api.registry.admission.push(interfere);
  assert.equal((await req('POST', path, { metadata: { name: 'hot' }, data: { a: '1' } })).status, 201);
  for (const type of ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json']) {
    armed = true;
    const key = type.split('/')[1].split('-')[0];
    const body = type === 'application/json-patch+json' ? [{ op: 'add', path: `/data/${key}`, value: 'x' }] : { data: { [key]: 'x' } };
    const r = await req('PATCH', `${path}/hot`, body, type);
    assert.equal(r.status, 200, `${type}: ${r.body}`);
    assert.equal(armed, false, 'the interfering write happened');
    const data = ((await req('GET', `${path}/hot`)).json as CM).data;
    assert.equal(data?.overtaken, 'yes');
    assert.equal(data?.[key], 'x');
    await req('PATCH', `${path}/hot`, { data: { overtaken: null } }, 'application/merge-patch+json');
  }
});

test('a PUT with a resourceVersion overtaken by another write still gets 409', async () => {
  const current = (await req('GET', `${path}/hot`)).json as CM;
  armed = true;
  const r = await req('PUT', `${path}/hot`, { metadata: { name: 'hot', resourceVersion: current.metadata.resourceVersion }, data: { replaced: 'yes' } });
  assert.equal(r.status, 409, r.body);
  assert.equal((r.json as { reason: string }).reason, 'Conflict');
  const data = ((await req('GET', `${path}/hot`)).json as CM).data;
  assert.equal(data?.overtaken, 'yes');
  assert.equal(data?.replaced, undefined);
});
