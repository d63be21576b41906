// The cluster DNS server: answers the cluster zone from informer caches (no API call per query) and
// forwards every other name to the host's resolvers, over UDP and TCP.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server as TcpServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import dnsPacket, { type Answer, type RecordType } from 'dns-packet';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { RESOURCES, SharedInformers } from '../client/shared.js';
import type { Transport } from '../client/transport.js';
import { forward, parseUpstream, type Upstream } from './forward.js';
import { ClusterZone } from './records.js';
import { hostNameservers } from './resolvconf.js';
import {
  CLASS_ANY,
  CLASS_IN,
  EXTENDED_RCODE_BADVERS,
  encodeResponse,
  FLAG,
  headerOf,
  parseQuery,
  RCODE,
  TYPE,
  type Query,
  type ResourceRecord,
  type Response,
} from './wire.js';

export interface ListenAddress {
  address: string;
  /** 0 = an ephemeral port (UDP and TCP get the same one) */
  port: number;
}

export interface ClusterDNSOptions {
  listen: ListenAddress[];
  /** the cluster domain (default cluster.local) */
  zone?: string;
  /** seconds (default 5) */
  ttl?: number;
  /** `ip` or `ip:port` of resolvers for other names; default the host's /etc/resolv.conf nameservers but ourselves */
  upstreams?: string[];
  /** per upstream (default 2000 ms); SERVFAIL when all time out */
  forwardTimeoutMs?: number;
  /** what `ns.dns.<zone>` resolves to (default: the specific listen addresses) */
  nameserverIPs?: string[];
  /** informers to share with other in-process components (default: our own over `transport`) */
  informers?: SharedInformers;
  /** how long to wait for the caches before serving anyway (default 5000 ms, as CoreDNS) */
  syncTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ClusterDNS {
  address: string;
  port: number;
  /** serves on one more address (e.g. the pod bridge's gateway once the node has one); resolves with the port bound */
  addListener(l: ListenAddress): Promise<ListenAddress>;
  stop(): Promise<void>;
}

const ADVERTISED_UDP_SIZE = 1232;
const MAX_CHASE = 8;
/** the most one UDP datagram over IPv4 can carry */
const MAX_UDP_PAYLOAD = 65507;
const TCP_IDLE_MS = 10_000;
const TYPE_NAMES = new Map<number, RecordType>(Object.entries(TYPE).map(([k, v]) => [v, k as RecordType]));
const ENCODABLE = new Set(['A', 'AAAA', 'CNAME', 'PTR', 'NS', 'SRV', 'SOA', 'TXT']);

export async function startClusterDNS(transport: Transport, opts: ClusterDNSOptions): Promise<ClusterDNS> {
  if (!opts.listen.length) throw new Error('cluster DNS: nothing to listen on');
  const log = opts.log ?? (() => {});
  const zoneName = (opts.zone ?? 'cluster.local').toLowerCase().replace(/^\.|\.$/g, '');
  const ownInformers = !opts.informers;
  const informers = opts.informers ?? new SharedInformers(transport);
  const zone = new ClusterZone(informers.informer<Service>(RESOURCES.services), informers.informer<EndpointSlice>(RESOURCES.endpointslices), {
    zone: zoneName,
    ttl: opts.ttl ?? 5,
    nameserverIPs: opts.nameserverIPs ?? opts.listen.map((l) => l.address).filter((a) => !isUnspecified(a)),
  });
  const upstreams = (opts.upstreams ?? hostNameservers().filter((ns) => !isOwnAddress(ns, opts.listen))).map(parseUpstream);
  const handler = new QueryHandler(zone, upstreams, opts.forwardTimeoutMs ?? 2000, log);

  if (ownInformers) informers.start();
  const synced = await Promise.race([
    informers.waitForSync().then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), opts.syncTimeoutMs ?? 5000).unref()),
  ]);
  if (!synced) log('dns: serving before the Service and EndpointSlice caches synced (cluster names get SERVFAIL until they do)');

  const listeners: Listener[] = [];
  try {
    for (const l of opts.listen) listeners.push(await listenBoth(l, handler, log));
  } catch (e) {
    for (const l of listeners) await l.close();
    if (ownInformers) await informers.stop();
    throw e;
  }
  const first = listeners[0];
  log(
    `dns: serving ${zoneName} on ${listeners.map((l) => `${l.address}:${l.port}`).join(', ')} (udp+tcp); ` +
      `forwarding other names to ${upstreams.map((u) => `${u.address}:${u.port}`).join(', ') || 'nobody (REFUSED)'}`,
  );
  let stopped = false;
  return {
    address: first.address,
    port: first.port,
    async addListener(l) {
      if (stopped) throw new Error('cluster DNS: stopped');
      const added = await listenBoth(l, handler, log);
      listeners.push(added);
      log(`dns: also serving on ${added.address}:${added.port} (udp+tcp)`);
      return { address: added.address, port: added.port };
    },
    async stop() {
      stopped = true;
      for (const l of listeners) await l.close();
      if (ownInformers) await informers.stop();
    },
  };
}

