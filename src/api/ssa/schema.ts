// How server-side apply sees each field of a built-in kind. Upstream reads this from the OpenAPI
// extensions `x-kubernetes-list-type`/`-list-map-keys`, `-map-type` and `-struct-type` (Go markers
// `+listType`, `+listMapKey`, `+mapType`, `+structType`). We derive it from the strategic-merge facts
// table (a merge key there is a list-map key here; a list without one is atomic) and correct the few
// places where the two disagree.
import { smpSchemaFor, type SMPField, type SMPType } from '../smp/index.js';
import { isPlainObject } from '../object.js';

export type SSANode =
  /** named fields; fields the type does not list are deduced from their values */
  | { readonly kind: 'struct'; readonly type?: SMPType }
  /** string-keyed map (labels, data): every key is owned on its own */
  | { readonly kind: 'map' }
  /** associative list (`listType=map`): items are identified by their key fields */
  | { readonly kind: 'list'; readonly keys: readonly string[]; readonly keyDefaults?: Readonly<Record<string, unknown>>; readonly elem: SSANode }
  /** list of primitives with `listType=set` (finalizers): each value is owned on its own */
  | { readonly kind: 'set' }
  /** scalars, atomic lists, atomic maps and structs: replaced and owned whole */
  | { readonly kind: 'atomic' }
  /** a field no schema describes: an object is a struct, anything else atomic */
  | { readonly kind: 'deduced' };

const ATOMIC: SSANode = { kind: 'atomic' };
const DEDUCED: SSANode = { kind: 'deduced' };
const UNTYPED_STRUCT: SSANode = { kind: 'struct' };
const MAP: SSANode = { kind: 'map' };
const SET: SSANode = { kind: 'set' };

/** Types marked `+structType=atomic` that the SMP table names. */
const ATOMIC_STRUCTS = new Set(['LabelSelector', 'LocalObjectReference', 'ObjectReference']);

/** Maps marked `+mapType=atomic`, as `<Type>.<field>`. */
const ATOMIC_MAPS = new Set(['PodSpec.nodeSelector', 'ServiceSpec.selector', 'ReplicationControllerSpec.selector']);

/** List-map keys where upstream's `+listMapKey`s differ from the SMP merge key (or SMP has none). */
const LIST_KEYS: Readonly<Record<string, { keys: readonly string[]; defaults?: Record<string, unknown> }>> = {
  'Container.ports': { keys: ['containerPort', 'protocol'], defaults: { protocol: 'TCP' } },
  'EphemeralContainer.ports': { keys: ['containerPort', 'protocol'], defaults: { protocol: 'TCP' } },
  'ServiceSpec.ports': { keys: ['port', 'protocol'], defaults: { protocol: 'TCP' } },
  'PodSpec.topologySpreadConstraints': { keys: ['topologyKey', 'whenUnsatisfiable'] },
  'ResourceRequirements.claims': { keys: ['name'] },
};

const structNode = (type: SMPType | undefined): SSANode => (type && ATOMIC_STRUCTS.has(type.name) ? ATOMIC : type ? { kind: 'struct', type } : UNTYPED_STRUCT);

function nodeOfField(owner: SMPType, name: string, f: SMPField): SSANode {
  const at = `${owner.name}.${name}`;
  switch (f.kind) {
    case 'object':
      return structNode(f.type);
    case 'map':
      return ATOMIC_MAPS.has(at) ? ATOMIC : MAP;
    case 'set':
      return SET;
    case 'list': {
      const override = LIST_KEYS[at];
      const keys = override?.keys ?? (f.mergeKey ? [f.mergeKey] : undefined);
      if (!keys) return ATOMIC;
      return { kind: 'list', keys, keyDefaults: override?.defaults, elem: structNode(f.elem) };
    }
  }
}

const fieldCache = new WeakMap<SMPType, Map<string, SSANode>>();

/** The node of field `name` of a struct or map node. */
export function fieldNode(parent: SSANode, name: string): SSANode {
  if (parent.kind !== 'struct' || !parent.type) return DEDUCED;
  const type = parent.type;
  let cache = fieldCache.get(type);
  if (!cache) {
    cache = new Map();
    fieldCache.set(type, cache);
  }
  let n = cache.get(name);
  if (!n) {
    const f = Object.hasOwn(type.fields, name) ? type.fields[name] : undefined;
    n = f ? nodeOfField(type, name, f) : DEDUCED;
    cache.set(name, n);
  }
  return n;
}

/** Settles a deduced node from the values found at it (absent values are ignored). */
export function resolveNode(node: SSANode, ...values: unknown[]): SSANode {
  if (node.kind !== 'deduced') return node;
  let seen = false;
  for (const v of values) {
    if (v === undefined) continue;
    if (!isPlainObject(v)) return ATOMIC;
    seen = true;
  }
  return seen ? UNTYPED_STRUCT : ATOMIC;
}

/** A deduced node where no value says what it is (walking a field set): treated as a struct. */
export const structural = (node: SSANode): SSANode => (node.kind === 'deduced' ? UNTYPED_STRUCT : node);

/** The schema of a whole object of a kind; kinds without a table are deduced from their values. */
export function ssaSchemaFor(apiVersion: string, kind: string): SSANode {
  return structNode(smpSchemaFor(apiVersion, kind));
}

/** The names of SMP types whose Go fields are values, not pointers: an empty object has them (as `{}`). */
export const VALUE_STRUCTS = new Set(['ObjectMeta', 'PodTemplateSpec', 'PodSpec', 'DeploymentStrategy', 'JobTemplateSpec', 'JobSpec']);
