// A custom resource against its CRD's structural schema: pruning of undeclared fields, `default`
// values, and validation of the OpenAPI v3 keywords CRDs use, worded as upstream's validator words them.
import type { CRDSchema } from '../../api/kinds/crd.js';
import { type FieldError, notSupported, required, tooLong, typeInvalid, invalidValue } from '../../api/errors.js';
import { deepClone, deepEqual, isPlainObject } from '../../api/object.js';
import { builtinSchema, unknownFields } from '../../api/schema/index.js';

const OBJECT_META = { kind: 'ref', name: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' } as const;
const RESOURCE_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

const child = (path: string, key: string) => (path ? `${path}.${key}` : key);
const itemsOf = (s: CRDSchema): CRDSchema | undefined => (isPlainObject(s.items) ? (s.items as CRDSchema) : undefined);
const additionalOf = (s: CRDSchema): CRDSchema | undefined => (isPlainObject(s.additionalProperties) ? (s.additionalProperties as CRDSchema) : undefined);

/**
 * Visits every field the schema does not declare (and that no `x-kubernetes-preserve-unknown-fields`
 * keeps), depth first in sorted key order. At the root and in embedded resources, apiVersion, kind and
 * metadata are always declared; metadata is checked against ObjectMeta.
 */
function walkUnknown(value: unknown, s: CRDSchema | undefined, path: string, visit: (path: string, parent: Record<string, unknown>, key: string) => void, resource: boolean): void {
  if (!s) return;
  if (Array.isArray(value)) {
    const items = itemsOf(s);
    if (items) value.forEach((v, i) => walkUnknown(v, items, `${path}[${i}]`, visit, !!items['x-kubernetes-embedded-resource']));
    return;
  }
  if (!isPlainObject(value)) return;
  const props = s.properties;
  const additional = additionalOf(s);
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true;
  for (const key of Object.keys(value).sort()) {
    const p = child(path, key);
    if (resource && RESOURCE_FIELDS.has(key)) {
      if (key === 'metadata' && isPlainObject(value.metadata)) {
        const meta = value.metadata;
        for (const f of unknownFields(builtinSchema(), OBJECT_META, meta)) {
          const dot = f.indexOf('.');
          if (dot < 0) visit(child(p, f), meta, f);
        }
      }
      continue;
    }
    const ps = props?.[key];
    if (ps) walkUnknown(value[key], ps, p, visit, !!ps['x-kubernetes-embedded-resource']);
    else if (additional) walkUnknown(value[key], additional, p, visit, !!additional['x-kubernetes-embedded-resource']);
    else if (!preserve) visit(p, value, key);
  }
}

/** The paths of the fields `value` has that the schema does not declare (root: a whole custom resource). */
export function unknownSchemaFields(schema: CRDSchema, value: unknown): string[] {
  const out: string[] = [];
  walkUnknown(value, schema, '', (p) => out.push(p), true);
  return out;
}

/** Removes, in place, the fields the schema does not declare; returns their paths. */
export function pruneUnknownSchemaFields(schema: CRDSchema, value: unknown): string[] {
  const found: { path: string; parent: Record<string, unknown>; key: string }[] = [];
  walkUnknown(value, schema, '', (path, parent, key) => found.push({ path, parent, key }), true);
  for (const f of found) delete f.parent[f.key];
  return found.map((f) => f.path);
}

/** Fills `default` values of absent fields (and of nulls where null is not allowed), in place. */
export function applySchemaDefaults(schema: CRDSchema, value: unknown): void {
  if (Array.isArray(value)) {
    const items = itemsOf(schema);
    if (!items) return;
    for (let i = 0; i < value.length; i++) {
      if (value[i] === null && !items.nullable && items.default !== undefined) value[i] = deepClone(items.default);
      applySchemaDefaults(items, value[i]);
    }
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, ps] of Object.entries(schema.properties ?? {})) {
    if (!isPlainObject(ps)) continue;
    if (ps.default !== undefined && (value[key] === undefined || (value[key] === null && !ps.nullable))) value[key] = deepClone(ps.default);
    if (value[key] !== undefined) applySchemaDefaults(ps, value[key]);
  }
  const additional = additionalOf(schema);
  if (additional)
    for (const key of Object.keys(value)) {
      if (schema.properties && key in schema.properties) continue;
      if (value[key] === null && !additional.nullable && additional.default !== undefined) value[key] = deepClone(additional.default);
      applySchemaDefaults(additional, value[key]);
    }
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

const typeMatches = (want: string, v: unknown) => {
  const got = jsonType(v);
  return got === want || (want === 'number' && got === 'integer');
};

const inBody = (path: string) => `${path || 'body'} in body`;

/** Validates `value` against `schema`; paths are relative to the root of the custom resource. */
export function validateAgainstSchema(schema: CRDSchema, value: unknown, path = ''): FieldError[] {
  const errs: FieldError[] = [];
  validateValue(schema, value, path, errs, path === '');
  return errs;
}

function validateValue(s: CRDSchema, v: unknown, path: string, errs: FieldError[], root = false): void {
  if (v === null) {
    if (s.nullable || (!s.type && !s['x-kubernetes-int-or-string'])) return;
    const want = s['x-kubernetes-int-or-string'] ? 'integer,string' : s.type!;
    errs.push(typeInvalid(path, 'null', `${inBody(path)} must be of type ${want}: "null"`));
    return;
  }
  if (s['x-kubernetes-int-or-string']) {
    if (!(Number.isInteger(v) || typeof v === 'string')) {
      errs.push(typeInvalid(path, jsonType(v), `${inBody(path)} must be of type integer,string: "${jsonType(v)}"`));
      return;
    }
  } else if (s.type && !typeMatches(s.type, v)) {
    errs.push(typeInvalid(path, jsonType(v), `${inBody(path)} must be of type ${s.type}: "${jsonType(v)}"`));
    return;
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) {
    errs.push(notSupported(path, v, s.enum.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)))));
  }
  if (typeof v === 'string') {
    const len = [...v].length;
    if (typeof s.minLength === 'number' && len < s.minLength) errs.push(invalidValue(path, v, `${inBody(path)} should be at least ${s.minLength} chars long`));
    if (typeof s.maxLength === 'number' && len > s.maxLength) errs.push(tooLong(path, '', s.maxLength));
    if (typeof s.pattern === 'string') {
      let re: RegExp | undefined;
      try {
        re = new RegExp(s.pattern, 'u');
      } catch {
        re = undefined;
      }
      if (re && !re.test(v)) errs.push(invalidValue(path, v, `${inBody(path)} should match '${s.pattern}'`));
    }
  }
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number') {
      if (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)
        errs.push(invalidValue(path, v, `${inBody(path)} should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}`));
    }
    if (typeof s.maximum === 'number') {
      if (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)
        errs.push(invalidValue(path, v, `${inBody(path)} should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}`));
    }
    if (typeof s.multipleOf === 'number' && s.multipleOf > 0 && !Number.isInteger(v / s.multipleOf))
      errs.push(invalidValue(path, v, `${inBody(path)} should be a multiple of ${s.multipleOf}`));
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) errs.push(invalidValue(path, v.length, `${inBody(path)} should have at least ${s.minItems} items`));
    if (typeof s.maxItems === 'number' && v.length > s.maxItems) errs.push({ field: path, type: 'FieldValueTooMany', value: v.length, detail: `${v.length}: must have at most ${s.maxItems} items` });
    if (s.uniqueItems) {
      for (let i = 1; i < v.length; i++)
        if (v.slice(0, i).some((x) => deepEqual(x, v[i]))) {
          errs.push({ field: `${path}[${i}]`, type: 'FieldValueDuplicate', value: v[i] });
          break;
        }
    }
    const items = itemsOf(s);
    if (items) v.forEach((x, i) => validateValue(items, x, `${path}[${i}]`, errs));
  }
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    for (const r of Array.isArray(s.required) ? s.required : []) if (v[r] === undefined) errs.push(required(child(path, r), ''));
    if (typeof s.minProperties === 'number' && keys.length < s.minProperties) errs.push(invalidValue(path, keys.length, `${inBody(path)} should have at least ${s.minProperties} properties`));
    if (typeof s.maxProperties === 'number' && keys.length > s.maxProperties)
      errs.push({ field: path, type: 'FieldValueTooMany', value: keys.length, detail: `${keys.length}: must have at most ${s.maxProperties} items` });
    if (s['x-kubernetes-embedded-resource'] && !root) {
      if (typeof v.apiVersion !== 'string' || !v.apiVersion) errs.push(required(child(path, 'apiVersion'), 'must not be empty'));
      if (typeof v.kind !== 'string' || !v.kind) errs.push(required(child(path, 'kind'), 'must not be empty'));
    }
    const additional = additionalOf(s);
    for (const k of keys) {
      if ((root || s['x-kubernetes-embedded-resource']) && RESOURCE_FIELDS.has(k)) continue;
      const ps = s.properties?.[k];
      if (ps) validateValue(ps, v[k], child(path, k), errs);
      else if (additional) validateValue(additional, v[k], child(path, k), errs);
    }
  }
  if (Array.isArray(s.allOf)) for (const sub of s.allOf) validateValue(sub, v, path, errs, root);
  if (Array.isArray(s.anyOf) && s.anyOf.length && !s.anyOf.some((sub) => validateAgainstSchemaAt(sub, v, path, root).length === 0))
    errs.push(invalidValue(path, v, `${inBody(path)} must validate at least one schema (anyOf)`));
  if (Array.isArray(s.oneOf) && s.oneOf.length && s.oneOf.filter((sub) => validateAgainstSchemaAt(sub, v, path, root).length === 0).length !== 1)
    errs.push(invalidValue(path, v, `${inBody(path)} must validate one and only one schema (oneOf)`));
  if (isPlainObject(s.not) && validateAgainstSchemaAt(s.not, v, path, root).length === 0) errs.push(invalidValue(path, v, `${inBody(path)} must not validate the schema (not)`));
}

