// PodTopologySpread: a pod with DoNotSchedule constraints may only go where the number of matching
// pods in its topology domain would exceed the emptiest domain's by at most maxSkew; ScheduleAnyway
// constraints become scores that prefer the emptier domains.
import type { Pod, TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { labelsMatch, selectorFromLabelSelector, type LabelRequirement } from '../../api/labels.js';
import { findUntoleratedTaint, LABEL_HOSTNAME, requiredNodeAffinityMatches, type RequiredNodeAffinity } from '../corev1.js';
import {
  MAX_NODE_SCORE,
  SKIP,
  unresolvable,
  unschedulable,
  type CycleState,
  type FilterPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
  type Snapshot,
  type Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + ' (missing required label)';

const PRE_FILTER_KEY = 'PreFilter' + POD_TOPOLOGY_SPREAD;
const PRE_SCORE_KEY = 'PreScore' + POD_TOPOLOGY_SPREAD;

const CONSTRAINTS_REJECTED = unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
const LABEL_REJECTED = unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);

/** A constraint ready to evaluate. */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  /** null: a missing or invalid selector, which matches nothing */
  selector: LabelRequirement[] | null;
  minDomains: number;
  honorNodeAffinity: boolean;
  honorNodeTaints: boolean;
}

export function spreadConstraints(pod: Pod, when: 'DoNotSchedule' | 'ScheduleAnyway'): SpreadConstraint[] {
  const labels = pod.metadata?.labels ?? {};
  const out: SpreadConstraint[] = [];
  for (const c of (pod.spec?.topologySpreadConstraints ?? []) as TopologySpreadConstraint[]) {
    if (c.whenUnsatisfiable !== when) continue;
    let selector: LabelRequirement[] | null = null;
    if (c.labelSelector) {
      try {
        selector = selectorFromLabelSelector(c.labelSelector);
        for (const k of c.matchLabelKeys ?? []) if (k in labels) selector.push({ key: k, operator: 'In', values: [labels[k]] });
      } catch {
        selector = null;
      }
    }
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      selector,
      minDomains: c.minDomains ?? 1,
      honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
      honorNodeTaints: c.nodeTaintsPolicy === 'Honor',
    });
  }
  return out;
}

/** Pods on the node in `namespace` selected by `selector`, not counting terminating ones. */
export function countMatchingPods(node: NodeInfo, selector: LabelRequirement[] | null, namespace: string): number {
  if (!selector || selector.length === 0) return 0;
  let n = 0;
  for (const p of node.pods.values()) {
    if (p.namespace !== namespace || p.pod.metadata?.deletionTimestamp) continue;
    if (labelsMatch(selector, p.labels)) n++;
  }
  return n;
}

const pair = (key: string, value: string) => `${key}\u0000${value}`;

const hasAllKeys = (node: NodeInfo, constraints: readonly SpreadConstraint[]) => constraints.every((c) => c.topologyKey in node.labels);

function requiredAffinityOf(pod: Pod): RequiredNodeAffinity {
  return { nodeSelector: pod.spec?.nodeSelector, required: pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution };
}

/** Whether the constraint's node inclusion policies let this node count. */
function includesNode(c: SpreadConstraint, pod: Pod, affinity: RequiredNodeAffinity, node: NodeInfo): boolean {
  if (!node.node) return false;
  if (c.honorNodeAffinity && !requiredNodeAffinityMatches(affinity, node.node)) return false;
  if (c.honorNodeTaints && findUntoleratedTaint(node.filterTaints, pod.spec?.tolerations)) return false;
  return true;
}

interface PreFilterState {
  constraints: SpreadConstraint[];
  /** matching pods per topology domain */
  counts: Map<string, number>;
  /** per constraint: domains seen and the smallest count among them */
  domains: number[];
  minCounts: number[];
}

interface PreScoreState {
  constraints: SpreadConstraint[];
  ignored: Set<NodeInfo>;
  counts: Map<string, number>;
  weights: number[];
}

