// The NoExecute taint manager (upstream pkg/controller/tainteviction): a pod on a node with NoExecute
// taints it does not tolerate is deleted at once; one that tolerates them for tolerationSeconds is
// deleted when the shortest of those runs out (counted from when the controller saw the taints);
// removing the taints or tolerating them forever cancels a pending deletion.
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { nowRFC3339 } from '../../api/names.js';
import type { EventRecorder } from '../../client/events.js';
import { type Informer, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { isNotFound } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import { ClockDelays } from '../delayed.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { matchingTolerations, minTolerationMs, noExecuteTaints } from './taints.js';

export const TAINT_EVICTION_COMPONENT = 'taint-eviction-controller';
/** pods by spec.nodeName, shared by the node lifecycle controllers */
export const POD_NODE_INDEX = 'nodelifecycle/pod-node-name';

export const DISRUPTION_TARGET = 'DisruptionTarget';
const DELETION_BY_TAINT_MANAGER = 'DeletionByTaintManager';
const DELETION_MESSAGE = 'Taint manager: deleting due to NoExecute taint';

const sameJSON = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const podRef = (namespace: string | undefined, name: string, uid?: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace, name, uid } });

/** The pods informer with the by-node index (added once per informer). */
export function podsByNode(ctx: ControllerContext): Informer<Pod> {
  const pods = ctx.informers.informer<Pod>(RESOURCES.pods);
  try {
    pods.addIndexer(POD_NODE_INDEX, (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  } catch {
    // already added by the other node lifecycle controller of this process
  }
  return pods;
}

export interface TaintEvictionOptions {
  workers?: number;
}

interface ScheduledEviction {
  uid: string;
  startedAt: number;
  due: number;
}

export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction';
  readonly queue = new WorkQueue({ name: 'taint-eviction' });
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly recorder: EventRecorder;
  private readonly delayed: ClockDelays;
  /** pending deletions by pod key (upstream's TimedWorkerQueue) */
  private readonly scheduled = new Map<string, ScheduledEviction>();
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: TaintEvictionOptions = {},
  ) {
    this.recorder = ctx.recorder(TAINT_EVICTION_COMPONENT);
    this.delayed = new ClockDelays(this.queue, ctx.clock);
    this.pods = podsByNode(ctx);
    this.nodes = ctx.informers.informer<Node>(RESOURCES.nodes);
    this.nodes.addEventHandler({
      onAdd: (n) => this.enqueueNodePods(n),
      onUpdate: (old, cur) => {
        if (!sameJSON(noExecuteTaints(old), noExecuteTaints(cur))) this.enqueueNodePods(cur);
      },
      onDelete: (n) => this.enqueueNodePods(n),
    });
    this.pods.addEventHandler({
      onAdd: (p) => {
        if (p.spec?.nodeName) this.queue.add(metaNamespaceKey(p));
      },
      onUpdate: (old, cur) => {
        if (
          old.spec?.nodeName !== cur.spec?.nodeName ||
          !sameJSON(old.spec?.tolerations, cur.spec?.tolerations) ||
          (!old.metadata?.deletionTimestamp && cur.metadata?.deletionTimestamp)
        )
          this.queue.add(metaNamespaceKey(cur));
      },
      onDelete: (p) => this.queue.add(metaNamespaceKey(p)),
    });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, this.opts.workers ?? 8, (key) => this.sync(key), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.delayed.stop();
    this.queue.shutDown();
    await this.workers;
  }

  /** When the pod's deletion is due (clock ms), if one is pending. */
  evictionDueAt(namespace: string, name: string): number | undefined {
    return this.scheduled.get(`${namespace}/${name}`)?.due;
  }

  private enqueueNodePods(node: Node): void {
    for (const p of this.pods.byIndex(POD_NODE_INDEX, node.metadata?.name ?? '')) this.queue.add(metaNamespaceKey(p));
  }

  private cancel(key: string, withEvent: boolean): void {
    if (!this.scheduled.delete(key)) return;
    if (!withEvent) return;
    const { namespace, name } = splitMetaNamespaceKey(key);
    this.recorder.event(podRef(namespace, name), 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
  }

  async sync(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod) return this.cancel(key, true);
    const nodeName = pod.spec?.nodeName;
    const uid = pod.metadata?.uid ?? '';
    const pending = this.scheduled.get(key);
    if (pending && pending.uid !== uid) this.scheduled.delete(key);
    // being deleted already: nothing left to do (a pod only ever gets one deletion from us)
    if (!nodeName || pod.metadata?.deletionTimestamp) return this.cancel(key, false);
    const taints = noExecuteTaints(this.nodes.get(nodeName));
    if (!taints.length) return this.cancel(key, true);
    const { allTolerated, used } = matchingTolerations(taints, pod.spec?.tolerations);
    if (!allTolerated) return this.evict(key, pod);
    const min = minTolerationMs(used);
    if (min < 0) return this.cancel(key, true);
    const now = this.ctx.clock.now();
    const cur = this.scheduled.get(key);
    const startedAt = cur?.startedAt ?? now;
    const due = startedAt + min;
    if (due <= now) return this.evict(key, pod);
    this.scheduled.set(key, { uid, startedAt, due });
    this.delayed.addAfter(key, due - now);
  }

  /** upstream addConditionAndDeletePod: DisruptionTarget=True on the pod's status, then a plain delete. */
  private async evict(key: string, cached: Pod): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const uid = cached.metadata?.uid;
    this.ctx.log(`taint-eviction-controller: deleting pod ${key}`);
    this.recorder.event(podRef(namespace, name, uid), 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    const pods = this.ctx.client.resource<Pod>(RESOURCES.pods, namespace);
    try {
      const pod = await pods.get(name);
      if (pod.metadata?.uid !== uid || pod.metadata?.deletionTimestamp) {
        this.scheduled.delete(key);
        return;
      }
      const conditions = pod.status?.conditions ?? [];
      const old = conditions.find((c) => c.type === DISRUPTION_TARGET);
      if (!old || old.status !== 'True' || old.reason !== DELETION_BY_TAINT_MANAGER || old.message !== DELETION_MESSAGE) {
        const cond: PodCondition = {
          type: DISRUPTION_TARGET,
          status: 'True',
          reason: DELETION_BY_TAINT_MANAGER,
          message: DELETION_MESSAGE,
          lastTransitionTime: old?.status === 'True' && old.lastTransitionTime ? old.lastTransitionTime : nowRFC3339(this.ctx.clock.now()),
        };
        const status = { ...pod.status, conditions: [...conditions.filter((c) => c.type !== DISRUPTION_TARGET), cond] };
        await pods.updateStatus({ ...pod, status });
      }
      await pods.delete(name, { preconditions: { uid } });
      this.scheduled.delete(key);
    } catch (e) {
      if (isNotFound(e)) {
        this.scheduled.delete(key);
        return;
      }
      throw e;
    }
  }
}

export const taintEvictionController: ControllerFactory = (ctx) => new TaintEvictionController(ctx);
