// The Job controller (upstream pkg/controller/job): runs pods until `completions` succeeded (or, with no
// completions, until one did and the rest finished), replacing failed ones with exponential backoff
// until `backoffLimit` or `activeDeadlineSeconds` fails the Job. Pods carry the tracking finalizer, so
// each finished pod is counted exactly once (uncountedTerminatedPods, then succeeded/failed) before it
// may go. Terminal conditions follow 1.31+: SuccessCriteriaMet / FailureTarget first, Complete /
// Failed once no pod is left terminating.
import type { Job, JobCondition, JobStatus } from 'kubernetes-types/batch/v1.js';
import type { Container, Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { deepClone, deepEqual } from '../../api/object.js';
import { nowRFC3339 } from '../../api/names.js';
import type { EventRecorder } from '../../client/events.js';
import { Informer, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { ClientStatusError, isNotFound, type ResourceClient } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { ItemExponentialFailureRateLimiter, runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { BackoffStore, MAX_POD_FAILURE_BACKOFF_MS, POD_FAILURE_BACKOFF_MS, remainingBackoff, type BackoffRecord } from './backoff.js';
import { ClockDelays } from '../delayed.js';
import { ControllerExpectations, FinalizerExpectations } from './expectations.js';
import {
  COMPLETION_INDEX_ANNOTATION,
  COMPLETION_INDEX_ENV,
  OrderedIntervals,
  UNKNOWN_COMPLETION_INDEX,
  byCompletionIndex,
  completionIndexOf,
  duplicatedIndexPods,
  firstPendingIndexes,
} from './indexes.js';
import {
  JOB_TRACKING_FINALIZER,
  compareActivePods,
  controllerRefOf,
  hasTrackingFinalizer,
  isPodActive,
  isPodReady,
  isPodTerminating,
  restartsOfUnfinishedPods,
} from './pods.js';

export const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';
const COMPONENT = 'job-controller';
const OWNER_INDEX = 'job-controller/controller-uid';
/** upstream syncJobBatchPeriod: pod events and status updates are folded into one sync */
const SYNC_BATCH_PERIOD_MS = 1000;
const MAX_UNCOUNTED_PODS = 500;
const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
const MAX_GENERATED_NAME_LENGTH = 58;

export const REASON_BACKOFF_LIMIT_EXCEEDED = 'BackoffLimitExceeded';
export const REASON_DEADLINE_EXCEEDED = 'DeadlineExceeded';
export const REASON_COMPLETIONS_REACHED = 'CompletionsReached';

export interface JobControllerOptions {
  /** jobs synced in parallel (upstream --concurrent-job-syncs, default 5) */
  workers?: number;
  /** delay folding pod events into one sync (default 1 s as upstream; tests use 0) */
  syncBatchPeriodMs?: number;
}

type Status = JobStatus & { uncountedTerminatedPods: { succeeded?: string[]; failed?: string[] } };
type WorkingJob = Job & { metadata: NonNullable<Job['metadata']> & { name: string; namespace: string; uid: string }; status: Status };

interface SyncContext {
  key: string;
  job: WorkingJob;
  pods: Pod[];
  activePods: Pod[];
  finished?: JobCondition;
  succeeded: number;
  failed: number;
  prevSucceededIndexes?: OrderedIntervals;
  succeededIndexes?: OrderedIntervals;
  newBackoff: BackoffRecord;
  expectedRmFinalizers: ReadonlySet<string>;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  terminating: number;
  ready: number;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function trueCondition(job: Job, type: string): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Complete or Failed is True (upstream util.IsJobFinished). */
export function isJobFinished(job: Job): boolean {
  return !!(trueCondition(job, 'Complete') || trueCondition(job, 'Failed'));
}

const isIndexed = (job: Job) => job.spec?.completionMode === 'Indexed';
const isSuspended = (job: Job) => job.spec?.suspend === true;
const completionsOf = (job: Job) => job.spec?.completions ?? 0;

/** Only Failed pods are replaced (podReplacementPolicy Failed, or a pod failure policy). */
const onlyReplaceFailedPods = (job: Job) => job.spec?.podReplacementPolicy === 'Failed' || !!job.spec?.podFailurePolicy;

/** upstream isPodFailed: a pod being deleted counts as failed unless only Failed pods are replaced. */
function isPodFailed(pod: Pod, job: Job): boolean {
  if (pod.status?.phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return !!pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded';
}

function managedByOther(job: Job): boolean {
  const by = (job.spec as { managedBy?: string } | undefined)?.managedBy;
  return !!by && by !== JOB_CONTROLLER_NAME;
}

function podGenerateNameWithIndex(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const prefix = jobName + suffix;
  return prefix.length > MAX_GENERATED_NAME_LENGTH ? jobName.slice(0, MAX_GENERATED_NAME_LENGTH - suffix.length) + suffix : prefix;
}

function addCompletionIndexEnv(c: Container): void {
  if (c.env?.some((e) => e.name === COMPLETION_INDEX_ENV)) return;
  (c.env ??= []).push({ name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.labels['${COMPLETION_INDEX_ANNOTATION}']` } } });
}

const isNamespaceTerminating = (e: unknown) =>
  e instanceof ClientStatusError && (e.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');

export class JobController implements Controller {
  readonly name = 'job';
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  private readonly queue = new WorkQueue({ name: 'job', rateLimiter: new ItemExponentialFailureRateLimiter(1000, 60_000) });
  private readonly orphanQueue = new WorkQueue({ name: 'job_orphan_pod', rateLimiter: new ItemExponentialFailureRateLimiter(1000, 60_000) });
  private readonly delays: ClockDelays;
  private readonly expectations: ControllerExpectations;
  private readonly finalizerExpectations = new FinalizerExpectations();
  private readonly backoff = new BackoffStore();
  private readonly recorder: EventRecorder;
  private readonly batchMs: number;
  private workers?: Promise<unknown>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: JobControllerOptions = {},
  ) {
    this.batchMs = opts.syncBatchPeriodMs ?? SYNC_BATCH_PERIOD_MS;
    this.delays = new ClockDelays(this.queue, ctx.clock);
    this.expectations = new ControllerExpectations(() => ctx.clock.now());
    this.recorder = ctx.recorder(COMPONENT);
    this.jobs = ctx.informers.informer<Job>(RESOURCES.jobs);
    this.pods = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.pods.addIndexer(OWNER_INDEX, (p) => {
      const ref = controllerRefOf(p);
      return ref?.uid ? [ref.uid] : [];
    });
    this.jobs.addEventHandler({
      onAdd: (j) => this.enqueue(j, 0),
      onUpdate: (old, cur) => this.updateJob(old, cur),
      onDelete: (j) => {
        this.enqueue(j, 0);
        this.cleanupPodFinalizers(j);
      },
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.addPod(p),
      onUpdate: (old, cur) => this.updatePod(old, cur),
      onDelete: (p) => this.deletePod(p, true),
    });
  }

  run(): void {
    const log = this.ctx.log;
    this.workers ??= Promise.all([
      runWorkers(this.queue, this.opts.workers ?? 5, (key) => this.sync(key), log),
      runWorkers(this.orphanQueue, 1, (key) => this.syncOrphanPod(key), log),
    ]);
  }

  async stop(): Promise<void> {
    this.delays.stop();
    this.queue.shutDown();
    this.orphanQueue.shutDown();
    await this.workers;
  }

  // ---- event handlers: they only enqueue ----

  private enqueue(job: Job, delayMs: number): void {
    const key = metaNamespaceKey(job);
    if (key) this.delays.addAfter(key, delayMs);
  }

  private updateJob(old: Job, cur: Job): void {
    this.enqueue(cur, cur.metadata?.generation === old.metadata?.generation ? this.batchMs : 0);
    if (isJobFinished(cur)) this.cleanupPodFinalizers(cur);
    const ads = cur.spec?.activeDeadlineSeconds;
    const start = cur.status?.startTime;
    if (start && typeof ads === 'number' && old.spec?.activeDeadlineSeconds !== ads) {
      this.delays.addAfter(metaNamespaceKey(cur), ads * 1000 - (this.ctx.clock.now() - Date.parse(start)));
    }
  }

  private resolveControllerRef(namespace: string | undefined, ref: OwnerReference): Job | undefined {
    if (ref.kind !== 'Job') return undefined;
    const job = this.jobs.getByName(namespace, ref.name);
    return job?.metadata?.uid === ref.uid ? job : undefined;
  }

  private addPod(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      this.deletePod(pod, false);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const job = this.resolveControllerRef(pod.metadata?.namespace, ref);
      if (!job) return;
      this.expectations.creationObserved(metaNamespaceKey(job));
      this.enqueue(job, this.batchMs);
      return;
    }
    if (hasTrackingFinalizer(pod)) this.orphanQueue.add(metaNamespaceKey(pod));
  }

  private updatePod(old: Pod, cur: Pod): void {
    if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return;
    if (cur.metadata?.deletionTimestamp) {
      this.deletePod(cur, false);
      return;
    }
    const finalizerRemoved = !hasTrackingFinalizer(cur);
    const uid = cur.metadata?.uid ?? '';
    const curRef = controllerRefOf(cur);
    const oldRef = controllerRefOf(old);
    if (oldRef && !deepEqual(curRef, oldRef)) {
      const job = this.resolveControllerRef(old.metadata?.namespace, oldRef);
      if (job) {
        if (finalizerRemoved) this.finalizerExpectations.observed(metaNamespaceKey(job), uid);
        this.enqueue(job, this.batchMs);
      }
    }
    if (curRef) {
      const job = this.resolveControllerRef(cur.metadata?.namespace, curRef);
      if (!job) return;
      if (finalizerRemoved) this.finalizerExpectations.observed(metaNamespaceKey(job), uid);
      this.enqueue(job, this.batchMs);
      return;
    }
    if (hasTrackingFinalizer(cur)) this.orphanQueue.add(metaNamespaceKey(cur));
  }

  private deletePod(pod: Pod, final: boolean): void {
    const ref = controllerRefOf(pod);
    const hasFinalizer = hasTrackingFinalizer(pod);
    const job = ref && this.resolveControllerRef(pod.metadata?.namespace, ref);
    if (!job || isJobFinished(job)) {
      // nobody's syncJob will remove this finalizer
      if (hasFinalizer) this.orphanQueue.add(metaNamespaceKey(pod));
      return;
    }
    const key = metaNamespaceKey(job);
    this.expectations.deletionObserved(key);
    if (final || !hasFinalizer) this.finalizerExpectations.observed(key, pod.metadata?.uid ?? '');
    this.enqueue(job, this.batchMs);
  }

  private cleanupPodFinalizers(job: Job): void {
    const uid = job.metadata?.uid;
    if (!uid) return;
    for (const p of this.pods.byIndex(OWNER_INDEX, uid)) if (hasTrackingFinalizer(p)) this.orphanQueue.add(metaNamespaceKey(p));
  }

  // ---- orphan pods ----

  /** Removes the tracking finalizer from a pod no running Job will count. */
  async syncOrphanPod(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod) return;
    const ref = controllerRefOf(pod);
    if (ref) {
      if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return;
      const job = this.resolveControllerRef(pod.metadata?.namespace, ref);
      if (job && managedByOther(job)) return;
      if (job && !isJobFinished(job)) return;
    }
    if (!hasTrackingFinalizer(pod)) return;
    try {
      await this.podClient(pod.metadata!.namespace!).patch(pod.metadata!.name!, 'strategic', removeFinalizerPatch());
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  // ---- the sync ----

  private jobClient(namespace: string): ResourceClient<Job> {
    return this.ctx.client.resource<Job>(RESOURCES.jobs, namespace);
  }

  private podClient(namespace: string): ResourceClient<Pod> {
    return this.ctx.client.resource<Pod>(RESOURCES.pods, namespace);
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  private condition(type: string, reason: string, message: string): JobCondition {
    const t = nowRFC3339(this.now());
    return { type, status: 'True', lastProbeTime: t, lastTransitionTime: t, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  }

  private event(job: Job, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event({ apiVersion: 'batch/v1', kind: 'Job', metadata: job.metadata }, type, reason, message);
  }

  /** The pods this Job controls (adoption of orphans matching a manual selector is not done). */
  private podsForJob(job: WorkingJob): Pod[] {
    return this.pods.byIndex(OWNER_INDEX, job.metadata.uid).filter((p) => p.metadata?.namespace === job.metadata.namespace);
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const cached = this.jobs.getByName(namespace, name);
    if (!cached) {
      this.expectations.delete(key);
      this.finalizerExpectations.delete(key);
      this.backoff.remove(key);
      return;
    }
    if (managedByOther(cached)) return;
    if (isJobFinished(cached)) {
      this.backoff.remove(key);
      return;
    }
    const mode = cached.spec?.completionMode;
    if (mode !== undefined && mode !== 'NonIndexed' && mode !== 'Indexed') {
      this.event(cached, 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    const job = deepClone(cached) as WorkingJob;
    job.apiVersion = 'batch/v1';
    job.kind = 'Job';
    job.status ??= { uncountedTerminatedPods: {} };
    job.status.uncountedTerminatedPods ??= {};
    const status = job.status;

    // Read before listing pods: a pod arriving after this still shows up in a later sync.
    const satisfied = this.expectations.satisfied(key);
    const pods = this.podsForJob(job);
    const activePods = pods.filter(isPodActive);
    const c: SyncContext = {
      key,
      job,
      pods,
      activePods,
      succeeded: 0,
      failed: 0,
      newBackoff: { failuresAfterLastSuccess: 0 },
      expectedRmFinalizers: this.finalizerExpectations.expected(key),
      uncountedSucceeded: new Set(status.uncountedTerminatedPods.succeeded ?? []),
      uncountedFailed: new Set(status.uncountedTerminatedPods.failed ?? []),
      terminating: pods.filter(isPodTerminating).length,
      ready: activePods.filter(isPodReady).length,
    };
    let active = activePods.length;
    const [newSucceeded, newFailed] = this.newFinishedPods(c);
    c.succeeded = (status.succeeded ?? 0) + newSucceeded.length + c.uncountedSucceeded.size;
    c.failed = (status.failed ?? 0) + newFailed.length + c.uncountedFailed.size;

    if (!status.startTime && !isSuspended(job)) status.startTime = nowRFC3339(this.now());
    c.newBackoff = this.backoff.next(key, newSucceeded, newFailed);

    const backoffLimit = job.spec?.backoffLimit ?? 6;
    c.finished = trueCondition(job, 'SuccessCriteriaMet');
    if (!c.finished) {
      const target = trueCondition(job, 'FailureTarget');
      if (target) c.finished = this.condition('Failed', target.reason ?? '', target.message ?? '');
    }
    if (!c.finished) {
      if (c.failed > backoffLimit || this.pastBackoffLimitOnFailure(job, pods, backoffLimit)) {
        c.finished = this.condition('FailureTarget', REASON_BACKOFF_LIMIT_EXCEEDED, 'Job has reached the specified backoff limit');
      } else if (this.pastActiveDeadline(job)) {
        c.finished = this.condition('FailureTarget', REASON_DEADLINE_EXCEEDED, 'Job was active longer than specified deadline');
      } else if (typeof job.spec?.activeDeadlineSeconds === 'number' && !isSuspended(job) && status.startTime) {
        this.delays.addAfter(key, job.spec.activeDeadlineSeconds * 1000 - (this.now() - Date.parse(status.startTime)));
      }
    }

    if (isIndexed(job)) {
      const completions = completionsOf(job);
      c.prevSucceededIndexes = OrderedIntervals.parse(status.completedIndexes, completions);
      const fresh = new Set<number>();
      for (const p of pods) {
        const ix = completionIndexOf(p);
        if (p.status?.phase === 'Succeeded' && ix !== UNKNOWN_COMPLETION_INDEX && ix < completions && hasTrackingFinalizer(p)) fresh.add(ix);
      }
      c.succeededIndexes = c.prevSucceededIndexes.withOrderedIndexes([...fresh].sort((a, b) => a - b));
      c.succeeded = c.succeededIndexes.total();
    }

    let suspendChanged = false;
    let manageError: unknown;
    if (c.finished) {
      const { deletedReady, deleted, error } = await this.deleteActivePods(job, activePods);
      // pod finalizers left, or pods not in the cache yet: not finished until a later sync
      if (deleted !== active || !satisfied) c.finished = undefined;
      active -= deleted;
      c.terminating += deleted;
      c.ready -= deletedReady;
      manageError = error;
    } else {
      let managed = false;
      if (satisfied && !job.metadata.deletionTimestamp) {
        const r = await this.manageJob(c);
        active = r.active;
        manageError = r.error;
        managed = true;
      }
      const completions = job.spec?.completions;
      const complete = completions === undefined || completions === null ? c.succeeded > 0 && active === 0 : c.succeeded >= completions && active === 0;
      if (complete) {
        c.finished = this.condition('SuccessCriteriaMet', REASON_COMPLETIONS_REACHED, 'Reached expected number of succeeded pods');
      } else if (managed) {
        if (isSuspended(job)) {
          if (this.ensureCondition(status, 'Suspended', 'True', 'JobSuspended', 'Job suspended')) {
            suspendChanged = true;
            this.event(job, 'Normal', 'Suspended', 'Job suspended');
          }
        } else if (this.ensureCondition(status, 'Suspended', 'False', 'JobResumed', 'Job resumed')) {
          suspendChanged = true;
          this.event(job, 'Normal', 'Resumed', 'Job resumed');
          // ActiveDeadlineSeconds counts time continuously active: it restarts on resume
          status.startTime = nowRFC3339(this.now());
        }
      }
    }

    const needsUpdate = suspendChanged || active !== (status.active ?? 0) || c.ready !== status.ready || c.terminating !== status.terminating;
    status.active = active;
    status.ready = c.ready;
    status.terminating = c.terminating;
    await this.trackStatusAndRemoveFinalizers(c, needsUpdate);
    if (manageError) throw manageError;
  }

  private newFinishedPods(c: SyncContext): [Pod[], Pod[]] {
    const valid = (p: Pod, uncounted: Set<string>) => {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || uncounted.has(uid) || c.expectedRmFinalizers.has(uid)) return false;
      if (!isIndexed(c.job)) return true;
      const ix = completionIndexOf(p);
      return ix !== UNKNOWN_COMPLETION_INDEX && ix < completionsOf(c.job);
    };
    const succeeded = c.pods.filter((p) => valid(p, c.uncountedSucceeded) && p.status?.phase === 'Succeeded');
    const failed = c.pods.filter((p) => valid(p, c.uncountedFailed) && isPodFailed(p, c.job));
    return [succeeded, failed];
  }

  private pastBackoffLimitOnFailure(job: Job, pods: Pod[], backoffLimit: number): boolean {
    if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
    const restarts = restartsOfUnfinishedPods(pods);
    return backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit;
  }

  private pastActiveDeadline(job: WorkingJob): boolean {
    const ads = job.spec?.activeDeadlineSeconds;
    if (typeof ads !== 'number' || !job.status.startTime || isSuspended(job)) return false;
    return this.now() - Date.parse(job.status.startTime) >= ads * 1000;
  }

  /** upstream ensureJobConditionStatus: a condition is added or changed; a False one is never added. */
  private ensureCondition(status: JobStatus, type: string, value: 'True' | 'False', reason: string, message: string): boolean {
    const list = status.conditions ?? [];
    const i = list.findIndex((c) => c.type === type);
    if (i >= 0) {
      const cur = list[i];
      if (cur.status === value && (cur.reason ?? '') === reason && (cur.message ?? '') === message) return false;
      list[i] = { ...this.condition(type, reason, message), status: value };
      return true;
    }
    if (value === 'False') return false;
    status.conditions = [...list, this.condition(type, reason, message)];
    return true;
  }

  /** Creates or deletes pods so that the right number is active; returns the new active count. */
  private async manageJob(c: SyncContext): Promise<{ active: number; error?: unknown }> {
    const job = c.job;
    const key = c.key;
    let active = c.activePods.length;
    const parallelism = job.spec?.parallelism ?? 1;

    if (isSuspended(job)) {
      const toDelete = this.activePodsForRemoval(job, c.activePods, active);
      this.expectations.expectDeletions(key, toDelete.length);
      const r = await this.deleteJobPods(job, key, toDelete);
      c.terminating += r.removed;
      c.ready -= r.removedReady;
      return { active: active - r.removed, error: r.error };
    }

    let wantActive: number;
    const completions = job.spec?.completions;
    if (completions === undefined || completions === null) wantActive = c.succeeded > 0 ? active : parallelism;
    else wantActive = Math.max(0, Math.min(completions - c.succeeded, parallelism));

    const rmAtLeast = Math.max(0, active - wantActive);
    const toDelete = this.activePodsForRemoval(job, c.activePods, rmAtLeast).slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
    if (toDelete.length) {
      this.expectations.expectDeletions(key, toDelete.length);
      const r = await this.deleteJobPods(job, key, toDelete);
      c.terminating += r.removed;
      c.ready -= r.removedReady;
      // deletions and creations never happen in the same sync
      return { active: active - r.removed, error: r.error };
    }

    const terminating = onlyReplaceFailedPods(job) ? c.terminating : 0;
    let diff = wantActive - terminating - active;
    if (diff <= 0) return { active };
    const wait = remainingBackoff(c.newBackoff, this.now(), POD_FAILURE_BACKOFF_MS, MAX_POD_FAILURE_BACKOFF_MS);
    if (wait > 0) {
      this.delays.addAfter(key, Math.max(wait, this.batchMs));
      return { active };
    }
    diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);
    let indexes: number[] = [];
    if (isIndexed(job)) {
      const activeIndexes = c.activePods.map(completionIndexOf).sort((a, b) => a - b);
      let nonPending = (c.succeededIndexes ?? new OrderedIntervals()).withOrderedIndexes(activeIndexes.filter((i) => i >= 0));
      if (onlyReplaceFailedPods(job)) {
        const term = c.pods.filter(isPodTerminating).map(completionIndexOf).filter((i) => i >= 0).sort((a, b) => a - b);
        nonPending = nonPending.withOrderedIndexes(term);
      }
      indexes = firstPendingIndexes(nonPending, diff, completionsOf(job));
      diff = indexes.length;
    }
    if (diff <= 0) return { active };

    this.expectations.expectCreations(key, diff);
    active += diff;
    const template = deepClone(job.spec?.template ?? {}) as PodTemplateSpec;
    if (isIndexed(job)) {
      for (const ct of template.spec?.containers ?? []) addCompletionIndexEnv(ct);
      for (const ct of template.spec?.initContainers ?? []) addCompletionIndexEnv(ct);
    }
    let error: unknown;
    // slow start: 1, 2, 4… so a create that keeps failing (quota, bad spec) fails only a few times
    let remaining = diff;
    for (let batch = Math.min(remaining, 1); remaining > 0; batch = Math.min(2 * batch, remaining)) {
      const batchIndexes = indexes.splice(0, batch);
      const results = await Promise.allSettled(
        Array.from({ length: batch }, (_, i) => this.createPod(job, template, isIndexed(job) ? batchIndexes[i] : undefined)),
      );
      let failed = 0;
      for (const r of results) {
        if (r.status === 'fulfilled') continue;
        this.expectations.creationObserved(key);
        active--;
        if (!isNamespaceTerminating(r.reason)) {
          failed++;
          error ??= r.reason;
        }
      }
      remaining -= batch;
      if (failed && remaining > 0) {
        active -= remaining;
        for (let i = 0; i < remaining; i++) this.expectations.creationObserved(key);
        break;
      }
    }
    return { active, error };
  }

  private activePodsForRemoval(job: Job, active: Pod[], rmAtLeast: number): Pod[] {
    let rm: Pod[] = [];
    let left = active;
    if (isIndexed(job)) [rm, left] = duplicatedIndexPods(active, completionsOf(job));
    if (rm.length < rmAtLeast) rm = [...rm, ...[...left].sort(compareActivePods).slice(0, rmAtLeast - rm.length)];
    return rm;
  }

  private async createPod(job: WorkingJob, template: PodTemplateSpec, index: number | undefined): Promise<void> {
    const meta = template.metadata ?? {};
    const labels: Record<string, string> = { ...(meta.labels ?? {}) };
    const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
    const spec = deepClone(template.spec ?? { containers: [] });
    let generateName = `${job.metadata.name}-`;
    if (index !== undefined) {
      annotations[COMPLETION_INDEX_ANNOTATION] = String(index);
      labels[COMPLETION_INDEX_ANNOTATION] = String(index);
      spec.hostname = `${job.metadata.name}-${index}`;
      generateName = podGenerateNameWithIndex(job.metadata.name, index);
    }
    const finalizers = [...(meta.finalizers ?? [])];
    if (!finalizers.includes(JOB_TRACKING_FINALIZER)) finalizers.push(JOB_TRACKING_FINALIZER);
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName,
        namespace: job.metadata.namespace,
        ...(Object.keys(labels).length ? { labels } : {}),
        ...(Object.keys(annotations).length ? { annotations } : {}),
        finalizers,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec,
    };
    try {
      const created = await this.podClient(job.metadata.namespace).create(pod);
      this.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
    } catch (e) {
      if (!isNamespaceTerminating(e)) this.event(job, 'Warning', 'FailedCreate', `Error creating: ${errText(e)}`);
      throw e;
    }
  }

  /** DELETE one pod, recording upstream's events; resolves with the error when it failed. */
  private async deletePodOf(job: Job, pod: Pod): Promise<unknown> {
    const name = pod.metadata!.name!;
    try {
      await this.podClient(pod.metadata!.namespace!).delete(name);
      this.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
      return undefined;
    } catch (e) {
      if (!isNotFound(e)) this.event(job, 'Warning', 'FailedDelete', `Error deleting: ${errText(e)}`);
      return e;
    }
  }

  /** Deletes active pods keeping their finalizers, so they are counted as failed. */
  private async deleteActivePods(job: Job, pods: Pod[]): Promise<{ deletedReady: number; deleted: number; error?: unknown }> {
    let deleted = pods.length;
    let deletedReady = 0;
    let error: unknown;
    await Promise.all(
      pods.map(async (p) => {
        const e = await this.deletePodOf(job, p);
        if (e && !isNotFound(e)) {
          deleted--;
          error ??= e;
        }
        if (isPodReady(p)) deletedReady++;
      }),
    );
    return { deletedReady, deleted, error };
  }

  /** Deletes pods the Job no longer wants (suspend, too many): their finalizer goes first, so they are not counted. */
  private async deleteJobPods(job: Job, key: string, pods: Pod[]): Promise<{ removedReady: number; removed: number; error?: unknown }> {
    let removed = pods.length;
    let removedReady = 0;
    let error: unknown;
    const fail = (e: unknown) => {
      this.expectations.deletionObserved(key);
      if (!isNotFound(e)) {
        removed--;
        error ??= e;
      }
    };
    await Promise.all(
      pods.map(async (p) => {
        if (hasTrackingFinalizer(p)) {
          try {
            await this.podClient(p.metadata!.namespace!).patch(p.metadata!.name!, 'strategic', removeFinalizerPatch());
          } catch (e) {
            fail(e);
            return;
          }
        }
        const e = await this.deletePodOf(job, p);
        if (e) fail(e);
        if (isPodReady(p)) removedReady++;
      }),
    );
    return { removedReady, removed, error };
  }

  // ---- status tracking with finalizers ----

  /**
   * 1. Finished pods go to status.uncountedTerminatedPods (written first), 2. their finalizers are
   * removed, 3. the counters take over what lost its finalizer, 4. Complete / Failed once nothing is
   * left uncounted or terminating.
   */
  private async trackStatusAndRemoveFinalizers(c: SyncContext, needsFlushIn: boolean): Promise<void> {
    let needsFlush = needsFlushIn;
    const job = c.job;
    const indexed = isIndexed(job);
    const uncounted = job.status.uncountedTerminatedPods;
    uncounted.succeeded ??= [];
    uncounted.failed ??= [];
    const pods = indexed ? byCompletionIndex(c.pods) : c.pods;
    const withFinalizer = new Set<string>();
    for (const p of pods) {
      const uid = p.metadata?.uid ?? '';
      if (hasTrackingFinalizer(p) && !c.expectedRmFinalizers.has(uid)) withFinalizer.add(uid);
    }
    if (cleanUncounted(job.status, withFinalizer)) needsFlush = true;

    const toRemove: Pod[] = [];
    const newSucceededIndexes: number[] = [];
    let reachedMax = false;
    const completions = completionsOf(job);
    for (const p of pods) {
      const uid = p.metadata?.uid ?? '';
      if (!hasTrackingFinalizer(p) || c.expectedRmFinalizers.has(uid)) continue;
      const failed = isPodFailed(p, job);
      if (!(job.metadata.deletionTimestamp || c.finished || p.status?.phase === 'Succeeded' || failed)) continue;
      toRemove.push(p);
      const ix = completionIndexOf(p);
      if (p.status?.phase === 'Succeeded' && !c.uncountedFailed.has(uid)) {
        if (indexed) {
          if (ix !== UNKNOWN_COMPLETION_INDEX && ix < completions && !c.prevSucceededIndexes?.has(ix)) {
            newSucceededIndexes.push(ix);
            needsFlush = true;
          }
        } else if (!c.uncountedSucceeded.has(uid)) {
          needsFlush = true;
          uncounted.succeeded.push(uid);
        }
      } else if (failed || (c.finished && c.finished.type !== 'SuccessCriteriaMet')) {
        // once the Job is finished (not by success), every pod not terminated counts as failed
        if (!c.uncountedFailed.has(uid) && (!indexed || (ix !== UNKNOWN_COMPLETION_INDEX && ix < completions))) {
          needsFlush = true;
          uncounted.failed.push(uid);
        }
      }
      if (newSucceededIndexes.length + uncounted.succeeded.length + uncounted.failed.length >= MAX_UNCOUNTED_PODS) {
        reachedMax = true;
        break;
      }
    }
    if (indexed) {
      c.succeededIndexes = (c.succeededIndexes ?? new OrderedIntervals()).withOrderedIndexes(newSucceededIndexes.sort((a, b) => a - b));
      const s = c.succeededIndexes.toString();
      if (s !== (job.status.completedIndexes ?? '')) needsFlush = true;
      job.status.succeeded = c.succeededIndexes.total();
      job.status.completedIndexes = s;
    }
    if (c.finished?.type === 'FailureTarget') {
      (job.status.conditions ??= []).push(c.finished);
      needsFlush = true;
      c.finished = this.condition('Failed', c.finished.reason ?? '', c.finished.message ?? '');
    }
    if (c.finished?.type === 'SuccessCriteriaMet') {
      if (!trueCondition(job, 'SuccessCriteriaMet')) {
        (job.status.conditions ??= []).push(c.finished);
        needsFlush = true;
      }
      c.finished = this.condition('Complete', c.finished.reason ?? '', c.finished.message ?? '');
    }

    // 1. what is about to lose its finalizer is recorded first
    if (needsFlush) {
      c.job = await this.updateStatus(job);
      this.backoff.update(c.key, c.newBackoff);
      needsFlush = false;
    }
    const cur = c.job;
    cur.status.uncountedTerminatedPods ??= {};
    // 2. finalizers go
    let rmError: unknown;
    if (toRemove.length) {
      const ok = await this.removeTrackingFinalizers(c.key, toRemove).catch((e) => {
        rmError = e;
        return [] as string[];
      });
      for (const uid of ok) withFinalizer.delete(uid);
      if (ok.length < toRemove.length) rmError ??= new Error('some tracking finalizers could not be removed');
    }
    // 3. counters take over
    if (cleanUncounted(cur.status, withFinalizer)) needsFlush = true;
    if (rmError) {
      if (needsFlush) await this.updateStatus(cur);
      throw rmError;
    }
    // 4. terminal condition
    const finished = !reachedMax && this.enactJobFinished(c);
    if (finished) needsFlush = true;
    if (needsFlush) {
      await this.updateStatus(c.job);
      if (finished && c.finished) this.recordJobFinished(c.job, c.finished);
    }
  }

  private enactJobFinished(c: SyncContext): boolean {
    const f = c.finished;
    if (!f) return false;
    const u = c.job.status.uncountedTerminatedPods;
    if ((u.succeeded?.length ?? 0) + (u.failed?.length ?? 0) > 0) return false;
    if (c.terminating > 0) return false;
    this.ensureCondition(c.job.status, f.type, 'True', f.reason ?? '', f.message ?? '');
    if (f.type === 'Complete') c.job.status.completionTime = f.lastTransitionTime;
    return true;
  }

  private recordJobFinished(job: WorkingJob, f: JobCondition): void {
    if (f.type === 'Complete') {
      const completions = job.spec?.completions;
      if (typeof completions === 'number' && (job.status.succeeded ?? 0) > completions)
        this.event(job, 'Warning', 'TooManySucceededPods', 'Too many succeeded pods running after completion count reached');
      this.event(job, 'Normal', 'Completed', 'Job completed');
    } else {
      this.event(job, 'Warning', f.reason ?? 'Failed', f.message ?? '');
    }
  }

  /** Removes the tracking finalizer; returns the uids whose finalizer is gone (a vanished pod counts). */
  private async removeTrackingFinalizers(key: string, pods: Pod[]): Promise<string[]> {
    const uids = pods.map((p) => p.metadata?.uid ?? '');
    this.finalizerExpectations.expectRemoved(key, uids);
    const ok: string[] = [];
    let error: unknown;
    await Promise.all(
      pods.map(async (p, i) => {
        try {
          await this.podClient(p.metadata!.namespace!).patch(p.metadata!.name!, 'strategic', removeFinalizerPatch());
        } catch (e) {
          this.finalizerExpectations.observed(key, uids[i]);
          if (!isNotFound(e)) {
            error ??= e;
            return;
          }
        }
        ok.push(uids[i]);
      }),
    );
    if (error) this.ctx.log(`job ${key}: removing tracking finalizers: ${errText(error)}`);
    return ok;
  }

  private async updateStatus(job: WorkingJob): Promise<WorkingJob> {
    const body = deepClone(job);
    const u = body.status.uncountedTerminatedPods;
    if (!u.succeeded?.length) delete u.succeeded;
    if (!u.failed?.length) delete u.failed;
    for (const k of ['active', 'succeeded', 'failed'] as const) if (!body.status[k]) delete body.status[k];
    const updated = (await this.jobClient(job.metadata.namespace).updateStatus(body)) as WorkingJob;
    updated.apiVersion = 'batch/v1';
    updated.kind = 'Job';
    updated.status ??= { uncountedTerminatedPods: {} };
    updated.status.uncountedTerminatedPods ??= {};
    return updated;
  }
}

function removeFinalizerPatch(): unknown {
  return { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } };
}

/** Moves uids whose finalizer is gone from uncountedTerminatedPods to the counters; true when anything moved. */
function cleanUncounted(status: Status, withFinalizer: Set<string>): boolean {
  let changed = false;
  const u = status.uncountedTerminatedPods;
  const succ = (u.succeeded ?? []).filter((uid) => withFinalizer.has(uid));
  if (succ.length !== (u.succeeded ?? []).length) {
    changed = true;
    status.succeeded = (status.succeeded ?? 0) + (u.succeeded ?? []).length - succ.length;
    u.succeeded = succ;
  }
  const fail = (u.failed ?? []).filter((uid) => withFinalizer.has(uid));
  if (fail.length !== (u.failed ?? []).length) {
    changed = true;
    status.failed = (status.failed ?? 0) + (u.failed ?? []).length - fail.length;
    u.failed = fail;
  }
  return changed;
}

export const jobController: ControllerFactory = (ctx) => new JobController(ctx);

/** A Job controller with options (tests shorten the batching period). */
export const jobControllerWith =
  (opts: JobControllerOptions): ControllerFactory =>
  (ctx) =>
    new JobController(ctx, opts);
