// pods/eviction (upstream pkg/registry/core/pod/storage/eviction.go): a pod deletion that first asks the
// PodDisruptionBudget covering the pod, taking one of its allowed disruptions or answering 429.
import type { Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import type { Condition, DeleteOptions, LabelSelector, Status, StatusDetails } from 'kubernetes-types/meta/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { errBadRequest, errConflict, errTooManyRequests, errForbidden, isStatusError, StatusError } from '../api/errors.js';
import { labelsMatch, selectorFromLabelSelector } from '../api/labels.js';
import { nowRFC3339 } from '../api/names.js';
import { deepClone, isPlainObject } from '../api/object.js';
import type { KindInfo, KubeObject } from '../api/types.js';
import { decodeProtobufEnvelope } from '../api/protobuf/decode.js';
import type { ApiServer, Ctx, ResourceRequest } from './handler.js';
import { bodyFormat, decodeBody } from './negotiate.js';
import type { RequestDeleteOptions } from './registry.js';

/** The eviction handler refuses when this many evictions wait for the disruption controller to see them. */
export const MAX_DISRUPTED_POD_SIZE = 2000;
/** The StatusCause type of a refusal by a disruption budget (policy/v1 DisruptionBudgetCause). */
export const DISRUPTION_BUDGET_CAUSE = 'DisruptionBudget';
export const DISRUPTION_ALLOWED_CONDITION = 'DisruptionAllowed';
const EVICTION_VERSIONS = ['policy/v1', 'policy/v1beta1'];
const CONFLICT_RETRIES = 20;
const CONFLICT_RETRY_MS = 50;

interface Eviction {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  deleteOptions?: DeleteOptions | null;
}

const VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";

function tooManyRequests(retryAfterSeconds: number, causeMessage: string): StatusError {
  const e = errTooManyRequests(VIOLATION, retryAfterSeconds);
  // a StatusCause's Go field Type is `reason` on the wire
  const details: StatusDetails = { ...(retryAfterSeconds ? { retryAfterSeconds } : {}), causes: [{ reason: DISRUPTION_BUDGET_CAUSE, message: causeMessage }] };
  return new StatusError(e.code, e.reason, e.message, details);
}

/** The PDB is newer than the disruption controller's last look at it (upstream createTooManyRequestsError). */
const stillProcessing = (pdb: string) => tooManyRequests(10, `The disruption budget ${pdb} is still being processed by the server.`);

/** Sets the DisruptionAllowed condition from disruptionsAllowed (upstream pdbhelper.UpdateDisruptionAllowedCondition). */
export function updateDisruptionAllowedCondition(pdb: PodDisruptionBudget, now: number): void {
  const status = (pdb.status ??= { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 });
  const allowed = status.disruptionsAllowed > 0;
  const want: Condition = {
    type: DISRUPTION_ALLOWED_CONDITION,
    status: allowed ? 'True' : 'False',
    reason: allowed ? 'SufficientPods' : 'InsufficientPods',
    message: '',
    observedGeneration: status.observedGeneration,
    lastTransitionTime: nowRFC3339(now),
  };
  const conditions = (status.conditions ??= []);
  const i = conditions.findIndex((c) => c.type === DISRUPTION_ALLOWED_CONDITION);
  if (i < 0) conditions.push(want);
  else {
    const cur = conditions[i];
    conditions[i] = { ...want, lastTransitionTime: cur.status === want.status && cur.lastTransitionTime ? cur.lastTransitionTime : want.lastTransitionTime };
  }
}

function readEviction(buf: Buffer, contentType: string | undefined): Eviction {
  const fmt = bodyFormat(contentType);
  if (fmt === 'protobuf') {
    const env = decodeProtobufEnvelope(buf);
    throw new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - protobuf is not supported for ${env.apiVersion}, Kind=${env.kind}; accepted media types include: application/json, application/yaml`);
  }
  if (fmt !== 'json' && fmt !== 'yaml') throw errBadRequest(`the content type ${contentType} is only allowed for PATCH`);
  const body = decodeBody(buf, fmt);
  if (!isPlainObject(body)) throw errBadRequest('Eviction in version "v1" cannot be handled as a Eviction: the body must be a JSON object');
  return body as Eviction;
}

/** DeleteOptions of the eviction with the request's dryRun folded in (upstream propagateDryRun). */
function deleteOptionsOf(ev: Eviction, queryDryRun: string[]): RequestDeleteOptions {
  if (ev.deleteOptions !== undefined && ev.deleteOptions !== null && !isPlainObject(ev.deleteOptions)) throw errBadRequest('deleteOptions must be an object');
  const o: DeleteOptions = { ...(ev.deleteOptions ?? {}) };
  const bodyDry = Array.isArray(o.dryRun) ? o.dryRun : [];
  if (bodyDry.length && queryDryRun.length && JSON.stringify(bodyDry) !== JSON.stringify(queryDryRun))
    throw errBadRequest(`Non-matching dry-run options in request and content: [${queryDryRun.join(' ')}] and [${bodyDry.join(' ')}]`);
  const dry = bodyDry.length ? bodyDry : queryDryRun;
  for (const d of dry) if (d !== 'All') throw errBadRequest(`dryRun: Unsupported value: "${d}": supported values: "All"`);
  if (o.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(o.propagationPolicy))
    throw errBadRequest(`propagationPolicy: Unsupported value: "${o.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`);
  const { dryRun: _d, ...rest } = o;
  return { ...rest, dryRun: dry.length > 0 };
}

const isTerminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
/** Pods that are finished, not yet running, or already going need no budget (upstream canIgnorePDB). */
const canIgnorePDB = (pod: Pod) => isTerminal(pod) || pod.status?.phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
const shouldEnforceResourceVersion = (pod: Pod) => !isTerminal(pod) && !pod.metadata?.deletionTimestamp;
const isPodReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const resourceVersionUnset = (o: RequestDeleteOptions) => !o.preconditions?.resourceVersion;
const isConflictError = (e: unknown) => isStatusError(e) && e.code === 409 && e.reason === 'Conflict';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withResourceVersion(o: RequestDeleteOptions, rv: string | undefined): RequestDeleteOptions {
  return { ...o, preconditions: { ...(o.preconditions ?? {}), resourceVersion: rv } };
}

export class EvictionREST {
  constructor(private readonly server: ApiServer) {}

  private kind(group: string, version: string, resource: string): KindInfo {
    const info = this.server.scheme.lookup(group, version, resource);
    if (!info) throw new Error(`the scheme has no ${resource}`);
    return info;
  }

  /**
   * Evicts one pod; resolves with the Status to send. Several budgets are a Failure Status with code 500
   * in a 201 answer, as upstream's create handler writes whatever Status the eviction returned.
   */
  async evict(namespace: string, name: string, ev: Eviction, queryDryRun: string[]): Promise<Status> {
    if (ev.apiVersion && !EVICTION_VERSIONS.includes(ev.apiVersion))
      throw errBadRequest(`the API version in the data (${ev.apiVersion}) does not match the expected API version (policy/v1)`);
    if (ev.kind && ev.kind !== 'Eviction') throw errBadRequest(`the kind in the data (${ev.kind}) does not match the expected kind (Eviction) for pods/eviction`);
    if (ev.metadata?.namespace && ev.metadata.namespace !== namespace)
      throw errBadRequest('the namespace of the provided object does not match the namespace sent on the request');
    if ((ev.metadata?.name ?? '') !== name) throw errBadRequest('name in URL does not match name in Eviction object');
    const original = deleteOptionsOf(ev, queryDryRun);
    const podInfo = this.kind('', 'v1', 'pods');
    const reg = this.server.registry;
    const success: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };

    let pod: Pod | undefined;
    for (let attempt = 0; ; attempt++) {
      pod = (await reg.get(podInfo, namespace, name)).obj as unknown as Pod;
      if (!canIgnorePDB(pod)) break;
      let opts = original;
      if (shouldEnforceResourceVersion(pod) && resourceVersionUnset(original)) opts = withResourceVersion(original, pod.metadata?.resourceVersion);
      try {
        await this.addConditionAndDeletePod(podInfo, namespace, name, opts);
        return success;
      } catch (e) {
        if (!isConflictError(e) || !resourceVersionUnset(original) || attempt >= CONFLICT_RETRIES) throw e;
        await sleep(CONFLICT_RETRY_MS);
      }
    }

    const pdbs = await this.podDisruptionBudgets(pod);
    if (pdbs.length > 1) {
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.', code: 500 };
    }
    let updateDeletionOptions = false;
    const pdb = pdbs[0];
    if (pdb) {
      const st = pdb.status;
      const unhealthySkips =
        !isPodReady(pod) &&
        (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' || ((st?.currentHealthy ?? 0) >= (st?.desiredHealthy ?? 0) && (st?.desiredHealthy ?? 0) > 0));
      // an unready pod does not count as healthy: deleting it costs the budget nothing
      if (unhealthySkips) updateDeletionOptions = true;
      else await this.checkAndDecrement(namespace, name, pdb.metadata!.name!, original.dryRun === true);
    }

    let opts = original;
    if (updateDeletionOptions) opts = withResourceVersion(original, pod.metadata?.resourceVersion);
    try {
      await this.addConditionAndDeletePod(podInfo, namespace, name, opts);
    } catch (e) {
      if (isConflictError(e) && updateDeletionOptions && resourceVersionUnset(original)) throw stillProcessing(pdb!.metadata!.name!);
      throw e;
    }
    return success;
  }

  /** Budgets in the pod's namespace whose selector matches it (an empty selector matches every pod). */
  private async podDisruptionBudgets(pod: Pod): Promise<PodDisruptionBudget[]> {
    const info = this.kind('policy', 'v1', 'poddisruptionbudgets');
    const list = await this.server.registry.list(info, pod.metadata?.namespace, {});
    const out: PodDisruptionBudget[] = [];
    for (const it of list.items) {
      const pdb = it.obj as unknown as PodDisruptionBudget;
      let matches = false;
      try {
        const sel = pdb.spec?.selector as LabelSelector | undefined;
        matches = !!sel && labelsMatch(selectorFromLabelSelector(sel), pod.metadata?.labels);
      } catch {
        // an invalid selector matches nothing
      }
      if (matches) out.push(pdb);
    }
    return out;
  }

  /** Takes one allowed disruption from the budget and records the pod in disruptedPods, or refuses. */
  private async checkAndDecrement(namespace: string, podName: string, pdbName: string, dryRun: boolean): Promise<void> {
    const info = this.kind('policy', 'v1', 'poddisruptionbudgets');
    const check = (pdb: PodDisruptionBudget): PodDisruptionBudget => {
      const st = pdb.status ?? { currentHealthy: 0, desiredHealthy: 0, disruptionsAllowed: 0, expectedPods: 0 };
      if ((st.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) throw stillProcessing(pdbName);
      if (st.disruptionsAllowed < 0) throw errForbidden(`poddisruptionbudgets.policy "${pdbName}" is forbidden: pdb disruptions allowed is negative`, { name: pdbName, group: 'policy', kind: 'poddisruptionbudgets' });
      if (Object.keys(st.disruptedPods ?? {}).length > MAX_DISRUPTED_POD_SIZE)
        throw errForbidden(`poddisruptionbudgets.policy "${pdbName}" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller`, {
          name: pdbName,
          group: 'policy',
          kind: 'poddisruptionbudgets',
        });
      if (st.disruptionsAllowed === 0)
        throw tooManyRequests(0, `The disruption budget ${pdbName} needs ${st.desiredHealthy} healthy pods and has ${st.currentHealthy} currently`);
      const next = deepClone(pdb);
      const now = Date.now();
      next.status = { ...st, disruptionsAllowed: st.disruptionsAllowed - 1, disruptedPods: { ...(st.disruptedPods ?? {}), [podName]: nowRFC3339(now) } };
      if (next.status.disruptionsAllowed === 0) updateDisruptionAllowedCondition(next, now);
      return next;
    };
    if (dryRun) {
      check((await this.server.registry.get(info, namespace, pdbName)).obj as unknown as PodDisruptionBudget);
      return;
    }
    // guaranteedUpdate re-reads and re-checks the budget on every conflict
    await this.server.registry.guaranteedUpdate(info, namespace, pdbName, (cur) => check(cur as unknown as PodDisruptionBudget) as unknown as KubeObject, {
      subresource: 'status',
      fieldManager: 'kube-apiserver',
    });
  }

  /** Marks the pod with DisruptionTarget (unless dry run), then deletes it with the eviction's options. */
  private async addConditionAndDeletePod(podInfo: KindInfo, namespace: string, name: string, opts: RequestDeleteOptions): Promise<void> {
    const reg = this.server.registry;
    if (!opts.dryRun) {
      const pre = opts.preconditions;
      const { item } = await reg.guaranteedUpdate(
        podInfo,
        namespace,
        name,
        (cur) => {
          const pod = cur as unknown as { metadata?: Pod['metadata']; status?: PodStatus };
          if (pre?.uid && pre.uid !== pod.metadata?.uid)
            throw errConflict({ group: '', resource: 'Pod' }, name, `the UID in the precondition (${pre.uid}) does not match the UID in record (${pod.metadata?.uid}). The object might have been deleted and then recreated`);
          if (pre?.resourceVersion && pre.resourceVersion !== pod.metadata?.resourceVersion)
            throw errConflict(
              { group: '', resource: 'Pod' },
              name,
              `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${pod.metadata?.resourceVersion}). The object might have been modified`,
            );
          const status = (pod.status ??= {});
          const conditions = (status.conditions ??= []);
          const i = conditions.findIndex((c) => c.type === 'DisruptionTarget');
          const cond = { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' };
          if (i < 0) conditions.push({ ...cond, lastTransitionTime: nowRFC3339() });
          else {
            const old = conditions[i];
            const changed = old.status !== cond.status;
            conditions[i] = { ...old, ...cond, lastTransitionTime: changed || !old.lastTransitionTime ? nowRFC3339() : old.lastTransitionTime };
          }
          return pod as unknown as KubeObject;
        },
        { subresource: 'status', fieldManager: 'kube-apiserver' },
      );
      // the condition write moved the resourceVersion the caller's precondition named
      if (pre?.resourceVersion) opts = withResourceVersion(opts, item.obj.metadata.resourceVersion);
    }
    await reg.delete(podInfo, namespace, name, opts);
  }
}

/** POST pods/<name>/eviction */
export async function serveEviction(server: ApiServer, ctx: Ctx, r: ResourceRequest): Promise<void> {
  const x = server.internals;
  const ev = readEviction(await x.readBody(ctx), ctx.req.headers['content-type']);
  const status = await new EvictionREST(server).evict(r.namespace ?? '', r.name!, ev, ctx.query.getAll('dryRun'));
  return x.sendValue(ctx, 201, status);
}
