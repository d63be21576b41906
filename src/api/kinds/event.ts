// core/v1 Event. The events.k8s.io/v1 view of the same objects lives in events.ts.
import type { FieldError } from '../errors.js';
import { required, invalidValue, typeInvalid } from '../errors.js';
import type { KindInfo, KubeObject } from '../types.js';
import { nameIsPathSegment, qualifiedNameErrors } from '../validation.js';
import { isObj, digStr } from './checks.js';
import type { CoreEvent } from './event-convert.js';
import { eventTableColumns, eventTableRow } from './events.js';

type EventObject = CoreEvent & KubeObject;

const zeroTime = (v: unknown) => v === undefined || v === null || v === '';
const byteLength = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0);
const text = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * Upstream legacyValidateEvent as applied to core/v1 writes (the only validation core/v1 Events get,
 * on create and update alike): old-style Events (no eventTime) only need a matching namespace;
 * new-style ones need the reporting fields.
 */
function validateEvent(e: EventObject): FieldError[] {
  const errs: FieldError[] = [];
  const raw = e as Record<string, unknown>;
  for (const f of ['reason', 'message', 'type', 'action', 'reportingComponent', 'reportingInstance'])
    if (raw[f] !== undefined && raw[f] !== null && typeof raw[f] !== 'string') errs.push(typeInvalid(f, raw[f], 'must be of type string'));
  for (const f of ['involvedObject', 'source', 'related', 'series'])
    if (raw[f] !== undefined && raw[f] !== null && !isObj(raw[f])) errs.push(typeInvalid(f, raw[f], 'must be of type object'));
  if (raw.count !== undefined && raw.count !== null && !Number.isInteger(raw.count)) errs.push(typeInvalid('count', raw.count, 'must be of type integer'));
  if (errs.length) return errs;

  const ns = e.metadata?.namespace ?? '';
  const involvedNs = digStr(e.involvedObject, 'namespace');
  if (zeroTime(e.eventTime)) {
    if (involvedNs === '' ? ns !== '' && ns !== 'default' : ns !== involvedNs)
      errs.push(invalidValue('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
    return errs;
  }
  if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system')
    errs.push(invalidValue('involvedObject.namespace', involvedNs, 'does not match event.namespace'));
  const controller = text(e.reportingComponent);
  if (!controller) errs.push(required('reportingController'));
  for (const m of qualifiedNameErrors(controller)) errs.push(invalidValue('reportingController', controller, m));
  if (!text(e.reportingInstance)) errs.push(required('reportingInstance'));
  if (byteLength(e.reportingInstance) > 128) errs.push(invalidValue('reportingInstance', '', 'can have at most 128 characters'));
  if (!text(e.action)) errs.push(required('action'));
  if (byteLength(e.action) > 128) errs.push(invalidValue('action', '', 'can have at most 128 characters'));
  if (!text(e.reason)) errs.push(required('reason'));
  if (byteLength(e.reason) > 128) errs.push(invalidValue('reason', '', 'can have at most 128 characters'));
  if (byteLength(e.message) > 1024) errs.push(invalidValue('message', '', 'can have at most 1024 characters'));
  return errs;
}

/** core/v1 writes skip upstream's name validation entirely; names only have to be usable in a URL path. */
export const eventKind: KindInfo<EventObject> & { nameValidator: typeof nameIsPathSegment } = {
  group: '',
  version: 'v1',
  kind: 'Event',
  resource: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  allowCreateOnUpdate: true,
  nameValidator: nameIsPathSegment,
  strategy: {
    defaults(e) {
      // The fields a real server always writes, even when zero.
      e.involvedObject ??= {};
      e.source ??= {};
      if (e.firstTimestamp === undefined) e.firstTimestamp = null;
      if (e.lastTimestamp === undefined) e.lastTimestamp = null;
      if (e.eventTime === undefined) e.eventTime = null;
      e.reportingComponent ??= '';
      e.reportingInstance ??= '';
    },
    validate: validateEvent,
    selectableFields(e) {
      const io = e.involvedObject;
      return {
        'involvedObject.kind': digStr(io, 'kind'),
        'involvedObject.namespace': digStr(io, 'namespace'),
        'involvedObject.name': digStr(io, 'name'),
        'involvedObject.uid': digStr(io, 'uid'),
        'involvedObject.apiVersion': digStr(io, 'apiVersion'),
        'involvedObject.resourceVersion': digStr(io, 'resourceVersion'),
        'involvedObject.fieldPath': digStr(io, 'fieldPath'),
        reason: text(e.reason),
        reportingComponent: text(e.reportingComponent),
        source: digStr(e.source, 'component') || text(e.reportingComponent),
        type: text(e.type),
      };
    },
    table: { columns: eventTableColumns, row: eventTableRow },
  },
};
