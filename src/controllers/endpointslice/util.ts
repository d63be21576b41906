// What the Endpoints and EndpointSlice controllers both need (upstream k8s.io/endpointslice/util):
// which pods back a Service, how a pod's port and address are found, and which pod changes matter.
import { isIPv6 } from 'node:net';
import type { Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { deepEqual } from '../../api/object.js';
import { NAMESPACE_INDEX, type Informer } from '../../client/informer.js';

export const LABEL_HEADLESS_SERVICE = 'service.kubernetes.io/headless';

export const isPodReady = (pod: Pod): boolean => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

const isPodTerminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** Not finished, has an IP, and (unless terminating pods are wanted) not being deleted. */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && !pod.status?.podIPs?.length) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** The pod's hostname is published for a Service that is its subdomain. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && svc.metadata?.namespace === pod.metadata?.namespace;
}

/** The container port a service port targets on this pod (a named targetPort is looked up per pod). */
export function findPort(pod: Pod, svcPort: ServicePort): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = svcPort.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  // sidecars (restartable init containers) count too
  for (const c of pod.spec?.initContainers ?? []) {
    if (c.restartPolicy !== 'Always') continue;
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

export const isServiceIPSet = (svc: Service): boolean => !!svc.spec?.clusterIP && svc.spec.clusterIP !== 'None';

export const podIPs = (pod: Pod): string[] =>
  pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip ?? '').filter((ip) => ip) : pod.status?.podIP ? [pod.status.podIP] : [];

export const isIPv6Address = (ip: string): boolean => isIPv6(ip);

/** A Service with a (non-empty) selector that matches these labels. */
export function selects(svc: Service, labels: Record<string, string> | undefined): boolean {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return false;
  for (const [k, v] of Object.entries(sel)) if (labels?.[k] !== v) return false;
  return true;
}

/** Keys (`ns/name`) of the Services in the pod's namespace whose selector matches it. */
export function servicesSelecting(services: Informer<Service>, pod: Pod): string[] {
  const ns = pod.metadata?.namespace ?? '';
  return services.byIndex(NAMESPACE_INDEX, ns).filter((s) => selects(s, pod.metadata?.labels)).map((s) => `${ns}/${s.metadata?.name}`);
}

/**
 * The Services to sync after a pod update (upstream GetServicesToUpdateOnPodChange): none when nothing an
 * endpoint shows changed; the old and new memberships when labels (or hostname) changed.
 */
export function servicesToUpdateOnPodChange(services: Informer<Service>, old: Pod, cur: Pod): Set<string> {
  if (old.metadata?.resourceVersion === cur.metadata?.resourceVersion) return new Set();
  const labelsChanged =
    !deepEqual(old.metadata?.labels ?? {}, cur.metadata?.labels ?? {}) || old.spec?.hostname !== cur.spec?.hostname || old.spec?.subdomain !== cur.spec?.subdomain;
  const podChanged =
    old.metadata?.deletionTimestamp !== cur.metadata?.deletionTimestamp ||
    isPodReady(old) !== isPodReady(cur) ||
    old.status?.phase !== cur.status?.phase ||
    old.spec?.nodeName !== cur.spec?.nodeName ||
    !deepEqual(podIPs(old), podIPs(cur));
  if (!podChanged && !labelsChanged) return new Set();
  const now = new Set(servicesSelecting(services, cur));
  if (!labelsChanged) return now;
  const before = new Set(servicesSelecting(services, old));
  if (podChanged) return new Set([...now, ...before]);
  // only labels changed: the services the pod joined or left
  const out = new Set<string>();
  for (const k of now) if (!before.has(k)) out.add(k);
  for (const k of before) if (!now.has(k)) out.add(k);
  return out;
}
