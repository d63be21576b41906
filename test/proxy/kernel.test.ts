// The service proxy in the kernel: pod sandboxes on a test bridge and CIDR run busybox httpd as
// endpoints, EndpointSlices point at them through the API, the proxy programs a test table, and real
// curl from the host and from a pod goes through ClusterIPs, NodePorts and a LoadBalancer IP.
// Needs root, nft, ip, curl and busybox-static; touches only its own bridge, netns and table.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { PodSandboxes, type PodSandbox } from '../../src/node/sandbox/index.js';
import { buildRuleset, deleteTable, listTable, nftApply, startServiceProxy, type ServiceProxy } from '../../src/proxy/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { haveBusyboxStatic } from '../helpers/rootfs.js';
import { skipUnless } from '../helpers/skip.js';

const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const missing =
  process.getuid?.() !== 0
    ? 'not root (nftables, network namespaces and bridges need root)'
    : !has('nft', ['list', 'tables'])
      ? 'nft (Debian nftables) not installed or not usable'
      : !has('ip', ['-V'])
        ? 'iproute2 (ip) not installed'
        : !has('curl', ['--version'])
          ? 'curl not installed'
          : !haveBusyboxStatic()
            ? 'busybox-static not installed'
            : '';

const NS = 'default';
const NODE = 'node-1';
const tag = (process.pid % 100_000).toString(36);
const TABLE = `tmtest${tag}`;
const BIG_TABLE = `tmbig${tag}`;
const bridge = `tmpx${tag}`.slice(0, 15);
const cidr = `10.197.${process.pid % 250}.0/24`;
const LB_PORT = 20_000 + (process.pid % 5000);

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `curl` n times in one run (busybox httpd closes each connection: every request is a new connection). */
function curl(url: string, n = 1, maxTime = 3): { code: number; bodies: string[]; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('curl', ['-sS', '--max-time', String(maxTime), ...Array<string>(n).fill(url)], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, bodies: r.stdout.split('\n').filter(Boolean), ms: Date.now() - t0 };
}

