// How a client reaches the API server: HTTPS from a kubeconfig, or in-process (HTTP/1.1 over an
// in-memory socket pair handed straight to the server, with the caller's identity attached to it).
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parse as parseYaml } from 'yaml';
import { Fifo } from './fifo.js';

export interface TransportRequest {
  method: string;
  /** absolute path including the query string, e.g. `/api/v1/namespaces?limit=500` */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface TransportStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** the response body split at newlines (watch events are newline-delimited JSON); ends with the response */
  lines: AsyncIterable<string>;
  /** ends the request; `lines` then finishes without an error */
  close(): void;
}

export interface Transport {
  request(req: TransportRequest): Promise<TransportResponse>;
  stream(req: TransportRequest): Promise<TransportStream>;
  /** drops pooled connections */
  close(): void;
}

/** Who an in-process caller is; the API server's inProcessAuthenticator reads it from the socket. */
export interface InProcessIdentity {
  username: string;
  groups: string[];
  uid?: string;
}

/**
 * The property an in-process socket carries its caller's identity under. A global symbol, so the
 * API server can read it without importing the client layer; nothing on the wire can set it.
 */
export const IN_PROCESS_IDENTITY: unique symbol = Symbol.for('timonel.inProcessIdentity') as typeof IN_PROCESS_IDENTITY;

/**
 * The property an in-process socket carries its transport's line sinks under. A watch request names
 * one (LINE_SINK_HEADER); the API server claims it and hands it the event lines it would have
 * written, so they skip HTTP chunking, the in-memory socket and re-splitting. Only in-process
 * sockets carry it, so a header from the wire finds nothing.
 */
export const IN_PROCESS_LINE_SINKS: unique symbol = Symbol.for('timonel.inProcessLineSinks') as typeof IN_PROCESS_LINE_SINKS;
export const LINE_SINK_HEADER = 'x-timonel-line-sink';

/** What the server sees of a sink: where lines go, and how many bytes wait unread. */
export interface LineSink {
  push(line: string): void;
  readonly backlog: number;
}

export interface LineSinks {
  /** The sink named by `token`, once: a second claim finds nothing. */
  claim(token: string): LineSink | undefined;
}

/** Lines handed over in memory, read in order as an async iterable. */
export class LineQueue implements LineSink {
  /** `taken`: told the length of each line as its reader takes it (a sink on another thread counts its backlog so) */
  constructor(private readonly taken?: (chars: number) => void) {}

  private items = new Fifo<string>();
  private bytes = 0;
  private ended = false;
  private error: unknown;
  private wake?: () => void;

  get backlog(): number {
    return this.bytes;
  }

  push(line: string): void {
    if (this.ended) return;
    this.items.push(line);
    this.bytes += line.length;
    this.notify();
  }

  /** No more lines: readers finish after those queued (or at once with `discard`), throwing `error` if given. */
  end(error?: unknown, discard = false): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    if (discard) {
      this.items = new Fifo<string>();
      this.bytes = 0;
    }
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async *lines(): AsyncGenerator<string> {
    for (;;) {
      const line = this.items.shift();
      if (line !== undefined) {
        this.bytes -= line.length;
        this.taken?.(line.length);
        yield line;
        continue;
      }
      if (this.ended) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
    }
  }
}

type RequestFn = typeof httpRequest;

interface BaseOptions {
  request: RequestFn;
  agent: HttpAgent;
  host?: string;
  port?: number;
  /** a path prefix from the server URL (e.g. behind a proxy) */
  pathPrefix: string;
  headers: Record<string, string>;
}

function send(o: BaseOptions, req: TransportRequest): Promise<IncomingMessage> {
  const headers: Record<string, string | number> = { ...o.headers, ...req.headers };
  if (req.body !== undefined) headers['Content-Length'] = Buffer.byteLength(req.body);
  return new Promise((resolve, reject) => {
    const r = o.request({ method: req.method, host: o.host, port: o.port, path: o.pathPrefix + req.path, headers, agent: o.agent }, resolve);
    r.on('error', reject);
    r.end(req.body);
  });
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Trims only when the line has surrounding whitespace (server lines have none), saving a copy per line. */
const trimLine = (l: string): string => (l.length > 0 && l.charCodeAt(0) > 32 && l.charCodeAt(l.length - 1) > 32 ? l : l.trim());

export async function* splitLines(res: AsyncIterable<Buffer>, closed: () => boolean): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  try {
    for await (const chunk of res) {
      const text = decoder.write(chunk);
      let nl = text.indexOf('\n');
      if (nl < 0) {
        pending += text;
        continue;
      }
      // the first line completes what is pending; the others are sliced from this chunk's text only
      const first = trimLine(pending + text.slice(0, nl));
      pending = '';
      if (first) yield first;
      let start = nl + 1;
      while ((nl = text.indexOf('\n', start)) >= 0) {
        const line = trimLine(text.slice(start, nl));
        start = nl + 1;
        if (line) yield line;
      }
      pending = start < text.length ? text.slice(start) : '';
    }
  } catch (e) {
    if (closed()) return;
    throw e;
  }
  pending += decoder.end();
  if (pending.trim() && !closed()) yield pending.trim();
}

