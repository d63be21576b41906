// One scheduling cycle: PreFilter, Filter over a sample of the nodes (upstream's adaptive
// percentageOfNodesToScore, starting where the last cycle stopped), PreScore, Score with weights,
// and the best node (ties broken at random). Reserve/PreBind run around the binding.
import {
  CycleState,
  FitError,
  isFilter,
  isPreBind,
  isPreFilter,
  isPreScore,
  isRejected,
  isReserve,
  isScore,
  NO_NODES_AVAILABLE,
  preemptionMessage,
  unresolvable,
  type FilterPlugin,
  type PreBindPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ReservePlugin,
  type ScorePlugin,
  type Snapshot,
  type Status,
} from './framework.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';
import type { ProfilePlugin } from './plugins/index.js';

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/** How many feasible nodes to look for before scoring (upstream's numFeasibleNodesToFind). */
export function numFeasibleNodesToFind(numAllNodes: number, percentageOfNodesToScore = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let percentage = percentageOfNodesToScore;
  if (percentage <= 0) percentage = Math.max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND, 50 - Math.trunc(numAllNodes / 125));
  if (percentage >= 100) return numAllNodes;
  const n = Math.trunc((numAllNodes * percentage) / 100);
  return Math.max(n, MIN_FEASIBLE_NODES_TO_FIND);
}

/** "no nodes available to schedule pods" (the cluster has no nodes at all). */
export class NoNodesAvailableError extends Error {
  constructor() {
    super(NO_NODES_AVAILABLE);
    this.name = 'NoNodesAvailableError';
  }
}

export interface ScheduleResult {
  node: NodeInfo;
  state: CycleState;
  evaluatedNodes: number;
  feasibleNodes: number;
}

export interface FrameworkOptions {
  /** 0 (default) = adaptive */
  percentageOfNodesToScore?: number;
  /** random numbers for tie breaks (tests make them predictable) */
  random?: () => number;
}

interface WeightedScore {
  plugin: ScorePlugin;
  weight: number;
}

const withPlugin = (s: Status, plugin: string): Status => ({ code: s.code, reasons: s.reasons, plugin });

export class Framework {
  readonly preFilters: PreFilterPlugin[];
  readonly filters: FilterPlugin[];
  readonly preScores: PreScorePlugin[];
  readonly scores: WeightedScore[];
  readonly reserves: ReservePlugin[];
  readonly preBinds: PreBindPlugin[];
  private nextStartNodeIndex = 0;
  private readonly random: () => number;

  constructor(
    readonly plugins: ProfilePlugin[],
    private readonly opts: FrameworkOptions = {},
  ) {
    const list = plugins.map((p) => p.plugin);
    this.preFilters = list.filter(isPreFilter);
    this.filters = list.filter(isFilter);
    this.preScores = list.filter(isPreScore);
    this.scores = plugins.filter((p) => isScore(p.plugin) && p.weight > 0).map((p) => ({ plugin: p.plugin as ScorePlugin, weight: p.weight }));
    this.reserves = list.filter(isReserve);
    this.preBinds = list.filter(isPreBind);
    this.random = opts.random ?? Math.random;
  }

