// Node lifecycle: node health from heartbeats, condition taints, and NoExecute taint-based eviction.
export { NodeLifecycleController, nodeLifecycleController, nodeLifecycleControllerWith, NODE_LEASE_NAMESPACE, type NodeLifecycleOptions } from './controller.js';
export { TaintEvictionController, taintEvictionController, type TaintEvictionOptions } from './taint-eviction.js';
