// Walks over objects guided by their SSA schema: the field set an object sets, the difference between
// two objects, merging an applied configuration into a live object, and removing a set of fields.
import { errBadRequest } from '../errors.js';
import { deepEqual, isPlainObject } from '../object.js';
import { fieldElement, FieldSet, goJSON, keyElement, pathString, valueElement, type FieldPath } from './fieldset.js';
import { fieldNode, resolveNode, structural, type SSANode } from './schema.js';

type Obj = Record<string, unknown>;
type ListNode = Extract<SSANode, { kind: 'list' }>;

const isEmptyObject = (v: unknown): boolean => isPlainObject(v) && Object.keys(v).length === 0;

/** The path element of one item of an associative list or set. */
export function itemElement(node: SSANode, item: unknown, at: FieldPath = []): string {
  if (node.kind === 'set') {
    if (isPlainObject(item) || Array.isArray(item))
      throw errBadRequest(`${pathString(at) || '.'}: associative list without keys has an element that's a map type`);
    return valueElement(item);
  }
  const list = node as ListNode;
  if (item === null) throw errBadRequest(`${pathString(at) || '.'}: associative list with keys may not have a null element`);
  if (!isPlainObject(item)) throw errBadRequest(`${pathString(at) || '.'}: associative list with keys may not have non-map elements`);
  if (list.keys.length === 1) {
    const k = list.keys[0];
    let v = item[k];
    if (v === undefined || v === null) v = list.keyDefaults && k in list.keyDefaults ? list.keyDefaults[k] : undefined;
    if (v !== undefined) return singleKeyElement(k, v);
  } else {
    const key: Obj = {};
    let any = false;
    for (const k of list.keys) {
      if (item[k] !== undefined && item[k] !== null) key[k] = item[k];
      else if (list.keyDefaults && k in list.keyDefaults) key[k] = list.keyDefaults[k];
      else continue;
      any = true;
    }
    if (any) return keyElement(key);
  }
  throw errBadRequest(
    `${pathString(at) || '.'}: associative list with keys has an element that omits all key fields ${JSON.stringify(list.keys)} (and doesn't have default values for any key fields)`,
  );
}

/** `k:` elements of items keyed by one field, by field name and key value (keyElement's spelling). */
const singleKeyElements = new Map<string, Map<unknown, string>>();
const MAX_SINGLE_KEY_ELEMENTS = 20_000;

function singleKeyElement(name: string, value: unknown): string {
  let byValue = singleKeyElements.get(name);
  if (byValue === undefined) {
    byValue = new Map();
    singleKeyElements.set(name, byValue);
  }
  let pe = byValue.get(value);
  if (pe === undefined) {
    pe = `k:{${goJSON(name)}:${goJSON(value)}}`;
    if (typeof value !== 'object') {
      if (byValue.size >= MAX_SINGLE_KEY_ELEMENTS) byValue.clear();
      byValue.set(value, pe);
    }
  }
  return pe;
}

/** Whether an object has a key (without listing them). */
function hasKeys(o: Obj): boolean {
  for (const _ in o) return true;
  return false;
}

// ---- the field set of a value ----

/** The set of fields `value` (an object) sets, as upstream's ToFieldSet. */
export function toFieldSet(value: unknown, node: SSANode): FieldSet {
  const set = new FieldSet();
  collect(set, value, resolveNode(node, value), []);
  return set;
}

/** `at` is the path walked so far, a stack the walkers push to and pop from. */
function collect(set: FieldSet, v: unknown, node: SSANode, at: string[]): void {
  switch (node.kind) {
    case 'struct':
    case 'map': {
      if (!isPlainObject(v)) return;
      for (const [k, child] of Object.entries(v)) {
        if (child === undefined) continue;
        const pe = fieldElement(k);
        at.push(pe);
        addChild(set, pe, child, resolveNode(fieldNode(node, k), child), at);
        at.pop();
        if (child === null || isEmptyObject(child) || node.kind === 'map') set.members.add(pe);
      }
      return;
    }
    case 'list':
    case 'set': {
      if (!Array.isArray(v)) return;
      const seen = new Set<string>();
      for (const item of v) {
        const pe = itemElement(node, item, at);
        if (node.kind === 'list' && !seen.has(pe)) {
          at.push(pe);
          addChild(set, pe, item, resolveNode(node.elem, item), at);
          at.pop();
        }
        seen.add(pe);
        set.members.add(pe);
      }
      return;
    }
    default:
      return;
  }
}

