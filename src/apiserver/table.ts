// `meta.k8s.io/v1 Table` output: what `kubectl get` asks for and prints.
import { formatAge } from '../api/names.js';
import type { KindInfo, KubeObject, TableColumn, TableConvertor } from '../api/types.js';

const defaultTable: TableConvertor = {
  columns: [
    { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
    { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 },
  ],
  row: (obj, now) => [obj.metadata?.name ?? '', formatAge(obj.metadata?.creationTimestamp, now)],
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function tableConvertor(info: KindInfo): TableConvertor {
  return (info.strategy.table as TableConvertor | undefined) ?? defaultTable;
}

function partialMetadata(obj: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export interface TableRow {
  cells: unknown[];
  object?: KubeObject;
}

export function tableRow(info: KindInfo, obj: KubeObject, include: IncludeObject, now = Date.now()): TableRow {
  let cells: unknown[];
  try {
    cells = tableConvertor(info).row(obj, now);
  } catch {
    // a malformed stored object still gets a row rather than failing the whole list
    cells = tableConvertor(info).columns.map((c, i) => (i === 0 ? obj.metadata?.name ?? '' : '<unknown>'));
  }
  const row: TableRow = { cells };
  if (include === 'Object') row.object = obj;
  else if (include === 'Metadata') row.object = partialMetadata(obj);
  return row;
}

export function makeTable(
  info: KindInfo,
  objs: KubeObject[],
  include: IncludeObject,
  listMeta: { resourceVersion?: string; continue?: string; remainingItemCount?: number },
  withColumns = true,
): Record<string, unknown> {
  const now = Date.now();
  const columns: TableColumn[] = tableConvertor(info).columns;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    ...(withColumns ? { columnDefinitions: columns } : {}),
    rows: objs.map((o) => tableRow(info, o, include, now)),
  };
}
