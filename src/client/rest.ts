// A typed REST client over a Transport: CRUD, patch, watch and discovery for any resource.
import type { APIGroupList, APIResource, APIResourceList, DeleteOptions, ListMeta, ObjectMeta, Status } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../api/types.js';
import type { Transport, TransportRequest } from './transport.js';

/** What the client needs of an object: kubernetes-types kinds and KubeObject both fit. */
export interface MetaObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** Names a resource the way a URL does. */
export interface ResourceRef {
  /** '' for the core group */
  group: string;
  version: string;
  /** plural, lower case */
  resource: string;
  namespaced: boolean;
}

export function apiVersionOfRef(ref: { group: string; version: string }): string {
  return ref.group ? `${ref.group}/${ref.version}` : ref.version;
}

/** A non-2xx answer, with the Status the server sent (or one made from the HTTP status). */
export class ClientStatusError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(readonly status: Status) {
    super(status.message || `the server responded with ${status.code ?? 'an error'}`);
    this.name = 'ClientStatusError';
    this.code = status.code ?? 0;
    this.reason = status.reason ?? '';
  }
}

const codeOf = (e: unknown) => (e instanceof ClientStatusError ? e.code : undefined);
export const isNotFound = (e: unknown) => codeOf(e) === 404;
export const isConflict = (e: unknown) => codeOf(e) === 409 && (e as ClientStatusError).reason !== 'AlreadyExists';
export const isAlreadyExists = (e: unknown) => codeOf(e) === 409 && (e as ClientStatusError).reason === 'AlreadyExists';
export const isGone = (e: unknown) => codeOf(e) === 410;
export const isMethodNotSupported = (e: unknown) => codeOf(e) === 405;
export const isForbidden = (e: unknown) => codeOf(e) === 403;

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The Status in an error body, or one made up from the HTTP status and the body text. */
export function statusFromResponse(code: number, body: string): Status {
  try {
    const parsed = JSON.parse(body) as Status;
    if (parsed && parsed.kind === 'Status') return { ...parsed, code: parsed.code ?? code };
  } catch {
    // not JSON: fall through
  }
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    code,
    reason: REASONS[code] ?? 'Unknown',
    message: body.trim() || `the server responded with HTTP ${code}`,
  };
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface PatchOptions extends WriteOptions {
  subresource?: string;
  /** server-side apply: take ownership of conflicting fields */
  force?: boolean;
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: ListMeta;
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T } | { type: 'ERROR'; object: Status };

