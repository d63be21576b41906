// fieldValidation (Ignore | Warn | Strict): unknown and duplicate fields in request bodies, checked
// against the schema of the built-in kinds as upstream's strict decoders do, and unknown fields pruned
// from what is stored whatever the directive.
import type { ServerResponse } from 'node:http';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YAMLNode } from 'yaml';
import { errBadRequest, StatusError } from '../api/errors.js';
import { isPlainObject } from '../api/object.js';
import {
  builtinSchema,
  childPath,
  indexPath,
  pruneUnknownFields,
  Schema,
  unknownFields,
  type FieldShape,
} from '../api/schema/index.js';
import { builtinPatchMeta } from '../api/schema/patch-meta.js';
import { apiVersionOf, type KindInfo, type KubeObject } from '../api/types.js';
import { customResourceKind, customUnknownFields, pruneCustomResource } from './crd/kinds.js';
import type { BodyFormat } from './negotiate.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** What the checks need of a request. */
export interface FieldValidationRequest {
  query: URLSearchParams;
  res: ServerResponse;
}

const DIRECTIVES = ['', 'Ignore', 'Strict', 'Warn'];
const MAX_STRICT_ERRORS = 100;

/** The request's directive; absent means Warn, as upstream. An unknown value is a 422 on the request's options. */
export function fieldValidationOf(query: URLSearchParams, optionsKind: 'CreateOptions' | 'UpdateOptions' | 'PatchOptions'): FieldValidation {
  const v = query.get('fieldValidation') ?? '';
  if (!DIRECTIVES.includes(v)) {
    const body = `Unsupported value: ${JSON.stringify(v)}: supported values: ${DIRECTIVES.map((d) => JSON.stringify(d)).join(', ')}`;
    throw new StatusError(422, 'Invalid', `${optionsKind}.meta.k8s.io "" is invalid: fieldValidation: ${body}`, {
      group: 'meta.k8s.io',
      kind: optionsKind,
      causes: [{ reason: 'FieldValueNotSupported', message: body, field: 'fieldValidation' }],
    });
  }
  return (v || 'Warn') as FieldValidation;
}

