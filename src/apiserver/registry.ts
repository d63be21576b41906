// The generic REST store: every kind is created, read, listed, updated, patched, deleted and watched
// by this one piece of code; what differs per kind comes from its KindInfo strategy.
import type { DeleteOptions } from 'kubernetes-types/meta/v1.js';
import {
  errAlreadyExists,
  errBadRequest,
  errConflict,
  errGone,
  errInvalid,
  errNotFound,
  errTimeout,
  type FieldError,
  OBJECT_MODIFIED,
  StatusError,
} from '../api/errors.js';
import { fieldsMatch, parseFieldSelector, type FieldRequirement } from '../api/fields.js';
import { labelsMatch, parseLabelSelector, type LabelRequirement } from '../api/labels.js';
import { generateName, newUID, nowRFC3339 } from '../api/names.js';
import { deepClone, deepEqual, isPlainObject } from '../api/object.js';
import { apiVersionOf, type KindInfo, type KubeObject, type StoredKubeObject } from '../api/types.js';
import { nameIsDNSSubdomain, validateObjectMeta } from '../api/validation.js';
import { lentObjects, StorageError, type Store, type StoredValue, type StoreEvent, type Watcher } from '../storage/store.js';
import { ConvertingStore } from './converting-store.js';
import { listPrefix, objectKey } from './keys.js';

