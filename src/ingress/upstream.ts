// A keep-alive HTTP/1.1 client for bodiless requests to endpoints: pooled raw sockets, the request head
// written as one string, the response parsed by a small state machine (Content-Length, chunked, or
// until close). Node's http client costs about as much per request as the server side of the proxy.
// Responses are read with `onread` into one shared buffer (no stream machinery per read): the pieces
// handed to an exchange are only valid during the call.
import { connect, type Socket } from 'node:net';
import { CLOSE, connectionTokens, decimal, HEADER_LINES, HeaderLines, isName, isTrimmedName, KEEP_ALIVE } from './http1.js';

export interface UpstreamEndpoint {
  host: string;
  port: number;
}

/** A response head; the pool hands out the same object again for a head with the same bytes (treat it as immutable). */
export interface UpstreamHead {
  readonly status: number;
  readonly reason: string;
  /**
   * the header lines as received, each ending in CRLF, less the connection-level ones (Connection,
   * Keep-Alive, Transfer-Encoding, Proxy-Connection) and a repeated Content-Length; every name is a token and no
   * value has a control character
   */
  readonly lines: string;
  /** a Content-Length / Date header is among `lines` */
  readonly hasLength: boolean;
  readonly hasDate: boolean;
  /** `lines` as [name, value, …] */
  readonly headers: readonly string[];
}

class Head implements UpstreamHead {
  private parsed: string[] | undefined;
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly lines: string,
    /** the Content-Length value; -1: none */
    readonly length: number,
    readonly chunked: boolean,
    /** HTTP/1.0 without keep-alive, or `close` listed */
    readonly close: boolean,
    readonly hasDate: boolean,
  ) {}
  get hasLength(): boolean {
    return this.length >= 0;
  }
  /** [name, value, …]; shared by every answer with the same head: never change it */
  get headers(): readonly string[] {
    if (this.parsed) return this.parsed;
    const out: string[] = [];
    for (let start = 0; start < this.lines.length; ) {
      const end = this.lines.indexOf('\r\n', start);
      const colon = this.lines.indexOf(':', start);
      out.push(this.lines.slice(start, colon), this.lines.slice(colon + 1, end).trim());
      start = end + 2;
    }
    return (this.parsed = out);
  }
}

/** What one request hears back; exactly one of onEnd / onError is called, last. */
export interface UpstreamExchange {
  onHead(head: UpstreamHead): void;
  /** `chunk` is valid only during the call (it is a view of the pool's read buffer): copy it to keep it */
  onData(chunk: Buffer): void;
  /** `last`: the final piece of a Content-Length body (not passed to onData); valid only during the call */
  onEnd(last?: Buffer): void;
  /** `reused`: the connection had served a request before; `answered`: onHead was called */
  onError(e: NodeJS.ErrnoException, reused: boolean, answered: boolean): void;
}

export interface UpstreamRequest {
  /** stops the exchange and closes its connection; no callback follows */
  abort(): void;
  pause(): void;
  resume(): void;
}

export interface UpstreamPoolOptions {
  /** closes a connection (active: with ETIMEDOUT) after this long without traffic (default 60 s) */
  timeoutMs?: number;
  /** idle connections kept per endpoint (default 512) */
  maxIdlePerEndpoint?: number;
}

const MAX_HEAD_BYTES = 64 * 1024;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const TEXT_SEARCH = 512;
/** every connection reads into this (reads run one at a time, and nothing keeps a view past its callback) */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  Done,
}

