// Applying a strategic merge patch (`application/strategic-merge-patch+json`) with upstream's semantics:
// maps merge recursively and `null` deletes; lists merge element-wise on their merge key, primitive lists with
// strategy merge are sets; the directives `$patch` (replace|delete), `$retainKeys`, `$setElementOrder/<list>`
// and `$deleteFromPrimitiveList/<list>` are honoured. A patch that cannot apply is a 400 BadRequest.
import { errBadRequest } from '../errors.js';
import { deepClone, deepEqual, isPlainObject } from '../object.js';
import type { SMPField, SMPType } from './schema.js';

type JSONObject = Record<string, unknown>;

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';

const BAD_PRIMITIVE_LIST = 'invalid patch format of primitive list';
const BAD_RETAIN_KEYS = 'invalid patch format of retainKeys';
const BAD_SET_ELEMENT_ORDER = 'invalid patch format of setElementOrder list';

/**
 * Applies `patch` to `original` (neither is modified) and returns the patched object.
 * `schema` names the merge keys and strategies; without one (custom resources, unknown fields) lists replace.
 */
export function applyStrategicMergePatch(original: unknown, patch: unknown, schema: SMPType | undefined): unknown {
  if (!isPlainObject(patch)) throw errBadRequest('a strategic merge patch must be a JSON object');
  const base: JSONObject = isPlainObject(original) ? deepClone(original) : {};
  return mergeObject(base, patch, schema, '');
}

function bad(path: string, message: string) {
  return errBadRequest(path ? `${path}: ${message}` : message);
}

const show = (v: unknown) => JSON.stringify(v);
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
const shapeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'map' : typeof v);

/** `$setElementOrder/containers` → `containers`; a missing or empty field name is a malformed patch. */
function directiveField(key: string, prefix: string, message: string, path: string): string {
  const field = key.startsWith(prefix + '/') ? key.slice(prefix.length + 1) : '';
  if (!field) throw bad(path, message);
  return field;
}

function checkDirectiveKeys(patch: JSONObject, path: string): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith('$') || key === PATCH || key === RETAIN_KEYS) continue;
    if (key.startsWith(SET_ELEMENT_ORDER)) directiveField(key, SET_ELEMENT_ORDER, BAD_SET_ELEMENT_ORDER, path);
    else if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) directiveField(key, DELETE_FROM_PRIMITIVE_LIST, BAD_PRIMITIVE_LIST, path);
    else throw bad(path, `unknown strategic merge patch directive ${show(key)}`);
  }
}

function unknownPatchType(directive: unknown, m: JSONObject, path: string) {
  return bad(path, `unknown patch type: ${String(directive)} in map: ${show(m)}`);
}

/** Merges `patch` into `out` (owned by us, modified in place) and returns the result. */
function mergeObject(out: JSONObject, patch: JSONObject, schema: SMPType | undefined, path: string): JSONObject {
  if (PATCH in patch) {
    const directive = patch[PATCH];
    if (directive === 'replace') return cleanObject(patch, schema, path);
    if (directive === 'delete') return {};
    throw unknownPatchType(directive, patch, path);
  }
  checkDirectiveKeys(patch, path);
  if (RETAIN_KEYS in patch) applyRetainKeys(out, patch, path);

  const ordered = new Set<string>();
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER + '/')) continue;
    const field = key.slice(SET_ELEMENT_ORDER.length + 1);
    if (applySetElementOrder(out, patch, key, field, schema?.fields[field], join(path, field))) ordered.add(field);
  }

  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST + '/')) {
      deleteFromPrimitiveList(out, key.slice(DELETE_FROM_PRIMITIVE_LIST.length + 1), value, path);
      continue;
    }
    if (key.startsWith('$') || ordered.has(key)) continue;
    if (value === null) {
      delete out[key];
      continue;
    }
    const merged = mergeValue(out[key], value, schema?.fields[key], join(path, key));
    if (merged === undefined) delete out[key];
    else out[key] = merged;
  }
  return out;
}

