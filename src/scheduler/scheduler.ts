// The scheduler: pending pods of the default scheduler go through the scheduling queue, one cycle at
// a time against the cache; the chosen node is assumed at once and the Binding is posted in the
// background, so the next pod is scheduled while the API writes the last one. Pods that fit nowhere
// get PodScheduled=False/Unschedulable and a FailedScheduling event, and wait for a cluster change.
import type { Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { nowRFC3339 } from '../api/names.js';
import { deepEqual } from '../api/object.js';
import type { EventRecorder } from '../client/events.js';
import type { Informer } from '../client/informer.js';
import { ClientStatusError, isConflict, isNotFound, type ResourceClient } from '../client/rest.js';
import { RESOURCES } from '../client/shared.js';
import { Framework, NoNodesAvailableError } from './algorithm.js';
import { isTerminal, SchedulerCache } from './cache.js';
import type { Clock } from '../client/clock.js';
import type { Component, ComponentContext } from './context.js';
import { FitError, type CycleState, type Listers } from './framework.js';
import { newPodInfo, podKey, type PodInfo } from './nodeinfo.js';
import { defaultPlugins, type ProfilePlugin } from './plugins/index.js';
import { INTER_POD_AFFINITY } from './plugins/inter-pod-affinity.js';
import { NODE_RESOURCES_FIT } from './plugins/node-resources-fit.js';
import { POD_TOPOLOGY_SPREAD } from './plugins/pod-topology-spread.js';
import { VOLUME_BINDING } from './plugins/volume-binding.js';
import { isGated, SchedulingQueue, type QueuedPodInfo } from './queue.js';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** Events longer than this are cut, as upstream's recorder does. */
const MAX_MESSAGE_LENGTH = 1024;

export interface SchedulerOptions {
  /** pods whose spec.schedulerName is this (or empty) are ours (default `default-scheduler`) */
  schedulerName?: string;
  /** 0 (default): adaptive, as upstream */
  percentageOfNodesToScore?: number;
  podInitialBackoffMs?: number;
  podMaxBackoffMs?: number;
  podMaxInUnschedulablePodsMs?: number;
  /** Bindings (and status writes) in flight at once (default 64) */
  bindConcurrency?: number;
  /** how long PreBind waits for volumes to be bound (default 600 s) */
  volumeBindTimeoutMs?: number;
  /** the plugins (default: the default profile) */
  plugins?: (opts: { ctx: ComponentContext; volumeBindTimeoutMs?: number }) => ProfilePlugin[];
  random?: () => number;
}

/** Limits how many async jobs run at once; the rest wait in order. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly idle: (() => void)[] = [];
  private belowWaiters: { n: number; r: () => void }[] = [];
  constructor(private readonly max: number) {}

  get pending(): number {
    return this.running + this.waiting.length;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running++;
        job()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            const next = this.waiting.shift();
            if (next) next();
            else if (this.running === 0) for (const w of this.idle.splice(0)) w();
            if (this.belowWaiters.length) {
              const still = this.belowWaiters.filter((w) => this.pending >= w.n);
              for (const w of this.belowWaiters) if (this.pending < w.n) w.r();
              this.belowWaiters = still;
            }
          });
      };
      if (this.running < this.max) start();
      else this.waiting.push(start);
    });
  }

  drained(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }

  /** Resolves once fewer than `n` jobs are running or waiting. */
  below(n: number): Promise<void> {
    if (this.pending < n) return Promise.resolve();
    return new Promise((r) => this.belowWaiters.push({ n, r }));
  }
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const truncate = (s: string) => (s.length > MAX_MESSAGE_LENGTH ? s.slice(0, MAX_MESSAGE_LENGTH - 3) + '...' : s);
const podRef = (pod: Pod) => ({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata });

/** JSON-equal, where a missing value is null. */
const same = (a: unknown, b: unknown) => deepEqual(a ?? null, b ?? null);

function sameConditions(a: Node['status'], b: Node['status']): boolean {
  const ca = a?.conditions;
  const cb = b?.conditions;
  if (!ca || !cb) return !ca === !cb;
  if (ca.length !== cb.length) return false;
  for (let i = 0; i < ca.length; i++) if (ca[i].type !== cb[i].type || ca[i].status !== cb[i].status) return false;
  return true;
}

/** Whether a node change can let a pending pod fit (labels, taints, cordon, allocatable, conditions). */
function nodeSchedulingChanged(a: Node, b: Node): boolean {
  return (
    !same(a.metadata?.labels, b.metadata?.labels) ||
    !same(a.spec?.taints, b.spec?.taints) ||
    !!a.spec?.unschedulable !== !!b.spec?.unschedulable ||
    !same(a.status?.allocatable, b.status?.allocatable) ||
    !sameConditions(a.status, b.status)
  );
}

export class Scheduler implements Component {
  readonly name = 'scheduler';
  readonly cache: SchedulerCache;
  readonly queue: SchedulingQueue;
  readonly framework: Framework;
  private readonly podInformer: Informer<Pod>;
  private readonly nodeInformer: Informer<Node>;
  private readonly pods: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly writes: Limiter;
  private readonly maxPendingWrites: number;
  private readonly schedulerName: string;
  private stopped = false;
  private loop?: Promise<void>;
  /** pods scheduled (bound) and attempts that failed, since start */
  readonly counters = { scheduled: 0, unschedulable: 0, errors: 0 };

  constructor(ctx: ComponentContext, opts: SchedulerOptions = {}) {
    this.clock = ctx.clock;
    this.log = ctx.log;
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.recorder = ctx.recorder(this.schedulerName);
    this.writes = new Limiter(opts.bindConcurrency ?? 64);
    this.maxPendingWrites = 4 * (opts.bindConcurrency ?? 64);
    this.pods = ctx.client.resource<Pod>(RESOURCES.pods);

    const informers = ctx.informers;
    this.podInformer = informers.informer<Pod>(RESOURCES.pods);
    this.nodeInformer = informers.informer<Node>(RESOURCES.nodes);
    const namespaces = informers.informer<Namespace>(RESOURCES.namespaces);
    const pvcs = informers.informer<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims);
    const pvs = informers.informer<PersistentVolume>(RESOURCES.persistentvolumes);
    const classes = informers.informer<StorageClass>(RESOURCES.storageclasses);
    const listers: Listers = {
      namespace: (name) => namespaces.get(name),
      persistentVolumeClaim: (ns, name) => pvcs.getByName(ns, name),
      persistentVolume: (name) => pvs.get(name),
      persistentVolumes: () => pvs.list(),
      storageClass: (name) => classes.get(name),
    };

    this.cache = new SchedulerCache(listers);
    this.queue = new SchedulingQueue({
      clock: this.clock,
      podInitialBackoffMs: opts.podInitialBackoffMs,
      podMaxBackoffMs: opts.podMaxBackoffMs,
      podMaxInUnschedulablePodsMs: opts.podMaxInUnschedulablePodsMs,
    });
    const plugins = opts.plugins
      ? opts.plugins({ ctx, volumeBindTimeoutMs: opts.volumeBindTimeoutMs })
      : defaultPlugins({ client: ctx.client, clock: this.clock, bindTimeoutMs: opts.volumeBindTimeoutMs });
    this.framework = new Framework(plugins, { percentageOfNodesToScore: opts.percentageOfNodesToScore, random: opts.random });

    this.nodeInformer.addEventHandler({
      onAdd: (n) => {
        this.cache.addNode(n);
        this.queue.moveAllToActiveOrBackoff();
      },
      onUpdate: (old, n) => {
        this.cache.updateNode(n);
        if (nodeSchedulingChanged(old, n)) this.queue.moveAllToActiveOrBackoff();
      },
      onDelete: (n) => this.cache.removeNode(n),
    });
    this.podInformer.addEventHandler({
      onAdd: (p) => this.onPodAdd(p),
      onUpdate: (old, p) => this.onPodUpdate(old, p),
      onDelete: (p) => this.onPodDelete(p),
    });
    const volumeEvent = () => this.queue.moveAllToActiveOrBackoff([VOLUME_BINDING]);
    for (const inf of [pvcs, pvs, classes] as Informer<{ metadata?: object }>[]) inf.addEventHandler({ onAdd: volumeEvent, onUpdate: volumeEvent });
    namespaces.addEventHandler({
      onAdd: () => this.queue.moveAllToActiveOrBackoff([INTER_POD_AFFINITY]),
      onUpdate: (a, b) => {
        if (!same(a.metadata?.labels, b.metadata?.labels)) this.queue.moveAllToActiveOrBackoff([INTER_POD_AFFINITY]);
      },
    });
  }

  /** Whether this scheduler should place the pod. */
  responsibleFor(pod: Pod): boolean {
    const name = pod.spec?.schedulerName || DEFAULT_SCHEDULER_NAME;
    return name === this.schedulerName && !pod.spec?.nodeName;
  }

  private onPodAdd(pod: Pod): void {
    if (pod.spec?.nodeName) {
      this.cache.addPod(pod);
      this.queue.moveAllToActiveOrBackoff([INTER_POD_AFFINITY, POD_TOPOLOGY_SPREAD]);
    } else if (this.responsibleFor(pod) && !pod.metadata?.deletionTimestamp && !isTerminal(pod)) this.queue.add(pod);
  }

  private onPodUpdate(old: Pod, pod: Pod): void {
    if (pod.spec?.nodeName) {
      const wasCounted = this.cache.nodeOf(podKey(pod)) !== undefined;
      if (!old.spec?.nodeName) this.queue.deleteKey(podKey(pod));
      this.cache.updatePod(pod);
      if (wasCounted && isTerminal(pod) && !isTerminal(old)) this.queue.moveAllToActiveOrBackoff([NODE_RESOURCES_FIT, INTER_POD_AFFINITY, POD_TOPOLOGY_SPREAD]);
      else if (!old.spec?.nodeName || !same(old.metadata?.labels, pod.metadata?.labels))
        this.queue.moveAllToActiveOrBackoff([INTER_POD_AFFINITY, POD_TOPOLOGY_SPREAD]);
      return;
    }
    if (!this.responsibleFor(pod) || pod.metadata?.deletionTimestamp || isTerminal(pod)) {
      this.queue.delete(pod);
      return;
    }
    this.queue.update(pod);
  }

  private onPodDelete(pod: Pod): void {
    const key = podKey(pod);
    this.queue.deleteKey(key);
    if (this.cache.nodeOf(key) !== undefined) {
      this.cache.removePod(pod);
      this.queue.moveAllToActiveOrBackoff([NODE_RESOURCES_FIT, INTER_POD_AFFINITY, POD_TOPOLOGY_SPREAD, VOLUME_BINDING]);
    }
  }

  run(): void {
    this.loop ??= this.scheduleLoop().catch((e) => this.log(`scheduler: the scheduling loop stopped: ${errText(e)}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.close();
    for (const p of this.framework.plugins) (p.plugin as { close?: () => void }).close?.();
    await this.loop;
    await this.writes.drained();
  }

  private async scheduleLoop(): Promise<void> {
    let sliceStart = performance.now();
    while (!this.stopped) {
      const qp = this.queue.pop();
      if (!qp) {
        await this.queue.waitForPod();
        sliceStart = performance.now();
        continue;
      }
      try {
        this.scheduleOne(qp);
      } catch (e) {
        // a bug or a bad object must not stop the loop
        this.log(`scheduler: scheduling ${qp.key} failed: ${errText(e)}`);
        this.counters.errors++;
        this.queue.addBackoff(qp);
      }
      // let the API answer bindings and the informers deliver events between bursts of cycles;
      // stay at most a few hundred bindings ahead of the API
      if (this.writes.pending >= this.maxPendingWrites) {
        await this.writes.below(this.maxPendingWrites / 2);
        sliceStart = performance.now();
      } else if (performance.now() - sliceStart > 20) {
        await new Promise<void>((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    }
  }

  /** One scheduling cycle (synchronous), then the binding cycle in the background. */
  scheduleOne(qp: QueuedPodInfo): void {
    const pod = qp.pod;
    const key = qp.key;
    if (!this.responsibleFor(pod) || pod.metadata?.deletionTimestamp || isGated(pod) || this.cache.isAssumed(key)) {
      this.queue.done(key);
      return;
    }
    const info = newPodInfo(pod);
    let nodeName: string;
    let state: CycleState;
    try {
      const result = this.framework.schedulePod(info, this.cache);
      nodeName = result.node.name;
      state = result.state;
      const reserved = this.framework.runReserve(state, info, result.node);
      if (reserved) {
        this.failed(qp, info, new Error(`running Reserve plugin "${reserved.plugin}": ${reserved.reasons.join(', ')}`));
        return;
      }
    } catch (e) {
      this.failed(qp, info, e);
      return;
    }
    this.cache.assumePod(info, nodeName);
    void this.writes.run(() => this.bindingCycle(qp, info, state, nodeName));
  }

  private async bindingCycle(qp: QueuedPodInfo, info: PodInfo, state: CycleState, nodeName: string): Promise<void> {
    const pod = info.pod;
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? '';
    try {
      const pre = await this.framework.runPreBind(state, info, nodeName);
      if (pre) throw new Error(`running PreBind plugin "${pre.plugin}": ${pre.reasons.join(', ')}`);
      await this.pods.namespace(namespace).createSubresource(name, 'binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace, uid: pod.metadata?.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      });
    } catch (e) {
      this.cache.forgetPod(qp.key);
      this.framework.runUnreserve(state, info, nodeName);
      if (this.stopped) return;
      if (isNotFound(e) || (e instanceof ClientStatusError && e.code === 409 && /already assigned/.test(e.message))) {
        // deleted, or bound by someone else: the informer brings the rest
        this.queue.done(qp.key);
        return;
      }
      const err = e instanceof ClientStatusError ? new Error(`running Bind plugin "DefaultBinder": ${e.message}`) : (e as Error);
      this.failed(qp, info, err);
      return;
    }
    this.cache.finishBinding(qp.key);
    this.queue.done(qp.key);
    this.counters.scheduled++;
    this.recorder.event(podRef(pod), 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${nodeName}`);
  }

  /** An attempt failed: tell the pod (event, condition) and put it back in the queue. */
  private failed(qp: QueuedPodInfo, info: PodInfo, e: unknown): void {
    const pod = info.pod;
    const fit = e instanceof FitError;
    const unschedulable = fit || e instanceof NoNodesAvailableError;
    const message = truncate(errText(e));
    if (unschedulable) {
      this.counters.unschedulable++;
      this.queue.addUnschedulable(qp, fit ? (e as FitError).unschedulablePlugins() : new Set());
    } else {
      this.counters.errors++;
      this.log(`scheduler: error scheduling ${qp.key}: ${message}`);
      this.queue.addBackoff(qp);
    }
    if (this.stopped) return;
    this.recorder.event(podRef(pod), 'Warning', 'FailedScheduling', message);
    void this.writes.run(() => this.setUnschedulableCondition(pod, unschedulable ? 'Unschedulable' : 'SchedulerError', message));
  }

  private async setUnschedulableCondition(pod: Pod, reason: string, message: string): Promise<void> {
    const latest = this.podInformer.getByName(pod.metadata?.namespace, pod.metadata?.name ?? '') ?? pod;
    if (latest.spec?.nodeName || latest.metadata?.uid !== pod.metadata?.uid) return;
    const conditions = [...(latest.status?.conditions ?? [])];
    const i = conditions.findIndex((c) => c.type === 'PodScheduled');
    const prev = i >= 0 ? conditions[i] : undefined;
    if (prev && prev.status === 'False' && prev.reason === reason && prev.message === message) return;
    const next: PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      lastTransitionTime: prev?.status === 'False' && prev.lastTransitionTime ? prev.lastTransitionTime : nowRFC3339(this.clock.now()),
      reason,
      message,
    };
    if (i >= 0) conditions[i] = next;
    else conditions.push(next);
    try {
      await this.pods.namespace(latest.metadata?.namespace).patch(latest.metadata!.name!, 'merge', { status: { conditions } }, { subresource: 'status' });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) this.log(`scheduler: updating the PodScheduled condition of ${podKey(pod)}: ${errText(e)}`);
    }
  }
}

/** A factory for the controller manager, with options. */
export function newSchedulerController(opts: SchedulerOptions = {}): (ctx: ComponentContext) => Scheduler {
  return (ctx) => new Scheduler(ctx, opts);
}
