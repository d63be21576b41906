// What the scheduler keeps per pod and per node: requests, affinity terms and taints parsed once,
// and per-node sums of what the pods on it request, so that a filter is arithmetic, not a scan.
import type { Container, Node, Pod, PodAffinityTerm, ResourceRequirements, Taint } from 'kubernetes-types/core/v1.js';
import { labelsMatch, selectorFromLabelSelector, type LabelRequirement } from '../api/labels.js';
import { milliValue, parseQuantity, value } from '../api/quantity.js';

/** Requests a container without cpu/memory requests counts as, for spreading (upstream's non-zero defaults). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** only meaningful for a node's allocatable */
  allowedPodNumber: number;
  /** extended resources, hugepages and anything else, by name */
  scalar?: Map<string, number>;
}

export const emptyResource = (): Resource => ({ milliCPU: 0, memory: 0, ephemeralStorage: 0, allowedPodNumber: 0 });

/** The number a quantity stands for (milli-units for cpu); parseQuantity remembers the spellings it parsed. */
function quantityNumber(name: string, q: unknown): number {
  if (typeof q !== 'string' && typeof q !== 'number') return 0;
  try {
    const parsed = parseQuantity(q);
    return Number(name === 'cpu' ? milliValue(parsed) : value(parsed));
  } catch {
    return 0;
  }
}

function addList(r: Resource, list: Record<string, unknown> | undefined, sign = 1): void {
  if (!list) return;
  for (const name in list) addOne(r, name, sign * quantityNumber(name, list[name]));
}

function addOne(r: Resource, name: string, n: number): void {
  switch (name) {
    case 'cpu':
      r.milliCPU += n;
      break;
    case 'memory':
      r.memory += n;
      break;
    case 'ephemeral-storage':
      r.ephemeralStorage += n;
      break;
    case 'pods':
      r.allowedPodNumber += n;
      break;
    default:
      (r.scalar ??= new Map()).set(name, (r.scalar.get(name) ?? 0) + n);
  }
}

export function addResource(into: Resource, r: Resource, sign = 1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  into.allowedPodNumber += sign * r.allowedPodNumber;
  if (r.scalar) for (const [k, v] of r.scalar) (into.scalar ??= new Map()).set(k, (into.scalar.get(k) ?? 0) + sign * v);
}

function maxResource(into: Resource, r: Resource): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  if (r.scalar) for (const [k, v] of r.scalar) (into.scalar ??= new Map()).set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

const cloneResource = (r: Resource): Resource => ({ ...r, scalar: r.scalar ? new Map(r.scalar) : undefined });

/** A resource list (a node's allocatable, a container's requests) as numbers: milli-cores, bytes, counts. */
export function resourceFromList(list: Record<string, unknown> | undefined): Resource {
  const r = emptyResource();
  addList(r, list);
  return r;
}

