// RBAC policy rules: does a rule allow a request, and does one set of rules cover another (escalation checks).
import type { PolicyRule } from 'kubernetes-types/rbac/v1.js';
import type { UserInfo } from '../registry.js';

/** What an authorizer decides on: upstream's authorizer.Attributes. */
export interface Attributes {
  user: UserInfo;
  verb: string;
  /** false for non-resource paths (`/healthz`, `/api`, `/apis/apps/v1`) */
  resourceRequest: boolean;
  /** the URL path (non-resource requests) */
  path: string;
  namespace: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  name: string;
}

export type Rule = PolicyRule;

const has = (list: readonly string[] | undefined, v: string) => !!list && list.includes(v);

export function verbMatches(rule: Rule, verb: string): boolean {
  return has(rule.verbs, '*') || has(rule.verbs, verb);
}

export function apiGroupMatches(rule: Rule, group: string): boolean {
  return has(rule.apiGroups, '*') || has(rule.apiGroups, group);
}

/** `resource/subresource` as asked; `*` and `*​/subresource` in the rule match too. */
export function resourceMatches(rule: Rule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

export function resourceNameMatches(rule: Rule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

/** `*`, an exact path, or a prefix ending in `*`. */
export function nonResourceURLMatches(rule: Rule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(a: Attributes, rule: Rule): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (!a.resourceRequest) return nonResourceURLMatches(rule, a.path);
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return apiGroupMatches(rule, a.apiGroup) && resourceMatches(rule, combined, a.subresource) && resourceNameMatches(rule, a.name);
}

// ---- coverage (escalation prevention) ----

/** One rule per verb × group × resource × resourceName (and per verb × nonResourceURL). */
export function breakdownRule(rule: Rule): Rule[] {
  const out: Rule[] = [];
  for (const group of rule.apiGroups ?? [])
    for (const resource of rule.resources ?? [])
      for (const verb of rule.verbs ?? []) {
        if (rule.resourceNames?.length) for (const n of rule.resourceNames) out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [n] });
        else out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
      }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs ?? []) out.push({ nonResourceURLs: [url], verbs: [verb] });
  return out;
}

const hasAll = (set: readonly string[] | undefined, wanted: readonly string[] | undefined) => (wanted ?? []).every((w) => has(set, w));

function resourcesCovered(owner: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  if (has(owner, '*')) return true;
  return (wanted ?? []).every((r) => {
    if (has(owner, r)) return true;
    const slash = r.indexOf('/');
    return slash >= 0 && has(owner, `*/${r.slice(slash + 1)}`);
  });
}

const urlCovers = (owner: string, path: string) => owner === path || (owner.endsWith('*') && path.startsWith(owner.replace(/\*+$/, '')));

/** Whether `owner` covers `sub`, a rule with at most one verb, resource and resourceName. */
export function ruleCovers(owner: Rule, sub: Rule): boolean {
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  return (
    (has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs)) &&
    (has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups)) &&
    resourcesCovered(owner.resources, sub.resources) &&
    (sub.nonResourceURLs ?? []).every((p) => (owner.nonResourceURLs ?? []).some((o) => urlCovers(o, p))) &&
    (subNames.length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, subNames))
  );
}

/** The parts of `wanted` that no rule of `owner` covers (empty: covered). */
export function uncoveredRules(owner: readonly Rule[], wanted: readonly Rule[]): Rule[] {
  const out: Rule[] = [];
  for (const w of wanted) for (const sub of breakdownRule(w)) if (!owner.some((o) => ruleCovers(o, sub))) out.push(sub);
  return out;
}

/** Upstream's compact rule string, e.g. `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`. */
export function ruleString(r: Rule): string {
  const q = (l: readonly string[]) => `[${l.map((s) => JSON.stringify(s)).join(' ')}]`;
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${q(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${q(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${q(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${q(r.resourceNames)}`);
  parts.push(`Verbs:${q(r.verbs ?? [])}`);
  return `{${parts.join(', ')}}`;
}

/** Merges single-resource rules that differ only in their verbs (upstream CompactRules). */
export function compactRules(rules: readonly Rule[]): Rule[] {
  const out: Rule[] = [];
  const merged = new Map<string, Rule>();
  for (const r of rules) {
    const simple = !r.nonResourceURLs?.length && r.apiGroups?.length === 1 && r.resources?.length === 1 && (r.resourceNames?.length ?? 0) <= 1;
    if (!simple) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups, r.resources, r.resourceNames ?? []]);
    const m = merged.get(key);
    if (m) {
      for (const v of r.verbs ?? []) if (!m.verbs.includes(v)) (m.verbs as string[]).push(v);
    } else {
      const copy: Rule = { ...r, verbs: [...(r.verbs ?? [])] };
      merged.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}
