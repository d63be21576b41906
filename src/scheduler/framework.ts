// The scheduling framework's vocabulary: plugin extension points, statuses, per-cycle state, the
// snapshot plugins read, and the "0/N nodes are available: …" message built from filter results.
import type { Namespace, PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';

export const MAX_NODE_SCORE = 100;

/**
 * Unschedulable: preemption might help; UnschedulableAndUnresolvable: it would not;
 * Skip (PreFilter/PreScore): the plugin has nothing to say about this pod.
 */
export type Code = 'Success' | 'Error' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Skip';

export interface Status {
  readonly code: Code;
  readonly reasons: readonly string[];
  /** the plugin that returned it (set by the framework) */
  plugin?: string;
}

export const status = (code: Code, ...reasons: string[]): Status => ({ code, reasons });
export const unschedulable = (...reasons: string[]): Status => status('Unschedulable', ...reasons);
export const unresolvable = (...reasons: string[]): Status => status('UnschedulableAndUnresolvable', ...reasons);
export const errorStatus = (message: string): Status => status('Error', message);
export const SKIP: Status = Object.freeze({ code: 'Skip', reasons: [] }) as Status;
export const isRejected = (s: Status | undefined): boolean => s?.code === 'Unschedulable' || s?.code === 'UnschedulableAndUnresolvable';

/** Data plugins keep between extension points of one scheduling cycle. */
export class CycleState {
  // created on first use: most pods' cycles store nothing
  private data?: Map<string, unknown>;
  /** PreFilter may narrow the nodes worth filtering (NodeAffinity on metadata.name); undefined = all */
  nodeNames?: Set<string>;
  /** who narrowed them, for the message about the other nodes */
  narrowedBy: readonly string[] = EMPTY_NAMES;

  read<T>(key: string): T | undefined {
    return this.data?.get(key) as T | undefined;
  }
  write(key: string, v: unknown): void {
    (this.data ??= new Map()).set(key, v);
  }
  /** Keeps only `names` (intersected with an earlier narrowing). */
  restrictNodes(plugin: string, names: Iterable<string>): void {
    const next = new Set(names);
    if (this.nodeNames) for (const n of next) if (!this.nodeNames.has(n)) next.delete(n);
    this.nodeNames = next;
    this.narrowedBy = [...this.narrowedBy, plugin];
  }
}

const EMPTY_NAMES: readonly string[] = [];

/** Cluster objects besides nodes and pods that plugins read (from informer caches). */
export interface Listers {
  namespace(name: string): Namespace | undefined;
  persistentVolumeClaim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  persistentVolume(name: string): PersistentVolume | undefined;
  persistentVolumes(): PersistentVolume[];
  storageClass(name: string): StorageClass | undefined;
}

export const emptyListers: Listers = {
  namespace: () => undefined,
  persistentVolumeClaim: () => undefined,
  persistentVolume: () => undefined,
  persistentVolumes: () => [],
  storageClass: () => undefined,
};

/** The cluster as one scheduling cycle sees it. */
export interface Snapshot {
  /** nodes that exist (have a Node object), in a stable order */
  nodes(): readonly NodeInfo[];
  get(name: string): NodeInfo | undefined;
  /** nodes with at least one pod that has pod (anti-)affinity terms */
  nodesWithPodAffinity(): readonly NodeInfo[];
  /** nodes with at least one pod that has required anti-affinity terms */
  nodesWithRequiredAntiAffinity(): readonly NodeInfo[];
  readonly listers: Listers;
}

export interface Plugin {
  readonly name: string;
}

export interface PreFilterPlugin extends Plugin {
  /** Computes what Filter needs; a rejection here rejects every node; Skip disables this plugin's Filter. */
  preFilter(state: CycleState, pod: PodInfo, snapshot: Snapshot): Status | undefined;
}

export interface FilterPlugin extends Plugin {
  /** undefined = the node passes */
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | undefined;
}

export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], snapshot: Snapshot): Status | undefined;
}

export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** Optional: `scores[i] = score(state, pod, nodes[i])` for every node, in one call (no call per node). */
  scoreNodes?(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], scores: number[]): void;
  /** Brings raw scores (`scores[i]` is `nodes[i]`'s) into [0, MAX_NODE_SCORE]. */
  normalizeScores?(state: CycleState, pod: PodInfo, scores: number[], nodes: readonly NodeInfo[]): void;
}

