// The OpenAPI definitions of a custom resource kind, published as upstream publishes them: the CRD's
// schema plus apiVersion, kind and metadata at the root, and a `<Kind>List` beside it. In swagger 2.0,
// what it cannot say (nullable, anyOf/oneOf/not) is left out, and fields preserving unknown fields lose
// their type so that kubectl's client-side validation does not refuse them.
import type { CRDSchema } from '../../api/kinds/crd.js';
import { isPlainObject } from '../../api/object.js';
import type { KindInfo } from '../../api/types.js';
import { customResourceKind } from './kinds.js';

type JSONSchema = Record<string, unknown>;

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const LIST_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';
/** Built-in definitions the custom resource definitions refer to. */
export const CUSTOM_RESOURCE_OPENAPI_REFS = [OBJECT_META, LIST_META];

const KEPT = [
  'type', 'format', 'description', 'title', 'required', 'enum', 'default', 'example', 'maximum', 'minimum', 'exclusiveMaximum', 'exclusiveMinimum',
  'multipleOf', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties',
];

function convert(s: CRDSchema, v3: boolean): JSONSchema {
  if (!v3 && s['x-kubernetes-preserve-unknown-fields']) {
    const out: JSONSchema = { 'x-kubernetes-preserve-unknown-fields': true };
    if (s.description) out.description = s.description;
    return out;
  }
  const out: JSONSchema = {};
  for (const k of KEPT) if ((s as Record<string, unknown>)[k] !== undefined) out[k] = (s as Record<string, unknown>)[k];
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-kubernetes-')) out[k] = v;
  if (!v3 && s['x-kubernetes-int-or-string']) delete out.type;
  if (v3 && s.nullable) out.nullable = true;
  if (isPlainObject(s.properties)) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, convert(v, v3)]));
  if (isPlainObject(s.items)) out.items = convert(s.items as CRDSchema, v3);
  if (isPlainObject(s.additionalProperties)) out.additionalProperties = convert(s.additionalProperties as CRDSchema, v3);
  if (v3) {
    for (const k of ['allOf', 'anyOf', 'oneOf'] as const) if (Array.isArray(s[k])) out[k] = s[k]!.map((x) => convert(x, v3));
    if (isPlainObject(s.not)) out.not = convert(s.not as CRDSchema, v3);
  }
  return out;
}

/** The definitions (name → schema) of a custom resource kind, or undefined for a built-in kind. */
export function customResourceOpenAPI(info: KindInfo, ref: (name: string) => string, v3: boolean): { root: string; list: string; definitions: Record<string, JSONSchema> } | undefined {
  const c = customResourceKind(info);
  if (!c) return undefined;
  const gvk = (kind: string) => [{ group: info.group, kind, version: info.version }];
  const root: JSONSchema = c.schema && !c.preserveUnknownFields ? convert(c.schema, v3) : { type: 'object', ...(v3 ? { 'x-kubernetes-preserve-unknown-fields': true } : {}) };
  root.type = 'object';
  root.properties = {
    ...(isPlainObject(root.properties) ? root.properties : {}),
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
    metadata: { $ref: ref(OBJECT_META) },
  };
  root['x-kubernetes-group-version-kind'] = gvk(info.kind);
  const listName = `${c.openAPIName}List`;
  const list: JSONSchema = {
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: { type: 'string' },
      items: { type: 'array', items: { $ref: ref(c.openAPIName) } },
      kind: { type: 'string' },
      metadata: { $ref: ref(LIST_META) },
    },
    'x-kubernetes-group-version-kind': gvk(`${info.kind}List`),
  };
  return { root: c.openAPIName, list: listName, definitions: { [c.openAPIName]: root, [listName]: list } };
}

/** Changes whenever a kind's published schema may change (each CRD change builds new KindInfos). */
export function customResourceOpenAPIKey(info: KindInfo): string {
  return customResourceKind(info)?.serial.toString() ?? '';
}
