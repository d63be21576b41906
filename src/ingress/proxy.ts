// The data path: an HTTP request (or an Upgrade) on a listener → route → endpoint, proxied over pooled
// keep-alive connections, with the X-Forwarded-* headers ingress-nginx sends and its error pages.
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest, STATUS_CODES, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { matchRoute, normalizeHost, rewritePath, type Match, type Route, type RouteTable, type ServiceBackendRef } from './routing.js';
import { connectionOptions } from './http1.js';
import { UpstreamPool, type UpstreamRequest } from './upstream.js';

export interface Endpoint {
  host: string;
  port: number;
}

export type ResolvedBackend = { ok: true; endpoints: Endpoint[]; rr: { next: number } } | { ok: false; message: string };

export interface ProxyContext {
  table(): RouteTable;
  resolve(ref: ServiceBackendRef): ResolvedBackend;
  /** the HTTPS listener's port, for redirects (undefined: not listening) */
  httpsPort(): number | undefined;
  log(line: string): void;
}

export type Scheme = 'http' | 'https';

/** Connection-level headers a proxy must not forward (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'expect']);

const UPSTREAM_TIMEOUT_MS = 60_000;

/** Connections to endpoints: a raw keep-alive pool for bodiless requests, Node's Agent for the others. */
export interface Upstreams {
  agent: Agent;
  pool: UpstreamPool;
}

export const upstreams = (): Upstreams => ({
  agent: new Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: Infinity, maxFreeSockets: 512, scheduling: 'lifo' }),
  pool: new UpstreamPool({ timeoutMs: UPSTREAM_TIMEOUT_MS }),
});

// ---- pages ----