function addChild(set: FieldSet, pe: string, v: unknown, node: SSANode, at: string[]): void {
  if (node.kind === 'atomic' || node.kind === 'deduced') {
    set.members.add(pe);
    return;
  }
  const isContainer = node.kind === 'struct' || node.kind === 'map' ? isPlainObject(v) : Array.isArray(v);
  if (!isContainer) {
    set.members.add(pe);
    return;
  }
  const sub = new FieldSet();
  collect(sub, v, node, at);
  set.attach(pe, sub);
}

// ---- comparing two objects ----

export interface Comparison {
  /** fields set in the new object only (a new struct, item or map key is itself a member) */
  added: FieldSet;
  /** leaf fields whose value changed */
  modified: FieldSet;
  /** fields set in the old object only */
  removed: FieldSet;
}

/**
 * What changed from `lhs` to `rhs` (both objects), as upstream's Compare; fields that are members of
 * `skip` (and what is below them) are left out.
 */
export function compare(lhs: unknown, rhs: unknown, node: SSANode, skip?: FieldSet): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  const n = resolveNode(node, lhs, rhs);
  const root = new Where(undefined, '');
  root.added = c.added;
  root.modified = c.modified;
  root.removed = c.removed;
  compareContainer(isPlainObject(lhs) ? lhs : {}, isPlainObject(rhs) ? rhs : {}, n, [], root, skip);
  return c;
}

/** A container compare is in: its node in each result set, made when something below it is first recorded. */
class Where {
  added: FieldSet | undefined;
  modified: FieldSet | undefined;
  removed: FieldSet | undefined;
  constructor(
    readonly parent: Where | undefined,
    readonly pe: string,
  ) {}
}

type Result = 'added' | 'modified' | 'removed';

function resultNode(w: Where, which: Result): FieldSet {
  let node = w[which];
  if (node === undefined) {
    const parent = resultNode(w.parent!, which);
    node = parent.children.get(w.pe);
    if (node === undefined) {
      node = new FieldSet();
      parent.children.set(w.pe, node);
    }
    w[which] = node;
  }
  return node;
}

/** Compares the values at element `pe` of the container at `w` (`at` ends with `pe`). */
function compareValue(l: unknown, r: unknown, node: SSANode, pe: string, at: string[], w: Where, skip: FieldSet | undefined): void {
  const n = node.kind === 'deduced' ? resolveNode(node, l, r) : node;
  switch (n.kind) {
    case 'struct':
    case 'map': {
      const L = isPlainObject(l) ? l : EMPTY_OBJECT;
      const R = isPlainObject(r) ? r : EMPTY_OBJECT;
      if (hasKeys(L) || hasKeys(R)) {
        compareContainer(L, R, n, at, new Where(w, pe), skip);
        addedOrRemoved(l, r, pe, w);
        return;
      }
      break;
    }
    case 'list':
    case 'set': {
      const L = Array.isArray(l) ? l : EMPTY_LIST;
      const R = Array.isArray(r) ? r : EMPTY_LIST;
      if (L.length || R.length) {
        compareContainer(L, R, n, at, new Where(w, pe), skip);
        addedOrRemoved(l, r, pe, w);
        return;
      }
      break;
    }
  }
  // a leaf: a scalar, an atomic value or an empty container
  if (l === undefined) resultNode(w, 'added').members.add(pe);
  else if (r === undefined) resultNode(w, 'removed').members.add(pe);
  else if (!deepEqual(l, r)) resultNode(w, 'modified').members.add(pe);
}

