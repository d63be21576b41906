// NodeResourcesFit: the pod's requests (init container and overhead rules included) must fit in
// what the node can allocate minus what its pods (bound or assumed) already request, and the node
// must have room for one more pod. Scores with LeastAllocated: the emptier node wins.
import { MAX_NODE_SCORE, unschedulable, type CycleState, type FilterPlugin, type ScorePlugin, type Status } from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';

const TOO_MANY_PODS = 'Too many pods';

export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
}

/** Every resource the node lacks for this pod (empty when it fits). */
export function insufficientResources(pod: PodInfo, node: NodeInfo, ignoredResources?: ReadonlySet<string>): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const req = pod.requests;
  const used = node.requested;
  const alloc = node.allocatable;
  if (node.pods.size + 1 > alloc.allowedPodNumber)
    out.push({ resourceName: 'pods', reason: TOO_MANY_PODS, requested: 1, used: node.pods.size, capacity: alloc.allowedPodNumber });
  if (req.milliCPU === 0 && req.memory === 0 && req.ephemeralStorage === 0 && !req.scalar?.size) return out;
  if (req.milliCPU > 0 && alloc.milliCPU < req.milliCPU + used.milliCPU)
    out.push({ resourceName: 'cpu', reason: 'Insufficient cpu', requested: req.milliCPU, used: used.milliCPU, capacity: alloc.milliCPU });
  if (req.memory > 0 && alloc.memory < req.memory + used.memory)
    out.push({ resourceName: 'memory', reason: 'Insufficient memory', requested: req.memory, used: used.memory, capacity: alloc.memory });
  if (req.ephemeralStorage > 0 && alloc.ephemeralStorage < req.ephemeralStorage + used.ephemeralStorage)
    out.push({ resourceName: 'ephemeral-storage', reason: 'Insufficient ephemeral-storage', requested: req.ephemeralStorage, used: used.ephemeralStorage, capacity: alloc.ephemeralStorage });
  if (req.scalar)
    for (const [name, n] of req.scalar) {
      if (n === 0 || ignoredResources?.has(name)) continue;
      const have = alloc.scalar?.get(name) ?? 0;
      const inUse = used.scalar?.get(name) ?? 0;
      if (have < n + inUse) out.push({ resourceName: name, reason: `Insufficient ${name}`, requested: n, used: inUse, capacity: have });
    }
  return out;
}

/** The allocation-free check the filter runs first (the same rules as insufficientResources), on the node's table row. */
function fits(pod: PodInfo, node: NodeInfo): boolean {
  const req = pod.requests;
  if (node.podCount + 1 > node.allowedPodNumber) return false;
  if (req.milliCPU > 0 && node.allocatableMilliCPU < req.milliCPU + node.requestedMilliCPU) return false;
  if (req.memory > 0 && node.allocatableMemory < req.memory + node.requestedMemory) return false;
  if (req.ephemeralStorage > 0 && node.allocatableEphemeralStorage < req.ephemeralStorage + node.requestedEphemeralStorage) return false;
  // extended resources: the full check decides (ignored ones included)
  return !req.scalar?.size;
}

/** ((capacity − requested) · 100) / capacity, 0 when over capacity (integer arithmetic, as upstream). */
export function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity <= 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

export interface NodeResourcesFitArgs {
  /** extended resources the filter does not check */
  ignoredResources?: string[];
  /** scoring weights of cpu and memory (default 1 each) */
  cpuWeight?: number;
  memoryWeight?: number;
}

export class NodeResourcesFitPlugin implements FilterPlugin, ScorePlugin {
  readonly name = NODE_RESOURCES_FIT;
  private readonly ignored: Set<string>;
  private readonly cpuWeight: number;
  private readonly memoryWeight: number;

  constructor(args: NodeResourcesFitArgs = {}) {
    this.ignored = new Set(args.ignoredResources ?? []);
    this.cpuWeight = args.cpuWeight ?? 1;
    this.memoryWeight = args.memoryWeight ?? 1;
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status | undefined {
    if (fits(pod, node)) return undefined;
    const lacking = insufficientResources(pod, node, this.ignored);
    return lacking.length ? unschedulable(...lacking.map((r) => r.reason)) : undefined;
  }

  /** LeastAllocated over cpu and memory, counting missing requests as the non-zero defaults. */
  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    return this.leastAllocated(pod, node);
  }

  scoreNodes(_state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], scores: number[]): void {
    for (let i = 0; i < nodes.length; i++) scores[i] = this.leastAllocated(pod, nodes[i]);
  }

  private leastAllocated(pod: PodInfo, node: NodeInfo): number {
    let total = 0;
    let weights = 0;
    const cpu = node.allocatableMilliCPU;
    const memory = node.allocatableMemory;
    if (cpu > 0) {
      total += leastRequestedScore(node.nonZeroMilliCPU + pod.nonZeroMilliCPU, cpu) * this.cpuWeight;
      weights += this.cpuWeight;
    }
    if (memory > 0) {
      total += leastRequestedScore(node.nonZeroMemory + pod.nonZeroMemory, memory) * this.memoryWeight;
      weights += this.memoryWeight;
    }
    return weights ? Math.trunc(total / weights) : 0;
  }
}
