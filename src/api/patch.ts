// JSON merge patch (RFC 7386) and JSON patch (RFC 6902) over plain JSON values.
import { errBadRequest, StatusError } from './errors.js';
import { deepClone, deepEqual, isPlainObject } from './object.js';

/** RFC 7386: objects merge recursively, `null` deletes, everything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return deepClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

export interface JSONPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(ptr: unknown, what: string): string[] {
  if (typeof ptr !== 'string') throw errBadRequest(`${what}: must be a JSON pointer string`);
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw errBadRequest(`${what}: JSON pointer "${ptr}" must start with '/'`);
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function resolveParent(doc: unknown, segs: string[], ptr: string): { parent: Container; key: string } {
  let cur: unknown = doc;
  for (const seg of segs.slice(0, -1)) {
    if (Array.isArray(cur)) {
      const i = arrayIndex(seg, cur.length - 1, ptr);
      cur = cur[i];
    } else if (isPlainObject(cur)) {
      if (!(seg in cur)) throw errBadRequest(`the server rejected our request due to an error in our request: doc is missing path: "${ptr}"`);
      cur = cur[seg];
    } else throw errBadRequest(`doc is missing path: "${ptr}"`);
  }
  if (!Array.isArray(cur) && !isPlainObject(cur)) throw errBadRequest(`doc is missing path: "${ptr}"`);
  return { parent: cur, key: segs[segs.length - 1] };
}

function arrayIndex(seg: string, max: number, ptr: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(seg)) throw errBadRequest(`invalid array index "${seg}" in path "${ptr}"`);
  const i = Number(seg);
  if (i > max) throw errBadRequest(`Unable to access invalid index: ${i} (path "${ptr}")`);
  return i;
}

function getAt(doc: unknown, ptr: string): unknown {
  const segs = parsePointer(ptr, 'path');
  if (segs.length === 0) return doc;
  const { parent, key } = resolveParent(doc, segs, ptr);
  if (Array.isArray(parent)) return parent[arrayIndex(key, parent.length - 1, ptr)];
  if (!(key in parent)) throw errBadRequest(`doc is missing path: "${ptr}"`);
  return parent[key];
}

function removeAt(doc: unknown, ptr: string): unknown {
  const segs = parsePointer(ptr, 'path');
  if (segs.length === 0) throw errBadRequest('cannot remove the whole document');
  const { parent, key } = resolveParent(doc, segs, ptr);
  if (Array.isArray(parent)) {
    const i = arrayIndex(key, parent.length - 1, ptr);
    return parent.splice(i, 1)[0];
  }
  if (!(key in parent)) throw errBadRequest(`unable to remove nonexistent key: ${key}: missing value (path "${ptr}")`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: unknown, ptr: string, value: unknown): unknown {
  const segs = parsePointer(ptr, 'path');
  if (segs.length === 0) return value;
  const { parent, key } = resolveParent(doc, segs, ptr);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : arrayIndex(key, parent.length, ptr);
    parent.splice(i, 0, value);
  } else parent[key] = value;
  return doc;
}

function replaceAt(doc: unknown, ptr: string, value: unknown): unknown {
  const segs = parsePointer(ptr, 'path');
  if (segs.length === 0) return value;
  const { parent, key } = resolveParent(doc, segs, ptr);
  if (Array.isArray(parent)) parent[arrayIndex(key, parent.length - 1, ptr)] = value;
  else {
    if (!(key in parent)) throw errBadRequest(`replace operation does not apply: doc is missing key: ${ptr}: missing value`);
    parent[key] = value;
  }
  return doc;
}

/** RFC 6902 on a copy of `target`; any failing operation (including `test`) rejects the whole patch. */
export function applyJSONPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw errBadRequest('a JSON patch must be a list of operations');
  let doc = deepClone(target);
  for (const raw of ops) {
    if (!isPlainObject(raw)) throw errBadRequest('each JSON patch operation must be an object');
    const op = raw as unknown as JSONPatchOp;
    switch (op.op) {
      case 'add':
        if (!('value' in raw)) throw errBadRequest(`add operation missing value (path "${op.path}")`);
        doc = addAt(doc, op.path, deepClone(op.value));
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'replace':
        if (!('value' in raw)) throw errBadRequest(`replace operation missing value (path "${op.path}")`);
        doc = replaceAt(doc, op.path, deepClone(op.value));
        break;
      case 'move': {
        const from = String(op.from ?? '');
        if (typeof op.path === 'string' && op.path.startsWith(from + '/')) throw errBadRequest('cannot move a value into one of its children');
        const v = removeAt(doc, from);
        doc = addAt(doc, op.path, v);
        break;
      }
      case 'copy':
        doc = addAt(doc, op.path, deepClone(getAt(doc, String(op.from ?? ''))));
        break;
      case 'test':
        if (!deepEqual(getAt(doc, op.path), op.value))
          throw new StatusError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${op.path} failed: test failed`);
        break;
      default:
        throw errBadRequest(`Unexpected kind: ${String((raw as { op?: unknown }).op)}`);
    }
  }
  return doc;
}