/** The value a field takes; undefined removes it. */
function mergeValue(current: unknown, value: unknown, field: SMPField | undefined, path: string): unknown {
  if (current === undefined) return clean(value, field, path);
  if (Array.isArray(value)) {
    checkShape(value, field, path);
    if (!Array.isArray(current)) return clean(value, field, path);
    if (field?.kind === 'list' && field.mergeKey) return mergeKeyedList(current, value, field.mergeKey, field.elem, path);
    if (field?.kind === 'set') return mergeSet(current, value, path);
    return clean(value, field, path);
  }
  if (isPlainObject(value)) {
    checkShape(value, field, path);
    if (!isPlainObject(current)) return clean(value, field, path);
    if (field?.kind === 'object' && field.strategy === 'replace') return clean(value, field, path);
    return mergeObject(current, value, field?.kind === 'object' ? field.type : undefined, path);
  }
  checkShape(value, field, path);
  return value;
}

/** A patch value of the wrong shape for a known field (a list where a map belongs, …) cannot apply. */
function checkShape(value: unknown, field: SMPField | undefined, path: string): void {
  if (!field || value === null) return;
  const wantList = field.kind === 'list' || field.kind === 'set';
  if (wantList ? Array.isArray(value) : isPlainObject(value)) return;
  throw bad(path, `expected a ${wantList ? 'list' : 'map'}, but received a ${shapeOf(value)}`);
}

/**
 * A patch value taken as it is (nothing to merge it with): directives are dropped, a map marked
 * `$patch: delete` disappears, nulls inside maps are dropped.
 */
function clean(value: unknown, field: SMPField | undefined, path: string): unknown {
  checkShape(value, field, path);
  if (Array.isArray(value)) {
    const elem = field?.kind === 'list' ? field.elem : undefined;
    const out: unknown[] = [];
    value.forEach((v, i) => {
      if (isPlainObject(v) && PATCH in v) {
        checkListDirective(v[PATCH], v, path);
        return;
      }
      out.push(isPlainObject(v) ? cleanObject(v, elem, `${path}[${i}]`) : deepClone(v));
    });
    return out;
  }
  if (isPlainObject(value)) {
    if (PATCH in value) {
      const directive = value[PATCH];
      if (directive === 'delete') return undefined;
      if (directive !== 'replace') throw unknownPatchType(directive, value, path);
    }
    return cleanObject(value, field?.kind === 'object' ? field.type : undefined, path);
  }
  return value;
}

