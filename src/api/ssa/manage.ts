// The two entry points of field management, as upstream's FieldManager chains them: recording who changed
// what on every write (Update), and server-side apply (Apply).
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { errBadRequest } from '../errors.js';
import { deepClone, isPlainObject } from '../object.js';
import { nowRFC3339 } from '../names.js';
import type { KubeObject } from '../types.js';
import { FieldSet } from './fieldset.js';
import {
  ApplyConflicts,
  applyConfig,
  conflictStatusError,
  decodeManagedFields,
  deepFreeze,
  encodeManagedFields,
  isResetManagedFields,
  LAST_APPLIED,
  lastAppliedFields,
  readManagedFields,
  recordUpdate,
  type ManagedFields,
  type UpdaterOptions,
} from './managers.js';
import { fieldNode, ssaSchemaFor, VALUE_STRUCTS, type SSANode } from './schema.js';

type Obj = Record<string, unknown>;

export interface ManageOptions {
  /** apiVersion and kind of the request's URL */
  apiVersion: string;
  kind: string;
  subresource?: string;
  /** fields the write may not set (reset by the kind's strategy): never owned */
  ignored?: FieldSet;
  /** defaults to now */
  now?: string;
  /**
   * the entry the write makes or changes gets no time: upstream's scale handler maps a scale write's entry
   * back onto the object without one
   */
  untimed?: boolean;
}

/** The manager kubectl uses for server-side apply; its applies keep the client-side apply annotation in step. */
const KUBECTL_SSA_MANAGER = 'kubectl';
/** Owns every field of an object first applied to after being written without field tracking. */
const BEFORE_FIRST_APPLY = 'before-first-apply';
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

function updaterOptions(o: ManageOptions): UpdaterOptions {
  return { schema: ssaSchemaFor(o.apiVersion, o.kind), apiVersion: o.apiVersion, subresource: o.subresource, ignored: o.ignored, now: o.untimed ? '' : (o.now ?? nowRFC3339()) };
}

function decodeOrEmpty(v: unknown): ManagedFields {
  try {
    return decodeManagedFields(v);
  } catch {
    return new Map();
  }
}

function readOrEmpty(v: unknown): ManagedFields {
  try {
    return readManagedFields(v);
  } catch {
    return new Map();
  }
}

function withoutManagedFields(obj: KubeObject): Obj {
  const out: Obj = { ...obj };
  if (isPlainObject(obj.metadata)) {
    const { managedFields: _m, ...meta } = obj.metadata;
    out.metadata = meta;
  }
  return out;
}

/** What an object of the kind looks like before anything is set: its value-typed structs exist, empty. */
function zeroLike(obj: Obj, schema: SSANode): Obj {
  const out: Obj = {};
  for (const top of ['metadata', 'spec', 'status']) if (isPlainObject(obj[top])) out[top] = zeroStruct(obj[top] as Obj, fieldNode(schema, top));
  return out;
}

/** Fields of value-typed structs that Go writes as `null` when unset. */
const ZERO_NULL_FIELDS: Readonly<Record<string, readonly string[]>> = { PodSpec: ['containers'] };

function zeroStruct(v: Obj, node: SSANode): Obj {
  const out: Obj = {};
  if (node.kind !== 'struct' || !node.type) return out;
  for (const f of ZERO_NULL_FIELDS[node.type.name] ?? []) out[f] = null;
  for (const [k, f] of Object.entries(node.type.fields)) {
    if (f.kind === 'object' && f.type && VALUE_STRUCTS.has(f.type.name) && isPlainObject(v[k])) out[k] = zeroStruct(v[k] as Obj, fieldNode(node, k));
  }
  return out;
}

function cloneManaged(m: ManagedFields): ManagedFields {
  return new Map([...m].map(([id, e]) => [id, { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion, subresource: e.subresource, time: e.time, set: e.set }]));
}

/**
 * Records in `next.metadata.managedFields` what `manager` changed from `live` (undefined on create), as
 * upstream does on every create, update and non-apply patch. managedFields sent by the client replace the
 * stored ones (`[]` clears them); a subresource write never changes them directly.
 */