export class PodTopologySpreadPlugin implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = POD_TOPOLOGY_SPREAD;

  preFilter(state: CycleState, pod: PodInfo, snapshot: Snapshot): Status | undefined {
    const constraints = spreadConstraints(pod.pod, 'DoNotSchedule');
    if (!constraints.length) return SKIP;
    const affinity = requiredAffinityOf(pod.pod);
    const counts = new Map<string, number>();
    for (const ni of snapshot.nodes()) {
      if (!hasAllKeys(ni, constraints)) continue;
      for (const c of constraints) {
        if (!includesNode(c, pod.pod, affinity, ni)) continue;
        const k = pair(c.topologyKey, ni.labels[c.topologyKey]);
        counts.set(k, (counts.get(k) ?? 0) + countMatchingPods(ni, c.selector, pod.namespace));
      }
    }
    const domains = constraints.map(() => 0);
    const minCounts = constraints.map(() => Infinity);
    for (const [k, n] of counts) {
      const key = k.slice(0, k.indexOf('\u0000'));
      constraints.forEach((c, i) => {
        if (c.topologyKey !== key) return;
        domains[i]++;
        if (n < minCounts[i]) minCounts[i] = n;
      });
    }
    state.write(PRE_FILTER_KEY, { constraints, counts, domains, minCounts } satisfies PreFilterState);
    return undefined;
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | undefined {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (!s) return undefined;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i];
      const v = node.labels[c.topologyKey];
      if (v === undefined) return LABEL_REJECTED;
      // fewer domains than minDomains: the global minimum counts as 0
      const min = s.domains[i] < c.minDomains || !Number.isFinite(s.minCounts[i]) ? 0 : s.minCounts[i];
      const self = c.selector && labelsMatch(c.selector, pod.labels) ? 1 : 0;
      const skew = (s.counts.get(pair(c.topologyKey, v)) ?? 0) + self - min;
      if (skew > c.maxSkew) return CONSTRAINTS_REJECTED;
    }
    return undefined;
  }

  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], snapshot: Snapshot): Status | undefined {
    const constraints = spreadConstraints(pod.pod, 'ScheduleAnyway');
    if (!constraints.length) return SKIP;
    const ignored = new Set<NodeInfo>();
    const counts = new Map<string, number>();
    const sizes = constraints.map(() => 0);
    for (const ni of nodes) {
      if (!hasAllKeys(ni, constraints)) {
        ignored.add(ni);
        continue;
      }
      constraints.forEach((c, i) => {
        // per-node counts for the hostname key are taken in score
        if (c.topologyKey === LABEL_HOSTNAME) return;
        const k = pair(c.topologyKey, ni.labels[c.topologyKey]);
        if (!counts.has(k)) {
          counts.set(k, 0);
          sizes[i]++;
        }
      });
    }
    const affinity = requiredAffinityOf(pod.pod);
    for (const ni of snapshot.nodes()) {
      if (!hasAllKeys(ni, constraints)) continue;
      for (const c of constraints) {
        if (c.topologyKey === LABEL_HOSTNAME || !includesNode(c, pod.pod, affinity, ni)) continue;
        const k = pair(c.topologyKey, ni.labels[c.topologyKey]);
        const cur = counts.get(k);
        if (cur !== undefined) counts.set(k, cur + countMatchingPods(ni, c.selector, pod.namespace));
      }
    }
    const weights = constraints.map((c, i) => Math.log((c.topologyKey === LABEL_HOSTNAME ? nodes.length - ignored.size : sizes[i]) + 2));
    state.write(PRE_SCORE_KEY, { constraints, ignored, counts, weights } satisfies PreScoreState);
    return undefined;
  }

  /** Higher for crowded domains; normalizeScores turns it around. */
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (!s || s.ignored.has(node)) return 0;
    let score = 0;
    s.constraints.forEach((c, i) => {
      const v = node.labels[c.topologyKey];
      if (v === undefined) return;
      const n = c.topologyKey === LABEL_HOSTNAME ? countMatchingPods(node, c.selector, pod.namespace) : (s.counts.get(pair(c.topologyKey, v)) ?? 0);
      score += n * s.weights[i] + (c.maxSkew - 1);
    });
    return Math.round(score);
  }

  normalizeScores(state: CycleState, _pod: PodInfo, scores: number[], nodes: readonly NodeInfo[]): void {
    const s = state.read<PreScoreState>(PRE_SCORE_KEY);
    const ignored = s?.ignored ?? new Set<NodeInfo>();
    let min = Infinity;
    let max = 0;
    scores.forEach((v, i) => {
      if (ignored.has(nodes[i])) return;
      if (v < min) min = v;
      if (v > max) max = v;
    });
    for (let i = 0; i < scores.length; i++) {
      if (ignored.has(nodes[i])) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
    }
  }
}
