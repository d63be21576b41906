// The HTTP face of the API server: routing, decoding, encoding, and the REST verbs over the Registry.
import { createHash } from 'node:crypto';
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { gzip } from 'node:zlib';
import type { DeleteOptions } from 'kubernetes-types/meta/v1.js';
import {
  errBadRequest,
  errInternal,
  errMethodNotAllowed,
  errNotFoundPath,
  errTooLarge,
  errUnauthorized,
  isStatusError,
  StatusError,
} from '../api/errors.js';
import { isPlainObject } from '../api/object.js';
import { applyJSONPatch, applyMergePatch } from '../api/patch.js';
import type { Scheme } from '../api/scheme.js';
import { apiVersionOf, type KindInfo, type KubeObject } from '../api/types.js';
import type { Store } from '../storage/store.js';
import { ANONYMOUS, type Authenticator, presentedCredentials } from './authn.js';
import { aggregatedDiscovery, apiGroupDoc, apiGroupList, apiResourceList, apiVersions } from './discovery.js';
import { managerFromUserAgent } from './fieldmanager.js';
import { customResourceKind } from './crd/kinds.js';
import { addWarnings, checkObjectFields, patchFieldChecker } from './fieldvalidation.js';
import { requestAttributes } from './authz/request-info.js';
import type { Attributes } from './authz/rules.js';
import { bodyFormat, decodeBody, encode, negotiate, type BodyFormat, type Negotiated, type Target } from './negotiate.js';
import { openAPIFor, serveOpenAPI } from './openapi.js';
import { parseResourceVersion, Registry, type Item, type RequestDeleteOptions, type Requester, type UserInfo } from './registry.js';
import { serveSubresource } from './subresources.js';
import type { PodStreamer } from '../api/streaming.js';
import { makeTable, tableRow, type IncludeObject } from './table.js';

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export interface ApiServerOptions {
  store: Store;
  scheme: Scheme;
  version: VersionInfo;
  authenticate: Authenticator;
  /** host:port clients reach us at (for /api's serverAddressByClientCIDRs) */
  serverAddress: string;
  maxBodyBytes?: number;
  /** serve everything to anonymous users (tests over plain HTTP) */
  anonymousIsAdmin?: boolean;
  log?: (line: string) => void;
}

/** Sockets of requests that arrived through handleUpgrade (a streaming handler detaches the response and speaks on the socket). */
export const upgradedSockets = new WeakMap<IncomingMessage, Duplex>();

export const DEFAULT_MAX_BODY = 3 * 1024 * 1024;
const GZIP_MIN = 128 * 1024;
const PUBLIC_PATHS = /^\/(version|healthz|livez|readyz)(\/.*)?$/;
const WATCH_BUFFER_LIMIT = 16 * 1024 * 1024;
const BOOKMARK_INTERVAL_MS = 60_000;

/** Sees every request at each step (audit, flow control); every method is optional. */
export interface RequestFilter {
  /** first, before authentication */
  received?(req: IncomingMessage, res: ServerResponse): void;
  /** the user is known (anonymous on public paths); a thrown StatusError refuses the request (429) */
  authenticated?(req: IncomingMessage, res: ServerResponse, attrs: Attributes): void;
  /** the user the request acts as: not the authenticated one when impersonating */
  authorized?(req: IncomingMessage, acting: UserInfo): void;
  /** the request body, as read */
  body?(req: IncomingMessage, body: Buffer): void;
  /** the Status the request failed with */
  failed?(req: IncomingMessage, err: StatusError): void;
}

/** What a resource URL names. */
export interface ResourceRequest {
  info: KindInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** legacy `/watch/` path prefix */
  watchPath: boolean;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  user: UserInfo;
  query: URLSearchParams;
}

export class ApiServer {
  readonly registry: Registry;
  private readonly opts: ApiServerOptions;
  private readonly maxBody: number;
  private readonly watches = new Set<{ bookmark(): void; close(): void }>();
  private bookmarkTimer?: NodeJS.Timeout;

  constructor(opts: ApiServerOptions) {
    this.opts = opts;
    this.registry = new Registry(opts.store);
    this.maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  }

  get scheme(): Scheme {
    return this.opts.scheme;
  }

  /** Ends every open watch (shutdown). */
  closeWatches(): void {
    for (const w of this.watches) w.close();
    this.watches.clear();
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.bookmarkTimer = undefined;
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.serve(req, res).catch((e) => this.fail(res, e, req));
  };

