// InterPodAffinity: required pod affinity (the node's topology domain must hold a matching pod),
// required anti-affinity (it must not), existing pods' required anti-affinity against the incoming
// pod, and preferred terms of both sides as scores, all per topology domain (key=value).
import type { Node } from 'kubernetes-types/core/v1.js';
import {
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
  MAX_NODE_SCORE,
} from '../framework.js';
import { termMatchesPod, type AffinityTerm, type NamespaceLabels, type NodeInfo, type PodInfo } from '../nodeinfo.js';

export const INTER_POD_AFFINITY = 'InterPodAffinity';
export const ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules";
export const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules";

const PRE_FILTER_KEY = 'PreFilter' + INTER_POD_AFFINITY;
const PRE_SCORE_KEY = 'PreScore' + INTER_POD_AFFINITY;

const AFFINITY_REJECTED = unresolvable(ERR_REASON_AFFINITY_RULES_NOT_MATCH);
const ANTI_AFFINITY_REJECTED = unschedulable(ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH);
const EXISTING_ANTI_AFFINITY_REJECTED = unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH);

/** A topology domain as one map key. */
const pair = (key: string, value: string) => `${key}\u0000${value}`;

/** Counts (or weights) per topology domain. */
type TopologyCounts = Map<string, number>;

function bump(m: TopologyCounts, node: Node | undefined, labels: Record<string, string>, key: string, by: number): void {
  if (!node) return;
  const v = labels[key];
  if (v === undefined) return;
  const k = pair(key, v);
  m.set(k, (m.get(k) ?? 0) + by);
}

interface PreFilterState {
  pod: PodInfo;
  nsLabels: NamespaceLabels;
  /** domains holding pods that match all of the incoming pod's required affinity terms */
  affinityCounts: TopologyCounts;
  /** domains holding pods that match one of its required anti-affinity terms */
  antiAffinityCounts: TopologyCounts;
  /** domains whose existing pods' required anti-affinity selects the incoming pod */
  existingAntiAffinityCounts: TopologyCounts;
}

export const namespaceLabelsOf =
  (snapshot: Snapshot): NamespaceLabels =>
  (ns) =>
    snapshot.listers.namespace(ns)?.metadata?.labels;

function matchesAll(terms: readonly AffinityTerm[], pod: PodInfo, nsLabels: NamespaceLabels): boolean {
  if (!terms.length) return false;
  for (const t of terms) if (!termMatchesPod(t, pod, nsLabels)) return false;
  return true;
}

export interface InterPodAffinityArgs {
  /** the score weight of existing pods' required affinity terms the incoming pod matches (default 1) */
  hardPodAffinityWeight?: number;
}

