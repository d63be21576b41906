// The cluster DNS server against a test cluster, queried with real dig and with dns-packet.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import dnsPacket, { type DecodedPacket, type RecordType } from 'dns-packet';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { endpointSliceController } from '../../src/controllers/endpointslice/controller.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { clusterDNSResolvConf, ipFromReverseName, parseResolvConf, reverseName, startClusterDNS, type ClusterDNS } from '../../src/dns/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { FakeKubelet } from '../controllers/support-kubelet.js';

const NS = 'default';
const hasDig = spawnSync('dig', ['-v'], { stdio: 'ignore' }).status === 0;
if (!hasDig) process.stderr.write('\n*** dig (Debian bind9-dnsutils) is not installed: the dig tests of test/dns/dns.test.ts SKIP ***\n\n');
const digIt = hasDig ? it : it.skip;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A stand-in for the host's resolver: fixed answers, `slow.test` never answered, the rest NXDOMAIN. */
class FakeUpstream {
  readonly queries: string[] = [];
  private udp!: UdpSocket;
  private tcp!: Server;
  port = 0;

  private answer(msg: Buffer): Buffer | undefined {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0];
    this.queries.push(`${question.type} ${question.name}`);
    if (question.name === 'slow.test') return undefined;
    const table: Record<string, string> = { 'example.test': '192.0.2.10', 'www.example.test': '192.0.2.53' };
    const ip = table[question.name.toLowerCase()];
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (ip ? 0 : 3),
      questions: q.questions,
      answers: ip && question.type === 'A' ? [{ name: question.name, type: 'A', ttl: 60, data: ip }] : [],
    });
  }

  async start(): Promise<void> {
    this.udp = createSocket('udp4');
    this.udp.on('message', (msg, r) => {
      const a = this.answer(msg);
      if (a) this.udp.send(a, r.port, r.address);
    });
    await new Promise<void>((r) => this.udp.bind(0, '127.0.0.1', () => r()));
    this.port = this.udp.address().port;
    this.tcp = createServer((c) => {
      c.on('data', (d: Buffer) => {
        const a = this.answer(d.subarray(2));
        if (a) c.write(Buffer.concat([Buffer.from([a.length >> 8, a.length & 0xff]), a]));
      });
      c.on('error', () => {});
    });
    await new Promise<void>((r) => this.tcp.listen(this.port, '127.0.0.1', () => r()));
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.udp.close(() => r()));
    await new Promise<void>((r) => this.tcp.close(() => r()));
  }
}

interface DigResult {
  status: string;
  flags: string[];
  answers: string[][];
  authority: string[][];
  additional: string[][];
  raw: string;
}

/** Runs dig against the server; answers as whitespace-split record lines. */
function dig(port: number, args: string[]): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('dig', ['@127.0.0.1', '-p', String(port), '+time=3', '+tries=1', '+nocmd', '+nostats', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const section = (title: string): string[][] => {
        const m = out.split(`;; ${title} SECTION:\n`)[1];
        if (!m) return [];
        return m
          .split('\n\n')[0]
          .split('\n')
          .filter((l) => l && !l.startsWith(';'))
          .map((l) => l.split(/\s+/));
      };
      resolve({
        status: out.match(/status: (\w+)/)?.[1] ?? 'NONE',
        flags: out.match(/;; flags: ([^;]*);/)?.[1].trim().split(/\s+/) ?? [],
        answers: section('ANSWER'),
        authority: section('AUTHORITY'),
        additional: section('ADDITIONAL'),
        raw: out,
      });
    });
  });
}

/** dns-packet decodes the rcode too; its typings leave it out */
type Reply = DecodedPacket & { rcode: string; size: number };
const decode = (b: Buffer): Reply => Object.assign(dnsPacket.decode(b) as DecodedPacket & { rcode: string }, { size: b.length });

