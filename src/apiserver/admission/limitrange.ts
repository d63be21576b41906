// LimitRanger: new pods get their namespace's LimitRange defaults (`default` limits, `defaultRequest`
// requests) on containers that set none, and pods and claims outside a LimitRange's min, max or
// maxLimitRequestRatio are refused (403) with upstream's messages.
import type { Container, LimitRange, LimitRangeItem, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { computePodQOS } from '../../api/kinds/podspec.js';
import { addQuantity, cmpQuantity, formatQuantity, milliValue, type Quantity } from '../../api/quantity.js';
import { quantityValue } from '../../api/kinds/resources.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { AdmissionPlugin } from '../registry.js';
import { admissionForbidden, aggregate, podSpecOf } from './common.js';
import { NamespacedObjectCache } from './watch-cache.js';

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';

type ResourceList = Record<string, string>;

const q = (v: unknown): Quantity | undefined => quantityValue(v);
const text = (v: unknown) => {
  const x = q(v);
  return x ? formatQuantity(x) : String(v);
};

function containerDefaults(lr: LimitRange): { requests: ResourceList; limits: ResourceList } {
  const requests: ResourceList = {};
  const limits: ResourceList = {};
  for (const item of lr.spec?.limits ?? []) {
    if (item?.type !== 'Container') continue;
    Object.assign(requests, item.defaultRequest ?? {});
    Object.assign(limits, item.default ?? {});
  }
  return { requests, limits };
}

/** Fills unset requests and limits; returns upstream's annotation pieces. */
function mergeContainer(c: Container, defaults: { requests: ResourceList; limits: ResourceList }, what: string, notes: string[]): void {
  const res = (c.resources ??= {});
  const limits = (res.limits ??= {}) as ResourceList;
  const requests = (res.requests ??= {}) as ResourceList;
  const setLimits: string[] = [];
  const setRequests: string[] = [];
  for (const [k, v] of Object.entries(defaults.limits))
    if (!(k in limits)) {
      limits[k] = v;
      setLimits.push(k);
    }
  for (const [k, v] of Object.entries(defaults.requests))
    if (!(k in requests)) {
      requests[k] = v;
      setRequests.push(k);
    }
  if (!Object.keys(limits).length) delete res.limits;
  if (!Object.keys(requests).length) delete res.requests;
  if (setRequests.length) notes.push(`${setRequests.sort().join(', ')} request for ${what} ${c.name}`);
  if (setLimits.length) notes.push(`${setLimits.sort().join(', ')} limit for ${what} ${c.name}`);
}

function minConstraint(type: string, name: string, enforced: unknown, request: ResourceList, limit: ResourceList): string | undefined {
  const e = q(enforced);
  if (!e) return undefined;
  const req = q(request[name]);
  const lim = q(limit[name]);
  if (!(name in request)) return `minimum ${name} usage per ${type} is ${text(enforced)}.  No request is specified`;
  if (req && cmpQuantity(req, e) < 0) return `minimum ${name} usage per ${type} is ${text(enforced)}, but request is ${text(request[name])}`;
  if (lim && cmpQuantity(lim, e) < 0) return `minimum ${name} usage per ${type} is ${text(enforced)}, but limit is ${text(limit[name])}`;
  return undefined;
}

function maxConstraint(type: string, name: string, enforced: unknown, request: ResourceList, limit: ResourceList): string | undefined {
  const e = q(enforced);
  if (!e) return undefined;
  const req = q(request[name]);
  const lim = q(limit[name]);
  if (!(name in limit)) return `maximum ${name} usage per ${type} is ${text(enforced)}.  No limit is specified`;
  if (lim && cmpQuantity(lim, e) > 0) return `maximum ${name} usage per ${type} is ${text(enforced)}, but limit is ${text(limit[name])}`;
  if (req && cmpQuantity(req, e) > 0) return `maximum ${name} usage per ${type} is ${text(enforced)}, but request is ${text(request[name])}`;
  return undefined;
}

function maxRequestConstraint(type: string, name: string, enforced: unknown, request: ResourceList): string | undefined {
  const e = q(enforced);
  if (!e) return undefined;
  const req = q(request[name]);
  if (!(name in request)) return `maximum ${name} usage per ${type} is ${text(enforced)}.  No request is specified`;
  if (req && cmpQuantity(req, e) > 0) return `maximum ${name} usage per ${type} is ${text(enforced)}, but request is ${text(request[name])}`;
  return undefined;
}

function ratioConstraint(type: string, name: string, enforced: unknown, request: ResourceList, limit: ResourceList): string | undefined {
  const e = q(enforced);
  if (!e) return undefined;
  const req = q(request[name]);
  const lim = q(limit[name]);
  const reqMilli = req ? Number(milliValue(req)) : 0;
  const limMilli = lim ? Number(milliValue(lim)) : 0;
  if (!req || reqMilli === 0) return `${name} max limit to request ratio per ${type} is ${text(enforced)}, but no request is specified or request is 0`;
  if (!lim || limMilli === 0) return `${name} max limit to request ratio per ${type} is ${text(enforced)}, but no limit is specified or limit is 0`;
  const observed = limMilli / reqMilli;
  if (observed * 1000 > Number(milliValue(e))) return `${name} max limit to request ratio per ${type} is ${text(enforced)}, but provided ratio is ${observed.toFixed(6)}`;
  return undefined;
}

/** The pod's effective requests or limits: the sum over containers, at least the largest init container's. */
function podTotal(containers: Container[], initContainers: Container[], field: 'requests' | 'limits'): ResourceList {
  const sum = new Map<string, Quantity>();
  for (const c of containers)
    for (const [k, v] of Object.entries((c.resources?.[field] ?? {}) as ResourceList)) {
      const x = q(v);
      if (x) sum.set(k, sum.has(k) ? addQuantity(sum.get(k)!, x) : x);
    }
  for (const c of initContainers)
    for (const [k, v] of Object.entries((c.resources?.[field] ?? {}) as ResourceList)) {
      const x = q(v);
      if (x && (!sum.has(k) || cmpQuantity(x, sum.get(k)!) > 0)) sum.set(k, x);
    }
  return Object.fromEntries([...sum].map(([k, v]) => [k, formatQuantity(v)]));
}

function checkItem(item: LimitRangeItem, request: ResourceList, limit: ResourceList, errs: string[]): void {
  for (const [k, v] of Object.entries(item.min ?? {})) {
    const e = minConstraint(item.type, k, v, request, limit);
    if (e) errs.push(e);
  }
  for (const [k, v] of Object.entries(item.max ?? {})) {
    const e = maxConstraint(item.type, k, v, request, limit);
    if (e) errs.push(e);
  }
  for (const [k, v] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const e = ratioConstraint(item.type, k, v, request, limit);
    if (e) errs.push(e);
  }
}

/** Upstream PodValidateLimitFunc: every error of one LimitRange. */
export function podLimitErrors(lr: LimitRange, pod: KubeObject): string[] {
  const spec = podSpecOf(pod);
  const containers = spec?.containers ?? [];
  const inits = spec?.initContainers ?? [];
  const errs: string[] = [];
  for (const item of lr.spec?.limits ?? []) {
    if (item?.type === 'Container')
      for (const c of [...containers, ...inits]) checkItem(item, (c.resources?.requests ?? {}) as ResourceList, (c.resources?.limits ?? {}) as ResourceList, errs);
    if (item?.type === 'Pod') checkItem(item, podTotal(containers, inits, 'requests'), podTotal(containers, inits, 'limits'), errs);
  }
  return errs;
}

/** Upstream PersistentVolumeClaimValidateLimitFunc: storage requests against min and max. */
export function claimLimitErrors(lr: LimitRange, pvc: PersistentVolumeClaim): string[] {
  const errs: string[] = [];
  const requests = (pvc.spec?.resources?.requests ?? {}) as ResourceList;
  for (const item of lr.spec?.limits ?? []) {
    if (item?.type !== 'PersistentVolumeClaim') continue;
    for (const [k, v] of Object.entries(item.min ?? {})) {
      const e = minConstraint(item.type, k, v, requests, {});
      if (e) errs.push(e);
    }
    for (const [k, v] of Object.entries(item.max ?? {})) {
      const e = maxRequestConstraint(item.type, k, v, requests);
      if (e) errs.push(e);
    }
  }
  return errs;
}

/** Upstream PodMutateLimitFunc: defaults of every LimitRange, recorded in the limit-ranger annotation. */
export function applyLimitRangeDefaults(lr: LimitRange, pod: KubeObject): boolean {
  const spec = podSpecOf(pod);
  if (!spec) return false;
  const defaults = containerDefaults(lr);
  if (!Object.keys(defaults.requests).length && !Object.keys(defaults.limits).length) return false;
  const notes: string[] = [];
  for (const c of spec.containers ?? []) mergeContainer(c, defaults, 'container', notes);
  for (const c of spec.initContainers ?? []) mergeContainer(c, defaults, 'init container', notes);
  if (!notes.length) return false;
  const meta = (pod.metadata ??= {});
  meta.annotations = { ...(meta.annotations ?? {}), [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}` };
  return true;
}

export function limitRanger(limitRangeKind: () => KindInfo | undefined): AdmissionPlugin {
  let cache: NamespacedObjectCache<LimitRange & KubeObject> | undefined;
  return {
    name: 'LimitRanger',
    async admit(op, info, obj, old, reg) {
      if (op === 'delete' || info.group !== '') return;
      const pods = info.resource === 'pods';
      // containers cannot change after create, so pod updates are not looked at (as upstream)
      if (!(pods && op === 'create') && info.resource !== 'persistentvolumeclaims') return;
      if (old?.metadata?.deletionTimestamp) return;
      const ns = obj.metadata?.namespace;
      const kind = limitRangeKind();
      if (!ns || !kind) return;
      cache ??= new NamespacedObjectCache(reg, kind);
      const ranges = await cache.list(ns);
      if (!ranges.length) return;
      if (pods) {
        let changed = false;
        for (const lr of ranges) changed = applyLimitRangeDefaults(lr, obj) || changed;
        // the QoS class was computed before admission filled in requests and limits
        if (changed && obj.status && typeof obj.status === 'object') (obj.status as { qosClass?: string }).qosClass = computePodQOS(obj.spec);
      }
      for (const lr of ranges) {
        const errs = pods ? podLimitErrors(lr, obj) : claimLimitErrors(lr, obj as PersistentVolumeClaim);
        if (errs.length) throw admissionForbidden(op, info, obj, aggregate(errs));
      }
    },
  };
}