function cleanObject(value: JSONObject, schema: SMPType | undefined, path: string): JSONObject {
  checkDirectiveKeys(value, path);
  const out: JSONObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$') || v === null) continue;
    const c = clean(v, schema?.fields[k], join(path, k));
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/** `$patch` inside a list element: delete (by merge key) and replace (the whole list) are the only ones upstream knows. */
function checkListDirective(directive: unknown, element: JSONObject, path: string): void {
  if (directive === 'delete' || directive === 'replace') return;
  if (directive === 'merge') throw bad(path, 'merging lists cannot yet be specified in the patch');
  throw unknownPatchType(directive, element, path);
}

function noMergeKey(m: unknown, mergeKey: string, path: string) {
  return bad(path, `map: ${show(m)} does not contain declared merge key: ${mergeKey}`);
}

const sameKey = (a: unknown, b: unknown) => a === b || (typeof a === 'object' && a !== null && deepEqual(a, b));
const indexOfKey = (keys: readonly unknown[], key: unknown) => (key === undefined ? -1 : keys.findIndex((k) => sameKey(k, key)));

function keyOf(element: unknown, mergeKey: string): unknown {
  return isPlainObject(element) ? element[mergeKey] : undefined;
}

/** A list whose elements merge on `mergeKey`: deletions first, then merges and appends, then upstream's ordering. */
function mergeKeyedList(current: unknown[], patch: unknown[], mergeKey: string, elem: SMPType | undefined, path: string): unknown[] {
  if (current.length === 0 && patch.length === 0) return current;
  let list = current;
  const plain: JSONObject[] = [];
  let replace = false;
  for (const e of patch) {
    if (!isPlainObject(e)) throw bad(path, `expected a map in a list merged on ${mergeKey}, but received a ${shapeOf(e)}`);
    if (!(PATCH in e)) {
      plain.push(e);
      continue;
    }
    checkListDirective(e[PATCH], e, path);
    if (e[PATCH] === 'replace') {
      replace = true;
      continue;
    }
    const key = e[mergeKey];
    if (key === undefined) throw noMergeKey(e, mergeKey, path);
    list = list.filter((x) => !sameKey(keyOf(x, mergeKey), key));
  }
  for (const e of plain) if (e[mergeKey] === undefined) throw noMergeKey(e, mergeKey, path);
  if (replace) return plain.map((e, i) => cleanObject(e, elem, `${path}[${i}]`));

  const serverOrder = list.map((x) => keyOf(x, mergeKey));
  const merged = list.slice();
  for (const e of plain) {
    const key = e[mergeKey];
    const at = merged.findIndex((x) => sameKey(keyOf(x, mergeKey), key));
    const where = `${path}[${mergeKey}=${typeof key === 'string' ? key : show(key)}]`;
    if (at >= 0 && isPlainObject(merged[at])) merged[at] = mergeObject(merged[at] as JSONObject, e, elem, where);
    else merged.push(cleanObject(e, elem, where));
  }
  return orderLikeUpstream(
    merged,
    (x) => keyOf(x, mergeKey),
    plain.map((e) => e[mergeKey]),
    serverOrder,
  );
}

function checkPrimitives(list: unknown[], path: string): void {
  let type: string | undefined;
  for (const v of list) {
    if (v !== null && typeof v === 'object') throw bad(path, `expected primitives in a merged list, but received a ${shapeOf(v)}`);
    if (type !== undefined && typeof v !== type) throw bad(path, 'list element types are not identical');
    type = typeof v;
  }
}

/** A primitive list with strategy merge: a set union, ordered as upstream orders it. */
function mergeSet(current: unknown[], patch: unknown[], path: string): unknown[] {
  checkPrimitives([...current, ...patch], path);
  if (current.length === 0 && patch.length === 0) return current;
  const merged: unknown[] = [];
  for (const v of [...current, ...patch]) if (!merged.includes(v)) merged.push(v);
  return orderLikeUpstream(merged, (x) => x, patch, current);
}

/**
 * Upstream's order for a merged list: the items named by the patch (or by `$setElementOrder`) in the
 * patch's order, interleaved with the server-only items in their live order; a server-only item goes
 * before a patch item only when both are live and it was before it.
 */
function orderLikeUpstream(merged: unknown[], key: (x: unknown) => unknown, patchOrder: readonly unknown[], serverOrder: readonly unknown[]): unknown[] {
  const rank = (order: readonly unknown[]) => (x: unknown) => {
    const i = indexOfKey(order, key(x));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const inPatch = rank(patchOrder);
  const inServer = rank(serverOrder);
  const patchItems = merged.filter((x) => indexOfKey(patchOrder, key(x)) >= 0).sort((a, b) => inPatch(a) - inPatch(b));
  const serverOnly = merged.filter((x) => indexOfKey(patchOrder, key(x)) < 0).sort((a, b) => inServer(a) - inServer(b));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (j >= patchItems.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(patchItems[j++]);
    else {
      const li = indexOfKey(serverOrder, key(serverOnly[i]));
      const ri = indexOfKey(serverOrder, key(patchItems[j]));
      out.push(li >= 0 && ri >= 0 && li < ri ? serverOnly[i++] : patchItems[j++]);
    }
  }
  return out;
}

/** `$retainKeys`: every key the patch sets must be listed; keys of the live map not listed are cleared. */
function applyRetainKeys(out: JSONObject, patch: JSONObject, path: string): void {
  const retain = patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw bad(path, BAD_RETAIN_KEYS);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith('$')) continue;
    if (!retain.includes(k)) throw bad(path, BAD_RETAIN_KEYS);
  }
  for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
}

/** `$deleteFromPrimitiveList/<list>`: removes the given values from a live primitive list. */
function deleteFromPrimitiveList(out: JSONObject, field: string, values: unknown, path: string): void {
  if (!Array.isArray(values)) throw bad(join(path, field), BAD_PRIMITIVE_LIST);
  const current = out[field];
  if (!Array.isArray(current)) return;
  out[field] = current.filter((x) => !values.some((d) => sameKey(d, x)));
}