const error = (message: string, code: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

/** 1xx: a head to skip (the final one follows) */
const INTERIM = 'interim';

/** Parses a status line and header lines (`text`: up to and with the CRLF of the last line); undefined when the response is not HTTP/1.x. */
function parseHead(text: string): Head | typeof INTERIM | undefined {
  // the status line: HTTP/1.x, three digits, then nothing or a space and a reason without CR / LF
  const eol = text.indexOf('\r\n');
  const minor = text.charCodeAt(7);
  if (eol < 12 || !text.startsWith('HTTP/1.') || (minor !== 48 && minor !== 49) || text.charCodeAt(8) !== 32) return undefined;
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    status = status * 10 + c;
  }
  if (eol > 12 && text.charCodeAt(12) !== 32) return undefined;
  const reason = eol > 13 ? text.slice(13, eol) : '';
  if (reason.includes('\r') || reason.includes('\n')) return undefined;
  HEADER_LINES.lastIndex = eol + 2;
  if (!HEADER_LINES.test(text)) return undefined;
  let length = -1;
  let chunked = false;
  let close = minor === 48;
  let date = false;
  // the connection-level lines are left out
  const h = new HeaderLines(text, eol + 2);
  while (h.next()) {
    const { lineStart, colon, end } = h;
    let drop = false;
    switch (colon - lineStart) {
      case 14:
        if (isName(text, lineStart, colon, 'content-length')) {
          const v = decimal(text, colon + 1, end);
          if (v < 0 || (length >= 0 && length !== v)) return undefined;
          // the same length again: one line goes on (clients such as Node's refuse two)
          drop = length >= 0;
          length = v;
        }
        break;
      case 4:
        if (isName(text, lineStart, colon, 'date')) date = true;
        break;
      case 17:
        // as nginx: `chunked` alone, once; the client gets the body in the proxy's framing, so another
        // coding would reach it unannounced
        if (isName(text, lineStart, colon, 'transfer-encoding')) {
          if (chunked || !isTrimmedName(text, colon + 1, end, 'chunked')) return undefined;
          chunked = true;
          drop = true;
        }
        break;
      case 10:
        if (isName(text, lineStart, colon, 'connection')) {
          const tokens = connectionTokens(text, colon + 1, end);
          if (tokens & CLOSE) close = true;
          else if (tokens & KEEP_ALIVE) close = false;
          drop = true;
        } else drop = isName(text, lineStart, colon, 'keep-alive');
        break;
      case 16:
        drop = isName(text, lineStart, colon, 'proxy-connection');
        break;
    }
    if (drop) h.drop();
  }
  const lines = h.kept();
  // both framings at once: a proxy passing either on could desync its client (RFC 9112 6.3)
  if (chunked && length >= 0) return undefined;
  // 1xx interim answers (103 Early Hints) are dropped; a 101 to a plain request is an error
  if (status >= 100 && status < 200) return status === 101 ? undefined : INTERIM;
  return new Head(status, reason, lines, length, chunked, close, date);
}

class Conn {
  readonly socket: Socket;
  private ex: UpstreamExchange | undefined;
  private state = State.Done;
  private pending: Buffer | undefined;
  private remaining = 0;
  private headRequest = false;
  private keepAlive = true;
  private answered = false;
  private served = 0;
  idle = false;
  /** the pool's sweep tick at the last traffic */
  seen: number;

