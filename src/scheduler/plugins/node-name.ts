// NodeName: a pod that names its node fits only there.
import { unresolvable, type FilterPlugin, type Status } from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const NODE_NAME = 'NodeName';
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

const REJECTED = unresolvable(ERR_REASON_NODE_NAME);

export class NodeNamePlugin implements FilterPlugin {
  readonly name = NODE_NAME;

  filter(_state: unknown, pod: PodInfo, node: NodeInfo): Status | undefined {
    const want = pod.pod.spec?.nodeName;
    return !want || want === node.name ? undefined : REJECTED;
  }
}
