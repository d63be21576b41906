// The scheduler's view of the cluster: NodeInfos with the pods bound to them, plus pods the
// scheduler has assumed onto a node (binding sent, informer not caught up yet), so the next pod
// already sees the resources they use. One scheduling cycle runs synchronously, so the cache itself
// serves as its snapshot.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { deepEqual } from '../api/object.js';
import type { Listers, Snapshot } from './framework.js';
import { newPodInfo, NodeInfo, NodeTable, podKey, type PodInfo } from './nodeinfo.js';

interface PodState {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
  bindingFinished: boolean;
}

/** Succeeded and Failed pods hold no resources. */
export const isTerminal = (pod: Pod): boolean => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

export class SchedulerCache implements Snapshot {
  private readonly nodeInfos = new Map<string, NodeInfo>();
  private readonly table = new NodeTable();
  private readonly podStates = new Map<string, PodState>();
  private nodeList: NodeInfo[] = [];
  private nodeListDirty = false;
  private readonly withAffinity = new Set<NodeInfo>();
  private readonly withAntiAffinity = new Set<NodeInfo>();
  private affinityList?: NodeInfo[];
  private antiAffinityList?: NodeInfo[];

  constructor(readonly listers: Listers) {}

  // ---- Snapshot ----

  nodes(): readonly NodeInfo[] {
    if (this.nodeListDirty) {
      this.nodeList = [];
      for (const ni of this.nodeInfos.values()) if (ni.node) this.nodeList.push(ni);
      this.nodeListDirty = false;
    }
    return this.nodeList;
  }

  get(name: string): NodeInfo | undefined {
    return this.nodeInfos.get(name);
  }

  nodesWithPodAffinity(): readonly NodeInfo[] {
    return (this.affinityList ??= [...this.withAffinity].filter((n) => n.node));
  }

  nodesWithRequiredAntiAffinity(): readonly NodeInfo[] {
    return (this.antiAffinityList ??= [...this.withAntiAffinity].filter((n) => n.node));
  }

  // ---- nodes ----

  addNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    let ni = this.nodeInfos.get(name);
    if (!ni) this.nodeInfos.set(name, (ni = new NodeInfo(name, this.table)));
    const wasListed = !!ni.node;
    ni.setNode(node);
    if (!wasListed) this.nodesChanged();
  }

  updateNode(node: Node): void {
    this.addNode(node);
  }

  /** A node that still has pods keeps a NodeInfo without a Node until they are gone. */
  removeNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const ni = this.nodeInfos.get(name);
    if (!ni) return;
    ni.setNode(undefined);
    if (ni.pods.size === 0) this.dropNodeInfo(ni);
    this.nodesChanged();
  }

  nodeCount(): number {
    return this.nodes().length;
  }

  private nodesChanged(): void {
    this.nodeListDirty = true;
    this.affinityList = undefined;
    this.antiAffinityList = undefined;
  }

  // ---- pods ----

  /** A pod the informer shows bound to a node: confirms an assumed pod, or adds a new one. */
  addPod(pod: Pod): void {
    const key = podKey(pod);
    const nodeName = pod.spec?.nodeName ?? '';
    if (!nodeName) return;
    if (isTerminal(pod)) {
      this.removePodByKey(key);
      return;
    }
    const cur = this.podStates.get(key);
    // an update that changes nothing the scheduler counts keeps the parsed PodInfo
    const same = cur && cur.nodeName === nodeName && samePodScheduling(cur.info.pod, pod);
    if (cur && same && !cur.assumed) {
      cur.info.pod = pod;
      return;
    }
    this.removePodByKey(key);
    const info = cur && same ? { ...cur.info, pod } : newPodInfo(pod);
    this.podStates.set(key, { info, nodeName, assumed: false, bindingFinished: true });
    this.addToNode(nodeName, info);
  }

  updatePod(pod: Pod): void {
    this.addPod(pod);
  }

  removePod(pod: Pod): void {
    this.removePodByKey(podKey(pod));
  }

  /** Counts the pod on `nodeName` from now on, until the informer confirms it or forgetPod. */
  assumePod(info: PodInfo, nodeName: string): void {
    this.removePodByKey(info.key);
    const pod: Pod = { ...info.pod, spec: { ...info.pod.spec!, nodeName } };
    const assumed: PodInfo = { ...info, pod };
    this.podStates.set(info.key, { info: assumed, nodeName, assumed: true, bindingFinished: false });
    this.addToNode(nodeName, assumed);
  }

  finishBinding(key: string): void {
    const s = this.podStates.get(key);
    if (s?.assumed) s.bindingFinished = true;
  }

  /** Drops an assumed pod whose binding failed. */
  forgetPod(key: string): void {
    const s = this.podStates.get(key);
    if (s?.assumed) this.removePodByKey(key);
  }

  isAssumed(key: string): boolean {
    return this.podStates.get(key)?.assumed === true;
  }

  /** The node a pod is counted on (bound or assumed). */
  nodeOf(key: string): string | undefined {
    return this.podStates.get(key)?.nodeName;
  }

  podCount(): number {
    return this.podStates.size;
  }

  private addToNode(nodeName: string, info: PodInfo): void {
    let ni = this.nodeInfos.get(nodeName);
    if (!ni) this.nodeInfos.set(nodeName, (ni = new NodeInfo(nodeName, this.table)));
    ni.addPod(info);
    this.trackAffinity(ni);
  }

  private removePodByKey(key: string): void {
    const s = this.podStates.get(key);
    if (!s) return;
    this.podStates.delete(key);
    const ni = this.nodeInfos.get(s.nodeName);
    if (!ni) return;
    ni.removePod(key);
    this.trackAffinity(ni);
    if (!ni.node && ni.pods.size === 0) this.dropNodeInfo(ni);
  }

  private dropNodeInfo(ni: NodeInfo): void {
    this.nodeInfos.delete(ni.name);
    ni.detach();
  }

  /** Rows of the shared node table in use (one per NodeInfo). */
  tableRows(): number {
    return this.table.size;
  }

  private trackAffinity(ni: NodeInfo): void {
    const had = this.withAffinity.has(ni);
    const has = ni.podsWithAffinity.size > 0;
    if (had !== has) {
      if (has) this.withAffinity.add(ni);
      else this.withAffinity.delete(ni);
      this.affinityList = undefined;
    }
    const hadAnti = this.withAntiAffinity.has(ni);
    const hasAnti = ni.podsWithRequiredAntiAffinity.size > 0;
    if (hadAnti !== hasAnti) {
      if (hasAnti) this.withAntiAffinity.add(ni);
      else this.withAntiAffinity.delete(ni);
      this.antiAffinityList = undefined;
    }
  }
}

/** Whether two versions of a bound pod count the same for scheduling (labels, requests, affinity, volumes, deletion). */
function samePodScheduling(a: Pod, b: Pod): boolean {
  if (a === b) return true;
  if (a.metadata?.resourceVersion && a.metadata.resourceVersion === b.metadata?.resourceVersion) return true;
  if (!!a.metadata?.deletionTimestamp !== !!b.metadata?.deletionTimestamp) return false;
  if (!deepEqual(a.metadata?.labels ?? {}, b.metadata?.labels ?? {})) return false;
  // the spec of a bound pod changes rarely (image, tolerations, resize); compare what we parse
  const sa = a.spec;
  const sb = b.spec;
  return (
    sameResources(sa?.containers, sb?.containers) &&
    sameResources(sa?.initContainers, sb?.initContainers) &&
    deepEqual(sa?.overhead, sb?.overhead) &&
    deepEqual(sa?.affinity, sb?.affinity) &&
    deepEqual(sa?.volumes, sb?.volumes)
  );
}

function sameResources(a: readonly { resources?: object }[] | undefined, b: readonly { resources?: object }[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!deepEqual(a[i].resources, b[i].resources)) return false;
  return true;
}
