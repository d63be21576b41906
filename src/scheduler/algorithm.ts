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

/**
 * Uniform numbers in [0, 1) from Marsaglia's xorshift128, seeded by Math.random. Tie breaks draw
 * one per tied node; Math.random returns each as a newly allocated heap number, this (inlined at
 * the one call site) does not.
 */
export function xorshiftRandom(): () => number {
  const s = new Int32Array(4);
  for (let i = 0; i < 4; i++) s[i] = Math.random() * 0x100000000;
  if (!(s[0] | s[1] | s[2] | s[3])) s[0] = 1;
  return () => {
    const t = s[0] ^ (s[0] << 11);
    s[0] = s[1];
    s[1] = s[2];
    s[2] = s[3];
    s[3] = s[3] ^ (s[3] >>> 19) ^ t ^ (t >>> 8);
    return (s[3] >>> 0) / 0x100000000;
  };
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
  // A plugin's Skip at PreFilter (PreScore) turns off its Filter (Score): the index of that
  // Filter (Score) per PreFilter (PreScore), -1 when the plugin has none.
  private readonly filterOfPreFilter: Int32Array;
  private readonly scoreOfPreScore: Int32Array;
  // Scratch space one cycle at a time (cycles run synchronously, one after the other): the flags,
  // the filters that run, the feasible nodes and the scores are reused rather than allocated per pod.
  private readonly filterSkipped: Uint8Array;
  private readonly scoreSkipped: Uint8Array;
  private readonly activeFilters: FilterPlugin[] = [];
  private readonly feasible: NodeInfo[] = [];
  private readonly scratchScores: number[] = [];
  private totals = new Float64Array(0);

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
    this.random = opts.random ?? xorshiftRandom();
    this.filterOfPreFilter = Int32Array.from(this.preFilters, (p) => this.filters.findIndex((f) => f.name === p.name));
    this.scoreOfPreScore = Int32Array.from(this.preScores, (p) => this.scores.findIndex((s) => s.plugin.name === p.name));
    this.filterSkipped = new Uint8Array(this.filters.length);
    this.scoreSkipped = new Uint8Array(this.scores.length);
  }

  /** Picks a node for the pod; throws FitError when none fits, NoNodesAvailableError without nodes. */
  schedulePod(pod: PodInfo, snapshot: Snapshot): ScheduleResult {
    const all = snapshot.nodes();
    if (all.length === 0) throw new NoNodesAvailableError();
    const state = new CycleState();
    const skipped = this.filterSkipped;
    skipped.fill(0);
    for (let i = 0; i < this.preFilters.length; i++) {
      const p = this.preFilters[i];
      const s = p.preFilter(state, pod, snapshot);
      if (!s || s.code === 'Success') continue;
      if (s.code === 'Skip') {
        const f = this.filterOfPreFilter[i];
        if (f >= 0) skipped[f] = 1;
        continue;
      }
      if (s.code === 'Error') throw new Error(`running PreFilter plugin "${p.name}": ${s.reasons.join(', ')}`);
      const st = withPlugin(s, p.name);
      throw new FitError(all.length, new Map(), st, preemptionMessage(pod.pod.spec?.preemptionPolicy, all.length, new Map(), st));
    }

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

    const filters = this.activeFilters;
    let nf = 0;
    for (let i = 0; i < this.filters.length; i++) if (!skipped[i]) filters[nf++] = this.filters[i];
    filters.length = nf;
    const want = narrowed ? candidates.length : numFeasibleNodesToFind(all.length, this.opts.percentageOfNodesToScore);
    const feasible = this.feasible;
    let found = 0;
    let statuses: Map<string, Status> | undefined;
    const n = candidates.length;
    const start = narrowed || n === 0 ? 0 : this.nextStartNodeIndex % n;
    let processed = 0;
    for (let i = 0; i < n && found < want; i++) {
      let j = start + i;
      if (j >= n) j -= n;
      const ni = candidates[j];
      processed++;
      const s = runFilters(filters, state, pod, ni);
      if (s) (statuses ??= new Map()).set(ni.name, s);
      else feasible[found++] = ni;
    }
    feasible.length = found;
    if (!narrowed) this.nextStartNodeIndex = (start + processed) % n;

    if (found === 0) {
      statuses ??= new Map();
      if (narrowed) {
        const absent = withPlugin(unresolvable(`node(s) didn't satisfy plugin(s) [${[...new Set(state.narrowedBy)].sort().join(' ')}]`), state.narrowedBy[0]);
        for (const ni of all) if (!statuses.has(ni.name)) statuses.set(ni.name, absent);
      }
      throw new FitError(all.length, statuses, undefined, preemptionMessage(pod.pod.spec?.preemptionPolicy, all.length, statuses));
    }
    const node = found === 1 ? feasible[0] : feasible[this.selectHost(this.prioritize(state, pod, feasible, snapshot))];
    return { node, state, evaluatedNodes: processed, feasibleNodes: found };
  }

  /**
   * Weighted sum of every score plugin's normalized scores, per node. The result is scratch space
   * of this framework: valid until the next call.
   */
  prioritize(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], snapshot: Snapshot): Float64Array {
    const skipped = this.scoreSkipped;
    skipped.fill(0);
    for (let i = 0; i < this.preScores.length; i++) {
      const p = this.preScores[i];
      const s = p.preScore(state, pod, nodes, snapshot);
      if (s?.code === 'Skip') {
        const k = this.scoreOfPreScore[i];
        if (k >= 0) skipped[k] = 1;
      } else if (s && s.code !== 'Success') throw new Error(`running PreScore plugin "${p.name}": ${s.reasons.join(', ')}`);
    }
    const n = nodes.length;
    if (this.totals.length < n) this.totals = new Float64Array(Math.max(n, 2 * this.totals.length));
    const totals = this.totals.subarray(0, n);
    totals.fill(0);
    const scores = this.scratchScores;
    scores.length = n;
    for (let k = 0; k < this.scores.length; k++) {
      if (skipped[k]) continue;
      const { plugin, weight } = this.scores[k];
      if (plugin.scoreNodes) plugin.scoreNodes(state, pod, nodes, scores);
      else for (let i = 0; i < n; i++) scores[i] = plugin.score(state, pod, nodes[i]);
      plugin.normalizeScores?.(state, pod, scores, nodes);
      for (let i = 0; i < n; i++) totals[i] += scores[i] * weight;
    }
    return totals;
  }

  /** The index of the highest total; among equals, each is as likely (reservoir sampling). */
  private selectHost(totals: Float64Array): number {
    const random = this.random;
    let best = 0;
    let top = totals[0];
    let ties = 1;
    for (let i = 1; i < totals.length; i++) {
      const t = totals[i];
      if (t > top) {
        best = i;
        top = t;
        ties = 1;
      } else if (t === top) {
        ties++;
        if (random() * ties < 1) best = i;
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
