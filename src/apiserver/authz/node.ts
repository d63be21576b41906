// The Node authorizer (upstream plugin/pkg/auth/authorizer/node): requests of `system:node:<name>` users in
// the `system:nodes` group may read only the secrets, configmaps, persistent volume claims (and their
// volumes) and service account tokens of pods bound to that node, only their own Lease, and otherwise what
// the static node rules (the `system:node` role) allow. The graph of pod → object edges is fed by the
// store's watch of pods and claims, so a request costs no storage read. Field selectors are not part of our
// authorizer attributes, so pod and node reads follow the rules upstream applies without
// AuthorizeNodeWithSelectors (the static rules), not the selector-scoped ones.
import type { PersistentVolumeClaim, Pod, PodSpec } from 'kubernetes-types/core/v1.js';
import type { Store, StoreEvent } from '../../storage/store.js';
import { eventObject, type UserInfo } from '../registry.js';
import type { Decision } from './rbac.js';
import { nodeRoleRules } from '../bootstrap-policy.js';
import { ruleAllows, type Attributes } from './rules.js';

export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/**
 * `{ isNode, nodeName }` as upstream's default NodeIdentifier: a node is a user named `system:node:<name>`
 * in the `system:nodes` group; the name may be empty (an unidentifiable node).
 */
export function nodeIdentity(user: UserInfo): { isNode: boolean; nodeName: string } {
  if (!user.username.startsWith(NODE_USER_PREFIX) || !user.groups.includes(NODES_GROUP)) return { isNode: false, nodeName: '' };
  return { isNode: true, nodeName: user.username.slice(NODE_USER_PREFIX.length) };
}

const READ = ['get', 'list', 'watch'];

/** Upstream's NodeRules(): the rules of the `system:node` ClusterRole, and what every node may do. */
export const nodeRules = nodeRoleRules;

type RefKind = 'secret' | 'configmap' | 'pvc' | 'serviceaccount' | 'pod';

interface PodRefs {
  node: string;
  refs: string[];
  /** the pod had ephemeral containers (their references are the only ones a bound pod may gain) */
  ephemeral: boolean;
}

const refKey = (kind: RefKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

/** The objects a pod makes its node read (upstream VisitPodSecretNames / VisitPodConfigmapNames, claims, account). */
export function podReferences(pod: Pod): string[] {
  const ns = pod.metadata?.namespace ?? '';
  const podName = pod.metadata?.name ?? '';
  const spec: PodSpec | undefined = pod.spec;
  const out = new Set<string>([refKey('pod', ns, podName)]);
  if (!spec) return [...out];
  const add = (kind: RefKind, name: string | undefined) => name && out.add(refKey(kind, ns, name));
  add('serviceaccount', spec.serviceAccountName || spec.serviceAccount);
  for (const s of spec.imagePullSecrets ?? []) add('secret', s.name);
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const e of c.env ?? []) {
      add('secret', e.valueFrom?.secretKeyRef?.name);
      add('configmap', e.valueFrom?.configMapKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add('secret', e.secretRef?.name);
      add('configmap', e.configMapRef?.name);
    }
  }
  for (const v of spec.volumes ?? []) {
    add('secret', v.secret?.secretName);
    add('configmap', v.configMap?.name);
    add('pvc', v.persistentVolumeClaim?.claimName);
    if (v.ephemeral) add('pvc', `${podName}-${v.name}`);
    for (const src of v.projected?.sources ?? []) {
      add('secret', src.secret?.name);
      add('configmap', src.configMap?.name);
    }
    add('secret', v.azureFile?.secretName);
    add('secret', v.cephfs?.secretRef?.name);
    add('secret', v.cinder?.secretRef?.name);
    add('secret', v.flexVolume?.secretRef?.name);
    add('secret', v.iscsi?.secretRef?.name);
    add('secret', v.rbd?.secretRef?.name);
    add('secret', v.scaleIO?.secretRef?.name);
    add('secret', v.storageos?.secretRef?.name);
    add('secret', v.csi?.nodePublishSecretRef?.name);
  }
  return [...out];
}

