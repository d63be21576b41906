// DNS messages on the wire: queries are read with dns-packet; answers are written here, because
// dns-packet does not compress names and uncompressed answers overflow 512 bytes far sooner.
import { isIPv4, isIPv6 } from 'node:net';
import dnsPacket, { type DecodedPacket, type OptAnswer, type SoaAnswer, type SrvAnswer, type StringAnswer, type TxtAnswer } from 'dns-packet';

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, IXFR: 251, AXFR: 252, ANY: 255 } as const;
export const CLASS_IN = 1;
export const CLASS_ANY = 255;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const FLAG = { QR: 1 << 15, AA: 1 << 10, TC: 1 << 9, RD: 1 << 8, RA: 1 << 7, CD: 1 << 4 } as const;
/** EDNS BADVERS lives in the upper bits of the extended rcode */
export const EXTENDED_RCODE_BADVERS = 16;

export type ResourceRecord = StringAnswer | SrvAnswer | SoaAnswer | TxtAnswer;

export interface Question {
  /** as asked (case kept), without the trailing dot */
  name: string;
  type: number;
  class: number;
}

export interface Edns {
  udpPayloadSize: number;
  version: number;
  dnssecOk: boolean;
}

export interface Query {
  id: number;
  opcode: number;
  flags: number;
  questions: Question[];
  edns?: Edns;
}

/** Parses a query; throws on anything dns-packet cannot read (the caller answers FORMERR or drops). */
export function parseQuery(buf: Buffer): Query {
  const p: DecodedPacket = dnsPacket.decode(buf);
  const flags = buf.readUInt16BE(2);
  const opt = p.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
  return {
    id: buf.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    flags,
    questions: (p.questions ?? []).map((q) => ({ name: q.name === '.' ? '' : q.name, type: typeNumber(q.type), class: classNumber(q.class) })),
    edns: opt ? { udpPayloadSize: opt.udpPayloadSize, version: opt.ednsVersion, dnssecOk: opt.flag_do } : undefined,
  };
}

/** The id and the flags of a packet too broken to parse, if it is at least a header. */
export function headerOf(buf: Buffer): { id: number; flags: number } | undefined {
  return buf.length >= 12 ? { id: buf.readUInt16BE(0), flags: buf.readUInt16BE(2) } : undefined;
}

function typeNumber(t: string): number {
  if (t.startsWith('UNKNOWN_')) return Number(t.slice(8));
  return (TYPE as Record<string, number>)[t] ?? otherTypeNumber(t);
}

function otherTypeNumber(t: string): number {
  // dns-packet names every type it knows; encode a question to read the number back
  const b = dnsPacket.encode({ questions: [{ type: t as 'A', name: 'x' }] });
  return b.readUInt16BE(b.length - 4);
}

function classNumber(c: string | undefined): number {
  switch (c) {
    case undefined:
    case 'IN':
      return 1;
    case 'CS':
      return 2;
    case 'CH':
      return 3;
    case 'HS':
      return 4;
    case 'ANY':
      return 255;
  }
  return c.startsWith('UNKNOWN_') ? Number(c.slice(8)) : 0;
}

export interface Response {
  id: number;
  /** header flags without QR, opcode and rcode */
  flags: number;
  opcode: number;
  rcode: number;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
  /** present when the query had EDNS */
  opt?: { udpPayloadSize: number; extendedRcode: number; dnssecOk: boolean };
}

/** Encodes a response with name compression (RFC 1035 4.1.4). */
export function encodeResponse(r: Response): Buffer {
  const w = new Writer();
  const rcodeLow = r.rcode & 0xf;
  w.u16(r.id);
  w.u16(FLAG.QR | ((r.opcode & 0xf) << 11) | (r.flags & 0x07f0) | rcodeLow);
  w.u16(r.questions.length);
  w.u16(r.answers.length);
  w.u16(r.authorities.length);
  w.u16(r.additionals.length + (r.opt ? 1 : 0));
  for (const q of r.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const rr of r.answers) w.record(rr);
  for (const rr of r.authorities) w.record(rr);
  for (const rr of r.additionals) w.record(rr);
  if (r.opt) {
    w.u8(0);
    w.u16(TYPE.OPT);
    w.u16(r.opt.udpPayloadSize);
    w.u8(r.opt.extendedRcode);
    w.u8(0);
    w.u16(r.opt.dnssecOk ? 0x8000 : 0);
    w.u16(0);
  }
  return w.done();
}

class Writer {
  private buf = Buffer.alloc(512);
  private len = 0;
  private readonly names = new Map<string, number>();

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf.writeUInt8(v, this.len);
    this.len += 1;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }

  name(n: string, compress: boolean): void {
    const labels = n.split('.').filter((l) => l !== '');
    let total = 1;
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = compress ? this.names.get(suffix) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.len < 0x3fff && !this.names.has(suffix)) this.names.set(suffix, this.len);
      const label = Buffer.from(labels[i], 'utf8');
      if (label.length > 63) throw new Error(`DNS label longer than 63 bytes in ${n}`);
      total += label.length + 1;
      if (total > 255) throw new Error(`DNS name longer than 255 bytes: ${n}`);
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }

  record(rr: ResourceRecord): void {
    this.name(rr.name, true);
    this.u16(TYPE[rr.type as keyof typeof TYPE]);
    this.u16(CLASS_IN);
    this.u32(rr.ttl ?? 0);
    const lenAt = this.len;
    this.u16(0);
    const start = this.len;
    switch (rr.type) {
      case 'A':
      case 'AAAA':
        this.bytes(ipBytes(rr.data));
        break;
      case 'CNAME':
      case 'PTR':
      case 'NS':
        this.name(rr.data, true);
        break;
      case 'SRV':
        this.u16(rr.data.priority ?? 0);
        this.u16(rr.data.weight ?? 0);
        this.u16(rr.data.port);
        // RFC 2782: the target is never compressed
        this.name(rr.data.target, false);
        break;
      case 'SOA':
        this.name(rr.data.mname, true);
        this.name(rr.data.rname, true);
        this.u32(rr.data.serial ?? 0);
        this.u32(rr.data.refresh ?? 0);
        this.u32(rr.data.retry ?? 0);
        this.u32(rr.data.expire ?? 0);
        this.u32(rr.data.minimum ?? 0);
        break;
      case 'TXT':
        for (const s of Array.isArray(rr.data) ? rr.data : [rr.data]) {
          const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
          this.u8(b.length);
          this.bytes(b);
        }
        break;
      default:
        throw new Error(`cannot encode a ${rr.type} record`);
    }
    this.buf.writeUInt16BE(this.len - start, lenAt);
  }

  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  const out = Buffer.alloc(16);
  const groups = expandIPv6(ip);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail becomes the last two). */
export function expandIPv6(ip: string): number[] {
  const s = ip
    .replace(/%.*$/, '')
    .replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const groups = (x: string): number[] => (x ? x.split(':').map((g) => parseInt(g, 16)) : []);
  const gap = s.indexOf('::');
  if (gap < 0) return groups(s);
  const head = groups(s.slice(0, gap));
  const tail = groups(s.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** The canonical text of an IP (IPv6 lower-case and compressed), to compare addresses written differently. */
export function canonicalIP(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip.toLowerCase();
  return new URL(`http://[${expandIPv6(ip).map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1);
}