function containerRequests(c: Container, nonZero: boolean): Resource {
  const req = (c.resources as ResourceRequirements | undefined)?.requests as Record<string, unknown> | undefined;
  const r = resourceFromList(req);
  if (nonZero) {
    if (!req || req.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
    if (!req || req.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/**
 * What a pod asks of a node: containers summed, each init container at its peak (restartable
 * sidecars keep running beside what starts after them), the largest of those, plus overhead.
 * `nonZero` counts missing cpu/memory requests as the defaults, as scoring does.
 */
export function podRequests(pod: Pod, nonZero = false): Resource {
  const spec = pod.spec;
  const reqs = emptyResource();
  for (const c of spec?.containers ?? []) addResource(reqs, containerRequests(c, nonZero));
  const sidecars = emptyResource();
  const initPeak = emptyResource();
  for (const c of spec?.initContainers ?? []) {
    let r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      addResource(reqs, r);
      addResource(sidecars, r);
      r = cloneResource(sidecars);
    } else {
      r = cloneResource(r);
      addResource(r, sidecars);
    }
    maxResource(initPeak, r);
  }
  maxResource(reqs, initPeak);
  addList(reqs, spec?.overhead as Record<string, unknown> | undefined);
  return reqs;
}

/** A pod (anti-)affinity term ready to match: namespaces resolved, selector parsed. */
export interface AffinityTerm {
  topologyKey: string;
  /** requirements; null = the selector is missing or invalid and matches nothing */
  selector: LabelRequirement[] | null;
  namespaces: Set<string>;
  /** null = no namespace selector; [] = every namespace */
  namespaceSelector: LabelRequirement[] | null;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

function parseSelector(sel: PodAffinityTerm['labelSelector']): LabelRequirement[] | null {
  if (!sel) return null;
  try {
    return selectorFromLabelSelector(sel);
  } catch {
    return null;
  }
}

function parseTerm(term: PodAffinityTerm, pod: Pod): AffinityTerm {
  const podLabels = pod.metadata?.labels ?? {};
  let selector = parseSelector(term.labelSelector);
  // matchLabelKeys / mismatchLabelKeys add the pod's own values of those keys to the selector
  if (selector) {
    const extra: LabelRequirement[] = [];
    for (const k of term.matchLabelKeys ?? []) if (k in podLabels) extra.push({ key: k, operator: 'In', values: [podLabels[k]] });
    for (const k of term.mismatchLabelKeys ?? []) if (k in podLabels) extra.push({ key: k, operator: 'NotIn', values: [podLabels[k]] });
    if (extra.length) selector = [...selector, ...extra];
  }
  const namespaces = new Set(term.namespaces ?? []);
  let namespaceSelector: LabelRequirement[] | null = null;
  if (term.namespaceSelector) namespaceSelector = parseSelector(term.namespaceSelector) ?? null;
  if (namespaces.size === 0 && !term.namespaceSelector) namespaces.add(pod.metadata?.namespace ?? '');
  return { topologyKey: term.topologyKey, selector, namespaces, namespaceSelector };
}

/** Namespace labels by name, for terms with a namespaceSelector. */
export type NamespaceLabels = (namespace: string) => Record<string, string> | undefined;

/** Whether `pod` is selected by the term (namespace and labels). */
export function termMatchesPod(term: AffinityTerm, pod: PodInfo, nsLabels: NamespaceLabels): boolean {
  if (!term.selector) return false;
  if (!term.namespaces.has(pod.namespace)) {
    if (!term.namespaceSelector) return false;
    if (term.namespaceSelector.length > 0 && !labelsMatch(term.namespaceSelector, nsLabels(pod.namespace))) return false;
  }
  return labelsMatch(term.selector, pod.labels);
}

/** A pod with what scheduling needs of it computed once. */
export interface PodInfo {
  pod: Pod;
  key: string;
  namespace: string;
  labels: Record<string, string>;
  requests: Resource;
  /** cpu and memory with defaults for missing requests (scoring only) */
  nonZeroMilliCPU: number;
  nonZeroMemory: number;
  requiredAffinity: AffinityTerm[];
  requiredAntiAffinity: AffinityTerm[];
  preferredAffinity: WeightedAffinityTerm[];
  preferredAntiAffinity: WeightedAffinityTerm[];
  /** PVC names (in the pod's namespace) the pod mounts */
  claims: string[];
}

export const podKey = (pod: Pod): string => `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;

export function newPodInfo(pod: Pod): PodInfo {
  const a = pod.spec?.affinity;
  const nonZero = podRequests(pod, true);
  const claims: string[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) claims.push(v.persistentVolumeClaim.claimName);
    else if (v.ephemeral) claims.push(`${pod.metadata?.name ?? ''}-${v.name}`);
  }
  return {
    pod,
    key: podKey(pod),
    namespace: pod.metadata?.namespace ?? '',
    labels: pod.metadata?.labels ?? {},
    requests: podRequests(pod),
    nonZeroMilliCPU: nonZero.milliCPU,
    nonZeroMemory: nonZero.memory,
    requiredAffinity: (a?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(t, pod)),
    requiredAntiAffinity: (a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => parseTerm(t, pod)),
    preferredAffinity: (a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => ({ ...parseTerm(w.podAffinityTerm, pod), weight: w.weight })),
    preferredAntiAffinity: (a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => ({ ...parseTerm(w.podAffinityTerm, pod), weight: w.weight })),
    claims,
  };
}

export const hasPodAffinity = (p: PodInfo): boolean =>
  p.requiredAffinity.length + p.requiredAntiAffinity.length + p.preferredAffinity.length + p.preferredAntiAffinity.length > 0;

// A row of a NodeTable: what filters and scores read of every node they look at.
const ALLOC_CPU = 0;
const ALLOC_MEMORY = 1;
const ALLOC_EPHEMERAL = 2;
const ALLOC_PODS = 3;
const REQ_CPU = 4;
const REQ_MEMORY = 5;
const REQ_EPHEMERAL = 6;
const POD_COUNT = 7;
const NON_ZERO_CPU = 8;
const NON_ZERO_MEMORY = 9;
const STRIDE = 10;

/**
 * The numbers of many NodeInfos packed in one Float64Array, a row per node, rows in the order the
 * nodes were added. A scheduling cycle filters hundreds of nodes; reading each node's resources from
 * its Resource objects (memory sizes are boxed numbers) costs a dozen scattered cache lines per node,
 * a row costs one or two, and neighbouring nodes sit in neighbouring rows.
 */
export class NodeTable {
  data: Float64Array;
  private used = 0;
  private readonly free: number[] = [];

  constructor(capacity = 64) {
    this.data = new Float64Array(Math.max(1, capacity) * STRIDE);
  }

  /** The offset of a zeroed row. */
  allocate(): number {
    const slot = this.free.pop() ?? this.used++;
    if ((slot + 1) * STRIDE > this.data.length) {
      const grown = new Float64Array(Math.max((slot + 1) * STRIDE, 2 * this.data.length));
      grown.set(this.data);
      this.data = grown;
    }
    return slot * STRIDE;
  }

  release(row: number): void {
    this.data.fill(0, row, row + STRIDE);
    this.free.push(row / STRIDE);
  }

  /** Rows in use. */
  get size(): number {
    return this.used - this.free.length;
  }
}

// nodes without taints share one empty list, which a scan over many nodes finds in cache
const NO_TAINTS: Taint[] = [];
const orNone = (taints: Taint[]): Taint[] => (taints.length ? taints : NO_TAINTS);

/**
 * A node and the sums over the pods on it (bound or assumed). `node` is undefined while pods name
 * a node the cache has not seen yet. `allocatable` and `requested` are the full sums; the numbers
 * filters and scores read per node are also kept in a row of a NodeTable (read them through the getters).
 */
export class NodeInfo {
  // the fields every filter reads come first: together in the object's first cache line
  private table: NodeTable;
  private row: number;
  node?: Node;
  unschedulable = false;
  /** NoSchedule and NoExecute taints: the ones that filter */
  filterTaints: Taint[] = NO_TAINTS;
  preferNoScheduleTaints: Taint[] = NO_TAINTS;
  labels: Record<string, string> = {};
  allocatable: Resource = emptyResource();
  requested: Resource = emptyResource();
  readonly pods = new Map<string, PodInfo>();
  /** pods with any pod (anti-)affinity term */
  readonly podsWithAffinity = new Set<PodInfo>();
  readonly podsWithRequiredAntiAffinity = new Set<PodInfo>();
  /** `namespace/claim` → pods using it */
  readonly pvcRefCounts = new Map<string, number>();
  /** bumped on every change */
  generation = 0;

  constructor(
    readonly name: string,
    table?: NodeTable,
  ) {
    this.table = table ?? new NodeTable(1);
    this.row = this.table.allocate();
  }

  get allocatableMilliCPU(): number {
    return this.table.data[this.row + ALLOC_CPU];
  }
  get allocatableMemory(): number {
    return this.table.data[this.row + ALLOC_MEMORY];
  }
  get allocatableEphemeralStorage(): number {
    return this.table.data[this.row + ALLOC_EPHEMERAL];
  }
  get allowedPodNumber(): number {
    return this.table.data[this.row + ALLOC_PODS];
  }
  get requestedMilliCPU(): number {
    return this.table.data[this.row + REQ_CPU];
  }
  get requestedMemory(): number {
    return this.table.data[this.row + REQ_MEMORY];
  }
  get requestedEphemeralStorage(): number {
    return this.table.data[this.row + REQ_EPHEMERAL];
  }
  /** the number of pods on the node (pods.size) */
  get podCount(): number {
    return this.table.data[this.row + POD_COUNT];
  }
  /** cpu requested by the pods, missing requests counted as the non-zero default (scoring) */
  get nonZeroMilliCPU(): number {
    return this.table.data[this.row + NON_ZERO_CPU];
  }
  get nonZeroMemory(): number {
    return this.table.data[this.row + NON_ZERO_MEMORY];
  }

  /** Gives the row back to a shared table (the cache dropped this NodeInfo); the numbers stay readable. */
  detach(): void {
    const own = new NodeTable(1);
    const row = own.allocate();
    own.data.set(this.table.data.subarray(this.row, this.row + STRIDE), row);
    this.table.release(this.row);
    this.table = own;
    this.row = row;
  }

  setNode(node: Node | undefined): void {
    this.node = node;
    this.labels = node?.metadata?.labels ?? {};
    const taints = node?.spec?.taints ?? NO_TAINTS;
    this.filterTaints = orNone(taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'));
    this.preferNoScheduleTaints = orNone(taints.filter((t) => t.effect === 'PreferNoSchedule'));
    this.unschedulable = node?.spec?.unschedulable === true;
    const a = (this.allocatable = resourceFromList(node?.status?.allocatable as Record<string, unknown> | undefined));
    const d = this.table.data;
    const r = this.row;
    d[r + ALLOC_CPU] = a.milliCPU;
    d[r + ALLOC_MEMORY] = a.memory;
    d[r + ALLOC_EPHEMERAL] = a.ephemeralStorage;
    d[r + ALLOC_PODS] = a.allowedPodNumber;
    this.generation++;
  }

  addPod(p: PodInfo): void {
    this.removePod(p.key);
    this.pods.set(p.key, p);
    addResource(this.requested, p.requests);
    this.countPod(p, 1);
    if (hasPodAffinity(p)) this.podsWithAffinity.add(p);
    if (p.requiredAntiAffinity.length) this.podsWithRequiredAntiAffinity.add(p);
    for (const c of p.claims) {
      const k = `${p.namespace}/${c}`;
      this.pvcRefCounts.set(k, (this.pvcRefCounts.get(k) ?? 0) + 1);
    }
    this.generation++;
  }

  /** Removes the pod with `key`; the PodInfo removed, if it was there. */
  removePod(key: string): PodInfo | undefined {
    const p = this.pods.get(key);
    if (!p) return undefined;
    this.pods.delete(key);
    addResource(this.requested, p.requests, -1);
    this.countPod(p, -1);
    this.podsWithAffinity.delete(p);
    this.podsWithRequiredAntiAffinity.delete(p);
    for (const c of p.claims) {
      const k = `${p.namespace}/${c}`;
      const n = (this.pvcRefCounts.get(k) ?? 0) - 1;
      if (n > 0) this.pvcRefCounts.set(k, n);
      else this.pvcRefCounts.delete(k);
    }
    this.generation++;
    return p;
  }

  private countPod(p: PodInfo, sign: number): void {
    const d = this.table.data;
    const r = this.row;
    const q = this.requested;
    d[r + REQ_CPU] = q.milliCPU;
    d[r + REQ_MEMORY] = q.memory;
    d[r + REQ_EPHEMERAL] = q.ephemeralStorage;
    d[r + POD_COUNT] = this.pods.size;
    d[r + NON_ZERO_CPU] += sign * p.nonZeroMilliCPU;
    d[r + NON_ZERO_MEMORY] += sign * p.nonZeroMemory;
  }
}

/** A NodeInfo built from a node and the pods on it: for unit tests and tools. */
export function nodeInfoOf(node: Node, pods: Pod[] = []): NodeInfo {
  const ni = new NodeInfo(node.metadata?.name ?? '');
  ni.setNode(node);
  for (const p of pods) ni.addPod(newPodInfo(p));
  return ni;
}