export function updateManagedFields(live: KubeObject | undefined, next: KubeObject, manager: string | undefined, o: ManageOptions): void {
  const meta = (next.metadata ??= {});
  const liveEntries = live?.metadata?.managedFields;
  let managed: ManagedFields;
  if (o.subresource) managed = readOrEmpty(liveEntries);
  else if (isResetManagedFields(meta.managedFields)) managed = new Map();
  else {
    managed = readOrEmpty(meta.managedFields);
    if (managed.size === 0) managed = readOrEmpty(liveEntries);
  }
  // An existing object nobody tracks stays untracked until its first apply.
  if (managed.size === 0 && live?.metadata?.uid) return setManagedFields(meta, undefined);
  const memo = !live && managed.size === 0 && !o.subresource ? createMemoKey(next as Obj, manager, o) : undefined;
  if (memo !== undefined) {
    const fieldsV1 = createdFields.get(memo);
    if (fieldsV1 !== undefined) {
      if (!fieldsV1) return setManagedFields(meta, undefined);
      return setManagedFields(meta, [{ manager: manager || 'unknown', operation: 'Update', apiVersion: o.apiVersion, time: o.now ?? nowRFC3339(), fieldsType: 'FieldsV1', fieldsV1 }]);
    }
  }
  const uo = updaterOptions(o);
  const liveObj = live ? withoutManagedFields(live) : zeroLike(next as Obj, uo.schema);
  try {
    recordUpdate(liveObj, withoutManagedFields(next), managed, manager ?? '', uo);
  } catch {
    // an object the schema cannot walk keeps the ownership it had
    return setManagedFields(meta, liveEntries);
  }
  const encoded = encodeManagedFields(managed);
  setManagedFields(meta, encoded);
  if (memo !== undefined && (encoded?.length ?? 0) <= 1) rememberCreated(memo, encoded?.[0]?.fieldsV1 ?? null);
}

/**
 * Sets (or removes) managedFields, as metadata's last field (where Go writes it). Replacing it there in place
 * is cheaper than deleting it and adding it again.
 */
function setManagedFields(meta: NonNullable<KubeObject['metadata']>, entries: ManagedFieldsEntry[] | undefined): void {
  if ('managedFields' in meta && !(entries && lastKey(meta) === 'managedFields')) delete meta.managedFields;
  if (entries) meta.managedFields = entries;
}

function lastKey(o: object): string | undefined {
  let last: string | undefined;
  for (const k in o) last = k;
  return last;
}

/**
 * The fields a create records depend only on the object's shape (its keys, which values are objects,
 * empty or null, and its arrays whole), so objects created alike share one computation, by that shape,
 * and one frozen FieldsV1 (null: the create records nothing).
 */
const createdFields = new Map<string, object | null>();
let createdFieldsChars = 0;
const MAX_CREATED_FIELDS_CHARS = 4 << 20;

function rememberCreated(key: string, fieldsV1: object | null): void {
  const chars = key.length + (fieldsV1 ? JSON.stringify(fieldsV1).length : 0);
  createdFieldsChars += chars;
  if (createdFieldsChars > MAX_CREATED_FIELDS_CHARS) {
    createdFields.clear();
    createdFieldsChars = chars;
  }
  createdFields.set(key, fieldsV1 && deepFreeze(fieldsV1));
}


function createMemoKey(obj: Obj, manager: string | undefined, o: ManageOptions): string | undefined {
  let ignored = '';
  if (o.ignored) {
    // only the kinds' constant `status` exclusion; anything else is computed every time
    if (o.ignored.members.size !== 1 || !o.ignored.members.has('f:status') || o.ignored.children.size) return undefined;
    ignored = 'S';
  }
  return `${o.apiVersion}\n${o.kind}\n${manager ?? ''}\n${ignored}\n${shapeOf(obj)}`;
}

function shapeOf(v: unknown): string {
  if (v === null) return 'n';
  if (Array.isArray(v)) return `a${JSON.stringify(v)}`;
  if (typeof v !== 'object') return typeof v === 'string' ? 's' : typeof v === 'number' ? 'd' : typeof v === 'boolean' ? 'b' : 'u';
  let out = '{';
  for (const k in v as Obj) {
    const c = (v as Obj)[k];
    if (c !== undefined) out += `${JSON.stringify(k)}:${shapeOf(c)},`;
  }
  return `${out}}`;
}

