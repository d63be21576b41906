// The CronJob controller (upstream pkg/controller/cronjob, "v2"): at each scheduled time it creates a
// Job named `<cronjob>-<minutes since the epoch>` from the job template (the name is the lock against
// creating one twice), honours concurrencyPolicy, startingDeadlineSeconds and suspend, keeps
// status.active / lastScheduleTime / lastSuccessfulTime, and trims finished Jobs to the history limits.
// It sleeps until the next schedule time on the controller's Clock; it never polls.
import type { CronJob, Job, JobCondition } from 'kubernetes-types/batch/v1.js';
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { isKnownTimeZone, parseCronSchedule, type CronSchedule } from '../../api/cron.js';
import { deepClone } from '../../api/object.js';
import { nowRFC3339 } from '../../api/names.js';
import type { EventRecorder } from '../../client/events.js';
import { Informer, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { isAlreadyExists, isNotFound, type ResourceClient } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { ClockDelays } from '../delayed.js';
import { rfc1123zUTC, rfc3339In } from './times.js';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
const COMPONENT = 'cronjob-controller';
const OWNER_INDEX = 'cronjob-controller/controller-uid';
/** upstream nextScheduleDelta: wake a little after the schedule time */
const NEXT_SCHEDULE_DELTA_MS = 100;
const TOO_MANY_MISSED = 100;

type WorkingCronJob = CronJob & { metadata: NonNullable<CronJob['metadata']> & { name: string; namespace: string; uid: string } };

interface SyncResult {
  requeueAfter?: number;
  updateStatus: boolean;
  error?: unknown;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const timeOf = (t: string | undefined | null): number | undefined => {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : undefined;
};

function controllerRefOf(job: Job): OwnerReference | undefined {
  return job.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** The Complete or Failed condition that finished the Job, if any. */
function finishedCondition(job: Job): JobCondition | undefined {
  return job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

const isSucceeded = (job: Job) => finishedCondition(job)?.type === 'Complete';

/** The Job name for a scheduled time: deterministic, so a retry cannot start the run twice. */
export function jobNameFor(cronJobName: string, scheduledMs: number): string {
  return `${cronJobName}-${Math.floor(scheduledMs / 60_000)}`;
}

/**
 * The latest schedule time in (earliest, now] and roughly how many there were (upstream
 * getMostRecentScheduleTime). Throws when two schedule times are less than a second apart.
 */
export function mostRecentScheduleTime(earliest: number, now: number, sched: CronSchedule, timeZone: string | undefined): { time?: number; missed: number } {
  const next = (t: number) => sched.next(new Date(t), timeZone)?.getTime();
  const t1 = next(earliest);
  if (t1 === undefined || now < t1) return { missed: 0 };
  const t2 = next(t1);
  if (t2 === undefined || now < t2) return { time: t1, missed: 1 };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw new Error('time difference between two schedules is less than 1 second');
  const missed = Math.floor(Math.floor((now - t1) / 1000) / between) + 1;
  let mostRecent: number | undefined;
  // start near the end (the schedule may not be regular) rather than walking every missed time
  const potentialEarliest = t1 + (missed - 2) * between * 1000;
  for (let t = next(potentialEarliest); t !== undefined && t <= now; t = next(t)) mostRecent = t;
  return { time: mostRecent, missed };
}

export class CronJobController implements Controller {
  readonly name = 'cronjob';
  private readonly cronJobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;
  private readonly queue = new WorkQueue({ name: 'cronjob' });
  private readonly delays: ClockDelays;
  private readonly recorder: EventRecorder;
  private workers?: Promise<void>;

  constructor(private readonly ctx: ControllerContext) {
    this.delays = new ClockDelays(this.queue, ctx.clock);
    this.recorder = ctx.recorder(COMPONENT);
    this.cronJobs = ctx.informers.informer<CronJob>(RESOURCES.cronjobs);
    this.jobs = ctx.informers.informer<Job>(RESOURCES.jobs);
    this.jobs.addIndexer(OWNER_INDEX, (j) => {
      const ref = controllerRefOf(j);
      return ref?.kind === 'CronJob' && ref.uid ? [ref.uid] : [];
    });
    this.cronJobs.addEventHandler({
      onAdd: (cj) => this.queue.add(metaNamespaceKey(cj)),
      onUpdate: (old, cur) => this.updateCronJob(old, cur),
    });
    this.jobs.addEventHandler({
      onAdd: (j) => this.enqueueOwner(j),
      onUpdate: (old, cur) => {
        const oldRef = controllerRefOf(old);
        if (oldRef && oldRef.uid !== controllerRefOf(cur)?.uid) this.enqueueOwner(old);
        this.enqueueOwner(cur);
      },
      onDelete: (j) => this.enqueueOwner(j),
    });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, 5, (key) => this.sync(key), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.delays.stop();
    this.queue.shutDown();
    await this.workers;
  }

  private enqueueOwner(job: Job): void {
    const ref = controllerRefOf(job);
    if (ref?.kind !== 'CronJob') return;
    const cj = this.cronJobs.getByName(job.metadata?.namespace, ref.name);
    if (cj?.metadata?.uid === ref.uid) this.queue.add(metaNamespaceKey(cj));
  }

  private updateCronJob(old: CronJob, cur: CronJob): void {
    const key = metaNamespaceKey(cur);
    if (old.spec?.schedule !== cur.spec?.schedule || old.spec?.timeZone !== cur.spec?.timeZone) {
      // a new schedule: wake up for its next time (the old timer may be far away)
      try {
        const sched = parseCronSchedule(cur.spec?.schedule ?? '');
        const after = this.nextScheduleDelay(cur, this.ctx.clock.now(), sched);
        if (after !== undefined) this.delays.addAfter(key, after);
      } catch {
        // the sync reports an unparseable schedule
      }
    }
    this.queue.add(key);
  }

  private event(cj: CronJob, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: cj.metadata }, type, reason, message);
  }

  private cronJobClient(namespace: string): ResourceClient<CronJob> {
    return this.ctx.client.resource<CronJob>(RESOURCES.cronjobs, namespace);
  }

  private jobClient(namespace: string): ResourceClient<Job> {
    return this.ctx.client.resource<Job>(RESOURCES.jobs, namespace);
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const cached = this.cronJobs.getByName(namespace, name);
    if (!cached?.metadata?.uid) return;
    const cj = deepClone(cached) as WorkingCronJob;
    cj.apiVersion = 'batch/v1';
    cj.kind = 'CronJob';
    cj.status ??= {};
    const jobs = this.jobs.byIndex(OWNER_INDEX, cj.metadata.uid).filter((j) => j.metadata?.namespace === namespace);
    const cleaned = await this.cleanupFinishedJobs(cj, jobs);
    const r = await this.syncCronJob(cj, jobs);
    if (cleaned || r.updateStatus) await this.cronJobClient(namespace!).updateStatus(cj);
    if (r.requeueAfter !== undefined) {
      this.delays.addAfter(key, r.requeueAfter);
      return;
    }
    if (r.error) throw r.error;
  }

  private inActiveList(cj: CronJob, uid: string | undefined): boolean {
    return !!uid && (cj.status?.active ?? []).some((a) => a.uid === uid);
  }

  private deleteFromActiveList(cj: CronJob, uid: string | undefined): void {
    if (!cj.status?.active) return;
    cj.status.active = cj.status.active.filter((a) => a.uid !== uid);
  }

  private async syncCronJob(cj: WorkingCronJob, jobs: Job[]): Promise<SyncResult> {
    const now = this.ctx.clock.now();
    let updateStatus = false;
    const children = new Set<string>();
    for (const j of jobs) {
      const uid = j.metadata?.uid ?? '';
      children.add(uid);
      const found = this.inActiveList(cj, uid);
      const finished = finishedCondition(j);
      if (!found && !finished) {
        // created by us right before a crash, a stale cache, or someone else's Job naming us as owner
        const fresh = await this.cronJobClient(cj.metadata.namespace).get(cj.metadata.name);
        if (this.inActiveList(fresh, uid)) {
          Object.assign(cj, { status: fresh.status ?? {}, metadata: { ...cj.metadata, resourceVersion: fresh.metadata?.resourceVersion } });
          continue;
        }
        this.event(cj, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata?.name}`);
      } else if (found && finished) {
        this.deleteFromActiveList(cj, uid);
        this.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata?.name}, condition: ${finished.type}`);
        updateStatus = true;
      } else if (isSucceeded(j)) {
        const completed = j.status?.completionTime;
        const last = timeOf(cj.status!.lastSuccessfulTime);
        const at = timeOf(completed);
        if (completed && (last === undefined || (at !== undefined && at > last))) {
          cj.status!.lastSuccessfulTime = completed;
          updateStatus = true;
        }
      }
    }
    // an active Job neither cached nor on the server went missing
    for (const a of [...(cj.status?.active ?? [])]) {
      if (children.has(a.uid ?? '')) continue;
      try {
        await this.jobClient(a.namespace ?? cj.metadata.namespace).get(a.name ?? '');
      } catch (e) {
        if (!isNotFound(e)) return { updateStatus, error: e };
        this.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${a.name}`);
        this.deleteFromActiveList(cj, a.uid);
        updateStatus = true;
      }
    }

    if (cj.metadata.deletionTimestamp) return { updateStatus };
    const timeZone = cj.spec?.timeZone ?? undefined;
    if (timeZone !== undefined && !isKnownTimeZone(timeZone)) {
      this.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: ${JSON.stringify(timeZone)}: unknown time zone ${timeZone}`);
      return { updateStatus };
    }
    if (cj.spec?.suspend) return { updateStatus };

    const schedule = cj.spec?.schedule ?? '';
    if (schedule.includes('TZ'))
      this.event(
        cj,
        'Warning',
        'UnsupportedSchedule',
        `CRON_TZ or TZ used in schedule ${JSON.stringify(schedule)} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
      );
    let sched: CronSchedule;
    try {
      sched = parseCronSchedule(schedule);
    } catch (e) {
      this.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(schedule)} : ${errText(e)}`);
      return { updateStatus };
    }

    let scheduled: number | undefined;
    try {
      scheduled = this.nextScheduleTime(cj, now, sched);
    } catch (e) {
      this.event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${schedule} : ${errText(e)}`);
      return { updateStatus };
    }
    const requeueAfter = this.nextScheduleDelay(cj, now, sched);
    if (scheduled === undefined) return { requeueAfter, updateStatus };

    const deadline = cj.spec?.startingDeadlineSeconds;
    if (typeof deadline === 'number' && scheduled + deadline * 1000 < now) {
      this.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc1123zUTC(scheduled)}`);
      return { requeueAfter, updateStatus };
    }
    const name = jobNameFor(cj.metadata.name, scheduled);
    if ((cj.status?.active ?? []).some((a) => a.name === name) || timeOf(cj.status?.lastScheduleTime) === scheduled) return { requeueAfter, updateStatus };
    if (cj.spec?.concurrencyPolicy === 'Forbid' && (cj.status?.active ?? []).length > 0) {
      this.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return { requeueAfter, updateStatus };
    }
    if (cj.spec?.concurrencyPolicy === 'Replace') {
      for (const a of [...(cj.status?.active ?? [])]) {
        let job: Job;
        try {
          job = await this.jobClient(a.namespace ?? cj.metadata.namespace).get(a.name ?? '');
        } catch (e) {
          this.event(cj, 'Warning', 'FailedGet', `Get job: ${errText(e)}`);
          return { updateStatus, error: e };
        }
        if (!(await this.deleteJob(cj, job))) return { updateStatus, error: new Error(`could not replace job ${a.namespace}/${a.name}`) };
        updateStatus = true;
      }
    }

    let created: Job;
    let existed = false;
    try {
      created = await this.jobClient(cj.metadata.namespace).create(this.jobFromTemplate(cj, scheduled, name, timeZone));
    } catch (e) {
      if (!isAlreadyExists(e)) {
        const terminating = (e as { status?: { details?: { causes?: { reason?: string }[] } } }).status?.details?.causes?.some((c) => c.reason === 'NamespaceTerminating');
        if (!terminating) this.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${errText(e)}`);
        return { updateStatus, error: e };
      }
      // ours from a run whose status update was lost: put it back in the active list
      created = await this.jobClient(cj.metadata.namespace).get(name);
      existed = true;
      const ref = controllerRefOf(created);
      if (ref?.uid !== cj.metadata.uid || this.inActiveList(cj, created.metadata?.uid)) return { updateStatus };
    }
    if (!existed) this.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata?.name}`);
    const status = (cj.status ??= {});
    status.active = [...(status.active ?? []), jobReference(created)];
    status.lastScheduleTime = nowRFC3339(scheduled);
    return { requeueAfter: this.nextScheduleDelay(cj, now, sched), updateStatus: true };
  }

  /** The most recent unmet schedule time, if any (upstream nextScheduleTime). */
  private nextScheduleTime(cj: CronJob, now: number, sched: CronSchedule): number | undefined {
    let earliest = timeOf(cj.status?.lastScheduleTime) ?? timeOf(cj.metadata?.creationTimestamp) ?? now;
    const sds = cj.spec?.startingDeadlineSeconds;
    if (typeof sds === 'number') earliest = Math.max(earliest, now - sds * 1000);
    const { time, missed } = mostRecentScheduleTime(earliest, now, sched, cj.spec?.timeZone ?? undefined);
    if (missed > TOO_MANY_MISSED)
      this.event(cj, 'Warning', 'TooManyMissedTimes', `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
    return time;
  }

  /** How long until the next schedule time after the last one met (upstream nextScheduleTimeDuration). */
  private nextScheduleDelay(cj: CronJob, now: number, sched: CronSchedule): number | undefined {
    const earliest = timeOf(cj.status?.lastScheduleTime) ?? timeOf(cj.metadata?.creationTimestamp) ?? now;
    let from: number;
    try {
      from = mostRecentScheduleTime(earliest, now, sched, cj.spec?.timeZone ?? undefined).time ?? earliest;
    } catch {
      from = now;
    }
    const next = sched.next(new Date(from), cj.spec?.timeZone ?? undefined)?.getTime();
    return next === undefined ? undefined : next + NEXT_SCHEDULE_DELTA_MS - now;
  }

  private jobFromTemplate(cj: WorkingCronJob, scheduled: number, name: string, timeZone: string | undefined): Job {
    const tmpl = cj.spec?.jobTemplate;
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace,
        labels: { ...(tmpl?.metadata?.labels ?? {}) },
        annotations: { ...(tmpl?.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: rfc3339In(scheduled, timeZone) },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name, uid: cj.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec: deepClone(tmpl?.spec ?? { template: {} }) as Job['spec'],
    };
  }

  /** Deletes a Job with its pods and drops it from the active list; false when the delete failed. */
  private async deleteJob(cj: WorkingCronJob, job: Job): Promise<boolean> {
    try {
      await this.jobClient(job.metadata!.namespace!).delete(job.metadata!.name!, { propagationPolicy: 'Background' });
    } catch (e) {
      if (!isNotFound(e)) {
        this.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${errText(e)}`);
        return false;
      }
    }
    this.deleteFromActiveList(cj, job.metadata?.uid);
    this.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata?.name}`);
    return true;
  }

  /** Deletes the oldest finished Jobs beyond the history limits; true when the status changed. */
  private async cleanupFinishedJobs(cj: WorkingCronJob, jobs: Job[]): Promise<boolean> {
    const successLimit = cj.spec?.successfulJobsHistoryLimit;
    const failedLimit = cj.spec?.failedJobsHistoryLimit;
    if (typeof successLimit !== 'number' && typeof failedLimit !== 'number') return false;
    const succeeded: Job[] = [];
    const failed: Job[] = [];
    for (const j of jobs) {
      const c = finishedCondition(j);
      if (c?.type === 'Complete') succeeded.push(j);
      else if (c?.type === 'Failed') failed.push(j);
    }
    let changed = false;
    if (typeof successLimit === 'number' && (await this.removeOldestJobs(cj, succeeded, successLimit))) changed = true;
    if (typeof failedLimit === 'number' && (await this.removeOldestJobs(cj, failed, failedLimit))) changed = true;
    return changed;
  }

  private async removeOldestJobs(cj: WorkingCronJob, jobs: Job[], max: number): Promise<boolean> {
    const n = jobs.length - max;
    if (n <= 0) return false;
    const byStart = [...jobs].sort((a, b) => {
      const sa = timeOf(a.status?.startTime);
      const sb = timeOf(b.status?.startTime);
      if (sa === undefined && sb !== undefined) return 1;
      if (sa !== undefined && sb === undefined) return -1;
      if (sa === sb) return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
      return (sa ?? 0) - (sb ?? 0);
    });
    let changed = false;
    for (const j of byStart.slice(0, n)) if (await this.deleteJob(cj, j)) changed = true;
    return changed;
  }
}

function jobReference(job: Job): ObjectReference {
  return {
    kind: 'Job',
    namespace: job.metadata?.namespace,
    name: job.metadata?.name,
    uid: job.metadata?.uid,
    apiVersion: 'batch/v1',
    resourceVersion: job.metadata?.resourceVersion,
  };
}

export const cronJobController: ControllerFactory = (ctx) => new CronJobController(ctx);
