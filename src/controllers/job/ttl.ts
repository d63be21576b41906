// The TTL-after-finished controller (upstream pkg/controller/ttlafterfinished): a finished Job with
// `ttlSecondsAfterFinished` is deleted, with its pods, that long after its Complete/Failed condition.
import type { Job } from 'kubernetes-types/batch/v1.js';
import { Informer, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { isNotFound } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { isJobFinished } from './controller.js';
import { ClockDelays } from '../delayed.js';

/** Upstream deletes expired Jobs in the foreground, so they go only after their pods. */
export const TTL_PROPAGATION_POLICY = 'Foreground';

const needsCleanup = (job: Job) => typeof job.spec?.ttlSecondsAfterFinished === 'number' && isJobFinished(job);

/** When the Job finished (ms), from its True Complete or Failed condition. */
export function jobFinishTime(job: Job): number {
  const c = job.status?.conditions?.find((x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True');
  if (!c) throw new Error(`unable to find the status of the finished Job ${job.metadata?.namespace}/${job.metadata?.name}`);
  const at = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  if (!Number.isFinite(at)) throw new Error(`unable to find the time when the Job ${job.metadata?.namespace}/${job.metadata?.name} finished`);
  return at;
}

export class TTLAfterFinishedController implements Controller {
  readonly name = 'ttl-after-finished';
  private readonly jobs: Informer<Job>;
  private readonly queue = new WorkQueue({ name: 'ttl_jobs_to_delete' });
  private readonly delays: ClockDelays;
  private workers?: Promise<void>;

  constructor(private readonly ctx: ControllerContext) {
    this.delays = new ClockDelays(this.queue, ctx.clock);
    this.jobs = ctx.informers.informer<Job>(RESOURCES.jobs);
    const enqueue = (job: Job) => {
      if (!job.metadata?.deletionTimestamp && needsCleanup(job)) this.queue.add(metaNamespaceKey(job));
    };
    this.jobs.addEventHandler({ onAdd: enqueue, onUpdate: (_old, cur) => enqueue(cur) });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, 5, (key) => this.sync(key), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.delays.stop();
    this.queue.shutDown();
    await this.workers;
  }

  /** The expiry time when it has passed; otherwise requeues for it and returns undefined. */
  private expired(key: string, job: Job): number | undefined {
    if (job.metadata?.deletionTimestamp || !needsCleanup(job)) return undefined;
    const expireAt = jobFinishTime(job) + (job.spec!.ttlSecondsAfterFinished as number) * 1000;
    const left = expireAt - this.ctx.clock.now();
    if (left <= 0) return expireAt;
    this.delays.addAfter(key, left);
    return undefined;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const cached = this.jobs.getByName(namespace, name);
    if (!cached || this.expired(key, cached) === undefined) return;
    // the cache may hold an old TTL: decide again on the live object
    const client = this.ctx.client.resource<Job>(RESOURCES.jobs, namespace);
    let fresh: Job;
    try {
      fresh = await client.get(name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (this.expired(key, fresh) === undefined) return;
    try {
      await client.delete(name, { propagationPolicy: TTL_PROPAGATION_POLICY, preconditions: { uid: fresh.metadata?.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

export const ttlAfterFinishedController: ControllerFactory = (ctx) => new TTLAfterFinishedController(ctx);
