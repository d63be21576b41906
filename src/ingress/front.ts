// The plain-HTTP listener's fast path: bodiless HTTP/1.1 keep-alive requests that route to a backend are
// parsed, proxied over the raw upstream pool and answered on the raw socket, one request at a time (pipelined
// requests wait their turn). Anything else — a body, Expect, Upgrade, HTTP/1.0, `Connection: close`, an
// error page, a head the strict check below does not accept — hands the connection, with the bytes not yet
// served, to Node's HTTP server for the rest of its life, which answers exactly as before.
import type { Socket } from 'node:net';
import { decide, page, pickEndpoint, reasonOf, requestHead, retryable, type Endpoint, type ProxyContext, type ResolvedBackend, type Target, type Upstreams } from './proxy.js';
import type { UpstreamExchange, UpstreamHead, UpstreamRequest } from './upstream.js';

/** as Node's default --max-http-header-size */
export const MAX_HEAD_BYTES = 16 * 1024;
/** as Node's server.headersTimeout: a head trickling in for longer gets 408 */
export const HEAD_TIMEOUT_MS = 60_000;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** control characters (HTAB allowed) in a header line; a bare CR or LF shows up as one */
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;
/** an origin-form target: visible ASCII only */
const TARGET = /^\/[\x21-\x7e]*$/;

export interface SimpleRequest {
  method: string;
  url: string;
  host: string;
  /** [name, value, …] as received */
  raw: string[];
}

