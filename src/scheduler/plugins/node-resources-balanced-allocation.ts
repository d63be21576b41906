// NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory would be used in equal
// fractions after placing the pod. Best-effort pods (no requests) are not scored.
import { MAX_NODE_SCORE, SKIP, type CycleState, type PreScorePlugin, type ScorePlugin, type Status } from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const NODE_RESOURCES_BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';

/** (1 − standard deviation of the used fractions) · 100. */
export function balancedResourceScore(requested: readonly number[], allocatable: readonly number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(1, requested[i] / allocatable[i]);
    fractions.push(f);
    total += f;
  }
  let std = 0;
  if (fractions.length === 2) std = Math.abs((fractions[0] - fractions[1]) / 2);
  else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

export class NodeResourcesBalancedAllocationPlugin implements PreScorePlugin, ScorePlugin {
  readonly name = NODE_RESOURCES_BALANCED_ALLOCATION;

  preScore(_state: CycleState, pod: PodInfo): Status | undefined {
    return pod.requests.milliCPU === 0 && pod.requests.memory === 0 ? SKIP : undefined;
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    return balancedAllocation(pod, node);
  }

  scoreNodes(_state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], scores: number[]): void {
    for (let i = 0; i < nodes.length; i++) scores[i] = balancedAllocation(pod, nodes[i]);
  }
}

function balancedAllocation(pod: PodInfo, node: NodeInfo): number {
  const cpu = node.allocatableMilliCPU;
  const mem = node.allocatableMemory;
  const usedCPU = node.requestedMilliCPU + pod.requests.milliCPU;
  const usedMemory = node.requestedMemory + pod.requests.memory;
  // the common case of two resources, without arrays (this runs for every node of every pod)
  if (cpu > 0 && mem > 0) {
    const fc = Math.min(1, usedCPU / cpu);
    const fm = Math.min(1, usedMemory / mem);
    return Math.trunc((1 - Math.abs((fc - fm) / 2)) * MAX_NODE_SCORE);
  }
  return balancedResourceScore([usedCPU, usedMemory], [cpu, mem]);
}
