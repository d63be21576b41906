// The KindInfos a CustomResourceDefinition serves: one per served version, all kept under the storage
// version's apiVersion in one storage prefix, with a strategy that prunes, defaults and validates against
// the version's schema, and a table from its additionalPrinterColumns.
import type { CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionVersion } from 'kubernetes-types/apiextensions/v1.js';
import { compareKubeVersions, type CRDSchema } from '../../api/kinds/crd.js';
import { StatusError } from '../../api/errors.js';
import { formatAge } from '../../api/names.js';
import { deepEqual, isPlainObject } from '../../api/object.js';
import type { KindInfo, KubeObject, TableCell, TableColumn, TableConvertor } from '../../api/types.js';
import { applySchemaDefaults, evalJSONPath, parseJSONPath, pruneUnknownSchemaFields, unknownSchemaFields, validateAgainstSchema } from './schema.js';

/** What the API server knows of a kind that a CRD defines. */
export interface CustomResourceKind {
  /** the CRD's name (`<plural>.<group>`) */
  crd: string;
  schema?: CRDSchema;
  /** the whole object may hold anything (spec.preserveUnknownFields, or a schema preserving unknown fields at the root) */
  preserveUnknownFields: boolean;
  /** the OpenAPI type name upstream publishes, e.g. `com.example.stable.v1.CronTab` */
  openAPIName: string;
  /** distinct for every KindInfo built, so caches of published schemas can tell them apart */
  serial: number;
}

let serials = 0;

const customKinds = new WeakMap<KindInfo, CustomResourceKind>();

/** The CRD facts of a kind, or undefined for a built-in kind. */
export function customResourceKind(info: KindInfo): CustomResourceKind | undefined {
  return customKinds.get(info);
}

/** Fields of a custom resource the schema does not declare (empty when nothing is pruned). */
export function customUnknownFields(info: KindInfo, obj: unknown): string[] | undefined {
  const c = customKinds.get(info);
  if (!c) return undefined;
  if (c.preserveUnknownFields || !c.schema) return [];
  return unknownSchemaFields(c.schema, obj);
}

/** Removes undeclared fields of a custom resource in place. */
export function pruneCustomResource(info: KindInfo, obj: unknown): void {
  const c = customKinds.get(info);
  if (c?.schema && !c.preserveUnknownFields) pruneUnknownSchemaFields(c.schema, obj);
}

const reversedGroup = (group: string) => group.split('.').reverse().join('.');

const DEFAULT_COLUMNS: CustomResourceColumnDefinition[] = [
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' },
];

/** A Table cell from a JSONPath result, converted as upstream's CRD table convertor does. */
function cellFor(type: string, value: unknown, now: number): TableCell {
  if (value === undefined || value === null) return null;
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      if (typeof value !== 'string') return null;
      return Number.isNaN(Date.parse(value)) ? '<invalid>' : formatAge(value, now);
    default:
      return null;
  }
}

