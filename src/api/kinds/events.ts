// events.k8s.io/v1 Event. Upstream keeps these in the core Event storage and validates the internal
// (core-shaped) object, so field paths in errors use the core names (message, involvedObject, count...).
import { type FieldError, invalidValue, required, typeInvalid } from '../errors.js';
import { formatAge } from '../names.js';
import { deepEqual, isPlainObject } from '../object.js';
import type { KindInfo, KubeObject, TableCell, TableColumn } from '../types.js';
import { qualifiedNameErrors } from '../validation.js';
import { coreEventToEventsV1, type CoreEvent, type EventsV1Event, eventsV1ToCoreEvent } from './event-convert.js';

type EventObject = EventsV1Event & KubeObject;

const REPORTING_INSTANCE_MAX = 128;
const ACTION_MAX = 128;
const REASON_MAX = 128;
const NOTE_MAX = 1024;

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const isZeroTime = (v: unknown) => v === undefined || v === null || v === '';

const TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** A comparable form of an RFC 3339 timestamp (microseconds kept); the raw value when unparseable. */
function timeKey(v: unknown): string {
  if (isZeroTime(v)) return '';
  if (typeof v !== 'string') return JSON.stringify(v);
  const m = TIME.exec(v);
  if (!m) return v;
  const secs = Date.parse(m[1] + m[3].toUpperCase());
  if (Number.isNaN(secs)) return v;
  return `${secs / 1000}.${(m[2] ?? '.').slice(1).padEnd(9, '0')}`;
}

const isTimestamp = (v: string) => TIME.test(v) && !Number.isNaN(Date.parse(v));

