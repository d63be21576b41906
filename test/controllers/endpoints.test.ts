// The Endpoints and EndpointSlice controllers, side by side, following pod readiness.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoints, Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { isNotFound, type RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { endpointsController } from '../../src/controllers/endpoints/controller.js';
import { endpointSliceController } from '../../src/controllers/endpointslice/controller.js';
import { garbageCollectorController } from '../../src/controllers/garbagecollector/controller.js';
import type { TestCluster } from '../helpers/cluster.js';
import { startControllerHarness, type ControllerHarness } from '../helpers/fake-kubelet.js';
import { FakeKubelet } from './support-kubelet.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const NS = 'default';

/** "ip:port/name ready|notready" for every address of every subset. */
function endpointsView(ep: Endpoints): string[] {
  const out: string[] = [];
  for (const s of ep.subsets ?? [])
    for (const p of s.ports ?? [{ port: 0, name: '' }]) {
      for (const a of s.addresses ?? []) out.push(`${a.ip}:${p.port}/${p.name ?? ''} ready`);
      for (const a of s.notReadyAddresses ?? []) out.push(`${a.ip}:${p.port}/${p.name ?? ''} notready`);
    }
  return out.sort();
}

/** "pod ip ports r/s/t" for every endpoint of the Service's slices. */
function slicesView(slices: EndpointSlice[]): string[] {
  const out: string[] = [];
  for (const s of slices) {
    const ports = (s.ports ?? []).map((p) => `${p.name}=${p.port}`).sort().join(',');
    for (const e of s.endpoints ?? []) {
      const c = e.conditions ?? {};
      out.push(`${e.targetRef?.name} ${e.addresses.join(',')} [${ports}] ${c.ready ? 'R' : '-'}${c.serving ? 'S' : '-'}${c.terminating ? 'T' : '-'}`);
    }
  }
  return out.sort();
}

