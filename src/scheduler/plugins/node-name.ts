// NodeName: a pod that names its node fits only there.
import { SKIP, unresolvable, type FilterPlugin, type PreFilterPlugin, type Status } from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const NODE_NAME = 'NodeName';
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

const REJECTED = unresolvable(ERR_REASON_NODE_NAME);

export class NodeNamePlugin implements PreFilterPlugin, FilterPlugin {
  readonly name = NODE_NAME;

  /** Most pods name no node: their Filter is skipped for every node. */
  preFilter(_state: unknown, pod: PodInfo): Status | undefined {
    return pod.pod.spec?.nodeName ? undefined : SKIP;
  }

  filter(_state: unknown, pod: PodInfo, node: NodeInfo): Status | undefined {
    const want = pod.pod.spec?.nodeName;
    return !want || want === node.name ? undefined : REJECTED;
  }
}
