// Matching rules of core/v1 scheduling fields, as upstream's component-helpers/scheduling/corev1:
// taints against tolerations, node selector terms against a node's labels and name.
import type { Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration } from 'kubernetes-types/core/v1.js';

export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const LABEL_HOSTNAME = 'kubernetes.io/hostname';

/** Whether one toleration tolerates one taint (an empty effect or an empty Exists key match all). */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
    case '':
      return (t.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

export function tolerationsTolerateTaint(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first taint (among those `filter` keeps) that no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[] | undefined, filter?: (t: Taint) => boolean): Taint | undefined {
  for (const taint of taints) {
    if (filter && !filter(taint)) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

/** upstream's Taint.ToString for messages: `{key: value}`. */
export const taintText = (t: Taint): string => `{${t.key}: ${t.value ?? ''}}`;

/** A node selector requirement against labels (Gt/Lt compare integers). */
export function nodeSelectorRequirementMatches(r: NodeSelectorRequirement, labels: Record<string, string> | undefined): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key] : undefined;
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && values.includes(v!);
    case 'NotIn':
      return !has || !values.includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1) return false;
      if (!/^-?[0-9]+$/.test(v!) || !/^-?[0-9]+$/.test(values[0])) return false;
      const a = BigInt(v!);
      const b = BigInt(values[0]);
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** matchFields support only `metadata.name` (In / NotIn with one value), as upstream. */
function fieldRequirementMatches(r: NodeSelectorRequirement, nodeName: string): boolean {
  if (r.key !== 'metadata.name') return false;
  return nodeSelectorRequirementMatches(r, { 'metadata.name': nodeName });
}

/** One term: every expression and field requirement holds; an empty term matches nothing. */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, labels: Record<string, string> | undefined, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const r of exprs) if (!nodeSelectorRequirementMatches(r, labels)) return false;
  for (const r of fields) if (!fieldRequirementMatches(r, nodeName)) return false;
  return true;
}

/** The terms are ORed. */
export function nodeSelectorMatches(sel: NodeSelector, node: Node): boolean {
  const labels = node.metadata?.labels;
  const name = node.metadata?.name ?? '';
  for (const term of sel.nodeSelectorTerms ?? []) if (nodeSelectorTermMatches(term, labels, name)) return true;
  return false;
}

/** A pod's `nodeSelector` and required node affinity, both of which must hold. */
export interface RequiredNodeAffinity {
  nodeSelector?: Record<string, string>;
  required?: NodeSelector;
}

export function requiredNodeAffinityMatches(a: RequiredNodeAffinity, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  if (a.nodeSelector) for (const [k, v] of Object.entries(a.nodeSelector)) if (labels[k] !== v) return false;
  if (a.required) return nodeSelectorMatches(a.required, node);
  return true;
}
