// How a strategic merge patch treats each field of a type. Upstream reads this from the Go struct tags
// `patchStrategy` / `patchMergeKey` (strategicpatch.NewPatchMetaFromStruct on the server; kubectl reads the
// same facts from OpenAPI `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`). `+listType=map`
// markers are not consulted by SMP: a list with a listMapKey but no patchStrategy is replaced whole.

/** A structured type: only fields whose patch handling differs from plain JSON merge, or that lead to such fields, are listed. */
export interface SMPType {
  /** the upstream Go type name, for reading the table */
  readonly name: string;
  readonly fields: Readonly<Record<string, SMPField>>;
}

export type SMPField =
  /** a nested object; `replace` takes the patch's object whole, `retainKeys` honours `$retainKeys` (as every map does) */
  | { readonly kind: 'object'; readonly type?: SMPType; readonly strategy?: 'replace' | 'retainKeys' }
  /** string-keyed map of primitives (labels, data, resource lists): merged key by key */
  | { readonly kind: 'map' }
  /** list of objects: merged element-wise on `mergeKey` when there is one, replaced whole (atomic) otherwise */
  | { readonly kind: 'list'; readonly elem?: SMPType; readonly mergeKey?: string; readonly retainKeys?: boolean }
  /** list of primitives with patchStrategy merge (finalizers, podCIDRs): a set union */
  | { readonly kind: 'set' };

export const struct = (name: string, fields: Record<string, SMPField>): SMPType => ({ name, fields });
export const object = (type?: SMPType): SMPField => ({ kind: 'object', type });
export const replacedObject = (type?: SMPType): SMPField => ({ kind: 'object', type, strategy: 'replace' });
export const retainKeysObject = (type?: SMPType): SMPField => ({ kind: 'object', type, strategy: 'retainKeys' });
export const map: SMPField = { kind: 'map' };
export const set: SMPField = { kind: 'set' };
/** `patchStrategy:"merge"` + `patchMergeKey` */
export const mergeList = (mergeKey: string, elem?: SMPType, o: { retainKeys?: boolean } = {}): SMPField => ({
  kind: 'list',
  elem,
  mergeKey,
  ...(o.retainKeys ? { retainKeys: true } : {}),
});
/** no patchStrategy: the patch's list replaces the live one */
export const atomicList = (elem?: SMPType): SMPField => ({ kind: 'list', elem });