  constructor(
    private readonly pool: UpstreamPool,
    readonly key: string,
    ep: UpstreamEndpoint,
  ) {
    this.seen = pool.tick;
    this.socket = connect({
      host: ep.host,
      port: ep.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n) => {
          this.seen = this.pool.tick;
          this.onData(READ_BUFFER.subarray(0, n));
          return true;
        },
      },
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.fail(e));
    this.socket.on('close', () => this.onClose());
  }

  /** @internal no traffic for the pool's timeout */
  timedOut(): void {
    if (this.ex) this.fail(error('upstream timed out', 'ETIMEDOUT'));
    this.socket.destroy();
  }

  start(ex: UpstreamExchange, head: string, headRequest: boolean): void {
    this.ex = ex;
    this.state = State.Head;
    this.headRequest = headRequest;
    this.keepAlive = true;
    this.answered = false;
    this.pending = undefined;
    this.seen = this.pool.tick;
    this.socket.write(head, 'latin1');
  }

  /** controls that act only while `ex` is the exchange in progress (the connection may serve another later) */
  handle(ex: UpstreamExchange): UpstreamRequest {
    return new Handle(this, ex);
  }

  /** @internal */
  abortIf(ex: UpstreamExchange): void {
    if (this.ex !== ex) return;
    this.ex = undefined;
    this.socket.destroy();
  }

  /** @internal */
  flowIf(ex: UpstreamExchange, on: boolean): void {
    if (this.ex !== ex) return;
    if (on) this.socket.resume();
    else this.socket.pause();
  }

  private fail(e: NodeJS.ErrnoException): void {
    const ex = this.ex;
    this.ex = undefined;
    this.keepAlive = false;
    this.socket.destroy();
    ex?.onError(e, this.served > 0, this.answered);
  }

  private onClose(): void {
    this.pool.forget(this);
    if (!this.ex) return;
    if (this.state === State.UntilClose) return this.finish();
    this.fail(error('upstream prematurely closed the connection', 'ECONNRESET'));
  }

  /** The answer is complete; `leftover`: bytes followed it in the same read, so the connection cannot be reused. */
  private finish(last?: Buffer, leftover = false): void {
    const ex = this.ex;
    if (!ex) return;
    this.ex = undefined;
    this.state = State.Done;
    this.served++;
    if (this.socket.isPaused()) this.socket.resume();
    if (this.keepAlive && !leftover && !this.socket.destroyed) this.pool.release(this);
    else this.socket.destroy();
    ex.onEnd(last);
  }

  /** Takes in a final response head: the framing of the body that follows, and the exchange hears of it. */
  private headed(h: Head): void {
    this.keepAlive = !h.close;
    this.answered = true;
    if (this.headRequest || h.status === 204 || h.status === 304) this.state = State.Done;
    else if (h.chunked) this.state = State.ChunkSize;
    else if (h.length >= 0) {
      this.remaining = h.length;
      this.state = h.length === 0 ? State.Done : State.Length;
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
    this.ex!.onHead(h);
  }

  /** The bytes up to the next CRLF (consumed), or undefined when not all here yet (or too long: the exchange failed). */
  private line(d: Buffer): { line: string; rest: Buffer } | undefined {
    const buf = this.pending ? Buffer.concat([this.pending, d]) : d;
    const at = buf.indexOf('\r\n');
    if (at < 0) {
      if (buf.length > MAX_HEAD_BYTES) {
        this.fail(error('upstream sent too long a chunk line', 'EPROTO'));
        return undefined;
      }
      this.pending = buf === d ? Buffer.from(d) : buf;
      return undefined;
    }
    this.pending = undefined;
    return { line: buf.toString('latin1', 0, at), rest: buf.subarray(at + 2) };
  }

  private onData(d: Buffer): void {
    while (d.length > 0) {
      if (!this.ex) {
        // bytes nobody asked for (after a response, or on an idle connection): the connection is unusable
        this.socket.destroy();
        return;
      }
      switch (this.state) {
        case State.Head: {
          // most answers repeat the head of the one before (until the Date changes): the same bytes, the same head
          const seen = this.pool.lastHead;
          if (!this.pending && seen && d.length >= seen.bytes.length && seen.bytes.compare(d, 0, seen.bytes.length) === 0) {
            d = d.subarray(seen.bytes.length);
            this.headed(seen.head);
          } else {
            const buf = this.pending ? Buffer.concat([this.pending, d]) : d;
            // the head is searched as text (a head is mostly in the first 512 bytes), which it is needed as anyway
            const first = buf.toString('latin1', 0, Math.min(buf.length, TEXT_SEARCH));
            let at = first.indexOf('\r\n\r\n');
            if (at < 0 && buf.length > first.length) at = buf.indexOf(CRLFCRLF, first.length - 3);
            if (at < 0) {
              if (buf.length > MAX_HEAD_BYTES) return this.fail(error('upstream sent too big a header', 'EPROTO'));
              this.pending = buf === d ? Buffer.from(d) : buf;
              return;
            }
            this.pending = undefined;
            d = buf.subarray(at + 4);
            const h = parseHead(at + 2 <= first.length ? first.slice(0, at + 2) : buf.toString('latin1', 0, at + 2));
            if (h === undefined) return this.fail(error('upstream sent an invalid response', 'EPROTO'));
            if (h === INTERIM) break;
            this.pool.lastHead = { bytes: Buffer.from(buf.subarray(0, at + 4)), head: h };
            this.headed(h);
          }
          if (!this.ex) return;
          if ((this.state as State) === State.Done) return this.finish(undefined, d.length > 0);
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, d.length);
          const chunk = n === d.length ? d : d.subarray(0, n);
          d = d.subarray(n);
          this.remaining -= n;
          if (this.remaining === 0) return this.finish(chunk, d.length > 0);
          this.ex.onData(chunk);
          break;
        }
        case State.ChunkSize: {
          const l = this.line(d);
          if (!l) return;
          d = l.rest;
          const semi = l.line.indexOf(';');
          const hex = (semi < 0 ? l.line : l.line.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return this.fail(error('upstream sent an invalid chunk', 'EPROTO'));
          this.remaining = parseInt(hex, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, d.length);
          const chunk = n === d.length ? d : d.subarray(0, n);
          d = d.subarray(n);
          this.remaining -= n;
          this.ex.onData(chunk);
          if (this.remaining === 0) {
            this.state = State.ChunkEnd;
            this.remaining = 2;
          }
          break;
        }
        case State.ChunkEnd: {
          // the CRLF after a chunk's data, a byte at a time
          if (d[0] !== (this.remaining === 2 ? 13 : 10)) return this.fail(error('upstream sent an invalid chunk', 'EPROTO'));
          d = d.subarray(1);
          if (--this.remaining === 0) this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const l = this.line(d);
          if (!l) return;
          d = l.rest;
          if (l.line === '') return this.finish(undefined, d.length > 0);
          break;
        }
        case State.UntilClose:
          this.ex.onData(d);
          return;
        case State.Done:
          this.socket.destroy();
          return;
      }
    }
  }
}