export interface Watch<T> {
  events: AsyncIterable<WatchEvent<T>>;
  close(): void;
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** `/api/v1[/namespaces/<ns>]/<resource>[/<name>[/<sub>]]` */
export function resourcePath(ref: ResourceRef, namespace: string | undefined, name?: string, subresource?: string): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  let p = base;
  if (ref.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${ref.resource}`;
  if (name !== undefined) {
    if (!name) throw new Error(`a ${ref.resource} name must not be empty`);
    p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
  }
  return p;
}

/** A resource discovered on the server, with the group version it is served at. */
export interface DiscoveredResource extends ResourceRef {
  kind: string;
  verbs: string[];
}

export interface ServerResources {
  resources: DiscoveredResource[];
  /** group versions whose discovery failed (what succeeded is still in `resources`) */
  failed: Map<string, Error>;
}

export class RestClient {
  constructor(
    readonly transport: Transport,
    private readonly defaults: { fieldManager?: string } = {},
  ) {}

  /** Sends one request; JSON in, parsed JSON out; a non-2xx answer throws ClientStatusError. */
  /** `discard`: a 2xx answer's body is not read (the result is undefined). */
  async call<R>(method: string, path: string, body?: unknown, contentType = 'application/json', accept = 'application/json', discard = false): Promise<R> {
    const req: TransportRequest = { method, path, headers: { Accept: accept } };
    if (body !== undefined) {
      req.body = typeof body === 'string' ? body : JSON.stringify(body);
      req.headers!['Content-Type'] = contentType;
    }
    const res = await this.transport.request(req);
    const ok = res.status >= 200 && res.status <= 299;
    if (ok && discard) return undefined as R;
    const text = res.body.toString('utf8');
    if (!ok) throw new ClientStatusError(statusFromResponse(res.status, text));
    if (!text) return undefined as R;
    try {
      return JSON.parse(text) as R;
    } catch {
      throw new Error(`${method} ${path}: the server sent a body that is not JSON`);
    }
  }

  resource<T extends MetaObject = KubeObject>(ref: ResourceRef, namespace?: string): ResourceClient<T> {
    return new ResourceClient<T>(this, ref, namespace, this.defaults.fieldManager);
  }

  /**
   * Every resource the server serves, walking /api, /api/v1, /apis and /apis/<g>/<v>.
   * `preferredOnly`: one version per group (its preferred one), as controllers that act on
   * every resource want. Subresources are left out.
   */
  async serverResources(opts: { preferredOnly?: boolean } = {}): Promise<ServerResources> {
    const out: ServerResources = { resources: [], failed: new Map() };
    const gvs: { group: string; version: string }[] = [];
    const core = await this.call<{ versions?: string[] }>('GET', '/api');
    for (const v of core.versions ?? []) {
      gvs.push({ group: '', version: v });
      if (opts.preferredOnly) break;
    }
    const groups = await this.call<APIGroupList>('GET', '/apis');
    for (const g of groups.groups ?? []) {
      const versions = opts.preferredOnly && g.preferredVersion ? [g.preferredVersion] : g.versions;
      for (const v of versions) gvs.push({ group: g.name, version: v.version });
    }
    await Promise.all(
      gvs.map(async (gv) => {
        const path = gv.group ? `/apis/${gv.group}/${gv.version}` : `/api/${gv.version}`;
        try {
          const list = await this.call<APIResourceList>('GET', path);
          for (const r of list.resources ?? []) {
            if (r.name.includes('/')) continue;
            out.resources.push(discovered(gv, r));
          }
        } catch (e) {
          out.failed.set(apiVersionOfRef(gv), e as Error);
        }
      }),
    );
    return out;
  }
}

function discovered(gv: { group: string; version: string }, r: APIResource): DiscoveredResource {
  return { group: gv.group, version: gv.version, resource: r.name, namespaced: r.namespaced, kind: r.kind, verbs: [...(r.verbs ?? [])] };
}

/** Operations on one resource, optionally bound to a namespace (unbound = all namespaces for list/watch). */
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_OBJECT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export class ResourceClient<T extends MetaObject = KubeObject> {
  constructor(
    private readonly rest: RestClient,
    readonly ref: ResourceRef,
    readonly ns: string | undefined,
    private readonly fieldManager?: string,
    /** lists and watches ask for PartialObjectMetadata (upstream's metadata client): objects without spec or data */
    readonly metadataOnly = false,
  ) {}

  namespace(ns: string | undefined): ResourceClient<T> {
    return new ResourceClient<T>(this.rest, this.ref, ns, this.fieldManager, this.metadataOnly);
  }

  /** The same resource, listed and watched as PartialObjectMetadata. */
  metadata(): ResourceClient<MetaObject> {
    return new ResourceClient<MetaObject>(this.rest, this.ref, this.ns, this.fieldManager, true);
  }

  private path(name?: string, sub?: string, ns = this.ns): string {
    if (this.ref.namespaced && name !== undefined && !ns) throw new Error(`${this.ref.resource} "${name}": a namespace is required`);
    return resourcePath(this.ref, ns, name, sub);
  }

  private writeQuery(o: WriteOptions = {}): string {
    return query({ dryRun: o.dryRun ? 'All' : undefined, fieldManager: o.fieldManager ?? this.fieldManager });
  }

  private nsOf(obj: MetaObject): string | undefined {
    return this.ns ?? obj.metadata?.namespace;
  }

  private nameOf(obj: MetaObject): string {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`${this.ref.resource}: the object has no metadata.name`);
    return name;
  }

  get(name: string): Promise<T> {
    return this.rest.call<T>('GET', this.path(name));
  }

  list(opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.rest.call<ObjectList<T>>('GET', this.path() + query({ ...opts }), undefined, undefined, this.metadataOnly ? METADATA_LIST : undefined);
  }

  /** Every page of a list, following `continue`. */
  async listAll(opts: Omit<ListOptions, 'continue'> & { limit?: number } = {}): Promise<ObjectList<T>> {
    const limit = opts.limit ?? 500;
    let page = await this.list({ ...opts, limit });
    const items = [...(page.items ?? [])];
    const first = page;
    while (page.metadata?.continue) {
      page = await this.list({ labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit, continue: page.metadata.continue });
      items.push(...(page.items ?? []));
    }
    return { apiVersion: first.apiVersion, kind: first.kind, metadata: { resourceVersion: first.metadata?.resourceVersion }, items };
  }

  create(obj: T, opts?: WriteOptions): Promise<T> {
    const ns = this.nsOf(obj);
    if (this.ref.namespaced && !ns) throw new Error(`${this.ref.resource}: a namespace is required`);
    return this.rest.call<T>('POST', resourcePath(this.ref, ns) + this.writeQuery(opts), obj);
  }

  update(obj: T, opts?: WriteOptions): Promise<T> {
    return this.rest.call<T>('PUT', this.path(this.nameOf(obj), undefined, this.nsOf(obj)) + this.writeQuery(opts), obj);
  }

  updateStatus(obj: T, opts?: WriteOptions): Promise<T> {
    return this.updateSubresource('status', obj, opts);
  }

  /** PUT to a subresource (`status`, `finalize`, `scale`…). */
  updateSubresource<R = T>(subresource: string, obj: MetaObject, opts?: WriteOptions): Promise<R> {
    return this.rest.call<R>('PUT', this.path(this.nameOf(obj), subresource, this.nsOf(obj)) + this.writeQuery(opts), obj);
  }

  /** POST to a subresource (`binding`, `eviction`…). */
  createSubresource<R = unknown>(name: string, subresource: string, body: unknown, opts?: WriteOptions): Promise<R> {
    return this.rest.call<R>('POST', this.path(name, subresource) + this.writeQuery(opts), body);
  }

  patch(name: string, type: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<T> {
    return this.sendPatch<T>(name, type, patch, opts, false);
  }

  /** A patch whose caller does not read the result (a heartbeat, a status report): the answer is checked, not parsed. */
  async patchOnly(name: string, type: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<void> {
    await this.sendPatch<undefined>(name, type, patch, opts, true);
  }

  private sendPatch<R>(name: string, type: PatchType, patch: unknown, opts: PatchOptions, discard: boolean): Promise<R> {
    const q = query({
      dryRun: opts.dryRun ? 'All' : undefined,
      fieldManager: opts.fieldManager ?? this.fieldManager,
      force: opts.force ? 'true' : undefined,
    });
    const body = typeof patch === 'string' ? patch : JSON.stringify(patch);
    return this.rest.call<R>('PATCH', this.path(name, opts.subresource) + q, body, PATCH_CONTENT_TYPES[type], undefined, discard);
  }

  /** DELETE: the object as it is now (being deleted) or the server's success Status when it is gone. */
  delete(name: string, opts: DeleteOptions = {}): Promise<T | Status> {
    return this.rest.call<T | Status>('DELETE', this.path(name), deleteBody(opts));
  }

  deleteCollection(opts: ListOptions & DeleteOptions = {}): Promise<ObjectList<T>> {
    const { labelSelector, fieldSelector, ...del } = opts;
    return this.rest.call<ObjectList<T>>('DELETE', this.path() + query({ labelSelector, fieldSelector }), deleteBody(del));
  }

  async watch(opts: WatchOptions = {}): Promise<Watch<T>> {
    const path =
      this.path() +
      query({
        watch: 'true',
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: opts.allowWatchBookmarks ? 'true' : undefined,
        sendInitialEvents: opts.sendInitialEvents === undefined ? undefined : String(opts.sendInitialEvents),
        timeoutSeconds: opts.timeoutSeconds,
      });
    const s = await this.rest.transport.stream({ method: 'GET', path, headers: { Accept: this.metadataOnly ? METADATA_OBJECT : 'application/json' } });
    if (s.status < 200 || s.status > 299) {
      const lines: string[] = [];
      for await (const l of s.lines) lines.push(l);
      throw new ClientStatusError(statusFromResponse(s.status, lines.join('\n')));
    }
    return { events: parseEvents<T>(s.lines, path), close: () => s.close() };
  }
}

function deleteBody(opts: DeleteOptions & ListOptions): DeleteOptions | undefined {
  const { labelSelector: _l, fieldSelector: _f, limit: _li, continue: _c, resourceVersion: _r, resourceVersionMatch: _m, ...rest } = opts;
  if (!Object.keys(rest).length) return undefined;
  return { apiVersion: 'v1', kind: 'DeleteOptions', ...rest };
}

const EVENT_TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

async function* parseEvents<T>(lines: AsyncIterable<string>, path: string): AsyncGenerator<WatchEvent<T>> {
  for await (const line of lines) {
    let ev: { type?: unknown; object?: unknown };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      throw new Error(`watch ${path}: a line that is not JSON: ${line.slice(0, 200)}`);
    }
    if (!ev || typeof ev.type !== 'string' || !EVENT_TYPES.has(ev.type) || !ev.object || typeof ev.object !== 'object')
      throw new Error(`watch ${path}: not a watch event: ${line.slice(0, 200)}`);
    yield ev as WatchEvent<T>;
  }
}