function validateAgainstSchemaAt(s: CRDSchema, v: unknown, path: string, root: boolean): FieldError[] {
  const errs: FieldError[] = [];
  validateValue(s, v, path, errs, root);
  return errs;
}

// ---- JSONPath of printer columns ----

type Step = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; value: unknown } };

/** Parses the JSONPath subset printer columns use: `.a.b`, `['a.b']`, `[0]`, `[*]`, `[?(@.type=="Ready")]`. */
export function parseJSONPath(expr: string): Step[] | undefined {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    if (s[i] === '.') {
      const m = /^\.([A-Za-z0-9_-]+)/.exec(s.slice(i));
      if (!m) return undefined;
      steps.push({ field: m[1] });
      i += m[0].length;
    } else if (s[i] === '[') {
      const end = s.indexOf(']', i);
      if (end < 0) return undefined;
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      let m: RegExpExecArray | null;
      if (inner === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if ((m = /^'([^']*)'$/.exec(inner)) || (m = /^"([^"]*)"$/.exec(inner))) steps.push({ field: m[1] });
      else if ((m = /^\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*==\s*(?:"([^"]*)"|'([^']*)'|(-?\d+(?:\.\d+)?|true|false))\)$/.exec(inner))) {
        const value = m[2] ?? m[3] ?? JSON.parse(m[4]);
        steps.push({ filter: { path: m[1].slice(1).split('.'), value } });
      } else return undefined;
    } else return undefined;
  }
  return steps;
}

/** The values a parsed JSONPath finds in `obj`, in document order. */
export function evalJSONPath(steps: Step[], obj: unknown): unknown[] {
  let cur: unknown[] = [obj];
  for (const st of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if ('field' in st) {
        if (isPlainObject(v) && v[st.field] !== undefined) next.push(v[st.field]);
      } else if ('index' in st) {
        if (Array.isArray(v)) {
          const x = v[st.index < 0 ? v.length + st.index : st.index];
          if (x !== undefined) next.push(x);
        }
      } else if ('all' in st) {
        if (Array.isArray(v)) next.push(...v);
        else if (isPlainObject(v)) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const x of v) {
          let y: unknown = x;
          for (const f of st.filter.path) y = isPlainObject(y) ? y[f] : undefined;
          if (y === st.filter.value) next.push(x);
        }
      }
    }
    cur = next;
  }
  return cur;
}
