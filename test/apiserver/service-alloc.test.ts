import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { StatusError } from '../../src/api/errors.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { MemoryStore } from '../../src/storage/memory.js';
import type { Store } from '../../src/storage/store.js';

function setup(store: Store = new MemoryStore()) {
  const scheme = builtinScheme();
  const api = newApiServer({ store, scheme, authenticate: () => undefined, serverAddress: 'x', services: { serviceCIDR: '10.99.0.0/29', nodePortRange: [30000, 30002] } });
  const svc = scheme.lookup('', 'v1', 'services')!;
  const ns = scheme.lookup('', 'v1', 'namespaces')!;
  return { api, store, svc, ns, reg: api.registry };
}

const service = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { ports: [{ port: 80 }], selector: { app: name }, ...spec },
});

async function rejects422(p: Promise<unknown>, detail: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StatusError, String(e));
    assert.equal(e.code, 422);
    assert.match(e.message, detail);
    return true;
  });
}

test('ClusterIPs come from the service CIDR, never twice, and are released on delete', async () => {
  const { reg, svc, ns } = setup();
  await reg.create(ns, undefined, { metadata: { name: 'default' } });
  const got = new Set<string>();
  // a /29 has 6 usable addresses
  for (let i = 0; i < 6; i++) {
    const { obj } = await reg.create(svc, 'default', service(`s${i}`));
    const spec = obj.spec as { clusterIP: string; clusterIPs: string[]; ipFamilies: string[]; ipFamilyPolicy: string };
    assert.match(spec.clusterIP, /^10\.99\.0\.[1-6]$/);
    assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
    assert.deepEqual(spec.ipFamilies, ['IPv4']);
    assert.equal(spec.ipFamilyPolicy, 'SingleStack');
    got.add(spec.clusterIP);
  }
  assert.equal(got.size, 6);
  await rejects422(reg.create(svc, 'default', service('full')), /range is full/);
  const freed = [...got][0];
  const owner = (await reg.list(svc, 'default', {})).items.find((i) => (i.obj.spec as { clusterIP: string }).clusterIP === freed)!;
  await reg.delete(svc, 'default', owner.obj.metadata.name);
  const { obj } = await reg.create(svc, 'default', service('again', { clusterIP: freed }));
  assert.equal((obj.spec as { clusterIP: string }).clusterIP, freed);
});

test('a requested ClusterIP must be free and in range; headless and ExternalName get none', async () => {
  const { reg, svc, ns } = setup();
  await reg.create(ns, undefined, { metadata: { name: 'default' } });
  await reg.create(svc, 'default', service('a', { clusterIP: '10.99.0.3' }));
  await rejects422(reg.create(svc, 'default', service('b', { clusterIP: '10.99.0.3' })), /provided IP is already allocated/);
  await rejects422(reg.create(svc, 'default', service('c', { clusterIP: '10.1.2.3' })), /not in the valid range/);
  const h = await reg.create(svc, 'default', service('headless', { clusterIP: 'None' }));
  assert.equal((h.obj.spec as { clusterIP: string }).clusterIP, 'None');
  const e = await reg.create(svc, 'default', { metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
  assert.equal((e.obj.spec as { clusterIP?: string }).clusterIP, undefined);
});

test('NodePorts are allocated in range, collisions refused, dry runs reserve nothing', async () => {
  const { reg, svc, ns } = setup();
  await reg.create(ns, undefined, { metadata: { name: 'default' } });
  const a = await reg.create(svc, 'default', service('a', { type: 'NodePort' }));
  const port = (a.obj.spec as { ports: { nodePort: number }[] }).ports[0].nodePort;
  assert.ok(port >= 30000 && port <= 30002, String(port));
  await rejects422(reg.create(svc, 'default', service('b', { type: 'NodePort', ports: [{ port: 80, nodePort: port }] })), /provided port is already allocated/);
  await rejects422(reg.create(svc, 'default', service('c', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] })), /not in the valid range/);
  // dry run: allocates for the answer, keeps nothing
  for (let i = 0; i < 5; i++) await reg.create(svc, 'default', service(`dry${i}`, { type: 'NodePort' }), { dryRun: true });
  await reg.create(svc, 'default', service('d', { type: 'NodePort' }));
  await reg.create(svc, 'default', service('e', { type: 'NodePort' }));
  await rejects422(reg.create(svc, 'default', service('f', { type: 'NodePort' })), /range is full/);
});

test('allocations are rebuilt from stored Services after a restart', async () => {
  const store = new MemoryStore();
  const first = setup(store);
  await first.reg.create(first.ns, undefined, { metadata: { name: 'default' } });
  const { obj } = await first.reg.create(first.svc, 'default', service('a', { type: 'NodePort' }));
  const spec = obj.spec as { clusterIP: string; ports: { nodePort: number }[] };
  const second = setup(store);
  await rejects422(second.reg.create(second.svc, 'default', service('b', { clusterIP: spec.clusterIP })), /already allocated/);
  await rejects422(second.reg.create(second.svc, 'default', service('c', { type: 'NodePort', ports: [{ port: 80, nodePort: spec.ports[0].nodePort }] })), /already allocated/);
});

test('duplicate ports and duplicate node ports in one Service are refused, and nothing is allocated for it', async () => {
  const { reg, svc, ns } = setup();
  await reg.create(ns, undefined, { metadata: { name: 'default' } });
  await rejects422(
    reg.create(svc, 'default', service('dup', { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] })),
    /spec\.ports\[1\]: Duplicate value/,
  );
  // the same port number over two protocols is two ports
  await reg.create(svc, 'default', service('dns', { ports: [{ name: 'udp', port: 53, protocol: 'UDP' }, { name: 'tcp', port: 53, protocol: 'TCP' }] }));
  await rejects422(
    reg.create(svc, 'default', service('dupnp', { type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30001 }, { name: 'b', port: 81, nodePort: 30001 }] })),
    /spec\.ports\[1\]\.nodePort: Duplicate value/,
  );
  // the refused Services held nothing: the node port is still free
  const { obj } = await reg.create(svc, 'default', service('np', { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] }));
  assert.equal((obj.spec as { ports: { nodePort: number }[] }).ports[0].nodePort, 30001);
});
