// ResourceQuota admission: a write that would take a namespace past a quota's hard limits is refused
// (403 `exceeded quota: …`), and an admitted one is charged to `status.used` of every matching quota
// before the object is stored, with the quota's resourceVersion as precondition (upstream's
// optimistic-concurrency charge), so concurrent creates cannot both pass. A dry run is checked but not
// charged; a write that fails after the charge gives it back. The quota controller recomputes
// `status.used` from what exists (deletions, terminal pods) and sets `status.hard`.
import type { Pod, ResourceQuota } from 'kubernetes-types/core/v1.js';
import { isStatusError } from '../../api/errors.js';
import { cmpQuantity, formatQuantity } from '../../api/quantity.js';
import {
  addUsage,
  fromUsage,
  objectUsage,
  podConstraintError,
  quotaNameMatches,
  quotaScopesMatch,
  subtractUsage,
  toUsage,
  type Usage,
} from '../../api/quotausage.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { AdmissionContext, AdmissionPlugin, Registry } from '../registry.js';
import { admissionForbidden } from './common.js';
import { NamespacedObjectCache } from './watch-cache.js';

type Quota = ResourceQuota & KubeObject;

const prettyPrint = (u: Usage, keys: string[]) => keys.map((k) => `${k}=${u.get(k) ? formatQuantity(u.get(k)!) : '0'}`).join(',');

/** Which writes are measured (upstream's evaluators' Handles): object counts on create; services and claims also on update. */
function handles(op: string, info: KindInfo, ctx: AdmissionContext): boolean {
  if (ctx.subresource) return false;
  if (op === 'create') return true;
  return op === 'update' && info.group === '' && (info.resource === 'services' || info.resource === 'persistentvolumeclaims');
}

/** The increase a write asks of one quota: names it tracks whose usage grows. */
function requestedUsage(rq: Quota, info: KindInfo, obj: KubeObject, old: KubeObject | undefined, now: number): { delta: Usage; tracked: string[] } {
  const tracked = Object.keys(rq.status?.hard ?? {}).filter((k) => quotaNameMatches(info.group, info.resource, k));
  const delta: Usage = new Map();
  if (!tracked.length) return { delta, tracked };
  const after = objectUsage(info.group, info.resource, obj, now);
  const before = old ? objectUsage(info.group, info.resource, old, now) : new Map();
  for (const k of tracked) {
    const a = after.get(k);
    if (!a) continue;
    const grown = subtractUsage(new Map([[k, a]]), before).get(k)!;
    if (grown.mantissa > 0n) delta.set(k, grown);
  }
  return { delta, tracked };
}

/** Throws upstream's refusal when `delta` does not fit `rq`'s status. */
function checkFits(op: string, info: KindInfo, obj: KubeObject, rq: Quota, delta: Usage, tracked: string[]): void {
  const used = toUsage(rq.status?.used);
  const hard = toUsage(rq.status?.hard);
  const unknown = tracked.filter((k) => !used.has(k)).sort();
  if (unknown.length) throw admissionForbidden(op, info, obj, `status unknown for quota: ${rq.metadata?.name}, resources: ${unknown.join(',')}`);
  const next = addUsage(used, delta);
  const exceeded = [...delta.keys()].filter((k) => hard.has(k) && cmpQuantity(next.get(k)!, hard.get(k)!) > 0).sort();
  if (exceeded.length)
    throw admissionForbidden(
      op,
      info,
      obj,
      `exceeded quota: ${rq.metadata?.name}, requested: ${prettyPrint(delta, exceeded)}, used: ${prettyPrint(used, exceeded)}, limited: ${prettyPrint(hard, exceeded)}`,
    );
}

export interface ResourceQuotaAdmissionOptions {
  /** ms since the epoch (tests) */
  now?: () => number;
}

interface Charge {
  namespace: string;
  quota: string;
  delta: Usage;
}

export function resourceQuotaAdmission(quotaKind: () => KindInfo | undefined, opts: ResourceQuotaAdmissionOptions = {}): AdmissionPlugin {
  const now = opts.now ?? Date.now;
  /** charges written for an admitted object, given back if its write does not happen */
  const charged = new WeakMap<KubeObject, { reg: Registry; kind: KindInfo; charges: Charge[] }>();
  // what a write sees without listing quotas from storage; its entries are shared, so only read
  const caches = new WeakMap<Registry, NamespacedObjectCache<Quota>>();
  const quotasIn = (reg: Registry, kind: KindInfo, ns: string) => {
    let c = caches.get(reg);
    if (!c) caches.set(reg, (c = new NamespacedObjectCache<Quota>(reg, kind)));
    return c.list(ns);
  };

  const writeUsage = async (reg: Registry, kind: KindInfo, c: Charge, fn: (rq: Quota) => void) => {
    await reg.guaranteedUpdate(
      kind,
      c.namespace,
      c.quota,
      (cur) => {
        const rq = cur as Quota;
        fn(rq);
        return rq;
      },
      { subresource: 'status', fieldManager: 'kube-apiserver' },
    );
  };

  const release = (reg: Registry, kind: KindInfo, charges: Charge[]) => {
    for (const c of charges)
      writeUsage(reg, kind, c, (rq) => {
        rq.status = { ...rq.status, used: fromUsage(subtractUsage(toUsage(rq.status?.used), c.delta)) };
      }).catch(() => {
        // the quota controller corrects what could not be given back
      });
  };

  return {
    name: 'ResourceQuota',
    async admit(op, info, obj, old, reg, ctx = {}) {
      if (!info.namespaced || !handles(op, info, ctx)) return;
      const ns = obj.metadata?.namespace;
      const kind = quotaKind();
      if (!ns || !kind) return;
      const quotas = await quotasIn(reg, kind, ns);
      if (!quotas.length) return;
      const t = now();
      const charges: Charge[] = [];
      try {
        for (const rq of quotas) {
          const name = rq.metadata!.name!;
          if (!quotaScopesMatch(rq, info.group, info.resource, obj)) continue;
          const { delta, tracked } = requestedUsage(rq, info, obj, old, t);
          if (!tracked.length) continue;
          if (info.group === '' && info.resource === 'pods' && op === 'create') {
            const why = podConstraintError(obj as Pod, tracked);
            if (why) throw admissionForbidden(op, info, obj, `failed quota: ${name}: ${why}`);
          }
          if (!delta.size) continue;
          if (ctx.dryRun) {
            checkFits(op, info, obj, rq, delta, tracked);
            continue;
          }
          const c: Charge = { namespace: ns, quota: name, delta };
          try {
            await writeUsage(reg, kind, c, (cur) => {
              checkFits(op, info, obj, cur, delta, tracked);
              cur.status = { ...cur.status, used: fromUsage(addUsage(toUsage(cur.status?.used), delta)) };
            });
          } catch (e) {
            // a quota deleted meanwhile limits nothing
            if (isStatusError(e) && e.code === 404) continue;
            throw e;
          }
          charges.push(c);
        }
      } catch (e) {
        release(reg, kind, charges);
        throw e;
      }
      if (charges.length) charged.set(obj, { reg, kind, charges });
    },
    rollback(_op, _info, obj) {
      const c = charged.get(obj);
      if (!c) return;
      charged.delete(obj);
      release(c.reg, c.kind, c.charges);
    },
    committed(_op, _info, obj) {
      charged.delete(obj);
    },
  };
}