export class InterPodAffinityPlugin implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = INTER_POD_AFFINITY;
  private readonly hardPodAffinityWeight: number;

  constructor(args: InterPodAffinityArgs = {}) {
    this.hardPodAffinityWeight = args.hardPodAffinityWeight ?? 1;
  }

  preFilter(state: CycleState, pod: PodInfo, snapshot: Snapshot): Status | undefined {
    const withAnti = snapshot.nodesWithRequiredAntiAffinity();
    if (!pod.requiredAffinity.length && !pod.requiredAntiAffinity.length && !withAnti.length) return SKIP;
    const nsLabels = namespaceLabelsOf(snapshot);
    const s: PreFilterState = { pod, nsLabels, affinityCounts: new Map(), antiAffinityCounts: new Map(), existingAntiAffinityCounts: new Map() };
    for (const ni of withAnti)
      for (const existing of ni.podsWithRequiredAntiAffinity)
        for (const t of existing.requiredAntiAffinity) if (termMatchesPod(t, pod, nsLabels)) bump(s.existingAntiAffinityCounts, ni.node, ni.labels, t.topologyKey, 1);
    if (pod.requiredAffinity.length || pod.requiredAntiAffinity.length) {
      for (const ni of snapshot.nodes()) {
        for (const existing of ni.pods.values()) {
          if (matchesAll(pod.requiredAffinity, existing, nsLabels)) for (const t of pod.requiredAffinity) bump(s.affinityCounts, ni.node, ni.labels, t.topologyKey, 1);
          for (const t of pod.requiredAntiAffinity) if (termMatchesPod(t, existing, nsLabels)) bump(s.antiAffinityCounts, ni.node, ni.labels, t.topologyKey, 1);
        }
      }
    }
    state.write(PRE_FILTER_KEY, s);
    return undefined;
  }

  filter(state: CycleState, _pod: PodInfo, node: NodeInfo): Status | undefined {
    const s = state.read<PreFilterState>(PRE_FILTER_KEY);
    if (!s) return undefined;
    if (!this.satisfiesAffinity(s, node)) return AFFINITY_REJECTED;
    if (s.antiAffinityCounts.size)
      for (const t of s.pod.requiredAntiAffinity) {
        const v = node.labels[t.topologyKey];
        if (v !== undefined && (s.antiAffinityCounts.get(pair(t.topologyKey, v)) ?? 0) > 0) return ANTI_AFFINITY_REJECTED;
      }
    if (s.existingAntiAffinityCounts.size)
      for (const [k, v] of Object.entries(node.labels)) if ((s.existingAntiAffinityCounts.get(pair(k, v)) ?? 0) > 0) return EXISTING_ANTI_AFFINITY_REJECTED;
    return undefined;
  }

  private satisfiesAffinity(s: PreFilterState, node: NodeInfo): boolean {
    let podsExist = true;
    for (const t of s.pod.requiredAffinity) {
      const v = node.labels[t.topologyKey];
      // every topology key must be on the node
      if (v === undefined) return false;
      if ((s.affinityCounts.get(pair(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
    }
    if (podsExist) return true;
    // the first pod of a group with affinity to itself may go anywhere with the topology keys
    return s.affinityCounts.size === 0 && matchesAll(s.pod.requiredAffinity, s.pod, s.nsLabels);
  }

  preScore(state: CycleState, pod: PodInfo, _nodes: readonly NodeInfo[], snapshot: Snapshot): Status | undefined {
    const hasConstraints = pod.preferredAffinity.length > 0 || pod.preferredAntiAffinity.length > 0;
    const withAffinity = snapshot.nodesWithPodAffinity();
    if (!hasConstraints && !withAffinity.length) return SKIP;
    const nsLabels = namespaceLabelsOf(snapshot);
    const scores: TopologyCounts = new Map();
    const terms = (list: readonly (AffinityTerm & { weight?: number })[], target: PodInfo, ni: NodeInfo, sign: number, weight?: number) => {
      for (const t of list) {
        const w = weight ?? t.weight ?? 0;
        if (w && termMatchesPod(t, target, nsLabels)) bump(scores, ni.node, ni.labels, t.topologyKey, sign * w);
      }
    };
    const nodes = hasConstraints ? snapshot.nodes() : withAffinity;
    for (const ni of nodes) {
      const existingPods = hasConstraints ? ni.pods.values() : ni.podsWithAffinity.values();
      for (const existing of existingPods) {
        terms(pod.preferredAffinity, existing, ni, 1);
        terms(pod.preferredAntiAffinity, existing, ni, -1);
        if (this.hardPodAffinityWeight > 0) terms(existing.requiredAffinity, pod, ni, 1, this.hardPodAffinityWeight);
        terms(existing.preferredAffinity, pod, ni, 1);
        terms(existing.preferredAntiAffinity, pod, ni, -1);
      }
    }
    if (!scores.size) return SKIP;
    state.write(PRE_SCORE_KEY, scores);
    return undefined;
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const scores = state.read<TopologyCounts>(PRE_SCORE_KEY);
    if (!scores) return 0;
    let sum = 0;
    for (const [k, v] of Object.entries(node.labels)) sum += scores.get(pair(k, v)) ?? 0;
    return sum;
  }

  /** Scales to [0, 100] between the lowest and the highest score. */
  normalizeScores(_state: CycleState, _pod: PodInfo, scores: number[]): void {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    const span = max - min;
    for (let i = 0; i < scores.length; i++) scores[i] = span > 0 ? Math.trunc((MAX_NODE_SCORE * (scores[i] - min)) / span) : 0;
  }
}
