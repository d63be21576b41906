// A stand-in for node agents in controller tests: every pod it sees (bound or not) is marked Running
// and Ready through `pods/<name>/status` after a delay, as a kubelet would report it.
import type { Server } from 'node:http';
import type { Event as CoreEvent, Pod } from 'kubernetes-types/core/v1.js';
import { nowRFC3339 } from '../../src/api/names.js';
import { ControllerManager, type Clock, type ControllerFactory } from '../../src/controllers/manager.js';
import { Informer } from '../../src/client/informer.js';
import { isNotFound, RestClient, type ResourceClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { startTestCluster, type TestCluster } from './cluster.js';

export interface FakeKubeletOptions {
  /** delay between seeing a pod and reporting it ready (default 50 ms) */
  readyAfterMs?: number;
  /** pods for which this returns false are left as they are (e.g. a broken image) */
  shouldRun?: (pod: Pod) => boolean;
  log?: (line: string) => void;
}

const isReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export class FakeKubelet {
  private readonly informer: Informer<Pod>;
  private readonly pods: ResourceClient<Pod>;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly log: (line: string) => void;
  private stopped = false;
  /** names of the pods this kubelet marked ready, in order */
  readonly started: string[] = [];

  constructor(
    transport: Transport,
    private readonly opts: FakeKubeletOptions = {},
  ) {
    const rest = new RestClient(transport);
    this.pods = rest.resource<Pod>(RESOURCES.pods);
    this.informer = new Informer<Pod>(this.pods);
    this.log = opts.log ?? (() => {});
    this.informer.addEventHandler({
      onAdd: (p) => this.consider(p),
      onUpdate: (_old, p) => this.consider(p),
      onDelete: (p) => this.forget(p),
    });
  }

  async start(): Promise<this> {
    this.informer.start();
    await this.informer.waitForSync();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.informer.stop();
  }

  /** Looks at every known pod again (after `shouldRun` changed its mind). */
  recheck(): void {
    for (const p of this.informer.list()) this.consider(p);
  }

  private key(p: Pod): string {
    return `${p.metadata?.namespace}/${p.metadata?.name}`;
  }

  private forget(p: Pod): void {
    const t = this.timers.get(this.key(p));
    if (t) clearTimeout(t);
    this.timers.delete(this.key(p));
  }

  private consider(p: Pod): void {
    if (this.stopped || isReady(p) || p.metadata?.deletionTimestamp || this.timers.has(this.key(p))) return;
    if (this.opts.shouldRun && !this.opts.shouldRun(p)) return;
    const key = this.key(p);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      void this.markReady(p).catch((e) => this.log(`fake kubelet: ${key}: ${(e as Error).message}`));
    }, this.opts.readyAfterMs ?? 50);
    this.timers.set(key, timer);
  }

  private async markReady(p: Pod): Promise<void> {
    if (this.stopped) return;
    const now = nowRFC3339();
    const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
    try {
      await this.pods.namespace(p.metadata!.namespace).patch(
        p.metadata!.name!,
        'merge',
        {
          metadata: { uid: p.metadata?.uid },
          status: {
            phase: 'Running',
            startTime: now,
            conditions: [cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
            containerStatuses: (p.spec?.containers ?? []).map((c) => ({
              name: c.name,
              image: c.image,
              imageID: '',
              ready: true,
              started: true,
              restartCount: 0,
              state: { running: { startedAt: now } },
            })),
          },
        },
        { subresource: 'status' },
      );
      this.started.push(p.metadata!.name!);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

// ---- harnesses for controller tests ----

export interface ControllerHarness {
  cluster: TestCluster;
  /** an admin client for the test itself */
  rest: RestClient;
  manager: ControllerManager;
  /** the controllers' log lines */
  logs: string[];
  close(): Promise<void>;
}

export interface ControllerHarnessOptions {
  /** the user the controllers act as (default: a kube-system service account with workload controllers' rights) */
  controllerUser?: string;
  /** where the controllers' log lines go (default: a new array) */
  logs?: string[];
  clock?: Clock;
  /** wraps the controllers' transport (e.g. to make some requests fail) */
  wrapControllerTransport?: (t: Transport) => Transport;
  /** runs once the cluster serves, before the controllers start (e.g. to remove an admission plugin or seed objects) */
  beforeStart?: (h: { cluster: TestCluster; rest: RestClient; logs: string[]; acceptor: Server }) => Promise<void>;
  /** runs after the controllers stopped, before the cluster closes */
  afterStop?: () => Promise<void>;
}

/** The groups a service account's token authenticates with; none for other users. */
function serviceAccountGroups(user: string): string[] {
  const ns = /^system:serviceaccount:([^:]+):[^:]+$/.exec(user)?.[1];
  return ns ? ['system:serviceaccounts', `system:serviceaccounts:${ns}`] : [];
}

/** A test cluster without built-in controllers and the given controllers in their own manager. */
export async function startControllerHarness(factories: ControllerFactory[], opts: ControllerHarnessOptions = {}): Promise<ControllerHarness> {
  const cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
  const acceptor = inProcessAcceptor(cluster.api.handle);
  const testTransport = inProcessTransport(acceptor, { username: 'test', groups: ['system:masters'] });
  const controllerUser = opts.controllerUser ?? 'system:serviceaccount:kube-system:workload-controllers';
  const controllerTransport = inProcessTransport(acceptor, { username: controllerUser, groups: serviceAccountGroups(controllerUser) });
  const rest = new RestClient(testTransport);
  const logs = opts.logs ?? [];
  const manager = new ControllerManager(opts.wrapControllerTransport ? opts.wrapControllerTransport(controllerTransport) : controllerTransport, factories, {
    log: (l) => logs.push(l),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  await opts.beforeStart?.({ cluster, rest, logs, acceptor });
  await manager.start();
  return {
    cluster,
    rest,
    manager,
    logs,
    async close() {
      await manager.stop();
      await opts.afterStop?.();
      controllerTransport.close();
      testTransport.close();
      await cluster.close();
    },
  };
}

export interface WorkloadHarness extends ControllerHarness {
  kubelet: FakeKubelet;
}

export interface WorkloadHarnessOptions {
  kubelet?: FakeKubeletOptions;
  /** wraps the controllers' transport (e.g. to make some requests fail) */
  wrapControllerTransport?: (t: Transport) => Transport;
}

/** startControllerHarness plus a fake kubelet that marks every pod Running and Ready. */
export async function startWorkloadHarness(factories: ControllerFactory[], opts: WorkloadHarnessOptions = {}): Promise<WorkloadHarness> {
  let kubelet: FakeKubelet | undefined;
  let kubeletTransport: Transport | undefined;
  const h = await startControllerHarness(factories, {
    wrapControllerTransport: opts.wrapControllerTransport,
    async beforeStart({ acceptor, logs }) {
      kubeletTransport = inProcessTransport(acceptor, { username: 'system:node:fake', groups: ['system:nodes'] });
      kubelet = new FakeKubelet(kubeletTransport, { log: (l) => logs.push(l), ...opts.kubelet });
      await kubelet.start();
    },
    async afterStop() {
      await kubelet?.stop();
      kubeletTransport?.close();
    },
  });
  return { ...h, kubelet: kubelet! };
}

/** Polls `probe` until it returns something other than undefined. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The Events about one object, oldest first. */
export async function eventsAbout(rest: RestClient, namespace: string, name: string): Promise<CoreEvent[]> {
  const list = await rest.resource<CoreEvent>(RESOURCES.events, namespace).list();
  return list.items.filter((e) => e.involvedObject?.name === name).sort((a, b) => (a.firstTimestamp ?? '').localeCompare(b.firstTimestamp ?? ''));
}
