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
import type { SimulatedNodeFlags } from './simulated-flags.js';

/** A component's way to the API: its port, and the User-Agent its in-process transport would send. */
interface Endpoint {
  port: MessagePort;
  userAgent: string;
}

/** What the main thread tells the worker to run. */
interface ComponentThreadData {
  timonelComponentThread: true;
  controllerManager?: ControllerSetOptions & Endpoint;
  simulatedNodes?: { count: number } & SimulatedNodeFlags & Endpoint;
}

type FromWorker = { log: string } | { started: true } | { stopped: true };

export interface ComponentThreadOptions {
  acceptor: ConnectionAcceptor;
  /** the identity of a component by its service account name, as the main thread's componentTransport gives it */
  identity(name: string): InProcessIdentity;
  controllerManager?: ControllerSetOptions;
  simulatedNodes?: { count: number } & SimulatedNodeFlags;
  log(line: string): void;
  /** the first restart after a crash waits this long (ms, default 1 s); each crash in a row doubles it, up to `maxRestartDelayMs` */
  restartDelayMs?: number;
  /** default 60 s; a worker that ran this long before it crashed is restarted after `restartDelayMs` again */
  maxRestartDelayMs?: number;
}

export interface ComponentThread {
  /** resolves once the worker's components started (their caches may still be filling) */
  readonly started: Promise<void>;
  /** how many times a crashed worker was started again */
  readonly restarts: number;
  /** stops the components, then the worker (terminated if it does not end within `graceMs`); no restart follows */
  stop(graceMs?: number): Promise<void>;
  /** @internal ends the worker as a crash would (for tests); resolves once it exited */
  crashForTest(): Promise<void>;
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

/** One worker and the ports its components talk through. */
interface Running {
  worker: Worker;
  started: Promise<void>;
  /** resolves with the exit code */
  exit: Promise<number>;
  exited: boolean;
  /** the worker's components stopped (it ends by itself then) */
  onStopped?: () => void;
}

/**
 * Starts the controller manager and/or simulated nodes on a worker. A worker that dies (an uncaught error in a
 * component) is started again, as a supervisor restarts a crashed kube-controller-manager: after
 * `restartDelayMs`, doubling for each crash in a row. A restarted controller manager lists everything again;
 * restarted simulated nodes register again (they exist: their Leases are renewed) and take up their bound pods.
 */
export async function startComponentThread(o: ComponentThreadOptions): Promise<ComponentThread> {
  const { servePort } = await import('../client/port-transport.js');
  const what = `the controllers${o.simulatedNodes ? ' and simulated nodes' : ''}`;
  const baseDelay = o.restartDelayMs ?? 1000;
  const maxDelay = o.maxRestartDelayMs ?? 60_000;

  const launch = (): Running => {
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
    const r = { worker, exited: false } as Running;
    r.exit = new Promise<number>((resolve) =>
      worker.once('exit', (code) => {
        r.exited = true;
        for (const e of endpoints) e.close();
        r.onStopped?.();
        resolve(code);
      }),
    );
    r.started = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if ('log' in m) o.log(m.log);
        else if ('started' in m) resolve();
        else if ('stopped' in m) r.onStopped?.();
      });
      worker.on('error', (e) => {
        o.log(`component thread: ${e.stack ?? e.message}`);
        reject(e);
      });
      void r.exit.then(() => reject(new Error('the component thread exited before its components started')));
    });
    r.started.catch(() => {});
    return r;
  };

  let current = launch();
  let stopping: Promise<void> | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let restarts = 0;
  let crashesInARow = 0;
  const supervise = (r: Running) => {
    const since = performance.now();
    void r.exit.then((code) => {
      if (stopping) return;
      crashesInARow = performance.now() - since >= maxDelay ? 1 : crashesInARow + 1;
      const delay = Math.min(maxDelay, baseDelay * 2 ** (crashesInARow - 1));
      o.log(`component thread: exited (code ${code}); ${what} start again in ${Math.round(delay / 100) / 10} s`);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (stopping) return;
        try {
          current = launch();
        } catch (e) {
          o.log(`component thread: could not start again: ${(e as Error).message}; ${what} no longer run`);
          return;
        }
        restarts++;
        supervise(current);
      }, delay);
      restartTimer.unref();
    });
  };
  supervise(current);

  return {
    started: current.started,
    get restarts() {
      return restarts;
    },
    stop(graceMs = 10_000) {
      // a second stop() waits for the first (it must not take over the first one's onStopped)
      stopping ??= (async () => {
        clearTimeout(restartTimer);
        const r = current;
        if (r.exited) return;
        const stopped = new Promise<void>((resolve) => (r.onStopped = resolve));
        r.worker.postMessage('stop');
        const timer = setTimeout(() => void r.worker.terminate(), graceMs);
        await stopped;
        // the worker ends by itself once its components stopped; terminate what is left of it
        if (!r.exited) await r.worker.terminate();
        clearTimeout(timer);
        await r.exit;
      })();
      return stopping;
    },
    async crashForTest() {
      const r = current;
      await r.worker.terminate();
      await r.exit;
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
    const { port, userAgent, ...simulated } = data.simulatedNodes;
    const { startSimulatedNodes } = await import('../node/simulated/index.js');
    const transport = portTransport(port, { userAgent });
    const sim = startSimulatedNodes(transport, { ...simulated, log, podInformer: podInformer?.() }).catch((e: unknown) => {
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
