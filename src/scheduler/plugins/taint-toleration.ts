// TaintToleration: NoSchedule/NoExecute taints a pod does not tolerate keep it off a node;
// untolerated PreferNoSchedule taints make a node score lower.
import type { Toleration } from 'kubernetes-types/core/v1.js';
import { findUntoleratedTaint, taintText, tolerationsTolerateTaint } from '../corev1.js';
import { defaultNormalizeScore, SKIP, unresolvable, type CycleState, type FilterPlugin, type PreScorePlugin, type ScorePlugin, type Status } from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const TAINT_TOLERATION = 'TaintToleration';

const PRE_SCORE_KEY = 'PreScore' + TAINT_TOLERATION;

export class TaintTolerationPlugin implements FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = TAINT_TOLERATION;

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status | undefined {
    if (node.filterTaints.length === 0) return undefined;
    const taint = findUntoleratedTaint(node.filterTaints, pod.pod.spec?.tolerations);
    return taint ? unresolvable(`node(s) had untolerated taint ${taintText(taint)}`) : undefined;
  }

  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | undefined {
    let tainted = false;
    for (let i = 0; i < nodes.length && !tainted; i++) tainted = nodes[i].preferNoScheduleTaints.length > 0;
    if (!tainted) return SKIP;
    // only tolerations that can match a PreferNoSchedule taint count
    const tolerations = (pod.pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    state.write(PRE_SCORE_KEY, tolerations);
    return undefined;
  }

  /** The number of PreferNoSchedule taints the pod does not tolerate (fewer is better). */
  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const tolerations = state.read<Toleration[]>(PRE_SCORE_KEY) ?? [];
    let n = 0;
    for (const t of node.preferNoScheduleTaints) if (!tolerationsTolerateTaint(tolerations, t)) n++;
    return n;
  }

  normalizeScores(_state: CycleState, _pod: PodInfo, scores: number[]): void {
    defaultNormalizeScore(scores, true);
  }
}