/** One query with dns-packet over UDP (or TCP), the reply decoded. */
function ask(port: number, name: string, type: RecordType, opts: { tcp?: boolean; edns?: number; raw?: Buffer; address?: string } = {}): Promise<Reply> {
  const address = opts.address ?? '127.0.0.1';
  const msg =
    opts.raw ??
    dnsPacket.encode({
      type: 'query',
      id: Math.floor(Math.random() * 65536),
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, name }],
      additionals: opts.edns ? [{ name: '.', type: 'OPT', udpPayloadSize: opts.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${type} ${name}`)), 3000);
    const done = (reply: Buffer, cleanup: () => void): void => {
      clearTimeout(timer);
      cleanup();
      resolve(decode(reply));
    };
    if (opts.tcp) {
      const c = connect(port, address, () => c.write(Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg])));
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)), () => c.destroy());
      });
      c.on('error', reject);
    } else {
      const s = createSocket('udp4');
      s.on('message', (reply) => done(reply, () => s.close()));
      s.send(msg, port, address);
    }
  });
}

const data = (p: DecodedPacket): string[] => (p.answers ?? []).map((a) => `${a.type} ${typeof (a as { data: unknown }).data === 'string' ? (a as { data: string }).data : JSON.stringify((a as { data: unknown }).data)}`);

function slice(name: string, service: string, endpoints: { ip: string; ready?: boolean; hostname?: string }[], ports = [{ name: 'http', port: 8080, protocol: 'TCP' }]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports,
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], hostname: e.hostname, conditions: { ready: e.ready ?? true } })),
  };
}

describe('cluster DNS', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let rest: RestClient;
  let upstream: FakeUpstream;
  let dns: ClusterDNS;
  let web: Service;
  const logs: string[] = [];
  const apiRequests: string[] = [];
  let requestsAtStart = 0;
  let apiTransportClose = (): void => {};
  const services = () => rest.resource<Service>(RESOURCES.services, NS);
  const slices = () => rest.resource<EndpointSlice>(RESOURCES.endpointslices, NS);

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    rest = new RestClient(transport);
    upstream = new FakeUpstream();
    await upstream.start();
    web = await services().create({ metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'metrics', port: 9090 }] } });
    await services().create({ metadata: { name: 'db' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } });
    await slices().create(
      slice('db-1', 'db', [{ ip: '10.244.0.5', hostname: 'db-0' }, { ip: '10.244.0.6' }, { ip: '10.244.0.7', ready: false }], [{ name: 'pg', port: 5432, protocol: 'TCP' }]),
    );
    await services().create({ metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'www.example.test' } });
    const inner = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:coredns', groups: [] });
    const dnsTransport: Transport = {
      request: (r) => (apiRequests.push(r.path), inner.request(r)),
      stream: (r) => (apiRequests.push(r.path), inner.stream(r)),
      close: () => inner.close(),
    };
    apiTransportClose = () => dnsTransport.close();
    dns = await startClusterDNS(dnsTransport, {
      listen: [{ address: '127.0.0.1', port: 0 }],
      upstreams: [`127.0.0.1:${upstream.port}`],
      forwardTimeoutMs: 300,
      log: (l) => logs.push(l),
    });
    requestsAtStart = apiRequests.length;
  });
  after(async () => {
    await dns?.stop();
    apiTransportClose();
    await upstream?.stop();
    transport?.close();
    await cluster?.close();
  });

  digIt('answers A for a ClusterIP Service, case-insensitively, authoritatively, over UDP and TCP', async () => {
    const r = await dig(dns.port, ['web.default.svc.cluster.local', 'A']);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.ok(r.flags.includes('aa'), r.raw);
    assert.deepEqual(r.answers.map((a) => [a[0], a[1], a[3], a[4]]), [['web.default.svc.cluster.local.', '5', 'A', web.spec!.clusterIP!]]);
    const upper = await dig(dns.port, ['WEB.Default.SVC.Cluster.Local', 'A', '+tcp']);
    assert.equal(upper.status, 'NOERROR', upper.raw);
    assert.deepEqual(upper.answers.map((a) => [a[0], a[4]]), [['WEB.Default.SVC.Cluster.Local.', web.spec!.clusterIP!]]);
    const p = await ask(dns.port, 'web.default.svc.cluster.local', 'A', { tcp: true });
    assert.deepEqual(data(p), [`A ${web.spec!.clusterIP}`]);
  });

  digIt('answers one A per ready endpoint of a headless Service, and hostname records', async () => {
    const r = await dig(dns.port, ['db.default.svc.cluster.local', 'A']);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.deepEqual(r.answers.map((a) => a[4]).sort(), ['10.244.0.5', '10.244.0.6']);
    const host = await dig(dns.port, ['db-0.db.default.svc.cluster.local', 'A', '+short']);
    assert.equal(host.raw.trim(), '10.244.0.5');
    const byIP = await ask(dns.port, '10-244-0-6.db.default.svc.cluster.local', 'A');
    assert.deepEqual(data(byIP), ['A 10.244.0.6']);
    const notReady = await ask(dns.port, '10-244-0-7.db.default.svc.cluster.local', 'A');
    assert.equal(notReady.rcode, 'NXDOMAIN');
  });

  it('includes not-ready endpoints when the Service publishes them', async () => {
    await services().create({ metadata: { name: 'peers' }, spec: { clusterIP: 'None', publishNotReadyAddresses: true, ports: [{ port: 7000 }] } });
    await slices().create(slice('peers-1', 'peers', [{ ip: '10.244.1.1' }, { ip: '10.244.1.2', ready: false }], [{ name: '', port: 7000, protocol: 'TCP' }]));
    const p = await waitFor('peers', async () => {
      const r = await ask(dns.port, 'peers.default.svc.cluster.local', 'A');
      return (r.answers ?? []).length === 2 ? r : undefined;
    });
    assert.deepEqual(data(p).sort(), ['A 10.244.1.1', 'A 10.244.1.2']);
  });

  digIt('answers SRV for named ports, with the targets in the additional section', async () => {
    const r = await dig(dns.port, ['_http._tcp.web.default.svc.cluster.local', 'SRV']);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.deepEqual(r.answers.map((a) => a.slice(3)), [['SRV', '0', '100', '80', 'web.default.svc.cluster.local.']]);
    assert.deepEqual(r.additional.map((a) => [a[0], a[4]]), [['web.default.svc.cluster.local.', web.spec!.clusterIP!]]);
    const headless = await dig(dns.port, ['_pg._tcp.db.default.svc.cluster.local', 'SRV']);
    assert.deepEqual(headless.answers.map((a) => `${a[6]} ${a[7]}`).sort(), ['5432 10-244-0-6.db.default.svc.cluster.local.', '5432 db-0.db.default.svc.cluster.local.']);
    const unknownPort = await dig(dns.port, ['_nope._tcp.web.default.svc.cluster.local', 'SRV']);
    assert.equal(unknownPort.status, 'NXDOMAIN', unknownPort.raw);
    const wrongProto = await ask(dns.port, '_http._udp.web.default.svc.cluster.local', 'SRV');
    assert.equal(wrongProto.rcode, 'NXDOMAIN');
  });

  digIt('answers an ExternalName Service with a CNAME, followed through the upstream', async () => {
    const r = await dig(dns.port, ['ext.default.svc.cluster.local', 'A']);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.deepEqual(
      r.answers.map((a) => [a[0], a[3], a[4]]),
      [
        ['ext.default.svc.cluster.local.', 'CNAME', 'www.example.test.'],
        ['www.example.test.', 'A', '192.0.2.53'],
      ],
    );
    const cname = await ask(dns.port, 'ext.default.svc.cluster.local', 'CNAME');
    assert.deepEqual(data(cname), ['CNAME www.example.test']);
  });

  digIt('answers PTR for a ClusterIP and for a headless endpoint', async () => {
    const r = await dig(dns.port, ['-x', web.spec!.clusterIP!]);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.deepEqual(r.answers.map((a) => [a[0], a[3], a[4]]), [[`${reverseName(web.spec!.clusterIP!)}.`, 'PTR', 'web.default.svc.cluster.local.']]);
    const ep = await dig(dns.port, ['-x', '10.244.0.5', '+short']);
    assert.equal(ep.raw.trim(), 'db-0.db.default.svc.cluster.local.');
  });

  digIt('answers pod A records from the name alone (pods insecure)', async () => {
    const r = await dig(dns.port, ['1-2-3-4.default.pod.cluster.local', 'A', '+short']);
    assert.equal(r.raw.trim(), '1.2.3.4');
    const v6 = await ask(dns.port, 'fd00--1.default.pod.cluster.local', 'AAAA');
    assert.deepEqual(data(v6), ['AAAA fd00::1']);
    const bad = await ask(dns.port, '1-2-3-999.default.pod.cluster.local', 'A');
    assert.equal(bad.rcode, 'NXDOMAIN');
    assert.equal(ipFromReverseName(reverseName('fd00::a:1')), 'fd00::a:1');
    assert.equal(ipFromReverseName('4.3.2.1.in-addr.arpa'), '1.2.3.4');
    assert.equal(ipFromReverseName('3.2.1.in-addr.arpa'), undefined);
  });

  digIt('answers NXDOMAIN with the SOA for unknown names, NODATA for types a name lacks', async () => {
    const r = await dig(dns.port, ['nope.default.svc.cluster.local', 'A']);
    assert.equal(r.status, 'NXDOMAIN', r.raw);
    assert.equal(r.answers.length, 0);
    assert.deepEqual(r.authority.map((a) => [a[0], a[3], a[4], a[5]]), [['cluster.local.', 'SOA', 'ns.dns.cluster.local.', 'hostmaster.cluster.local.']]);
    const wildcard = await ask(dns.port, '*.default.svc.cluster.local', 'A');
    assert.equal(wildcard.rcode, 'NXDOMAIN');
    const noAAAA = await ask(dns.port, 'web.default.svc.cluster.local', 'AAAA');
    assert.equal(noAAAA.rcode, 'NOERROR');
    assert.equal((noAAAA.answers ?? []).length, 0);
    assert.equal(noAAAA.authorities?.[0]?.type, 'SOA');
    const version = await dig(dns.port, ['dns-version.cluster.local', 'TXT', '+short']);
    assert.equal(version.raw.trim(), '"1.1.0"');
  });

  it('answers a Service created after start within a moment, and NXDOMAIN once it is deleted', async () => {
    const late = await services().create({ metadata: { name: 'late' }, spec: { ports: [{ port: 80 }] } });
    const started = Date.now();
    const p = await waitFor('late', async () => {
      const r = await ask(dns.port, 'late.default.svc.cluster.local', 'A');
      return r.rcode === 'NOERROR' && r.answers?.length ? r : undefined;
    });
    assert.deepEqual(data(p), [`A ${late.spec!.clusterIP}`]);
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started}ms`);
    await services().delete('late');
    const gone = await waitFor('late gone', async () => {
      const r = await ask(dns.port, 'late.default.svc.cluster.local', 'A');
      return r.rcode === 'NXDOMAIN' ? r : undefined;
    });
    assert.equal(gone.authorities?.[0]?.type, 'SOA');
  });

  it('sets TC over UDP when the answer exceeds 512 bytes (or the EDNS size), and answers fully over TCP', async () => {
    await services().create({ metadata: { name: 'many' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } });
    const eps = Array.from({ length: 60 }, (_, i) => ({ ip: `10.244.2.${i + 1}` }));
    await slices().create(slice('many-1', 'many', eps));
    await waitFor('many', async () => ((await ask(dns.port, 'many.default.svc.cluster.local', 'A', { tcp: true })).answers?.length === 60 ? true : undefined));
    const udp = await ask(dns.port, 'many.default.svc.cluster.local', 'A');
    assert.equal(udp.flag_tc, true);
    assert.ok(udp.size <= 512, `${udp.size} bytes`);
    assert.ok((udp.answers ?? []).length < 60);
    const edns = await ask(dns.port, 'many.default.svc.cluster.local', 'A', { edns: 4096 });
    assert.equal(edns.flag_tc, false);
    assert.equal(edns.answers?.length, 60);
    assert.ok(edns.size < 1400, `compressed answer is ${edns.size} bytes`);
    const tcp = await ask(dns.port, 'many.default.svc.cluster.local', 'A', { tcp: true });
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers?.length, 60);
    if (hasDig) {
      // dig retries over TCP on TC by itself
      const r = await dig(dns.port, ['many.default.svc.cluster.local', 'A', '+noedns']);
      assert.equal(r.answers.length, 60, r.raw);
    }
  });

  it('survives malformed packets: drops or answers FORMERR, and goes on answering', async () => {
    const garbage = [Buffer.from([1]), Buffer.from('hello, this is not DNS at all'), Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 7, 0x41])];
    const s = createSocket('udp4');
    const replies: Buffer[] = [];
    s.on('message', (m) => replies.push(m));
    for (const g of garbage) s.send(g, dns.port, '127.0.0.1');
    const tcpJunk = connect(dns.port, '127.0.0.1', () => tcpJunk.write(Buffer.from([0x00, 0x05, 1, 2, 3, 4, 5, 0xff, 0xff, 9])));
    tcpJunk.on('error', () => {});
    await new Promise((r) => setTimeout(r, 200));
    s.close();
    tcpJunk.destroy();
    for (const reply of replies) assert.equal(decode(reply).rcode, 'FORMERR');
    const formerr = replies.find((r) => r.readUInt16BE(0) === 0x1234);
    assert.ok(formerr, 'the packet with a header got a FORMERR reply');
    const two = dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'a.test' }, { type: 'A', name: 'b.test' }] });
    assert.equal((await ask(dns.port, '', 'A', { raw: two })).rcode, 'FORMERR');
    const status = dnsPacket.encode({ type: 'query', id: 8, flags: 2 << 11, questions: [{ type: 'A', name: 'web.default.svc.cluster.local' }] });
    assert.equal((await ask(dns.port, '', 'A', { raw: status })).rcode, 'NOTIMP');
    const axfr = await ask(dns.port, 'cluster.local', 'AXFR', { tcp: true });
    assert.equal(axfr.rcode, 'REFUSED');
    const p = await ask(dns.port, 'web.default.svc.cluster.local', 'A');
    assert.deepEqual(data(p), [`A ${web.spec!.clusterIP}`]);
  });

  it('forwards other names to the upstreams, SERVFAIL when they time out', async () => {
    const p = await ask(dns.port, 'example.test', 'A');
    assert.deepEqual(data(p), ['A 192.0.2.10']);
    assert.ok(upstream.queries.includes('A example.test'));
    const tcp = await ask(dns.port, 'Example.Test', 'A', { tcp: true });
    assert.deepEqual(data(tcp), ['A 192.0.2.10']);
    const nx = await ask(dns.port, 'missing.test', 'A');
    assert.equal(nx.rcode, 'NXDOMAIN');
    const started = Date.now();
    const slow = await ask(dns.port, 'slow.test', 'A');
    assert.equal(slow.rcode, 'SERVFAIL');
    assert.ok(Date.now() - started >= 250, 'waited for the upstream timeout');
    if (hasDig) {
      const r = await dig(dns.port, ['example.test', 'A', '+short']);
      assert.equal(r.raw.trim(), '192.0.2.10');
    }
    // PTRs of addresses that are not the cluster's go upstream too
    const before = upstream.queries.length;
    await ask(dns.port, reverseName('192.0.2.99'), 'PTR');
    assert.equal(upstream.queries[before], `PTR ${reverseName('192.0.2.99')}`);
  });

  it('serves on an address added after start (the pod gateway), over UDP and TCP, until stopped', async () => {
    const dnsTransport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:coredns', groups: [] });
    const d = await startClusterDNS(dnsTransport, { listen: [{ address: '127.0.0.1', port: 0 }], upstreams: [] });
    try {
      const added = await d.addListener({ address: '127.0.0.2', port: 0 });
      assert.equal(added.address, '127.0.0.2');
      assert.ok(added.port > 0);
      assert.deepEqual(data(await ask(added.port, 'web.default.svc.cluster.local', 'A', { address: '127.0.0.2' })), [`A ${web.spec!.clusterIP}`]);
      assert.deepEqual(data(await ask(added.port, 'web.default.svc.cluster.local', 'A', { address: '127.0.0.2', tcp: true })), [`A ${web.spec!.clusterIP}`]);
      await assert.rejects(d.addListener({ address: '127.0.0.2', port: added.port }), /EADDRINUSE/);
    } finally {
      await d.stop();
      dnsTransport.close();
    }
    await assert.rejects(d.addListener({ address: '127.0.0.2', port: 0 }), /stopped/);
  });

  it('refuses names outside the zone when there is no upstream', async () => {
    const dnsTransport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:coredns', groups: [] });
    const lone = await startClusterDNS(dnsTransport, { listen: [{ address: '127.0.0.1', port: 0 }], upstreams: [], zone: 'example.internal', ttl: 30 });
    try {
      assert.equal((await ask(lone.port, 'example.test', 'A')).rcode, 'REFUSED');
      const p = await ask(lone.port, 'web.default.svc.example.internal', 'A');
      assert.equal((p.answers?.[0] as { ttl?: number } | undefined)?.ttl, 30);
      assert.deepEqual(data(p), [`A ${web.spec!.clusterIP}`]);
      assert.equal((await ask(lone.port, 'web.default.svc.cluster.local', 'A')).rcode, 'REFUSED');
    } finally {
      await lone.stop();
      dnsTransport.close();
    }
  });

  it('follows pods through the EndpointSlice controller', async () => {
    const controllerTransport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:endpointslice', groups: [] });
    const manager = new ControllerManager(controllerTransport, [endpointSliceController], { log: (l) => logs.push(l) });
    await manager.start();
    try {
      const kubelet = new FakeKubelet(rest);
      await services().create({ metadata: { name: 'stateful' }, spec: { clusterIP: 'None', selector: { app: 'stateful' }, ports: [{ name: 'http', port: 80 }] } });
      const pods = rest.resource<Pod>(RESOURCES.pods, NS);
      for (const n of ['stateful-0', 'stateful-1']) {
        await pods.create({ metadata: { name: n, labels: { app: 'stateful' } }, spec: { hostname: n, subdomain: 'stateful', containers: [{ name: 'c', image: 'busybox' }] } });
      }
      await kubelet.running(NS, 'stateful-0', { ip: '10.244.3.10' });
      await kubelet.running(NS, 'stateful-1', { ip: '10.244.3.11', ready: false });
      const p = await waitFor('stateful', async () => {
        const r = await ask(dns.port, 'stateful.default.svc.cluster.local', 'A');
        return r.answers?.length ? r : undefined;
      });
      assert.deepEqual(data(p), ['A 10.244.3.10']);
      assert.deepEqual(data(await ask(dns.port, 'stateful-0.stateful.default.svc.cluster.local', 'A')), ['A 10.244.3.10']);
      await kubelet.running(NS, 'stateful-1', { ip: '10.244.3.11', ready: true });
      const both = await waitFor('stateful-1 ready', async () => {
        const r = await ask(dns.port, 'stateful.default.svc.cluster.local', 'A');
        return r.answers?.length === 2 ? r : undefined;
      });
      assert.deepEqual(data(both).sort(), ['A 10.244.3.10', 'A 10.244.3.11']);
    } finally {
      await manager.stop();
      controllerTransport.close();
    }
  });

  it('writes the resolv.conf pods get, whose search list reaches Services by short name', async () => {
    const text = clusterDNSResolvConf('10.43.0.10', 'team-a');
    assert.equal(text, 'search team-a.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n');
    const conf = parseResolvConf(clusterDNSResolvConf('10.43.0.10', NS, 'cluster.local', ['corp.example', 'cluster.local']));
    assert.deepEqual(conf.search, ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example']);
    assert.deepEqual(conf.options, ['ndots:5']);
    // `web` and `web.default` have fewer than 5 dots: the resolver tries the search list first
    for (const [short, suffix] of [
      ['web', conf.search[0]],
      ['web.default', conf.search[1]],
    ]) {
      const p = await ask(dns.port, `${short}.${suffix}`, 'A');
      assert.deepEqual(data(p), [`A ${web.spec!.clusterIP}`], `${short}.${suffix}`);
    }
    if (hasDig) {
      const r = await dig(dns.port, ['+search', '+ndots=5', `+domain=${conf.search[0]}`, 'web', 'A', '+short']);
      assert.equal(r.raw.trim(), web.spec!.clusterIP);
    }
  });

  it('answered every query from its caches: no API request after the initial list and watch', () => {
    assert.equal(requestsAtStart, 4, apiRequests.join('\n'));
    assert.deepEqual(apiRequests.slice(requestsAtStart), []);
    assert.ok(!logs.some((l) => /failed|error/i.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => l.startsWith('dns: serving cluster.local on 127.0.0.1:')), logs.join('\n'));
  });
});