/** Which objects each node may reach through the pods bound to it, kept current by the store's watch. */
export class NodeGraph {
  private readonly pods = new Map<string, PodRefs>();
  /** node → reference key → how many of its pods hold it */
  private readonly byNode = new Map<string, Map<string, number>>();
  /** namespace/name of a claim → the volume it is bound to */
  private readonly claimVolumes = new Map<string, string>();
  private watchers: { stop(): void }[] = [];

  constructor(
    private readonly store: Store,
    private readonly prefixes: { pods: string; persistentVolumeClaims: string } = { pods: '/core/pods/', persistentVolumeClaims: '/core/persistentvolumeclaims/' },
  ) {}

  async start(): Promise<void> {
    for (const [prefix, apply] of [
      [this.prefixes.pods, (ev: StoreEvent) => this.applyPod(ev)],
      [this.prefixes.persistentVolumeClaims, (ev: StoreEvent) => this.applyClaim(ev)],
    ] as const) {
      const listed = await this.store.list(prefix);
      for (const v of listed.items) apply({ type: 'ADDED', key: v.key, value: v.value, rev: listed.revision });
      this.watchers.push(this.store.watch(prefix, { afterRev: listed.revision, onEvent: apply }));
    }
  }

  stop(): void {
    for (const w of this.watchers) w.stop();
    this.watchers = [];
  }

  private applyPod(ev: StoreEvent): void {
    const old = this.pods.get(ev.key);
    // most pods are created unbound: nothing to parse until the scheduler binds them
    if (!old && (ev.type === 'DELETED' || !ev.value.includes('"nodeName"'))) return;
    // As upstream's graph populator: a bound pod keeps its node and uid, and every reference it holds is
    // immutable but those of ephemeral containers, so status writes need no parse.
    if (old && ev.type === 'MODIFIED' && !old.ephemeral && !ev.value.includes('"ephemeralContainers"')) return;
    let next: PodRefs | undefined;
    if (ev.type !== 'DELETED') {
      const pod = eventObject(ev) as Pod;
      const node = pod.spec?.nodeName;
      if (node) next = { node, refs: podReferences(pod), ephemeral: !!pod.spec?.ephemeralContainers?.length };
    }
    if (old) this.count(old, -1);
    if (next) {
      this.pods.set(ev.key, next);
      this.count(next, 1);
    } else this.pods.delete(ev.key);
  }

  private count(p: PodRefs, by: 1 | -1): void {
    let refs = this.byNode.get(p.node);
    if (!refs) this.byNode.set(p.node, (refs = new Map()));
    for (const k of p.refs) {
      const n = (refs.get(k) ?? 0) + by;
      if (n > 0) refs.set(k, n);
      else refs.delete(k);
    }
    if (refs.size === 0) this.byNode.delete(p.node);
  }

  private applyClaim(ev: StoreEvent): void {
    const id = ev.key.slice(this.prefixes.persistentVolumeClaims.length);
    const volume = ev.type === 'DELETED' ? undefined : (JSON.parse(ev.value) as PersistentVolumeClaim).spec?.volumeName;
    if (volume) this.claimVolumes.set(id, volume);
    else this.claimVolumes.delete(id);
  }

  /** Is `kind` namespace/name used by a pod bound to `node`? */
  reaches(node: string, kind: RefKind, namespace: string, name: string): boolean {
    return this.byNode.get(node)?.has(refKey(kind, namespace, name)) ?? false;
  }

  /** Is the persistent volume `name` bound to a claim of a pod on `node`? */
  reachesVolume(node: string, name: string): boolean {
    for (const k of this.byNode.get(node)?.keys() ?? []) {
      if (!k.startsWith('pvc/')) continue;
      if (this.claimVolumes.get(k.slice(4)) === name) return true;
    }
    return false;
  }
}

const NO: Decision = { allowed: false, reason: '' };
const YES: Decision = { allowed: true, reason: '' };
const no = (reason: string): Decision => ({ allowed: false, reason });

