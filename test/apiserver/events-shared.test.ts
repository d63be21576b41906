import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { MemoryStore } from '../../src/storage/memory.js';

test('core and events.k8s.io Events are one storage, each read in its own shape', async () => {
  const scheme = builtinScheme();
  const api = newApiServer({ store: new MemoryStore(), scheme, authenticate: () => undefined, serverAddress: 'x' });
  const reg = api.registry;
  await reg.create(scheme.lookup('', 'v1', 'namespaces')!, undefined, { metadata: { name: 'default' } });
  const ev1 = scheme.lookup('events.k8s.io', 'v1', 'events')!;
  const core = scheme.lookup('', 'v1', 'events')!;
  const created = await reg.create(ev1, 'default', {
    metadata: { name: 'e1' },
    eventTime: '2026-01-01T00:00:00.000000Z',
    reportingController: 'timonel.io/test',
    reportingInstance: 'i1',
    action: 'Testing',
    reason: 'Tested',
    regarding: { kind: 'Pod', name: 'p', namespace: 'default' },
    note: 'hello',
    type: 'Normal',
  });
  assert.equal(created.obj.apiVersion, 'events.k8s.io/v1');
  assert.equal(JSON.parse(created.raw).note, 'hello');

  const asCore = await reg.get(core, 'default', 'e1');
  assert.equal(asCore.obj.apiVersion, 'v1');
  assert.equal(asCore.obj.message, 'hello');
  assert.equal((asCore.obj.involvedObject as { name: string }).name, 'p');
  assert.equal(asCore.obj.reportingComponent, 'timonel.io/test');
  assert.equal(asCore.obj.metadata.resourceVersion, created.obj.metadata.resourceVersion);

  // written through core, listed through events.k8s.io with its own field names
  await reg.create(core, 'default', { metadata: { name: 'e2' }, involvedObject: { kind: 'Pod', name: 'q', namespace: 'default' }, reason: 'Started', message: 'core one', type: 'Normal' });
  const l = await reg.list(ev1, 'default', { fieldSelector: 'regarding.name=q' });
  assert.deepEqual(l.items.map((i) => i.obj.note), ['core one']);
  const lc = await reg.list(core, 'default', { fieldSelector: 'involvedObject.name=p' });
  assert.deepEqual(lc.items.map((i) => i.obj.message), ['hello']);

  // a watch on events.k8s.io sees core writes converted
  const seen: string[] = [];
  const w = await reg.watch(ev1, 'default', { resourceVersion: String(api.registry.store.currentRevision()) }, (type, it) => seen.push(`${type}:${it.obj.apiVersion}:${it.obj.note}`));
  await reg.create(core, 'default', { metadata: { name: 'e3' }, involvedObject: { kind: 'Pod', name: 'r', namespace: 'default' }, message: 'third' });
  w.stop();
  assert.deepEqual(seen, ['ADDED:events.k8s.io/v1:third']);
});
