// NodeAffinity: `nodeSelector` and required node affinity must match the node's labels (and
// `metadata.name` fields); preferred terms add their weights to a node's score.
import type { NodeSelector, PreferredSchedulingTerm } from 'kubernetes-types/core/v1.js';
import { nodeSelectorTermMatches, requiredNodeAffinityMatches, type RequiredNodeAffinity } from '../corev1.js';
import { defaultNormalizeScore, SKIP, unresolvable, type CycleState, type FilterPlugin, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type Status } from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const NODE_AFFINITY = 'NodeAffinity';
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
const ERR_REASON_CONFLICT = 'pod affinity terms conflict';

const PRE_FILTER_KEY = 'PreFilter' + NODE_AFFINITY;
const PRE_SCORE_KEY = 'PreScore' + NODE_AFFINITY;
const REJECTED = unresolvable(ERR_REASON_POD);

function requiredOf(pod: PodInfo): RequiredNodeAffinity {
  const spec = pod.pod.spec;
  const sel = spec?.nodeSelector && Object.keys(spec.nodeSelector).length ? spec.nodeSelector : undefined;
  return { nodeSelector: sel, required: spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution };
}

/** Node names when every required term pins `metadata.name In [...]`; undefined = any node may do. */
function pinnedNodeNames(required: NodeSelector | undefined): Set<string> | undefined {
  const terms = required?.nodeSelectorTerms ?? [];
  if (!terms.length) return undefined;
  const names = new Set<string>();
  for (const t of terms) {
    const pin = (t.matchFields ?? []).find((f) => f.key === 'metadata.name' && f.operator === 'In');
    if (!pin) return undefined;
    for (const v of pin.values ?? []) names.add(v);
  }
  return names;
}

export class NodeAffinityPlugin implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NODE_AFFINITY;

  preFilter(state: CycleState, pod: PodInfo): Status | undefined {
    const req = requiredOf(pod);
    if (!req.nodeSelector && !req.required) return SKIP;
    state.write(PRE_FILTER_KEY, req);
    const pinned = pinnedNodeNames(req.required);
    if (pinned) {
      if (pinned.size === 0) return unresolvable(ERR_REASON_CONFLICT);
      state.restrictNodes(this.name, pinned);
    }
    return undefined;
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status | undefined {
    if (!node.node) return REJECTED;
    const req = state.read<RequiredNodeAffinity>(PRE_FILTER_KEY) ?? requiredOf(pod);
    return requiredNodeAffinityMatches(req, node.node) ? undefined : REJECTED;
  }

  preScore(state: CycleState, pod: PodInfo): Status | undefined {
    const preferred = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (!preferred.length) return SKIP;
    state.write(PRE_SCORE_KEY, preferred);
    return undefined;
  }

  /** The sum of the weights of the preferred terms the node matches. */
  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const preferred = state.read<PreferredSchedulingTerm[]>(PRE_SCORE_KEY) ?? [];
    let sum = 0;
    for (const p of preferred) if (p.weight && nodeSelectorTermMatches(p.preference, node.labels, node.name)) sum += p.weight;
    return sum;
  }

  normalizeScores(_state: CycleState, _pod: PodInfo, scores: number[]): void {
    defaultNormalizeScore(scores, false);
  }
}