/** Decisions for node users; anyone else gets no opinion (allowed false, empty reason). */
export class NodeAuthorizer {
  private readonly rules = nodeRules();

  constructor(readonly graph: NodeGraph) {}

  authorize(a: Attributes): Decision {
    const { isNode, nodeName } = nodeIdentity(a.user);
    if (!isNode) return NO;
    if (!nodeName) return no(`unknown node for user ${JSON.stringify(a.user.username)}`);
    if (a.resourceRequest) {
      const core = a.apiGroup === '';
      if (core && a.resource === 'secrets') return this.readNamespaced(nodeName, 'secret', a);
      if (core && a.resource === 'configmaps') return this.readNamespaced(nodeName, 'configmap', a);
      if (core && a.resource === 'persistentvolumeclaims') return a.subresource === 'status' ? this.statusUpdate(nodeName, a) : this.get(nodeName, 'pvc', a);
      if (core && a.resource === 'persistentvolumes') {
        const d = this.getOnly(a);
        if (d) return d;
        return this.related(nodeName, a, () => this.graph.reachesVolume(nodeName, a.name));
      }
      if (core && a.resource === 'serviceaccounts') return this.createToken(nodeName, a);
      if (a.apiGroup === 'coordination.k8s.io' && a.resource === 'leases') return this.lease(nodeName, a);
      if (a.apiGroup === 'storage.k8s.io' && a.resource === 'csinodes') return this.csiNode(nodeName, a);
    }
    return this.rules.some((rule) => ruleAllows(a, rule)) ? YES : NO;
  }

  private related(nodeName: string, a: Attributes, test: () => boolean): Decision {
    if (!a.name) return no('No Object name found');
    return test() ? YES : no(`no relationship found between node '${nodeName}' and this object`);
  }

  private getOnly(a: Attributes): Decision | undefined {
    if (a.verb !== 'get') return no('can only get individual resources of this type');
    if (a.subresource) return no('cannot get subresource');
    return undefined;
  }

  private get(nodeName: string, kind: RefKind, a: Attributes): Decision {
    return this.getOnly(a) ?? this.related(nodeName, a, () => this.graph.reaches(nodeName, kind, a.namespace, a.name));
  }

  private readNamespaced(nodeName: string, kind: RefKind, a: Attributes): Decision {
    if (!READ.includes(a.verb)) return no('can only read resources of this type');
    if (a.subresource) return no('cannot read subresource');
    if (!a.namespace) return no('can only read namespaced object of this type');
    return this.related(nodeName, a, () => this.graph.reaches(nodeName, kind, a.namespace, a.name));
  }

  private statusUpdate(nodeName: string, a: Attributes): Decision {
    if (a.verb !== 'update' && a.verb !== 'patch') return no('can only get/update/patch this type');
    return this.related(nodeName, a, () => this.graph.reaches(nodeName, 'pvc', a.namespace, a.name));
  }

  private createToken(nodeName: string, a: Attributes): Decision {
    if (a.verb !== 'create' || !a.name) return no('can only create tokens for individual service accounts');
    if (a.subresource !== 'token') return no('can only create token subresource of serviceaccount');
    return this.related(nodeName, a, () => this.graph.reaches(nodeName, 'serviceaccount', a.namespace, a.name));
  }

  private lease(nodeName: string, a: Attributes): Decision {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return no('can only get, create, update, patch, or delete a node lease');
    if (a.namespace !== NODE_LEASE_NAMESPACE) return no(`can only access leases in the ${JSON.stringify(NODE_LEASE_NAMESPACE)} system namespace`);
    // on create the name is in the body: NodeRestriction checks it
    if (a.verb !== 'create' && a.name !== nodeName) return no('can only access node lease with the same name as the requesting node');
    return YES;
  }

  private csiNode(nodeName: string, a: Attributes): Decision {
    if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return no('can only get, create, update, patch, or delete a CSINode');
    if (a.subresource) return no('cannot authorize CSINode subresources');
    if (a.verb !== 'create' && a.name !== nodeName) return no('can only access CSINode with the same name as the requesting node');
    return YES;
  }
}