/** Field-type checks on the JSON as sent (paths in events.k8s.io/v1 names). */
function typeErrors(ev: EventObject): FieldError[] {
  const errs: FieldError[] = [];
  const o = ev as Record<string, unknown>;
  for (const f of ['action', 'note', 'reason', 'reportingController', 'reportingInstance', 'type'])
    if (o[f] !== undefined && o[f] !== null && typeof o[f] !== 'string') errs.push(typeInvalid(f, o[f], 'must be of type string'));
  for (const f of ['eventTime', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp'])
    if (!isZeroTime(o[f]) && (typeof o[f] !== 'string' || !isTimestamp(o[f] as string)))
      errs.push(typeInvalid(f, o[f], 'must be a timestamp in RFC 3339 form'));
  for (const f of ['regarding', 'related', 'deprecatedSource', 'series'])
    if (o[f] !== undefined && o[f] !== null && !isPlainObject(o[f])) errs.push(typeInvalid(f, o[f], 'must be of type object'));
  if (o.deprecatedCount !== undefined && o.deprecatedCount !== null && !Number.isInteger(o.deprecatedCount))
    errs.push(typeInvalid('deprecatedCount', o.deprecatedCount, 'must be of type integer'));
  if (isPlainObject(o.series)) {
    const s = o.series;
    if (s.count !== undefined && s.count !== null && !Number.isInteger(s.count)) errs.push(typeInvalid('series.count', s.count, 'must be of type integer'));
    if (!isZeroTime(s.lastObservedTime) && (typeof s.lastObservedTime !== 'string' || !isTimestamp(s.lastObservedTime)))
      errs.push(typeInvalid('series.lastObservedTime', s.lastObservedTime, 'must be a timestamp in RFC 3339 form'));
  }
  return errs;
}

/** Upstream's legacyValidateEvent, which every Event passes whatever API it came through. */
function legacyErrors(e: CoreEvent): FieldError[] {
  const errs: FieldError[] = [];
  const ns = e.metadata?.namespace ?? '';
  const involvedNs = str(e.involvedObject?.namespace);
  if (isZeroTime(e.eventTime)) {
    if (involvedNs === '' ? ns !== '' && ns !== 'default' : ns !== involvedNs)
      errs.push(invalidValue('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    return errs;
  }
  if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system')
    errs.push(invalidValue('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
  const controller = str(e.reportingComponent);
  if (controller === '') errs.push(required('reportingController'));
  for (const m of qualifiedNameErrors(controller)) errs.push(invalidValue('reportingController', controller, m));
  const instance = str(e.reportingInstance);
  if (instance === '') errs.push(required('reportingInstance'));
  if (byteLength(instance) > REPORTING_INSTANCE_MAX)
    errs.push(invalidValue('reportingInstance', '', `can have at most ${REPORTING_INSTANCE_MAX} characters`));
  const action = str(e.action);
  if (action === '') errs.push(required('action'));
  if (byteLength(action) > ACTION_MAX) errs.push(invalidValue('action', '', `can have at most ${ACTION_MAX} characters`));
  const reason = str(e.reason);
  if (reason === '') errs.push(required('reason'));
  if (byteLength(reason) > REASON_MAX) errs.push(invalidValue('reason', '', `can have at most ${REASON_MAX} characters`));
  if (byteLength(str(e.message)) > NOTE_MAX) errs.push(invalidValue('message', '', `can have at most ${NOTE_MAX} characters`));
  return errs;
}

function seriesErrors(e: CoreEvent): FieldError[] {
  const s = e.series;
  if (!isPlainObject(s)) return [];
  const errs: FieldError[] = [];
  if (typeof s.count !== 'number' || s.count < 2) errs.push(invalidValue('series.count', '', 'should be at least 2'));
  if (isZeroTime(s.lastObservedTime)) errs.push(required('series.lastObservedTime'));
  return errs;
}

/**
 * Validation of an Event written through events.k8s.io/v1. Upstream applies the strict part only on
 * create; it runs here on every write, which matters only for core-created Events (with a count or
 * source) being updated through events.k8s.io.
 */
export function validateEventsV1Event(ev: EventObject): FieldError[] {
  const typeErrs = typeErrors(ev);
  if (typeErrs.length) return typeErrs;
  const e = eventsV1ToCoreEvent(ev);
  const errs = legacyErrors(e);
  errs.push(...seriesErrors(e));
  if (isZeroTime(e.eventTime)) errs.push(required('eventTime'));
  if (e.type !== 'Normal' && e.type !== 'Warning') errs.push(invalidValue('type', '', `has invalid value: ${str(e.type)}`));
  if (!isZeroTime(e.firstTimestamp)) errs.push(invalidValue('firstTimestamp', '', 'needs to be unset'));
  if (!isZeroTime(e.lastTimestamp)) errs.push(invalidValue('lastTimestamp', '', 'needs to be unset'));
  if (e.count !== undefined && e.count !== 0) errs.push(invalidValue('count', '', 'needs to be unset'));
  if (str(e.source?.component) !== '' || str(e.source?.host) !== '') errs.push(invalidValue('source', '', 'needs to be unset'));
  return errs;
}

export function validateEventsV1EventUpdate(ev: EventObject, old: EventObject): FieldError[] {
  const n = eventsV1ToCoreEvent(ev);
  const o = eventsV1ToCoreEvent(old);
  const errs: FieldError[] = [];
  const immutable = (path: string, a: unknown, b: unknown, same = deepEqual(a ?? null, b ?? null)) => {
    if (!same) errs.push(invalidValue(path, a ?? null, 'field is immutable'));
  };
  immutable('involvedObject', n.involvedObject, o.involvedObject);
  immutable('reason', n.reason, o.reason);
  immutable('message', n.message, o.message);
  immutable('source', n.source, o.source);
  immutable('firstTimestamp', n.firstTimestamp, o.firstTimestamp, timeKey(n.firstTimestamp) === timeKey(o.firstTimestamp));
  immutable('lastTimestamp', n.lastTimestamp, o.lastTimestamp, timeKey(n.lastTimestamp) === timeKey(o.lastTimestamp));
  immutable('count', n.count ?? 0, o.count ?? 0);
  immutable('reason', n.reason, o.reason); // upstream checks reason twice
  immutable('type', n.type, o.type);
  immutable('eventTime', n.eventTime, o.eventTime, timeKey(n.eventTime) === timeKey(o.eventTime));
  immutable('action', n.action, o.action);
  immutable('related', n.related, o.related);
  immutable('reportingController', n.reportingComponent, o.reportingComponent);
  immutable('reportingInstance', n.reportingInstance, o.reportingInstance);
  return errs;
}

// ---- Table: the same columns and cells as core Events (upstream prints both from the core shape) ----

export const eventTableColumns: TableColumn[] = [
  { name: 'Last Seen', type: 'string', description: 'The time at which the most recent occurrence of this event was recorded.', priority: 0 },
  { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning).', priority: 0 },
  { name: 'Reason', type: 'string', description: 'A short, machine understandable string that gives the reason for this event.', priority: 0 },
  { name: 'Object', type: 'string', description: 'The object that this event is about.', priority: 0 },
  { name: 'Subobject', type: 'string', description: 'The part of the object this event is about (fieldPath).', priority: 1 },
  { name: 'Source', type: 'string', description: 'The component reporting this event.', priority: 1 },
  { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation.', priority: 0 },
  { name: 'First Seen', type: 'string', description: 'The time at which the event was first recorded.', priority: 1 },
  { name: 'Count', type: 'string', description: 'The number of times this event has occurred.', priority: 1 },
  { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 1 },
];

const firstNonEmpty = (...ss: string[]) => ss.find((s) => s.length > 0) ?? '';

/** The cells of `eventTableColumns` for a core-shaped Event. */
export function eventTableRow(e: CoreEvent, now: number): TableCell[] {
  const time = (v: unknown) => formatAge(isZeroTime(v) || typeof v !== 'string' ? undefined : v, now);
  const first = isZeroTime(e.firstTimestamp) ? time(e.eventTime) : time(e.firstTimestamp);
  let last = isZeroTime(e.lastTimestamp) ? first : time(e.lastTimestamp);
  let count = typeof e.count === 'number' ? e.count : 0;
  if (isPlainObject(e.series)) {
    last = time(e.series.lastObservedTime);
    count = typeof e.series.count === 'number' ? e.series.count : 0;
  } else if (count === 0) {
    count = 1; // singleton events written through events.k8s.io carry no count
  }
  const io = isPlainObject(e.involvedObject) ? e.involvedObject : {};
  const kind = str(io.kind).toLowerCase();
  const target = str(io.name) ? `${kind}/${str(io.name)}` : kind;
  const component = firstNonEmpty(str(e.source?.component), str(e.reportingComponent));
  const instance = firstNonEmpty(str(e.source?.host), str(e.reportingInstance));
  return [
    last,
    str(e.type),
    str(e.reason),
    target,
    str(io.fieldPath),
    instance ? `${component}, ${instance}` : component,
    str(e.message).trim(),
    first,
    count,
    e.metadata?.name ?? '',
  ];
}

export const eventsV1EventKind: KindInfo<EventObject> = {
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  resource: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  allowCreateOnUpdate: true,
  // one storage for both Event kinds, in the core shape, as upstream keeps them
  storage: {
    group: '',
    resource: 'events',
    toStorage: (o) => eventsV1ToCoreEvent(o as EventsV1Event) as KubeObject,
    fromStorage: (o) => coreEventToEventsV1(o as CoreEvent) as KubeObject,
  },
  strategy: {
    validate: validateEventsV1Event,
    validateUpdate: validateEventsV1EventUpdate,
    selectableFields(ev) {
      const r = isPlainObject(ev.regarding) ? (ev.regarding as Record<string, unknown>) : {};
      const src = isPlainObject(ev.deprecatedSource) ? str(ev.deprecatedSource.component) : '';
      return {
        'regarding.kind': str(r.kind),
        'regarding.namespace': str(r.namespace),
        'regarding.name': str(r.name),
        'regarding.uid': str(r.uid),
        'regarding.apiVersion': str(r.apiVersion),
        'regarding.resourceVersion': str(r.resourceVersion),
        'regarding.fieldPath': str(r.fieldPath),
        reason: str(ev.reason),
        reportingController: str(ev.reportingController),
        source: src || str(ev.reportingController),
        type: str(ev.type),
      };
    },
    table: {
      columns: eventTableColumns,
      row: (ev, now) => eventTableRow(eventsV1ToCoreEvent(ev), now),
    },
  },
};