// a class, not closures: nothing is made per request but the one object
class Handle implements UpstreamRequest {
  constructor(
    private readonly conn: Conn,
    private readonly ex: UpstreamExchange,
  ) {}
  abort(): void {
    this.conn.abortIf(this.ex);
  }
  pause(): void {
    this.conn.flowIf(this.ex, false);
  }
  resume(): void {
    this.conn.flowIf(this.ex, true);
  }
}

/** Idle connections per endpoint, most recently used first out. */
export class UpstreamPool {
  private readonly idle = new Map<string, Conn[]>();
  private readonly keys = new WeakMap<UpstreamEndpoint, string>();
  /** every open connection, for the timeout sweep */
  private readonly all = new Set<Conn>();
  private readonly maxIdle: number;
  private closed = false;
  /**
   * Timeouts without a timer per socket (refreshing one on every read and write costs): a sweep every
   * `sweepMs` counts ticks, connections note the tick of their last traffic.
   */
  private readonly sweepMs: number;
  private readonly limitTicks: number;
  private sweeper: NodeJS.Timeout | undefined;
  /** @internal */
  tick = 0;
  /** @internal the last final head parsed, with its bytes (up to and with the blank line) */
  lastHead: { bytes: Buffer; head: Head } | undefined;

  constructor(opts: UpstreamPoolOptions = {}) {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    this.maxIdle = opts.maxIdlePerEndpoint ?? 512;
    this.sweepMs = Math.max(5, Math.min(1000, Math.floor(timeoutMs / 4)));
    this.limitTicks = Math.ceil(timeoutMs / this.sweepMs);
  }

  private sweep(): void {
    this.tick++;
    for (const c of this.all) if (this.tick - c.seen > this.limitTicks) c.timedOut();
    if (this.all.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Sends `head` (request line, headers, blank line; no body) to the endpoint. */
  request(ep: UpstreamEndpoint, head: string, headRequest: boolean, ex: UpstreamExchange): UpstreamRequest {
    let key = this.keys.get(ep);
    if (key === undefined) this.keys.set(ep, (key = `${ep.host}|${ep.port}`));
    let conn: Conn | undefined;
    const list = this.idle.get(key);
    while (list?.length) {
      const c = list.pop()!;
      c.idle = false;
      if (!c.socket.destroyed && c.socket.writable) {
        conn = c;
        break;
      }
    }
    if (!conn) {
      conn = new Conn(this, key, ep);
      this.all.add(conn);
      this.sweeper ??= setInterval(() => this.sweep(), this.sweepMs).unref();
    }
    conn.start(ex, head, headRequest);
    return conn.handle(ex);
  }

  /** @internal a connection whose response ended and that can serve another */
  release(c: Conn): void {
    let list = this.idle.get(c.key);
    if (!list) this.idle.set(c.key, (list = []));
    if (this.closed || list.length >= this.maxIdle) return void c.socket.destroy();
    c.idle = true;
    list.push(c);
  }

  /** @internal a connection that closed */
  forget(c: Conn): void {
    this.all.delete(c);
    const list = this.idle.get(c.key);
    if (!list) return;
    if (c.idle) {
      c.idle = false;
      const at = list.indexOf(c);
      if (at >= 0) list.splice(at, 1);
    }
    // endpoints come and go with pods: no entry is kept for one with nothing idle whose connection closed
    if (list.length === 0) this.idle.delete(c.key);
  }

  /** @internal endpoints the pool keeps an idle list for */
  get idleEndpoints(): number {
    return this.idle.size;
  }

  /** connections idle right now, over every endpoint */
  get idleCount(): number {
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  /** Closes the idle connections; later releases close theirs. */
  destroy(): void {
    this.closed = true;
    for (const l of this.idle.values()) for (const c of l.splice(0)) c.socket.destroy();
    this.idle.clear();
  }
}