/** nginx's reason phrases where they differ from Node's: pages and tools that match on them see the same text. */
const NGINX_REASONS: Record<number, string> = { 413: 'Request Entity Too Large', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' };
export const reasonOf = (status: number) => NGINX_REASONS[status] ?? STATUS_CODES[status] ?? '';

export function page(status: number, detail?: string): string {
  const title = `${status} ${reasonOf(status)}`.trim();
  const p = detail ? `<p>${escapeHtml(detail)}</p>\n` : '';
  return `<html>\n<head><title>${title}</title></head>\n<body>\n<center><h1>${title}</h1></center>\n${p}<hr><center>timonel ingress</center>\n</body>\n</html>\n`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function sendPage(res: ServerResponse, status: number, detail?: string, extra: OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = page(status, detail);
  res.writeHead(status, reasonOf(status), { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function rawPage(socket: Duplex, status: number, detail?: string): void {
  const body = page(status, detail);
  socket.end(`HTTP/1.1 ${status} ${reasonOf(status)}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

// ---- routing a request ----

export interface Target {
  route: Route;
  ref: ServiceBackendRef;
  path: string;
}

export type Decision = { kind: 'proxy'; target: Target; backend: Extract<ResolvedBackend, { ok: true }> } | { kind: 'page'; status: number; detail?: string; headers?: OutgoingHttpHeaders };

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

export function decide(ctx: ProxyContext, url: string, scheme: Scheme, hostHeader: string): Decision {
  const { path, query } = splitUrl(url);
  const m: Match = matchRoute(ctx.table(), normalizeHost(hostHeader), path);
  const route = m.route;
  if (!route) return { kind: 'page', status: 404 };
  if (scheme === 'http' && (route.forceSslRedirect || (route.sslRedirect && m.host?.tls))) {
    const port = ctx.httpsPort();
    if (port !== undefined) {
      const host = normalizeHost(hostHeader);
      const authority = port === 443 ? host : `${host.includes(':') ? `[${host}]` : host}:${port}`;
      return { kind: 'page', status: 308, headers: { Location: `https://${authority}${url}` } };
    }
  }
  if (route.backend.kind !== 'service') return { kind: 'page', status: 503, detail: `Ingress ${route.ingress}: ${route.backend.reason}.` };
  const ref = route.backend.ref;
  const backend = ctx.resolve(ref);
  if (!backend.ok) return { kind: 'page', status: 503, detail: backend.message };
  const target = route.rewriteTarget !== undefined && m.route !== undefined ? rewritePath(route.rewriteTarget, m.groups, query) : url;
  return { kind: 'proxy', target: { route, ref, path: target }, backend };
}

// request IDs (32 hex digits, like nginx's $request_id) cut from one random block: a crypto call per request costs
let idPool = '';
let idAt = 0;
export function requestID(): string {
  if (idAt + 32 > idPool.length) {
    idPool = randomBytes(2048).toString('hex');
    idAt = 0;
  }
  const id = idPool.slice(idAt, idAt + 32);
  idAt += 32;
  return id;
}

/** The request's headers for the endpoint, as a raw [name, value, …] list (keeps order and repeats). */
export function forwardedHeaders(raw: string[], remote: string, scheme: Scheme, hostHeader: string, listenerPort: number, upgrade?: string): string[] {
  const out: string[] = ['Host', hostHeader];
  let requestId: string | undefined;
  let options: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (lower === 'connection') options = connectionOptions(raw[i + 1], options);
    if (HOP_BY_HOP.has(lower) || lower.startsWith('x-forwarded-') || lower === 'x-real-ip') continue;
    if (lower === 'x-request-id') {
      // an empty one gets a new ID, as ingress-nginx maps an empty $http_x_request_id to $request_id
      requestId = raw[i + 1].trim() || undefined;
      continue;
    }
    out.push(raw[i], raw[i + 1]);
  }
  // the headers Connection names are for the client's connection only (RFC 9110 §7.6.1)
  if (options) for (let i = out.length - 2; i >= 2; i -= 2) if (options.has(out[i].toLowerCase())) out.splice(i, 2);
  const port = String(listenerPort);
  out.push('X-Request-ID', requestId ?? requestID(), 'X-Real-IP', remote, 'X-Forwarded-For', remote, 'X-Forwarded-Host', hostHeader);
  out.push('X-Forwarded-Port', port, 'X-Forwarded-Proto', scheme, 'X-Forwarded-Scheme', scheme);
  if (upgrade !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  return out;
}

/** The same headers as forwardedHeaders, as a request head for the raw pool. */
export function requestHead(method: string, path: string, raw: string[], remote: string, scheme: Scheme, hostHeader: string, listenerPort: number): string {
  const h = forwardedHeaders(raw, remote, scheme, hostHeader, listenerPort);
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
  return `${head}\r\n`;
}

export function pickEndpoint(b: Extract<ResolvedBackend, { ok: true }>): Endpoint {
  const ep = b.endpoints[b.rr.next % b.endpoints.length];
  b.rr.next = (b.rr.next + 1) % b.endpoints.length;
  return ep;
}

export function responseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (lower === 'connection' || lower === 'keep-alive' || lower === 'transfer-encoding' || lower === 'proxy-connection') continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

export const retryable = (e: NodeJS.ErrnoException, reused: boolean) => e.code === 'ECONNREFUSED' || (reused && (e.code === 'ECONNRESET' || e.code === 'EPIPE'));

// ---- plain requests ----

/** The request headers the data path looks at, from one pass over rawHeaders (req.headers is built lazily: never asked for). */
interface RequestFacts {
  host: string;
  contentLength?: string;
  chunked: boolean;
  expectContinue: boolean;
}

function requestFacts(raw: string[]): RequestFacts {
  const f: RequestFacts = { host: '', chunked: false, expectContinue: false };
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    // cheap length filter first: host (4), expect (6), content-length (14), transfer-encoding (17)
    const n = name.length;
    if (n !== 4 && n !== 6 && n !== 14 && n !== 17) continue;
    const lower = name.toLowerCase();
    if (lower === 'host') host ??= raw[i + 1];
    else if (lower === 'content-length') f.contentLength ??= raw[i + 1];
    else if (lower === 'transfer-encoding') f.chunked = true;
    else if (lower === 'expect' && /100-continue/i.test(raw[i + 1])) f.expectContinue = true;
  }
  f.host = host ?? '';
  return f;
}

/** Serves one request arriving on a listener. */
export function handleRequest(ctx: ProxyContext, up: Upstreams, scheme: Scheme, listenerPort: number, req: IncomingMessage, res: ServerResponse): void {
  const facts = requestFacts(req.rawHeaders);
  const hostHeader = facts.host;
  let d: Decision;
  try {
    d = decide(ctx, req.url ?? '/', scheme, hostHeader);
  } catch (e) {
    ctx.log(`ingress: routing ${req.method} ${hostHeader}${req.url} failed: ${(e as Error).message}`);
    return sendPage(res, 500);
  }
  if (d.kind === 'page') {
    req.resume();
    return sendPage(res, d.status, d.detail, d.headers);
  }
  const limit = d.target.route.maxBodyBytes;
  const declared = facts.contentLength !== undefined ? Number(facts.contentLength) : undefined;
  if (limit > 0 && declared !== undefined && declared > limit) {
    req.resume();
    return sendPage(res, 413, undefined, { Connection: 'close' });
  }
  // `Expect: 100-continue` is answered here, once the body is known to be acceptable
  if (facts.expectContinue) res.writeContinue();
  const hasBody = declared !== undefined ? declared > 0 : facts.chunked;
  if (!hasBody) {
    req.resume();
    // a request without a body can go to the next endpoint if this one refuses
    const attempts = Math.min(d.backend.endpoints.length, 3) + 1;
    return sendBodiless(up.pool, req, res, d.target, d.backend, requestHead(req.method ?? 'GET', d.target.path, req.rawHeaders, req.socket.remoteAddress ?? '', scheme, hostHeader, listenerPort), attempts);
  }
  const headers = forwardedHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', scheme, hostHeader, listenerPort);
  send(ctx, up.agent, req, res, d.target, d.backend, headers, hasBody, limit, 1);
}

function upstreamFailed(res: ServerResponse, t: Target, ep: Endpoint, e: NodeJS.ErrnoException): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  const svc = `${t.ref.namespace}/${t.ref.service}`;
  if (e.code === 'ETIMEDOUT') return sendPage(res, 504, `Service ${svc} did not answer in time (${ep.host}:${ep.port}).`);
  if (e.code === 'EBODYTOOLARGE') return sendPage(res, 413, undefined, { Connection: 'close' });
  sendPage(res, 502, `Service ${svc}: ${ep.host}:${ep.port}: ${e.code ?? e.message}.`);
}

function sendBodiless(
  pool: UpstreamPool,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  backend: Extract<ResolvedBackend, { ok: true }>,
  head: string,
  attemptsLeft: number,
): void {
  const ep = pickEndpoint(backend);
  let handle: UpstreamRequest | undefined;
  const onDrain = () => handle?.resume();
  handle = pool.request(ep, head, req.method === 'HEAD', {
    onHead(h) {
      try {
        res.writeHead(h.status, h.reason, responseHeaders(h.headers));
      } catch (e) {
        handle?.abort();
        upstreamFailed(res, t, ep, Object.assign(new Error((e as Error).message), { code: 'EPROTO' }));
      }
    },
    // the pool's pieces are views of its read buffer: copies go to the response
    onData(chunk) {
      if (!res.write(Buffer.from(chunk))) {
        handle?.pause();
        res.once('drain', onDrain);
      }
    },
    onEnd(last) {
      res.off('close', onClose);
      // the last piece with end(): the head and a small body leave in one write
      if (last) res.end(Buffer.from(last));
      else res.end();
    },
    onError(e, reused, answered) {
      res.off('close', onClose);
      if (!answered && attemptsLeft > 1 && retryable(e, reused)) return sendBodiless(pool, req, res, t, backend, head, attemptsLeft - 1);
      upstreamFailed(res, t, ep, e);
    },
  });
  const onClose = () => handle?.abort();
  res.on('close', onClose);
}

function send(
  ctx: ProxyContext,
  agent: Agent,
  req: IncomingMessage,
  res: ServerResponse,
  t: Target,
  backend: Extract<ResolvedBackend, { ok: true }>,
  headers: string[],
  hasBody: boolean,
  limit: number,
  attemptsLeft: number,
): void {
  const ep = pickEndpoint(backend);
  const up: ClientRequest = httpRequest({ host: ep.host, port: ep.port, method: req.method, path: t.path, headers, agent });
  let answered = false;
  up.setTimeout(UPSTREAM_TIMEOUT_MS, () => up.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' })));
  up.on('response', (ures) => {
    answered = true;
    res.writeHead(ures.statusCode ?? 502, ures.statusMessage, responseHeaders(ures.rawHeaders));
    ures.pipe(res);
    ures.on('error', () => res.destroy());
  });
  up.on('error', (e: NodeJS.ErrnoException) => {
    if (answered) return void res.destroy();
    if (attemptsLeft > 1 && retryable(e, up.reusedSocket)) return send(ctx, agent, req, res, t, backend, headers, hasBody, limit, attemptsLeft - 1);
    upstreamFailed(res, t, ep, e);
  });
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  if (!hasBody) return void up.end();
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (limit > 0 && seen > limit) {
      req.unpipe(up);
      up.destroy(Object.assign(new Error('request body too large'), { code: 'EBODYTOOLARGE' }));
    }
  });
  req.pipe(up);
}

// ---- upgrades (WebSocket) ----

function headerBlock(statusLine: string, raw: string[]): string {
  let s = statusLine + '\r\n';
  for (let i = 0; i < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return s + '\r\n';
}

/** Passes an Upgrade request through to the endpoint, then splices the two connections. */
export function handleUpgrade(ctx: ProxyContext, scheme: Scheme, listenerPort: number, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const hostHeader = req.headers.host ?? '';
  let d: Decision;
  try {
    d = decide(ctx, req.url ?? '/', scheme, hostHeader);
  } catch (e) {
    ctx.log(`ingress: routing upgrade ${hostHeader}${req.url} failed: ${(e as Error).message}`);
    return rawPage(socket, 500);
  }
  if (d.kind === 'page') {
    if (d.status === 308) {
      socket.end(`HTTP/1.1 308 Permanent Redirect\r\nLocation: ${String(d.headers?.Location)}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    return rawPage(socket, d.status, d.detail);
  }
  const ep = pickEndpoint(d.backend);
  const up = httpRequest({ host: ep.host, port: ep.port, method: req.method, path: d.target.path, headers: forwardedHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', scheme, hostHeader, listenerPort, req.headers.upgrade ?? ''), agent: false });
  up.on('upgrade', (ures, usocket, uhead) => {
    usocket.on('error', () => socket.destroy());
    socket.on('error', () => usocket.destroy());
    socket.write(headerBlock(`HTTP/1.1 ${ures.statusCode ?? 101} ${ures.statusMessage ?? 'Switching Protocols'}`, ures.rawHeaders));
    if (uhead.length) socket.write(uhead);
    if (head.length) usocket.write(head);
    usocket.pipe(socket);
    socket.pipe(usocket);
    usocket.on('close', () => socket.destroy());
    socket.on('close', () => usocket.destroy());
  });
  up.on('response', (ures) => {
    // the endpoint declined the upgrade: relay its answer and close
    socket.write(headerBlock(`HTTP/1.1 ${ures.statusCode ?? 502} ${ures.statusMessage ?? ''}`, [...responseHeaders(ures.rawHeaders), 'Connection', 'close']));
    ures.pipe(socket);
  });
  up.on('error', (e: NodeJS.ErrnoException) => {
    if (socket.destroyed) return;
    rawPage(socket, 502, `Service ${d.target.ref.namespace}/${d.target.ref.service}: ${ep.host}:${ep.port}: ${e.code ?? e.message}.`);
  });
  socket.on('close', () => up.destroy());
  up.end();
}
