// apps/v1 ControllerRevision: the history the StatefulSet and DaemonSet controllers keep (an immutable
// `data` snapshot and its `revision` number), upstream's strategy (no status, data immutable) and printer.
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import { type FieldError, invalidValue, required } from '../errors.js';
import { formatAge } from '../names.js';
import type { KindInfo, TableCell } from '../types.js';
import { jsonEqual, FIELD_IMMUTABLE } from './checks.js';
import { AGE_COLUMN, NAME_COLUMN, nonNegativeField } from './workload-common.js';

/** upstream ValidateControllerRevision (any JSON but null is data, as a RawExtension takes it). */
function validateControllerRevision(cr: ControllerRevision): FieldError[] {
  const errs: FieldError[] = [];
  const data = (cr as { data?: unknown }).data;
  if (data === undefined || data === null) errs.push(required('data', 'data is mandatory'));
  nonNegativeField((cr as { revision?: unknown }).revision, 'revision', errs);
  return errs;
}

/** upstream formatResourceName with the kind: `statefulset.apps/web`. */
function controllerCell(cr: ControllerRevision): string {
  const ref = cr.metadata?.ownerReferences?.find((r) => r.controller === true);
  if (!ref) return '<none>';
  const apiVersion = typeof ref.apiVersion === 'string' ? ref.apiVersion : '';
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  const kind = typeof ref.kind === 'string' ? ref.kind : '';
  if (!kind) return ref.name ?? '';
  return `${(group ? `${kind}.${group}` : kind).toLowerCase()}/${ref.name ?? ''}`;
}

export function controllerRevisionRow(cr: ControllerRevision, now: number): TableCell[] {
  const rev = (cr as { revision?: unknown }).revision;
  return [cr.metadata?.name ?? '', controllerCell(cr), typeof rev === 'number' ? rev : 0, formatAge(cr.metadata?.creationTimestamp, now)];
}

export const controllerRevisionKind: KindInfo<ControllerRevision> = {
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  resource: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  strategy: {
    validate: validateControllerRevision,
    validateUpdate(cr, old) {
      const data = (cr as { data?: unknown }).data;
      const prev = (old as { data?: unknown }).data;
      return jsonEqual(data ?? null, prev ?? null) ? [] : [invalidValue('data', data ?? null, FIELD_IMMUTABLE)];
    },
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Controller', type: 'string', description: 'Controller of the object', priority: 0 },
        { name: 'Revision', type: 'string', description: 'Revision indicates the revision of the state represented by Data.', priority: 0 },
        AGE_COLUMN,
      ],
      row: controllerRevisionRow,
    },
  },
};
