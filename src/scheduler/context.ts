// What the scheduler needs from the process it runs in. Components do not import each other, so
// these are declared here; they are structurally the controller manager's ControllerContext,
// Controller and ControllerFactory, so the manager runs the scheduler like any controller.
import type { Clock } from '../client/clock.js';
import type { EventRecorder } from '../client/events.js';
import type { RestClient } from '../client/rest.js';
import type { SharedInformers } from '../client/shared.js';

export interface ComponentContext {
  informers: SharedInformers;
  client: RestClient;
  recorder(component: string): EventRecorder;
  log(line: string): void;
  clock: Clock;
}

export interface Component {
  readonly name: string;
  run(): void;
  stop(): Promise<void>;
}

export type ComponentFactory = (ctx: ComponentContext) => Component;
