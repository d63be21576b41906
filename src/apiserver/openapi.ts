// OpenAPI documents of the served kinds, generated from the schema facts (src/api/schema):
//   /openapi/v2                 swagger 2.0, as JSON or as gnostic's protobuf (every kubectl asks for protobuf)
//   /openapi/v3                 the list of group versions, each with a `?hash=` URL
//   /openapi/v3/apis/<g>/<v>    OpenAPI 3.0 of one group version
// kubectl reads them for `explain`, for the patch strategies of client-side apply, and, in the PATCH
// operations' parameters, to learn that the server checks fieldValidation itself. Descriptions are empty.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';
import { stringify as stringifyYAML } from 'yaml';
import { errNotAcceptable, errNotFoundPath } from '../api/errors.js';
import type { Scheme } from '../api/scheme.js';
import { builtinSchema, type FieldShape, type Schema } from '../api/schema/index.js';
import { builtinPatchMeta, type PatchMetaLookup } from '../api/schema/patch-meta.js';
import { apiVersionOf, type KindInfo } from '../api/types.js';
import { customResourceKind } from './crd/kinds.js';
import { CUSTOM_RESOURCE_OPENAPI_REFS, customResourceOpenAPI, customResourceOpenAPIKey } from './crd/openapi.js';

// loaded when first needed (a protobuf body, the protobuf OpenAPI document): it costs start-up time
const require = createRequire(import.meta.url);
let loaded: typeof Protobuf | undefined;
const protobuf = () => (loaded ??= require('protobufjs') as typeof Protobuf);

type JSONSchema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const PATCH_NAME = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';
/** Free-form types whose values may be any JSON, not only objects (a CRD schema's `default`, `enum`, `example`). */
const UNTYPED = new Set(['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON']);
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
/** Named string types upstream publishes as their own definitions. */
const NAMED_SCALARS: Record<string, { name: string; schema: JSONSchema }> = {
  IntOrString: { name: INT_OR_STRING, schema: { type: 'string', format: 'int-or-string' } },
  Quantity: { name: 'io.k8s.apimachinery.pkg.api.resource.Quantity', schema: { type: 'string' } },
  Time: { name: 'io.k8s.apimachinery.pkg.apis.meta.v1.Time', schema: { type: 'string', format: 'date-time' } },
  MicroTime: { name: 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime', schema: { type: 'string', format: 'date-time' } },
};
const PATCH_TYPES = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];
const PRODUCES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** What upstream answers protobuf with: Go's mime parser (client-go) rejects the `@` of the requested type. */
const V2_PROTOBUF_RETURNED = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

const gvk = (k: KindInfo) => ({ group: k.group, kind: k.kind, version: k.version });
const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);
const camel = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** `rbac.authorization.k8s.io` → `RbacAuthorization`, `` → `Core`, as upstream's operation ids. */
const groupCamel = (group: string) => (group ? group.replace(/\.k8s\.io$/, '').split('.').map(camel).join('') : 'Core');

