// NodeRestriction (upstream plugin/pkg/admission/noderestriction): a node user may only create mirror pods
// bound to itself that reference no other objects, delete and update the status of pods bound to itself,
// modify only its own Node object (without changing its taints or setting node-restriction.kubernetes.io/
// and other unknown kubernetes.io / k8s.io labels) and only its own Lease. Everyone else passes untouched.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { deepEqual } from '../../api/object.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import { NODE_LEASE_NAMESPACE, nodeIdentity, podReferences } from '../authz/node.js';
import type { AdmissionPlugin, Registry } from '../registry.js';
import { admissionForbidden } from './common.js';

export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';
export const NODE_RESTRICTION_LABEL_NAMESPACE = 'node-restriction.kubernetes.io';

const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'node.kubernetes.io/instance-type',
  'beta.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
]);

const labelNamespace = (key: string) => (key.includes('/') ? key.slice(0, key.indexOf('/')) : '');
const inNamespace = (ns: string, of: string) => ns === of || ns.endsWith(`.${of}`);

/** Labels a kubelet may set on its own Node (upstream kubeletapis.IsKubeletLabel). */
export function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((k) => inNamespace(ns, k));
}

/** The changed label keys a node may not add, remove or modify, sorted. */
export function forbiddenNodeLabels(now: Record<string, string> | undefined, before: Record<string, string> | undefined): string[] {
  const changed = new Set<string>();
  for (const [k, v] of Object.entries(now ?? {})) if (before?.[k] !== v) changed.add(k);
  for (const [k, v] of Object.entries(before ?? {})) if (now?.[k] !== v) changed.add(k);
  const out: string[] = [];
  for (const k of changed) {
    const ns = labelNamespace(k);
    const kubernetesLabel = inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
    if (inNamespace(ns, NODE_RESTRICTION_LABEL_NAMESPACE) || (kubernetesLabel && !isKubeletLabel(k))) out.push(k);
  }
  return out.sort();
}

async function podOf(reg: Registry, info: KindInfo, namespace: string | undefined, name: string): Promise<Pod | undefined> {
  return (await reg.getItem(info, namespace, name))?.obj as Pod | undefined;
}

