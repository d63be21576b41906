// One informer per resource for all the controllers of a process: one list+watch and one cache,
// however many controllers look at pods.
import type { KubeObject } from '../api/types.js';
import { Informer } from './informer.js';
import { RestClient, type MetaObject, type ResourceRef } from './rest.js';
import type { Transport } from './transport.js';

export const RESOURCES = {
  namespaces: { group: '', version: 'v1', resource: 'namespaces', namespaced: false },
  pods: { group: '', version: 'v1', resource: 'pods', namespaced: true },
  nodes: { group: '', version: 'v1', resource: 'nodes', namespaced: false },
  services: { group: '', version: 'v1', resource: 'services', namespaced: true },
  endpoints: { group: '', version: 'v1', resource: 'endpoints', namespaced: true },
  events: { group: '', version: 'v1', resource: 'events', namespaced: true },
  configmaps: { group: '', version: 'v1', resource: 'configmaps', namespaced: true },
  secrets: { group: '', version: 'v1', resource: 'secrets', namespaced: true },
  serviceaccounts: { group: '', version: 'v1', resource: 'serviceaccounts', namespaced: true },
  persistentvolumes: { group: '', version: 'v1', resource: 'persistentvolumes', namespaced: false },
  persistentvolumeclaims: { group: '', version: 'v1', resource: 'persistentvolumeclaims', namespaced: true },
  replicationcontrollers: { group: '', version: 'v1', resource: 'replicationcontrollers', namespaced: true },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespaced: true },
  deployments: { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true },
  replicasets: { group: 'apps', version: 'v1', resource: 'replicasets', namespaced: true },
  statefulsets: { group: 'apps', version: 'v1', resource: 'statefulsets', namespaced: true },
  daemonsets: { group: 'apps', version: 'v1', resource: 'daemonsets', namespaced: true },
  controllerrevisions: { group: 'apps', version: 'v1', resource: 'controllerrevisions', namespaced: true },
  jobs: { group: 'batch', version: 'v1', resource: 'jobs', namespaced: true },
  cronjobs: { group: 'batch', version: 'v1', resource: 'cronjobs', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true },
  storageclasses: { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', namespaced: false },
  poddisruptionbudgets: { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespaced: true },
  horizontalpodautoscalers: { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', namespaced: true },
} as const satisfies Record<string, ResourceRef>;

/**
 * No controller reads managedFields, and they are a large part of an object's size: the
 * caches go without them, as upstream's scheduler keeps its pods. A controller that writes back an object it
 * read leaves the stored managedFields as they are (an update without them keeps them).
 */
function dropManagedFields(obj: MetaObject): void {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
}

export class SharedInformers {
  private readonly informers = new Map<string, Informer<MetaObject>>();
  readonly client: RestClient;
  private started = false;

  constructor(readonly transport: Transport) {
    this.client = new RestClient(transport);
  }

  /** The informer for a resource (created on first ask; started with the others by start()). */
  informer<T extends MetaObject = KubeObject>(ref: ResourceRef): Informer<T> {
    return this.shared<T>(ref, false);
  }

  /**
   * An informer of the resource's metadata only (PartialObjectMetadata: no spec, data or status), for
   * consumers that look at nothing else (garbage collection, counting): less to parse and to keep.
   */
  metadataInformer(ref: ResourceRef): Informer<MetaObject> {
    return this.shared<MetaObject>(ref, true);
  }

  private shared<T extends MetaObject>(ref: ResourceRef, metadataOnly: boolean): Informer<T> {
    const key = `${metadataOnly ? 'metadata:' : ''}${ref.group}/${ref.version}/${ref.resource}`;
    let inf = this.informers.get(key);
    if (!inf) {
      const client = this.client.resource<MetaObject>(ref);
      inf = new Informer<MetaObject>(metadataOnly ? client.metadata() : client, { transform: dropManagedFields });
      this.informers.set(key, inf);
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  start(): void {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
