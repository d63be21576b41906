// core/v1 Event <-> events.k8s.io/v1 Event. Upstream stores both in one place (the core shape) and
// converts on the way in and out; the output here is what a real API server answers, including the
// zero values it always writes (`eventTime: null`, `reportingComponent: ""`, `source: {}`, ...).
import type { Event as CoreEventV1 } from 'kubernetes-types/core/v1.js';
import type { Event as EventsEventV1 } from 'kubernetes-types/events/v1.js';
import { deepClone } from '../object.js';

type Timestamp = string | null;

/** A core/v1 Event as JSON: timestamps a server never set come out as `null`. */
export type CoreEvent = Omit<CoreEventV1, 'eventTime' | 'firstTimestamp' | 'lastTimestamp' | 'metadata' | 'involvedObject'> & {
  metadata?: CoreEventV1['metadata'];
  involvedObject?: CoreEventV1['involvedObject'];
  eventTime?: Timestamp;
  firstTimestamp?: Timestamp;
  lastTimestamp?: Timestamp;
};

/** An events.k8s.io/v1 Event as JSON. */
export type EventsV1Event = Omit<EventsEventV1, 'eventTime' | 'deprecatedFirstTimestamp' | 'deprecatedLastTimestamp'> & {
  eventTime?: Timestamp;
  deprecatedFirstTimestamp?: Timestamp;
  deprecatedLastTimestamp?: Timestamp;
};

const present = (v: unknown) => v !== undefined && v !== null && v !== '' && v !== 0;

export function coreEventToEventsV1(e: CoreEvent): EventsV1Event {
  const out: EventsV1Event = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: deepClone(e.metadata ?? {}),
    eventTime: e.eventTime ?? null,
  };
  if (present(e.series)) out.series = deepClone(e.series) as EventsV1Event['series'];
  if (present(e.reportingComponent)) out.reportingController = e.reportingComponent;
  if (present(e.reportingInstance)) out.reportingInstance = e.reportingInstance;
  if (present(e.action)) out.action = e.action;
  if (present(e.reason)) out.reason = e.reason;
  out.regarding = deepClone(e.involvedObject ?? {});
  if (present(e.related)) out.related = deepClone(e.related);
  if (present(e.message)) out.note = e.message;
  if (present(e.type)) out.type = e.type;
  out.deprecatedSource = deepClone(e.source ?? {});
  out.deprecatedFirstTimestamp = e.firstTimestamp ?? null;
  out.deprecatedLastTimestamp = e.lastTimestamp ?? null;
  if (present(e.count)) out.deprecatedCount = e.count;
  return out;
}

export function eventsV1ToCoreEvent(e: EventsV1Event): CoreEvent {
  const out: CoreEvent = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: deepClone(e.metadata ?? {}),
    involvedObject: deepClone(e.regarding ?? {}),
  };
  if (present(e.reason)) out.reason = e.reason;
  if (present(e.note)) out.message = e.note;
  out.source = deepClone(e.deprecatedSource ?? {});
  out.firstTimestamp = e.deprecatedFirstTimestamp ?? null;
  out.lastTimestamp = e.deprecatedLastTimestamp ?? null;
  if (present(e.deprecatedCount)) out.count = e.deprecatedCount;
  if (present(e.type)) out.type = e.type;
  out.eventTime = e.eventTime ?? null;
  if (present(e.series)) out.series = deepClone(e.series);
  if (present(e.action)) out.action = e.action;
  if (present(e.related)) out.related = deepClone(e.related);
  out.reportingComponent = e.reportingController ?? '';
  out.reportingInstance = e.reportingInstance ?? '';
  return out;
}