function isUnspecified(a: string): boolean {
  return a === '0.0.0.0' || a === '::' || a === '';
}

/** A nameserver line pointing back at us would make a forwarding loop. */
function isOwnAddress(ns: string, listen: ListenAddress[]): boolean {
  return listen.some((l) => {
    if (l.port !== 53) return false;
    if (l.address === ns) return true;
    if (!isUnspecified(l.address)) return false;
    const local = Object.values(networkInterfaces()).flatMap((ifs) => (ifs ?? []).map((i) => i.address));
    return local.includes(ns) || ns.startsWith('127.') || ns === '::1';
  });
}

interface Listener {
  address: string;
  port: number;
  close(): Promise<void>;
}

async function listenBoth(l: ListenAddress, handler: QueryHandler, log: (line: string) => void): Promise<Listener> {
  for (let attempt = 0; ; attempt++) {
    const udp = await bindUDP(l, handler, log);
    const port = udp.address().port;
    try {
      const tcp = await listenTCP({ address: l.address, port }, handler, log);
      return {
        address: l.address,
        port,
        close: async () => {
          await new Promise<void>((r) => udp.close(() => r()));
          await tcp.close();
        },
      };
    } catch (e) {
      await new Promise<void>((r) => udp.close(() => r()));
      // an ephemeral UDP port may be taken on TCP: pick another
      if (l.port !== 0 || attempt >= 10 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
}

function bindUDP(l: ListenAddress, handler: QueryHandler, log: (line: string) => void): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type: isIPv6(l.address) ? 'udp6' : 'udp4' });
    sock.once('error', reject);
    sock.on('message', (msg, rinfo) => {
      handler
        .handle(msg, false)
        .then((reply) => {
          if (reply) sock.send(reply, rinfo.port, rinfo.address);
        })
        .catch((e: unknown) => log(`dns: udp query from ${rinfo.address}: ${(e as Error).message}`));
    });
    sock.bind(l.port, l.address, () => {
      sock.off('error', reject);
      sock.on('error', (e) => log(`dns: udp ${l.address}: ${e.message}`));
      resolve(sock);
    });
  });
}

