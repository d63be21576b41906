// The EndpointSlice controller (upstream pkg/controller/endpointslice and its reconciler): for each
// Service with a selector, EndpointSlices (`<service>-<random>`, at most 100 endpoints each, one group
// per address type and per set of resolved ports) listing the selected pods with ready / serving /
// terminating conditions. Slices are owned by the Service, so they go with it. A placeholder slice
// with no endpoints stands for a Service that selects nothing.
import type { EndpointSlice, Endpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import type { Node, Pod, Service } from 'kubernetes-types/core/v1.js';
import { deepClone, deepEqual } from '../../api/object.js';
import { Informer, metaNamespaceKey, splitMetaNamespaceKey } from '../../client/informer.js';
import { isNotFound, type ResourceClient } from '../../client/rest.js';
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
} from './util.js';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
/** upstream --max-endpoints-per-slice default */
export const MAX_ENDPOINTS_PER_SLICE = 100;
const SERVICE_INDEX = 'endpointslice-controller/service';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

type AddressType = 'IPv4' | 'IPv6';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

class StaleInformerCache extends Error {}

/** Generations this controller wrote, so a stale cache is noticed and its own writes are not re-synced. */
class SliceTracker {
  /** service key → slice uid → generation written, or 'deleted' */
  private readonly byService = new Map<string, Map<string, number | 'deleted'>>();

  private gens(key: string): Map<string, number | 'deleted'> {
    let m = this.byService.get(key);
    if (!m) this.byService.set(key, (m = new Map()));
    return m;
  }

  wrote(key: string, slice: EndpointSlice): void {
    if (slice.metadata?.uid) this.gens(key).set(slice.metadata.uid, slice.metadata.generation ?? 0);
  }

  expectDeletion(key: string, slice: EndpointSlice): void {
    if (slice.metadata?.uid) this.gens(key).set(slice.metadata.uid, 'deleted');
  }

  /** A slice event this controller did not cause. */
  shouldSync(key: string, slice: EndpointSlice): boolean {
    const g = this.byService.get(key)?.get(slice.metadata?.uid ?? '');
    return g === undefined || g === 'deleted' || (slice.metadata?.generation ?? 0) > g;
  }

  /** Forgets a deleted slice; true when this controller deleted it. */
  handleDeletion(key: string, slice: EndpointSlice): boolean {
    const m = this.byService.get(key);
    const uid = slice.metadata?.uid ?? '';
    const g = m?.get(uid);
    m?.delete(uid);
    return g === 'deleted';
  }

  /** The cache lags behind what was written (upstream StaleSlices). */
  stale(key: string, slices: EndpointSlice[]): boolean {
    const m = this.byService.get(key);
    if (!m) return false;
    const seen = new Set<string>();
    for (const s of slices) {
      const uid = s.metadata?.uid ?? '';
      seen.add(uid);
      const g = m.get(uid);
      if (g === 'deleted' || (g !== undefined && g > (s.metadata?.generation ?? 0))) return true;
    }
    for (const [uid, g] of m) if (g !== 'deleted' && !seen.has(uid)) return true;
    return false;
  }

  deleteService(key: string): void {
    this.byService.delete(key);
  }
}

