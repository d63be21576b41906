// The root CA publisher (upstream pkg/controller/certificates/rootcacertpublisher): every active namespace
// has a `kube-root-ca.crt` ConfigMap holding the cluster CA, which pods' kube-api-access volumes project as
// ca.crt. A changed or deleted one is put back.
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { Informer } from '../../client/informer.js';
import { ClientStatusError, isAlreadyExists, isNotFound } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

const namespaceTerminating = (e: unknown) =>
  e instanceof ClientStatusError && (e.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');

export class RootCACertPublisher implements Controller {
  readonly name = 'root-ca-cert-publisher';
  private readonly namespaces: Informer<Namespace>;
  private readonly configMaps: Informer<ConfigMap>;
  private readonly queue = new WorkQueue({ name: 'root-ca-cert-publisher' });
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly caPem: string,
  ) {
    this.namespaces = ctx.informers.informer<Namespace>(RESOURCES.namespaces);
    // only the ConfigMaps of this name: no cache of every ConfigMap in the cluster
    this.configMaps = new Informer<ConfigMap>(ctx.client.resource<ConfigMap>(RESOURCES.configmaps), {
      fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}`,
      name: 'root-ca-cert-publisher configmaps',
      log: ctx.log,
    });
    const enqueue = (ns: Namespace) => ns.metadata?.name && this.queue.add(ns.metadata.name);
    this.namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_o, ns) => enqueue(ns) });
    const ours = (cm: ConfigMap) => cm.metadata?.name === ROOT_CA_CONFIGMAP && cm.metadata.namespace && this.queue.add(cm.metadata.namespace);
    this.configMaps.addEventHandler({ onAdd: ours, onUpdate: (_o, cm) => ours(cm), onDelete: ours });
  }

  run(): void {
    this.configMaps.start();
    this.workers ??= runWorkers(this.queue, 1, (ns) => this.sync(ns), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.configMaps.stop();
    await this.workers;
  }

  async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata?.deletionTimestamp || (ns.status?.phase && ns.status.phase !== 'Active')) return;
    const client = this.ctx.client.resource<ConfigMap>(RESOURCES.configmaps, namespace);
    const current = this.configMaps.getByName(namespace, ROOT_CA_CONFIGMAP);
    const data = { 'ca.crt': this.caPem };
    const annotations = { 'kubernetes.io/description': DESCRIPTION };
    try {
      if (!current) {
        await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations }, data });
      } else if (current.data?.['ca.crt'] !== this.caPem || Object.keys(current.data ?? {}).length !== 1) {
        await client.update({ ...current, apiVersion: 'v1', kind: 'ConfigMap', data, metadata: { ...current.metadata, annotations: { ...current.metadata?.annotations, ...annotations } } });
      }
    } catch (e) {
      if (isAlreadyExists(e) || isNotFound(e) || namespaceTerminating(e)) return;
      throw e;
    }
  }
}

/** Publishes `caPem` (the cluster CA certificate) as `kube-root-ca.crt` in every namespace. */
export const rootCACertPublisherController =
  (caPem: string): ControllerFactory =>
  (ctx) =>
    new RootCACertPublisher(ctx, caPem);
