// The node lifecycle controller (upstream pkg/controller/nodelifecycle): watches Nodes and their
// Leases in kube-node-lease; a node whose kubelet has posted neither a Lease renewal nor a Ready
// heartbeat for the grace period gets its conditions set to Unknown, the pods on it marked not
// ready, and the unreachable taints (not-ready when the kubelet reports Ready=False). Condition
// taints are removed when the kubelet reports Ready again. The NoExecute taints drive the taint
// manager (taint-eviction.ts), which this controller runs too.
//
// Health is judged by when this controller saw a heartbeat change (its clock), not by the timestamps
// kubelets write, as upstream does, so clock skew between machines does not matter. Instead of
// polling every node-monitor-period, each node is requeued for the moment its grace period runs out.
// A heartbeat (a Lease renewal, or a node update that only moves lastHeartbeatTime) while that
// requeue is pending only records the time: the pending sync looks at it and requeues again.
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, NodeCondition, Pod, PodCondition, Taint } from 'kubernetes-types/core/v1.js';
import { nowRFC3339 } from '../../api/names.js';
import type { EventRecorder } from '../../client/events.js';
import { type Informer, metaNamespaceKey } from '../../client/informer.js';
import { isNotFound } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import { ClockDelays } from '../delayed.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import { POD_NODE_INDEX, podsByNode, TaintEvictionController } from './taint-eviction.js';
import {
  isReadyNoExecuteTaint,
  managedNoScheduleTaints,
  nodeCondition,
  sameTaint,
  swapTaints,
  wantedNoExecuteTaint,
  wantedNoScheduleTaints,
} from './taints.js';

export const NODE_CONTROLLER_COMPONENT = 'node-controller';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** Nodes with this label are left out of the disruption count. */
export const LABEL_EXCLUDE_DISRUPTION = 'node.kubernetes.io/exclude-disruption';

/** Conditions set to Unknown when the kubelet goes silent (NetworkUnavailable belongs to the network plugin). */
const MONITORED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export interface NodeLifecycleOptions {
  /** how long a node may post no heartbeat before it is Unknown (upstream --node-monitor-grace-period, 50 s since 1.32) */
  nodeMonitorGracePeriodSeconds?: number;
  /** the same for a node that never posted a Ready condition (upstream --node-startup-grace-period, 60 s) */
  nodeStartupGracePeriodSeconds?: number;
  workers?: number;
  /** run the NoExecute taint manager too (default true) */
  taintEviction?: boolean;
}

interface NodeHealth {
  /** when (clock ms) a heartbeat last changed */
  probeTimestamp: number;
  readyTransitionTimestamp: number;
  /** the Ready condition as last seen (heartbeat and transition times) */
  ready?: { lastHeartbeatTime?: string; lastTransitionTime?: string };
  leaseRenewTime?: number;
}

