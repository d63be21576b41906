// The controller manager (with the scheduler) and simulated nodes on a worker thread of their own, so a large
// cluster uses a second core: the API server keeps the main thread, the components reach it through port
// transports (src/client/port-transport.ts) with the same identities and handler chain as on one thread.
//
// This one file is both sides: startComponentThread() on the main thread starts a Worker on this very module,
// whose body (at the bottom) runs when it is loaded as that worker.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isMainThread, type MessagePort, parentPort, Worker, workerData } from 'node:worker_threads';
import type { PortEndpoint } from '../client/port-transport.js';
import type { ConnectionAcceptor, InProcessIdentity } from '../client/transport.js';
import type { ControllerSetOptions } from './controller-set.js';

/** A component's way to the API: its port, and the User-Agent its in-process transport would send. */
interface Endpoint {
  port: MessagePort;
  userAgent: string;
}

/** What the main thread tells the worker to run. */
interface ComponentThreadData {
  timonelComponentThread: true;
  controllerManager?: ControllerSetOptions & Endpoint;
  simulatedNodes?: { count: number } & Endpoint;
}

type FromWorker = { log: string } | { started: true } | { stopped: true };

export interface ComponentThreadOptions {
  acceptor: ConnectionAcceptor;
  /** the identity of a component by its service account name, as the main thread's componentTransport gives it */
  identity(name: string): InProcessIdentity;
  controllerManager?: ControllerSetOptions;
  simulatedNodes?: { count: number };
  log(line: string): void;
}

export interface ComponentThread {
  /** resolves once the worker's components started (their caches may still be filling) */
  readonly started: Promise<void>;
  /** stops the components, then the worker (terminated if it does not end within `graceMs`) */
  stop(graceMs?: number): Promise<void>;
}

/**
 * This module as a worker. Run from its TypeScript source (tests, through tsx), the worker registers tsx
 * first: a worker does not inherit the --import hooks of the thread that starts it.
 */
function workerScript(): [string | URL, { eval?: boolean }] {
  const self = new URL(import.meta.url);
  if (!self.pathname.endsWith('.ts')) return [self, {}];
  const tsx = import.meta.resolve('tsx/esm/api');
  return [`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(self.href)}); });`, { eval: true }];
}

export async function startComponentThread(o: ComponentThreadOptions): Promise<ComponentThread> {
  const { servePort } = await import('../client/port-transport.js');
  const endpoints: PortEndpoint[] = [];
  const data: ComponentThreadData = { timonelComponentThread: true };
  const endpoint = (name: string): Endpoint => {
    const identity = o.identity(name);
    const e = servePort(o.acceptor, identity);
    endpoints.push(e);
    return { port: e.port, userAgent: `timonel/${identity.username}` };
  };
  if (o.controllerManager) data.controllerManager = { ...endpoint('controller-manager'), ...o.controllerManager };
  if (o.simulatedNodes) data.simulatedNodes = { ...endpoint('simulated-nodes'), ...o.simulatedNodes };
  const [script, scriptOpts] = workerScript();
  let worker: Worker;
  try {
    worker = new Worker(script, { ...scriptOpts, workerData: data, transferList: endpoints.map((e) => e.port) });
  } catch (e) {
    for (const ep of endpoints) ep.close();
    throw e;
  }
  let exited = false;
  let onStopped: (() => void) | undefined;
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      exited = true;
      for (const e of endpoints) e.close();
      if (!stopping) o.log(`component thread: exited (code ${code}); the controllers${o.simulatedNodes ? ' and simulated nodes' : ''} no longer run`);
      onStopped?.();
      resolve();
    }),
  );
  let stopping: Promise<void> | undefined;
  const started = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      if ('log' in m) o.log(m.log);
      else if ('started' in m) resolve();
      else if ('stopped' in m) onStopped?.();
    });
    worker.on('error', (e) => {
      o.log(`component thread: ${e.stack ?? e.message}`);
      reject(e);
    });
    void exit.then(() => reject(new Error('the component thread exited before its components started')));
  });
  started.catch(() => {});
  return {
    started,
    stop(graceMs = 10_000) {
      if (exited) return Promise.resolve();
      // a second stop() waits for the first (it must not take over the first one's onStopped)
      stopping ??= (async () => {
        const stopped = new Promise<void>((resolve) => (onStopped = resolve));
        worker.postMessage('stop');
        const timer = setTimeout(() => void worker.terminate(), graceMs);
        await stopped;
        // the worker ends by itself once its components stopped; terminate what is left of it
        if (!exited) await worker.terminate();
        clearTimeout(timer);
        await exit;
      })();
      return stopping;
    },
  };
}

// ---- the worker ----

async function runWorker(data: ComponentThreadData, parent: MessagePort): Promise<void> {
  const log = (line: string) => parent.postMessage({ log: line } satisfies FromWorker);
  const { portTransport } = await import('../client/port-transport.js');
  const stops: (() => Promise<void>)[] = [];
  let podInformer: (() => import('../client/informer.js').Informer<Pod>) | undefined;
  if (data.controllerManager) {
    const cm = data.controllerManager;
    const [{ ControllerManager }, { controllerSet }, { RESOURCES }] = await Promise.all([import('../controllers/manager.js'), import('./controller-set.js'), import('../client/shared.js')]);
    const transport = portTransport(cm.port, { userAgent: cm.userAgent });
    const manager = new ControllerManager(transport, controllerSet(cm), { log });
    podInformer = () => manager.informers.informer<Pod>(RESOURCES.pods);
    // the caches fill in the background, as on the main thread
    manager.start().catch((e: unknown) => log(`controller manager: ${(e as Error).message}`));
    stops.push(async () => {
      await manager.stop();
      transport.close();
    });
  }
  if (data.simulatedNodes) {
    const sn = data.simulatedNodes;
    const { startSimulatedNodes } = await import('../node/simulated/index.js');
    const transport = portTransport(sn.port, { userAgent: sn.userAgent });
    const sim = startSimulatedNodes(transport, { count: sn.count, log, podInformer: podInformer?.() }).catch((e: unknown) => {
      log(`simulated nodes: ${(e as Error).message}`);
      return undefined;
    });
    // the simulated nodes stop before the informer they read from
    stops.unshift(async () => {
      await (await sim)?.stop();
      transport.close();
    });
  }
  parent.on('message', (m: unknown) => {
    if (m !== 'stop') return;
    void (async () => {
      for (const s of stops) await s().catch((e: unknown) => log(`component thread: stopping: ${(e as Error).message}`));
      parent.postMessage({ stopped: true } satisfies FromWorker);
      parent.close();
    })();
  });
  parent.postMessage({ started: true } satisfies FromWorker);
}

const data = workerData as ComponentThreadData | undefined;
if (!isMainThread && parentPort && data?.timonelComponentThread) void runWorker(data, parentPort);