/** The definitions (v2) or component schemas (v3) of some types and of everything they reference. */
function schemasFor(schema: Schema, roots: Iterable<string>, ref: (name: string) => string, patchMeta?: PatchMetaLookup, kindsOf?: Map<string, KindInfo[]>): Record<string, JSONSchema> {
  const out: Record<string, JSONSchema> = {};
  const queue = [...roots];
  const refTo = (name: string): JSONSchema => {
    if (!(name in out)) queue.push(name);
    return { $ref: ref(name) };
  };
  const fieldSchema = (shape: FieldShape): JSONSchema => {
    switch (shape.kind) {
      case 'any':
        // a value of any JSON type (the schema fields of CRDs): upstream leaves the type out
        return {};
      case 'array':
        return { type: 'array', items: fieldSchema(shape.items) };
      case 'map':
        return { type: 'object', additionalProperties: fieldSchema(shape.values) };
      case 'ref':
        return refTo(shape.name);
      case 'scalar': {
        const named = NAMED_SCALARS[shape.type];
        if (named) return refTo(named.name);
        if (shape.type === 'number') return { type: 'number', format: 'double' };
        return { type: shape.type };
      }
    }
  };
  const namedScalars = new Map(Object.values(NAMED_SCALARS).map((n) => [n.name, n.schema]));
  while (queue.length) {
    const name = queue.shift()!;
    if (name in out) continue;
    const scalar = namedScalars.get(name);
    if (scalar) {
      out[name] = { ...scalar };
      continue;
    }
    if (name === PATCH_NAME || schema.isFreeForm(name)) {
      out[name] = UNTYPED.has(name) ? {} : { type: 'object' };
      continue;
    }
    const facts = schema.type(name)!;
    const properties: Record<string, JSONSchema> = {};
    for (const [field, shape] of [...schema.fields(name)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const p = fieldSchema(shape);
      const meta = patchMeta?.(name, field);
      if (meta?.mergeKey) p['x-kubernetes-patch-merge-key'] = meta.mergeKey;
      if (meta?.strategy) p['x-kubernetes-patch-strategy'] = meta.strategy;
      properties[field] = p;
    }
    const def: JSONSchema = { type: 'object', properties };
    if (facts.required?.length) def.required = [...facts.required];
    const kinds = kindsOf?.get(name);
    if (kinds?.length) def['x-kubernetes-group-version-kind'] = kinds.map(gvk);
    out[name] = def;
  }
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}

interface ParamSpec {
  name: string;
  in: 'query' | 'path';
  type: 'string' | 'boolean' | 'integer';
  required?: boolean;
}
const P = (name: string, type: ParamSpec['type'] = 'string'): ParamSpec => ({ name, in: 'query', type });
const WRITE_PARAMS = [P('dryRun'), P('fieldManager'), P('fieldValidation')];
const VERB_PARAMS: Record<string, ParamSpec[]> = {
  get: [],
  list: [P('allowWatchBookmarks', 'boolean'), P('continue'), P('fieldSelector'), P('labelSelector'), P('limit', 'integer'), P('resourceVersion'), P('resourceVersionMatch'), P('sendInitialEvents', 'boolean'), P('timeoutSeconds', 'integer'), P('watch', 'boolean')],
  create: WRITE_PARAMS,
  update: WRITE_PARAMS,
  patch: [...WRITE_PARAMS, P('force', 'boolean')],
  delete: [P('dryRun'), P('gracePeriodSeconds', 'integer'), P('propagationPolicy')],
};

interface OperationSpec {
  method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  verb: keyof typeof VERB_PARAMS;
  action: string;
  idVerb: string;
  /** type name of the request body; `patch` for a Patch */
  body?: string;
  /** type name of the 200 response */
  response?: string;
}

/** The operations of one kind, on its collection path and on its item path. */
function operationsOf(schema: Schema, k: KindInfo): { collection: OperationSpec[]; item: OperationSpec[] } {
  const verbs = new Set(k.verbs ?? ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
  const custom = customResourceOpenAPI(k, (n) => n, false);
  const root = custom?.root ?? schema.typeNameForKind(apiVersionOf(k), k.kind)!;
  const list = custom?.list ?? schema.typeNameForKind(apiVersionOf(k), `${k.kind}List`);
  const collection: OperationSpec[] = [];
  const item: OperationSpec[] = [];
  if (verbs.has('list') && list) collection.push({ method: 'get', verb: 'list', action: 'list', idVerb: 'list', response: list });
  if (verbs.has('create')) collection.push({ method: 'post', verb: 'create', action: 'post', idVerb: 'create', body: root, response: root });
  if (verbs.has('get')) item.push({ method: 'get', verb: 'get', action: 'get', idVerb: 'read', response: root });
  if (verbs.has('update')) item.push({ method: 'put', verb: 'update', action: 'put', idVerb: 'replace', body: root, response: root });
  if (verbs.has('patch')) item.push({ method: 'patch', verb: 'patch', action: 'patch', idVerb: 'patch', body: 'patch', response: root });
  if (verbs.has('delete')) item.push({ method: 'delete', verb: 'delete', action: 'delete', idVerb: 'delete' });
  return { collection, item };
}

function kindPaths(schema: Schema, k: KindInfo, v3: boolean, ref: (name: string) => string): Record<string, Record<string, unknown>> {
  const base = `/${gvPath(k.group, k.version)}${k.namespaced ? '/namespaces/{namespace}' : ''}/${k.resource}`;
  const { collection, item } = operationsOf(schema, k);
  const schemaRef = (name: string) => ({ $ref: ref(name) });
  const param = (p: ParamSpec) =>
    v3 ? { name: p.name, in: p.in, ...(p.required ? { required: true } : {}), schema: { type: p.type, uniqueItems: true } } : { name: p.name, in: p.in, type: p.type, uniqueItems: true, ...(p.required ? { required: true } : {}) };
  const operation = (o: OperationSpec): Operation => {
    const id = `${o.idVerb}${groupCamel(k.group)}${camel(k.version)}${k.namespaced ? 'Namespaced' : ''}${k.kind}`;
    const op: Operation = { tags: [`${groupCamel(k.group).replace(/^./, (c) => c.toLowerCase())}_${k.version}`], description: '', operationId: id };
    const params: unknown[] = VERB_PARAMS[o.verb].map(param);
    const bodySchema = o.body === 'patch' ? schemaRef(PATCH_NAME) : o.body ? schemaRef(o.body) : undefined;
    // custom resources take no strategic merge patch (kubectl looks here to choose its patch type)
    const patchTypes = customResourceKind(k) ? PATCH_TYPES.filter((t) => t !== 'application/strategic-merge-patch+json') : PATCH_TYPES;
    const contentTypes = o.body === 'patch' ? patchTypes : ['application/json', 'application/yaml'];
    if (v3) {
      if (bodySchema) op.requestBody = { required: true, content: Object.fromEntries(contentTypes.map((t) => [t, { schema: bodySchema }])) };
      op.responses = o.response
        ? { '200': { description: 'OK', content: Object.fromEntries(PRODUCES.map((t) => [t, { schema: schemaRef(o.response!) }])) }, '401': { description: 'Unauthorized' } }
        : { '200': { description: 'OK' }, '401': { description: 'Unauthorized' } };
    } else {
      if (bodySchema) {
        params.unshift({ name: 'body', in: 'body', required: true, schema: bodySchema });
        op.consumes = o.body === 'patch' ? patchTypes : ['*/*'];
      }
      op.produces = PRODUCES;
      op.schemes = ['https'];
      op.responses = o.response ? { '200': { description: 'OK', schema: schemaRef(o.response) }, '401': { description: 'Unauthorized' } } : { '200': { description: 'OK' }, '401': { description: 'Unauthorized' } };
    }
    op.parameters = params;
    op['x-kubernetes-action'] = o.action;
    op['x-kubernetes-group-version-kind'] = gvk(k);
    return op;
  };
  const pathParams = (onItem: boolean): ParamSpec[] => [
    ...(onItem ? [{ name: 'name', in: 'path' as const, type: 'string' as const, required: true }] : []),
    ...(k.namespaced ? [{ name: 'namespace', in: 'path' as const, type: 'string' as const, required: true }] : []),
    P('pretty'),
  ];
  const out: Record<string, Record<string, unknown>> = {};
  if (collection.length) out[base] = { ...Object.fromEntries(collection.map((o) => [o.method, operation(o)])), parameters: pathParams(false).map(param) };
  if (item.length) out[`${base}/{name}`] = { ...Object.fromEntries(item.map((o) => [o.method, operation(o)])), parameters: pathParams(true).map(param) };
  return out;
}

/** The root types a group version's document describes: its kinds, their lists and their subresources' kinds. */
function rootsOf(schema: Schema, kinds: readonly KindInfo[]): { roots: Set<string>; kindsOf: Map<string, KindInfo[]> } {
  const roots = new Set<string>();
  const kindsOf = new Map<string, KindInfo[]>();
  const add = (apiVersion: string, kind: string, info: KindInfo) => {
    const name = schema.typeNameForKind(apiVersion, kind);
    if (!name) return;
    roots.add(name);
    const list = kindsOf.get(name) ?? [];
    if (!list.some((k) => apiVersionOf(k) === apiVersion && k.kind === kind)) list.push(info);
    kindsOf.set(name, list);
  };
  for (const k of kinds) {
    const apiVersion = apiVersionOf(k);
    add(apiVersion, k.kind, k);
    add(apiVersion, `${k.kind}List`, { ...k, kind: `${k.kind}List` });
    const subKinds = [...(k.subresources?.scale ? [{ kind: 'Scale', group: 'autoscaling', version: 'v1' }] : []), ...(k.subresources?.extra ?? [])];
    for (const s of subKinds) {
      const group = s.group ?? k.group;
      const version = s.version ?? k.version;
      add(apiVersionOf({ group, version }), s.kind, { ...k, group, version, kind: s.kind });
    }
  }
  roots.add(PATCH_NAME);
  return { roots, kindsOf };
}

/** Adds the definitions of the custom resource kinds among `kinds` (and the built-in ones they refer to). */
function withCustomResources(kinds: readonly KindInfo[], defs: Record<string, JSONSchema>, ref: (name: string) => string, v3: boolean): Record<string, JSONSchema> {
  const custom = kinds.map((k) => customResourceOpenAPI(k, ref, v3)).filter((c) => c !== undefined);
  if (!custom.length) return defs;
  const out = { ...schemasFor(builtinSchema(), CUSTOM_RESOURCE_OPENAPI_REFS, ref), ...defs };
  for (const c of custom) Object.assign(out, c.definitions);
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}

/** A document, encoded once. */
class Encoded {
  readonly json: Buffer;
  readonly hash: string;
  private gz?: Buffer;

  constructor(value: unknown) {
    this.json = Buffer.from(JSON.stringify(value));
    this.hash = createHash('sha512').update(this.json).digest('hex').toUpperCase();
  }

  gzipped(): Buffer {
    this.gz ??= gzipSync(this.json);
    return this.gz;
  }
}

/** The OpenAPI documents of one scheme, built on first use. */
export class OpenAPIDocuments {
  private v2Doc?: Record<string, unknown>;
  private v2Json?: Encoded;
  private v2Proto?: { body: Buffer; gz?: Buffer };
  private v3Docs?: Map<string, Encoded>;
  private v3RootDoc?: Encoded;

  constructor(
    private readonly kinds: readonly KindInfo[],
    readonly version: string,
    private readonly schema: Schema = builtinSchema(),
    private readonly patchMeta: PatchMetaLookup | undefined = builtinPatchMeta(),
  ) {}

  /** The swagger 2.0 document. */
  v2(): Record<string, unknown> {
    if (!this.v2Doc) {
      const ref = (n: string) => `#/definitions/${n}`;
      const served = this.kinds.filter((k) => this.schema.typeNameForKind(apiVersionOf(k), k.kind) || customResourceOpenAPI(k, ref, false));
      const { roots, kindsOf } = rootsOf(this.schema, served);
      const paths: Record<string, unknown> = {};
      for (const k of served) Object.assign(paths, kindPaths(this.schema, k, false, ref));
      this.v2Doc = {
        swagger: '2.0',
        info: { title: 'Kubernetes', version: this.version },
        paths: Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]])),
        definitions: withCustomResources(served, schemasFor(this.schema, roots, ref, this.patchMeta, kindsOf), ref, false),
      };
    }
    return this.v2Doc;
  }

  v2JSON(): Encoded {
    this.v2Json ??= new Encoded(this.v2());
    return this.v2Json;
  }

  /** The v2 document as gnostic's `openapi.v2.Document` protobuf message. */
  v2Protobuf(): { body: Buffer; gzipped(): Buffer } {
    const p = (this.v2Proto ??= { body: encodeV2Protobuf(this.v2()) });
    return { body: p.body, gzipped: () => (p.gz ??= gzipSync(p.body)) };
  }

  /** group version path (`api/v1`, `apis/apps/v1`) → its OpenAPI 3.0 document. */
  v3GroupVersions(): Map<string, Encoded> {
    if (!this.v3Docs) {
      const ref = (n: string) => `#/components/schemas/${n}`;
      const byGV = new Map<string, KindInfo[]>();
      for (const k of this.kinds) {
        if (!this.schema.typeNameForKind(apiVersionOf(k), k.kind) && !customResourceOpenAPI(k, ref, true)) continue;
        const key = gvPath(k.group, k.version);
        byGV.set(key, [...(byGV.get(key) ?? []), k]);
      }
      this.v3Docs = new Map();
      for (const key of [...byGV.keys()].sort()) {
        const kinds = byGV.get(key)!;
        const { roots, kindsOf } = rootsOf(this.schema, kinds);
        const paths: Record<string, unknown> = {};
        for (const k of kinds) Object.assign(paths, kindPaths(this.schema, k, true, ref));
        this.v3Docs.set(
          key,
          new Encoded({
            openapi: '3.0.0',
            info: { title: 'Kubernetes', version: this.version },
            paths: Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]])),
            components: { schemas: withCustomResources(kinds, schemasFor(this.schema, roots, ref, this.patchMeta, kindsOf), ref, true) },
          }),
        );
      }
    }
    return this.v3Docs;
  }

  /** `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=…"}, …}}` */
  v3Root(): Encoded {
    if (!this.v3RootDoc) {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const [key, doc] of this.v3GroupVersions()) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
      this.v3RootDoc = new Encoded({ paths });
    }
    return this.v3RootDoc;
  }
}