function listenTCP(l: ListenAddress, handler: QueryHandler, log: (line: string) => void): Promise<{ close(): Promise<void> }> {
  const conns = new Set<Socket>();
  const server: TcpServer = createServer((conn) => {
    conns.add(conn);
    conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => conn.destroy());
    let buf: Buffer = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        handler
          .handle(msg, true)
          .then((reply) => {
            if (!reply || conn.destroyed) return;
            const framed = Buffer.alloc(2 + reply.length);
            framed.writeUInt16BE(reply.length);
            reply.copy(framed, 2);
            conn.write(framed);
          })
          .catch((e: unknown) => log(`dns: tcp query from ${conn.remoteAddress}: ${(e as Error).message}`));
      }
    });
  });
  server.on('error', (e) => log(`dns: tcp ${l.address}: ${e.message}`));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(l.port, l.address, () => {
      server.off('error', reject);
      resolve({
        close: () =>
          new Promise<void>((r) => {
            for (const c of conns) c.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

type Answered = Pick<Response, 'rcode' | 'answers' | 'authorities' | 'additionals'> & { authoritative: boolean };

class QueryHandler {
  constructor(
    private readonly zone: ClusterZone,
    private readonly upstreams: readonly Upstream[],
    private readonly forwardTimeoutMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** The reply to one message, or undefined to drop it. Never throws. */
  async handle(buf: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    const header = headerOf(buf);
    // too short to answer, or a response (answering those could loop between servers)
    if (!header || header.flags & FLAG.QR) return undefined;
    let query: Query;
    try {
      query = parseQuery(buf);
    } catch {
      return encodeResponse({ id: header.id, flags: header.flags & (FLAG.RD | FLAG.CD), opcode: (header.flags >> 11) & 0xf, rcode: RCODE.FORMERR, questions: [], answers: [], authorities: [], additionals: [] });
    }
    const reply = (a: Answered): Buffer => this.encode(query, a, tcp);
    const fail = (rcode: number): Buffer => reply({ rcode, answers: [], authorities: [], additionals: [], authoritative: false });
    try {
      if (query.opcode !== 0) return fail(RCODE.NOTIMP);
      if (query.questions.length !== 1) return fail(RCODE.FORMERR);
      if (query.edns && query.edns.version > 0) return fail(EXTENDED_RCODE_BADVERS);
      const q = query.questions[0];
      const name = q.name.toLowerCase().replace(/\.$/, '');
      if (this.zone.contains(name)) {
        if (q.class !== CLASS_IN && q.class !== CLASS_ANY) return fail(RCODE.REFUSED);
        if (q.type === TYPE.AXFR || q.type === TYPE.IXFR) return fail(RCODE.REFUSED);
        if (!this.zone.hasSynced()) return fail(RCODE.SERVFAIL);
        return reply(await this.answerZone(q.name, name, q.type));
      }
      if ((q.type === TYPE.PTR || q.type === TYPE.ANY) && q.class === CLASS_IN) {
        const ptrs = this.zone.reverse(name);
        if (ptrs) return reply({ rcode: RCODE.NOERROR, answers: ptrs.map((rr) => ({ ...rr, name: q.name })), authorities: [], additionals: [], authoritative: true });
      }
      if (!this.upstreams.length) return fail(RCODE.REFUSED);
      const upstream = await forward(buf, this.upstreams, { timeoutMs: this.forwardTimeoutMs, tcp, log: this.log });
      return upstream ?? fail(RCODE.SERVFAIL);
    } catch (e) {
      this.log(`dns: ${query.questions[0]?.name ?? '(no question)'}: ${(e as Error).message}`);
      return fail(RCODE.SERVFAIL);
    }
  }

  private async answerZone(asked: string, name: string, qtype: number): Promise<Answered> {
    const node = this.zone.recordsAt(name);
    if (!node) return { rcode: RCODE.NXDOMAIN, answers: [], authorities: [this.zone.soa()], additionals: [], authoritative: true };
    let answers = node.filter((rr) => qtype === TYPE.ANY || TYPE[rr.type as keyof typeof TYPE] === qtype);
    const cname = node.find((rr) => rr.type === 'CNAME');
    if (!answers.length && cname && cname.type === 'CNAME') answers = [cname, ...(await this.chase(cname.data, qtype, 1))];
    if (!answers.length) return { rcode: RCODE.NOERROR, answers: [], authorities: [this.zone.soa()], additionals: [], authoritative: true };
    const additionals: ResourceRecord[] = [];
    const seen = new Set<string>();
    for (const rr of answers) {
      const target = rr.type === 'SRV' ? rr.data.target : rr.type === 'NS' ? rr.data : undefined;
      if (!target || seen.has(target) || !this.zone.contains(target)) continue;
      seen.add(target);
      additionals.push(...(this.zone.recordsAt(target) ?? []).filter((a) => a.type === 'A' || a.type === 'AAAA'));
    }
    return { rcode: RCODE.NOERROR, answers: answers.map((rr) => (rr.name === name ? { ...rr, name: asked } : rr)), authorities: [], additionals, authoritative: true };
  }

  /** The records of a CNAME target: from the zone, or from an upstream (best effort: none on failure). */
  private async chase(target: string, qtype: number, depth: number): Promise<ResourceRecord[]> {
    const name = target.toLowerCase();
    if (depth > MAX_CHASE || qtype === TYPE.CNAME) return [];
    if (this.zone.contains(name)) {
      const node = this.zone.recordsAt(name) ?? [];
      const direct = node.filter((rr) => qtype === TYPE.ANY || TYPE[rr.type as keyof typeof TYPE] === qtype);
      if (direct.length) return direct;
      const next = node.find((rr) => rr.type === 'CNAME');
      return next && next.type === 'CNAME' ? [next, ...(await this.chase(next.data, qtype, depth + 1))] : [];
    }
    const typeName = TYPE_NAMES.get(qtype);
    if (!typeName || !this.upstreams.length || qtype === TYPE.ANY || qtype === TYPE.OPT) return [];
    const query = dnsPacket.encode({ type: 'query', id: Math.floor(Math.random() * 65536), flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: typeName, name: target }] });
    let reply = await forward(query, this.upstreams, { timeoutMs: this.forwardTimeoutMs, tcp: false, log: this.log });
    if (reply && reply.length >= 4 && reply.readUInt16BE(2) & FLAG.TC) reply = await forward(query, this.upstreams, { timeoutMs: this.forwardTimeoutMs, tcp: true, log: this.log });
    if (!reply) return [];
    try {
      return (dnsPacket.decode(reply).answers ?? []).filter((a: Answer): a is ResourceRecord => ENCODABLE.has(a.type));
    } catch {
      return [];
    }
  }

  private encode(query: Query, a: Answered, tcp: boolean): Buffer {
    const flags = (query.flags & (FLAG.RD | FLAG.CD)) | FLAG.RA | (a.authoritative ? FLAG.AA : 0);
    const response: Response = {
      id: query.id,
      flags,
      opcode: query.opcode,
      rcode: a.rcode & 0xf,
      questions: query.questions.slice(0, 1),
      answers: a.answers,
      authorities: a.authorities,
      additionals: a.additionals,
      opt: query.edns ? { udpPayloadSize: ADVERTISED_UDP_SIZE, extendedRcode: a.rcode >> 4, dnssecOk: false } : undefined,
    };
    const limit = tcp ? 65535 : query.edns ? Math.max(512, Math.min(query.edns.udpPayloadSize, MAX_UDP_PAYLOAD)) : 512;
    return fit(response, limit);
  }
}

/**
 * The response cut down to `limit` bytes: first without the additional section, then with as many
 * answers as fit and the TC bit, so the client asks again over TCP.
 */
function fit(r: Response, limit: number): Buffer {
  const full = encodeResponse(r);
  if (full.length <= limit) return full;
  const noExtra = encodeResponse({ ...r, additionals: [] });
  if (noExtra.length <= limit) return noExtra;
  const truncated = (n: number): Buffer => encodeResponse({ ...r, flags: r.flags | FLAG.TC, answers: r.answers.slice(0, n), authorities: [], additionals: [] });
  let lo = 0;
  let hi = r.answers.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (truncated(mid).length <= limit) lo = mid;
    else hi = mid - 1;
  }
  return truncated(lo);
}
