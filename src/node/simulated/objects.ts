// The Node and Lease objects a simulated node registers, as a kubelet would.
import type { Node, NodeCondition, Taint } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { createHash } from 'node:crypto';
import { microTimeRFC3339, nowRFC3339 } from '../../api/names.js';

export const LABEL_SIMULATED = 'timonel.io/simulated';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const KUBELET_VERSION = 'v1.33.0+timonel';
export const LEASE_DURATION_SECONDS = 40;

export interface NodeCapacity {
  cpu: string;
  memory: string;
  pods: string | number;
  'ephemeral-storage'?: string;
  [resource: string]: string | number | undefined;
}

export interface NodeSpecOptions {
  name: string;
  hostIP: string;
  podCIDR: string;
  capacity: NodeCapacity;
  labels: Record<string, string>;
  taints: Taint[];
}

const uuidOf = (s: string) => {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

export function readyConditions(now: number, previous?: NodeCondition[]): NodeCondition[] {
  const t = nowRFC3339(now);
  const make = (type: string, status: string, reason: string, message: string): NodeCondition => {
    const old = previous?.find((c) => c.type === type);
    return { type, status, reason, message, lastHeartbeatTime: t, lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : t };
  };
  return [
    make('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    make('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    make('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    make('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

export function nodeObject(o: NodeSpecOptions, now: number): Node {
  const capacity: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.capacity)) if (v !== undefined) capacity[k] = String(v);
  capacity['ephemeral-storage'] ??= '100Gi';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: o.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        [LABEL_SIMULATED]: 'true',
        ...o.labels,
        'kubernetes.io/hostname': o.name,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: {
      podCIDR: o.podCIDR,
      podCIDRs: [o.podCIDR],
      providerID: `sim://${o.name}`,
      ...(o.taints.length ? { taints: o.taints } : {}),
    },
    status: {
      capacity,
      allocatable: { ...capacity },
      conditions: readyConditions(now),
      addresses: [
        { type: 'InternalIP', address: o.hostIP },
        { type: 'Hostname', address: o.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: createHash('sha256').update(`machine:${o.name}`).digest('hex').slice(0, 32),
        systemUUID: uuidOf(`system:${o.name}`),
        bootID: uuidOf(`boot:${o.name}:${now}`),
        kernelVersion: '6.1.0-simulated',
        osImage: 'Timonel simulated node',
        containerRuntimeVersion: 'sim://1.0.0',
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

export function leaseObject(nodeName: string, nodeUID: string | undefined, now: number): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ...(nodeUID ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUID }] } : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTimeRFC3339(now) },
  };
}