/** A container only one side has is itself added or removed, besides what is in it. */
function addedOrRemoved(l: unknown, r: unknown, pe: string, w: Where): void {
  if (l === undefined) resultNode(w, 'added').members.add(pe);
  else if (r === undefined) resultNode(w, 'removed').members.add(pe);
}

const EMPTY_OBJECT: Obj = Object.freeze({}) as Obj;
const EMPTY_LIST: unknown[] = Object.freeze([]) as unknown as unknown[];

function compareChild(l: unknown, r: unknown, node: SSANode, pe: string, at: string[], w: Where, skip: FieldSet | undefined): void {
  if (skip?.members.has(pe)) return;
  at.push(pe);
  compareValue(l, r, node, pe, at, w, skip?.children.get(pe));
  at.pop();
}

function compareContainer(L: Obj | unknown[], R: Obj | unknown[], n: SSANode, at: string[], w: Where, skip: FieldSet | undefined): void {
  if (n.kind === 'struct' || n.kind === 'map') {
    const l = L as Obj;
    const r = R as Obj;
    for (const k in l) if (l[k] !== undefined) compareChild(l[k], r[k], fieldNode(n, k), fieldElement(k), at, w, skip);
    for (const k in r) if (r[k] !== undefined && l[k] === undefined) compareChild(undefined, r[k], fieldNode(n, k), fieldElement(k), at, w, skip);
    return;
  }
  if (n.kind !== 'list' && n.kind !== 'set') return;
  const elem = n.kind === 'list' ? n.elem : ATOMIC;
  const lItems = indexItems(n, L as unknown[], at);
  const rItems = indexItems(n, R as unknown[], at);
  for (const [pe, item] of lItems) compareChild(item, rItems.get(pe), elem, pe, at, w, skip);
  for (const [pe, item] of rItems) if (!lItems.has(pe)) compareChild(undefined, item, elem, pe, at, w, skip);
}

const ATOMIC: SSANode = { kind: 'atomic' };

/** Items by path element; the first of duplicated items stands for them all. */
function indexItems(n: SSANode, items: unknown[], at: string[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const item of items) {
    const pe = itemElement(n, item, at);
    if (!out.has(pe)) out.set(pe, item);
  }
  return out;
}

// ---- merging an applied configuration ----

/**
 * `rhs` (an applied configuration) merged into `lhs` (the live object): structs and maps merge field by
 * field, associative lists and sets item by item, everything else is taken from `rhs`. A `null` in `rhs`
 * unsets the field.
 */
export function merge(lhs: unknown, rhs: unknown, node: SSANode): Obj {
  const out = mergeValue(lhs, rhs, node, []);
  return isPlainObject(out) ? out : {};
}

function mergeValue(l: unknown, r: unknown, node: SSANode, at: string[]): unknown {
  if (r === undefined) return l;
  if (r === null) return undefined;
  const n = resolveNode(node, l, r);
  switch (n.kind) {
    case 'struct':
    case 'map': {
      if (!isPlainObject(r)) return r;
      const L = isPlainObject(l) ? l : {};
      const out: Obj = {};
      for (const k of Object.keys(L)) {
        if (!(k in r)) {
          out[k] = L[k];
          continue;
        }
        at.push(fieldElement(k));
        const v = mergeValue(L[k], r[k], fieldNode(n, k), at);
        at.pop();
        if (v !== undefined) out[k] = v;
      }
      for (const k of Object.keys(r)) {
        if (k in L) continue;
        at.push(fieldElement(k));
        const v = mergeValue(undefined, r[k], fieldNode(n, k), at);
        at.pop();
        if (v !== undefined) out[k] = v;
      }
      return out;
    }
    case 'list':
    case 'set':
      if (!Array.isArray(r)) return r;
      return mergeList(Array.isArray(l) ? l : [], r, n, at);
    default:
      return structuredClone(r);
  }
}