describe('endpoints and endpointslice controllers', () => {
  let h: ControllerHarness | undefined;
  let cluster: TestCluster;
  let rest: RestClient;
  let kubelet: FakeKubelet;
  const logs: string[] = [];

  const services = () => rest.resource<Service>(RESOURCES.services, NS);
  const pods = () => rest.resource<Pod>(RESOURCES.pods, NS);
  const endpoints = () => rest.resource<Endpoints>(RESOURCES.endpoints, NS);
  const slicesOf = async (svc: string) => (await rest.resource<EndpointSlice>(RESOURCES.endpointslices, NS).list({ labelSelector: `kubernetes.io/service-name=${svc}` })).items;
  const endpointsWhere = (name: string, ok: (v: string[]) => boolean) =>
    waitFor(`endpoints ${name}`, async () => {
      const ep = await endpoints().get(name);
      return ok(endpointsView(ep)) ? ep : undefined;
    });
  const slicesWhere = (name: string, ok: (v: string[]) => boolean) =>
    waitFor(`slices of ${name}`, async () => {
      const s = await slicesOf(name);
      return ok(slicesView(s)) ? s : undefined;
    });

  function pod(name: string, labels: Record<string, string>, httpPort: number, extra: Partial<Pod['spec']> = {}): Pod {
    return {
      metadata: { name, labels },
      spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: httpPort }] }], ...extra },
    };
  }

  before(async () => {
    h = await startControllerHarness([endpointsController, endpointSliceController, garbageCollectorController], {
      controllerUser: 'system:serviceaccount:kube-system:endpoints',
      logs,
      async beforeStart(parts) {
        ({ cluster, rest } = parts);
        kubelet = new FakeKubelet(rest);
        // user-managed Endpoints of a selector-less Service, made before the controllers start
        await services().create({ metadata: { name: 'external' }, spec: { ports: [{ port: 5432 }] } });
        await endpoints().create({ metadata: { name: 'external' }, subsets: [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 5432 }] }] });
        await endpoints().create({ metadata: { name: 'orphaned' }, subsets: [{ addresses: [{ ip: '192.0.2.11' }], ports: [{ port: 1 }] }] });
      },
    });
  });
  after(() => h?.close());

  it('lists ready and not-ready pods, resolving named target ports per pod', async () => {
    await rest.resource<Node>(RESOURCES.nodes).create({ metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-1' } } });
    await services().create({
      metadata: { name: 'web', labels: { tier: 'front' } },
      spec: {
        selector: { app: 'web' },
        ports: [
          { name: 'http', port: 80, targetPort: 'http' },
          { name: 'metrics', port: 9090, targetPort: 9100 },
        ],
      },
    });
    await pods().create(pod('web-1', { app: 'web' }, 8080, { nodeName: 'node-a', hostname: 'one', subdomain: 'web' }));
    await pods().create(pod('web-2', { app: 'web' }, 8081));
    await pods().create(pod('web-3', { app: 'web' }, 8080));
    await pods().create(pod('other', { app: 'other' }, 8080));
    await kubelet.running(NS, 'web-1', { ip: '10.1.0.1' });
    await kubelet.running(NS, 'web-2', { ip: '10.1.0.2' });
    await kubelet.running(NS, 'web-3', { ip: '10.1.0.3', ready: false });
    await kubelet.running(NS, 'other', { ip: '10.1.0.9' });

    const ep = await endpointsWhere('web', (v) => v.length === 6);
    assert.deepEqual(endpointsView(ep), [
      '10.1.0.1:8080/http ready',
      '10.1.0.1:9100/metrics ready',
      '10.1.0.2:8081/http ready',
      '10.1.0.2:9100/metrics ready',
      '10.1.0.3:8080/http notready',
      '10.1.0.3:9100/metrics notready',
    ]);
    assert.equal(ep.metadata?.labels?.['endpoints.kubernetes.io/managed-by'], 'endpoint-controller');
    assert.equal(ep.metadata?.labels?.tier, 'front');
    const one = ep.subsets!.flatMap((s) => s.addresses ?? []).find((a) => a.ip === '10.1.0.1')!;
    assert.equal(one.nodeName, 'node-a');
    assert.equal(one.hostname, 'one');
    assert.equal(one.targetRef?.kind, 'Pod');
    assert.equal(one.targetRef?.name, 'web-1');

    const slices = await slicesWhere('web', (v) => v.length === 3);
    assert.deepEqual(slicesView(slices), [
      'web-1 10.1.0.1 [http=8080,metrics=9100] RS-',
      'web-2 10.1.0.2 [http=8081,metrics=9100] RS-',
      'web-3 10.1.0.3 [http=8080,metrics=9100] ---',
    ]);
    assert.equal(slices.length, 2, 'one slice per set of resolved ports');
    for (const s of slices) {
      assert.match(s.metadata!.name!, /^web-[a-z0-9]{5}$/);
      assert.equal(s.addressType, 'IPv4');
      assert.equal(s.metadata!.labels!['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
      assert.equal(s.metadata!.labels!.tier, 'front');
      assert.equal(s.metadata!.ownerReferences![0].kind, 'Service');
      assert.equal(s.metadata!.ownerReferences![0].name, 'web');
    }
    const e1 = slices.flatMap((s) => s.endpoints).find((e) => e.targetRef?.name === 'web-1')!;
    assert.equal(e1.nodeName, 'node-a');
    assert.equal(e1.zone, 'zone-1');
    assert.equal(e1.hostname, 'one');

    const shown = await cluster.kubectlOk(['get', 'endpoints', 'web']);
    assert.match(shown.stdout, /web\s+(10\.1\.0\.[12]:(8080|8081|9100),?){3} \+ 1 more\.\.\./);
  });

  it('follows readiness changes and drops terminating pods from Endpoints but not from slices', async () => {
    await kubelet.running(NS, 'web-3', { ip: '10.1.0.3', ready: true });
    await kubelet.running(NS, 'web-1', { ip: '10.1.0.1', ready: false });
    await endpointsWhere('web', (v) => v.includes('10.1.0.3:8080/http ready') && v.includes('10.1.0.1:8080/http notready'));
    await slicesWhere('web', (v) => v.includes('web-3 10.1.0.3 [http=8080,metrics=9100] RS-') && v.includes('web-1 10.1.0.1 [http=8080,metrics=9100] ---'));

    // web-2 is deleted but held by a finalizer: terminating
    await pods().patch('web-2', 'merge', { metadata: { finalizers: ['example.com/hold'] } });
    await pods().delete('web-2');
    await endpointsWhere('web', (v) => !v.some((x) => x.startsWith('10.1.0.2:')));
    await slicesWhere('web', (v) => v.includes('web-2 10.1.0.2 [http=8081,metrics=9100] -ST'));
    await pods().patch('web-2', 'merge', { metadata: { finalizers: null } });
    await slicesWhere('web', (v) => !v.some((x) => x.startsWith('web-2 ')));
    // a finished pod leaves too
    await kubelet.succeed(NS, 'web-3', { ip: '10.1.0.3' });
    const ep = await endpointsWhere('web', (v) => !v.some((x) => x.startsWith('10.1.0.3:')));
    assert.deepEqual(endpointsView(ep), ['10.1.0.1:8080/http notready', '10.1.0.1:9100/metrics notready']);
  });

  it('publishes not-ready and terminating pods as ready with publishNotReadyAddresses', async () => {
    await services().create({ metadata: { name: 'all' }, spec: { selector: { app: 'all' }, publishNotReadyAddresses: true, ports: [{ port: 80, targetPort: 8080 }] } });
    await pods().create(pod('all-1', { app: 'all' }, 8080));
    await pods().create({ ...pod('all-2', { app: 'all' }, 8080), metadata: { name: 'all-2', labels: { app: 'all' }, finalizers: ['example.com/hold'] } });
    await kubelet.running(NS, 'all-1', { ip: '10.2.0.1', ready: false });
    await kubelet.running(NS, 'all-2', { ip: '10.2.0.2', ready: false });
    await pods().delete('all-2');
    await endpointsWhere('all', (v) => v.length === 2 && v.every((x) => x.endsWith(' ready')));
    await slicesWhere('all', (v) => v.length === 2 && v.includes('all-1 10.2.0.1 [=8080] R--') && v.includes('all-2 10.2.0.2 [=8080] R-T'));
    await pods().patch('all-2', 'merge', { metadata: { finalizers: null } });
  });

  it('gives a Service that selects nothing an empty Endpoints and one placeholder slice', async () => {
    await services().create({ metadata: { name: 'empty' }, spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] } });
    const ep = await waitFor('endpoints', () => endpoints().get('empty'));
    assert.equal(ep.subsets, undefined);
    const slices = await waitFor('a placeholder', async () => {
      const s = await slicesOf('empty');
      return s.length === 1 ? s : undefined;
    });
    assert.deepEqual(slices[0].endpoints ?? [], []);
    assert.deepEqual(slices[0].ports ?? [], []);
  });

  it('splits more than 100 endpoints over several slices', async () => {
    const names = Array.from({ length: 105 }, (_, i) => `many-${i}`);
    await Promise.all(names.map((n) => pods().create(pod(n, { app: 'many' }, 8080))));
    await Promise.all(names.map((n, i) => kubelet.running(NS, n, { ip: `10.3.${Math.floor(i / 200)}.${(i % 200) + 1}` })));
    await services().create({ metadata: { name: 'many' }, spec: { selector: { app: 'many' }, ports: [{ port: 80, targetPort: 8080 }] } });
    const slices = await slicesWhere('many', (v) => v.length === 105);
    // how the pods were split depends on how many the cache held at each sync; never more than 100
    const sizes = slices.map((s) => s.endpoints.length);
    assert.ok(slices.length >= 2 && slices.length <= 3, `${sizes}`);
    assert.ok(sizes.every((n) => n <= 100), `${sizes}`);
    await endpointsWhere('many', (v) => v.length === 105);
    // one more pod goes into a slice with room rather than a new one
    await pods().create(pod('many-extra', { app: 'many' }, 8080));
    await kubelet.running(NS, 'many-extra', { ip: '10.3.1.250' });
    const more = await slicesWhere('many', (v) => v.length === 106);
    assert.equal(more.length, slices.length);
    assert.ok(more.every((s) => s.endpoints.length <= 100));
  });

  it('leaves user-managed Endpoints alone and removes its own with the Service', async () => {
    const ext = await endpoints().get('external');
    assert.deepEqual(endpointsView(ext), ['192.0.2.10:5432/ ready']);
    assert.equal(ext.metadata?.labels, undefined);
    assert.ok(await endpoints().get('orphaned'), 'Endpoints without a Service that the controller did not make stay');

    await services().delete('empty');
    await waitFor('the Endpoints to go', async () => {
      try {
        await endpoints().get('empty');
        return undefined;
      } catch (e) {
        return isNotFound(e) ? true : undefined;
      }
    });
    await waitFor('the slices to go (garbage collected)', async () => ((await slicesOf('empty')).length === 0 ? true : undefined));
    assert.ok(!logs.some((l) => /TypeError|ReferenceError/.test(l)), logs.join('\n'));
  });
});
