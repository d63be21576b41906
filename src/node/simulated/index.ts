// Simulated nodes (the `fake` runtime): Nodes that register, renew their Leases and take their pods
// through the lifecycle table in stages.ts without running anything. One pods informer, one timer
// for all delayed transitions and one heartbeat timer serve every node, so thousands fit in a process.
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, NodeCondition, Pod, Taint } from 'kubernetes-types/core/v1.js';
import { microTimeRFC3339, nowRFC3339 } from '../../api/names.js';
import { Informer, metaNamespaceKey } from '../../client/informer.js';
import { isAlreadyExists, isNotFound, RestClient, type ResourceClient, type ResourceRef } from '../../client/rest.js';
import type { Transport } from '../../client/transport.js';
import { hostIPFor, MAX_SIMULATED_NODE_INDEX, PodIPAllocator, podCIDRFor } from './ipam.js';
import { leaseObject, NODE_LEASE_NAMESPACE, nodeObject, readyConditions, type NodeCapacity } from './objects.js';
import { nextState, podState, POD_STAGES, statusFor, type PodStage, type SimPodState, type StageTimings } from './stages.js';
import { realClock, type Clock } from '../../client/clock.js';
import { Timeline } from './timeline.js';
import { Fifo } from '../../client/fifo.js';

export { ANN_SIMULATE, POD_STAGES, podState, statusFor, type PodStage, type SimPodState } from './stages.js';
export { LABEL_SIMULATED } from './objects.js';

const PODS: ResourceRef = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const NODES: ResourceRef = { group: '', version: 'v1', resource: 'nodes', namespaced: false };
const LEASES: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true };

export interface SimulatedNodesOptions {
  count: number;
  /** node names are `<namePrefix>0` … `<namePrefix><count−1>` (default `sim-node-`) */
  namePrefix?: string;
  /** where this group's host IPs and pod CIDRs start (node i uses range firstIndex + i); give each group in one cluster its own */
  firstIndex?: number;
  capacity?: Partial<NodeCapacity>;
  labels?: Record<string, string>;
  taints?: Taint[];
  /** ContainerCreating → Running (default 0) */
  startupDelayMs?: number;
  /** Running → Succeeded for pods with restartPolicy Never/OnFailure (default 1000) */
  jobDurationMs?: number;
  /** Lease renewal period (default 10) */
  heartbeatSeconds?: number;
  /** how long a container with `timonel.io/simulate: fail` runs before it exits 1 (default 500) */
  failAfterMs?: number;
  /** a terminating pod is removed after this long (default 100) */
  deleteDelayMs?: number;
  /** CrashLoopBackOff restarts after base · 2^(restarts−1) up to max (default 10 s, 300 s, as the kubelet) */
  crashBackoffBaseMs?: number;
  crashBackoffMaxMs?: number;
  /** Ready conditions are re-posted this often (default 300, the kubelet's nodeStatusReportFrequency) */
  nodeStatusReportSeconds?: number;
  /** API writes in flight at once (default 32) */
  concurrency?: number;
  /** the lifecycle table (default POD_STAGES) */
  stages?: readonly PodStage[];
  /**
   * a pods informer of the same process to read from instead of a watch of the nodes' own (e.g. the controller
   * manager's: one parse and one cache per pod change, not two); its owner starts and stops it
   */
  podInformer?: Informer<Pod>;
  clock?: Clock;
  log?: (line: string) => void;
}

export interface SimulatedNodes {
  readonly nodeNames: readonly string[];
  /** pods the nodes currently hold */
  podCount(): number;
  /** Stops heartbeats and pod handling for one node (it goes silent, as a dead kubelet). */
  stopNode(name: string): void;
  /** A node stopped by stopNode comes back: it renews its Lease, posts Ready status and handles its pods again. */
  resumeNode(name: string): Promise<void>;
  /** Stops heartbeats and pod handling of every node; `deleteNodes` also removes the Node objects. */
  stop(opts?: { deleteNodes?: boolean }): Promise<void>;
}


/** Lease renewals of one period are spread over this many ticks of the one heartbeat timer. */
const HEARTBEAT_SLICES = 10;

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Runs at most `max` jobs at once; the rest wait in order (thousands at a time: a heartbeat slice queues one per node). */
export class Limiter {
  private running = 0;
  private readonly waiting = new Fifo<() => void>();
  private readonly idle: (() => void)[] = [];
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
          });
      };
      if (this.running < this.max) start();
      else this.waiting.push(start);
    });
  }

  drained(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }
}