export interface UserInfo {
  username: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

/** Who asks for a write, for admission; writes the server makes itself have no requester. */
export interface Requester {
  /** the user the request acts as */
  user?: UserInfo;
  /** adds a `Warning` header to the response */
  warn?: (text: string) => void;
}

/** DeleteOptions as the registry takes them: dryRun already checked and reduced to a flag. */
export type RequestDeleteOptions = Omit<DeleteOptions, 'dryRun'> & { dryRun?: boolean } & Requester;

export interface WriteOptions extends Requester {
  dryRun?: boolean;
  fieldManager?: string;
  /** 'Apply' for server-side apply; every other write is an 'Update' */
  operation?: 'Apply' | 'Update';
}

/** Keeps metadata.managedFields: called with the object about to be stored (old is undefined on create). */
export type ManagedFieldsTracker = (
  info: KindInfo,
  obj: KubeObject,
  old: KubeObject | undefined,
  ctx: { manager?: string; operation: 'Apply' | 'Update'; subresource?: string },
) => void;

/** One object as read from or written to storage: the parsed form and the exact stored text. */
export interface Item {
  obj: StoredKubeObject;
  raw: string;
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListOutcome {
  items: Item[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WatchQuery {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  sendInitialEvents?: boolean;
}

export type WatchEmit = (type: 'ADDED' | 'MODIFIED' | 'DELETED', item: Item) => void;

/** What admission may know of the request beyond the object: a dry run persists nothing (no quota charge). */
export interface AdmissionContext extends Requester {
  dryRun?: boolean;
  subresource?: string;
}

/** Operation-time checks that need more than the object itself (namespace lifecycle, allocators, quota…). */
export interface AdmissionPlugin {
  name: string;
  /** may mutate obj; throw a StatusError to refuse */
  admit?(op: 'create' | 'update' | 'delete', info: KindInfo, obj: KubeObject, old: KubeObject | undefined, reg: Registry, ctx?: AdmissionContext): Promise<void> | void;
  /** the write after a successful admit did not happen (failed, or dry run): undo reservations */
  rollback?(op: 'create' | 'update' | 'delete', info: KindInfo, obj: KubeObject, old: KubeObject | undefined): void;
  /** after a successful (non dry-run) write */
  committed?(op: 'create' | 'update' | 'delete', info: KindInfo, obj: KubeObject, old: KubeObject | undefined, reg: Registry): Promise<void> | void;
}

const gr = (info: KindInfo) => ({ group: info.group, resource: info.resource });

function parseItem(v: StoredValue): Item {
  return { obj: JSON.parse(v.value) as StoredKubeObject, raw: v.value };
}

/** An Item whose JSON is parsed on first use: a plain JSON list forwards the stored text untouched. */
function lazyItem(v: StoredValue): Item {
  let obj: StoredKubeObject | undefined;
  return {
    raw: v.value,
    get obj() {
      return (obj ??= JSON.parse(v.value) as StoredKubeObject);
    },
  };
}

/**
 * One Item per store event, shared by every watcher of it: the JSON is parsed at most once per delivery, and
 * only when a watcher needs the object (selectors, Table, metadata-only watchers), not for plain JSON watchers
 * that forward the stored text. The parsed object is let go once the event has been delivered: the store's
 * watch window keeps thousands of events, and a new watcher replaying one can parse it again.
 */
const eventItems = new WeakMap<StoreEvent, Item>();

/**
 * The object a write lent with its event (see publishLending), while it is being delivered; undefined after,
 * or when it was not lent. With TIMONEL_CHECK_LENT=1 (tests) a lent object is checked against the event's
 * JSON, and one that differs (somebody changed it) is reported on stderr and not used.
 */
function lent(ev: StoreEvent, which: 'value' | 'prev'): StoredKubeObject | undefined {
  const o = lentObjects(ev)?.[which] as StoredKubeObject | undefined;
  if (o === undefined || !CHECK_LENT) return o;
  if (JSON.stringify(o) === (which === 'value' ? ev.value : ev.prevValue)) return o;
  lentMismatches++;
  console.error(`timonel: the ${which} object lent with the event of ${ev.key} at ${ev.rev} differs from its stored JSON`);
  return undefined;
}
const CHECK_LENT = process.env.TIMONEL_CHECK_LENT === '1';
let lentMismatches = 0;
/** How many lent objects differed from their event's JSON (counted with TIMONEL_CHECK_LENT=1 only). */
export const lentObjectMismatches = () => lentMismatches;
let parsedItems: { drop(): void }[] = [];
const dropParsedItems = () => {
  const items = parsedItems;
  parsedItems = [];
  for (const it of items) it.drop();
};
function sharedItem(ev: StoreEvent): Item {
  let it = eventItems.get(ev);
  if (!it) {
    let obj: StoredKubeObject | undefined;
    const drop = { drop: () => (obj = undefined) };
    it = {
      raw: ev.value,
      get obj() {
        if (obj === undefined) {
          const o = lent(ev, 'value');
          if (o) return o;
          obj = JSON.parse(ev.value) as StoredKubeObject;
          if (parsedItems.push(drop) === 1) setImmediate(dropParsedItems);
        }
        return obj;
      },
    };
    eventItems.set(ev, it);
  }
  return it;
}

/** The parsed object of a store event, shared with the watch fan-out: read it, never change it. */
export function eventObject(ev: StoreEvent): StoredKubeObject {
  return sharedItem(ev).obj;
}

/**
 * The object before a store event, shared by every filtered watcher of it like sharedItem: parsed at most once
 * per delivery, and its DELETED form (a watcher's selection no longer holds it) serialized at most once.
 */
interface PrevItem {
  readonly obj: StoredKubeObject;
  /** the previous object at the event's revision, for watchers it left */
  deleted(): Item;
}
const eventPrevItems = new WeakMap<StoreEvent, PrevItem>();
function sharedPrevItem(ev: StoreEvent & { prevValue: string }): PrevItem {
  let it = eventPrevItems.get(ev);
  if (!it) {
    let obj: StoredKubeObject | undefined;
    let deleted: Item | undefined;
    const drop = {
      drop: () => {
        obj = undefined;
        deleted = undefined;
      },
    };
    const parse = () => {
      if (obj === undefined) {
        const o = lent(ev, 'prev');
        if (o) return o;
        obj = JSON.parse(ev.prevValue) as StoredKubeObject;
        if (parsedItems.push(drop) === 1) setImmediate(dropParsedItems);
      }
      return obj;
    };
    it = {
      get obj() {
        return parse();
      },
      deleted() {
        if (!deleted) {
          const prev = JSON.parse(ev.prevValue) as StoredKubeObject;
          prev.metadata.resourceVersion = String(ev.rev);
          deleted = { obj: prev, raw: JSON.stringify(prev) };
        }
        return deleted;
      },
    };
    eventPrevItems.set(ev, it);
  }
  return it;
}

/** selectableFields of an object parsed once for a store event, computed once for all watchers that filter it. */
const eventFields = new WeakMap<KubeObject, { info: KindInfo; fields: Record<string, string> }>();
function sharedSelectableFields(info: KindInfo, obj: KubeObject): Record<string, string> {
  const c = eventFields.get(obj);
  if (c?.info === info) return c.fields;
  const fields = selectableFields(info, obj);
  eventFields.set(obj, { info, fields });
  return fields;
}

const MAX_UPDATE_RETRIES = 8;

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as { v?: string; rv?: number; start?: string };
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad token');
    return { rv: t.rv, start: t.start };
  } catch {
    throw errBadRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

export function parseResourceVersion(rv: string | undefined, what = 'resourceVersion'): number | undefined {
  if (rv === undefined || rv === '') return undefined;
  if (!/^[0-9]+$/.test(rv)) throw errBadRequest(`invalid ${what}: "${rv}"`);
  return Number(rv);
}

/** The fields a field selector may name for this kind. */
function selectableFields(info: KindInfo, obj: KubeObject): Record<string, string> {
  const base: Record<string, string> = {
    'metadata.name': obj.metadata?.name ?? '',
  };
  if (info.namespaced) base['metadata.namespace'] = obj.metadata?.namespace ?? '';
  const extra = info.strategy.selectableFields?.(obj) ?? {};
  return { ...base, ...extra };
}

const allowedFieldsCache = new WeakMap<KindInfo, Set<string>>();
function allowedFields(info: KindInfo): Set<string> {
  let s = allowedFieldsCache.get(info);
  if (!s) {
    let keys: string[] = [];
    try {
      keys = Object.keys(selectableFields(info, { metadata: {}, spec: {}, status: {} }));
    } catch {
      keys = ['metadata.name', 'metadata.namespace'];
    }
    s = new Set(keys);
    allowedFieldsCache.set(info, s);
  }
  return s;
}

interface Filter {
  labels?: LabelRequirement[];
  fields?: FieldRequirement[];
}

function makeFilter(info: KindInfo, labelSelector?: string, fieldSelector?: string): Filter | undefined {
  const f: Filter = {};
  if (labelSelector) f.labels = parseLabelSelector(labelSelector);
  if (fieldSelector) {
    f.fields = parseFieldSelector(fieldSelector);
    const allowed = allowedFields(info);
    for (const r of f.fields ?? []) if (!allowed.has(r.field)) throw errBadRequest(`field label not supported: ${r.field}`);
  }
  if (!f.labels?.length && !f.fields?.length) return undefined;
  return f;
}

function matches(info: KindInfo, f: Filter | undefined, obj: KubeObject, fieldsOf = selectableFields): boolean {
  if (!f) return true;
  if (f.labels && !labelsMatch(f.labels, obj.metadata?.labels)) return false;
  if (f.fields && !fieldsMatch(f.fields, fieldsOf(info, obj))) return false;
  return true;
}

const META_STRINGS = ['name', 'generateName', 'namespace', 'resourceVersion', 'uid', 'creationTimestamp', 'deletionTimestamp', 'selfLink'];
const META_STRING_MAPS = ['labels', 'annotations'];
const META_ARRAYS = ['finalizers', 'ownerReferences', 'managedFields'];

/** Wrongly typed metadata is a decoding error (400), as when upstream unmarshals into ObjectMeta. */
function checkMetaTypes(info: KindInfo, meta: Record<string, unknown>): void {
  const fail = (field: string, got: unknown, want: string) => {
    const gotType = got === null ? 'null' : Array.isArray(got) ? 'array' : typeof got;
    throw errBadRequest(
      `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: json: cannot unmarshal ${gotType} into Go struct field ObjectMeta.metadata.${field} of type ${want}`,
    );
  };
  for (const f of META_STRINGS) if (meta[f] !== undefined && meta[f] !== null && typeof meta[f] !== 'string') fail(f, meta[f], 'string');
  for (const f of META_STRING_MAPS) {
    const m = meta[f];
    if (m === undefined || m === null) continue;
    if (!isPlainObject(m)) fail(f, m, 'map[string]string');
    for (const v of Object.values(m as Record<string, unknown>)) if (typeof v !== 'string') fail(f, v, 'string');
  }
  for (const f of META_ARRAYS) if (meta[f] !== undefined && meta[f] !== null && !Array.isArray(meta[f])) fail(f, meta[f], `[]${f}`);
  if (meta.generation !== undefined && meta.generation !== null && typeof meta.generation !== 'number') fail('generation', meta.generation, 'int64');
}

/** Everything outside metadata and status: a change here bumps metadata.generation. */
function specPart(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

export class Registry {
  readonly admission: AdmissionPlugin[] = [];
  /** set by the field manager (server-side apply); without one, managedFields are kept as clients send them */
  trackManagedFields?: ManagedFieldsTracker;

  private readonly converting = new WeakMap<KindInfo, Store>();

  constructor(readonly store: Store) {}

  /** The store as this kind sees it (converted when the kind lives in another kind's storage). */
  storeFor(info: KindInfo): Store {
    if (!info.storage) return this.store;
    let s = this.converting.get(info);
    if (!s) {
      s = new ConvertingStore(this.store, info.storage);
      this.converting.set(info, s);
    }
    return s;
  }

  key(info: KindInfo, namespace: string | undefined, name: string): string {
    return objectKey(info, namespace, name);
  }

  async getItem(info: KindInfo, namespace: string | undefined, name: string): Promise<Item | undefined> {
    const v = await this.storeFor(info).get(this.key(info, namespace, name));
    return v ? parseItem(v) : undefined;
  }

  async getRaw(info: KindInfo, namespace: string | undefined, name: string): Promise<StoredValue> {
    const v = await this.storeFor(info).get(this.key(info, namespace, name));
    if (!v) throw errNotFound(gr(info), name);
    return v;
  }

  async get(info: KindInfo, namespace: string | undefined, name: string): Promise<Item> {
    return parseItem(await this.getRaw(info, namespace, name));
  }

  // ---- create ----

  /** Checks apiVersion/kind and namespace of a request body against the URL, filling them when absent. */
  private checkBody(info: KindInfo, body: unknown, namespace: string | undefined): KubeObject {
    if (!isPlainObject(body)) throw errBadRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: the body must be a JSON object`);
    const obj = body as KubeObject;
    const want = apiVersionOf(info);
    if (obj.apiVersion !== undefined && obj.apiVersion !== '' && obj.apiVersion !== want)
      throw errBadRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${want})`);
    if (obj.kind !== undefined && obj.kind !== '' && obj.kind !== info.kind)
      throw errBadRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${info.kind}) for ${info.resource}`);
    obj.apiVersion = want;
    obj.kind = info.kind;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isPlainObject(obj.metadata)) throw errBadRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: metadata must be an object`);
    const meta = obj.metadata;
    checkMetaTypes(info, meta as Record<string, unknown>);
    if (info.namespaced) {
      if (meta.namespace === undefined || meta.namespace === '') meta.namespace = namespace;
      else if (namespace && meta.namespace !== namespace)
        throw errBadRequest('the namespace of the provided object does not match the namespace sent on the request');
    } else if (meta.namespace === '') {
      delete meta.namespace;
    }
    return obj;
  }

  private validateOrThrow(info: KindInfo, obj: KubeObject, old?: KubeObject, subresource?: string): void {
    const errs: FieldError[] = validateObjectMeta(obj.metadata, {
      namespaced: info.namespaced,
      nameValidator: info.nameValidator ?? nameIsDNSSubdomain,
    });
    const s = info.strategy;
    const narrow = !old ? undefined : subresource === 'status' ? s.validateStatusUpdate : subresource === 'binding' ? s.validateBinding : undefined;
    try {
      if (narrow) errs.push(...narrow.call(s, obj, old!));
      else {
        errs.push(...(s.validate?.(obj) ?? []));
        if (old && (!subresource || subresource === 'status')) errs.push(...(s.validateUpdate?.(obj, old) ?? []));
      }
    } catch (e) {
      // A strategy tripping over a wrongly typed field is the client's mistake, not a server error.
      if (e instanceof StatusError) throw e;
      errs.push({ field: '<object>', type: 'FieldValueTypeInvalid', detail: `malformed object: ${(e as Error).message}` });
    }
    if (old) {
      if (obj.metadata?.name !== old.metadata?.name) errs.push({ field: 'metadata.name', type: 'FieldValueInvalid', value: obj.metadata?.name, detail: 'field is immutable' });
      if (info.namespaced && obj.metadata?.namespace !== old.metadata?.namespace)
        errs.push({ field: 'metadata.namespace', type: 'FieldValueInvalid', value: obj.metadata?.namespace, detail: 'field is immutable' });
    }
    if (errs.length) throw errInvalid(info.group, info.kind, String(obj.metadata?.name ?? obj.metadata?.generateName ?? ''), errs);
  }

  private applyDefaults(info: KindInfo, obj: KubeObject): void {
    try {
      info.strategy.defaults?.(obj);
    } catch (e) {
      if (e instanceof StatusError) throw e;
      throw errBadRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${(e as Error).message}`);
    }
  }

  /** Runs every plugin in order; when one refuses, those that already admitted undo what they reserved. */
  private async admit(op: 'create' | 'update' | 'delete', info: KindInfo, obj: KubeObject, old: KubeObject | undefined, ctx: AdmissionContext = {}) {
    let i = 0;
    try {
      for (; i < this.admission.length; i++) await this.admission[i].admit?.(op, info, obj, old, this, ctx);
    } catch (e) {
      this.rollback(op, info, obj, old, this.admission.slice(0, i));
      throw e;
    }
  }

  private rollback(op: 'create' | 'update' | 'delete', info: KindInfo, obj: KubeObject, old: KubeObject | undefined, plugins = this.admission) {
    for (const p of plugins) {
      try {
        p.rollback?.(op, info, obj, old);
      } catch (e) {
        console.error(`admission ${p.name} rollback of ${op}: ${(e as Error).message}`);
      }
    }
  }

  private async committed(op: 'create' | 'update' | 'delete', info: KindInfo, obj: KubeObject, old: KubeObject | undefined) {
    for (const p of this.admission) {
      try {
        await p.committed?.(op, info, obj, old, this);
      } catch (e) {
        console.error(`admission ${p.name} after ${op}: ${(e as Error).message}`);
      }
    }
  }

  async create(info: KindInfo, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): Promise<Item> {
    const obj = this.checkBody(info, body, namespace);
    const meta = obj.metadata!;
    if (meta.resourceVersion) throw errBadRequest('resourceVersion should not be set on objects to be created');
    delete meta.selfLink;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    meta.uid = newUID();
    meta.creationTimestamp = nowRFC3339();
    if (info.generation) meta.generation = 1;
    else delete meta.generation;
    if ((!meta.name || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName) meta.name = generateName(meta.generateName);
    this.applyDefaults(info, obj);
    info.strategy.prepareForCreate?.(obj);
    this.validateOrThrow(info, obj);
    this.trackManagedFields?.(info, obj, undefined, { manager: opts.fieldManager, operation: opts.operation ?? 'Update' });
    await this.admit('create', info, obj, undefined, { dryRun: opts.dryRun, user: opts.user, warn: opts.warn });
    const key = () => this.key(info, meta.namespace, meta.name!);
    if (opts.dryRun) {
      this.rollback('create', info, obj, undefined);
      if (await this.storeFor(info).get(key())) throw errAlreadyExists(gr(info), meta.name!);
      return { obj: obj as StoredKubeObject, raw: JSON.stringify(obj) };
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const v = await this.storeFor(info).create(key(), obj);
        await this.committed('create', info, obj, undefined);
        return { obj: obj as StoredKubeObject, raw: v.value };
      } catch (e) {
        if (e instanceof StorageError && e.code === 'KeyExists' && meta.generateName && attempt < 3 && meta.name!.startsWith(meta.generateName)) {
          // a generated name that collided gets another try, as upstream does
          meta.name = generateName(meta.generateName);
          continue;
        }
        this.rollback('create', info, obj, undefined);
        if (e instanceof StorageError && e.code === 'KeyExists') throw errAlreadyExists(gr(info), meta.name!);
        throw e;
      }
    }
  }

  // ---- update / patch ----

  /**
   * Read-modify-write with retries: `mutate` gets a fresh copy of the current object (or undefined when
   * absent) and returns the desired object. `precondition` is the resourceVersion the client asked for.
   */
  async guaranteedUpdate(
    info: KindInfo,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject | undefined) => KubeObject | Promise<KubeObject>,
    opts: WriteOptions & {
      subresource?: string;
      allowCreate?: boolean;
      skipFieldTracking?: boolean;
      /** mutate returns an object of its own whatever the current one is (a PUT): it gets the current one to read, not a copy */
      replaces?: boolean;
      /**
       * the subresource managedFields record the write under when it is handled as a write of the object itself
       * (a scale write: the object's update rules, admission and validation apply, its entry says `scale`)
       */
      recordAs?: 'scale';
    } = {},
  ): Promise<{ item: Item; created: boolean }> {
    const key = this.key(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.storeFor(info).get(key);
      if (!cur) {
        if (!(opts.allowCreate && info.allowCreateOnUpdate && !opts.subresource)) throw errNotFound(gr(info), name);
        const desired = await mutate(undefined);
        const m = (desired.metadata ??= {});
        if (!isPlainObject(m)) throw errBadRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: metadata must be an object`);
        if (m.name !== undefined && m.name !== name) throw errBadRequest(`the name of the object (${m.name}) does not match the name on the URL (${name})`);
        m.name = name;
        delete m.resourceVersion;
        return { item: await this.create(info, namespace, desired, opts), created: true };
      }
      const old = JSON.parse(cur.value) as StoredKubeObject;
      // a second parse of the stored text is a cheaper deep copy than deepClone(old)
      const desired = await mutate(opts.replaces ? old : (JSON.parse(cur.value) as KubeObject));
      const obj = this.checkBody(info, desired, namespace);
      const meta = obj.metadata!;
      if (meta.name !== undefined && meta.name !== name)
        throw errBadRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
      meta.name = name;
      const wantRV = meta.resourceVersion;
      if (wantRV !== undefined && wantRV !== '' && wantRV !== String(cur.rev)) throw errConflict(gr(info), name, OBJECT_MODIFIED);
      if (meta.uid !== undefined && meta.uid !== '' && meta.uid !== old.metadata.uid)
        throw errConflict(gr(info), name, `Precondition failed: UID in precondition: ${old.metadata.uid}, UID in object meta: ${String(meta.uid)}`);
      const updated = this.prepareUpdate(info, obj, old, opts.subresource, cur.value);
      if (!opts.skipFieldTracking)
        this.trackManagedFields?.(info, updated, old, { manager: opts.fieldManager, operation: opts.operation ?? 'Update', subresource: opts.recordAs ?? opts.subresource });
      await this.admit('update', info, updated, old, { dryRun: opts.dryRun, subresource: opts.subresource, user: opts.user, warn: opts.warn });
      updated.metadata!.resourceVersion = String(cur.rev);
      if (deepEqual(updated, old)) {
        this.rollback('update', info, updated, old);
        return { item: { obj: old, raw: cur.value }, created: false };
      }
      if (opts.dryRun) {
        this.rollback('update', info, updated, old);
        return { item: { obj: updated as StoredKubeObject, raw: JSON.stringify(updated) }, created: false };
      }
      // The last finalizer of an object being deleted is gone: the update completes the deletion.
      if (updated.metadata?.deletionTimestamp && !updated.metadata.finalizers?.length && !info.strategy.deletionBlocked?.(updated)) {
        try {
          const v = await this.storeFor(info).delete(key, cur.rev);
          await this.committed('delete', info, updated, old);
          return { item: parseItem(v), created: false };
        } catch (e) {
          this.rollback('update', info, updated, old);
          if (e instanceof StorageError && e.code === 'Conflict' && attempt < MAX_UPDATE_RETRIES) continue;
          throw this.storageToStatus(info, name, e);
        }
      }
      try {
        const v = await this.storeFor(info).update(key, updated, cur.rev, old);
        await this.committed('update', info, updated, old);
        return { item: { obj: updated as StoredKubeObject, raw: v.value }, created: false };
      } catch (e) {
        this.rollback('update', info, updated, old);
        // Retry against the new state: a patch is recomputed from it, and a client's resourceVersion
        // precondition is checked again above (and then fails with 409).
        if (e instanceof StorageError && e.code === 'Conflict' && attempt < MAX_UPDATE_RETRIES) continue;
        throw this.storageToStatus(info, name, e);
      }
    }
  }

