// A keep-alive HTTP/1.1 client for bodiless requests to endpoints: pooled raw sockets, the request head
// written as one string, the response parsed by a small state machine (Content-Length, chunked, or
// until close). Node's http client costs about as much per request as the server side of the proxy.
// Responses are read with `onread` into one shared buffer (no stream machinery per read): the pieces
// handed to an exchange are only valid during the call.
import { connect, type Socket } from 'node:net';

export interface UpstreamEndpoint {
  host: string;
  port: number;
}

export interface UpstreamHead {
  status: number;
  reason: string;
  /** raw [name, value, …] as received */
  headers: string[];
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

/** Does a comma-separated header value hold `token` (case-insensitive)? */
function hasToken(value: string, token: string): boolean {
  if (!value.includes(',')) return value.trim().toLowerCase() === token;
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
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

  constructor(
    private readonly pool: UpstreamPool,
    readonly key: string,
    ep: UpstreamEndpoint,
    timeoutMs: number,
  ) {
    this.socket = connect({
      host: ep.host,
      port: ep.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n) => {
          this.onData(READ_BUFFER.subarray(0, n));
          return true;
        },
      },
    });
    this.socket.setTimeout(timeoutMs);
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.fail(e));
    this.socket.on('close', () => this.onClose());
    this.socket.on('timeout', () => {
      if (this.ex) this.fail(error('upstream timed out', 'ETIMEDOUT'));
      this.socket.destroy();
    });
  }

  start(ex: UpstreamExchange, head: string, headRequest: boolean): void {
    this.ex = ex;
    this.state = State.Head;
    this.headRequest = headRequest;
    this.keepAlive = true;
    this.answered = false;
    this.pending = undefined;
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

  /** Parses the status line and headers; false when the response is not HTTP/1.x. */
  private parseHead(text: string): boolean {
    // the status line: HTTP/1.x, three digits, then nothing or a space and a reason without CR / LF
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = text.length;
    const minor = text.charCodeAt(7);
    if (eol < 12 || !text.startsWith('HTTP/1.') || (minor !== 48 && minor !== 49) || text.charCodeAt(8) !== 32) return false;
    let status = 0;
    for (let i = 9; i < 12; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return false;
      status = status * 10 + c;
    }
    if (eol > 12 && text.charCodeAt(12) !== 32) return false;
    const reason = eol > 13 ? text.slice(13, eol) : '';
    if (reason.includes('\r') || reason.includes('\n')) return false;
    const headers: string[] = [];
    let length = -1;
    let chunked = false;
    let close = minor === 48;
    for (let start = eol + 2; start < text.length; ) {
      let end = text.indexOf('\r\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      start = end + 2;
      const colon = line.indexOf(':');
      if (colon <= 0 || line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) return false;
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      // only content-length (14), transfer-encoding (17) and connection (10) matter here
      const n = name.length;
      if (n === 14 || n === 17 || n === 10) {
        const lower = name.toLowerCase();
        if (lower === 'content-length') {
          const v = Number(value);
          if (!/^\d+$/.test(value) || (length >= 0 && length !== v)) return false;
          length = v;
        } else if (lower === 'transfer-encoding') {
          chunked = hasToken(value, 'chunked');
          if (!chunked) close = true;
        } else if (lower === 'connection') {
          if (hasToken(value, 'close')) close = true;
          else if (hasToken(value, 'keep-alive')) close = false;
        }
      }
      headers.push(name, value);
    }
    // both framings at once: a proxy passing either on could desync its client (RFC 9112 6.3)
    if (chunked && length >= 0) return false;
    if (status >= 100 && status < 200) {
      // 1xx interim answers (103 Early Hints) are dropped; a 101 to a plain request is an error
      if (status === 101) return false;
      this.state = State.Head;
      return true;
    }
    this.keepAlive = !close;
    this.answered = true;
    if (this.headRequest || status === 204 || status === 304) this.state = State.Done;
    else if (chunked) this.state = State.ChunkSize;
    else if (length >= 0) {
      this.remaining = length;
      this.state = length === 0 ? State.Done : State.Length;
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
    this.ex!.onHead({ status, reason, headers });
    return true;
  }

  /** The bytes up to the next CRLF (consumed), or undefined when not all here yet. */
  private line(d: Buffer): { line: string; rest: Buffer } | undefined {
    const buf = this.pending ? Buffer.concat([this.pending, d]) : d;
    const at = buf.indexOf('\r\n');
    if (at < 0) {
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
          const buf = this.pending ? Buffer.concat([this.pending, d]) : d;
          const at = buf.indexOf(CRLFCRLF);
          if (at < 0) {
            if (buf.length > MAX_HEAD_BYTES) return this.fail(error('upstream sent too big a header', 'EPROTO'));
            this.pending = buf === d ? Buffer.from(d) : buf;
            return;
          }
          this.pending = undefined;
          d = buf.subarray(at + 4);
          if (!this.parseHead(buf.toString('latin1', 0, at))) return this.fail(error('upstream sent an invalid response', 'EPROTO'));
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
          const n = Math.min(this.remaining, d.length);
          d = d.subarray(n);
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.ChunkSize;
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
  private readonly timeoutMs: number;
  private readonly maxIdle: number;
  private closed = false;

  constructor(opts: UpstreamPoolOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.maxIdle = opts.maxIdlePerEndpoint ?? 512;
  }

  /** Sends `head` (request line, headers, blank line; no body) to the endpoint. */
  request(ep: UpstreamEndpoint, head: string, headRequest: boolean, ex: UpstreamExchange): UpstreamRequest {
    const key = `${ep.host}|${ep.port}`;
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
    conn ??= new Conn(this, key, ep, this.timeoutMs);
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
    if (!c.idle) return;
    c.idle = false;
    const list = this.idle.get(c.key);
    const at = list?.indexOf(c) ?? -1;
    if (at >= 0) list!.splice(at, 1);
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