interface SimNode {
  name: string;
  index: number;
  hostIP: string;
  ips: PodIPAllocator;
  live: boolean;
  /** what later writes need of the registered Node: its uid and conditions (a whole Node per node weighs ~10 kB) */
  uid?: string;
  conditions?: NodeCondition[];
}

const remember = (n: SimNode, node: Node): void => {
  n.uid = node.metadata?.uid;
  n.conditions = node.status?.conditions;
};

/** What the simulator tracks of a pod on one of its nodes. */
interface SimPod {
  key: string;
  uid: string;
  node: SimNode;
  /** the state the next transition starts from */
  from?: SimPodState;
  /** a transition written but not yet seen back through the informer */
  writing?: SimPodState | 'Deleted';
  podIP?: string;
}

export async function startSimulatedNodes(transport: Transport, opts: SimulatedNodesOptions): Promise<SimulatedNodes> {
  const sim = new Simulator(transport, opts);
  await sim.start();
  return sim;
}

class Simulator implements SimulatedNodes {
  readonly nodeNames: string[] = [];
  private readonly nodes = new Map<string, SimNode>();
  private readonly pods = new Map<string, SimPod>();
  private readonly rest: RestClient;
  private readonly podClient: ResourceClient<Pod>;
  private readonly nodeClient: ResourceClient<Node>;
  private readonly leaseClient: ResourceClient<Lease>;
  private readonly informer: Informer<Pod>;
  private readonly ownInformer: boolean;
  private readonly timeline: Timeline;
  private readonly writes: Limiter;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly timings: StageTimings;
  private readonly stages: readonly PodStage[];
  private heartbeat?: unknown;
  private heartbeatRounds = 0;
  private stopped = false;

  constructor(
    transport: Transport,
    private readonly opts: SimulatedNodesOptions,
  ) {
    const first = opts.firstIndex ?? 0;
    if (opts.count < 0 || first < 0 || first + opts.count > MAX_SIMULATED_NODE_INDEX)
      throw new Error(`simulated nodes: indexes ${first}..${first + opts.count - 1} are out of range (0..${MAX_SIMULATED_NODE_INDEX - 1})`);
    this.clock = opts.clock ?? realClock;
    this.log = opts.log ?? (() => {});
    this.timings = {
      startupDelayMs: opts.startupDelayMs ?? 0,
      jobDurationMs: opts.jobDurationMs ?? 1000,
      failAfterMs: opts.failAfterMs ?? 500,
      deleteDelayMs: opts.deleteDelayMs ?? 100,
      crashBackoffBaseMs: opts.crashBackoffBaseMs ?? 10_000,
      crashBackoffMaxMs: opts.crashBackoffMaxMs ?? 300_000,
    };
    this.stages = opts.stages ?? POD_STAGES;
    this.rest = new RestClient(transport, { fieldManager: 'timonel-simulated-node' });
    this.podClient = this.rest.resource<Pod>(PODS);
    this.nodeClient = this.rest.resource<Node>(NODES);
    this.leaseClient = this.rest.resource<Lease>(LEASES, NODE_LEASE_NAMESPACE);
    this.writes = new Limiter(opts.concurrency ?? 32);
    this.timeline = new Timeline(this.clock, (key) => this.transition(key));
    const prefix = opts.namePrefix ?? 'sim-node-';
    for (let i = 0; i < opts.count; i++) {
      const index = first + i;
      const name = `${prefix}${i}`;
      this.nodeNames.push(name);
      this.nodes.set(name, { name, index, hostIP: hostIPFor(index), ips: new PodIPAllocator(podCIDRFor(index)), live: true });
    }
    this.ownInformer = !opts.podInformer;
    // one informer for the pods of every node: bound pods only, filtered by node name here
    this.informer =
      opts.podInformer ??
      new Informer<Pod>(this.podClient, {
        fieldSelector: 'spec.nodeName!=',
        log: this.log,
        name: 'simulated-node pods',
        // as upstream's scheduler does with its pod informer: managedFields are much of a pod's bytes and nothing here reads them
        transform: (p) => {
          if (p.metadata) delete p.metadata.managedFields;
        },
      });
  }

