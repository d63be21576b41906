// What one object costs in ResourceQuota terms (upstream pkg/quota/v1/evaluator/core), shared by the
// quota admission plugin and the quota controller.
import type { Container, Pod, ResourceQuota, ScopedResourceSelectorRequirement } from 'kubernetes-types/core/v1.js';
import { addQuantity, cmpQuantity, formatQuantity, newQuantity, parseQuantity, subQuantity, type Quantity } from './quantity.js';
import { computePodQOS } from './kinds/podspec.js';
import type { KubeObject } from './types.js';

export type Usage = Map<string, Quantity>;

const ONE = () => newQuantity(1);
const STORAGE_CLASS_SUFFIX = '.storageclass.storage.k8s.io/';

function qty(v: unknown): Quantity | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  try {
    return parseQuantity(v);
  } catch {
    return undefined;
  }
}

export const objectCountName = (group: string, resource: string) => (group ? `count/${resource}.${group}` : `count/${resource}`);

/** Standard quota names a kind is measured in besides its `count/` name. */
const POD_NAMES = new Set(['pods', 'cpu', 'memory', 'ephemeral-storage']);

/** Whether `name` (a key of a quota's hard) measures objects of this kind (upstream MatchingResources). */
export function quotaNameMatches(group: string, resource: string, name: string): boolean {
  if (name === objectCountName(group, resource)) return true;
  if (group !== '') return false;
  switch (resource) {
    case 'pods':
      return POD_NAMES.has(name) || name.startsWith('requests.') || name.startsWith('limits.') || name.startsWith('hugepages-');
    case 'services':
      return name === 'services' || name === 'services.loadbalancers' || name === 'services.nodeports';
    case 'persistentvolumeclaims':
      return name === 'persistentvolumeclaims' || name === 'requests.storage' || name.includes(STORAGE_CLASS_SUFFIX);
    case 'secrets':
    case 'configmaps':
    case 'replicationcontrollers':
    case 'resourcequotas':
      return name === resource;
  }
  return false;
}

const add = (u: Usage, k: string, q: Quantity) => u.set(k, u.has(k) ? addQuantity(u.get(k)!, q) : q);

function resourceSum(containers: Container[], inits: Container[], field: 'requests' | 'limits', overhead: Record<string, unknown> | undefined): Usage {
  const sum: Usage = new Map();
  for (const c of containers) for (const [k, v] of Object.entries(c.resources?.[field] ?? {})) {
    const q = qty(v);
    if (q) add(sum, k, q);
  }
  for (const c of inits) for (const [k, v] of Object.entries(c.resources?.[field] ?? {})) {
    const q = qty(v);
    if (q && (!sum.has(k) || cmpQuantity(q, sum.get(k)!) > 0)) sum.set(k, q);
  }
  for (const [k, v] of Object.entries(overhead ?? {})) {
    const q = qty(v);
    if (q && sum.has(k)) add(sum, k, q);
  }
  return sum;
}

/** Upstream QuotaV1Pod: terminal pods, and pods past their deletion grace period, are not charged. */
export function podIsCharged(pod: Pod, now: number): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const m = pod.metadata;
  if (m?.deletionTimestamp && typeof m.deletionGracePeriodSeconds === 'number') {
    const t = Date.parse(m.deletionTimestamp);
    if (!Number.isNaN(t) && now > t + m.deletionGracePeriodSeconds * 1000) return false;
  }
  return true;
}

/** Upstream podComputeUsageHelper over the pod's effective requests and limits. */
function podComputeUsage(requests: Usage, limits: Usage): Usage {
  const u: Usage = new Map([['pods', ONE()]]);
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    const req = requests.get(r);
    if (req) {
      u.set(r, req);
      u.set(`requests.${r}`, req);
    }
    const lim = limits.get(r);
    if (lim) u.set(`limits.${r}`, lim);
  }
  for (const [k, v] of requests) {
    if (k.startsWith('hugepages-')) {
      u.set(k, v);
      u.set(`requests.${k}`, v);
    } else if (k.includes('/') && !k.includes('kubernetes.io/')) u.set(`requests.${k}`, v);
  }
  return u;
}

export function podUsage(pod: Pod, now: number): Usage {
  const u: Usage = new Map([[objectCountName('', 'pods'), ONE()]]);
  if (!podIsCharged(pod, now)) return u;
  const s = pod.spec;
  const containers = s?.containers ?? [];
  const inits = s?.initContainers ?? [];
  const compute = podComputeUsage(resourceSum(containers, inits, 'requests', s?.overhead), resourceSum(containers, inits, 'limits', s?.overhead));
  for (const [k, v] of compute) u.set(k, v);
  return u;
}

/** The resources a container lacks among cpu/memory ones a quota tracks (upstream enforcePodContainerConstraints). */
const VALIDATION_SET = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

