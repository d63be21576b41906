// The plain-HTTP listener's fast path: bodiless HTTP/1.1 keep-alive requests that route to a backend are
// parsed, proxied over the raw upstream pool and answered on the raw socket, one request at a time (pipelined
// requests wait their turn). Anything else — a body, Expect, Upgrade, HTTP/1.0, `Connection: close`, an
// error page, a head the strict check below does not accept — hands the connection, with the bytes not yet
// served, to Node's HTTP server for the rest of its life, which answers exactly as before.
import type { Socket } from 'node:net';
import { decide, page, pickEndpoint, reasonOf, requestID, retryable, type Endpoint, type ProxyContext, type ResolvedBackend, type Target, type Upstreams } from './proxy.js';
import { CLOSE, connectionOptions, connectionTokens, decimal, HEADER_LINES, HeaderLines, isName, OTHER, trimmed, UPGRADE } from './http1.js';
import type { RouteTable } from './routing.js';
import type { UpstreamExchange, UpstreamHead, UpstreamRequest } from './upstream.js';

/** as Node's default --max-http-header-size */
export const MAX_HEAD_BYTES = 16 * 1024;
/** as Node's server.headersTimeout: a head trickling in for longer gets 408 */
export const HEAD_TIMEOUT_MS = 60_000;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const TEXT_SEARCH = 512;
/** heads up to this long are kept per connection to recognise the next one (more would tie up memory per idle connection) */
const KEPT_HEAD_BYTES = 4096;

function copyOf(buf: Buffer, length: number): Buffer {
  const out = Buffer.allocUnsafeSlow(length);
  buf.copy(out, 0, 0, length);
  return out;
}
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** control characters (HTAB allowed) */
const CTL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Does text hold ` HTTP/1.1` at `at`? */
function isVersion11(text: string, at: number): boolean {
  for (let i = 0; i < 9; i++) if (text.charCodeAt(at + i) !== VERSION_11.charCodeAt(i)) return false;
  return true;
}
const VERSION_11 = ' HTTP/1.1';