export function customResourceTable(columns: CustomResourceColumnDefinition[] | undefined): TableConvertor {
  const cols = columns?.length ? columns : DEFAULT_COLUMNS;
  const paths = cols.map((c) => parseJSONPath(c.jsonPath));
  const defs: TableColumn[] = [
    { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
    ...cols.map((c) => ({
      name: c.name,
      type: c.type as TableColumn['type'],
      ...(c.format ? { format: c.format } : {}),
      description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      priority: c.priority ?? 0,
    })),
  ];
  return {
    columns: defs,
    row(obj: KubeObject, now: number) {
      const cells: TableCell[] = [obj.metadata?.name ?? ''];
      cols.forEach((c, i) => {
        const p = paths[i];
        const found = p ? evalJSONPath(p, obj) : [];
        cells.push(found.length ? cellFor(c.type, found[0], now) : null);
      });
      return cells;
    },
  };
}

/** Everything outside metadata and status. */
function specPart(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = obj;
  return rest;
}

export interface CustomResourceState {
  /** true once the CRD is being deleted: no new objects */
  terminating(): boolean;
}

function versionSchema(v: CustomResourceDefinitionVersion): CRDSchema | undefined {
  const s = v.schema?.openAPIV3Schema as unknown;
  return isPlainObject(s) ? (s as CRDSchema) : undefined;
}

/** The served versions of a CRD as KindInfos, in version priority order (the preferred version first). */
export function kindsForCRD(crd: CustomResourceDefinition, state: CustomResourceState): KindInfo[] {
  const spec = crd.spec;
  const names = spec.names;
  const versions = [...(spec.versions ?? [])].filter((v) => v.served).sort((a, b) => compareKubeVersions(a.name, b.name));
  const storageVersion = spec.versions.find((v) => v.storage)?.name ?? versions[0]?.name;
  const multi = spec.versions.length > 1;
  const group = spec.group;
  const namespaced = spec.scope === 'Namespaced';
  return versions.map((v) => {
    const schema = versionSchema(v);
    const preserve = spec.preserveUnknownFields === true || !!schema?.['x-kubernetes-preserve-unknown-fields'];
    const sub = v.subresources;
    const statusEnabled = !!sub?.status;
    const scale = sub?.scale;
    const apiVersion = `${group}/${v.name}`;
    const storageAPIVersion = `${group}/${storageVersion}`;
    const shape = (obj: KubeObject) => {
      if (schema && !preserve) pruneUnknownSchemaFields(schema, obj);
      if (schema) applySchemaDefaults(schema, obj);
    };
    const info: KindInfo = {
      group,
      version: v.name,
      kind: names.kind,
      resource: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      namespaced,
      ...(names.shortNames?.length ? { shortNames: [...names.shortNames] } : {}),
      ...(names.categories?.length ? { categories: [...names.categories] } : {}),
      subresources: {
        ...(statusEnabled ? { status: true } : {}),
        ...(scale
          ? { scale: { specReplicasPath: scale.specReplicasPath, statusReplicasPath: scale.statusReplicasPath, ...(scale.labelSelectorPath ? { labelSelectorPath: scale.labelSelectorPath } : {}) } }
          : {}),
      },
      generation: true,
      ...(multi
        ? {
            storage: {
              group,
              resource: names.plural,
              toStorage: (o: KubeObject) => ({ ...o, apiVersion: storageAPIVersion }),
              fromStorage: (o: KubeObject) => ({ ...o, apiVersion }),
            },
          }
        : {}),
      strategy: {
        defaults: shape,
        prepareForCreate(obj) {
          if (state.terminating())
            throw new StatusError(405, 'MethodNotAllowed', 'create not allowed while custom resource definition is terminating', { group, kind: names.plural });
          if (statusEnabled) delete obj.status;
        },
        prepareForUpdate(obj, old) {
          // without a status subresource, status is part of what generation counts
          if (!statusEnabled && !deepEqual(obj.status, old.status) && deepEqual(specPart(obj), specPart(old)) && obj.metadata)
            obj.metadata.generation = (old.metadata?.generation ?? 0) + 1;
        },
        prepareForStatusUpdate: shape,
        validate(obj) {
          if (!schema) return [];
          const errs = validateAgainstSchema(schema, obj);
          if (scale) {
            const replicas = evalJSONPath(parseJSONPath(scale.specReplicasPath) ?? [], obj)[0];
            if (replicas !== undefined && replicas !== null && !(Number.isInteger(replicas) && (replicas as number) >= 0))
              errs.push({ field: scale.specReplicasPath.slice(1), type: 'FieldValueInvalid', value: replicas, detail: 'should be a non-negative integer' });
          }
          return errs;
        },
        table: customResourceTable(v.additionalPrinterColumns),
      },
    };
    customKinds.set(info, { crd: crd.metadata?.name ?? '', schema, preserveUnknownFields: preserve, openAPIName: `${reversedGroup(group)}.${v.name}.${names.kind}`, serial: ++serials });
    return info;
  });
}
