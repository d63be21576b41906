// NodeUnschedulable: a cordoned node (`spec.unschedulable`) takes only pods that tolerate the
// node.kubernetes.io/unschedulable:NoSchedule taint.
import type { Taint } from 'kubernetes-types/core/v1.js';
import { TAINT_NODE_UNSCHEDULABLE, tolerationsTolerateTaint } from '../corev1.js';
import { unresolvable, type FilterPlugin, type Status } from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const ERR_REASON_UNKNOWN_CONDITION = 'node(s) had unknown conditions';

const UNSCHEDULABLE_TAINT: Taint = { key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' };
const REJECTED = unresolvable(ERR_REASON_UNSCHEDULABLE);
const NO_NODE = unresolvable(ERR_REASON_UNKNOWN_CONDITION);

export class NodeUnschedulablePlugin implements FilterPlugin {
  readonly name = NODE_UNSCHEDULABLE;

  filter(_state: unknown, pod: PodInfo, node: NodeInfo): Status | undefined {
    if (!node.node) return NO_NODE;
    if (!node.unschedulable) return undefined;
    return tolerationsTolerateTaint(pod.pod.spec?.tolerations, UNSCHEDULABLE_TAINT) ? undefined : REJECTED;
  }
}