/** A stream whose lines may arrive through a sink the server claims, or in the response body (errors, other streams). */
async function sinkStream(o: BaseOptions, sinks: LineSinkRegistry, token: string, req: TransportRequest): Promise<TransportStream> {
  const q = sinks.newQueue?.(token) ?? new LineQueue();
  sinks.set(token, q);
  let res: IncomingMessage;
  try {
    res = await send(o, { ...req, headers: { ...req.headers, [LINE_SINK_HEADER]: token } });
  } catch (e) {
    sinks.delete(token);
    throw e;
  }
  res.on('error', () => {});
  let closed = false;
  void (async () => {
    try {
      for await (const l of splitLines(res, () => closed)) q.push(l);
      // a response cut short (server gone) is an error, as it is over HTTP
      if (!res.complete && !closed) throw new Error('aborted');
      q.end();
    } catch (e) {
      q.end(closed ? undefined : e);
    } finally {
      sinks.delete(token);
    }
  })();
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    lines: q.lines(),
    close() {
      if (closed) return;
      closed = true;
      sinks.delete(token);
      q.end(undefined, true);
      res.destroy();
    },
  };
}

/** The line queues of a transport's open watches, by the token each request names; `newQueue` makes them. */
export interface LineSinkRegistry extends Map<string, LineQueue> {
  newQueue?(token: string): LineQueue;
}

/** A Transport over node:http's client with `o`'s agent; with `sinks`, watches ask the server for in-memory line delivery. */
export function httpTransport(o: BaseOptions, sinks?: LineSinkRegistry): Transport {
  let nextToken = 0;
  return {
    async request(req) {
      const res = await send(o, req);
      return { status: res.statusCode ?? 0, headers: res.headers, body: await readAll(res) };
    },
    async stream(req) {
      if (sinks) return sinkStream(o, sinks, String(++nextToken), req);
      const res = await send(o, req);
      // errors surface through `lines` once it is read; until then they must not go unhandled
      res.on('error', () => {});
      let closed = false;
      return {
        status: res.statusCode ?? 0,
        headers: res.headers,
        lines: splitLines(res, () => closed),
        close() {
          if (closed) return;
          closed = true;
          res.destroy();
        },
      };
    },
    close() {
      o.agent.destroy();
    },
  };
}

// ---- kubeconfig ----

interface NamedCluster {
  name: string;
  cluster: {
    server?: string;
    'certificate-authority-data'?: string;
    'certificate-authority'?: string;
    'insecure-skip-tls-verify'?: boolean;
    'tls-server-name'?: string;
  };
}
interface NamedUser {
  name: string;
  user: {
    'client-certificate-data'?: string;
    'client-key-data'?: string;
    'client-certificate'?: string;
    'client-key'?: string;
    token?: string;
    tokenFile?: string;
    username?: string;
    password?: string;
  };
}
interface NamedContext {
  name: string;
  context: { cluster: string; user?: string; namespace?: string };
}

export interface Kubeconfig {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  'current-context'?: string;
}

export interface KubeconfigTransportOptions {
  /** a context other than current-context */
  context?: string;
  userAgent?: string;
}

const fromB64 = (s: string) => Buffer.from(s, 'base64');

/** The namespace the kubeconfig's context names (default `default`). */
export function kubeconfigNamespace(config: Kubeconfig | string, context?: string): string {
  const c = typeof config === 'string' ? loadKubeconfig(config) : config;
  const name = context ?? c['current-context'];
  return c.contexts?.find((x) => x.name === name)?.context.namespace ?? 'default';
}

export function loadKubeconfig(path: string): Kubeconfig {
  const parsed = parseYaml(readFileSync(path, 'utf8')) as unknown;
  if (!parsed || typeof parsed !== 'object') throw new Error(`${path}: not a kubeconfig`);
  return parsed as Kubeconfig;
}

