// The scheduler as the controller manager runs it.
import type { ComponentFactory } from './context.js';
import { newSchedulerController } from './scheduler.js';

export type { Component, ComponentContext, ComponentFactory } from './context.js';
export { DEFAULT_SCHEDULER_NAME, newSchedulerController, Scheduler, type SchedulerOptions } from './scheduler.js';

/** The default scheduler with default options. */
export const schedulerController: ComponentFactory = newSchedulerController();
