// metadata.managedFields: who owns which fields, and how updates and applies move ownership
// (upstream's structured-merge-diff Updater with apimachinery's field manager chain around it).
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { StatusError } from '../errors.js';
import { deepEqual, isPlainObject } from '../object.js';
import { canonicalElement, compareElements, FieldSet, pathString, type FieldPath } from './fieldset.js';
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
  // JSON.stringify of {manager, operation, apiVersion?, subresource?}, written out: this runs for every entry of every write
  let id = `{"manager":${JSON.stringify(e.manager)},"operation":${JSON.stringify(e.operation)}`;
  if (e.operation === 'Update' && e.apiVersion) id += `,"apiVersion":${JSON.stringify(e.apiVersion)}`;
  if (e.subresource) id += `,"subresource":${JSON.stringify(e.subresource)}`;
  return `${id}}`;
}

/**
 * FieldSets read from FieldsV1 (by its JSON), and the FieldsV1 each came from (its JSON until first written
 * back): most writes leave most entries as they were.
 */
const decoded = new Map<string, FieldSet>();
const sourceFieldsV1 = new WeakMap<FieldSet, string | object>();
const MAX_DECODED = 5000;

function readFieldsV1(v: unknown): FieldSet {
  if (v === undefined || v === null) return new FieldSet();
  const key = JSON.stringify(v);
  let set = decoded.get(key);
  if (!set) {
    set = FieldSet.fromFieldsV1(v);
    if (decoded.size >= MAX_DECODED) decoded.clear();
    decoded.set(key, set);
    sourceFieldsV1.set(set, key);
  }
  return set;
}

/** The FieldsV1 `set` was read from, shared by every object that keeps it. */
function sourceOf(set: FieldSet): object | undefined {
  let source = sourceFieldsV1.get(set);
  if (typeof source === 'string') {
    source = deepFreeze(JSON.parse(source) as object);
    sourceFieldsV1.set(set, source);
  }
  return source;
}

/** Shared between objects (that keep an entry unchanged, or were created alike), so never to be changed in place. */
export function deepFreeze<T>(v: T): T {
  if (isPlainObject(v)) for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
}

/** The fields of an entry besides its set; throws an Error when they are malformed. */
function entryHeader(raw: unknown, i: number): ManagedFieldsEntry & { operation: Operation; apiVersion: string } {
  if (!isPlainObject(raw)) throw new Error(`managed fields entry ${i} must be an object`);
  const e = raw as ManagedFieldsEntry;
  if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
  if (!e.apiVersion) throw new Error('apiVersion must not be empty');
  if (!e.fieldsType) throw new Error(`missing fieldsType in managed fields entry ${i}`);
  if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
  return e as ManagedFieldsEntry & { operation: Operation; apiVersion: string };
}