describe('service proxy in the kernel', skipUnless(missing === '', missing), () => {
  let cluster: TestCluster;
  let transport: Transport;
  let adminTransport: Transport;
  let client: RestClient;
  let tmp = '';
  let sandboxes: PodSandboxes;
  const pods: PodSandbox[] = [];
  const httpdPIDs: number[] = [];
  let proxy: ServiceProxy | undefined;
  const logs: string[] = [];
  const latencies: number[] = [];
  let hostIP = '';

  const services = () => client.resource<Service>(RESOURCES.services, NS);
  const slices = () => client.resource<EndpointSlice>(RESOURCES.endpointslices, NS);
  const endpoint = (p: PodSandbox, ready = true, nodeName = NODE): Endpoint => ({ addresses: [p.ip], nodeName, conditions: { ready, serving: ready, terminating: false } });
  const makeSlice = (service: string, endpoints: Endpoint[]): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-1`, namespace: NS, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints,
  });
  const makeService = async (name: string, spec: Service['spec']): Promise<Service> =>
    services().create({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec } });
  const startProxy = () =>
    startServiceProxy(transport, { nodeName: NODE, nodeIPs: [hostIP, '127.0.0.1'], podCIDR: cidr, tableName: TABLE, log: (l) => logs.push(l) });
  /** The DNAT rule of web's ClusterIP chain in the applied ruleset. */
  const webRule = (t: string) => t.split('\n').find((l) => l.startsWith(`add rule ip ${TABLE} svc-default/web/tcp/http `)) ?? '';
  /** Waits until the applied ruleset passes `check`; returns ms since `t0`. */
  const applied = async (what: string, check: (text: string) => boolean, t0 = performance.now()) => {
    await waitFor(what, () => check(proxy!.appliedRuleset), 10_000, 1);
    return performance.now() - t0;
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'timonel-proxy-'));
    hostIP = execFileSync('ip', ['-4', '-o', 'route', 'get', '192.0.2.123'], { encoding: 'utf8' }).match(/ src (\S+)/)?.[1] ?? '';
    assert.ok(hostIP, 'the host has a source address for outside traffic');
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    adminTransport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    client = new RestClient(adminTransport);
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:service-proxy', groups: [] });

    sandboxes = new PodSandboxes({ stateDir: join(tmp, 'state'), podCIDR: cidr, bridge, netnsPrefix: `tmpx-${tag}-`, hostSysctls: false });
    for (const name of ['pod-a', 'pod-b', 'pod-c']) {
      const p = await sandboxes.createSandbox(`uid-${name}`, { name, namespace: NS });
      pods.push(p);
      const www = join(tmp, 'www', name);
      mkdirSync(www, { recursive: true });
      writeFileSync(join(www, 'index.html'), `${name}\n`);
      const child = spawn('ip', ['netns', 'exec', p.netnsName!, '/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', www], { stdio: 'ignore' });
      httpdPIDs.push(child.pid!);
    }
    // Only the test bridge forwards (a pod reaching a Service IP is routed back out through it).
    writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/forwarding`, '1');
    for (const p of pods) await waitFor(`httpd in ${p.hostname}`, () => curl(`http://${p.ip}:8080/`).bodies[0] === `${p.hostname}`);
    proxy = await startProxy();
  });

  after(async () => {
    await proxy?.stop({ removeTable: true }).catch(() => {});
    await deleteTable(TABLE).catch(() => {});
    await deleteTable(BIG_TABLE).catch(() => {});
    for (const pid of httpdPIDs) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const p of pods) await sandboxes.destroySandbox(p.podUID).catch(() => {});
    await sandboxes?.deleteBridge().catch(() => {});
    adminTransport?.close();
    transport?.close();
    await cluster?.close();
    rmSync(tmp, { recursive: true, force: true });
    if (latencies.length) process.stderr.write(`proxy: EndpointSlice/Service change → rules applied: ${latencies.map((l) => l.toFixed(1)).join(', ')} ms\n`);
  });

  let web: Service;
  it('ClusterIP: requests from the host reach every ready endpoint', async () => {
    web = await makeService('web', { type: 'ClusterIP' });
    const vip = web.spec!.clusterIP!;
    assert.match(vip, /^10\.43\./);
    const t0 = performance.now();
    await slices().create(makeSlice('web', [endpoint(pods[0]), endpoint(pods[1])]));
    latencies.push(await applied('web rules', (t) => webRule(t).includes(`${pods[1].ip} . 8080`), t0));
    const r = curl(`http://${vip}/`, 30);
    assert.equal(r.code, 0);
    assert.equal(r.bodies.length, 30);
    assert.deepEqual(new Set(r.bodies), new Set(['pod-a', 'pod-b']), 'both endpoints answer over 30 requests');
  });

  let npPort = 0;
  it('NodePort on 127.0.0.1 and on the node address', async () => {
    const np = await makeService('np', { type: 'NodePort' });
    await slices().create(makeSlice('np', [endpoint(pods[0]), endpoint(pods[1])]));
    const nodePort = np.spec!.ports![0].nodePort!;
    npPort = nodePort;
    await applied('np rules', (t) => t.includes(`tcp . ${nodePort} : goto ext-default/np/tcp/http`));
    for (const host of ['127.0.0.1', hostIP]) {
      const r = curl(`http://${host}:${nodePort}/`, 20);
      assert.equal(r.code, 0, `NodePort on ${host}`);
      assert.deepEqual(new Set(r.bodies), new Set(['pod-a', 'pod-b']), `NodePort on ${host} spreads`);
    }
  });

  it('an endpoint turning not-ready stops receiving traffic (change → rules applied measured)', async () => {
    const t0 = performance.now();
    const cur = await slices().get('web-1');
    await slices().update({ ...cur, endpoints: [endpoint(pods[0]), endpoint(pods[1], false)] });
    const ms = await applied('pod-b gone from web', (t) => webRule(t).endsWith(`dnat to ${pods[0].ip}:8080`), t0);
    latencies.push(ms);
    const r = curl(`http://${web.spec!.clusterIP}/`, 20);
    assert.deepEqual(new Set(r.bodies), new Set(['pod-a']));
    assert.ok(ms < 1000, `rules applied ${ms.toFixed(1)} ms after the EndpointSlice change`);
    // and back
    const t1 = performance.now();
    await slices().update({ ...(await slices().get('web-1')), endpoints: [endpoint(pods[0]), endpoint(pods[1]), endpoint(pods[2])] });
    latencies.push(await applied('pod-c in web', (t) => webRule(t).includes(`${pods[2].ip} . 8080`), t1));
    assert.deepEqual(new Set(curl(`http://${web.spec!.clusterIP}/`, 40).bodies), new Set(['pod-a', 'pod-b', 'pod-c']));
  });

  it('a Service without ready endpoints refuses connections at once (ClusterIP and NodePort)', async () => {
    const empty = await makeService('empty', { type: 'NodePort' });
    await slices().create(makeSlice('empty', [endpoint(pods[0], false)]));
    await applied('empty rejected', (t) => t.includes(`${empty.spec!.clusterIP} . tcp . 80 : goto reject-chain`));
    for (const url of [`http://${empty.spec!.clusterIP}/`, `http://127.0.0.1:${empty.spec!.ports![0].nodePort}/`]) {
      const r = curl(url, 1, 5);
      assert.equal(r.code, 7, `${url}: curl exit 7 (connection refused), got ${r.code}`);
      assert.ok(r.ms < 1000, `${url} refused after ${r.ms} ms`);
    }
    // A port the ClusterIP does not serve is refused too.
    const r = curl(`http://${web.spec!.clusterIP}:81/`, 1, 5);
    assert.ok(r.code === 7 && r.ms < 1000, `unserved ClusterIP port: exit ${r.code} after ${r.ms} ms`);
  });

  let sticky: Service;
  let stickyPod = '';
  it('sessionAffinity ClientIP: every request from the host goes to one endpoint', async () => {
    sticky = await makeService('sticky', { type: 'ClusterIP', sessionAffinity: 'ClientIP' });
    await slices().create(makeSlice('sticky', [endpoint(pods[0]), endpoint(pods[1]), endpoint(pods[2])]));
    await applied('sticky rules', (t) => t.includes('update @aff-10800-default/sticky/tcp/http/'));
    const r = curl(`http://${sticky.spec!.clusterIP}/`, 20);
    assert.equal(r.bodies.length, 20);
    assert.equal(new Set(r.bodies).size, 1, `one endpoint: ${[...new Set(r.bodies)].join(', ')}`);
    stickyPod = r.bodies[0];
  });

  it('LoadBalancer: the node address is written to status.loadBalancer.ingress and serves the port', async () => {
    const lb = await services().create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lb', namespace: NS },
      spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: LB_PORT, targetPort: 8080, protocol: 'TCP' }] },
    });
    await slices().create(makeSlice('lb', [endpoint(pods[2])]));
    const status = await waitFor('LoadBalancer status', async () => (await services().get('lb')).status?.loadBalancer?.ingress);
    assert.deepEqual(status.map((i) => i.ip), [hostIP]);
    await applied('lb ip rule', (t) => t.includes(`${hostIP} . tcp . ${LB_PORT} : goto ext-default/lb/tcp/http`));
    const r = curl(`http://${hostIP}:${LB_PORT}/`, 5);
    assert.deepEqual(r.bodies, Array<string>(5).fill('pod-c'));
    assert.equal(curl(`http://127.0.0.1:${lb.spec!.ports![0].nodePort}/`).bodies[0], 'pod-c', 'its NodePort works too');
  });

  /** curl run inside pod-a's network namespace: the answers, a line each */
  const curlFromPod = (url: string, n: number): string[] =>
    execFileSync('ip', ['netns', 'exec', pods[0].netnsName!, 'curl', '-sS', '--max-time', '3', ...Array<string>(n).fill(url)], { encoding: 'utf8', timeout: 30_000 })
      .split('\n')
      .filter(Boolean);

  it('from a pod: other pods through the ClusterIP, and itself (hairpin)', async () => {
    const seen = new Set(curlFromPod(`http://${web.spec!.clusterIP}/`, 30));
    assert.ok(seen.has('pod-a'), `pod-a reached itself through the Service (saw ${[...seen].join(', ')})`);
    assert.ok(seen.has('pod-b') || seen.has('pod-c'), 'pod-a reached another pod through the Service');
  });

  it('from a pod: NodePort and LoadBalancer on the node address, session affinity, an endpoint turning not-ready', async () => {
    assert.deepEqual(new Set(curlFromPod(`http://${hostIP}:${npPort}/`, 20)), new Set(['pod-a', 'pod-b']), 'NodePort on the node address');
    assert.deepEqual(curlFromPod(`http://${hostIP}:${LB_PORT}/`, 5), Array<string>(5).fill('pod-c'), 'the LoadBalancer address');
    assert.equal(new Set(curlFromPod(`http://${sticky.spec!.clusterIP}/`, 20)).size, 1, 'one endpoint for the pod (ClientIP affinity)');
    const cur = await slices().get('web-1');
    await slices().update({ ...cur, endpoints: [endpoint(pods[0]), endpoint(pods[1], false), endpoint(pods[2])] });
    await applied('pod-b not ready in web', (t) => !webRule(t).includes(`${pods[1].ip} . 8080`));
    const seen = new Set(curlFromPod(`http://${web.spec!.clusterIP}/`, 30));
    assert.ok(!seen.has('pod-b'), `the not-ready endpoint got traffic (saw ${[...seen].join(', ')})`);
    await slices().update({ ...(await slices().get('web-1')), endpoints: [endpoint(pods[0]), endpoint(pods[1]), endpoint(pods[2])] });
    await applied('pod-b back in web', (t) => webRule(t).includes(`${pods[1].ip} . 8080`));
  });

  it('a restarted proxy rebuilds the same rules and keeps session affinity', async () => {
    const strip = (s: string) => s.replace(/\n\t\telements = \{[^}]*expires[^}]*\}/g, '');
    const before = (await listTable(TABLE))!;
    const text = proxy!.appliedRuleset;
    await proxy!.stop();
    assert.ok(await listTable(TABLE), 'stop without removeTable keeps the table');
    proxy = await startProxy();
    assert.equal(proxy.appliedRuleset, text);
    assert.equal(strip((await listTable(TABLE))!.text), strip(before.text));
    assert.deepEqual(new Set(curl(`http://${sticky.spec!.clusterIP}/`, 10).bodies), new Set([stickyPod]));
  });

  it('deleting a Service removes its chains from the kernel', async () => {
    const t0 = performance.now();
    await services().delete('web');
    await slices().delete('web-1');
    latencies.push(await applied('web gone', (t) => !t.includes('default/web/'), t0));
    const listed = (await listTable(TABLE))!;
    assert.ok(![...listed.chains].some((c) => c.includes('default/web/')), [...listed.chains].join(' '));
    assert.ok(!listed.text.includes(web.spec!.clusterIP!));
    assert.ok([...listed.chains].some((c) => c.includes('default/np/')), 'other Services stay');
  });

  it('1,000 Services × 10 endpoints load in one transaction', async () => {
    const svcs: Service[] = [];
    const sl: EndpointSlice[] = [];
    for (let i = 0; i < 1000; i++) {
      const name = `s${i}`;
      svcs.push({ metadata: { name, namespace: NS }, spec: { type: 'NodePort', clusterIP: `10.200.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port: 80, nodePort: 40000 + i, protocol: 'TCP' }] } });
      sl.push(makeSlice(name, Array.from({ length: 10 }, (_, j) => ({ addresses: [`10.201.${i >> 4}.${(i & 15) * 16 + j}`], conditions: { ready: true } }))));
    }
    const t0 = performance.now();
    const rs = buildRuleset(svcs, sl, { tableName: BIG_TABLE, nodeName: NODE, clusterCIDR: cidr });
    const built = performance.now() - t0;
    await nftApply(rs.text);
    const total = performance.now() - t0;
    process.stderr.write(`proxy: 1,000 Services × 10 endpoints: built in ${built.toFixed(0)} ms, built + applied in ${total.toFixed(0)} ms\n`);
    assert.equal(rs.stats.endpoints, 10_000);
    assert.ok((await listTable(BIG_TABLE))!.chains.size > 2_000, 'a ClusterIP and an external chain per Service');
    await deleteTable(BIG_TABLE);
  });

  it('stop({removeTable}) deletes the table', async () => {
    await proxy!.stop({ removeTable: true });
    proxy = undefined;
    assert.equal(await listTable(TABLE), undefined);
    assert.ok(!logs.some((l) => l.includes('failed')), logs.join('\n'));
  });
});
