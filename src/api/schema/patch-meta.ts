// The strategic-merge facts (src/api/smp) keyed by schema type and field, as OpenAPI publishes them:
// `x-kubernetes-patch-strategy` (merge | retainKeys | replace | merge,retainKeys) and
// `x-kubernetes-patch-merge-key`.
import { smpSchemaFor, type SMPType } from '../smp/index.js';
import { builtinSchema, type Schema } from './index.js';

export interface PatchMeta {
  strategy?: string;
  mergeKey?: string;
}

/** (type name, field) → its patch facts; undefined for fields that patch as plain JSON merge. */
export type PatchMetaLookup = (typeName: string, field: string) => PatchMeta | undefined;

/** Walks each kind's strategic-merge tree beside its schema type and records the facts by type name. */
export function patchMetaFromSMP(schema: Schema): PatchMetaLookup {
  const table = new Map<string, PatchMeta>();
  const visited = new Set<string>();
  const walk = (typeName: string, smp: SMPType) => {
    const key = `${typeName}|${smp.name}`;
    if (visited.has(key)) return;
    visited.add(key);
    for (const [field, f] of Object.entries(smp.fields)) {
      const shape = schema.field(typeName, field);
      if (!shape) continue;
      let meta: PatchMeta | undefined;
      if (f.kind === 'list') {
        if (f.mergeKey) meta = { strategy: f.retainKeys ? 'merge,retainKeys' : 'merge', mergeKey: f.mergeKey };
        if (f.elem && shape.kind === 'array' && shape.items.kind === 'ref') walk(shape.items.name, f.elem);
      } else if (f.kind === 'set') meta = { strategy: 'merge' };
      else if (f.kind === 'object') {
        if (f.strategy) meta = { strategy: f.strategy };
        if (f.type && shape.kind === 'ref') walk(shape.name, f.type);
      }
      if (meta) table.set(`${typeName}.${field}`, meta);
    }
  };
  for (const [apiVersion, kind, root] of schema.kinds()) {
    const smp = smpSchemaFor(apiVersion, kind);
    if (smp) walk(root, smp);
  }
  return (typeName, field) => table.get(`${typeName}.${field}`);
}

let builtin: PatchMetaLookup | undefined;

/** The patch facts of the built-in schema (computed once). */
export function builtinPatchMeta(): PatchMetaLookup {
  builtin ??= patchMetaFromSMP(builtinSchema());
  return builtin;
}