/** Reads metadata.managedFields; throws an Error when an entry is malformed. */
export function decodeManagedFields(entries: unknown): ManagedFields {
  const out: ManagedFields = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((raw: unknown, i) => {
    const e = entryHeader(raw, i);
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

/**
 * An entry whose set is read from its FieldsV1 only when something asks for it: most writes leave most
 * entries as they were, and such an entry is written back as the FieldsV1 it came with. FieldsV1 spelled
 * as we write it (canonical) is even changed in place of the set (see patchFieldsV1).
 */
class LazyEntry implements ManagerEntry {
  subresource?: string;
  time?: string;
  #set: FieldSet | undefined;
  /** the FieldsV1 the set is (to be) read from; undefined once the set was replaced */
  fieldsV1: Obj | undefined;
  /** fieldsV1 is spelled exactly as FieldSet.toFieldsV1 spells its set */
  canonical: boolean;

  constructor(
    public manager: string,
    public operation: Operation,
    public apiVersion: string,
    fieldsV1: Obj | undefined,
    canonical: boolean,
  ) {
    this.fieldsV1 = fieldsV1;
    this.canonical = canonical;
  }

  get set(): FieldSet {
    return (this.#set ??= readFieldsV1(this.fieldsV1));
  }

  set set(s: FieldSet) {
    this.#set = s;
    this.fieldsV1 = undefined;
    this.canonical = false;
  }

  /** Replaces canonical FieldsV1 by a changed one, canonical too. */
  patched(fieldsV1: Obj): void {
    this.#set = undefined;
    this.fieldsV1 = fieldsV1;
  }
}

/** The FieldsV1 a lazily read entry still has its set in, if it does. */
const unreadFieldsV1 = (e: ManagerEntry): Obj | undefined => (e instanceof LazyEntry ? e.fieldsV1 : undefined);

/** The FieldsV1 a lazily read entry still has its set in, when it is canonical. */
const canonicalFieldsV1 = (e: ManagerEntry): Obj | undefined => (e instanceof LazyEntry && e.canonical ? e.fieldsV1 : undefined);

/**
 * Throws the Error FieldSet.fromFieldsV1 would for malformed FieldsV1, without building the set; tells
 * whether it is canonical: elements in upstream's order and spelling, "." first and only beside others.
 */
function checkFieldsV1(v: Obj, root: boolean): boolean {
  let canonical = true;
  let prev: string | undefined;
  let first = true;
  for (const key in v) {
    if (key === '.') {
      if (root || !first || !isPlainObject(v[key]) || !emptyFieldsV1(v[key] as Obj) || '.' in (v[key] as Obj)) canonical = false;
      first = false;
      continue;
    }
    first = false;
    const sub = v[key];
    if (!isPlainObject(sub)) throw new Error(`FieldsV1 entry ${JSON.stringify(key)} must be a JSON object`);
    if (key.startsWith('f:')) {
      if (prev !== undefined && !(prev < key && prev.startsWith('f:'))) canonical = false;
    } else if (canonicalElement(key) !== key || (prev !== undefined && compareElements(prev, key) >= 0)) canonical = false;
    prev = key;
    if (!checkFieldsV1(sub, false)) canonical = false;
  }
  // "." alone is a member without children: written {}
  if (!root && !first && prev === undefined) canonical = false;
  return canonical;
}

/**
 * Reads metadata.managedFields as decodeManagedFields does (and throws for the same malformed entries),
 * leaving each entry's FieldsV1 unread until its set is needed.
 */
export function readManagedFields(entries: unknown): ManagedFields {
  const out: ManagedFields = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  for (let i = 0; i < entries.length; i++) {
    const e = entryHeader(entries[i], i);
    let fieldsV1: Obj | undefined;
    let canonical = false;
    if (e.fieldsV1 !== undefined && e.fieldsV1 !== null) {
      if (!isPlainObject(e.fieldsV1)) throw new Error('FieldsV1 must be a JSON object');
      fieldsV1 = e.fieldsV1;
      canonical = checkFieldsV1(fieldsV1, true);
    }
    const entry = new LazyEntry(e.manager ?? '', e.operation, e.apiVersion, fieldsV1, canonical);
    if (e.subresource) entry.subresource = e.subresource;
    if (e.time) entry.time = e.time;
    out.set(managerIdentifier(entry), entry);
  }
  return out;
}

/** Whether FieldsV1 holds no field (as a set read from it would be empty). */
function emptyFieldsV1(v: Obj | undefined): boolean {
  if (v) for (const k in v) if (k !== '.') return false;
  return true;
}

/**
 * Canonical FieldsV1 `v` changed as a set read from it would be: the members of `add` added, and the other
 * members of `drop1` and `drop2` taken away (what is below a member taken away stays). Objects below
 * paths the change does not reach are shared with `v`; `v` itself comes back when nothing changed.
 */
export function patchFieldsV1(v: Obj, add: FieldSet | undefined, drop1: FieldSet | undefined, drop2: FieldSet | undefined): Obj {
  let out: [string, Obj][] | undefined;
  let i = 0;
  for (const pe in v) {
    if (pe === '.') continue;
    const sub = v[pe] as Obj;
    const next = patchElement(pe, sub, add, drop1, drop2);
    if (next !== sub && !out) {
      out = [];
      let j = 0;
      for (const k in v) if (k !== '.' && j++ < i) out.push([k, v[k] as Obj]);
    }
    if (out && next) out.push([pe, next]);
    i++;
  }
  let added = false;
  if (add) {
    for (const pe of add.members) if (!(pe in v)) (out ??= copyElements(v)).push([pe, newElement(add, pe)]), (added = true);
    for (const pe of add.children.keys()) if (!(pe in v) && !add.members.has(pe)) (out ??= copyElements(v)).push([pe, newElement(add, pe)]), (added = true);
  }
  if (!out) return v;
  if (added) {
    const fieldsOnly = out.every(([pe]) => pe.startsWith('f:'));
    out.sort(fieldsOnly ? (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) : (a, b) => compareElements(a[0], b[0]));
  }
  const o: Obj = {};
  for (const [pe, sub] of out) o[pe] = sub;
  return o;
}

function copyElements(v: Obj): [string, Obj][] {
  const out: [string, Obj][] = [];
  for (const k in v) if (k !== '.') out.push([k, v[k] as Obj]);
  return out;
}

/** The FieldsV1 of element `pe` that `add` has and the FieldsV1 being patched does not. */
function newElement(add: FieldSet, pe: string): Obj {
  const below = add.children.get(pe);
  if (!below) return {};
  const kids = below.toFieldsV1();
  return add.members.has(pe) ? { '.': {}, ...kids } : kids;
}

/** Element `pe` (FieldsV1 `sub`) patched; undefined when nothing is left of it. */
function patchElement(pe: string, sub: Obj, add: FieldSet | undefined, drop1: FieldSet | undefined, drop2: FieldSet | undefined): Obj | undefined {
  const hasKids = !emptyFieldsV1(sub);
  const member = !hasKids || '.' in sub;
  const addMember = !!add?.members.has(pe);
  const isMember = addMember || (member && !drop1?.members.has(pe) && !drop2?.members.has(pe));
  const addBelow = add?.children.get(pe);
  const drop1Below = drop1?.children.get(pe);
  const drop2Below = drop2?.children.get(pe);
  const before = hasKids ? sub : undefined;
  let kids = before;
  if (hasKids && (addBelow || drop1Below || drop2Below)) kids = patchFieldsV1(sub, addBelow, drop1Below, drop2Below);
  else if (!hasKids && addBelow) kids = addBelow.toFieldsV1();
  if (kids === before && isMember === member) return sub;
  const anyKids = kids !== undefined && !emptyFieldsV1(kids);
  if (!anyKids) return isMember ? {} : undefined;
  if (kids === sub) kids = withoutSelf(sub);
  return isMember ? { '.': {}, ...kids } : kids;
}

function withoutSelf(v: Obj): Obj {
  const out: Obj = {};
  for (const k in v) if (k !== '.') out[k] = v[k];
  return out;
}

let lastTime = '';
let lastSeconds = 0;
function seconds(t: string | undefined): number {
  if (!t) return 0;
  if (t !== lastTime) {
    lastSeconds = Math.floor(Date.parse(t) / 1000) || 0;
    lastTime = t;
  }
  return lastSeconds;
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** metadata.managedFields for these entries, in upstream's order; undefined when there are none. */
export function encodeManagedFields(m: ManagedFields): ManagedFieldsEntry[] | undefined {
  const entries = [...m.values()].filter((e) => {
    const unread = unreadFieldsV1(e);
    return unread ? !emptyFieldsV1(unread) : !e.set.empty();
  });
  if (entries.length === 0) return undefined;
  const at = entries.length > 1 ? new Map(entries.map((e) => [e, seconds(e.time)])) : undefined;
  if (at)
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
    const source = unreadFieldsV1(e) ?? sourceOf(e.set);
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
  /** RFC 3339 timestamp for entries that changed; '' gives them none */
  now: string;
}

const CURRENT_OPERATION = '\u0000current-operation';
export const MAX_UPDATE_MANAGERS = 10;

/**
 * Moves ownership for change `c` (`changed`: its modified and added fields): managers other than `writer`
 * lose fields the writer changed (or, without force, that is a conflict) and fields that are gone. Entries
 * `skip` says were seen to already are left alone.
 */
function takeOwnership(c: Comparison, changed: FieldSet, managers: ManagedFields, writer: string, force: boolean, skip?: (e: ManagerEntry) => boolean): void {
  const conflicts: Conflict[] = [];
  const taken = new Map<string, FieldSet>();
  for (const [id, e] of managers) {
    if (id === writer || skip?.(e) || !e.set.intersects(changed)) continue;
    const clash = e.set.intersection(changed);
    taken.set(id, clash);
    if (!force) for (const path of clash.paths()) conflicts.push({ manager: id, path });
  }
  if (!force && conflicts.length) throw new ApplyConflicts(conflicts, managers);
  for (const [id, e] of managers) {
    if (id === writer || skip?.(e)) continue;
    let set = e.set;
    const clash = taken.get(id);
    if (clash) set = set.difference(clash);
    if (!c.removed.empty()) set = set.difference(c.removed);
    if (set.empty()) managers.delete(id);
    else if (set !== e.set) e.set = set;
  }
}

/** Merges the oldest update entries into "ancient-changes" until at most MAX_UPDATE_MANAGERS remain. */
function capUpdateManagers(managers: ManagedFields): void {
  let n = 0;
  for (const e of managers.values()) if (e.operation === 'Update') n++;
  if (n <= MAX_UPDATE_MANAGERS) return;
  const updaters = [...managers.entries()].filter(([, e]) => e.operation === 'Update');
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
  const c = compare(live, next, o.schema, o.ignored);
  const changed = c.modified.union(c.added);
  const gained = changed.recursiveDifference(o.ignored ?? EMPTY).difference(STRIPPED);
  const entry: ManagerEntry = { manager: manager || 'unknown', operation: 'Update', apiVersion: o.apiVersion, set: gained, time: o.now };
  if (o.subresource) entry.subresource = o.subresource;
  const id = managerIdentifier(entry);
  // Entries in canonical FieldsV1 change there, as their sets would: the writer's loses what changed or went
  // away and gains what it set; the others lose what changed or went away.
  for (const [eid, e] of managers) {
    const v = canonicalFieldsV1(e);
    if (!v) continue;
    const patched = patchFieldsV1(v, eid === id ? gained : undefined, changed, c.removed);
    if (emptyFieldsV1(patched)) managers.delete(eid);
    else if (patched !== v) (e as LazyEntry).patched(patched);
  }
  takeOwnership(c, changed, managers, CURRENT_OPERATION, true, isCanonical);
  if (!gained.empty()) {
    const prev = managers.get(id);
    if (prev && isCanonical(prev)) prev.time = o.now;
    else {
      if (prev) entry.set = gained.difference(prev.set).empty() ? prev.set : prev.set.union(gained);
      managers.set(id, entry);
    }
  }
  capUpdateManagers(managers);
}

const EMPTY = new FieldSet();
const isCanonical = (e: ManagerEntry): boolean => canonicalFieldsV1(e) !== undefined;

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
  const c = compare(live, pruned, o.schema, o.ignored);
  takeOwnership(c, c.modified.union(c.added), managers, id, force);
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