const nodeRef = (node: Node): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: node.metadata?.name, uid: node.metadata?.uid } });
const podRef = (pod: Pod): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid } });
const leaseTime = (l: Lease | undefined) => {
  const t = l?.spec?.renewTime ? Date.parse(l.spec.renewTime) : NaN;
  return Number.isNaN(t) ? undefined : t;
};
const NODE_KEY = 'node/';
const POD_KEY = 'pod/';

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  readonly queue = new WorkQueue({ name: 'node-lifecycle' });
  readonly taintEviction?: TaintEvictionController;
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly delayed: ClockDelays;
  private readonly health = new Map<string, NodeHealth>();
  /** nodes whose pods still have to be marked not ready (an earlier attempt failed) */
  private readonly podsToMark = new Set<string>();
  private readonly graceMs: number;
  private readonly startupGraceMs: number;
  private fullDisruption = false;
  /** nodes in the disruption count, and those of them not Ready (from the cache) */
  private readonly counted = new Set<string>();
  private readonly notReady = new Set<string>();
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: NodeLifecycleOptions = {},
  ) {
    this.graceMs = (opts.nodeMonitorGracePeriodSeconds ?? 50) * 1000;
    this.startupGraceMs = (opts.nodeStartupGracePeriodSeconds ?? 60) * 1000;
    this.recorder = ctx.recorder(NODE_CONTROLLER_COMPONENT);
    this.delayed = new ClockDelays(this.queue, ctx.clock);
    this.nodes = ctx.informers.informer<Node>(RESOURCES.nodes);
    this.leases = ctx.informers.informer<Lease>(RESOURCES.leases);
    this.pods = podsByNode(ctx);
    this.nodes.addEventHandler({
      onAdd: (n) => this.onNode(n, false),
      onUpdate: (old, n) => this.onNode(n, false, old),
      onDelete: (n) => this.onNode(n, true),
    });
    const onLease = (l: Lease) => {
      const name = l.metadata?.name;
      if (l.metadata?.namespace !== NODE_LEASE_NAMESPACE || !name) return;
      const h = this.health.get(name);
      if (h && this.syncPending(name)) this.observeLease(h, l);
      else this.enqueueNode(name);
    };
    this.leases.addEventHandler({ onAdd: onLease, onUpdate: (_old, l) => onLease(l) });
    this.pods.addEventHandler({
      onAdd: (p) => {
        if (p.spec?.nodeName) this.queue.add(POD_KEY + metaNamespaceKey(p));
      },
      onUpdate: (old, p) => {
        if (p.spec?.nodeName && p.spec.nodeName !== old.spec?.nodeName) this.queue.add(POD_KEY + metaNamespaceKey(p));
      },
    });
    if (opts.taintEviction ?? true) this.taintEviction = new TaintEvictionController(ctx, { workers: opts.workers });
  }

  run(): void {
    this.taintEviction?.run();
    this.workers ??= runWorkers(this.queue, this.opts.workers ?? 8, (key) => this.sync(key), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.delayed.stop();
    this.queue.shutDown();
    await this.workers;
    await this.taintEviction?.stop();
  }

  /** Keeps the disruption counts (nodes counted, of which not Ready) and queues the node unless only its heartbeat moved. */
  private onNode(n: Node, deleted: boolean, old?: Node): void {
    const name = n.metadata?.name;
    if (!name) return;
    if (deleted || n.metadata?.labels?.[LABEL_EXCLUDE_DISRUPTION] !== undefined) {
      this.counted.delete(name);
      this.notReady.delete(name);
    } else {
      this.counted.add(name);
      if (nodeCondition(n, 'Ready')?.status === 'True') this.notReady.delete(name);
      else this.notReady.add(name);
    }
    const h = this.health.get(name);
    if (old && h && !deleted && onlyHeartbeatMoved(old, n) && this.syncPending(name)) this.observeHeartbeat(h, n);
    else this.enqueueNode(name);
  }

  /** Whether a sync of the node is already due (its grace period timer), which will look at what changed. */
  private syncPending(name: string): boolean {
    return this.delayed.dueAt(NODE_KEY + name) !== undefined;
  }

  /** Records a Ready heartbeat: a new lastHeartbeatTime refreshes the probe time. */
  private observeHeartbeat(h: NodeHealth, node: Node, now = this.ctx.clock.now()): void {
    const ready = nodeCondition(node, 'Ready');
    if (ready) {
      if (h.ready && h.ready.lastHeartbeatTime === ready.lastHeartbeatTime) return;
      if (!h.ready || h.ready.lastTransitionTime !== ready.lastTransitionTime) h.readyTransitionTimestamp = now;
      h.probeTimestamp = now;
      h.ready = { lastHeartbeatTime: ready.lastHeartbeatTime, lastTransitionTime: ready.lastTransitionTime };
    } else if (h.ready) {
      h.probeTimestamp = now;
      h.readyTransitionTimestamp = now;
      h.ready = undefined;
    }
  }

  /** Records a Lease renewal newer than the last one seen. */
  private observeLease(h: NodeHealth, lease: Lease | undefined, now = this.ctx.clock.now()): void {
    const renewed = leaseTime(lease);
    if (renewed !== undefined && (h.leaseRenewTime === undefined || h.leaseRenewTime < renewed)) {
      h.leaseRenewTime = renewed;
      h.probeTimestamp = now;
    }
  }

  private enqueueNode(name: string | undefined): void {
    if (name) this.queue.add(NODE_KEY + name);
  }

  async sync(key: string): Promise<void> {
    if (key.startsWith(NODE_KEY)) return this.syncNode(key.slice(NODE_KEY.length));
    if (key.startsWith(POD_KEY)) return this.syncPod(key.slice(POD_KEY.length));
  }

  /**
   * upstream handleDisruption, for one zone-less cluster: when no node is Ready, the control plane is
   * more likely cut off than every node dead, so no node is NoExecute-tainted; when some node is Ready
   * again, every node gets a fresh grace period.
   */
  private updateDisruption(): void {
    const all = this.counted.size > 0 && this.notReady.size === this.counted.size;
    if (all === this.fullDisruption) return;
    this.fullDisruption = all;
    if (all) this.ctx.log('node-lifecycle: no node is Ready; entering master disruption mode (no NoExecute taints)');
    else {
      this.ctx.log('node-lifecycle: some nodes are Ready; exiting master disruption mode');
      const now = this.ctx.clock.now();
      for (const h of this.health.values()) {
        h.probeTimestamp = now;
        h.readyTransitionTimestamp = now;
      }
    }
    for (const name of this.counted) this.enqueueNode(name);
  }

  private async syncNode(name: string): Promise<void> {
    const cached = this.nodes.get(name);
    if (!cached) {
      this.health.delete(name);
      this.podsToMark.delete(name);
      this.updateDisruption();
      return;
    }
    this.updateDisruption();
    const observedReady = nodeCondition(cached, 'Ready')?.status;
    const { node, gracePeriodMs } = await this.tryUpdateNodeHealth(cached);
    const currentReady = nodeCondition(node, 'Ready');

    if (currentReady) {
      if (currentReady.status !== 'True' && observedReady === 'True') {
        this.recorder.event(nodeRef(node), 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
        this.podsToMark.add(name);
      }
      if (currentReady.status !== 'True' && this.podsToMark.has(name)) {
        await this.markPodsNotReady(name, this.pods.byIndex(POD_NODE_INDEX, name));
      }
      if (currentReady.status === 'True') this.podsToMark.delete(name);
    }
    await this.reconcileTaints(node, currentReady);

    const h = this.health.get(name);
    if (h) {
      const left = h.probeTimestamp + gracePeriodMs - this.ctx.clock.now();
      if (left >= 0) this.delayed.addAfter(NODE_KEY + name, left + 1);
    }
  }

  /**
   * upstream tryUpdateNodeHealth: refreshes the probe time when the Ready heartbeat or the Lease
   * moved; when neither did for the grace period, posts the monitored conditions as Unknown.
   */
  private async tryUpdateNodeHealth(cached: Node): Promise<{ node: Node; gracePeriodMs: number }> {
    const name = cached.metadata!.name!;
    const now = this.ctx.clock.now();
    const ready = nodeCondition(cached, 'Ready');
    const gracePeriodMs = ready ? this.graceMs : this.startupGraceMs;
    let h = this.health.get(name);
    if (!h) {
      this.recorder.event(nodeRef(cached), 'Normal', 'RegisteredNode', `Node ${name} event: Registered Node ${name} in Controller`);
      // a node never seen: it gets a whole grace period from now (from its creation when it never posted status)
      const created = cached.metadata?.creationTimestamp ? Date.parse(cached.metadata.creationTimestamp) : NaN;
      const start = !ready && !Number.isNaN(created) ? Math.min(now, created) : now;
      h = { probeTimestamp: start, readyTransitionTimestamp: start, ready: ready ? { lastHeartbeatTime: ready.lastHeartbeatTime, lastTransitionTime: ready.lastTransitionTime } : undefined };
      this.health.set(name, h);
    } else {
      this.observeHeartbeat(h, cached, now);
    }
    this.observeLease(h, this.leases.getByName(NODE_LEASE_NAMESPACE, name), now);
    if (!(now > h.probeTimestamp + gracePeriodMs)) return { node: cached, gracePeriodMs };

    const stamp = nowRFC3339(now);
    const conditions: NodeCondition[] = (cached.status?.conditions ?? []).map((c) =>
      MONITORED_CONDITIONS.includes(c.type) && c.status !== 'Unknown'
        ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: stamp }
        : c,
    );
    for (const type of MONITORED_CONDITIONS) {
      if (conditions.some((c) => c.type === type)) continue;
      conditions.push({
        type,
        status: 'Unknown',
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
        lastHeartbeatTime: cached.metadata?.creationTimestamp,
        lastTransitionTime: stamp,
      });
    }
    // shallow copies: the cached node is shared with other informer handlers and is never changed here
    const node: Node = { ...cached, status: { ...cached.status, conditions } };
    if (JSON.stringify(nodeCondition(node, 'Ready')) === JSON.stringify(ready)) return { node: cached, gracePeriodMs };
    const updated = await this.ctx.client.resource<Node>(RESOURCES.nodes).updateStatus(node);
    const r = nodeCondition(updated, 'Ready');
    h.ready = r ? { lastHeartbeatTime: r.lastHeartbeatTime, lastTransitionTime: r.lastTransitionTime } : undefined;
    h.readyTransitionTimestamp = now;
    return { node: updated, gracePeriodMs };
  }

  /** NoSchedule taints from the conditions (upstream doNoScheduleTaintingPass) and the Ready NoExecute taint. */
  private async reconcileTaints(node: Node, ready: NodeCondition | undefined): Promise<void> {
    const stamp = nowRFC3339(this.ctx.clock.now());
    const managed = managedNoScheduleTaints(node);
    let taints: Taint[] | undefined = swapTaints(node.spec?.taints, wantedNoScheduleTaints(node), (t) => managed.some((m) => sameTaint(m, t)), stamp);
    if (ready) {
      const want = this.fullDisruption ? undefined : wantedNoExecuteTaint(ready);
      taints = swapTaints(taints ?? node.spec?.taints, want ? [want] : [], isReadyNoExecuteTaint, stamp) ?? taints;
    }
    if (!taints) return;
    await this.ctx.client
      .resource<Node>(RESOURCES.nodes)
      .patch(node.metadata!.name!, 'merge', { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints: taints.length ? taints : null } });
  }

  /** upstream MarkPodsNotReady: the Ready condition of each pod on the node goes False. */
  private async markPodsNotReady(nodeName: string, pods: Pod[]): Promise<void> {
    const errs: string[] = [];
    for (const pod of pods) {
      if (pod.spec?.nodeName !== nodeName) continue;
      try {
        await this.markPodNotReady(pod);
      } catch (e) {
        errs.push(`${metaNamespaceKey(pod)}: ${(e as Error).message}`);
      }
    }
    if (errs.length) throw new Error(`unable to mark all pods NotReady on node ${nodeName}: ${errs.join('; ')}`);
    this.podsToMark.delete(nodeName);
  }

  private async markPodNotReady(pod: Pod): Promise<void> {
    const cond = pod.status?.conditions?.find((c) => c.type === 'Ready');
    if (!cond || cond.status === 'False') return;
    const next: PodCondition = { ...cond, status: 'False', lastTransitionTime: nowRFC3339(this.ctx.clock.now()) };
    const status = { ...pod.status, conditions: pod.status!.conditions!.map((c) => (c.type === 'Ready' ? next : c)) };
    try {
      await this.ctx.client.resource<Pod>(RESOURCES.pods, pod.metadata?.namespace).updateStatus({ ...pod, status });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    this.recorder.event(podRef(pod), 'Warning', 'NodeNotReady', 'Node is not ready');
  }

  /** A pod newly bound to a node that is not Ready is marked not ready too (upstream processPod). */
  private async syncPod(key: string): Promise<void> {
    const pod = this.pods.get(key);
    const nodeName = pod?.spec?.nodeName;
    if (!pod || !nodeName || !this.health.has(nodeName)) return;
    const ready = nodeCondition(this.nodes.get(nodeName), 'Ready');
    if (ready && ready.status !== 'True') await this.markPodNotReady(pod);
  }
}