  /** Applies what the server owns and validates: the object that would be stored, RV not yet set. */
  /** `stored`: the stored text of `old` (parsing it again is a cheaper deep copy than cloning `old`). */
  private prepareUpdate(info: KindInfo, obj: KubeObject, old: StoredKubeObject, subresource: string | undefined, stored: string): KubeObject {
    const meta = obj.metadata!;
    const om = old.metadata;
    // Server-owned metadata always comes from the stored object.
    meta.uid = om.uid;
    meta.creationTimestamp = om.creationTimestamp;
    if (om.deletionTimestamp) meta.deletionTimestamp = om.deletionTimestamp;
    else delete meta.deletionTimestamp;
    if (om.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    else delete meta.deletionGracePeriodSeconds;
    if (om.generation !== undefined) meta.generation = om.generation;
    else delete meta.generation;
    delete meta.selfLink;
    if (om.generateName !== undefined && meta.generateName === undefined) meta.generateName = om.generateName;

    let out: KubeObject = obj;
    if (subresource === 'status') {
      // A status write changes status (and annotations, as upstream's status strategies for workloads allow:
      // the deployment controller records the revision there); spec, labels and the rest stay as stored.
      const copy = JSON.parse(stored) as StoredKubeObject;
      out = { ...copy, status: obj.status };
      out.metadata = { ...copy.metadata };
      if (meta.annotations !== undefined) out.metadata.annotations = meta.annotations;
      else delete out.metadata.annotations;
      if (obj.status === undefined) delete out.status;
      info.strategy.prepareForStatusUpdate?.(out, old);
    } else if (subresource) {
      // scale, finalize, binding: the handler made one targeted change; the kind's update rules do not apply.
      // A binding also records the PodScheduled condition, as upstream's assignPod does.
      if (info.subresources?.status && subresource !== 'binding') {
        if (old.status !== undefined) out.status = deepClone(old.status);
        else delete out.status;
      }
    } else {
      if (info.subresources?.status) {
        if (old.status !== undefined) out.status = deepClone(old.status);
        else delete out.status;
      }
      this.applyDefaults(info, out);
      info.strategy.prepareForUpdate?.(out, old);
      // Once being deleted, finalizers may only be removed, never added.
      if (om.deletionTimestamp) {
        const before = new Set(om.finalizers ?? []);
        const added = (meta.finalizers ?? []).filter((f) => !before.has(f));
        if (added.length)
          throw errInvalid(info.group, info.kind, meta.name!, [
            { field: 'metadata.finalizers', type: 'FieldValueForbidden', detail: `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` },
          ]);
      }
    }
    if (info.generation && !deepEqual(specPart(out), specPart(old))) out.metadata!.generation = (om.generation ?? 0) + 1;
    this.validateOrThrow(info, out, old, subresource);
    return out;
  }

  private storageToStatus(info: KindInfo, name: string, e: unknown): unknown {
    if (!(e instanceof StorageError)) return e;
    switch (e.code) {
      case 'NotFound':
        return errNotFound(gr(info), name);
      case 'KeyExists':
        return errAlreadyExists(gr(info), name);
      case 'Conflict':
        return errConflict(gr(info), name, OBJECT_MODIFIED);
      case 'Compacted':
        return errGone(`too old resource version: ${e.message}`);
      default:
        return e;
    }
  }

  async update(info: KindInfo, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions & { subresource?: string } = {}) {
    if (!isPlainObject(body)) throw errBadRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: the body must be a JSON object`);
    return this.guaranteedUpdate(info, namespace, name, () => deepClone(body as KubeObject), { ...opts, allowCreate: true, replaces: true });
  }

  // ---- delete ----

  async delete(info: KindInfo, namespace: string | undefined, name: string, opts: RequestDeleteOptions = {}): Promise<{ item: Item; deleted: boolean }> {
    const key = this.key(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const cur = await this.storeFor(info).get(key);
      if (!cur) throw errNotFound(gr(info), name);
      const obj = JSON.parse(cur.value) as StoredKubeObject;
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== obj.metadata.uid)
        throw errConflict(gr(info), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${obj.metadata.uid}`);
      if (pre?.resourceVersion && pre.resourceVersion !== String(cur.rev))
        throw errConflict(gr(info), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.rev}`);
      await this.admit('delete', info, obj, undefined, { dryRun: opts.dryRun, user: opts.user, warn: opts.warn });

      const grace = info.strategy.gracefulDeleteSeconds?.(obj, opts.gracePeriodSeconds ?? undefined) ?? 0;
      // The garbage collector's finalizers (upstream deletionFinalizersForGarbageCollection): `orphan` or
      // `foregroundDeletion` per the asked policy, else as an earlier DELETE left them, else the kind's
      // default (Orphan for batch/v1 Jobs, v1 ReplicationControllers and pre-apps/v1 workloads). A
      // graceful deletion already under way keeps its finalizers.
      let finalizers = obj.metadata.finalizers ?? [];
      let finalizersChanged = false;
      if (!(obj.metadata.deletionTimestamp && info.strategy.gracefulDeleteSeconds)) {
        const gc = ['orphan', 'foregroundDeletion'];
        const gv = `${info.group}/${info.version}`;
        const orphanByDefault =
          (gv === 'batch/v1' && info.resource === 'jobs') ||
          (gv === '/v1' && info.resource === 'replicationcontrollers') ||
          (['extensions/v1beta1', 'apps/v1beta1', 'apps/v1beta2'].includes(gv) && ['deployments', 'replicasets', 'daemonsets', 'statefulsets'].includes(info.resource));
        const left = finalizers.find((f) => gc.includes(f));
        const policy =
          (typeof opts.orphanDependents === 'boolean' ? (opts.orphanDependents ? 'Orphan' : 'Background') : opts.propagationPolicy) ??
          (left === 'orphan' ? 'Orphan' : left === 'foregroundDeletion' ? 'Foreground' : orphanByDefault ? 'Orphan' : 'Background');
        const wanted = [...finalizers.filter((f) => !gc.includes(f)), ...(policy === 'Orphan' ? ['orphan'] : policy === 'Foreground' ? ['foregroundDeletion'] : [])];
        finalizersChanged = wanted.length !== finalizers.length || wanted.some((f) => !finalizers.includes(f));
        if (finalizersChanged) finalizers = wanted;
      }
      const blocked = finalizers.length > 0 || info.strategy.deletionBlocked?.(obj) || grace > 0;
      if (!blocked) {
        if (opts.dryRun) return { item: { obj, raw: cur.value }, deleted: true };
        try {
          const v = await this.storeFor(info).delete(key, cur.rev);
          await this.committed('delete', info, obj, undefined);
          return { item: parseItem(v), deleted: true };
        } catch (e) {
          if (e instanceof StorageError && e.code === 'Conflict' && attempt < MAX_UPDATE_RETRIES) continue;
          throw this.storageToStatus(info, name, e);
        }
      }
      // Deletion is pending: mark it and let finalizers / the node agent finish it.
      const next = deepClone(obj);
      const m = next.metadata;
      if (finalizersChanged && finalizers.length) m.finalizers = finalizers;
      else if (finalizersChanged) delete m.finalizers;
      const now = Date.now();
      if (!m.deletionTimestamp) {
        m.deletionTimestamp = new Date(now + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
        m.deletionGracePeriodSeconds = grace;
        info.strategy.beginDelete?.(next);
      } else if (grace < (m.deletionGracePeriodSeconds ?? Infinity)) {
        // a shorter grace period may replace a longer one
        m.deletionTimestamp = new Date(now + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
        m.deletionGracePeriodSeconds = grace;
      }
      if (deepEqual(next, obj)) return { item: { obj, raw: cur.value }, deleted: false };
      if (opts.dryRun) return { item: { obj: next, raw: JSON.stringify(next) }, deleted: false };
      try {
        const v = await this.storeFor(info).update(key, next, cur.rev);
        await this.committed('update', info, next, obj);
        return { item: { obj: next, raw: v.value }, deleted: false };
      } catch (e) {
        if (e instanceof StorageError && e.code === 'Conflict' && attempt < MAX_UPDATE_RETRIES) continue;
        throw this.storageToStatus(info, name, e);
      }
    }
  }

  async deleteCollection(info: KindInfo, namespace: string | undefined, q: ListQuery, opts: RequestDeleteOptions): Promise<Item[]> {
    const list = await this.list(info, namespace, { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector });
    const out: Item[] = [];
    for (const it of list.items) {
      try {
        const r = await this.delete(info, it.obj.metadata.namespace, it.obj.metadata.name, opts);
        out.push(r.item);
      } catch (e) {
        if (e instanceof StatusError && e.code === 404) continue;
        throw e;
      }
    }
    return out;
  }

  // ---- list / watch ----

  /** Throws the 400 a list or watch with these selectors would get. */
  checkSelectors(info: KindInfo, labelSelector?: string, fieldSelector?: string): void {
    makeFilter(info, labelSelector, fieldSelector);
  }

  async list(info: KindInfo, namespace: string | undefined, q: ListQuery): Promise<ListOutcome> {
    const filter = makeFilter(info, q.labelSelector, q.fieldSelector);
    const prefix = listPrefix(info, namespace);
    const limit = q.limit && q.limit > 0 ? q.limit : 0;
    let revision: number | undefined;
    let after: string | undefined;
    if (q.continue) {
      const t = decodeContinue(q.continue);
      if (t.start.includes('/') && !info.namespaced) throw errBadRequest('continue key is not valid');
      revision = t.rv;
      after = prefix + t.start;
      if (q.resourceVersion && q.resourceVersion !== '0') throw errBadRequest('specifying resource version is not allowed when using continue');
    } else {
      const rv = parseResourceVersion(q.resourceVersion);
      if (rv !== undefined && rv > 0) {
        const cur = this.store.currentRevision();
        if (q.resourceVersionMatch === 'Exact') revision = rv;
        else if (rv > cur) await this.waitForRevision(rv);
      }
      if (q.resourceVersionMatch && !['Exact', 'NotOlderThan'].includes(q.resourceVersionMatch))
        throw errBadRequest(`resourceVersionMatch: Unsupported value: "${q.resourceVersionMatch}"`);
      if (q.resourceVersionMatch && (rv === undefined || (q.resourceVersionMatch === 'Exact' && rv === 0)))
        throw errBadRequest('resourceVersionMatch is forbidden unless resourceVersion is provided' + (rv === 0 ? ' and not 0 for Exact' : ''));
    }
    const items: Item[] = [];
    let listRev = revision;
    let more = false;
    let lastKey: string | undefined;
    let remaining: number | undefined;
    // Keep reading until `limit` matching items are found, as upstream's paging does with selectors.
    for (;;) {
      const batch = limit ? Math.max(limit - items.length, filter ? 100 : 0) + 1 : 0;
      let page;
      try {
        page = await this.storeFor(info).list(prefix, { limit: batch ? batch - 1 : undefined, after, revision: listRev });
      } catch (e) {
        if (e instanceof StorageError && e.code === 'Compacted') {
          if (q.continue)
            throw new StatusError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
          throw errGone(`too old resource version: ${revision} (${e.compactedRev ?? ''})`);
        }
        throw e;
      }
      listRev ??= page.revision;
      for (const v of page.items) {
        lastKey = v.key;
        const it = filter ? parseItem(v) : lazyItem(v);
        if (filter && !matches(info, filter, it.obj)) continue;
        items.push(it);
        if (limit && items.length >= limit) break;
      }
      if (limit && items.length >= limit) {
        more = page.more || lastKey !== page.items[page.items.length - 1]?.key;
        if (more && !filter) remaining = page.remaining !== undefined ? page.remaining + (page.items.length - page.items.findIndex((v) => v.key === lastKey) - 1) : undefined;
        break;
      }
      if (!page.more) break;
      after = page.items[page.items.length - 1]?.key;
      if (!after) break;
    }
    const out: ListOutcome = { items, resourceVersion: String(listRev ?? this.store.currentRevision()) };
    if (more && lastKey) {
      out.continue = encodeContinue({ rv: listRev!, start: lastKey.slice(prefix.length) });
      if (remaining !== undefined) out.remainingItemCount = remaining;
    }
    return out;
  }

  /** A resourceVersion newer than the store's: wait briefly (as upstream does) then give up. */
  private async waitForRevision(rv: number): Promise<void> {
    const deadline = Date.now() + 3000;
    while (this.store.currentRevision() < rv) {
      if (Date.now() > deadline)
        throw Object.assign(errTimeout(`Too large resource version: ${rv}, current: ${this.store.currentRevision()}`), {});
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Starts a watch. Initial state (for resourceVersion "" / "0", or sendInitialEvents) is emitted as ADDED
   * events before live ones. Returns a stop function. Throws 410 when the revision is compacted.
   */
  async watch(info: KindInfo, namespace: string | undefined, q: WatchQuery, emit: WatchEmit, onInitialDone?: (rv: number) => void): Promise<Watcher> {
    const filter = makeFilter(info, q.labelSelector, q.fieldSelector);
    const prefix = listPrefix(info, namespace);
    const rv = parseResourceVersion(q.resourceVersion);
    let afterRev: number;
    const wantInitial = q.sendInitialEvents ?? (rv === undefined || rv === 0);
    if (wantInitial) {
      const page = await this.storeFor(info).list(prefix, {});
      for (const v of page.items) {
        const it = parseItem(v);
        if (matches(info, filter, it.obj)) emit('ADDED', it);
      }
      afterRev = page.revision;
      onInitialDone?.(afterRev);
    } else {
      afterRev = rv!;
    }
    const onEvent = (ev: StoreEvent) => {
      const it = sharedItem(ev);
      if (!filter) return emit(ev.type, it);
      const now = matches(info, filter, it.obj, sharedSelectableFields);
      if (ev.type === 'DELETED') {
        if (now) emit('DELETED', it);
        return;
      }
      const prev = ev.prevValue ? sharedPrevItem(ev as StoreEvent & { prevValue: string }) : undefined;
      const before = prev ? matches(info, filter, prev.obj, sharedSelectableFields) : false;
      if (now) emit(ev.type === 'ADDED' || !before ? 'ADDED' : 'MODIFIED', it);
      // It left the selection: watchers see it deleted, at this revision.
      else if (before && prev) emit('DELETED', prev.deleted());
    };
    try {
      return this.storeFor(info).watch(prefix, { afterRev, onEvent });
    } catch (e) {
      if (e instanceof StorageError && e.code === 'Compacted')
        throw errGone(`too old resource version: ${afterRev} (${e.compactedRev ?? this.store.compactedRevision()})`);
      throw e;
    }
  }
}