function parseGroupVersion(apiVersion: unknown): { group: string; version: string } {
  const s = typeof apiVersion === 'string' ? apiVersion : '';
  const i = s.indexOf('/');
  return i < 0 ? { group: '', version: s } : { group: s.slice(0, i), version: s.slice(i + 1) };
}

/** Go's json encoding of a value: map keys sorted. */
function sortedJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJSON).join(',')}]`;
  if (isPlainObject(v))
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJSON(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** kubectl's server-side applies keep an existing client-side apply annotation equal to what they apply. */
function syncLastApplied(obj: Obj, config: Obj): void {
  const meta = obj.metadata as { annotations?: Record<string, string> } | undefined;
  if (!meta?.annotations?.[LAST_APPLIED]) return;
  const copy = deepClone(config);
  const cmeta = copy.metadata as { annotations?: Record<string, string> } | undefined;
  if (cmeta?.annotations) delete cmeta.annotations[LAST_APPLIED];
  const annotations: Record<string, string> = { ...meta.annotations, [LAST_APPLIED]: `${sortedJSON(copy)}\n` };
  const size = Object.entries(annotations).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (size > MAX_ANNOTATIONS_BYTES) delete annotations[LAST_APPLIED];
  meta.annotations = annotations;
}

/**
 * Server-side apply of `config` by `manager` to `live` (undefined when the object does not exist yet):
 * the merged object, with its managedFields. Throws 400 for a configuration of another kind or one that
 * sets managedFields, and 409 listing the conflicts when other managers own fields it changes (unless
 * `force`, which moves them to `manager`).
 */
export function applyConfiguration(live: KubeObject | undefined, config: unknown, manager: string, force: boolean, o: ManageOptions): KubeObject {
  if (!isPlainObject(config)) throw errBadRequest('the apply configuration must be an object');
  const gv = parseGroupVersion(config.apiVersion);
  if (config.apiVersion !== o.apiVersion || config.kind !== o.kind)
    throw errBadRequest(`invalid object type: ${gv.group}/${gv.version}, Kind=${typeof config.kind === 'string' ? config.kind : ''}`);
  const cmeta = config.metadata;
  if (isPlainObject(cmeta) && cmeta.managedFields !== undefined && cmeta.managedFields !== null) throw errBadRequest('metadata.managedFields must be nil');
  const uo = updaterOptions(o);
  const liveObj = live ? withoutManagedFields(live) : {};
  const managed = decodeOrEmpty(live?.metadata?.managedFields);
  if (managed.size === 0 && live) recordUpdate(zeroLike(liveObj, uo.schema), liveObj, managed, BEFORE_FIRST_APPLY, uo);

  let result;
  try {
    result = applyConfig(liveObj, config, cloneManaged(managed), manager, force, uo);
  } catch (e) {
    if (!(e instanceof ApplyConflicts)) throw e;
    // kubectl moving from client-side to server-side apply may take over what its annotation says it set
    const allowed = manager === KUBECTL_SSA_MANAGER ? lastAppliedFields(liveObj, uo.schema, o.apiVersion) : undefined;
    const remaining = allowed ? e.conflicts.filter((c) => !allowed.has(c.path)) : e.conflicts;
    if (remaining.length) throw conflictStatusError(new ApplyConflicts(remaining, e.entries));
    result = applyConfig(liveObj, config, cloneManaged(managed), manager, true, uo);
  }
  const obj = (result.object ?? deepClone(liveObj)) as Obj;
  if (manager === KUBECTL_SSA_MANAGER) syncLastApplied(obj, config);
  if (!isPlainObject(obj.metadata)) obj.metadata = {};
  const meta = obj.metadata as Obj;
  const encoded = encodeManagedFields(result.managers);
  if (encoded) meta.managedFields = encoded;
  else delete meta.managedFields;
  return obj as KubeObject;
}