/** A transport to the cluster a kubeconfig (file path or parsed) points at, with its credentials. */
export function kubeconfigTransport(config: Kubeconfig | string, opts: KubeconfigTransportOptions = {}): Transport {
  const kc = typeof config === 'string' ? loadKubeconfig(config) : config;
  const ctxName = opts.context ?? kc['current-context'];
  const ctx = kc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`kubeconfig: context "${ctxName ?? ''}" not found`);
  const cluster = kc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`kubeconfig: cluster "${ctx.cluster}" has no server`);
  const user = (ctx.user !== undefined ? kc.users?.find((u) => u.name === ctx.user)?.user : undefined) ?? {};
  const url = new URL(cluster.server);
  const https = url.protocol === 'https:';
  const headers: Record<string, string> = { 'User-Agent': opts.userAgent ?? 'timonel', Accept: 'application/json' };
  const token = user.token ?? (user.tokenFile ? readFileSync(user.tokenFile, 'utf8').trim() : undefined);
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (user.username !== undefined) headers.Authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
  let agent: HttpAgent;
  if (https) {
    const ca = cluster['certificate-authority-data']
      ? fromB64(cluster['certificate-authority-data'])
      : cluster['certificate-authority']
        ? readFileSync(cluster['certificate-authority'])
        : undefined;
    const cert = user['client-certificate-data'] ? fromB64(user['client-certificate-data']) : user['client-certificate'] ? readFileSync(user['client-certificate']) : undefined;
    const key = user['client-key-data'] ? fromB64(user['client-key-data']) : user['client-key'] ? readFileSync(user['client-key']) : undefined;
    agent = new HttpsAgent({
      keepAlive: true,
      ca,
      cert,
      key,
      rejectUnauthorized: !cluster['insecure-skip-tls-verify'],
      servername: cluster['tls-server-name'],
    });
  } else {
    agent = new HttpAgent({ keepAlive: true });
  }
  return httpTransport({
    request: (https ? httpsRequest : httpRequest) as RequestFn,
    agent,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : https ? 443 : 80,
    pathPrefix: url.pathname.replace(/\/+$/, ''),
    headers,
  });
}

// ---- in-process ----

/** One end of an in-memory connection, with the few net.Socket methods node:http calls. */
class MemorySocket extends Duplex {
  peer!: MemorySocket;
  timeout = 0;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly remoteFamily = 'IPv4';
  private timer: NodeJS.Timeout | undefined;
  [IN_PROCESS_IDENTITY]?: InProcessIdentity;
  [IN_PROCESS_LINE_SINKS]?: LineSinks;

  constructor() {
    super({ allowHalfOpen: false });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.touch();
    this.peer.touch();
    if (!this.peer.destroyed) this.peer.push(chunk);
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.clearTimer();
    const peer = this.peer;
    if (!peer.destroyed) process.nextTick(() => peer.destroy());
    cb(err);
  }

  /** Emits 'timeout' after `ms` of inactivity, as net.Socket does (0 disables it). */
  setTimeout(ms: number, cb?: () => void): this {
    this.timeout = ms;
    if (cb) this.once('timeout', cb);
    this.clearTimer();
    this.arm();
    return this;
  }

  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  address() {
    return { address: '127.0.0.1', family: 'IPv4', port: 0 };
  }

  private touch(): void {
    // every write of both ends lands here: restart the timer in place rather than making a new one
    this.timer?.refresh();
  }
  private arm(): void {
    if (this.timeout <= 0 || this.destroyed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.emit('timeout');
    }, this.timeout);
    this.timer.unref();
  }
  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Two connected in-memory sockets: what one writes, the other reads. */
export function memorySocketPair(): [Duplex, Duplex] {
  const a = new MemorySocket();
  const b = new MemorySocket();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** What an in-process transport connects to: an http.Server (listening or not), or anything that accepts sockets the same way. */
export interface ConnectionAcceptor {
  emit(event: 'connection', socket: Duplex): boolean;
}

/**
 * A plain-HTTP server around the API server's request handler that never listens: in-process
 * transports hand it their sockets. (A listening HTTPS server would expect TLS on them.)
 */
export function inProcessAcceptor(handler: RequestListener): Server {
  const server = createServer(handler);
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  return server;
}

class InProcessAgent extends HttpAgent {
  readonly sinks = new Map<string, LineQueue>();
  private readonly claimable: LineSinks = {
    claim: (token) => {
      const q = this.sinks.get(token);
      this.sinks.delete(token);
      return q;
    },
  };

  constructor(
    private readonly acceptor: ConnectionAcceptor,
    private readonly identity: InProcessIdentity,
  ) {
    super({ keepAlive: true });
  }

  override createConnection(): Duplex {
    const [client, server] = memorySocketPair();
    (server as MemorySocket)[IN_PROCESS_IDENTITY] = { ...this.identity, groups: [...this.identity.groups] };
    (server as MemorySocket)[IN_PROCESS_LINE_SINKS] = this.claimable;
    this.acceptor.emit('connection', server);
    return client;
  }
}

/**
 * A transport with no TCP and no TLS: each connection is an in-memory socket pair whose server end
 * goes to `acceptor` with `identity` attached, so the API server authenticates, authorizes and
 * admits in-process components exactly like remote ones.
 */
export function inProcessTransport(acceptor: ConnectionAcceptor, identity: InProcessIdentity, opts: { userAgent?: string } = {}): Transport {
  const agent = new InProcessAgent(acceptor, identity);
  return httpTransport(
    {
      request: httpRequest,
      agent,
      host: 'in-process',
      port: 80,
      pathPrefix: '',
      headers: { 'User-Agent': opts.userAgent ?? `timonel/${identity.username}`, Accept: 'application/json' },
    },
    agent.sinks,
  );
}