function hasToken(value: string, token: string): boolean {
  if (!value.includes(',')) return value.trim().toLowerCase() === token;
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** Trims spaces and tabs (String#trim would also take latin1 0xA0 off a value). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * A request head (without the blank line) the fast path serves: HTTP/1.1, origin-form target, one Host,
 * no body (no Transfer-Encoding, Content-Length absent or 0), no Expect / Upgrade / `Connection: close`,
 * well-formed header lines. undefined: Node's server takes the connection (and answers 400 when it is malformed).
 */
export function parseSimpleHead(text: string): SimpleRequest | undefined {
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  const rl = text.slice(0, eol);
  const sp1 = rl.indexOf(' ');
  const sp2 = rl.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 <= sp1 || rl.length - sp2 !== 9 || !rl.endsWith(' HTTP/1.1')) return undefined;
  const method = rl.slice(0, sp1);
  const url = rl.slice(sp1 + 1, sp2);
  if (!TOKEN.test(method) || method === 'CONNECT' || !TARGET.test(url)) return undefined;
  const raw: string[] = [];
  let host: string | undefined;
  let length = false;
  for (let start = eol + 2; start < text.length; ) {
    let end = text.indexOf('\r\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 2;
    if (CTL.test(line)) return undefined;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return undefined;
    const value = trimOws(line.slice(colon + 1));
    const n = name.length;
    if (n === 4 || n === 6 || n === 7 || n === 10 || n === 14 || n === 17) {
      const lower = name.toLowerCase();
      if (lower === 'host') {
        if (host !== undefined) return undefined;
        host = value;
      } else if (lower === 'content-length') {
        if (length || value !== '0') return undefined;
        length = true;
      } else if (lower === 'transfer-encoding' || lower === 'expect' || lower === 'upgrade') return undefined;
      else if (lower === 'connection' && (hasToken(value, 'close') || hasToken(value, 'upgrade'))) return undefined;
    }
    raw.push(name, value);
  }
  if (host === undefined) return undefined;
  return { method, url, host, raw };
}

let dateValue = '';
let dateSecond = 0;
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

export interface FrontEndOptions {
  ctx: ProxyContext;
  up: Upstreams;
  listenerPort: () => number;
  /** idle keep-alive connections close after this long (ms) */
  keepAliveTimeoutMs: number;
  /** takes over a connection; `socket` has the unserved bytes unshifted */
  handOff(socket: Socket): void;
}

export interface FrontEnd {
  /** serves a newly accepted connection */
  accept(socket: Socket): void;
  /** connections still on the fast path */
  readonly connections: Set<Socket>;
  destroyAll(): void;
}

export function frontEnd(opts: FrontEndOptions): FrontEnd {
  const connections = new Set<Socket>();
  const keepAliveHeader = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(opts.keepAliveTimeoutMs / 1000)}\r\n`;
  return {
    connections,
    accept(socket) {
      connections.add(socket);
      new FastConnection(socket, opts, connections, keepAliveHeader);
    },
    destroyAll() {
      for (const s of connections) s.destroy();
      connections.clear();
    },
  };
}

class FastConnection {
  private buf: Buffer | undefined;
  /** when the incomplete head in buf started arriving (0: none) */
  private headSince = 0;
  private busy = false;
  private handle: UpstreamRequest | undefined;
  private gone = false;
  /** the client finished sending (half-close): answer what it sent, then end */
  private ending = false;
  private readonly onEnd = () => {
    this.ending = true;
    this.next();
  };
  private readonly onData = (d: Buffer) => this.data(d);
  private readonly onError = () => this.socket.destroy();
  private readonly onClose = () => this.closed();
  private readonly onDrain = () => {
    this.drainWaited = false;
    this.handle?.resume();
  };
  /** the client caught up with the answers: read and answer its next requests */
  private readonly onDrainNext = () => {
    if (this.gone) return;
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  };
  private drainWaited = false;
  private readonly onTimeout = () => {
    if (!this.busy) this.socket.destroy();
  };

  constructor(
    private readonly socket: Socket,
    private readonly opts: FrontEndOptions,
    private readonly connections: Set<Socket>,
    private readonly keepAliveHeader: string,
  ) {
    socket.setTimeout(opts.keepAliveTimeoutMs);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('timeout', this.onTimeout);
  }

  private closed(): void {
    this.gone = true;
    this.connections.delete(this.socket);
    const h = this.handle;
    this.handle = undefined;
    h?.abort();
  }

  private data(d: Buffer): void {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    if (this.busy) {
      // pipelined requests wait for the one in flight
      this.socket.pause();
      return;
    }
    this.next();
  }

  private handOff(): void {
    const s = this.socket;
    // bytes cannot be put back once the end of the stream was read: the client half-closed behind requests
    // that were pipelined; Node's server would not answer them either (it aborts requests of a half-closed
    // connection), so the connection ends here after what was answered
    if (s.readableEnded) {
      this.buf = undefined;
      s.end();
      return;
    }
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    s.off('timeout', this.onTimeout);
    s.setTimeout(0);
    this.connections.delete(s);
    if (this.buf) s.unshift(this.buf);
    this.buf = undefined;
    this.opts.handOff(s);
    if (s.isPaused()) s.resume();
  }

  /** Starts the next complete request in the buffer, if any. */
  private next(): void {
    const buf = this.buf;
    if (this.busy || this.gone) return;
    if (!buf) {
      if (this.ending) this.socket.end();
      return;
    }
    const at = buf.indexOf(CRLFCRLF);
    if (at < 0) {
      if (buf.length > MAX_HEAD_BYTES || this.ending) return this.handOff();
      const now = Date.now();
      if (!this.headSince) this.headSince = now;
      else if (now - this.headSince > HEAD_TIMEOUT_MS) this.socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
      return;
    }
    this.headSince = 0;
    const req = at <= MAX_HEAD_BYTES ? parseSimpleHead(buf.toString('latin1', 0, at)) : undefined;
    if (!req) return this.handOff();
    const { ctx } = this.opts;
    let d;
    try {
      d = decide(ctx, req.url, 'http', req.host);
    } catch {
      return this.handOff();
    }
    // pages (404, 503, redirects) are Node's server's to write
    if (d.kind !== 'proxy') return this.handOff();
    this.buf = at + 4 < buf.length ? buf.subarray(at + 4) : undefined;
    this.busy = true;
    // pipelined bytes wait for this answer: read no more (nor the end of the stream, which would make a later
    // hand-off to Node's server impossible) until it is done
    if (this.buf) this.socket.pause();
    const head = requestHead(req.method, d.target.path, req.raw, this.socket.remoteAddress ?? '', 'http', req.host, this.opts.listenerPort());
    this.send(d.target, d.backend, head, req.method === 'HEAD', Math.min(d.backend.endpoints.length, 3) + 1);
  }

  private done(): void {
    this.handle = undefined;
    this.busy = false;
    // a client that does not read its answers gets no more of them (as Node's server does)
    if (this.socket.writableNeedDrain) {
      this.socket.pause();
      this.socket.once('drain', this.onDrainNext);
      return;
    }
    // next() runs before the resume takes effect: a request handed to Node's server is put back before a
    // half-close the socket already holds is seen
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  }

  private send(t: Target, backend: Extract<ResolvedBackend, { ok: true }>, head: string, headRequest: boolean, attemptsLeft: number): void {
    const ex = new Exchange(this, t, backend, head, headRequest, attemptsLeft);
    this.handle = this.opts.up.pool.request(ex.ep, head, headRequest, ex);
  }

  /** @internal the exchange in progress ended; `sent`: something of its answer went out */
  ended(ex: Exchange, e: NodeJS.ErrnoException | undefined, answered: boolean): void {
    this.handle = undefined;
    if (this.gone) return;
    if (!e) return this.done();
    if (!answered && ex.attemptsLeft > 1 && retryable(e, ex.reused)) return this.send(ex.target, ex.backend, ex.head, ex.headRequest, ex.attemptsLeft - 1);
    this.failed(ex.target, ex.ep, e, answered);
  }

  /** @internal */
  write(out: Buffer | string): boolean {
    return typeof out === 'string' ? this.socket.write(out, 'latin1') : this.socket.write(out);
  }

  /** @internal the socket cannot take more now: the endpoint's connection waits for drain */
  waitDrain(): void {
    this.handle?.pause();
    if (this.drainWaited) return;
    this.drainWaited = true;
    this.socket.once('drain', this.onDrain);
  }

  /** @internal */
  abortUpstream(): void {
    const h = this.handle;
    this.handle = undefined;
    h?.abort();
  }

  /** The response head for the client; undefined when the endpoint's head cannot be passed on. */
  /** @internal */
  responseHead(h: UpstreamHead, headRequest: boolean): { head: string; chunked: boolean } | undefined {
    if (h.reason !== '' && CTL.test(h.reason)) return undefined;
    const headers = h.headers;
    let head = `HTTP/1.1 ${h.status} ${h.reason || reasonOf(h.status)}\r\n`;
    let length = false;
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      const value = headers[i + 1];
      const n = name.length;
      // connection-level headers (as responseHeaders drops them), by length first: 10, 16, 17
      if (n === 10 || n === 16 || n === 17) {
        const lower = name.toLowerCase();
        if (lower === 'connection' || lower === 'keep-alive' || lower === 'transfer-encoding' || lower === 'proxy-connection') continue;
      }
      if (!TOKEN.test(name) || CTL.test(value)) return undefined;
      if (n === 14 && name.toLowerCase() === 'content-length') length = true;
      else if (n === 4 && name.toLowerCase() === 'date') date = true;
      head += `${name}: ${value}\r\n`;
    }
    if (!date) head += `Date: ${httpDate()}\r\n`;
    const bodiless = headRequest || h.status === 204 || h.status === 304;
    const chunked = !bodiless && !length;
    if (chunked) head += 'Transfer-Encoding: chunked\r\n';
    return { head: `${head}${this.keepAliveHeader}\r\n`, chunked };
  }

  /** The endpoint failed: an error page if nothing was sent yet, else the connection ends. */
  private failed(t: Target, ep: Endpoint, e: NodeJS.ErrnoException, sent: boolean): void {
    if (sent) return void this.socket.destroy();
    const svc = `${t.ref.namespace}/${t.ref.service}`;
    const [status, detail] =
      e.code === 'ETIMEDOUT' ? [504, `Service ${svc} did not answer in time (${ep.host}:${ep.port}).`] : [502, `Service ${svc}: ${ep.host}:${ep.port}: ${e.code ?? e.message}.`];
    const body = page(status, detail);
    this.socket.write(
      `HTTP/1.1 ${status} ${reasonOf(status)}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nDate: ${httpDate()}\r\n${this.keepAliveHeader}\r\n${body}`,
    );
    this.done();
  }
}

/** One request's trip to an endpoint (a class, not closures: one object per request). */
class Exchange implements UpstreamExchange {
  readonly ep: Endpoint;
  private pendingHead: string | undefined;
  private chunked = false;
  private wrote = false;
  reused = false;

  constructor(
    private readonly conn: FastConnection,
    readonly target: Target,
    readonly backend: Extract<ResolvedBackend, { ok: true }>,
    readonly head: string,
    readonly headRequest: boolean,
    readonly attemptsLeft: number,
  ) {
    this.ep = pickEndpoint(backend);
  }

  onHead(h: UpstreamHead): void {
    const built = this.conn.responseHead(h, this.headRequest);
    if (built === undefined) {
      this.conn.abortUpstream();
      return this.conn.ended(this, Object.assign(new Error('upstream sent an invalid header'), { code: 'EPROTO' }), false);
    }
    this.pendingHead = built.head;
    this.chunked = built.chunked;
  }

  onData(chunk: Buffer): void {
    if (!this.write(chunk, false)) this.conn.waitDrain();
  }

  onEnd(last?: Buffer): void {
    this.write(last, true);
    this.conn.ended(this, undefined, true);
  }

  onError(e: NodeJS.ErrnoException, reused: boolean, answered: boolean): void {
    this.reused = reused;
    this.conn.ended(this, e, answered || this.wrote);
  }

  /** Sends the head (if still held) with this piece of the body, in one write; the chunked framing when needed. */
  private write(body: Buffer | undefined, end: boolean): boolean {
    const head = this.pendingHead ?? '';
    this.pendingHead = undefined;
    let out: Buffer | string;
    if (body?.length) {
      const prefix = this.chunked ? `${head}${body.length.toString(16)}\r\n` : head;
      const suffix = this.chunked ? (end ? '\r\n0\r\n\r\n' : '\r\n') : '';
      // a copy even when nothing is added: `body` is a view of the pool's read buffer
      if (!prefix && !suffix) out = Buffer.from(body);
      else {
        const b = Buffer.allocUnsafe(prefix.length + body.length + suffix.length);
        let o = b.write(prefix, 0, 'latin1');
        o += body.copy(b, o);
        if (suffix) b.write(suffix, o, 'latin1');
        out = b;
      }
    } else out = end && this.chunked ? `${head}0\r\n\r\n` : head;
    if (!out.length) return true;
    this.wrote = true;
    return this.conn.write(out);
  }
}