/** Items of both lists, merged by key; items only in `l` keep their place, `r` decides the order of the rest. */
function mergeList(l: unknown[], r: unknown[], n: SSANode, at: string[]): unknown[] {
  const elem = n.kind === 'list' ? n.elem : ATOMIC;
  const rPEs = r.map((item) => itemElement(n, item, at));
  const rSeen = new Set<string>();
  for (const pe of rPEs) {
    if (rSeen.has(pe)) throw errBadRequest(`${pathString(at) || '.'}: duplicate entries for key ${pathString([pe])}`);
    rSeen.add(pe);
  }
  const lItems = new Map<string, unknown>();
  const lPEs = l.map((item) => itemElement(n, item, at));
  lPEs.forEach((pe, i) => {
    if (!lItems.has(pe)) lItems.set(pe, l[i]);
  });
  const out: unknown[] = [];
  const emitted = new Set<string>();
  let ri = 0;
  const emitNextFromR = (): string => {
    const pe = rPEs[ri];
    at.push(pe);
    const v = mergeValue(lItems.get(pe), r[ri], elem, at);
    at.pop();
    ri++;
    emitted.add(pe);
    if (v !== undefined) out.push(v);
    return pe;
  };
  lPEs.forEach((pe, i) => {
    if (!rSeen.has(pe)) {
      out.push(l[i]);
      return;
    }
    if (emitted.has(pe)) return;
    // a shared item: bring the right-hand list up to (and including) its next shared item
    while (ri < r.length) if (lItems.has(emitNextFromR())) break;
  });
  while (ri < r.length) emitNextFromR();
  return out;
}

// ---- removing fields ----

/** `value` without the members of `set` (a removed member takes what is below it); emptied containers disappear. */
export function removeItems(value: unknown, set: FieldSet, node: SSANode): Obj {
  const out = removeFrom(value, set, resolveNode(node, value), []);
  return isPlainObject(out) ? out : {};
}

function removeFrom(v: unknown, set: FieldSet, n: SSANode, at: string[]): unknown {
  switch (n.kind) {
    case 'struct':
    case 'map': {
      if (!isPlainObject(v) || Object.keys(v).length === 0) return v;
      const out: Obj = {};
      for (const [k, child] of Object.entries(v)) {
        const pe = fieldElement(k);
        if (set.members.has(pe)) continue;
        const sub = set.children.get(pe);
        let kept = child;
        if (sub) {
          at.push(pe);
          kept = removeFrom(child, sub, resolveNode(fieldNode(n, k), child), at);
          at.pop();
        }
        if (kept !== undefined) out[k] = kept;
      }
      return Object.keys(out).length ? out : undefined;
    }
    case 'list':
    case 'set': {
      if (!Array.isArray(v) || v.length === 0) return v;
      const out: unknown[] = [];
      for (const item of v) {
        const pe = itemElement(n, item, at);
        if (set.members.has(pe)) continue;
        const sub = set.children.get(pe);
        let kept = item;
        if (sub && n.kind === 'list') {
          at.push(pe);
          kept = removeFrom(item, sub, resolveNode(n.elem, item), at);
          at.pop();
        }
        if (kept !== undefined) out.push(kept);
      }
      return out.length ? out : undefined;
    }
    default:
      return v;
  }
}

/** `set` plus, as members, every struct field on the way to its members (upstream's EnsureNamedFieldsAreMembers). */
export function ensureNamedFieldsAreMembers(set: FieldSet, node: SSANode): FieldSet {
  const out = new FieldSet();
  const n = structural(node);
  for (const m of set.members) out.members.add(m);
  for (const [pe, sub] of set.children) {
    let childNode: SSANode = { kind: 'atomic' };
    if (n.kind === 'struct' || n.kind === 'map') {
      if (pe.startsWith('f:')) {
        childNode = fieldNode(n, pe.slice(2));
        if (n.kind === 'struct') out.members.add(pe);
      }
    } else if (n.kind === 'list') childNode = n.elem;
    out.attach(pe, ensureNamedFieldsAreMembers(sub, childNode));
  }
  return out;
}