const cache = new WeakMap<Scheme, { key: string; docs: OpenAPIDocuments }>();

/** The documents of a scheme, rebuilt only when its kinds change. */
export function openAPIFor(scheme: Scheme, version: string, patchMeta: PatchMetaLookup = builtinPatchMeta()): OpenAPIDocuments {
  const kinds = scheme.kinds();
  const key = `${version}|${kinds.map((k) => `${apiVersionOf(k)}/${k.kind}/${k.resource}/${k.namespaced}/${(k.verbs ?? []).join(',')}/${customResourceOpenAPIKey(k)}`).join(';')}`;
  const hit = cache.get(scheme);
  if (hit && hit.key === key) return hit.docs;
  const docs = new OpenAPIDocuments([...kinds], version, builtinSchema(), patchMeta);
  cache.set(scheme, { key, docs });
  return docs;
}

// ---- serving ----

const acceptsGzip = (req: IncomingMessage) => /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));

function send(req: IncomingMessage, res: ServerResponse, contentType: string, body: Buffer, gz: (() => Buffer) | undefined, headers: Record<string, string> = {}): void {
  const etag = headers.ETag;
  if (etag && req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const h: Record<string, string | number> = { 'Content-Type': contentType, ...headers };
  let out = body;
  if (gz && body.length > 1024 && acceptsGzip(req)) {
    out = gz();
    h['Content-Encoding'] = 'gzip';
    h.Vary = h.Vary ? `${h.Vary}, Accept-Encoding` : 'Accept-Encoding';
  }
  h['Content-Length'] = out.length;
  res.writeHead(200, h);
  res.end(req.method === 'HEAD' ? undefined : out);
}

/** Media types of an Accept header, highest preference first (q=0 dropped). */
function accepted(req: IncomingMessage): string[] {
  const header = String(req.headers.accept ?? '');
  if (!header.trim()) return ['*/*'];
  return header
    .split(',')
    .map((part, i) => {
      const [type, ...params] = part.split(';').map((s) => s.trim());
      const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1);
      return { type: type.toLowerCase(), q: Number.isFinite(q) ? q : 1, i };
    })
    .filter((m) => m.type && m.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((m) => m.type);
}

/** Serves `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<group version>`. */
export function serveOpenAPI(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, docs: OpenAPIDocuments): void {
  if (path === '/openapi/v2') {
    for (const type of accepted(req)) {
      if (type === V2_PROTOBUF || type === V2_PROTOBUF_RETURNED) {
        const proto = docs.v2Protobuf();
        const hash = docs.v2JSON().hash;
        return send(req, res, V2_PROTOBUF_RETURNED, proto.body, proto.gzipped, { ETag: `"${hash}"`, Vary: 'Accept' });
      }
      if (type === 'application/json' || type === '*/*' || type === 'application/*') {
        const doc = docs.v2JSON();
        return send(req, res, 'application/json', doc.json, () => doc.gzipped(), { ETag: `"${doc.hash}"`, Vary: 'Accept' });
      }
    }
    throw errNotAcceptable(`only the following media types are accepted: application/json, ${V2_PROTOBUF}`);
  }
  if (path === '/openapi/v3') {
    const root = docs.v3Root();
    return send(req, res, 'application/json', root.json, () => root.gzipped(), { ETag: `"${root.hash}"`, 'Cache-Control': 'no-cache, private' });
  }
  const key = path.slice('/openapi/v3/'.length);
  const doc = docs.v3GroupVersions().get(key);
  if (!doc) throw errNotFoundPath();
  if (!accepted(req).some((t) => t === 'application/json' || t === '*/*' || t === 'application/*')) throw errNotAcceptable('only the following media types are accepted: application/json');
  const hash = query.get('hash');
  const headers: Record<string, string> = { ETag: `"${doc.hash}"`, Vary: 'Accept' };
  if (hash !== null) {
    if (hash !== doc.hash) {
      res.writeHead(301, { Location: `/openapi/v3/${key}?hash=${doc.hash}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    headers['Cache-Control'] = 'public, immutable';
    headers.Expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString();
  }
  return send(req, res, 'application/json', doc.json, () => doc.gzipped(), headers);
}

// ---- gnostic protobuf (github.com/google/gnostic openapiv2/OpenAPIv2.proto), the subset we write ----

const GNOSTIC_V2_PROTO = `
syntax = "proto3";
package openapi.v2;
message Any { string yaml = 2; }
message NamedAny { string name = 1; Any value = 2; }
message Document { string swagger = 1; Info info = 2; Paths paths = 8; Definitions definitions = 9; }
message Info { string title = 1; string version = 2; }
message Definitions { repeated NamedSchema additional_properties = 1; }
message NamedSchema { string name = 1; Schema value = 2; }
message Schema { string _ref = 1; string format = 2; string description = 4; repeated string required = 19; AdditionalPropertiesItem additional_properties = 21; TypeItem type = 22; ItemsItem items = 23; Properties properties = 25; repeated NamedAny vendor_extension = 31; }
message AdditionalPropertiesItem { Schema schema = 1; }
message TypeItem { repeated string value = 1; }
message ItemsItem { repeated Schema schema = 1; }
message Properties { repeated NamedSchema additional_properties = 1; }
message Paths { repeated NamedPathItem path = 2; }
message NamedPathItem { string name = 1; PathItem value = 2; }
message PathItem { Operation get = 2; Operation put = 3; Operation post = 4; Operation delete = 5; Operation patch = 8; repeated ParametersItem parameters = 9; }
message Operation { repeated string tags = 1; string description = 3; string operation_id = 5; repeated string produces = 6; repeated string consumes = 7; repeated ParametersItem parameters = 8; Responses responses = 9; repeated string schemes = 10; repeated NamedAny vendor_extension = 13; }
message ParametersItem { Parameter parameter = 1; }
message Parameter { BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2; }
message BodyParameter { string description = 1; string name = 2; string in = 3; bool required = 4; Schema schema = 5; }
message NonBodyParameter { QueryParameterSubSchema query_parameter_sub_schema = 3; PathParameterSubSchema path_parameter_sub_schema = 4; }
message QueryParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; string type = 6; bool unique_items = 20; }
message PathParameterSubSchema { bool required = 1; string in = 2; string description = 3; string name = 4; string type = 5; bool unique_items = 19; }
message Responses { repeated NamedResponseValue response_code = 1; }
message NamedResponseValue { string name = 1; ResponseValue value = 2; }
message ResponseValue { Response response = 1; }
message Response { string description = 1; SchemaItem schema = 2; }
message SchemaItem { Schema schema = 1; }
`;

let gnosticDocument: Protobuf.Type | undefined;

type Plain = Record<string, unknown>;
const extensions = (o: Plain): Plain[] =>
  Object.keys(o)
    .filter((k) => k.startsWith('x-'))
    .sort()
    .map((k) => ({ name: k, value: { yaml: stringifyYAML(o[k]) } }));

function protoSchema(s: Plain): Plain {
  const out: Plain = {};
  if (typeof s.$ref === 'string') out._ref = s.$ref;
  if (typeof s.format === 'string') out.format = s.format;
  if (typeof s.description === 'string') out.description = s.description;
  if (Array.isArray(s.required)) out.required = s.required;
  if (s.additionalProperties) out.additional_properties = { schema: protoSchema(s.additionalProperties as Plain) };
  if (typeof s.type === 'string') out.type = { value: [s.type] };
  if (s.items) out.items = { schema: [protoSchema(s.items as Plain)] };
  if (s.properties) out.properties = { additional_properties: Object.entries(s.properties as Record<string, Plain>).map(([name, v]) => ({ name, value: protoSchema(v) })) };
  const ext = extensions(s);
  if (ext.length) out.vendor_extension = ext;
  return out;
}

function protoParameter(p: Plain): Plain {
  if (p.in === 'body') return { parameter: { body_parameter: { name: p.name, in: 'body', required: !!p.required, schema: protoSchema(p.schema as Plain) } } };
  const sub = { name: p.name, in: p.in, type: p.type, required: !!p.required, unique_items: !!p.uniqueItems };
  return { parameter: { non_body_parameter: p.in === 'path' ? { path_parameter_sub_schema: sub } : { query_parameter_sub_schema: sub } } };
}

function protoOperation(op: Plain): Plain {
  const responses = Object.entries((op.responses ?? {}) as Record<string, Plain>).map(([name, r]) => ({
    name,
    value: { response: { description: r.description, ...(r.schema ? { schema: { schema: protoSchema(r.schema as Plain) } } : {}) } },
  }));
  return {
    tags: op.tags,
    description: op.description,
    operation_id: op.operationId,
    produces: op.produces,
    consumes: op.consumes,
    parameters: ((op.parameters ?? []) as Plain[]).map(protoParameter),
    responses: { response_code: responses },
    schemes: op.schemes,
    vendor_extension: extensions(op),
  };
}

function encodeV2Protobuf(doc: Record<string, unknown>): Buffer {
  if (!gnosticDocument) {
    const root = protobuf().parse(GNOSTIC_V2_PROTO, { keepCase: true }).root;
    gnosticDocument = root.lookupType('openapi.v2.Document');
  }
  const paths = Object.entries(doc.paths as Record<string, Plain>).map(([name, item]) => {
    const value: Plain = {};
    for (const m of ['get', 'put', 'post', 'delete', 'patch']) if (item[m]) value[m] = protoOperation(item[m] as Plain);
    if (Array.isArray(item.parameters)) value.parameters = (item.parameters as Plain[]).map(protoParameter);
    return { name, value };
  });
  const message = {
    swagger: doc.swagger,
    info: doc.info,
    paths: { path: paths },
    definitions: { additional_properties: Object.entries(doc.definitions as Record<string, Plain>).map(([name, s]) => ({ name, value: protoSchema(s) })) },
  };
  return Buffer.from(gnosticDocument.encode(gnosticDocument.fromObject(message)).finish());
}
