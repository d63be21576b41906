// metadata.managedFields: who owns which fields, and how updates and applies move ownership
// (upstream's structured-merge-diff Updater with apimachinery's field manager chain around it).
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { StatusError } from '../errors.js';
import { deepEqual, isPlainObject } from '../object.js';
import { FieldSet, pathString, type FieldPath } from './fieldset.js';
import { compare, ensureNamedFieldsAreMembers, merge, removeItems, toFieldSet, type Comparison } from './typed.js';
import type { SSANode } from './schema.js';

export type Operation = 'Apply' | 'Update';
type Obj = Record<string, unknown>;

export interface ManagerEntry {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Entries by manager identifier (see managerIdentifier). */
export type ManagedFields = Map<string, ManagerEntry>;

/**
 * The identity of an entry: manager, operation, subresource and, for updates only, apiVersion (an applier
 * keeps one entry whatever version it applies with). Spelled as upstream's JSON so it reads well in errors.
 */
export function managerIdentifier(e: { manager: string; operation: Operation; apiVersion?: string; subresource?: string }): string {
  const id: Record<string, string> = { manager: e.manager, operation: e.operation };
  if (e.operation === 'Update' && e.apiVersion) id.apiVersion = e.apiVersion;
  if (e.subresource) id.subresource = e.subresource;
  return JSON.stringify(id);
}

/** FieldSets read from FieldsV1 (by its JSON), and the FieldsV1 each came from: most writes leave most entries as they were. */
const decoded = new Map<string, FieldSet>();
const sourceFieldsV1 = new WeakMap<FieldSet, unknown>();
const MAX_DECODED = 5000;

function readFieldsV1(v: unknown): FieldSet {
  if (v === undefined || v === null) return new FieldSet();
  const key = JSON.stringify(v);
  let set = decoded.get(key);
  if (!set) {
    set = FieldSet.fromFieldsV1(v);
    if (decoded.size >= MAX_DECODED) decoded.clear();
    decoded.set(key, set);
    sourceFieldsV1.set(set, deepFreeze(JSON.parse(key)));
  }
  return set;
}

/** Shared between the objects that keep an entry unchanged, so never to be changed in place. */
function deepFreeze<T>(v: T): T {
  if (isPlainObject(v)) for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
}

/** Reads metadata.managedFields; throws an Error when an entry is malformed. */
export function decodeManagedFields(entries: unknown): ManagedFields {
  const out: ManagedFields = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((raw: unknown, i) => {
    if (!isPlainObject(raw)) throw new Error(`managed fields entry ${i} must be an object`);
    const e = raw as ManagedFieldsEntry;
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (!e.fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
    const entry: ManagerEntry = {
      manager: e.manager ?? '',
      operation: e.operation,
      apiVersion: e.apiVersion,
      set: readFieldsV1(e.fieldsV1),
    };
    if (e.subresource) entry.subresource = e.subresource;
    if (e.time) entry.time = e.time;
    out.set(managerIdentifier(entry), entry);
  });
  return out;
}

const seconds = (t: string | undefined): number => (t ? Math.floor(Date.parse(t) / 1000) || 0 : 0);
const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** metadata.managedFields for these entries, in upstream's order; undefined when there are none. */
export function encodeManagedFields(m: ManagedFields): ManagedFieldsEntry[] | undefined {
  const entries = [...m.values()].filter((e) => !e.set.empty());
  if (entries.length === 0) return undefined;
  const at = new Map(entries.map((e) => [e, seconds(e.time)]));
  entries.sort(
    (p, q) =>
      cmpStr(p.operation, q.operation) ||
      at.get(p)! - at.get(q)! ||
      cmpStr(p.manager, q.manager) ||
      cmpStr(p.apiVersion, q.apiVersion) ||
      cmpStr(p.subresource ?? '', q.subresource ?? ''),
  );
  return entries.map((e) => {
    const out: ManagedFieldsEntry = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
    if (e.time) out.time = e.time;
    out.fieldsType = 'FieldsV1';
    const source = sourceFieldsV1.get(e.set);
    out.fieldsV1 = (source ?? e.set.toFieldsV1()) as ManagedFieldsEntry['fieldsV1'];
    if (e.subresource) out.subresource = e.subresource;
    return out;
  });
}

/** `[]` or `[{}]`: the client asks for managedFields to be cleared. */
export function isResetManagedFields(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  if (v.length === 0) return true;
  return v.length === 1 && isPlainObject(v[0]) && Object.values(v[0]).every((x) => x === undefined);
}

/** Metadata that never belongs to a manager. */
const STRIPPED = FieldSet.of(
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map((f) => ['f:metadata', `f:${f}`]),
);

// ---- conflicts ----

export interface Conflict {
  /** manager identifier */
  manager: string;
  path: FieldPath;
}

/** Thrown by apply without force when other managers own fields it changes. */
export class ApplyConflicts extends Error {
  constructor(readonly conflicts: Conflict[], readonly entries: ManagedFields) {
    super(`Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}`);
  }
}

function printManager(id: string, entries: ManagedFields): string {
  const e = entries.get(id);
  if (!e) return JSON.stringify(id);
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion}`;
  return s;
}

/** The 409 upstream answers with: one cause per conflicting field. */
export function conflictStatusError(c: ApplyConflicts): StatusError {
  const causes = c.conflicts.map((x) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(x.manager, c.entries)}`,
    field: pathString(x.path),
  }));
  let message: string;
  if (c.conflicts.length === 1) {
    const x = c.conflicts[0];
    message = `Apply failed with 1 conflict: conflict with ${printManager(x.manager, c.entries)}: ${pathString(x.path)}`;
  } else {
    const byManager = new Map<string, FieldPath[]>();
    for (const x of c.conflicts) byManager.set(x.manager, [...(byManager.get(x.manager) ?? []), x.path]);
    const lines: string[] = [];
    for (const id of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${printManager(id, c.entries)}:`);
      for (const p of byManager.get(id)!) lines.push(`- ${pathString(p)}`);
    }
    message = `Apply failed with ${c.conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

// ---- the updater ----

export interface UpdaterOptions {
  /** the schema of the whole object */
  schema: SSANode;
  /** apiVersion of the request */
  apiVersion: string;
  subresource?: string;
  /** fields the write may not set (reset by the kind's strategy): never owned */
  ignored?: FieldSet;
  /** RFC 3339 timestamp for entries that changed */
  now: string;
}

const CURRENT_OPERATION = '\u0000current-operation';
export const MAX_UPDATE_MANAGERS = 10;

/**
 * Moves ownership for a change from `live` to `next`: other managers lose fields the writer changed (or,
 * without force, that is a conflict) and fields that are gone.
 */
function takeOwnership(live: Obj, next: Obj, managers: ManagedFields, writer: string, force: boolean, o: UpdaterOptions): Comparison {
  const c = compare(live, next, o.schema, o.ignored);
  const changed = c.modified.union(c.added);
  const conflicts: Conflict[] = [];
  const taken = new Map<string, FieldSet>();
  for (const [id, e] of managers) {
    if (id === writer || !e.set.intersects(changed)) continue;
    const clash = e.set.intersection(changed);
    taken.set(id, clash);
    if (!force) for (const path of clash.paths()) conflicts.push({ manager: id, path });
  }
  if (!force && conflicts.length) throw new ApplyConflicts(conflicts, managers);
  for (const [id, e] of managers) {
    if (id === writer) continue;
    let set = e.set;
    const clash = taken.get(id);
    if (clash) set = set.difference(clash);
    if (!c.removed.empty()) set = set.difference(c.removed);
    if (set.empty()) managers.delete(id);
    else e.set = set;
  }
  return c;
}

/** Merges the oldest update entries into "ancient-changes" until at most MAX_UPDATE_MANAGERS remain. */
function capUpdateManagers(managers: ManagedFields): void {
  const updaters = [...managers.entries()].filter(([, e]) => e.operation === 'Update');
  if (updaters.length <= MAX_UPDATE_MANAGERS) return;
  updaters.sort(([ia, a], [ib, b]) => seconds(a.time) - seconds(b.time) || cmpStr(ia, ib));
  let count = updaters.length;
  for (const [id, e] of updaters) {
    if (count <= MAX_UPDATE_MANAGERS) break;
    const bucketId = managerIdentifier({ manager: 'ancient-changes', operation: 'Update', apiVersion: e.apiVersion });
    if (id === bucketId) continue;
    const bucket = managers.get(bucketId);
    managers.delete(id);
    if (bucket) {
      bucket.set = bucket.set.union(e.set);
      bucket.time = e.time;
      count--;
    } else {
      managers.set(bucketId, { manager: 'ancient-changes', operation: 'Update', apiVersion: e.apiVersion, time: e.time, set: e.set });
    }
  }
}

function stripMeta(managers: ManagedFields, id: string): void {
  const e = managers.get(id);
  if (!e) return;
  e.set = e.set.difference(STRIPPED);
  if (e.set.empty()) managers.delete(id);
}

/**
 * Records an update by `manager` from `live` to `next` (objects without managedFields): the manager gains
 * the fields it added or changed, with a fresh time when it gained anything.
 */
export function recordUpdate(live: Obj, next: Obj, managers: ManagedFields, manager: string, o: UpdaterOptions): void {
  managers.delete(CURRENT_OPERATION);
  const c = takeOwnership(live, next, managers, CURRENT_OPERATION, true, o);
  const gained = c.modified.union(c.added).recursiveDifference(o.ignored ?? new FieldSet()).difference(STRIPPED);
  if (!gained.empty()) {
    const entry: ManagerEntry = { manager: manager || 'unknown', operation: 'Update', apiVersion: o.apiVersion, set: gained, time: o.now };
    if (o.subresource) entry.subresource = o.subresource;
    const id = managerIdentifier(entry);
    const prev = managers.get(id);
    // a writer changing only fields it owns keeps its set (and the FieldsV1 it was read from)
    if (prev) entry.set = gained.difference(prev.set).empty() ? prev.set : prev.set.union(gained);
    managers.set(id, entry);
  }
  capUpdateManagers(managers);
}

/** `merged` without what the applier applied last time and no longer applies, unless someone else owns it. */
function prune(merged: Obj, managers: ManagedFields, last: FieldSet | undefined, schema: SSANode): Obj {
  if (!last || last.empty()) return merged;
  const lastSet = ensureNamedFieldsAreMembers(last, schema);
  const pruned = removeItems(merged, lastSet, schema);
  let owned = new FieldSet();
  for (const e of managers.values()) owned = owned.union(e.set);
  const mergedSet = ensureNamedFieldsAreMembers(toFieldSet(merged, schema), schema);
  const prunedSet = ensureNamedFieldsAreMembers(toFieldSet(pruned, schema), schema);
  const ownedSet = ensureNamedFieldsAreMembers(owned, schema);
  const withOwned = removeItems(merged, mergedSet.difference(prunedSet.union(ownedSet)), schema);
  const withOwnedSet = ensureNamedFieldsAreMembers(toFieldSet(withOwned, schema), schema);
  return removeItems(merged, mergedSet.difference(withOwnedSet).intersection(lastSet), schema);
}

export interface ApplyResult {
  /** the object after the apply; undefined when it is unchanged */
  object?: Obj;
  managers: ManagedFields;
}

/** Applies `config` to `live` for `manager`; throws ApplyConflicts when others own fields it changes. */
export function applyConfig(live: Obj, config: Obj, managers: ManagedFields, manager: string, force: boolean, o: UpdaterOptions): ApplyResult {
  const merged = merge(live, config, o.schema);
  const entry: ManagerEntry = { manager, operation: 'Apply', apiVersion: o.apiVersion, set: new FieldSet() };
  if (o.subresource) entry.subresource = o.subresource;
  const id = managerIdentifier(entry);
  const prev = managers.get(id);
  let set = toFieldSet(config, o.schema);
  if (o.ignored) set = set.recursiveDifference(o.ignored);
  entry.set = set;
  entry.time = prev?.time;
  managers.set(id, entry);
  const pruned = prune(merged, managers, prev?.set, o.schema);
  takeOwnership(live, pruned, managers, id, force, o);
  stripMeta(managers, id);
  if (deepEqual(live, pruned)) return { managers };
  const e = managers.get(id);
  if (e) e.time = o.now;
  return { object: pruned, managers };
}

/** Fields a client-side `kubectl apply` set, per its last-applied annotation, that the live object still has. */
export function lastAppliedFields(live: Obj, schema: SSANode, apiVersion: string): FieldSet | undefined {
  const meta = live.metadata as { annotations?: Record<string, string> } | undefined;
  const raw = meta?.annotations?.[LAST_APPLIED];
  if (!raw) return undefined;
  let last: unknown;
  try {
    last = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isPlainObject(last) || last.apiVersion !== apiVersion) return undefined;
  try {
    const c = compare(last, live, schema);
    return toFieldSet(last, schema).difference(c.modified).difference(c.added).difference(c.removed);
  } catch {
    return undefined;
  }
}

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
