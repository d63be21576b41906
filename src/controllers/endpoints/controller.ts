// The Endpoints controller (upstream pkg/controller/endpoint): for each Service with a selector, one
// Endpoints object of the same name listing the selected pods' IPs, ready ones under `addresses` and
// the others under `notReadyAddresses` (all ready with publishNotReadyAddresses), with each port
// resolved per pod. Terminating pods are left out. Services without a selector are left to their
// users; Endpoints this controller made go away with their Service.
import type { EndpointAddress, EndpointPort, Endpoints, EndpointSubset, Pod, Service } from 'kubernetes-types/core/v1.js';
import { deepEqual } from '../../api/object.js';
import type { EventRecorder } from '../../client/events.js';
import { Informer, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { ClientStatusError, isForbidden, isNotFound, type ResourceClient } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { ItemExponentialFailureRateLimiter, runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import {
  LABEL_HEADLESS_SERVICE,
  findPort,
  isIPv6Address,
  isPodReady,
  isServiceIPSet,
  podIPs,
  selects,
  servicesSelecting,
  servicesToUpdateOnPodChange,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from '../endpointslice/util.js';

const COMPONENT = 'endpoint-controller';
export const LABEL_MANAGED_BY = 'endpoints.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpoint-controller';
const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';
const LEADER_ELECTION_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
/** upstream maxCapacity: more addresses than this are truncated */
export const MAX_ENDPOINTS_CAPACITY = 1000;

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The pod's address for this Service, in the Service's IP family; undefined when it has none. */
function endpointAddress(svc: Service, pod: Pod): EndpointAddress | undefined {
  let v6: boolean;
  if (svc.spec?.ipFamilies?.length) v6 = svc.spec.ipFamilies[0] === 'IPv6';
  else if (isServiceIPSet(svc)) v6 = isIPv6Address(svc.spec!.clusterIP!);
  else v6 = isIPv6Address(pod.status?.podIP ?? '');
  const ip = podIPs(pod).find((x) => isIPv6Address(x) === v6);
  if (!ip) return undefined;
  const addr: EndpointAddress = {
    ip,
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
  };
  if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
  if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec!.hostname;
  return addr;
}

const portKey = (p: EndpointPort) => `${p.name ?? ''}\u0000${p.port}\u0000${p.protocol ?? ''}\u0000${p.appProtocol ?? ''}`;
const addressKey = (a: EndpointAddress) => `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
const compareAddresses = (a: EndpointAddress, b: EndpointAddress) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : (a.targetRef?.uid ?? '').localeCompare(b.targetRef?.uid ?? ''));

/**
 * upstream RepackSubsets: one subset per distinct set of addresses, with every port they serve.
 * An address ready for one port is ready everywhere it appears. Sorted for stable comparison.
 */
export function repackSubsets(entries: { address: EndpointAddress; ready: boolean; port?: EndpointPort }[]): EndpointSubset[] {
  const byPort = new Map<string, { port?: EndpointPort; addrs: Map<string, { address: EndpointAddress; ready: boolean }> }>();
  for (const e of entries) {
    const pk = e.port ? portKey(e.port) : '';
    let g = byPort.get(pk);
    if (!g) byPort.set(pk, (g = { port: e.port, addrs: new Map() }));
    const ak = addressKey(e.address);
    const prev = g.addrs.get(ak);
    g.addrs.set(ak, { address: prev?.address ?? e.address, ready: (prev?.ready ?? false) || e.ready });
  }
  const bySet = new Map<string, { addrs: { address: EndpointAddress; ready: boolean }[]; ports: EndpointPort[] }>();
  for (const g of byPort.values()) {
    const addrs = [...g.addrs.values()].sort((a, b) => compareAddresses(a.address, b.address));
    const key = addrs.map((a) => `${addressKey(a.address)}\u0000${a.ready}`).join('\u0001');
    let s = bySet.get(key);
    if (!s) bySet.set(key, (s = { addrs, ports: [] }));
    if (g.port) s.ports.push(g.port);
  }
  const subsets: EndpointSubset[] = [];
  for (const s of bySet.values()) {
    const ready = s.addrs.filter((a) => a.ready).map((a) => a.address);
    const notReady = s.addrs.filter((a) => !a.ready).map((a) => a.address);
    const subset: EndpointSubset = {};
    if (ready.length) subset.addresses = ready;
    if (notReady.length) subset.notReadyAddresses = notReady;
    if (s.ports.length) subset.ports = s.ports.sort((a, b) => portKey(a).localeCompare(portKey(b)));
    subsets.push(subset);
  }
  const first = (s: EndpointSubset) => (s.addresses ?? s.notReadyAddresses ?? [])[0];
  return subsets.sort((a, b) => compareAddresses(first(a), first(b)) || JSON.stringify(a.ports ?? []).localeCompare(JSON.stringify(b.ports ?? [])));
}

/** Cuts the addresses to the capacity, ready ones first, proportionally per subset (upstream truncateEndpoints). */
function truncate(subsets: EndpointSubset[]): boolean {
  let totalReady = 0;
  let totalNotReady = 0;
  for (const s of subsets) {
    totalReady += s.addresses?.length ?? 0;
    totalNotReady += s.notReadyAddresses?.length ?? 0;
  }
  if (totalReady + totalNotReady <= MAX_ENDPOINTS_CAPACITY) return false;
  const truncateReady = totalReady > MAX_ENDPOINTS_CAPACITY;
  const max = truncateReady ? MAX_ENDPOINTS_CAPACITY : MAX_ENDPOINTS_CAPACITY - totalReady;
  const numTotal = truncateReady ? totalReady : totalNotReady;
  let canBeAdded = max;
  for (const s of subsets) {
    const inSubset = (truncateReady ? s.addresses?.length : s.notReadyAddresses?.length) ?? 0;
    const toAdd = Math.min(Math.ceil((inSubset / numTotal) * max), canBeAdded);
    if (truncateReady) {
      s.addresses = (s.addresses ?? []).slice(0, toAdd);
      delete s.notReadyAddresses;
      canBeAdded -= s.addresses.length;
    } else {
      s.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, toAdd);
      canBeAdded -= s.notReadyAddresses.length;
    }
  }
  return true;
}

/** Subsets equal apart from targetRef resourceVersions and order inside lists. */
function subsetsEqual(a: EndpointSubset[] | undefined, b: EndpointSubset[]): boolean {
  const norm = (ss: EndpointSubset[] | undefined) =>
    (ss ?? []).map((s) => ({
      addresses: (s.addresses ?? []).map(stripRV),
      notReadyAddresses: (s.notReadyAddresses ?? []).map(stripRV),
      ports: s.ports ?? [],
    }));
  return deepEqual(norm(a), norm(b));
}

function stripRV(a: EndpointAddress): EndpointAddress {
  if (!a.targetRef?.resourceVersion) return a;
  const { resourceVersion: _rv, ...ref } = a.targetRef;
  return { ...a, targetRef: ref };
}

export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly queue = new WorkQueue({ name: 'endpoint', rateLimiter: new ItemExponentialFailureRateLimiter(5, 1_000_000) });
  private readonly recorder: EventRecorder;
  private workers?: Promise<void>;

  constructor(private readonly ctx: ControllerContext) {
    this.recorder = ctx.recorder(COMPONENT);
    this.services = ctx.informers.informer<Service>(RESOURCES.services);
    this.pods = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.endpoints = ctx.informers.informer<Endpoints>(RESOURCES.endpoints);
    const enqueue = (o: Service | Endpoints) => this.queue.add(metaNamespaceKey(o));
    this.services.addEventHandler({ onAdd: enqueue, onUpdate: (_o, s) => enqueue(s), onDelete: enqueue });
    this.endpoints.addEventHandler({ onDelete: enqueue });
    this.pods.addEventHandler({
      onAdd: (p) => this.enqueuePod(p),
      onUpdate: (old, cur) => {
        for (const k of servicesToUpdateOnPodChange(this.services, old, cur)) this.queue.add(k);
      },
      onDelete: (p) => this.enqueuePod(p),
    });
  }

  run(): void {
    // Endpoints left over from Services deleted while nobody watched
    for (const ep of this.endpoints.list()) if (!ep.metadata?.annotations?.[LEADER_ELECTION_ANNOTATION]) this.queue.add(metaNamespaceKey(ep));
    this.workers ??= runWorkers(this.queue, 5, (key) => this.sync(key), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  private enqueuePod(pod: Pod): void {
    for (const k of servicesSelecting(this.services, pod)) this.queue.add(k);
  }

  private client(namespace: string): ResourceClient<Endpoints> {
    return this.ctx.client.resource<Endpoints>(RESOURCES.endpoints, namespace);
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const ns = namespace ?? '';
    const svc = this.services.getByName(namespace, name);
    if (!svc) {
      // only what this controller made: Endpoints of selector-less Services belong to their users
      const ep = this.endpoints.getByName(namespace, name);
      if (ep?.metadata?.labels?.[LABEL_MANAGED_BY] !== CONTROLLER_NAME) return;
      try {
        await this.client(ns).delete(name, { preconditions: { uid: ep.metadata.uid } });
      } catch (e) {
        if (!isNotFound(e) && !(e instanceof ClientStatusError && e.code === 409)) throw e;
      }
      return;
    }
    if (svc.spec?.type === 'ExternalName') return;
    const selector = svc.spec?.selector;
    if (!selector || Object.keys(selector).length === 0) return;

    const pods = this.pods.byIndex('namespace', ns).filter((p) => selects(svc, p.metadata?.labels));
    const tolerateUnready = svc.spec?.publishNotReadyAddresses === true;
    const entries: { address: EndpointAddress; ready: boolean; port?: EndpointPort }[] = [];
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, tolerateUnready)) continue;
      const address = endpointAddress(svc, pod);
      if (!address) continue;
      const ready = tolerateUnready || isPodReady(pod);
      const ports = svc.spec?.ports ?? [];
      if (ports.length === 0) {
        // a headless Service may have no ports
        if (svc.spec?.clusterIP === 'None') entries.push({ address, ready });
        continue;
      }
      for (const sp of ports) {
        const port = findPort(pod, sp);
        if (port === undefined) continue;
        const ep: EndpointPort = { port, protocol: sp.protocol ?? 'TCP' };
        if (sp.name) ep.name = sp.name;
        if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
        entries.push({ address, ready, port: ep });
      }
    }
    const subsets = repackSubsets(entries);

    const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}), [LABEL_MANAGED_BY]: CONTROLLER_NAME };
    if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS_SERVICE] = '';
    else delete labels[LABEL_HEADLESS_SERVICE];
    const current = this.endpoints.getByName(namespace, name);
    const count = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 0);
    const capacityOK = count <= MAX_ENDPOINTS_CAPACITY && !current?.metadata?.annotations?.[OVER_CAPACITY_ANNOTATION];
    if (current && subsetsEqual(current.subsets, subsets) && deepEqual(current.metadata?.labels ?? {}, labels) && capacityOK) return;

    const annotations: Record<string, string> = { ...(current?.metadata?.annotations ?? {}) };
    if (truncate(subsets)) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
    else delete annotations[OVER_CAPACITY_ANNOTATION];
    const next: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        ...(current?.metadata ?? {}),
        name,
        namespace: ns,
        labels,
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      ...(subsets.length ? { subsets } : {}),
    };
    if (!Object.keys(annotations).length) delete next.metadata!.annotations;
    try {
      if (current) await this.client(ns).update(next);
      else await this.client(ns).create(next);
    } catch (e) {
      if (!current && isForbidden(e) && (e as ClientStatusError).status.details?.causes?.some((c) => c.reason === 'NamespaceTerminating')) return;
      if (current) this.event(next, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${ns}/${name}: ${errText(e)}`);
      else this.event(next, 'Warning', 'FailedToCreateEndpoint', `Failed to create endpoint for service ${ns}/${name}: ${errText(e)}`);
      throw e;
    }
  }

  private event(ep: Endpoints, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event({ apiVersion: 'v1', kind: 'Endpoints', metadata: ep.metadata }, type, reason, message);
  }
}

export const endpointsController: ControllerFactory = (ctx) => new EndpointsController(ctx);