  async start(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => this.writes.run(() => this.register(n))));
    // after registration: a shared informer, synced already, tells the new handler of every pod it holds at once
    this.informer.addEventHandler({
      onAdd: (p) => this.observe(p),
      onUpdate: (_old, p) => this.observe(p),
      onDelete: (p) => this.forget(p),
    });
    if (this.ownInformer) this.informer.start();
    await this.informer.waitForSync();
    // one timer; each tick renews one slice of the nodes, so renewals are spread over the period
    const slices = Math.max(1, Math.min(HEARTBEAT_SLICES, this.nodes.size));
    const every = ((this.opts.heartbeatSeconds ?? 10) * 1000) / slices;
    let slice = 0;
    const tick = () => {
      if (this.stopped) return;
      this.renew(slice, slices);
      slice = (slice + 1) % slices;
      this.heartbeat = this.clock.setTimeout(tick, every);
    };
    this.heartbeat = this.clock.setTimeout(tick, every);
  }

  podCount(): number {
    return this.pods.size;
  }

  stopNode(name: string): void {
    const n = this.nodes.get(name);
    if (!n) return;
    n.live = false;
    for (const p of this.pods.values()) if (p.node === n) this.timeline.cancel(p.key);
  }

  async resumeNode(name: string): Promise<void> {
    const n = this.nodes.get(name);
    if (!n || n.live || this.stopped) return;
    n.live = true;
    const now = this.clock.now();
    // as a kubelet does after an outage: the status it computes differs from the stored one, so it posts at once
    await this.writes.run(async () => {
      await this.leaseClient.patch(n.name, 'merge', { spec: { holderIdentity: n.name, renewTime: microTimeRFC3339(now) } });
      const cur = await this.nodeClient.get(n.name);
      remember(n, await this.nodeClient.patch(n.name, 'merge', { status: { conditions: readyConditions(now, cur.status?.conditions) } }, { subresource: 'status' }));
    });
    for (const pod of this.informer.list()) if (pod.spec?.nodeName === name) this.observe(pod);
  }

  async stop(opts: { deleteNodes?: boolean } = {}): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      if (this.heartbeat !== undefined) this.clock.clearTimeout(this.heartbeat);
      this.timeline.stop();
      if (this.ownInformer) await this.informer.stop();
    }
    await this.writes.drained();
    if (opts.deleteNodes) {
      await Promise.all(
        this.nodeNames.map((name) =>
          this.writes.run(async () => {
            for (const del of [() => this.leaseClient.delete(name), () => this.nodeClient.delete(name)])
              try {
                await del();
              } catch (e) {
                if (!isNotFound(e)) this.log(`simulated node ${name}: delete: ${errText(e)}`);
              }
          }),
        ),
      );
    }
  }

  // ---- nodes ----

  private async register(n: SimNode): Promise<void> {
    const o = this.opts;
    const capacity: NodeCapacity = { cpu: '4', memory: '16Gi', pods: 110, ...(o.capacity ?? {}) } as NodeCapacity;
    const now = this.clock.now();
    const want = nodeObject({ name: n.name, hostIP: n.hostIP, podCIDR: podCIDRFor(n.index), capacity, labels: o.labels ?? {}, taints: o.taints ?? [] }, now);
    try {
      remember(n, await this.nodeClient.create(want));
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // a node of ours from an earlier run: take it over and post fresh status
      const cur = await this.nodeClient.get(n.name);
      remember(n, await this.nodeClient.updateStatus({ ...cur, status: { ...want.status, conditions: readyConditions(now, cur.status?.conditions) } }));
    }
    const lease = leaseObject(n.name, n.uid, now);
    try {
      await this.leaseClient.create(lease);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      await this.leaseClient.patch(n.name, 'merge', { spec: lease.spec });
    }
  }

  /** Renews the leases of slice `slice` of `slices` (and re-posts their Ready conditions when due). */
  private renew(slice: number, slices: number): void {
    const now = this.clock.now();
    const renewTime = microTimeRFC3339(now);
    if (slice === 0) this.heartbeatRounds++;
    const postStatus = (this.heartbeatRounds * (this.opts.heartbeatSeconds ?? 10)) % (this.opts.nodeStatusReportSeconds ?? 300) < (this.opts.heartbeatSeconds ?? 10);
    let i = -1;
    for (const n of this.nodes.values()) {
      i++;
      if (i % slices !== slice || !n.live) continue;
      void this.writes.run(async () => {
        if (this.stopped || !n.live) return;
        try {
          await this.leaseClient.patchOnly(n.name, 'merge', { spec: { holderIdentity: n.name, renewTime } });
        } catch (e) {
          if (isNotFound(e)) await this.leaseClient.create(leaseObject(n.name, n.uid, now)).catch(() => {});
          else this.log(`simulated node ${n.name}: renewing its lease: ${errText(e)}`);
        }
        if (!postStatus) return;
        try {
          const conditions = readyConditions(now, n.conditions);
          remember(n, await this.nodeClient.patch(n.name, 'merge', { status: { conditions } }, { subresource: 'status' }));
        } catch (e) {
          this.log(`simulated node ${n.name}: posting its status: ${errText(e)}`);
        }
      });
    }
  }

  // ---- pods ----

  /** A pod changed: if it is on one of our nodes, schedule its next stage. */
  private observe(pod: Pod): void {
    if (this.stopped) return;
    const node = this.nodes.get(pod.spec?.nodeName ?? '');
    if (!node) return;
    const key = metaNamespaceKey(pod);
    const uid = pod.metadata?.uid ?? '';
    let p = this.pods.get(key);
    if (p && p.uid !== uid) {
      this.release(p);
      p = undefined;
    }
    if (!p) {
      p = { key, uid, node };
      this.pods.set(key, p);
      const ip = pod.status?.podIP;
      if (ip && node.ips.reserve(ip)) p.podIP = ip;
    }
    if (!node.live) return;
    const state = podState(pod);
    if (p.writing !== undefined) {
      // our own write is not back yet: this event is older than what we wrote
      if (state !== p.writing && state !== 'Terminating') return;
      p.writing = undefined;
    }
    if (state === 'Succeeded' || state === 'Failed') this.releaseIP(p);
    if (p.from === state && this.timeline.has(key)) return;
    const next = nextState(pod, state, this.timings, this.stages);
    p.from = state;
    if (!next) {
      this.timeline.cancel(key);
      return;
    }
    this.timeline.schedule(key, this.clock.now() + next.delayMs);
  }

  private forget(pod: Pod): void {
    const key = metaNamespaceKey(pod);
    const p = this.pods.get(key);
    if (!p || p.uid !== (pod.metadata?.uid ?? '')) return;
    this.release(p);
  }

  private release(p: SimPod): void {
    this.timeline.cancel(p.key);
    this.releaseIP(p);
    this.pods.delete(p.key);
  }

  private releaseIP(p: SimPod): void {
    if (p.podIP) p.node.ips.release(p.podIP);
    p.podIP = undefined;
  }

  /** The timer of a pod fired: write its next state (from what the informer shows now). */
  private transition(key: string): void {
    const p = this.pods.get(key);
    const pod = this.informer.get(key);
    if (!p || !pod || this.stopped || !p.node.live || pod.metadata?.uid !== p.uid) return;
    const state = podState(pod);
    if (state !== p.from) return this.observe(pod);
    const next = nextState(pod, state, this.timings, this.stages);
    if (!next) return;
    p.writing = next.to;
    void this.writes.run(() => this.write(p, pod, next.to)).catch((e) => {
      p.writing = undefined;
      this.log(`simulated node ${p.node.name}: pod ${key} → ${next.to}: ${errText(e)}`);
      // try again later, from whatever the pod looks like then
      if (!this.stopped) this.timeline.schedule(key, this.clock.now() + 1000);
    });
  }

  private async write(p: SimPod, pod: Pod, to: SimPodState | 'Deleted'): Promise<void> {
    const name = pod.metadata!.name!;
    const pods = this.podClient.namespace(pod.metadata?.namespace);
    if (to === 'Deleted') {
      try {
        await pods.delete(name, { gracePeriodSeconds: 0, preconditions: { uid: p.uid } });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    if ((to === 'Running' || to === 'CrashLoopBackOff') && !p.podIP) {
      p.podIP = p.node.ips.allocate();
      if (!p.podIP) throw new Error(`node ${p.node.name} has no pod IP left`);
    }
    const status = statusFor(pod, to, { nodeName: p.node.name, hostIP: p.node.hostIP, podIP: p.podIP, now: nowRFC3339(this.clock.now()) });
    try {
      await pods.patchOnly(name, 'merge', { status }, { subresource: 'status' });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}