/**
 * `$setElementOrder/<list>`: merges the list (if the patch carries it) and orders the result as the directive
 * says, live-only items keeping their place. Returns whether the list is done; a list that is not merged
 * (unknown or atomic) ignores the directive and is patched normally.
 */
function applySetElementOrder(out: JSONObject, patch: JSONObject, key: string, field: string, meta: SMPField | undefined, path: string): boolean {
  const order = patch[key];
  if (!Array.isArray(order)) throw bad(path, BAD_SET_ELEMENT_ORDER);
  const mergeKey = meta?.kind === 'list' ? meta.mergeKey : undefined;
  if (!mergeKey && meta?.kind !== 'set') return false;
  const current = out[field];
  const list = patch[field];
  if (current !== undefined && !Array.isArray(current)) throw bad(path, `expected a list, but received a ${shapeOf(current)}`);
  if (list !== undefined && !Array.isArray(list)) throw bad(path, BAD_SET_ELEMENT_ORDER);

  const keyFn = mergeKey ? (x: unknown) => keyOf(x, mergeKey) : (x: unknown) => x;
  if (mergeKey) for (const o of order) if (keyOf(o, mergeKey) === undefined) throw noMergeKey(o, mergeKey, path);
  checkPatchFollowsOrder(list ?? [], order, keyFn, mergeKey, path);

  let merged: unknown[];
  if (current === undefined && list === undefined) return true;
  if (list === undefined) merged = current as unknown[];
  else if (current === undefined) merged = clean(list, meta, path) as unknown[];
  else merged = mergeValue(current, list, meta, path) as unknown[];

  const liveOrder = mergeKey && current && list ? liveOrderAfterInPlaceEdits(current as unknown[], list, mergeKey) : (current ?? []).map(keyFn);
  out[field] = orderLikeUpstream(merged, keyFn, order.map(keyFn), liveOrder);
  return true;
}

/**
 * The live order upstream's `$setElementOrder` step compares against. Upstream deletes and appends on the live
 * Go slice in place, so its view of the live list has deleted slots shifted out and filled by appended items;
 * kubectl users see the resulting order (e.g. a replaced container lands after a server-added sidecar).
 */
function liveOrderAfterInPlaceEdits(current: unknown[], patch: unknown[], mergeKey: string): unknown[] {
  const backing = current.map((x) => keyOf(x, mergeKey));
  const logical = backing.slice();
  for (const e of patch) {
    if (!isPlainObject(e) || e[PATCH] !== 'delete') continue;
    for (let i = indexOfKey(logical, e[mergeKey]); i >= 0; i = indexOfKey(logical, e[mergeKey])) {
      logical.splice(i, 1);
      backing.copyWithin(i, i + 1, logical.length + 1);
    }
  }
  if (patch.some((e) => isPlainObject(e) && e[PATCH] === 'replace')) return backing;
  for (const e of patch) {
    if (!isPlainObject(e) || PATCH in e || indexOfKey(logical, e[mergeKey]) >= 0) continue;
    if (logical.length < backing.length) backing[logical.length] = e[mergeKey];
    logical.push(e[mergeKey]);
  }
  return backing;
}

/** The patch's own items (deletions aside) must appear in `$setElementOrder` and in the same relative order. */
function checkPatchFollowsOrder(list: unknown[], order: unknown[], keyFn: (x: unknown) => unknown, mergeKey: string | undefined, path: string): void {
  const items = list.filter((x) => !(isPlainObject(x) && PATCH in x));
  let o = 0;
  for (const item of items) {
    if (mergeKey && keyOf(item, mergeKey) === undefined) throw noMergeKey(item, mergeKey, path);
    while (o < order.length && !sameKey(keyFn(order[o]), keyFn(item))) o++;
    if (o === order.length) throw bad(path, `the order in patch list ${show(list)} doesn't match $setElementOrder list ${show(order)}`);
    o++;
  }
}
