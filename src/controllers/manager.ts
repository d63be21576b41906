// The controller manager: the built-in controllers of one process, sharing informers and one API client.
import { EventRecorder } from '../client/events.js';
import { RestClient } from '../client/rest.js';
import { SharedInformers } from '../client/shared.js';
import type { Transport } from '../client/transport.js';

import { realClock, type Clock } from '../client/clock.js';

export { realClock, type Clock };

export interface ControllerContext {
  informers: SharedInformers;
  client: RestClient;
  /** an event recorder reporting as `component` */
  recorder(component: string): EventRecorder;
  log(line: string): void;
  clock: Clock;
}

/** A level-triggered controller: constructed (registering its informers), then run once they synced. */
export interface Controller {
  readonly name: string;
  run(): void;
  stop(): Promise<void>;
}

export type ControllerFactory = (ctx: ControllerContext) => Controller;

export interface ManagerOptions {
  log?: (line: string) => void;
  clock?: Clock;
}

export class ControllerManager {
  readonly informers: SharedInformers;
  readonly ctx: ControllerContext;
  private readonly controllers: Controller[] = [];

  constructor(transport: Transport, factories: ControllerFactory[], opts: ManagerOptions = {}) {
    this.informers = new SharedInformers(transport);
    const log = opts.log ?? (() => {});
    const recorders = new Map<string, EventRecorder>();
    this.ctx = {
      informers: this.informers,
      client: this.informers.client,
      recorder: (component) => {
        let r = recorders.get(component);
        if (!r) recorders.set(component, (r = new EventRecorder(this.informers.client, { component }, log)));
        return r;
      },
      log,
      clock: opts.clock ?? realClock,
    };
    for (const f of factories) this.controllers.push(f(this.ctx));
  }

  /** Starts the informers, waits until their caches are filled, then runs every controller. */
  async start(): Promise<void> {
    this.informers.start();
    await this.informers.waitForSync();
    for (const c of this.controllers) c.run();
  }

  async stop(): Promise<void> {
    for (const c of this.controllers) await c.stop();
    await this.informers.stop();
  }
}
