// Forwarding names outside the cluster zone to the host's resolvers: the query goes out as it came
// (UDP from a fresh socket each time, so each has its own random source port; TCP when the client
// used TCP), upstreams are tried in order, each for at most the timeout.
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';

export interface Upstream {
  address: string;
  port: number;
}

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` */
export function parseUpstream(s: string): Upstream {
  const bracketed = s.match(/^\[([^\]]+)\](?::(\d+))?$/);
  if (bracketed) return { address: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : 53 };
  if (isIPv6(s)) return { address: s, port: 53 };
  const i = s.lastIndexOf(':');
  if (i > 0) return { address: s.slice(0, i), port: Number(s.slice(i + 1)) };
  return { address: s, port: 53 };
}

export interface ForwardOptions {
  timeoutMs: number;
  tcp: boolean;
  log?: (line: string) => void;
}

/** The first upstream answer to `query`, or undefined when none answered in time. */
export async function forward(query: Buffer, upstreams: readonly Upstream[], opts: ForwardOptions): Promise<Buffer | undefined> {
  for (const u of upstreams) {
    try {
      const reply = opts.tcp ? await exchangeTCP(query, u, opts.timeoutMs) : await exchangeUDP(query, u, opts.timeoutMs);
      if (reply) return reply;
      opts.log?.(`dns: upstream ${u.address}:${u.port} did not answer within ${opts.timeoutMs}ms`);
    } catch (e) {
      opts.log?.(`dns: upstream ${u.address}:${u.port}: ${(e as Error).message}`);
    }
  }
  return undefined;
}

function exchangeUDP(query: Buffer, u: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(u.address) ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    let done = false;
    const finish = (err: Error | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(reply);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', (e) => finish(e));
    sock.on('message', (msg, rinfo) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && rinfo.port === u.port) finish(undefined, msg);
    });
    sock.send(query, u.port, u.address, (e) => {
      if (e) finish(e);
    });
  });
}

function exchangeTCP(query: Buffer, u: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: u.address, port: u.port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | undefined, reply?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('error', (e) => finish(e));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('end', () => finish(new Error('connection closed before an answer')));
  });
}
