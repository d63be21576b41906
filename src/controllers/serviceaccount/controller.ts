// The ServiceAccounts controller (upstream pkg/controller/serviceaccount): every active namespace has a
// `default` ServiceAccount; one deleted is made again.
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { Informer } from '../../client/informer.js';
import { ClientStatusError, isAlreadyExists } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';

export const DEFAULT_SERVICE_ACCOUNTS = ['default'];

const namespaceTerminating = (e: unknown) =>
  e instanceof ClientStatusError && (e.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');

export class ServiceAccountsController implements Controller {
  readonly name = 'serviceaccount';
  private readonly namespaces: Informer<Namespace>;
  private readonly serviceAccounts: Informer<ServiceAccount>;
  private readonly queue = new WorkQueue({ name: 'serviceaccount' });
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly names: string[] = DEFAULT_SERVICE_ACCOUNTS,
  ) {
    this.namespaces = ctx.informers.informer<Namespace>(RESOURCES.namespaces);
    this.serviceAccounts = ctx.informers.informer<ServiceAccount>(RESOURCES.serviceaccounts);
    const enqueue = (ns: Namespace) => ns.metadata?.name && this.queue.add(ns.metadata.name);
    this.namespaces.addEventHandler({ onAdd: enqueue, onUpdate: (_o, ns) => enqueue(ns) });
    this.serviceAccounts.addEventHandler({
      onDelete: (sa) => {
        if (sa.metadata?.namespace && this.names.includes(sa.metadata.name ?? '')) this.queue.add(sa.metadata.namespace);
      },
    });
  }

  run(): void {
    this.workers ??= runWorkers(this.queue, 1, (ns) => this.sync(ns), this.ctx.log);
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    // a namespace going away gets nothing new
    if (!ns || ns.metadata?.deletionTimestamp || (ns.status?.phase && ns.status.phase !== 'Active')) return;
    const client = this.ctx.client.resource<ServiceAccount>(RESOURCES.serviceaccounts, namespace);
    for (const name of this.names) {
      if (this.serviceAccounts.getByName(namespace, name)) continue;
      try {
        await client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
      } catch (e) {
        if (isAlreadyExists(e) || namespaceTerminating(e)) continue;
        throw e;
      }
    }
  }
}

export const serviceAccountController: ControllerFactory = (ctx) => new ServiceAccountsController(ctx);
