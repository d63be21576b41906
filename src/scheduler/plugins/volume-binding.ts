// VolumeBinding: a pod's PersistentVolumeClaims must exist; bound ones must have their volume
// reachable from the node; WaitForFirstConsumer claims are bound once the pod has a node: a free
// matching PersistentVolume is claimed (spec.claimRef), or the claim is annotated with the chosen
// node (volume.kubernetes.io/selected-node) for its provisioner. The pod is bound only once every
// claim is bound, which the PersistentVolume controller does.
import type { PersistentVolume, PersistentVolumeClaim, TopologySelectorTerm } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { parseQuantity, value } from '../../api/quantity.js';
import type { RestClient } from '../../client/rest.js';
import { nodeSelectorMatches } from '../corev1.js';
import {
  SKIP,
  errorStatus,
  unresolvable,
  type CycleState,
  type FilterPlugin,
  type Listers,
  type PreBindPlugin,
  type PreFilterPlugin,
  type ReservePlugin,
  type Snapshot,
  type Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const VOLUME_BINDING = 'VolumeBinding';
export const ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const ERR_REASON_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const ERR_REASON_PV_NOT_EXIST = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';
export const ERR_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';

export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
const ANN_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';
export const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

const STATE_KEY = 'PreFilter' + VOLUME_BINDING;
const BINDINGS_KEY = 'Reserve' + VOLUME_BINDING;

const BIND_CONFLICT = unresolvable(ERR_REASON_BIND_CONFLICT);
const NODE_CONFLICT = unresolvable(ERR_REASON_NODE_CONFLICT);
const PV_NOT_EXIST = unresolvable(ERR_REASON_PV_NOT_EXIST);

interface ClaimToBind {
  claim: PersistentVolumeClaim;
  className: string;
  storageClass: StorageClass;
}

interface PreFilterState {
  bound: PersistentVolumeClaim[];
  toBind: ClaimToBind[];
}

/** What Reserve decided per claim: a free volume to claim, or dynamic provisioning on the node. */
interface ClaimBinding {
  claim: PersistentVolumeClaim;
  volume?: PersistentVolume;
}

export const claimClass = (c: PersistentVolumeClaim): string => c.metadata?.annotations?.[ANN_STORAGE_CLASS] ?? c.spec?.storageClassName ?? '';
const volumeClass = (v: PersistentVolume): string => v.metadata?.annotations?.[ANN_STORAGE_CLASS] ?? v.spec?.storageClassName ?? '';
const claimKey = (c: PersistentVolumeClaim) => `${c.metadata?.namespace ?? ''}/${c.metadata?.name ?? ''}`;

function bytes(q: unknown): number {
  if (typeof q !== 'string' && typeof q !== 'number') return 0;
  try {
    return Number(value(parseQuantity(q)));
  } catch {
    return 0;
  }
}

function volumeNodeAffinityMatches(v: PersistentVolume, node: NodeInfo): boolean {
  const required = v.spec?.nodeAffinity?.required;
  return !required || (!!node.node && nodeSelectorMatches(required, node.node));
}

function topologyAllows(terms: readonly TopologySelectorTerm[] | undefined, node: NodeInfo): boolean {
  if (!terms?.length) return true;
  return terms.some((t) => (t.matchLabelExpressions ?? []).every((e) => e.values.includes(node.labels[e.key])));
}

export interface VolumeBindingOptions {
  /** how the plugin writes claims and volumes (PreBind); without one PreBind fails */
  client?: RestClient;
  /** how long PreBind waits for the claims to be bound (default 600 s, as upstream) */
  bindTimeoutMs?: number;
  /** how often PreBind looks again (default 1 s) */
  pollMs?: number;
  clock?: { now(): number; setTimeout(fn: () => void, ms: number): unknown };
}

export class VolumeBindingPlugin implements PreFilterPlugin, FilterPlugin, ReservePlugin, PreBindPlugin {
  readonly name = VOLUME_BINDING;
  private listers?: Listers;
  /** volumes claimed by a reserved pod whose PUT has not been seen yet: volume name → claim key */
  private readonly assumedVolumes = new Map<string, string>();
  private closed = false;

  constructor(private readonly opts: VolumeBindingOptions = {}) {}

  preFilter(state: CycleState, pod: PodInfo, snapshot: Snapshot): Status | undefined {
    if (!pod.claims.length) return SKIP;
    this.listers = snapshot.listers;
    const s: PreFilterState = { bound: [], toBind: [] };
    const isEphemeral = new Set((pod.pod.spec?.volumes ?? []).filter((v) => v.ephemeral).map((v) => `${pod.pod.metadata?.name ?? ''}-${v.name}`));
    for (const name of pod.claims) {
      const claim = snapshot.listers.persistentVolumeClaim(pod.namespace, name);
      if (!claim) {
        if (isEphemeral.has(name)) return unresolvable(`waiting for ephemeral volume controller to create the persistentvolumeclaim "${name}"`);
        return unresolvable(`persistentvolumeclaim "${name}" not found`);
      }
      if (claim.metadata?.deletionTimestamp) return unresolvable(`persistentvolumeclaim "${name}" is being deleted`);
      if (claim.spec?.volumeName) {
        s.bound.push(claim);
        continue;
      }
      const className = claimClass(claim);
      const storageClass = className ? snapshot.listers.storageClass(className) : undefined;
      if (className && !storageClass) return unresolvable(`storageclass.storage.k8s.io "${className}" not found`);
      if (storageClass?.volumeBindingMode !== 'WaitForFirstConsumer') return unresolvable(ERR_UNBOUND_IMMEDIATE);
      s.toBind.push({ claim, className, storageClass });
    }
    state.write(STATE_KEY, s);
    return undefined;
  }

  filter(state: CycleState, _pod: PodInfo, node: NodeInfo): Status | undefined {
    const s = state.read<PreFilterState>(STATE_KEY);
    if (!s) return undefined;
    for (const claim of s.bound) {
      const v = this.listers?.persistentVolume(claim.spec!.volumeName!);
      if (!v) return PV_NOT_EXIST;
      if (!volumeNodeAffinityMatches(v, node)) return NODE_CONFLICT;
    }
    if (s.toBind.length && !this.bindingsFor(s.toBind, node)) return BIND_CONFLICT;
    return undefined;
  }

  /** A decision for every claim on this node, or undefined when one cannot be satisfied there. */
  private bindingsFor(toBind: readonly ClaimToBind[], node: NodeInfo): ClaimBinding[] | undefined {
    const taken = new Set<string>();
    const out: ClaimBinding[] = [];
    for (const c of toBind) {
      const volume = this.findVolume(c, node, taken);
      if (volume) {
        taken.add(volume.metadata!.name!);
        out.push({ claim: c.claim, volume });
        continue;
      }
      if (c.storageClass.provisioner === NO_PROVISIONER || !topologyAllows(c.storageClass.allowedTopologies, node)) return undefined;
      out.push({ claim: c.claim });
    }
    return out;
  }

  /** The smallest free volume of the claim's class that is big enough, has its access modes and reaches the node. */
  private findVolume(c: ClaimToBind, node: NodeInfo, taken: Set<string>): PersistentVolume | undefined {
    const want = bytes(c.claim.spec?.resources?.requests?.storage);
    const modes = c.claim.spec?.accessModes ?? [];
    const volumeMode = c.claim.spec?.volumeMode ?? 'Filesystem';
    const key = claimKey(c.claim);
    let best: PersistentVolume | undefined;
    let bestSize = Infinity;
    for (const v of this.listers?.persistentVolumes() ?? []) {
      const name = v.metadata?.name ?? '';
      if (taken.has(name) || v.metadata?.deletionTimestamp) continue;
      const ref = v.spec?.claimRef;
      const assumed = this.assumedVolumes.get(name);
      if (ref && `${ref.namespace}/${ref.name}` !== key) continue;
      if (assumed && assumed !== key) continue;
      if (!ref && v.status?.phase && v.status.phase !== 'Available') continue;
      if (volumeClass(v) !== c.className) continue;
      if ((v.spec?.volumeMode ?? 'Filesystem') !== volumeMode) continue;
      const size = bytes(v.spec?.capacity?.storage);
      if (size < want) continue;
      const have = v.spec?.accessModes ?? [];
      if (!modes.every((m) => have.includes(m))) continue;
      if (!volumeNodeAffinityMatches(v, node)) continue;
      if (size < bestSize) {
        best = v;
        bestSize = size;
      }
    }
    return best;
  }

  /** Pending PreBind waits end (with an error) at their next look. */
  close(): void {
    this.closed = true;
  }

  reserve(state: CycleState, _pod: PodInfo, node: NodeInfo): Status | undefined {
    const s = state.read<PreFilterState>(STATE_KEY);
    if (!s?.toBind.length) return undefined;
    const bindings = this.bindingsFor(s.toBind, node);
    if (!bindings) return BIND_CONFLICT;
    for (const b of bindings) if (b.volume) this.assumedVolumes.set(b.volume.metadata!.name!, claimKey(b.claim));
    state.write(BINDINGS_KEY, bindings);
    return undefined;
  }

  unreserve(state: CycleState): void {
    for (const b of state.read<ClaimBinding[]>(BINDINGS_KEY) ?? []) if (b.volume) this.assumedVolumes.delete(b.volume.metadata!.name!);
  }

  async preBind(state: CycleState, pod: PodInfo, nodeName: string): Promise<Status | undefined> {
    const s = state.read<PreFilterState>(STATE_KEY);
    const bindings = state.read<ClaimBinding[]>(BINDINGS_KEY) ?? [];
    if (!s || (!bindings.length && s.bound.every((c) => this.claimBound(c)))) return undefined;
    const client = this.opts.client;
    if (!client) return errorStatus('binding volumes: no API client');
    const pvs = client.resource<PersistentVolume>({ group: '', version: 'v1', resource: 'persistentvolumes', namespaced: false });
    const pvcs = client.resource<PersistentVolumeClaim>({ group: '', version: 'v1', resource: 'persistentvolumeclaims', namespaced: true }, pod.namespace);
    try {
      for (const b of bindings) {
        const m = b.claim.metadata!;
        if (b.volume) {
          const v = b.volume;
          await pvs.update({
            ...v,
            metadata: { ...v.metadata, annotations: { ...(v.metadata?.annotations ?? {}), [ANN_BOUND_BY_CONTROLLER]: 'yes' } },
            spec: { ...v.spec, claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion } },
          });
        } else if (m.annotations?.[ANN_SELECTED_NODE] !== nodeName) {
          await pvcs.patch(m.name!, 'merge', { metadata: { annotations: { [ANN_SELECTED_NODE]: nodeName } } });
        }
      }
    } catch (e) {
      return errorStatus(`binding volumes: ${(e as Error).message}`);
    }
    return this.waitForBound(pod, bindings, nodeName);
  }

  private claimBound(c: PersistentVolumeClaim): boolean {
    const cur = this.listers?.persistentVolumeClaim(c.metadata?.namespace ?? '', c.metadata?.name ?? '') ?? c;
    if (!cur.spec?.volumeName) return false;
    const v = this.listers?.persistentVolume(cur.spec.volumeName);
    const ref = v?.spec?.claimRef;
    if (!ref || ref.name !== cur.metadata?.name || ref.namespace !== cur.metadata?.namespace) return false;
    if (ref.uid && ref.uid !== cur.metadata?.uid) return false;
    return cur.status?.phase === 'Bound' || cur.metadata?.annotations?.[ANN_BIND_COMPLETED] !== undefined;
  }

  private waitForBound(pod: PodInfo, bindings: ClaimBinding[], nodeName: string): Promise<Status | undefined> {
    const clock = this.opts.clock ?? { now: () => Date.now(), setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms).unref() };
    const deadline = clock.now() + (this.opts.bindTimeoutMs ?? 600_000);
    const poll = this.opts.pollMs ?? 1000;
    const names = pod.claims;
    // a provisioner that gives up removes the selected-node annotation; only notice that once it was seen
    const annotated = new Set<string>();
    return new Promise((resolve) => {
      const check = () => {
        if (this.closed) return resolve(errorStatus('binding volumes: the scheduler is stopping'));
        let all = true;
        for (const name of names) {
          const c = this.listers?.persistentVolumeClaim(pod.namespace, name);
          if (!c) return resolve(errorStatus(`binding volumes: persistentvolumeclaim "${name}" not found`));
          const provisioning = bindings.some((b) => b.claim.metadata?.name === name && !b.volume);
          if (provisioning && !c.spec?.volumeName) {
            if (c.metadata?.annotations?.[ANN_SELECTED_NODE] !== undefined) annotated.add(name);
            else if (annotated.has(name)) return resolve(errorStatus(`binding volumes: provisioning failed for PVC "${name}"`));
          }
          if (!this.claimBound(c)) all = false;
        }
        if (all) return resolve(undefined);
        if (clock.now() >= deadline) return resolve(errorStatus(`binding volumes: timed out waiting for the condition on node "${nodeName}"`));
        clock.setTimeout(check, poll);
      };
      check();
    });
  }
}