  /** The server's 'upgrade' listener: the request runs the usual chain; streaming subresources take the socket (upgradedSockets). */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (head.length) socket.unshift(head);
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.on('finish', () => socket.end());
    upgradedSockets.set(req, socket);
    this.handle(req, res);
  };

  private fail(res: ServerResponse, e: unknown, req?: IncomingMessage): void {
    let err: StatusError;
    if (isStatusError(e)) err = e;
    else {
      this.opts.log?.(`internal error on ${req?.method} ${req?.url}: ${(e as Error)?.stack ?? String(e)}`);
      err = errInternal((e as Error)?.message ?? String(e));
    }
    if (req) for (const f of this.filters) f.failed?.(req, err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(err.toStatus());
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    if (err.code === 429 && err.details?.retryAfterSeconds) headers['Retry-After'] = err.details.retryAfterSeconds;
    res.writeHead(err.code, headers);
    res.end(body);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const f of this.filters) f.received?.(req, res);
    const { path, query } = requestTarget(req);
    let user = await this.opts.authenticate(req);
    if (!user) {
      if (presentedCredentials(req)) throw errUnauthorized();
      user = ANONYMOUS;
      if (!PUBLIC_PATHS.test(path) && !this.opts.anonymousIsAdmin) throw errUnauthorized();
    }
    // what the request asks for, once for flow control, authorization and audit
    const attrs = requestAttributes(user, req.method ?? 'GET', path, query);
    for (const f of this.filters) f.authenticated?.(req, res, attrs);
    const ctx: Ctx = { req, res, user, query };

    const readOnly = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/version') {
      if (!readOnly) throw errMethodNotAllowed();
      return this.sendValue(ctx, 200, this.opts.version);
    }
    if (PUBLIC_PATHS.test(path)) return this.sendText(res, 200, 'ok');
    if (this.whenReady) await this.whenReady;
    if (this.authorize) ctx.user = this.authorize(req, attrs);
    for (const f of this.filters) f.authorized?.(req, ctx.user);
    const route = this.routes.get(path);
    if (route) return route(ctx);
    const segs = path.split('/').filter(Boolean).map(decodeSegment);
    // discovery and OpenAPI documents are only read
    if (!readOnly && (segs[0] === 'openapi' || (segs[0] === 'api' && segs.length <= 2) || (segs[0] === 'apis' && segs.length <= 3))) throw errMethodNotAllowed();
    if (path === '/openapi/v2' || path === '/openapi/v3' || path.startsWith('/openapi/v3/'))
      return serveOpenAPI(req, res, path, ctx.query, openAPIFor(this.scheme, this.opts.version.gitVersion));

    if (segs[0] === 'api') {
      if (segs.length === 1) return this.sendDiscovery(ctx, true);
      if (segs[1] !== 'v1') throw errNotFoundPath();
      if (segs.length === 2) return this.sendValue(ctx, 200, apiResourceList(this.scheme, '', 'v1'));
      return this.serveResource(ctx, this.parseResource('', 'v1', segs.slice(2)));
    }
    if (segs[0] === 'apis') {
      if (segs.length === 1) return this.sendDiscovery(ctx, false);
      if (segs.length === 2) {
        const g = apiGroupDoc(this.scheme, segs[1]);
        if (!g) throw errNotFoundPath();
        return this.sendValue(ctx, 200, g);
      }
      if (segs.length === 3) {
        const l = apiResourceList(this.scheme, segs[1], segs[2]);
        if (!l) throw errNotFoundPath();
        return this.sendValue(ctx, 200, l);
      }
      return this.serveResource(ctx, this.parseResource(segs[1], segs[2], segs.slice(3)));
    }
    throw errNotFoundPath();
  }

  private sendDiscovery(ctx: Ctx, legacy: boolean): void {
    const accept = ctx.req.headers.accept ?? '';
    // Aggregated discovery only when asked for with exactly its media type parameters.
    if (/as=APIGroupDiscoveryList/.test(accept) && /g=apidiscovery\.k8s\.io/.test(accept) && /v=v2(?![a-z0-9])/.test(accept)) {
      const body = JSON.stringify(aggregatedDiscovery(this.scheme, legacy));
      const etag = `"${createHash('sha256').update(body).digest('hex').toUpperCase()}"`;
      const headers = { 'Content-Type': 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', Vary: 'Accept', ETag: etag };
      if (ctx.req.headers['if-none-match'] === etag) {
        ctx.res.writeHead(304, headers);
        ctx.res.end();
        return;
      }
      ctx.res.writeHead(200, { ...headers, 'Content-Length': Buffer.byteLength(body) });
      ctx.res.end(body);
      return;
    }
    return this.sendValue(ctx, 200, legacy ? apiVersions(this.opts.serverAddress) : apiGroupList(this.scheme));
  }

  /** Parses the part of a resource URL after `/api/v1` or `/apis/<g>/<v>`. */
  parseResource(group: string, version: string, segs: string[]): ResourceRequest {
    let watchPath = false;
    if (segs[0] === 'watch') {
      watchPath = true;
      segs = segs.slice(1);
    }
    let namespace: string | undefined;
    let rest = segs;
    // `namespaces/<ns>/<resource>...`, but `namespaces/<name>` and `namespaces/<name>/status|finalize` name the Namespace itself
    if (segs[0] === 'namespaces' && segs.length >= 3 && !(segs.length === 3 && (segs[2] === 'status' || segs[2] === 'finalize'))) {
      namespace = segs[1];
      rest = segs.slice(2);
    }
    const [resource, name, subresource, ...extra] = rest;
    if (extra.length) throw errNotFoundPath();
    const info = this.scheme.lookup(group, version, resource);
    if (!info) throw errNotFoundPath();
    if (namespace !== undefined && !info.namespaced) throw errNotFoundPath();
    if (subresource !== undefined && !this.hasSubresource(info, subresource)) throw errNotFoundPath();
    return { info, namespace, name, subresource, watchPath };
  }

  private hasSubresource(info: KindInfo, sub: string): boolean {
    const s = info.subresources;
    if (sub === 'status') return !!s?.status;
    if (sub === 'scale') return !!s?.scale;
    return !!s?.extra?.some((x) => x.name === sub);
  }

  // ---- request bodies ----

  async readBody(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > this.maxBody) {
      req.resume();
      throw errTooLarge(this.maxBody);
    }
    // events rather than `for await`: an async iterator per request costs more than the rest of reading
    const body = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const settle = (e: unknown, b?: Buffer) => {
        req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
        if (e) reject(e);
        else resolve(b!);
      };
      // the client went away mid-body: nothing to answer, nothing went wrong here
      const aborted = (e?: unknown) => settle(req.destroyed || !e ? errBadRequest('the request was aborted before its body arrived') : e);
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxBody) {
          settle(errTooLarge(this.maxBody));
          req.resume();
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = () => settle(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
      const onError = (e: unknown) => aborted(e);
      const onClose = () => aborted();
      if (req.readableEnded) return resolve(Buffer.alloc(0));
      if (req.destroyed) return aborted();
      req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
    });
    for (const f of this.filters) f.body?.(req, body);
    return body;
  }

  /** With `checkFields`, unknown and duplicate fields are handled as the request's fieldValidation says. */
  private async readObject(ctx: Ctx, info: KindInfo, checkFields?: 'CreateOptions' | 'UpdateOptions'): Promise<unknown> {
    const fmt = bodyFormat(ctx.req.headers['content-type']);
    const buf = await this.readBody(ctx.req);
    if (fmt === 'protobuf') return this.decodeProtobuf(buf, info);
    if (fmt !== 'json' && fmt !== 'yaml') throw errBadRequest(`the content type ${ctx.req.headers['content-type']} is only allowed for PATCH`);
    const obj = decodeBody(buf, fmt);
    return checkFields ? checkObjectFields(ctx, info, buf, fmt, obj, checkFields) : obj;
  }

  /** Paths served by installed features (issuer discovery, selfsubjectreviews), after authentication. */
  readonly routes = new Map<string, (ctx: Ctx) => void | Promise<void>>();
  /** Subresources served by installed features, keyed `<group>/<resource>/<subresource>` (e.g. `/serviceaccounts/token`). */
  readonly subresourceHandlers = new Map<string, (ctx: Ctx, r: ResourceRequest, method: string) => Promise<void>>();

  /** exec, attach and port-forward backends of the node agents running in this process, by node name (see streaming/) */
  readonly podStreamers = new Map<string, PodStreamer>();

  /** Resources served by installed features instead of the generic store (access reviews), keyed `<group>/<resource>`. */
  readonly resourceHandlers = new Map<string, (ctx: Ctx, r: ResourceRequest, method: string) => Promise<void>>();
  /** Authorization (src/apiserver/authz): the user the request acts as (impersonation), or throws 403. */
  authorize?: (req: IncomingMessage, attrs: Attributes) => UserInfo;

  /** Filters every request runs through, in order (audit.ts, flowcontrol.ts). */
  readonly filters: RequestFilter[] = [];

  /** Awaited before anything but the public paths is served (e.g. until the kinds of stored CRDs are registered). */
  whenReady?: Promise<void>;

  /** Hook for the protobuf decoder; without one, protobuf bodies are refused with 415. */
  decodeProtobuf: (buf: Buffer, info: KindInfo) => unknown = () => {
    throw new StatusError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml');
  };

  // ---- responses ----

  sendText(res: ServerResponse, code: number, text: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private sendValue(ctx: Ctx, code: number, value: unknown, neg?: Negotiated): void {
    const n = neg ?? negotiate(ctx.req.headers.accept);
    this.sendEncoded(ctx, code, encode(value, n), n);
  }

  private sendEncoded(ctx: Ctx, code: number, body: string, neg: Negotiated): void {
    const { req, res } = ctx;
    const contentType = neg.format === 'yaml' ? 'application/yaml' : 'application/json';
    if (body.length >= GZIP_MIN && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      gzip(body, (err, zipped) => {
        if (err) return this.fail(res, err, req);
        res.writeHead(code, { 'Content-Type': contentType, 'Content-Encoding': 'gzip', 'Content-Length': zipped.length, Vary: 'Accept-Encoding' });
        res.end(zipped);
      });
      return;
    }
    res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** Sends one stored object, converted when the client asked for a Table or metadata only. */
  private sendItem(ctx: Ctx, code: number, info: KindInfo, item: Item, targets: readonly Target[] = ['PartialObjectMetadata']): void {
    const neg = negotiate(ctx.req.headers.accept, targets);
    if (neg.as === 'Table') {
      return this.sendValue(ctx, code, makeTable(info, [item.obj], includeObject(ctx.query), { resourceVersion: item.obj.metadata.resourceVersion }), neg);
    }
    if (neg.as === 'PartialObjectMetadata') return this.sendValue(ctx, code, partial(item.obj), neg);
    if (neg.format === 'json') return this.sendEncoded(ctx, code, item.raw, neg);
    return this.sendValue(ctx, code, item.obj, neg);
  }

  // ---- resources ----

  private async serveResource(ctx: Ctx, r: ResourceRequest): Promise<void> {
    const method = ctx.req.method ?? 'GET';
    const { info } = r;
    // a 406 must come before a write, not after it
    if (method !== 'GET' && method !== 'HEAD') negotiate(ctx.req.headers.accept, ['PartialObjectMetadata']);
    const own = this.resourceHandlers.get(`${info.group}/${info.resource}`);
    if (own) return own(ctx, r, method);
    if (r.subresource) return serveSubresource(this, ctx, r, method);
    const watch = r.watchPath || isTrue(ctx.query.get('watch'));
    if (r.name === undefined) {
      switch (method) {
        case 'GET':
          return watch ? this.watch(ctx, r) : this.list(ctx, r);
        case 'POST':
          return this.create(ctx, r);
        case 'DELETE':
          return this.deleteCollection(ctx, r);
        default:
          throw errMethodNotAllowed();
      }
    }
    switch (method) {
      case 'GET':
        if (watch) {
          // `watch` on a single object is a watch with a name field selector
          const fs = ctx.query.get('fieldSelector');
          ctx.query.set('fieldSelector', [fs, `metadata.name=${r.name}`].filter(Boolean).join(','));
          return this.watch(ctx, { ...r, name: undefined });
        }
        return this.get(ctx, r);
      case 'PUT':
        return this.update(ctx, r);
      case 'PATCH':
        return this.patch(ctx, r);
      case 'DELETE':
        return this.deleteOne(ctx, r);
      case 'POST':
        throw errMethodNotAllowed();
      default:
        throw errMethodNotAllowed();
    }
    void info;
  }

  private async get(ctx: Ctx, r: ResourceRequest): Promise<void> {
    const neg = negotiate(ctx.req.headers.accept, ['Table', 'PartialObjectMetadata']);
    if (neg.format === 'json' && !neg.as) {
      // the hot path: stored bytes go out as they are
      const v = await this.registry.getRaw(r.info, r.namespace, r.name!);
      return this.sendEncoded(ctx, 200, v.value, neg);
    }
    const item = await this.registry.get(r.info, r.namespace, r.name!);
    return this.sendItem(ctx, 200, r.info, item, ['Table', 'PartialObjectMetadata']);
  }

  private async list(ctx: Ctx, r: ResourceRequest): Promise<void> {
    const q = ctx.query;
    const neg = negotiate(ctx.req.headers.accept, ['Table', 'PartialObjectMetadataList']);
    const limitStr = q.get('limit');
    const limit = limitStr ? Number(limitStr) : undefined;
    if (limitStr && (!Number.isSafeInteger(limit) || limit! < 0)) throw errBadRequest(`invalid limit: ${limitStr}`);
    const out = await this.registry.list(r.info, r.namespace, {
      labelSelector: q.get('labelSelector') ?? undefined,
      fieldSelector: q.get('fieldSelector') ?? undefined,
      limit,
      continue: q.get('continue') ?? undefined,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
    });
    const listMeta: Record<string, unknown> = { resourceVersion: out.resourceVersion };
    if (out.continue) listMeta.continue = out.continue;
    if (out.remainingItemCount !== undefined) listMeta.remainingItemCount = out.remainingItemCount;
    if (neg.as === 'Table')
      return this.sendValue(ctx, 200, makeTable(r.info, out.items.map((i) => i.obj), includeObject(q), listMeta), neg);
    if (neg.as === 'PartialObjectMetadataList')
      return this.sendValue(ctx, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: out.items.map((i) => partial(i.obj)) }, neg);
    const head = { kind: `${r.info.kind}List`, apiVersion: apiVersionOf(r.info), metadata: listMeta };
    if (neg.format === 'json') {
      // splice the stored JSON of each item into the list without re-encoding it
      const body = `${JSON.stringify(head).slice(0, -1)},"items":[${out.items.map((i) => i.raw).join(',')}]}`;
      return this.sendEncoded(ctx, 200, body, neg);
    }
    return this.sendValue(ctx, 200, { ...head, items: out.items.map((i) => i.obj) }, neg);
  }

  private writeOptions(ctx: Ctx) {
    const dryRun = ctx.query.getAll('dryRun');
    for (const d of dryRun) if (d !== 'All') throw errBadRequest(`dryRun: Unsupported value: "${d}": supported values: "All"`);
    return { dryRun: dryRun.length > 0, fieldManager: ctx.query.get('fieldManager') || managerFromUserAgent(ctx.req.headers['user-agent']), ...requester(ctx) };
  }

  private async create(ctx: Ctx, r: ResourceRequest): Promise<void> {
    const opts = this.writeOptions(ctx);
    const body = await this.readObject(ctx, r.info, 'CreateOptions');
    const item = await this.registry.create(r.info, r.namespace, body, opts);
    this.sendItem(ctx, 201, r.info, item);
  }

  private async update(ctx: Ctx, r: ResourceRequest, subresource?: string): Promise<void> {
    const opts = this.writeOptions(ctx);
    const body = await this.readObject(ctx, r.info, 'UpdateOptions');
    const { item, created } = await this.registry.update(r.info, r.namespace, r.name!, body, { ...opts, subresource });
    this.sendItem(ctx, created ? 201 : 200, r.info, item);
  }

  /** PATCH of the object or of its status subresource. */
  async patch(ctx: Ctx, r: ResourceRequest, subresource?: string): Promise<void> {
    const opts = this.writeOptions(ctx);
    const fmt = bodyFormat(ctx.req.headers['content-type']);
    const buf = await this.readBody(ctx.req);
    const patchDoc = this.decodePatch(buf, fmt);
    if (fmt === 'strategic-merge-patch' && customResourceKind(r.info))
      throw new StatusError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
    const fields = patchFieldChecker(ctx, r.info, buf, fmt, patchDoc, { namespace: r.namespace, name: r.name! });
    const force = isTrue(ctx.query.get('force'));
    // apply needs the manager the client named; other writes fall back to the User-Agent's
    const applier = { fieldManager: ctx.query.get('fieldManager') ?? '', subresource };
    const mutate = (current: KubeObject | undefined): KubeObject => {
      if (!current) {
        if (fmt !== 'apply-patch') throw errInternal('unreachable');
        return fields.result(undefined, this.applyPatch(r.info, undefined, patchDoc, fmt, force, applier)) as KubeObject;
      }
      const out = fields.result(current, this.applyPatch(r.info, current, patchDoc, fmt, force, applier));
      if (!isPlainObject(out)) throw errBadRequest('the patch produced something that is not an object');
      return out as KubeObject;
    };
    const applyCreates = fmt === 'apply-patch' && !subresource;
    const writeOpts = { ...opts, subresource, allowCreate: applyCreates, ...(fmt === 'apply-patch' ? { operation: 'Apply' as const } : {}) };
    let result: { item: Item; created: boolean };
    try {
      result = await this.registry.guaranteedUpdate(r.info, r.namespace, r.name!, mutate, writeOpts);
    } catch (e) {
      // apply creates an absent object whatever the kind says about create-on-update
      if (!(applyCreates && !r.info.allowCreateOnUpdate && isStatusError(e) && e.code === 404 && e.details?.kind === r.info.resource && e.details.name === r.name)) throw e;
      const desired = mutate(undefined);
      const m = (desired.metadata ??= {});
      if (m.name !== undefined && m.name !== r.name) throw errBadRequest(`the name of the object (${m.name}) does not match the name on the URL (${r.name})`);
      m.name = r.name;
      delete m.resourceVersion;
      result = { item: await this.registry.create(r.info, r.namespace, desired, writeOpts), created: true };
    }
    this.sendItem(ctx, result.created ? 201 : 200, r.info, result.item);
  }

  private decodePatch(buf: Buffer, fmt: BodyFormat): unknown {
    switch (fmt) {
      case 'merge-patch':
      case 'json-patch':
      case 'strategic-merge-patch':
        return decodeBody(buf, 'json');
      case 'apply-patch':
        return decodeBody(buf, 'yaml');
      case 'json':
      case 'yaml':
      case 'protobuf':
        throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
    }
  }

  /** Hooks for the strategic merge and server-side apply engines. */
  strategicMerge: (info: KindInfo, current: KubeObject, patch: unknown) => unknown = (_info, current, patch) => applyMergePatch(current, patch);
  serverSideApply: (info: KindInfo, current: KubeObject | undefined, applied: unknown, force: boolean, manager: string, subresource?: string) => unknown = (
    _info,
    current,
    applied,
  ) => applyMergePatch(current ?? {}, applied);

  private applyPatch(
    info: KindInfo,
    current: KubeObject | undefined,
    patch: unknown,
    fmt: BodyFormat,
    force: boolean,
    applier: { fieldManager: string; subresource?: string },
  ): unknown {
    switch (fmt) {
      case 'merge-patch':
        if (!isPlainObject(patch)) throw errBadRequest('a merge patch must be a JSON object');
        return applyMergePatch(current, patch);
      case 'json-patch':
        return applyJSONPatch(current, patch);
      case 'strategic-merge-patch':
        if (!isPlainObject(patch)) throw errBadRequest('a strategic merge patch must be a JSON object');
        return this.strategicMerge(info, current!, patch);
      case 'apply-patch':
        if (!isPlainObject(patch)) throw errBadRequest('an apply patch must be an object');
        return this.serverSideApply(info, current, patch, force, applier.fieldManager, applier.subresource);
      default:
        throw errBadRequest('unsupported patch type');
    }
  }

  private deleteOptions(ctx: Ctx, body: unknown): RequestDeleteOptions {
    const o: DeleteOptions = isPlainObject(body) ? { ...(body as DeleteOptions) } : {};
    const q = ctx.query;
    const gp = q.get('gracePeriodSeconds');
    if (gp !== null) {
      if (!/^-?[0-9]+$/.test(gp)) throw errBadRequest(`invalid gracePeriodSeconds: ${gp}`);
      o.gracePeriodSeconds = Number(gp);
    }
    const pp = q.get('propagationPolicy');
    if (pp) o.propagationPolicy = pp;
    if (o.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(o.propagationPolicy))
      throw errBadRequest(`propagationPolicy: Unsupported value: "${o.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`);
    const dry = (Array.isArray(o.dryRun) ? o.dryRun : []).concat(q.getAll('dryRun'));
    for (const d of dry) if (d !== 'All') throw errBadRequest(`dryRun: Unsupported value: "${d}": supported values: "All"`);
    const { dryRun: _d, ...rest } = o;
    return { ...rest, dryRun: dry.length > 0, ...requester(ctx) };
  }

  private async readDeleteBody(ctx: Ctx): Promise<unknown> {
    const buf = await this.readBody(ctx.req);
    if (buf.length === 0) return undefined;
    const fmt = bodyFormat(ctx.req.headers['content-type']);
    if (fmt === 'protobuf') return undefined;
    const body = decodeBody(buf, fmt === 'yaml' ? 'yaml' : 'json');
    if (body !== null && !isPlainObject(body)) throw errBadRequest('the body of the request is not a DeleteOptions object');
    return body;
  }

  private async deleteOne(ctx: Ctx, r: ResourceRequest): Promise<void> {
    const opts = this.deleteOptions(ctx, await this.readDeleteBody(ctx));
    const { item, deleted } = await this.registry.delete(r.info, r.namespace, r.name!, opts);
    if (deleted && !r.info.returnDeletedObject) {
      return this.sendValue(ctx, 200, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name: r.name, group: r.info.group || undefined, kind: r.info.resource, uid: item.obj.metadata.uid },
      });
    }
    this.sendItem(ctx, 200, r.info, item);
  }

  private async deleteCollection(ctx: Ctx, r: ResourceRequest): Promise<void> {
    const opts = this.deleteOptions(ctx, await this.readDeleteBody(ctx));
    const items = await this.registry.deleteCollection(
      r.info,
      r.namespace,
      { labelSelector: ctx.query.get('labelSelector') ?? undefined, fieldSelector: ctx.query.get('fieldSelector') ?? undefined },
      opts,
    );
    const head = { kind: `${r.info.kind}List`, apiVersion: apiVersionOf(r.info), metadata: { resourceVersion: String(this.opts.store.currentRevision()) } };
    this.sendValue(ctx, 200, { ...head, items: items.map((i) => i.obj) });
  }

  // ---- watch ----

  private async watch(ctx: Ctx, r: ResourceRequest): Promise<void> {
    const { req, res, query: q } = ctx;
    const neg = negotiate(req.headers.accept, ['Table', 'PartialObjectMetadata']);
    const include = includeObject(q);
    const bookmarks = isTrue(q.get('allowWatchBookmarks'));
    const timeoutStr = q.get('timeoutSeconds');
    let timeoutSec = timeoutStr !== null ? Number(timeoutStr) : 1800 + Math.floor(Math.random() * 1800);
    if (!Number.isFinite(timeoutSec) || timeoutSec < 0) throw errBadRequest(`invalid timeoutSeconds: ${timeoutStr}`);
    if (timeoutSec === 0) timeoutSec = 1800;
    const sendInitial = q.get('sendInitialEvents');
    let closed = false;
    let firstTable = true;
    const info = r.info;

    const encodeEvent = (type: string, item: Item): string => {
      if (neg.as === 'Table') {
        const t = makeTable(info, [item.obj], include, { resourceVersion: item.obj.metadata.resourceVersion }, firstTable);
        firstTable = false;
        return JSON.stringify({ type, object: t });
      }
      if (neg.as === 'PartialObjectMetadata') return metadataEventLine(type, item);
      return plainEventLine(type, item);
    };
    const sink = inProcessLineSink(req);
    const write = (line: string) => {
      if (closed) return;
      if (sink) {
        if (sink.backlog > WATCH_BUFFER_LIMIT) close();
        else sink.push(line);
        return;
      }
      if (res.writableLength > WATCH_BUFFER_LIMIT) {
        // a watcher that cannot keep up is cut off; it relists and resumes
        close();
        return;
      }
      res.write(line + '\n');
    };
    const handle = {
      bookmark: () => {
        if (!bookmarks || closed) return;
        const rv = String(this.opts.store.currentRevision());
        write(JSON.stringify({ type: 'BOOKMARK', object: { kind: info.kind, apiVersion: apiVersionOf(info), metadata: { resourceVersion: rv } } }));
      },
      close: () => close(),
    };
    let watcher: { stop(): void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      watcher?.stop();
      if (timer) clearTimeout(timer);
      this.watches.delete(handle);
      res.end();
    };
    res.on('close', close);

    const startWatch = () =>
      this.registry.watch(
        info,
        r.namespace,
        {
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          sendInitialEvents: sendInitial === null ? undefined : isTrue(sendInitial),
        },
        (type, item) => {
          write(encodeEvent(type, item));
        },
        (rv) => {
          if (isTrue(sendInitial) && bookmarks) {
            write(
              JSON.stringify({
                type: 'BOOKMARK',
                object: { kind: info.kind, apiVersion: apiVersionOf(info), metadata: { resourceVersion: String(rv), annotations: { 'k8s.io/initial-events-end': 'true' } } },
              }),
            );
          }
        },
      );
    // bad selectors and resourceVersions are refused before the stream starts
    this.registry.checkSelectors(info, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined);
    parseResourceVersion(q.get('resourceVersion') ?? undefined);
    res.writeHead(200, { 'Content-Type': neg.format === 'yaml' ? 'application/yaml' : 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    try {
      watcher = await startWatch();
    } catch (e) {
      // errors after the 200 went out travel as an ERROR event, as upstream does
      const status = isStatusError(e) ? e.toStatus() : errInternal((e as Error).message).toStatus();
      write(JSON.stringify({ type: 'ERROR', object: status }));
      close();
      return;
    }
    if (closed) {
      watcher.stop();
      return;
    }
    this.watches.add(handle);
    if (bookmarks && !this.bookmarkTimer) {
      this.bookmarkTimer = setInterval(() => {
        for (const w of this.watches) w.bookmark();
      }, BOOKMARK_INTERVAL_MS);
      this.bookmarkTimer.unref();
    }
    timer = setTimeout(() => {
      handle.bookmark();
      close();
    }, timeoutSec * 1000);
    timer.unref();
  }

  // exposed for subresource handlers
  readonly internals = {
    sendItem: (ctx: Ctx, code: number, info: KindInfo, item: Item) => this.sendItem(ctx, code, info, item),
    sendValue: (ctx: Ctx, code: number, value: unknown) => this.sendValue(ctx, code, value),
    readObject: (ctx: Ctx, info: KindInfo) => this.readObject(ctx, info),
    update: (ctx: Ctx, r: ResourceRequest, sub: string) => this.update(ctx, r, sub),
    patch: (ctx: Ctx, r: ResourceRequest, sub: string) => this.patch(ctx, r, sub),
    writeOptions: (ctx: Ctx) => this.writeOptions(ctx),
    readBody: (ctx: Ctx) => this.readBody(ctx.req),
  };
}

export type { Ctx };

/**
 * The queue an in-process client named for this watch's lines (client/transport.ts LineQueue): the lines
 * skip HTTP chunking and the client's re-splitting. Only in-process sockets carry the sinks.
 */
const IN_PROCESS_LINE_SINKS = Symbol.for('timonel.inProcessLineSinks');
interface LineSink {
  push(line: string): void;
  readonly backlog: number;
}
function inProcessLineSink(req: IncomingMessage): LineSink | undefined {
  const token = req.headers['x-timonel-line-sink'];
  if (typeof token !== 'string') return undefined;
  const sinks = (req.socket as unknown as Record<symbol, { claim(token: string): LineSink | undefined } | undefined>)[IN_PROCESS_LINE_SINKS];
  return sinks?.claim(token);
}

/** The JSON line of a watch event, built once per event and type however many watchers forward it. */
const eventLines = new WeakMap<Item, Map<string, string>>();
function plainEventLine(type: string, item: Item): string {
  let byType = eventLines.get(item);
  if (!byType) eventLines.set(item, (byType = new Map()));
  let line = byType.get(type);
  if (line === undefined) byType.set(type, (line = `{"type":"${type}","object":${item.raw}}`));
  return line;
}

/** The PartialObjectMetadata line of a watch event (metadata-only informers), also built once per event and type. */
function metadataEventLine(type: string, item: Item): string {
  let byType = eventLines.get(item);
  if (!byType) eventLines.set(item, (byType = new Map()));
  const key = `PartialObjectMetadata/${type}`;
  let line = byType.get(key);
  if (line === undefined) byType.set(key, (line = JSON.stringify({ type, object: partial(item.obj) })));
  return line;
}

/**
 * The request's URL. Dot segments (`..`, `%2e%2e`) are refused rather than resolved, which would turn
 * a request about one object into one about its collection.
 */
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i;

/** The request's path (no trailing slash) and query; the path stays percent-encoded (segments are decoded one by one). */
function requestTarget(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const raw = req.url ?? '/';
  const end = raw.indexOf('#');
  const target = end < 0 ? raw : raw.slice(0, end);
  const q = target.indexOf('?');
  let path = q < 0 ? target : target.slice(0, q);
  if (path[0] !== '/' || DOT_SEGMENT.test(path)) throw errBadRequest(`invalid request path ${JSON.stringify(path.slice(0, 200))}`);
  if (path.length > 1 && path.endsWith('/')) path = path.replace(/\/+$/, '') || '/';
  return { path, query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)) };
}

/** Admission's view of who is asking; warnings become `Warning` headers while the response has not started. */
const requester = (ctx: Ctx): Requester => ({ user: ctx.user, warn: (text) => !ctx.res.headersSent && addWarnings(ctx.res, [text]) });

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw errBadRequest(`invalid URL escape in ${JSON.stringify(s.slice(0, 200))}`);
  }
}

function isTrue(v: string | null): boolean {
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  if (v === 'None' || v === 'Object' || v === 'Metadata') return v;
  if (v) throw errBadRequest(`includeObject: Unsupported value: "${v}": supported values: "None", "Metadata", "Object"`);
  return 'Metadata';
}

function partial(obj: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export { tableRow };