/** Is text[start, end) an origin-form target (a slash, then visible ASCII only)? */
function isOriginForm(text: string, start: number, end: number): boolean {
  if (text.charCodeAt(start) !== 47) return false;
  for (let i = start + 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

export interface SimpleRequest {
  method: string;
  url: string;
  host: string;
  /** the last X-Request-ID received, if any */
  requestId: string | undefined;
  /**
   * the header lines for the endpoint, each ending in CRLF, as received: all but Host, the connection-level
   * ones, X-Forwarded-*, X-Real-IP and X-Request-ID (the proxy writes those)
   */
  lines: string;
}

/**
 * A request head the fast path serves: HTTP/1.1, origin-form target, one Host, no body (no
 * Transfer-Encoding, Content-Length absent or 0), no Expect / Upgrade / `Connection: close`, well-formed
 * header lines. `text`: the head without the blank line (a CRLF ending its last line is optional).
 * undefined: Node's server takes the connection (and answers 400 when it is malformed).
 */
export function parseSimpleHead(text: string): SimpleRequest | undefined {
  if (!text.endsWith('\r\n')) text += '\r\n';
  const eol = text.indexOf('\r\n');
  const sp1 = text.indexOf(' ');
  const sp2 = eol - 9;
  if (sp1 <= 0 || sp2 <= sp1 || !isVersion11(text, sp2)) return undefined;
  const method = text.slice(0, sp1);
  if (!(method === 'GET' || method === 'HEAD' || (TOKEN.test(method) && method !== 'CONNECT')) || !isOriginForm(text, sp1 + 1, sp2)) return undefined;
  const url = text.slice(sp1 + 1, sp2);
  HEADER_LINES.lastIndex = eol + 2;
  if (!HEADER_LINES.test(text)) return undefined;
  let host: string | undefined;
  let requestId: string | undefined;
  let length = false;
  /** names the Connection header lists besides keep-alive: left out too */
  let options: Set<string> | undefined;
  const h = new HeaderLines(text, eol + 2);
  while (h.next()) {
    const { lineStart, colon, end } = h;
    const n = colon - lineStart;
    let drop = false;
    switch (n) {
      case 4:
        if (isName(text, lineStart, colon, 'host')) {
          if (host !== undefined) return undefined;
          host = trimmed(text, colon + 1, end);
          drop = true;
        }
        break;
      case 14:
        if (isName(text, lineStart, colon, 'content-length')) {
          if (length || decimal(text, colon + 1, end) !== 0) return undefined;
          length = true;
        }
        break;
      case 10:
        if (isName(text, lineStart, colon, 'connection')) {
          const tokens = connectionTokens(text, colon + 1, end);
          if (tokens & (CLOSE | UPGRADE)) return undefined;
          if (tokens & OTHER) options = connectionOptions(text.slice(colon + 1, end), options);
          drop = true;
        } else drop = isName(text, lineStart, colon, 'keep-alive');
        break;
      case 17:
        if (isName(text, lineStart, colon, 'transfer-encoding')) return undefined;
        break;
      case 6:
        if (isName(text, lineStart, colon, 'expect')) return undefined;
        break;
      case 7:
        if (isName(text, lineStart, colon, 'upgrade')) return undefined;
        drop = isName(text, lineStart, colon, 'trailer');
        break;
      case 2:
        drop = isName(text, lineStart, colon, 'te');
        break;
      case 9:
        drop = isName(text, lineStart, colon, 'x-real-ip');
        break;
      case 16:
        drop = isName(text, lineStart, colon, 'proxy-connection');
        break;
      case 18:
        drop = isName(text, lineStart, colon, 'proxy-authenticate');
        break;
      case 19:
        drop = isName(text, lineStart, colon, 'proxy-authorization');
        break;
    }
    if (n === 12 && isName(text, lineStart, colon, 'x-request-id')) {
      // an empty one gets a new ID, as ingress-nginx maps an empty $http_x_request_id to $request_id
      requestId = trimmed(text, colon + 1, end) || undefined;
      drop = true;
    } else if (n >= 12 && !drop && isName(text, lineStart, lineStart + 12, 'x-forwarded-')) drop = true;
    if (drop) h.drop();
  }
  if (host === undefined) return undefined;
  let lines = h.kept();
  if (options) lines = withoutNamed(lines, options);
  return { method, url, host, requestId, lines };
}

/** Header lines (each ending in CRLF) less those with a name in `names` (lower case). */
function withoutNamed(lines: string, names: Set<string>): string {
  let out = '';
  for (let start = 0; start < lines.length; ) {
    const end = lines.indexOf('\r\n', start) + 2;
    if (!names.has(lines.slice(start, lines.indexOf(':', start)).toLowerCase())) out += lines.slice(start, end);
    start = end;
  }
  return out;
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
  /** a request head still incomplete after this long (ms) gets 408 (default HEAD_TIMEOUT_MS) */
  headTimeoutMs?: number;
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

/**
 * Timeouts without a timer per socket (refreshing one on every read and write costs): a sweep every `ms`
 * counts ticks; connections note the tick of their last traffic and of the start of an incomplete head.
 */
interface Clock {
  tick: number;
  idleTicks: number;
  headTicks: number;
}

export function frontEnd(opts: FrontEndOptions): FrontEnd {
  const connections = new Set<Socket>();
  const live = new Set<FastConnection>();
  const keepAliveHeader = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(opts.keepAliveTimeoutMs / 1000)}\r\n`;
  const headTimeoutMs = opts.headTimeoutMs ?? HEAD_TIMEOUT_MS;
  const sweepMs = Math.max(5, Math.min(1000, Math.floor(Math.min(opts.keepAliveTimeoutMs, headTimeoutMs) / 4)));
  const clock: Clock = { tick: 1, idleTicks: Math.ceil(opts.keepAliveTimeoutMs / sweepMs), headTicks: Math.ceil(headTimeoutMs / sweepMs) };
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    clock.tick++;
    for (const c of live) c.sweep();
    if (live.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  const shared: Shared = { opts, connections, live, keepAliveHeader, clock };
  return {
    connections,
    accept(socket) {
      connections.add(socket);
      live.add(new FastConnection(socket, shared));
      sweeper ??= setInterval(sweep, sweepMs).unref();
    },
    destroyAll() {
      for (const s of connections) s.destroy();
      connections.clear();
      live.clear();
    },
  };
}

interface Shared {
  opts: FrontEndOptions;
  connections: Set<Socket>;
  live: Set<FastConnection>;
  keepAliveHeader: string;
  clock: Clock;
}

/** The last routing decision of a connection, reused while the table, host, target and backend are the same. */
interface CachedRoute {
  table: RouteTable;
  host: string;
  url: string;
  httpsPort: number | undefined;
  target: Target;
  backend: Extract<ResolvedBackend, { ok: true }>;
}

class FastConnection {
  private buf: Buffer | undefined;
  /** the tick when the incomplete head in buf started arriving (0: none) */
  private headSince = 0;
  /** the tick of the last request read or answer finished */
  private seen: number;
  private busy = false;
  private handle: UpstreamRequest | undefined;
  private gone = false;
  /** the client finished sending (half-close): answer what it sent, then end */
  private ending = false;
  private readonly remote: string;
  private route: CachedRoute | undefined;
  /** the X-Real-IP / X-Forwarded-* lines and the blank line, for `blockHost` */
  private block = '';
  private blockHost: string | undefined;
  /** the last head taken (its bytes up to and with the blank line) and its parse: the next head is often the same bytes */
  private lastHead: Buffer | undefined;
  private lastRequest: SimpleRequest | undefined;
  /**
   * the endpoint's head for `upstreamFor` on `upstreamRoute`: `upstreamHead` + a new request ID + `upstreamTail`, or
   * `upstreamHead` alone when the request came with its ID
   */
  private upstreamFor: SimpleRequest | undefined;
  private upstreamRoute: CachedRoute | undefined;
  private upstreamHead = '';
  private upstreamTail = '';
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

  constructor(
    private readonly socket: Socket,
    private readonly shared: Shared,
  ) {
    this.seen = shared.clock.tick;
    this.remote = socket.remoteAddress ?? '';
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** @internal the periodic check of the timeouts */
  sweep(): void {
    if (this.busy) return;
    const { clock } = this.shared;
    if (!this.gone && this.headSince && clock.tick - this.headSince > clock.headTicks) this.headTimedOut();
    else if (clock.tick - this.seen > clock.idleTicks) this.socket.destroy();
  }

  private headTimedOut(): void {
    this.gone = true;
    this.buf = undefined;
    const s = this.socket;
    s.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n', () => s.destroy());
  }

  private closed(): void {
    this.gone = true;
    this.shared.connections.delete(this.socket);
    this.shared.live.delete(this);
    const h = this.handle;
    this.handle = undefined;
    h?.abort();
  }

  private data(d: Buffer): void {
    if (this.gone) return;
    this.seen = this.shared.clock.tick;
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
    this.shared.connections.delete(s);
    this.shared.live.delete(this);
    if (this.buf) s.unshift(this.buf);
    this.buf = undefined;
    this.shared.opts.handOff(s);
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
    let req: SimpleRequest | undefined;
    /** the bytes of the head, with its blank line */
    let length: number;
    const last = this.lastHead;
    if (last !== undefined && buf.length >= last.length && last.compare(buf, 0, last.length) === 0) {
      req = this.lastRequest!;
      length = last.length;
    } else {
      // the head is searched as text (a head is mostly in the first 512 bytes), which it is parsed as anyway
      const first = buf.toString('latin1', 0, Math.min(buf.length, TEXT_SEARCH));
      let at = first.indexOf('\r\n\r\n');
      if (at < 0 && buf.length > first.length) at = buf.indexOf(CRLFCRLF, first.length - 3);
      if (at < 0) {
        if (buf.length > MAX_HEAD_BYTES || this.ending) return this.handOff();
        const { clock } = this.shared;
        if (!this.headSince) this.headSince = clock.tick;
        else if (clock.tick - this.headSince > clock.headTicks) this.headTimedOut();
        return;
      }
      req = at <= MAX_HEAD_BYTES ? parseSimpleHead(at + 2 <= first.length ? first.slice(0, at + 2) : buf.toString('latin1', 0, at + 2)) : undefined;
      if (!req) return this.handOff();
      length = at + 4;
      if (length <= KEPT_HEAD_BYTES) {
        // a read holding just this head is kept as it is (nothing writes into it); a piece of more memory is copied
        // into memory of its own (Buffer.from would take a slice of the shared 8 KiB pool and keep all of it)
        this.lastHead = buf.byteOffset === 0 && buf.buffer.byteLength === length ? buf : copyOf(buf, length);
        this.lastRequest = req;
      }
    }
    this.headSince = 0;
    const route = this.routeOf(req);
    if (!route) return this.handOff();
    this.buf = length < buf.length ? buf.subarray(length) : undefined;
    this.busy = true;
    // pipelined bytes wait for this answer: read no more (nor the end of the stream, which would make a later
    // hand-off to Node's server impossible) until it is done
    if (this.buf) this.socket.pause();
    if (req !== this.upstreamFor || route !== this.upstreamRoute) this.upstreamHeadOf(req, route);
    const head = req.requestId === undefined ? this.upstreamHead + requestID() + this.upstreamTail : this.upstreamHead;
    // only the head of a kept request stays built: a bigger one would be held by an idle connection
    if (req !== this.lastRequest) this.forgetUpstreamHead();
    this.send(route.target, route.backend, head, req.method === 'HEAD', Math.min(route.backend.endpoints.length, 3) + 1);
  }

  private forgetUpstreamHead(): void {
    this.upstreamFor = undefined;
    this.upstreamRoute = undefined;
    this.upstreamHead = '';
    this.upstreamTail = '';
  }

  /** Makes the endpoint's head for `req` on `route` (the parts around the request ID). */
  private upstreamHeadOf(req: SimpleRequest, route: CachedRoute): void {
    if (req.host !== this.blockHost) {
      this.blockHost = req.host;
      const { remote } = this;
      this.block = `X-Real-IP: ${remote}\r\nX-Forwarded-For: ${remote}\r\nX-Forwarded-Host: ${req.host}\r\nX-Forwarded-Port: ${this.shared.opts.listenerPort()}\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Scheme: http\r\n\r\n`;
    }
    this.upstreamFor = req;
    this.upstreamRoute = route;
    const start = `${req.method} ${route.target.path} HTTP/1.1\r\nHost: ${req.host}\r\n${req.lines}X-Request-ID: `;
    this.upstreamTail = `\r\n${this.block}`;
    this.upstreamHead = req.requestId === undefined ? start : `${start}${req.requestId}${this.upstreamTail}`;
  }

  /** Where the request goes: the last decision when nothing it depends on changed; undefined: Node's server answers (a page). */
  private routeOf(req: SimpleRequest): CachedRoute | undefined {
    const { ctx } = this.shared.opts;
    const table = ctx.table();
    const httpsPort = ctx.httpsPort();
    const r = this.route;
    if (r && r.table === table && r.url === req.url && r.host === req.host && r.httpsPort === httpsPort && ctx.resolve(r.target.ref) === r.backend) return r;
    let d;
    try {
      d = decide(ctx, req.url, 'http', req.host);
    } catch {
      return undefined;
    }
    // pages (404, 503, redirects) are Node's server's to write
    if (d.kind !== 'proxy') return undefined;
    return (this.route = { table, host: req.host, url: req.url, httpsPort, target: d.target, backend: d.backend });
  }

  private done(): void {
    this.handle = undefined;
    this.busy = false;
    this.seen = this.shared.clock.tick;
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
    this.handle = this.shared.opts.up.pool.request(ex.ep, head, headRequest, ex);
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
  write(out: Buffer): boolean {
    return this.socket.write(out);
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

  /** @internal */
  get keepAliveHeader(): string {
    return this.shared.keepAliveHeader;
  }

  /** The endpoint failed: an error page if nothing was sent yet, else the connection ends. */
  private failed(t: Target, ep: Endpoint, e: NodeJS.ErrnoException, sent: boolean): void {
    if (sent) return void this.socket.destroy();
    const svc = `${t.ref.namespace}/${t.ref.service}`;
    const [status, detail] =
      e.code === 'ETIMEDOUT' ? [504, `Service ${svc} did not answer in time (${ep.host}:${ep.port}).`] : [502, `Service ${svc}: ${ep.host}:${ep.port}: ${e.code ?? e.message}.`];
    const body = page(status, detail);
    this.socket.write(
      `HTTP/1.1 ${status} ${reasonOf(status)}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nDate: ${httpDate()}\r\n${this.shared.keepAliveHeader}\r\n${body}`,
    );
    this.done();
  }
}

/** The last client head made, and what it was made from: answers in a row mostly have the same endpoint head. */
let madeFor: UpstreamHead | undefined;
let madeChunked = false;
let madeDate = '';
let madeKeepAlive = '';
let made: Buffer = Buffer.alloc(0);
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** The head for the client (its bytes, never written into: they may go out more than once); undefined: the endpoint's is invalid. */
function clientHead(h: UpstreamHead, chunked: boolean, keepAliveHeader: string): Buffer | undefined {
  const date = h.hasDate ? '' : httpDate();
  if (h === madeFor && chunked === madeChunked && date === madeDate && keepAliveHeader === madeKeepAlive) return made;
  if (h.reason !== '' && CTL.test(h.reason)) return undefined;
  const text = `HTTP/1.1 ${h.status} ${h.reason || reasonOf(h.status)}\r\n${h.lines}${date && `Date: ${date}\r\n`}${chunked ? 'Transfer-Encoding: chunked\r\n' : ''}${keepAliveHeader}\r\n`;
  madeFor = h;
  madeChunked = chunked;
  madeDate = date;
  madeKeepAlive = keepAliveHeader;
  return (made = Buffer.from(text, 'latin1'));
}

/** One request's trip to an endpoint (a class, not closures: one object per request). */
class Exchange implements UpstreamExchange {
  readonly ep: Endpoint;
  private pendingHead: Buffer | undefined;
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

  /** Holds the response head for the client (sent with the first piece of the body); the endpoint's header lines are checked already. */
  onHead(h: UpstreamHead): void {
    const bodiless = this.headRequest || h.status === 204 || h.status === 304;
    this.chunked = !bodiless && !h.hasLength;
    this.pendingHead = clientHead(h, this.chunked, this.conn.keepAliveHeader);
    if (this.pendingHead) return;
    this.conn.abortUpstream();
    this.conn.ended(this, Object.assign(new Error('upstream sent an invalid header'), { code: 'EPROTO' }), false);
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
    const head = this.pendingHead;
    this.pendingHead = undefined;
    const headLength = head ? head.length : 0;
    let out: Buffer;
    if (body?.length) {
      // a copy even when nothing is added: `body` is a view of the pool's read buffer
      if (!this.chunked) {
        out = Buffer.allocUnsafe(headLength + body.length);
        if (head) out.set(head);
        out.set(body, headLength);
      } else {
        const size = `${body.length.toString(16)}\r\n`;
        const suffix = end ? '\r\n0\r\n\r\n' : '\r\n';
        out = Buffer.allocUnsafe(headLength + size.length + body.length + suffix.length);
        if (head) out.set(head);
        let o = headLength + out.write(size, headLength, 'latin1');
        out.set(body, o);
        o += body.length;
        out.write(suffix, o, 'latin1');
      }
    } else if (end && this.chunked) out = head ? Buffer.concat([head, LAST_CHUNK]) : LAST_CHUNK;
    else if (head) out = head;
    else return true;
    this.wrote = true;
    return this.conn.write(out);
  }
}