/** Waits (outside the scheduling cycle) for what must happen before the pod is bound. */
export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: PodInfo, nodeName: string): Promise<Status | undefined>;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: PodInfo, node: NodeInfo): Status | undefined;
  unreserve(state: CycleState, pod: PodInfo, nodeName: string): void;
}

export const isPreFilter = (p: Plugin): p is PreFilterPlugin => typeof (p as PreFilterPlugin).preFilter === 'function';
export const isFilter = (p: Plugin): p is FilterPlugin => typeof (p as FilterPlugin).filter === 'function';
export const isPreScore = (p: Plugin): p is PreScorePlugin => typeof (p as PreScorePlugin).preScore === 'function';
export const isScore = (p: Plugin): p is ScorePlugin => typeof (p as ScorePlugin).score === 'function';
export const isReserve = (p: Plugin): p is ReservePlugin => typeof (p as ReservePlugin).reserve === 'function';
export const isPreBind = (p: Plugin): p is PreBindPlugin => typeof (p as PreBindPlugin).preBind === 'function';

/** Scores scaled to [0, 100] by the highest; `reverse` makes the highest raw score the worst. */
export function defaultNormalizeScore(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(MAX_NODE_SCORE);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.trunc((MAX_NODE_SCORE * scores[i]) / max);
    scores[i] = reverse ? MAX_NODE_SCORE - s : s;
  }
}

export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/** Why a pod fits nowhere: upstream's FitError with its diagnosis. */
export class FitError extends Error {
  constructor(
    readonly numAllNodes: number,
    /** per node name, the first rejection */
    readonly nodeStatuses: Map<string, Status>,
    /** set when PreFilter rejected the pod for every node */
    readonly preFilterStatus?: Status,
    readonly postFilterMessage?: string,
  ) {
    super(fitErrorMessage(numAllNodes, nodeStatuses, preFilterStatus, postFilterMessage));
    this.name = 'FitError';
  }

  /** Plugins that rejected the pod somewhere: an event on what they look at may make it schedulable. */
  unschedulablePlugins(): Set<string> {
    const out = new Set<string>();
    if (this.preFilterStatus?.plugin) out.add(this.preFilterStatus.plugin);
    for (const s of this.nodeStatuses.values()) if (s.plugin) out.add(s.plugin);
    return out;
  }
}

function histogram(reasons: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

function* allReasons(statuses: Map<string, Status>): Generator<string> {
  for (const s of statuses.values()) yield* s.reasons;
}

export function fitErrorMessage(numAllNodes: number, nodeStatuses: Map<string, Status>, preFilter?: Status, postFilter?: string): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (preFilter && preFilter.reasons.length) msg += ` ${preFilter.reasons.join(', ')}.`;
  else if (!preFilter) {
    const h = histogram(allReasons(nodeStatuses));
    if (h) msg += ` ${h}.`;
  }
  if (postFilter) msg += ` ${postFilter}.`;
  return msg;
}

/**
 * What upstream's default preemption says when it finds nothing to preempt: nodes rejected for
 * reasons preemption cannot change are "not helpful", the others had no lower-priority victims
 * (this scheduler does not preempt, so none ever qualify).
 */
export function preemptionMessage(podPreemptionPolicy: string | undefined, numAllNodes: number, nodeStatuses: Map<string, Status>, preFilter?: Status): string {
  if (podPreemptionPolicy === 'Never') return 'preemption: not eligible due to preemptionPolicy=Never';
  const reasons: string[] = [];
  if (preFilter) {
    const r = preFilter.code === 'UnschedulableAndUnresolvable' ? 'Preemption is not helpful for scheduling' : 'No preemption victims found for incoming pod';
    for (let i = 0; i < numAllNodes; i++) reasons.push(r);
  } else {
    for (const s of nodeStatuses.values())
      reasons.push(s.code === 'UnschedulableAndUnresolvable' ? 'Preemption is not helpful for scheduling' : 'No preemption victims found for incoming pod');
  }
  return `preemption: 0/${numAllNodes} nodes are available: ${histogram(reasons)}`;
}