/**
 * Whether a node update changed nothing this controller acts on but heartbeat times: the same
 * conditions (type, status, reason, transition), taints, unschedulable and disruption exclusion.
 */
export function onlyHeartbeatMoved(old: Node, n: Node): boolean {
  if (old.spec?.unschedulable !== n.spec?.unschedulable) return false;
  if ((old.metadata?.labels?.[LABEL_EXCLUDE_DISRUPTION] === undefined) !== (n.metadata?.labels?.[LABEL_EXCLUDE_DISRUPTION] === undefined)) return false;
  const oc = old.status?.conditions ?? [];
  const nc = n.status?.conditions ?? [];
  if (oc.length !== nc.length) return false;
  for (let i = 0; i < oc.length; i++) {
    const a = oc[i];
    const b = nc[i];
    if (a.type !== b.type || a.status !== b.status || a.reason !== b.reason || a.lastTransitionTime !== b.lastTransitionTime) return false;
  }
  const ot = old.spec?.taints ?? [];
  const nt = n.spec?.taints ?? [];
  if (ot.length !== nt.length) return false;
  for (let i = 0; i < ot.length; i++) {
    const a = ot[i];
    const b = nt[i];
    if (a.key !== b.key || a.value !== b.value || a.effect !== b.effect || a.timeAdded !== b.timeAdded) return false;
  }
  return true;
}

export function nodeLifecycleControllerWith(opts: NodeLifecycleOptions = {}): ControllerFactory {
  return (ctx) => new NodeLifecycleController(ctx, opts);
}

export const nodeLifecycleController: ControllerFactory = nodeLifecycleControllerWith();
