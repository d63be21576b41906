// Small builders for scheduler unit tests: nodes, pods, and a snapshot over them.
import type { Node, Pod, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { SchedulerCache } from '../../src/scheduler/cache.js';
import { CycleState, emptyListers, type Listers, type Snapshot, type Status } from '../../src/scheduler/framework.js';
import { newPodInfo, type NodeInfo, type PodInfo } from '../../src/scheduler/nodeinfo.js';

export interface NodeOpts {
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  cpu?: string;
  memory?: string;
  pods?: number;
  extra?: Record<string, string>;
}

export function makeNode(name: string, o: NodeOpts = {}): Node {
  const allocatable: Record<string, string> = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: String(o.pods ?? 110), ...(o.extra ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable, capacity: allocatable },
  };
}

export interface PodOpts {
  namespace?: string;
  labels?: Record<string, string>;
  cpu?: string;
  memory?: string;
  nodeName?: string;
  tolerations?: Toleration[];
  spec?: Partial<Pod['spec']>;
}

export function makePod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.namespace ?? 'default', uid: `uid-${name}`, labels: o.labels ?? {} },
    spec: {
      containers: [{ name: 'c', image: 'busybox', ...(Object.keys(requests).length ? { resources: { requests } } : {}) }],
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.spec ?? {}),
    } as Pod['spec'],
  };
}

/** A snapshot (the scheduler's own cache) holding these nodes and bound pods. */
export function snapshotOf(nodes: Node[], pods: Pod[] = [], listers: Listers = emptyListers): SchedulerCache {
  const cache = new SchedulerCache(listers);
  for (const n of nodes) cache.addNode(n);
  for (const p of pods) cache.addPod(p);
  return cache;
}

export const info = (pod: Pod): PodInfo => newPodInfo(pod);

/** The node's NodeInfo in the snapshot (throws when missing). */
export function nodeIn(s: Snapshot, name: string): NodeInfo {
  const ni = s.get(name);
  if (!ni) throw new Error(`no node ${name}`);
  return ni;
}

/** Runs a plugin's PreFilter (when it has one) and Filter on every node: node name → reasons ('' = fits). */
export function filterAll(
  plugin: {
    preFilter?: (s: CycleState, p: PodInfo, snap: Snapshot) => Status | undefined;
    filter: (s: CycleState, p: PodInfo, n: NodeInfo) => Status | undefined;
  },
  pod: Pod,
  snap: Snapshot,
): Record<string, string> {
  const state = new CycleState();
  const pi = info(pod);
  const pre = plugin.preFilter?.(state, pi, snap);
  const out: Record<string, string> = {};
  for (const n of snap.nodes()) {
    if (pre && pre.code !== 'Skip' && pre.code !== 'Success') out[n.name] = `prefilter: ${pre.reasons.join(', ')}`;
    else if (pre?.code === 'Skip') out[n.name] = '';
    else out[n.name] = plugin.filter(state, pi, n)?.reasons.join(', ') ?? '';
  }
  return out;
}
