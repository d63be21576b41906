// Decodes `application/vnd.kubernetes.protobuf` request bodies into the plain objects the API server
// gets from JSON bodies.
import { createRequire } from 'node:module';
import type * as Protobuf from 'protobufjs';
import { errBadRequest, StatusError } from '../errors.js';
import { KUBERNETES_PROTO_SCHEMA } from './schema.js';

// loaded when first needed (a protobuf body, the protobuf OpenAPI document): it costs start-up time
const require = createRequire(import.meta.url);
let loaded: typeof Protobuf | undefined;
const protobuf = () => (loaded ??= require('protobufjs') as typeof Protobuf);

/** Every protobuf body starts with these four bytes: `k8s\0`. */
export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The kinds decoded, by apiVersion; the message of a kind is `<package>.<Kind>`. */
const KINDS: Record<string, { pkg: string; kinds: readonly string[] }> = {
  v1: {
    pkg: 'core',
    kinds: ['ConfigMap', 'Endpoints', 'Event', 'LimitRange', 'Namespace', 'PersistentVolumeClaim', 'Pod', 'PodTemplate', 'ReplicationController', 'ResourceQuota', 'Secret', 'Service', 'ServiceAccount'],
  },
  'apps/v1': { pkg: 'apps', kinds: ['DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet'] },
  'batch/v1': { pkg: 'batch', kinds: ['CronJob', 'Job'] },
  'rbac.authorization.k8s.io/v1': { pkg: 'rbac', kinds: ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'] },
  'networking.k8s.io/v1': { pkg: 'networking', kinds: ['Ingress', 'IngressClass', 'NetworkPolicy'] },
  'policy/v1': { pkg: 'policy', kinds: ['PodDisruptionBudget'] },
  'scheduling.k8s.io/v1': { pkg: 'scheduling', kinds: ['PriorityClass'] },
  'authentication.k8s.io/v1': { pkg: 'authentication', kinds: ['SelfSubjectReview', 'TokenRequest'] },
  'authorization.k8s.io/v1': { pkg: 'authorization', kinds: ['LocalSubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'SubjectAccessReview'] },
};

/** The (apiVersion, kind) pairs this decoder understands. */
export function protobufKinds(): { apiVersion: string; kind: string }[] {
  return Object.entries(KINDS).flatMap(([apiVersion, { kinds }]) => kinds.map((kind) => ({ apiVersion, kind })));
}

let root: Protobuf.Root | undefined;

function schemaRoot(): Protobuf.Root {
  if (!root) {
    const r = new (protobuf()).Root();
    // protobuf.parse takes one package per call
    for (const chunk of KUBERNETES_PROTO_SCHEMA.split(/^(?=package )/m)) if (chunk.trim()) protobuf().parse(chunk, r, { keepCase: true });
    r.resolveAll();
    root = r;
  }
  return root;
}

/** The envelope of a protobuf body (runtime.Unknown). */
export interface ProtobufEnvelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

function badBody(detail: string): StatusError {
  return errBadRequest(`the body of the request could not be decoded as protobuf: ${detail}`);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Checks the magic and decodes the runtime.Unknown around the object. */
export function decodeProtobufEnvelope(buf: Buffer): ProtobufEnvelope {
  if (buf.length < PROTOBUF_MAGIC.length || !buf.subarray(0, PROTOBUF_MAGIC.length).equals(PROTOBUF_MAGIC))
    throw badBody('it does not start with the protobuf prefix "k8s\\x00"');
  let u: Protobuf.Message & { typeMeta?: { apiVersion?: string; kind?: string }; raw?: Uint8Array; contentEncoding?: string; contentType?: string };
  try {
    u = schemaRoot().lookupType('runtime.Unknown').decode(buf.subarray(PROTOBUF_MAGIC.length));
  } catch (e) {
    throw badBody(errorText(e));
  }
  const apiVersion = u.typeMeta?.apiVersion ?? '';
  const kind = u.typeMeta?.kind ?? '';
  if (!kind) throw badBody("Object 'Kind' is missing");
  if (!apiVersion) throw badBody("Object 'apiVersion' is missing");
  return { apiVersion, kind, raw: u.raw ?? new Uint8Array(), contentEncoding: u.contentEncoding ?? '', contentType: u.contentType ?? '' };
}

/** Decodes the object of an envelope into its JSON form (with apiVersion and kind first). */
export function decodeProtobufObject(env: ProtobufEnvelope): Record<string, unknown> {
  const entry = KINDS[env.apiVersion];
  if (!entry || !entry.kinds.includes(env.kind))
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - protobuf is not supported for ${env.apiVersion}, Kind=${env.kind}; accepted media types include: application/json, application/yaml`,
    );
  if (env.contentEncoding !== '') throw new StatusError(415, 'UnsupportedMediaType', `unsupported content encoding in the protobuf body: ${env.contentEncoding}`);
  if (env.contentType !== '' && env.contentType !== 'application/vnd.kubernetes.protobuf')
    throw new StatusError(415, 'UnsupportedMediaType', `unsupported content type in the protobuf body: ${env.contentType}`);
  const type = schemaRoot().lookupType(`${entry.pkg}.${env.kind}`);
  let fields: Record<string, unknown>;
  try {
    fields = messageToJSON(type, type.decode(env.raw));
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw badBody(`${env.apiVersion}, Kind=${env.kind}: ${errorText(e)}`);
  }
  return { apiVersion: env.apiVersion, kind: env.kind, ...fields };
}

/** Decodes a whole `application/vnd.kubernetes.protobuf` body. Malformed → 400, unknown kind → 415. */
export function decodeKubernetesProtobuf(buf: Buffer): { apiVersion: string; kind: string; object: Record<string, unknown> } {
  const env = decodeProtobufEnvelope(buf);
  return { apiVersion: env.apiVersion, kind: env.kind, object: decodeProtobufObject(env) };
}

// ---- wire values → JSON values ----

type Decoded = Record<string, unknown>;

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

interface LongLike {
  toNumber(): number;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && typeof (v as LongLike).toNumber === 'function') return (v as LongLike).toNumber();
  return Number(v);
}

function scalarToJSON(type: string, v: unknown): unknown {
  switch (type) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return toNumber(v);
    case 'bytes':
      return Buffer.from(v as Uint8Array).toString('base64');
    default:
      return v;
  }
}

const isZeroScalar = (v: unknown) => v === '' || v === 0 || v === false;

function rfc3339(seconds: number, micros?: number): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw new RangeError(`time out of range: ${seconds}s`);
  const iso = d.toISOString();
  if (!/^\d{4}-/.test(iso)) throw new RangeError(`time out of range: ${seconds}s`);
  const base = iso.slice(0, 19);
  return micros === undefined ? `${base}Z` : `${base}.${String(micros).padStart(6, '0')}Z`;
}

type ValueType = (m: Decoded) => { value: unknown; zero: boolean };

/**
 * Value types with a JSON form of their own. Each returns undefined for the value JSON prints as null
 * or that a non-pointer field would omit; `zero` says whether a present value is its type's zero.
 */
const VALUE_TYPES: Record<string, ValueType> = {
  // Go writes a zero Time as an empty message; seconds present means a real time (even the epoch).
  '.meta.Time': (m) => (hasOwn(m, 'seconds') ? { value: rfc3339(toNumber(m.seconds)), zero: false } : { value: undefined, zero: true }),
  '.meta.MicroTime': (m) => {
    if (!hasOwn(m, 'seconds') && !hasOwn(m, 'nanos')) return { value: undefined, zero: true };
    const nanos = toNumber(m.nanos ?? 0);
    if (nanos < 0 || nanos > 999_999_999) throw new RangeError(`nanos out of range: ${nanos}`);
    return { value: rfc3339(toNumber(m.seconds ?? 0), Math.floor(nanos / 1000)), zero: false };
  },
  '.intstr.IntOrString': (m) => {
    const type = toNumber(m.type ?? 0);
    if (type !== 0 && type !== 1) throw new RangeError(`impossible IntOrString type ${type}`);
    if (type === 1) return { value: String(m.strVal ?? ''), zero: (m.strVal ?? '') === '' };
    const n = toNumber(m.intVal ?? 0);
    return { value: n, zero: n === 0 };
  },
  '.resource.Quantity': (m) => {
    const s = String(m.string ?? '');
    return { value: s === '' ? undefined : s, zero: s === '' };
  },
  '.meta.FieldsV1': (m) => {
    const raw = m.Raw as Uint8Array | undefined;
    if (!raw || raw.length === 0) return { value: undefined, zero: true };
    try {
      return { value: JSON.parse(Buffer.from(raw).toString('utf8')) as unknown, zero: false };
    } catch {
      throw new RangeError('managedFields: fieldsV1 is not JSON');
    }
  },
};

/** How one field turns into JSON, worked out once per message type. */
interface FieldPlan {
  name: string;
  key: string;
  map: boolean;
  repeated: boolean;
  pointer: boolean;
  keep: boolean;
  inline: boolean;
  scalarType: string;
  message?: Protobuf.Type;
  valueType?: ValueType;
}

const plans = new WeakMap<Protobuf.Type, FieldPlan[]>();

function planOf(type: Protobuf.Type): FieldPlan[] {
  let plan = plans.get(type);
  if (!plan) {
    plan = type.fieldsArray.map((f) => {
      const opts = f.options ?? {};
      const message = f.resolvedType instanceof protobuf().Type ? f.resolvedType : undefined;
      return {
        name: f.name,
        key: (opts['(json)'] as string | undefined) ?? f.name,
        map: f.map,
        repeated: f.repeated,
        pointer: opts['(ptr)'] === true,
        keep: opts['(keep)'] === true,
        inline: opts['(inline)'] === true,
        scalarType: f.type,
        message,
        valueType: message ? VALUE_TYPES[message.fullName] : undefined,
      };
    });
    plans.set(type, plan);
  }
  return plan;
}

function elementToJSON(f: FieldPlan, v: unknown): unknown {
  if (f.valueType) return f.valueType(v as Decoded).value ?? null;
  if (f.message) return messageToJSON(f.message, v as Decoded);
  return scalarToJSON(f.scalarType, v);
}

function messageToJSON(type: Protobuf.Type, msg: Decoded): Decoded {
  const out: Decoded = {};
  for (const f of planOf(type)) {
    const v = msg[f.name];
    if (f.map) {
      const entries = Object.entries((v ?? {}) as Decoded);
      if (entries.length) out[f.key] = Object.fromEntries(entries.map(([k, e]) => [k, elementToJSON(f, e)]));
    } else if (f.repeated) {
      if (Array.isArray(v) && v.length) out[f.key] = v.map((e) => elementToJSON(f, e));
    } else if (v === null || v === undefined || !hasOwn(msg, f.name)) {
      continue;
    } else if (f.valueType) {
      const { value, zero } = f.valueType(v as Decoded);
      if (value !== undefined && (f.pointer || !zero)) out[f.key] = value;
    } else if (f.message) {
      const obj = messageToJSON(f.message, v as Decoded);
      if (f.inline) Object.assign(out, obj);
      else if (f.pointer || Object.keys(obj).length) out[f.key] = obj;
    } else {
      const value = scalarToJSON(f.scalarType, v);
      if (f.pointer || f.keep || !isZeroScalar(value)) out[f.key] = value;
    }
  }
  return out;
}