export function nodeRestriction(nodeKind: () => KindInfo | undefined): AdmissionPlugin {
  const admitPodCreate = async (nodeName: string, op: 'create', info: KindInfo, pod: Pod, reg: Registry) => {
    const deny = (why: string) => admissionForbidden(op, info, pod as KubeObject, why);
    if (pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] === undefined)
      throw deny(`pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node "${nodeName}" can only create mirror pods`);
    if (pod.spec?.nodeName !== nodeName) throw deny(`node "${nodeName}" can only create pods with spec.nodeName set to itself`);
    const owners = pod.metadata?.ownerReferences ?? [];
    if (owners.length > 1) throw deny(`node "${nodeName}" can only create pods with a single owner reference set to itself`);
    const owner = owners[0];
    if (!owner || owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== nodeName) throw deny(`node "${nodeName}" can only create pods with an owner reference set to itself`);
    if (!owner.controller) throw deny(`node "${nodeName}" can only create pods with a controller owner reference set to itself`);
    if (owner.blockOwnerDeletion) throw deny(`node "${nodeName}" must not set blockOwnerDeletion on an owner reference`);
    const nodes = nodeKind();
    const node = nodes && (await reg.getItem(nodes, undefined, nodeName))?.obj;
    if (!node) throw deny(`error looking up node ${nodeName} to verify uid: nodes "${nodeName}" not found`);
    if (owner.uid !== node.metadata?.uid) throw deny(`node ${nodeName} UID mismatch: expected ${owner.uid} got ${node.metadata?.uid}`);
    if (pod.spec?.serviceAccountName) throw deny(`node "${nodeName}" can not create pods that reference a service account`);
    const refs = podReferences(pod);
    if (refs.some((r) => r.startsWith('secret/'))) throw deny(`node "${nodeName}" can not create pods that reference secrets`);
    if (refs.some((r) => r.startsWith('configmap/'))) throw deny(`node "${nodeName}" can not create pods that reference configmaps`);
    if ((pod.spec?.volumes ?? []).some((v) => v.projected?.sources?.some((s) => (s as { clusterTrustBundle?: unknown }).clusterTrustBundle)))
      throw deny(`node "${nodeName}" can not create pods that reference clustertrustbundles`);
    if ((pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim)) throw deny(`node "${nodeName}" can not create pods that reference persistentvolumeclaims`);
  };

  return {
    name: 'NodeRestriction',
    async admit(op, info, obj, old, reg, ctx) {
      // the acting user, passed by the handler (AdmissionContext.user)
      const user = ctx?.user;
      if (!user) return;
      const { isNode, nodeName } = nodeIdentity(user);
      // a node identity that is also in system:masters (test harnesses) is not restricted, as RBAC does not restrict it
      if (!isNode || user.groups.includes('system:masters')) return;
      const deny = (why: string) => admissionForbidden(op, info, obj, why);
      if (!nodeName) throw deny(`could not determine node from user ${JSON.stringify(user.username)}`);
      const subresource = ctx?.subresource ?? '';
      if (info.group === '' && info.resource === 'pods') {
        if (subresource === 'status') {
          if (op !== 'update') throw deny(`unexpected operation "${op.toUpperCase()}"`);
          const before = (old ?? obj) as Pod;
          if (before.spec?.nodeName !== nodeName) throw deny(`node "${nodeName}" can only update pod status for pods with spec.nodeName set to itself`);
          if (!deepEqual(before.metadata?.labels ?? {}, (obj as Pod).metadata?.labels ?? {})) throw deny(`node "${nodeName}" cannot update labels through pod status`);
          return;
        }
        if (subresource) throw deny(`unexpected pod subresource "${subresource}", only 'status' and 'eviction' are allowed`);
        if (op === 'create') return admitPodCreate(nodeName, op, info, obj as Pod, reg);
        if (op === 'delete') {
          const pod = (await podOf(reg, info, obj.metadata?.namespace, obj.metadata?.name ?? '')) ?? (obj as Pod);
          if (pod?.spec?.nodeName !== nodeName) throw deny(`node "${nodeName}" can only delete pods with spec.nodeName set to itself`);
          return;
        }
        throw deny(`unexpected operation "${op.toUpperCase()}", node "${nodeName}" can only create and delete mirror pods`);
      }
      if (info.group === '' && info.resource === 'nodes') {
        const requested = obj.metadata?.name ?? '';
        if (requested !== nodeName) throw deny(`node "${nodeName}" is not allowed to modify node "${requested}"`);
        const node = obj as Node;
        if (op === 'create') {
          const bad = forbiddenNodeLabels(node.metadata?.labels, undefined);
          if (bad.length) throw deny(`node "${nodeName}" is not allowed to set the following labels: ${bad.join(', ')}`);
        } else if (op === 'update' && old) {
          const before = old as Node;
          if (!deepEqual(node.spec?.taints ?? [], before.spec?.taints ?? [])) throw deny(`node "${nodeName}" is not allowed to modify taints`);
          const bad = forbiddenNodeLabels(node.metadata?.labels, before.metadata?.labels);
          if (bad.length) throw deny(`is not allowed to modify labels: ${bad.join(', ')}`);
        }
        return;
      }
      if (info.group === '' && info.resource === 'persistentvolumeclaims') {
        if (subresource !== 'status') throw deny('may only update PVC status');
        return;
      }
      if (info.group === 'coordination.k8s.io' && info.resource === 'leases') {
        if (obj.metadata?.namespace !== NODE_LEASE_NAMESPACE) throw deny(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
        if (obj.metadata?.name !== nodeName) throw deny('can only access node lease with the same name as the requesting node');
        return;
      }
      if (info.group === 'storage.k8s.io' && info.resource === 'csinodes' && obj.metadata?.name !== nodeName)
        throw deny('can only access CSINode with the same name as the requesting node');
    },
  };
}