/** The address types a Service's slices carry (upstream getAddressTypesForService). */
function addressTypesFor(svc: Service): AddressType[] {
  const fams = (svc.spec?.ipFamilies ?? []).filter((f): f is AddressType => f === 'IPv4' || f === 'IPv6');
  if (fams.length) return [...new Set(fams)];
  if (isServiceIPSet(svc)) return [isIPv6Address(svc.spec!.clusterIP!) ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

function endpointPorts(svc: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

const portsKey = (ports: EndpointPort[] | undefined) =>
  JSON.stringify([...(ports ?? [])].map((p) => [p.name ?? '', p.port ?? 0, p.protocol ?? '', p.appProtocol ?? '']).sort());

/** An endpoint's identity within a port group (upstream hashEndpoint): addresses, hostname, pod. */
const endpointKey = (e: Endpoint) => JSON.stringify([[...e.addresses].sort(), e.hostname ?? '', e.targetRef?.namespace ?? '', e.targetRef?.name ?? '']);

const sameEndpoint = (a: Endpoint, b: Endpoint) => {
  const norm = (e: Endpoint) => ({ ...e, addresses: [...e.addresses].sort(), targetRef: e.targetRef ? { ...e.targetRef, resourceVersion: undefined } : undefined });
  return deepEqual(JSON.parse(JSON.stringify(norm(a))), JSON.parse(JSON.stringify(norm(b))));
};

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly nodes: Informer<Node>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly queue = new WorkQueue({ name: 'endpoint_slice', rateLimiter: new ItemExponentialFailureRateLimiter(1000, 1_000_000) });
  private readonly tracker = new SliceTracker();
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly maxEndpointsPerSlice = MAX_ENDPOINTS_PER_SLICE,
  ) {
    this.services = ctx.informers.informer<Service>(RESOURCES.services);
    this.pods = ctx.informers.informer<Pod>(RESOURCES.pods);
    this.nodes = ctx.informers.informer<Node>(RESOURCES.nodes);
    this.slices = ctx.informers.informer<EndpointSlice>(RESOURCES.endpointslices);
    this.slices.addIndexer(SERVICE_INDEX, (s) => {
      const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
      return svc && s.metadata?.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME ? [`${s.metadata?.namespace}/${svc}`] : [];
    });
    const enqueue = (s: Service) => this.queue.add(metaNamespaceKey(s));
    this.services.addEventHandler({ onAdd: enqueue, onUpdate: (_o, s) => enqueue(s), onDelete: enqueue });
    this.pods.addEventHandler({
      onAdd: (p) => this.enqueuePod(p),
      onUpdate: (old, cur) => {
        for (const k of servicesToUpdateOnPodChange(this.services, old, cur)) this.queue.add(k);
      },
      onDelete: (p) => this.enqueuePod(p),
    });
    this.slices.addEventHandler({
      onAdd: (s) => this.sliceChanged(s),
      onUpdate: (_o, s) => this.sliceChanged(s),
      onDelete: (s) => {
        const key = this.serviceKeyOf(s);
        if (key && !this.tracker.handleDeletion(key, s)) this.queue.add(key);
      },
    });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, 5, (key) => this.sync(key), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  private enqueuePod(pod: Pod): void {
    for (const k of servicesSelecting(this.services, pod)) this.queue.add(k);
  }

  private serviceKeyOf(s: EndpointSlice): string | undefined {
    const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (!svc || s.metadata?.labels?.[LABEL_MANAGED_BY] !== CONTROLLER_NAME) return undefined;
    return `${s.metadata?.namespace}/${svc}`;
  }

  private sliceChanged(s: EndpointSlice): void {
    const key = this.serviceKeyOf(s);
    if (key && this.tracker.shouldSync(key, s)) this.queue.add(key);
  }

  private client(namespace: string): ResourceClient<EndpointSlice> {
    return this.ctx.client.resource<EndpointSlice>(RESOURCES.endpointslices, namespace);
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const svc = this.services.getByName(namespace, name);
    if (!svc) {
      // its slices are owned by it: the garbage collector removes them
      this.tracker.deleteService(key);
      return;
    }
    if (svc.spec?.type === 'ExternalName') return;
    const selector = svc.spec?.selector;
    if (!selector || Object.keys(selector).length === 0) return;
    const pods = this.pods.byIndex('namespace', namespace ?? '').filter((p) => selects(svc, p.metadata?.labels));
    // slices already being deleted are left alone, or the controller could wait on them forever
    const slices = this.slices.byIndex(SERVICE_INDEX, key).filter((s) => !s.metadata?.deletionTimestamp);
    if (this.tracker.stale(key, slices)) throw new StaleInformerCache(`EndpointSlice informer cache is out of date for ${key}`);
    await this.reconcile(key, svc, pods, slices);
  }

  /** Creates, updates and deletes slices so they list exactly the endpoints the pods make. */
  private async reconcile(key: string, svc: Service, pods: Pod[], existing: EndpointSlice[]): Promise<void> {
    const types = addressTypesFor(svc);
    const toCreate: EndpointSlice[] = [];
    const toUpdate: EndpointSlice[] = [];
    const toDelete: EndpointSlice[] = [];
    const errors: string[] = [];
    for (const s of existing) if (!types.includes(s.addressType as AddressType)) toDelete.push(s);
    for (const t of types) {
      const r = this.reconcileByAddressType(svc, pods, existing.filter((s) => s.addressType === t), t, errors);
      toCreate.push(...r.create);
      toUpdate.push(...r.update);
      toDelete.push(...r.delete);
    }
    // reuse a slice due for deletion instead of creating a new one
    for (let i = 0; i < toDelete.length && toCreate.length; ) {
      const d = toDelete[i];
      const c = toCreate[toCreate.length - 1];
      if (d.addressType === c.addressType && this.ownedBy(d, svc)) {
        toCreate.pop();
        toUpdate.push({ ...c, metadata: { ...d.metadata, labels: c.metadata!.labels, ownerReferences: c.metadata!.ownerReferences } });
        toDelete.splice(i, 1);
      } else i++;
    }
    const ns = svc.metadata!.namespace!;
    for (const s of toCreate) {
      try {
        this.tracker.wrote(key, await this.client(ns).create(s));
      } catch (e) {
        errors.push(`failed to create EndpointSlice for Service ${key}: ${errText(e)}`);
      }
    }
    for (const s of toUpdate) {
      try {
        this.tracker.wrote(key, await this.client(ns).update(s));
      } catch (e) {
        errors.push(`failed to update ${s.metadata?.name} EndpointSlice for Service ${key}: ${errText(e)}`);
      }
    }
    for (const s of toDelete) {
      try {
        await this.client(ns).delete(s.metadata!.name!, { preconditions: { uid: s.metadata?.uid } });
        this.tracker.expectDeletion(key, s);
      } catch (e) {
        if (!isNotFound(e)) errors.push(`failed to delete ${s.metadata?.name} EndpointSlice for Service ${key}: ${errText(e)}`);
      }
    }
    if (errors.length) throw new Error(errors.join('; '));
  }

  private ownedBy(s: EndpointSlice, svc: Service): boolean {
    return s.metadata?.ownerReferences?.some((r) => r.kind === 'Service' && r.uid === svc.metadata?.uid) ?? false;
  }

  private labelsFor(svc: Service): Record<string, string> {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) if (k !== LABEL_SERVICE_NAME && k !== LABEL_MANAGED_BY) labels[k] = v;
    if (!isServiceIPSet(svc)) labels[LABEL_HEADLESS_SERVICE] = '';
    else delete labels[LABEL_HEADLESS_SERVICE];
    labels[LABEL_SERVICE_NAME] = svc.metadata!.name!;
    labels[LABEL_MANAGED_BY] = CONTROLLER_NAME;
    return labels;
  }

  private newSlice(svc: Service, addressType: AddressType, ports: EndpointPort[]): EndpointSlice {
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        generateName: `${svc.metadata!.name}-`,
        namespace: svc.metadata!.namespace,
        labels: this.labelsFor(svc),
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata!.name!, uid: svc.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
      addressType,
      endpoints: [],
      ports,
    };
  }

  private endpointFor(svc: Service, pod: Pod, addressType: AddressType): Endpoint {
    const serving = isPodReady(pod);
    const terminating = !!pod.metadata?.deletionTimestamp;
    // a terminating pod is never "ready" unless the Service publishes not-ready addresses
    const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
    const ep: Endpoint = {
      addresses: podIPs(pod).filter((ip) => isIPv6Address(ip) === (addressType === 'IPv6')),
      conditions: { ready, serving, terminating },
      targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
    };
    const nodeName = pod.spec?.nodeName;
    if (nodeName) {
      ep.nodeName = nodeName;
      const zone = this.nodes.getByName(undefined, nodeName)?.metadata?.labels?.[ZONE_LABEL];
      if (zone) ep.zone = zone;
    }
    if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
    return ep;
  }

  private reconcileByAddressType(
    svc: Service,
    pods: Pod[],
    existing: EndpointSlice[],
    addressType: AddressType,
    errors: string[],
  ): { create: EndpointSlice[]; update: EndpointSlice[]; delete: EndpointSlice[] } {
    const create: EndpointSlice[] = [];
    const update: EndpointSlice[] = [];
    const del: EndpointSlice[] = [];
    const existingByPorts = new Map<string, EndpointSlice[]>();
    for (const s of existing) {
      if (!this.ownedBy(s, svc)) {
        del.push(s);
        continue;
      }
      const k = portsKey(s.ports);
      existingByPorts.set(k, [...(existingByPorts.get(k) ?? []), s]);
    }
    const desired = new Map<string, { ports: EndpointPort[]; endpoints: Map<string, Endpoint> }>();
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    for (const pod of [...pods].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const ports = endpointPorts(svc, pod);
      const pk = portsKey(ports);
      let group = desired.get(pk);
      if (!group) desired.set(pk, (group = { ports, endpoints: new Map() }));
      const nodeName = pod.spec?.nodeName;
      if (nodeName && this.nodes.hasSynced() && !this.nodes.getByName(undefined, nodeName) && !publishNotReady) {
        // retried later, but the slices are still brought up to date without this pod
        errors.push(`skipping Pod ${pod.metadata?.name} for Service ${svc.metadata?.namespace}/${svc.metadata?.name}: Node ${nodeName} Not Found`);
        continue;
      }
      const ep = this.endpointFor(svc, pod, addressType);
      if (ep.addresses.length) group.endpoints.set(endpointKey(ep), ep);
    }

    for (const [pk, group] of desired) {
      const r = this.reconcileByPortMapping(svc, existingByPorts.get(pk) ?? [], group.endpoints, addressType, group.ports);
      create.push(...r.create);
      update.push(...r.update);
      del.push(...r.delete);
    }
    for (const [pk, slices] of existingByPorts) if (!desired.has(pk)) del.push(...slices);

    // no slice would be left: keep (or make) one empty placeholder
    if (existing.length === del.length && create.length === 0) {
      const placeholder = this.newSlice(svc, addressType, []);
      const isPlaceholder = (s: EndpointSlice) =>
        s.addressType === addressType && !(s.endpoints ?? []).length && !(s.ports ?? []).length && deepEqual(s.metadata?.labels ?? {}, placeholder.metadata!.labels) && this.ownedBy(s, svc);
      if (del.length === 1 && isPlaceholder(del[0])) del.length = 0;
      else create.push(placeholder);
    }
    return { create, update, delete: del };
  }

  private reconcileByPortMapping(
    svc: Service,
    existing: EndpointSlice[],
    desiredIn: Map<string, Endpoint>,
    addressType: AddressType,
    ports: EndpointPort[],
  ): { create: EndpointSlice[]; update: EndpointSlice[]; delete: EndpointSlice[] } {
    const desired = new Map(desiredIn);
    const toUpdate = new Map<string, EndpointSlice>();
    const unchanged: EndpointSlice[] = [];
    const del: EndpointSlice[] = [];
    const labels = this.labelsFor(svc);
    const max = this.maxEndpointsPerSlice;

    // 1. drop endpoints no longer wanted, refresh changed ones
    for (const s of existing) {
      const kept: Endpoint[] = [];
      let changed = false;
      for (const e of s.endpoints ?? []) {
        const k = endpointKey(e);
        const want = desired.get(k);
        if (!want) continue;
        kept.push(want);
        if (!sameEndpoint(want, e)) changed = true;
        desired.delete(k);
      }
      const labelsChanged = !deepEqual(s.metadata?.labels ?? {}, labels);
      if (changed || kept.length !== (s.endpoints ?? []).length) {
        if (!kept.length) del.push(s);
        else toUpdate.set(s.metadata!.name!, { ...deepClone(s), endpoints: kept, metadata: { ...deepClone(s.metadata), labels } });
      } else if (labelsChanged) {
        toUpdate.set(s.metadata!.name!, { ...deepClone(s), metadata: { ...deepClone(s.metadata), labels } });
      } else {
        unchanged.push(s);
      }
    }
    const pending = [...desired.values()];
    // 2. fill the slices being updated anyway, fullest first
    if (pending.length && toUpdate.size) {
      const byLen = [...toUpdate.values()].sort((a, b) => (b.endpoints?.length ?? 0) - (a.endpoints?.length ?? 0));
      for (const s of byLen) while (pending.length && s.endpoints.length < max) s.endpoints.push(pending.shift()!);
    }
    // 3. what is left goes into an unchanged slice it fits in, or into new ones
    const create: EndpointSlice[] = [];
    while (pending.length) {
      let fill: EndpointSlice | undefined;
      if (pending.length < max && unchanged.length) {
        const fits = unchanged.filter((s) => (s.endpoints?.length ?? 0) + pending.length <= max);
        // the fullest that still fits (upstream getSliceToFill)
        fill = fits.sort((a, b) => (b.endpoints?.length ?? 0) - (a.endpoints?.length ?? 0))[0];
      }
      if (fill) {
        unchanged.splice(unchanged.indexOf(fill), 1);
        fill = { ...deepClone(fill), endpoints: [...(fill.endpoints ?? [])] };
        toUpdate.set(fill.metadata!.name!, fill);
      } else {
        fill = this.newSlice(svc, addressType, ports);
        create.push(fill);
      }
      while (pending.length && fill.endpoints.length < max) fill.endpoints.push(pending.shift()!);
    }
    return { create, update: [...toUpdate.values()], delete: del };
  }
}

export const endpointSliceController: ControllerFactory = (ctx) => new EndpointSliceController(ctx);

/** An EndpointSlice controller with a smaller slice size (tests). */
export const endpointSliceControllerWith =
  (maxEndpointsPerSlice: number): ControllerFactory =>
  (ctx) =>
    new EndpointSliceController(ctx, maxEndpointsPerSlice);