/** Adds `Warning: 299 - "<text>"` headers (once per distinct text) to a response not yet sent. */
export function addWarnings(res: ServerResponse, texts: readonly string[]): void {
  if (!texts.length || res.headersSent) return;
  const existing = res.getHeader('Warning');
  const values = existing === undefined ? [] : Array.isArray(existing) ? existing.map(String) : [String(existing)];
  for (const text of texts) {
    const value = `299 - "${headerSafe(text).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    if (!values.includes(value)) values.push(value);
  }
  res.setHeader('Warning', values);
}

/** HTTP header values are Latin-1 without control characters; anything else is written as \uXXXX. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

// ---- strict JSON scanning ----

export interface StrictError {
  type: 'unknown field' | 'duplicate field';
  path: string;
}

export const strictErrorText = (e: StrictError) => `${e.type} ${JSON.stringify(e.path)}`;

/**
 * Walks JSON text along a schema and reports, in document order, the fields the schema does not
 * declare (their values are skipped) and the fields set twice in one object, as upstream's strict
 * JSON decoder does. Errors are deduplicated and capped at 100. The text must be valid JSON.
 */
export function scanJSONStrict(text: string, schema: Schema, shape: FieldShape | undefined, path = ''): StrictError[] {
  const scanner = new JSONStrictScanner(text, schema);
  scanner.value(shape, path);
  return scanner.errors;
}

class JSONStrictScanner {
  private i = 0;
  readonly errors: StrictError[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly text: string,
    private readonly schema: Schema,
  ) {}

  private save(type: StrictError['type'], path: string): void {
    const key = `${type}\0${path}`;
    if (this.errors.length >= MAX_STRICT_ERRORS || this.seen.has(key)) return;
    this.seen.add(key);
    this.errors.push({ type, path });
  }

  private ws(): void {
    const t = this.text;
    let c = t.charCodeAt(this.i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = t.charCodeAt(++this.i);
  }

  /** `shape` undefined: a value of any shape (Go's interface{}), whose objects are still checked for duplicates. */
  value(shape: FieldShape | undefined, path: string): void {
    this.ws();
    const c = this.text.charCodeAt(this.i);
    if (c === 0x7b) return this.object(shape, path);
    if (c === 0x5b) return this.array(shape, path);
    if (c === 0x22) {
      this.string();
      return;
    }
    this.literal();
  }

  private object(shape: FieldShape | undefined, path: string): void {
    if (shape?.kind === 'ref' && this.schema.isFreeForm(shape.name)) {
      // RawExtension and FieldsV1 keep their bytes as they came
      this.skip();
      return;
    }
    const fields = shape?.kind === 'ref' ? this.schema.fields(shape.name) : undefined;
    const values = shape?.kind === 'map' ? shape.values : undefined;
    const keys = new Set<string>();
    this.i++;
    this.ws();
    if (this.text.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      this.ws();
      this.i++; // ':'
      const p = childPath(path, key);
      if (fields) {
        const f = fields.get(key);
        if (!f) {
          this.save('unknown field', p);
          this.skip();
        } else {
          if (keys.has(key)) this.save('duplicate field', p);
          else keys.add(key);
          this.value(f, p);
        }
      } else {
        if (keys.has(key)) this.save('duplicate field', p);
        else keys.add(key);
        this.value(values, p);
      }
      this.ws();
      if (this.text.charCodeAt(this.i++) !== 0x2c) return; // ',' or '}'
    }
  }

  private array(shape: FieldShape | undefined, path: string): void {
    const items = shape?.kind === 'array' ? shape.items : undefined;
    this.i++;
    this.ws();
    if (this.text.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return;
    }
    for (let n = 0; ; n++) {
      this.value(items, indexPath(path, n));
      this.ws();
      if (this.text.charCodeAt(this.i++) !== 0x2c) return; // ',' or ']'
    }
  }

  /** Where the next backslash at or after the last string read is (Infinity: none). */
  private backslash = -1;

  /** Reads a string token and returns its value. */
  private string(): string {
    const t = this.text;
    const start = this.i;
    let escaped = false;
    let j = start + 1;
    for (;;) {
      const quote = t.indexOf('"', j);
      if (quote < 0) {
        j = t.length;
        break;
      }
      if (this.backslash < j) {
        const b = t.indexOf('\\', j);
        this.backslash = b < 0 ? Infinity : b;
      }
      if (this.backslash < quote) {
        escaped = true;
        j = this.backslash + 2;
        continue;
      }
      j = quote;
      break;
    }
    this.i = j + 1;
    return escaped ? (JSON.parse(t.slice(start, j + 1)) as string) : t.slice(start + 1, j);
  }

  private literal(): void {
    const t = this.text;
    let c = t.charCodeAt(this.i);
    while (!Number.isNaN(c) && c !== 0x2c && c !== 0x7d && c !== 0x5d && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) c = t.charCodeAt(++this.i);
  }

  /** Skips one value without checking it. */
  private skip(): void {
    this.ws();
    const t = this.text;
    const c = t.charCodeAt(this.i);
    if (c === 0x22) {
      this.string();
      return;
    }
    if (c !== 0x7b && c !== 0x5b) {
      this.literal();
      return;
    }
    let depth = 0;
    for (;;) {
      const d = t.charCodeAt(this.i);
      if (Number.isNaN(d)) return;
      if (d === 0x22) {
        this.string();
        continue;
      }
      this.i++;
      if (d === 0x7b || d === 0x5b) depth++;
      else if ((d === 0x7d || d === 0x5d) && --depth === 0) return;
    }
  }
}

// ---- YAML duplicate keys ----

/** Go yaml's `line N: key "k" already set in map` for every key set twice in one mapping, in document order. */
export function yamlDuplicateKeys(text: string): string[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter });
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key as YAMLNode | null;
        if (isScalar(key)) {
          const k = typeof key.value === 'string' ? JSON.stringify(key.value) : String(key.value);
          if (seen.has(k) && key.range) out.push(`line ${lineCounter.linePos(key.range[0]).line}: key ${k} already set in map`);
          seen.add(k);
        }
        walk(pair.value);
      }
    } else if (isSeq(node)) for (const item of node.items) walk(item);
  };
  walk(doc.contents);
  return out;
}

// ---- create and update ----

/** The schema shape of a body: its own apiVersion/kind when the schema knows them, else the endpoint's kind. */
function shapeFor(schema: Schema, info: KindInfo, obj: unknown): FieldShape | undefined {
  const own = isPlainObject(obj) && typeof obj.apiVersion === 'string' && typeof obj.kind === 'string' ? schema.typeNameForKind(obj.apiVersion, obj.kind) : undefined;
  const name = own ?? schema.typeNameForKind(apiVersionOf(info), info.kind);
  return name ? { kind: 'ref', name } : undefined;
}

/**
 * Checks a decoded POST or PUT body (JSON or YAML) for unknown and duplicate fields, then returns it
 * with its unknown fields removed. Strict: 400 listing them all; Warn: one Warning header each.
 */
export function checkObjectFields(
  req: FieldValidationRequest,
  info: KindInfo,
  raw: Buffer,
  fmt: 'json' | 'yaml',
  obj: unknown,
  optionsKind: 'CreateOptions' | 'UpdateOptions',
  schema: Schema = builtinSchema(),
): unknown {
  const directive = fieldValidationOf(req.query, optionsKind);
  const custom = customUnknownFields(info, obj);
  if (custom !== undefined) return checkCustomObjectFields(req, info, raw, fmt, obj, directive, custom);
  const shape = shapeFor(schema, info, obj);
  if (!shape) return obj;
  if (directive !== 'Ignore') {
    let errors: string[];
    let yamlErrors: string[] = [];
    if (fmt === 'json') errors = scanJSONStrict(raw.toString('utf8'), schema, shape).map(strictErrorText);
    else {
      yamlErrors = yamlDuplicateKeys(raw.toString('utf8'));
      errors = unknownFields(schema, shape, obj).map((path) => strictErrorText({ type: 'unknown field', path }));
    }
    if (directive === 'Warn') addWarnings(req.res, [...yamlErrors, ...errors]);
    else if (errors.length || yamlErrors.length) {
      const parts = yamlErrors.length ? [`yaml: unmarshal errors:\n  ${yamlErrors.join('\n  ')}`, ...errors] : errors;
      const bodyKind = isPlainObject(obj) && typeof obj.kind === 'string' && obj.kind ? obj.kind : info.kind;
      const bodyVersion = isPlainObject(obj) && typeof obj.apiVersion === 'string' && obj.apiVersion ? obj.apiVersion.split('/').pop() : info.version;
      throw errBadRequest(`${bodyKind} in version ${JSON.stringify(bodyVersion)} cannot be handled as a ${info.kind}: strict decoding error: ${parts.join(', ')}`);
    }
  }
  pruneUnknownFields(schema, shape, obj);
  return obj;
}

/** The checks of a POST or PUT body of a custom resource: unknown fields are those its CRD's schema does not declare. */
function checkCustomObjectFields(req: FieldValidationRequest, info: KindInfo, raw: Buffer, fmt: 'json' | 'yaml', obj: unknown, directive: FieldValidation, unknown: string[]): unknown {
  if (directive !== 'Ignore') {
    const text = raw.toString('utf8');
    const yamlErrors = fmt === 'yaml' ? yamlDuplicateKeys(text) : [];
    const dupes = fmt === 'json' ? scanJSONStrict(text, JSON_PATCH_SCHEMA, undefined).map(strictErrorText) : [];
    const errors = [...dupes, ...unknown.map((path) => strictErrorText({ type: 'unknown field', path }))];
    if (directive === 'Warn') addWarnings(req.res, [...yamlErrors, ...errors]);
    else if (errors.length || yamlErrors.length) {
      const parts = yamlErrors.length ? [`yaml: unmarshal errors:\n  ${yamlErrors.join('\n  ')}`, ...errors] : errors;
      throw errBadRequest(`${info.kind} in version ${JSON.stringify(info.version)} cannot be handled as a ${info.kind}: strict decoding error: ${parts.join(', ')}`);
    }
  }
  pruneCustomResource(info, obj);
  return obj;
}

/** The checks of a PATCH of a custom resource (its schema is its CRD's, not the built-in facts). */
function customPatchFieldChecker(req: FieldValidationRequest, info: KindInfo, raw: Buffer, fmt: BodyFormat, patch: unknown, target: PatchTarget, directive: FieldValidation): PatchFieldChecker {
  const prune = (v: unknown) => (pruneCustomResource(info, v), v);
  if (fmt === 'apply-patch') {
    const paths = customUnknownFields(info, patch) ?? [];
    if (paths.length) {
      const meta = isPlainObject(patch) && isPlainObject(patch.metadata) ? patch.metadata : {};
      const ns = typeof meta.namespace === 'string' ? meta.namespace : (target.namespace ?? '');
      const name = typeof meta.name === 'string' ? meta.name : target.name;
      const errs = paths.map((p) => `.${p}: field not declared in schema`);
      throw errBadRequest(`failed to create typed patch object (${ns}/${name}; ${info.group}/${info.version}, Kind=${info.kind}): ${errs.length === 1 ? errs[0] : `errors:\n  ${errs.join('\n  ')}`}`);
    }
    return { result: (_c, patched) => prune(patched) };
  }
  const patchErrors: string[] = [];
  if (directive !== 'Ignore') {
    const text = raw.toString('utf8');
    if (fmt === 'json-patch') patchErrors.push(...scanJSONStrict(text, JSON_PATCH_SCHEMA, JSON_PATCH_SHAPE).map((e) => `json patch ${strictErrorText(e)}`));
    else patchErrors.push(...scanJSONStrict(text, JSON_PATCH_SCHEMA, undefined).map(strictErrorText));
  }
  return {
    result(current, patched) {
      if (directive !== 'Ignore') {
        let unknown = customUnknownFields(info, patched) ?? [];
        if (unknown.length && current) {
          const before = new Set(customUnknownFields(info, current) ?? []);
          unknown = unknown.filter((p) => !before.has(p));
        }
        const errors = [...patchErrors, ...unknown.map((path) => strictErrorText({ type: 'unknown field', path }))];
        if (directive === 'Warn') addWarnings(req.res, errors);
        else if (errors.length) throw patchInvalid(JSON.stringify(patched), `strict decoding error: ${errors.join(', ')}`);
      }
      return prune(patched);
    },
  };
}

// ---- patch ----

const JSON_PATCH_SCHEMA = new Schema({
  source: 'RFC 6902',
  kinds: {},
  types: { 'jsonpatch.Operation': { fields: { op: 'string', path: 'string', from: 'string', value: 'object' } } },
});
const JSON_PATCH_SHAPE: FieldShape = { kind: 'array', items: { kind: 'ref', name: 'jsonpatch.Operation' } };

export interface PatchFieldChecker {
  /** Checks the object a patch produced (Strict: 422; Warn: warnings) and returns it without unknown fields. */
  result(current: KubeObject | undefined, patched: unknown): unknown;
}

/** Where a patch goes, for messages. */
export interface PatchTarget {
  namespace?: string;
  name: string;
  /** merge keys of lists, for server-side apply's field paths (`containers[name="web"]`) */
  mergeKey?: (typeName: string, field: string) => string | undefined;
}

/**
 * The strict checks of a PATCH, as upstream makes them: duplicate fields of the patch itself (and, for
 * a JSON patch, unknown fields of its operations) are reported together with the unknown fields of the
 * patched object. Server-side apply refuses unknown fields whatever the directive.
 */
export function patchFieldChecker(
  req: FieldValidationRequest,
  info: KindInfo,
  raw: Buffer,
  fmt: BodyFormat,
  patch: unknown,
  target: PatchTarget,
  schema: Schema = builtinSchema(),
): PatchFieldChecker {
  const directive = fieldValidationOf(req.query, 'PatchOptions');
  if (customResourceKind(info)) return customPatchFieldChecker(req, info, raw, fmt, patch, target, directive);
  const apiVersion = apiVersionOf(info);
  const rootName = schema.typeNameForKind(apiVersion, info.kind);
  const shape: FieldShape | undefined = rootName ? { kind: 'ref', name: rootName } : undefined;
  if (!shape) return { result: (_c, patched) => patched };

  if (fmt === 'apply-patch') {
    const mergeKey = target.mergeKey ?? ((t: string, f: string) => builtinPatchMeta()(t, f)?.mergeKey);
    checkAppliedConfiguration(schema, shape, info, patch, { ...target, mergeKey });
    if (directive !== 'Ignore') {
      const dupes = yamlDuplicateKeys(raw.toString('utf8'));
      if (dupes.length && directive === 'Strict')
        throw errBadRequest(`error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  ${dupes.join('\n  ')}`);
      addWarnings(req.res, dupes);
    }
    return { result: (_c, patched) => (pruneUnknownFields(schema, shape, patched), patched) };
  }

  const patchErrors: string[] = [];
  if (directive !== 'Ignore') {
    const text = raw.toString('utf8');
    if (fmt === 'json-patch') patchErrors.push(...scanJSONStrict(text, JSON_PATCH_SCHEMA, JSON_PATCH_SHAPE).map((e) => `json patch ${strictErrorText(e)}`));
    else patchErrors.push(...scanJSONStrict(text, schema, undefined).map(strictErrorText));
  }
  return {
    result(current, patched) {
      if (directive !== 'Ignore') {
        let unknown = unknownFields(schema, shape, patched);
        if (unknown.length && current) {
          // fields stored before this check existed are the server's business, not this request's
          const before = new Set(unknownFields(schema, shape, current));
          unknown = unknown.filter((p) => !before.has(p));
        }
        const errors = [...patchErrors, ...unknown.map((path) => strictErrorText({ type: 'unknown field', path }))];
        if (directive === 'Warn') addWarnings(req.res, errors);
        else if (errors.length) {
          const value = fmt === 'strategic-merge-patch' ? goFormat(patch) : JSON.stringify(patched);
          throw patchInvalid(value, `strict decoding error: ${errors.join(', ')}`);
        }
      }
      pruneUnknownFields(schema, shape, patched);
      return patched;
    },
  };
}

/** Upstream's 422 for a patch whose result does not decode: a field error on `patch` of no kind or name. */
function patchInvalid(value: string, detail: string): StatusError {
  const body = `Invalid value: ${JSON.stringify(value)}: ${detail}`;
  return new StatusError(422, 'Invalid', ` "" is invalid: patch: ${body}`, { causes: [{ reason: 'FieldValueInvalid', message: body, field: 'patch' }] });
}

/** Server-side apply converts the applied configuration to its typed form, which fails on any undeclared field. */
function checkAppliedConfiguration(schema: Schema, shape: FieldShape, info: KindInfo, applied: unknown, target: PatchTarget): void {
  const paths: string[] = [];
  walkApplied(schema, shape, applied, '', paths, target.mergeKey);
  if (!paths.length) return;
  const meta = isPlainObject(applied) && isPlainObject(applied.metadata) ? applied.metadata : {};
  const ns = typeof meta.namespace === 'string' ? meta.namespace : (target.namespace ?? '');
  const name = typeof meta.name === 'string' ? meta.name : target.name;
  const gvk = `${info.group}/${info.version}, Kind=${info.kind}`;
  const errs = paths.sort().map((p) => `${p}: field not declared in schema`);
  const detail = errs.length === 1 ? errs[0] : `errors:\n  ${errs.join('\n  ')}`;
  throw errBadRequest(`failed to create typed patch object (${ns}/${name}; ${gvk}): ${detail}`);
}

/** Field paths as structured-merge-diff writes them: `.spec.template.spec.containers[name="web"].foo`. */
function walkApplied(schema: Schema, shape: FieldShape, value: unknown, path: string, out: string[], mergeKey: PatchTarget['mergeKey'], owner?: { type: string; field: string }): void {
  switch (shape.kind) {
    case 'array': {
      if (!Array.isArray(value)) return;
      const key = owner && mergeKey?.(owner.type, owner.field);
      value.forEach((v, i) => {
        const k = key && isPlainObject(v) && v[key] !== undefined ? `[${key}=${JSON.stringify(v[key])}]` : `[${i}]`;
        walkApplied(schema, shape.items, v, path + k, out, mergeKey);
      });
      return;
    }
    case 'map':
      if (isPlainObject(value)) for (const k of Object.keys(value)) walkApplied(schema, shape.values, value[k], `${path}.${k}`, out, mergeKey);
      return;
    case 'ref': {
      if (!isPlainObject(value) || schema.isFreeForm(shape.name)) return;
      const fields = schema.fields(shape.name);
      for (const k of Object.keys(value)) {
        const f = fields.get(k);
        if (!f) out.push(`${path}.${k}`);
        else walkApplied(schema, f, value[k], `${path}.${k}`, out, mergeKey, { type: shape.name, field: k });
      }
      return;
    }
    default:
      return;
  }
}

/** A JSON value as Go's fmt `%+v` prints a decoded map[string]interface{} (upstream puts it in patch errors). */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isPlainObject(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goFormat(v[k])}`)
      .join(' ')}]`;
  return String(v);
}