/** `must specify limits.cpu for: a,b; requests.memory for: a` when a quota tracks compute the pod does not set; undefined otherwise. */
export function podConstraintError(pod: Pod, hard: readonly string[]): string | undefined {
  const required = VALIDATION_SET.filter((r) => hard.includes(r));
  if (!required.length) return undefined;
  const missing = new Map<string, Set<string>>();
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    const have = podComputeUsage(
      new Map(Object.entries(c.resources?.requests ?? {}).flatMap(([k, v]) => (qty(v) ? [[k, qty(v)!]] : []))),
      new Map(Object.entries(c.resources?.limits ?? {}).flatMap(([k, v]) => (qty(v) ? [[k, qty(v)!]] : []))),
    );
    for (const r of required) if (!have.has(r)) (missing.get(r) ?? missing.set(r, new Set()).get(r)!).add(c.name);
  }
  if (!missing.size) return undefined;
  const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`);
  return `must specify ${parts.join('; ')}`;
}

interface ServiceLike {
  spec?: { type?: string; ports?: unknown[]; allocateLoadBalancerNodePorts?: boolean };
}
interface ClaimLike {
  spec?: { storageClassName?: string | null; resources?: { requests?: Record<string, unknown> } };
  status?: { allocatedResources?: Record<string, unknown> };
}

/** Everything `obj` (of group/resource) is charged for, keyed by quota name. */
export function objectUsage(group: string, resource: string, obj: KubeObject, now: number): Usage {
  if (group === '' && resource === 'pods') return podUsage(obj as Pod, now);
  const u: Usage = new Map([[objectCountName(group, resource), ONE()]]);
  if (group !== '') return u;
  switch (resource) {
    case 'services': {
      const spec = (obj as ServiceLike).spec ?? {};
      const ports = Array.isArray(spec.ports) ? spec.ports.length : 0;
      u.set('services', ONE());
      u.set('services.loadbalancers', newQuantity(spec.type === 'LoadBalancer' ? 1 : 0));
      let nodePorts = 0;
      if (spec.type === 'NodePort') nodePorts = ports;
      if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false) nodePorts = ports;
      u.set('services.nodeports', newQuantity(nodePorts));
      break;
    }
    case 'persistentvolumeclaims': {
      const c = obj as ClaimLike;
      u.set('persistentvolumeclaims', ONE());
      const cls = c.spec?.storageClassName;
      if (cls) u.set(`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`, ONE());
      let storage = qty(c.spec?.resources?.requests?.storage);
      const allocated = qty(c.status?.allocatedResources?.storage);
      if (allocated && (!storage || cmpQuantity(allocated, storage) > 0)) storage = allocated;
      if (storage) {
        u.set('requests.storage', storage);
        if (cls) u.set(`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`, storage);
      }
      break;
    }
    case 'secrets':
    case 'configmaps':
    case 'replicationcontrollers':
    case 'resourcequotas':
      u.set(resource, ONE());
      break;
  }
  return u;
}

function scopeMatches(scope: string, pod: Pod, sel?: ScopedResourceSelectorRequirement): boolean {
  switch (scope) {
    case 'Terminating':
      return typeof pod.spec?.activeDeadlineSeconds === 'number' && pod.spec.activeDeadlineSeconds >= 0;
    case 'NotTerminating':
      return !(typeof pod.spec?.activeDeadlineSeconds === 'number' && pod.spec.activeDeadlineSeconds >= 0);
    case 'BestEffort':
      return computePodQOS(pod.spec) === 'BestEffort';
    case 'NotBestEffort':
      return computePodQOS(pod.spec) !== 'BestEffort';
    case 'PriorityClass': {
      const pc = pod.spec?.priorityClassName ?? '';
      if (!sel || sel.operator === 'Exists') return pc !== '';
      if (sel.operator === 'DoesNotExist') return pc === '';
      const has = !!pc && (sel.values ?? []).includes(pc);
      return sel.operator === 'In' ? has : !has;
    }
    case 'CrossNamespacePodAffinity': {
      const terms = [
        ...(pod.spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
        ...(pod.spec?.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => w.podAffinityTerm),
        ...(pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
        ...(pod.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => w.podAffinityTerm),
      ];
      return terms.some((t) => (t?.namespaces?.length ?? 0) > 0 || !!t?.namespaceSelector);
    }
  }
  return false;
}

/** Whether a quota's scopes select the object; scoped quotas select pods only. */
export function quotaScopesMatch(rq: ResourceQuota, group: string, resource: string, obj: KubeObject): boolean {
  const scopes = rq.spec?.scopes ?? [];
  const selectors = rq.spec?.scopeSelector?.matchExpressions ?? [];
  if (!scopes.length && !selectors.length) return true;
  if (group !== '' || resource !== 'pods') return false;
  const pod = obj as Pod;
  return scopes.every((s) => scopeMatches(s, pod)) && selectors.every((s) => scopeMatches(s.scopeName, pod, s));
}

/** Parses a ResourceList into a Usage, skipping malformed values. */
export function toUsage(rl: Record<string, unknown> | undefined): Usage {
  const u: Usage = new Map();
  for (const [k, v] of Object.entries(rl ?? {})) {
    const q = qty(v);
    if (q) u.set(k, q);
  }
  return u;
}

export function fromUsage(u: Usage): Record<string, string> {
  return Object.fromEntries([...u].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, formatQuantity(v)]));
}

export function addUsage(a: Usage, b: Usage): Usage {
  const out: Usage = new Map(a);
  for (const [k, v] of b) add(out, k, v);
  return out;
}

/** a - b, never below zero. */
export function subtractUsage(a: Usage, b: Usage): Usage {
  const out: Usage = new Map(a);
  for (const [k, v] of b) {
    if (!out.has(k)) continue;
    const d = subQuantity(out.get(k)!, v);
    out.set(k, d.mantissa < 0n ? newQuantity(0) : d);
  }
  return out;
}