  /** Picks a node for the pod; throws FitError when none fits, NoNodesAvailableError without nodes. */
  schedulePod(pod: PodInfo, snapshot: Snapshot): ScheduleResult {
    const all = snapshot.nodes();
    if (all.length === 0) throw new NoNodesAvailableError();
    const state = new CycleState();
    for (const p of this.preFilters) {
      const s = p.preFilter(state, pod, snapshot);
      if (!s || s.code === 'Success') continue;
      if (s.code === 'Skip') {
        state.skipFilter.add(p.name);
        continue;
      }
      if (s.code === 'Error') throw new Error(`running PreFilter plugin "${p.name}": ${s.reasons.join(', ')}`);
      const st = withPlugin(s, p.name);
      throw new FitError(all.length, new Map(), st, preemptionMessage(pod.pod.spec?.preemptionPolicy, all.length, new Map(), st));
    }

    const statuses = new Map<string, Status>();
    let candidates: readonly NodeInfo[] = all;
    let narrowed = false;
    if (state.nodeNames) {
      narrowed = true;
      const keep: NodeInfo[] = [];
      for (const name of state.nodeNames) {
        const ni = snapshot.get(name);
        if (ni?.node) keep.push(ni);
      }
      candidates = keep;
    }

    const filters = state.skipFilter.size ? this.filters.filter((f) => !state.skipFilter.has(f.name)) : this.filters;
    const want = narrowed ? candidates.length : numFeasibleNodesToFind(all.length, this.opts.percentageOfNodesToScore);
    const feasible: NodeInfo[] = [];
    const n = candidates.length;
    const start = narrowed || n === 0 ? 0 : this.nextStartNodeIndex % n;
    let processed = 0;
    for (let i = 0; i < n && feasible.length < want; i++) {
      const ni = candidates[(start + i) % n];
      processed++;
      const s = runFilters(filters, state, pod, ni);
      if (s) statuses.set(ni.name, s);
      else feasible.push(ni);
    }
    if (!narrowed) this.nextStartNodeIndex = (start + processed) % n;

    if (feasible.length === 0) {
      if (narrowed) {
        const absent = withPlugin(unresolvable(`node(s) didn't satisfy plugin(s) [${[...new Set(state.narrowedBy)].sort().join(' ')}]`), state.narrowedBy[0]);
        for (const ni of all) if (!statuses.has(ni.name)) statuses.set(ni.name, absent);
      }
      throw new FitError(all.length, statuses, undefined, preemptionMessage(pod.pod.spec?.preemptionPolicy, all.length, statuses));
    }
    if (feasible.length === 1) return { node: feasible[0], state, evaluatedNodes: processed, feasibleNodes: 1 };

    const totals = this.prioritize(state, pod, feasible, snapshot);
    return { node: feasible[this.selectHost(totals)], state, evaluatedNodes: processed, feasibleNodes: feasible.length };
  }

  /** Weighted sum of every score plugin's normalized scores, per node. */
  prioritize(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], snapshot: Snapshot): Float64Array {
    for (const p of this.preScores) {
      const s = p.preScore(state, pod, nodes, snapshot);
      if (s?.code === 'Skip') state.skipScore.add(p.name);
      else if (s && s.code !== 'Success') throw new Error(`running PreScore plugin "${p.name}": ${s.reasons.join(', ')}`);
    }
    const totals = new Float64Array(nodes.length);
    const scores: number[] = new Array(nodes.length);
    for (const { plugin, weight } of this.scores) {
      if (state.skipScore.has(plugin.name)) continue;
      for (let i = 0; i < nodes.length; i++) scores[i] = plugin.score(state, pod, nodes[i]);
      plugin.normalizeScores?.(state, pod, scores, nodes);
      for (let i = 0; i < nodes.length; i++) totals[i] += scores[i] * weight;
    }
    return totals;
  }

  /** The index of the highest total; among equals, each is as likely (reservoir sampling). */
  private selectHost(totals: Float64Array): number {
    let best = 0;
    let ties = 1;
    for (let i = 1; i < totals.length; i++) {
      if (totals[i] > totals[best]) {
        best = i;
        ties = 1;
      } else if (totals[i] === totals[best]) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return best;
  }

  /** Reserve on every plugin; on a failure the ones already reserved are undone. */
  runReserve(state: CycleState, pod: PodInfo, node: NodeInfo): Status | undefined {
    for (let i = 0; i < this.reserves.length; i++) {
      const p = this.reserves[i];
      const s = p.reserve(state, pod, node);
      if (s && s.code !== 'Success') {
        for (let j = i; j >= 0; j--) this.reserves[j].unreserve(state, pod, node.name);
        return withPlugin(s, p.name);
      }
    }
    return undefined;
  }

  runUnreserve(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (let i = this.reserves.length - 1; i >= 0; i--) this.reserves[i].unreserve(state, pod, nodeName);
  }

  async runPreBind(state: CycleState, pod: PodInfo, nodeName: string): Promise<Status | undefined> {
    for (const p of this.preBinds) {
      const s = await p.preBind(state, pod, nodeName);
      if (s && s.code !== 'Success' && s.code !== 'Skip') return withPlugin(s, p.name);
    }
    return undefined;
  }
}

/** The first filter that rejects the node, with its plugin name. */
function runFilters(filters: readonly FilterPlugin[], state: CycleState, pod: PodInfo, node: NodeInfo): Status | undefined {
  for (const f of filters) {
    const s = f.filter(state, pod, node);
    if (!s || s.code === 'Success') continue;
    if (!isRejected(s)) throw new Error(`running "${f.name}" filter plugin: ${s.reasons.join(', ')}`);
    return withPlugin(s, f.name);
  }
  return undefined;
}
