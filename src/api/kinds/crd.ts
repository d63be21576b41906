// apiextensions.k8s.io/v1 CustomResourceDefinition: defaults, validation (names, versions, structural
// schemas, subresources, printer columns) and its table. Serving the resources a CRD defines is the API
// server's business (src/apiserver/crd/).
import type {
  CustomResourceColumnDefinition,
  CustomResourceDefinition,
  CustomResourceDefinitionCondition,
  CustomResourceDefinitionNames,
  CustomResourceDefinitionVersion,
  JSONSchemaProps,
} from 'kubernetes-types/apiextensions/v1.js';
import { type FieldError, forbidden, invalidValue, notSupported, required } from '../errors.js';
import { deepEqual, isPlainObject } from '../object.js';
import type { KindInfo } from '../types.js';
import { dns1035LabelErrors, dns1123SubdomainErrors } from '../validation.js';

/** The OpenAPI vendor extensions a CRD schema may carry (kubernetes-types leaves them out). */
export interface SchemaExtensions {
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
}
export type CRDSchema = Omit<JSONSchemaProps, 'properties' | 'items' | 'additionalProperties' | 'allOf' | 'anyOf' | 'oneOf' | 'not'> &
  SchemaExtensions & {
    properties?: Record<string, CRDSchema>;
    items?: CRDSchema | CRDSchema[];
    additionalProperties?: CRDSchema | boolean;
    allOf?: CRDSchema[];
    anyOf?: CRDSchema[];
    oneOf?: CRDSchema[];
    not?: CRDSchema;
  };

/** Removes the finalizer once every custom resource of the definition is gone. */
export const CUSTOM_RESOURCE_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const PRINTER_COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
const PRINTER_COLUMN_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'name', 'password'];
const OPENAPI_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];

const isTrue = (c: CustomResourceDefinitionCondition[] | undefined, type: string) => !!c?.some((x) => x.type === type && x.status === 'True');
export const crdConditionTrue = (crd: CustomResourceDefinition, type: string) => isTrue(crd.status?.conditions as CustomResourceDefinitionCondition[] | undefined, type);

/** Kubernetes' version priority: v10 > v2 > v1 > v11beta2 > v10beta3 > v3beta1 > v12alpha1 > v11alpha2 > foo1 > foo10. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return { rank: 0, major: 0, minor: 0 };
    return { rank: m[2] === 'alpha' ? 1 : m[2] === 'beta' ? 2 : 3, major: Number(m[1]), minor: Number(m[3] ?? 0) };
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa.rank !== pb.rank) return pb.rank - pa.rank;
  if (pa.rank === 0) return a < b ? -1 : a > b ? 1 : 0;
  if (pa.major !== pb.major) return pb.major - pa.major;
  return pb.minor - pa.minor;
}

function defaultNames(names: CustomResourceDefinitionNames | undefined): void {
  if (!isPlainObject(names)) return;
  const n = names as { singular?: string; listKind?: string; kind?: string };
  if (typeof n.kind === 'string' && n.kind) {
    if (!n.singular) n.singular = n.kind.toLowerCase();
    if (!n.listKind) n.listKind = `${n.kind}List`;
  }
}

/** Checks that a schema is structural (every field typed, arrays with items) and uses only supported keywords. */
export function validateStructuralSchema(s: unknown, path: string, ctx: 'root' | 'property' | 'items' | 'nested' = 'root', statusEnabled = false): FieldError[] {
  const errs: FieldError[] = [];
  if (!isPlainObject(s)) return [invalidValue(path, s, 'must be an object')];
  const schema = s as CRDSchema;
  const t = schema.type;
  if (t !== undefined && typeof t === 'string' && t !== '' && !OPENAPI_TYPES.includes(t)) errs.push(notSupported(`${path}.type`, t, OPENAPI_TYPES));
  if ((t === undefined || t === '') && ctx !== 'nested' && !schema['x-kubernetes-preserve-unknown-fields'] && !schema['x-kubernetes-int-or-string']) {
    if (ctx === 'root') errs.push(required(`${path}.type`, 'must not be empty at the root'));
    else if (ctx === 'items') errs.push(required(`${path}.type`, 'must not be empty for specified array items'));
    else errs.push(required(`${path}.type`, 'must not be empty for specified object fields'));
  }
  if (ctx === 'root' && t && t !== 'object') errs.push(invalidValue(`${path}.type`, t, 'must be object at the root'));
  if (ctx === 'root' && schema.nullable === true) errs.push(forbidden(`${path}.nullable`, 'nullable cannot be true at the root'));
  if (ctx === 'root' && schema.additionalProperties !== undefined && schema.additionalProperties !== false) errs.push(forbidden(`${path}.additionalProperties`, 'must not be used at the root'));
  if (t === 'array' && schema.items === undefined) errs.push(required(`${path}.items`, 'must be specified'));
  if (Array.isArray(schema.items)) errs.push(forbidden(`${path}.items`, 'items must be a schema object and not an array'));
  if (schema.properties !== undefined && isPlainObject(schema.additionalProperties)) errs.push(forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
  if ((schema as { $ref?: unknown }).$ref !== undefined) errs.push(forbidden(`${path}.$ref`, '$ref is not supported'));
  if (schema['x-kubernetes-preserve-unknown-fields'] === false) errs.push(invalidValue(`${path}.x-kubernetes-preserve-unknown-fields`, false, 'must be true or undefined'));
  if (schema['x-kubernetes-embedded-resource'] && t !== 'object') {
    errs.push(t ? invalidValue(`${path}.type`, t, 'must be object if x-kubernetes-embedded-resource is true') : required(`${path}.type`, 'must be object if x-kubernetes-embedded-resource is true'));
  }
  if (schema['x-kubernetes-int-or-string'] && schema['x-kubernetes-preserve-unknown-fields'])
    errs.push(invalidValue(`${path}.x-kubernetes-preserve-unknown-fields`, true, 'must be false if x-kubernetes-int-or-string is true'));
  if (typeof schema.pattern === 'string') {
    try {
      new RegExp(schema.pattern, 'u');
    } catch (e) {
      errs.push(invalidValue(`${path}.pattern`, schema.pattern, `must be a valid regular expression, but isn't: ${(e as Error).message}`));
    }
  }
  if (schema.properties !== undefined) {
    if (!isPlainObject(schema.properties)) errs.push(invalidValue(`${path}.properties`, schema.properties, 'must be an object'));
    else
      for (const [k, v] of Object.entries(schema.properties)) {
        if (ctx === 'root' && k === 'metadata' && isPlainObject(v)) {
          const extra = Object.keys((v as CRDSchema).properties ?? {}).filter((p) => p !== 'name' && p !== 'generateName');
          if (extra.length) errs.push(forbidden(`${path}.properties[metadata]`, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
          continue;
        }
        errs.push(...validateStructuralSchema(v, `${path}.properties[${k}]`, 'property'));
      }
  }
  if (isPlainObject(schema.items)) errs.push(...validateStructuralSchema(schema.items, `${path}.items`, 'items'));
  if (isPlainObject(schema.additionalProperties)) errs.push(...validateStructuralSchema(schema.additionalProperties, `${path}.additionalProperties`, 'property'));
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[k];
    if (Array.isArray(list)) list.forEach((x, i) => errs.push(...validateStructuralSchema(x, `${path}.${k}[${i}]`, 'nested')));
  }
  if (schema.not !== undefined) errs.push(...validateStructuralSchema(schema.not, `${path}.not`, 'nested'));
  if (ctx === 'root' && statusEnabled && schema.properties) {
    // nothing more: the status subresource only needs an object at the root
  }
  return errs;
}

function validateNames(names: unknown, path: string, forSpec: boolean): FieldError[] {
  const errs: FieldError[] = [];
  if (!isPlainObject(names)) return forSpec ? [required(`${path}.plural`, ''), required(`${path}.kind`, '')] : [];
  const n = names as Record<string, unknown>;
  const str = (k: string) => (typeof n[k] === 'string' ? (n[k] as string) : '');
  if (forSpec) for (const k of ['plural', 'singular', 'kind', 'listKind']) if (!str(k)) errs.push(required(`${path}.${k}`, ''));
  const check = (k: string, value: string, lower = false) => {
    if (!value) return;
    const e = dns1035LabelErrors(lower ? value.toLowerCase() : value);
    if (e.length) errs.push(invalidValue(`${path}.${k}`, value, lower ? `may have mixed case, but should otherwise match: ${e.join(',')}` : e.join(',')));
  };
  check('plural', str('plural'));
  check('singular', str('singular'));
  check('kind', str('kind'), true);
  check('listKind', str('listKind'), true);
  for (const [field, list] of [['shortNames', n.shortNames], ['categories', n.categories]] as const) {
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      errs.push(invalidValue(`${path}.${field}`, list, 'must be a list of strings'));
      continue;
    }
    list.forEach((v, i) => {
      const e = typeof v === 'string' ? dns1035LabelErrors(v) : ['must be a string'];
      if (e.length) errs.push(invalidValue(`${path}.${field}[${i}]`, v, e.join(',')));
    });
  }
  if (str('kind') && str('kind') === str('listKind')) errs.push(invalidValue(`${path}.listKind`, str('listKind'), 'kind and listKind may not be the same'));
  return errs;
}

function validatePrinterColumn(col: unknown, path: string): FieldError[] {
  if (!isPlainObject(col)) return [invalidValue(path, col, 'must be an object')];
  const c = col as Partial<CustomResourceColumnDefinition>;
  const errs: FieldError[] = [];
  if (!c.name) errs.push(required(`${path}.name`, ''));
  if (!c.type) errs.push(required(`${path}.type`, `must be one of ${PRINTER_COLUMN_TYPES.join(',')}`));
  else if (!PRINTER_COLUMN_TYPES.includes(c.type)) errs.push(invalidValue(`${path}.type`, c.type, `must be one of ${PRINTER_COLUMN_TYPES.join(',')}`));
  if (c.format && !PRINTER_COLUMN_FORMATS.includes(c.format)) errs.push(invalidValue(`${path}.format`, c.format, `must be one of ${PRINTER_COLUMN_FORMATS.join(',')}`));
  if (!c.jsonPath) errs.push(required(`${path}.JSONPath`, ''));
  else if (!c.jsonPath.startsWith('.')) errs.push(invalidValue(`${path}.JSONPath`, c.jsonPath, 'must be a simple json path starting with .'));
  return errs;
}

function validateSubresources(sub: unknown, path: string): FieldError[] {
  if (sub === undefined || sub === null) return [];
  if (!isPlainObject(sub)) return [invalidValue(path, sub, 'must be an object')];
  const scale = (sub as { scale?: unknown }).scale;
  if (scale === undefined || scale === null) return [];
  if (!isPlainObject(scale)) return [invalidValue(`${path}.scale`, scale, 'must be an object')];
  const s = scale as { specReplicasPath?: unknown; statusReplicasPath?: unknown; labelSelectorPath?: unknown };
  const errs: FieldError[] = [];
  const simple = (p: string) => /^(\.[A-Za-z0-9_-]+)+$/.test(p);
  if (!s.specReplicasPath) errs.push(required(`${path}.scale.specReplicasPath`, ''));
  else if (typeof s.specReplicasPath !== 'string' || !s.specReplicasPath.startsWith('.spec.') || !simple(s.specReplicasPath))
    errs.push(invalidValue(`${path}.scale.specReplicasPath`, s.specReplicasPath, 'should be a json path under .spec'));
  if (!s.statusReplicasPath) errs.push(required(`${path}.scale.statusReplicasPath`, ''));
  else if (typeof s.statusReplicasPath !== 'string' || !s.statusReplicasPath.startsWith('.status.') || !simple(s.statusReplicasPath))
    errs.push(invalidValue(`${path}.scale.statusReplicasPath`, s.statusReplicasPath, 'should be a json path under .status'));
  if (s.labelSelectorPath !== undefined && s.labelSelectorPath !== null && s.labelSelectorPath !== '') {
    const p = s.labelSelectorPath;
    if (typeof p !== 'string' || !(p.startsWith('.spec.') || p.startsWith('.status.')) || !simple(p))
      errs.push(invalidValue(`${path}.scale.labelSelectorPath`, p, 'should be a json path under either .spec or .status'));
  }
  return errs;
}

function validateSpec(crd: CustomResourceDefinition): FieldError[] {
  const errs: FieldError[] = [];
  const spec = crd.spec as unknown;
  if (!isPlainObject(spec)) return [required('spec', '')];
  const group = typeof spec.group === 'string' ? spec.group : '';
  if (!group) errs.push(required('spec.group', ''));
  else {
    const e = dns1123SubdomainErrors(group);
    if (e.length) errs.push(invalidValue('spec.group', group, e.join(',')));
    else if (group.split('.').length < 2) errs.push(invalidValue('spec.group', group, 'should be a domain with at least one dot'));
  }
  if (!spec.scope) errs.push(required('spec.scope', ''));
  else if (spec.scope !== 'Cluster' && spec.scope !== 'Namespaced') errs.push(notSupported('spec.scope', spec.scope, ['Cluster', 'Namespaced']));
  errs.push(...validateNames(spec.names, 'spec.names', true));

  const preserve = spec.preserveUnknownFields === true;
  const versions = spec.versions;
  if (!Array.isArray(versions) || versions.length === 0) {
    errs.push(required('spec.versions', 'must have exactly one version marked as storage version'));
    return errs;
  }
  let storage = 0;
  const seen = new Set<string>();
  let unique = true;
  versions.forEach((v: unknown, i: number) => {
    const p = `spec.versions[${i}]`;
    if (!isPlainObject(v)) {
      errs.push(invalidValue(p, v, 'must be an object'));
      return;
    }
    const ver = v as Partial<CustomResourceDefinitionVersion>;
    if (ver.storage === true) storage++;
    const name = typeof ver.name === 'string' ? ver.name : '';
    if (seen.has(name)) unique = false;
    seen.add(name);
    const e = dns1035LabelErrors(name);
    if (e.length) errs.push(invalidValue(`${p}.name`, name, e.join(',')));
    if (typeof ver.served !== 'boolean') errs.push(required(`${p}.served`, ''));
    if (typeof ver.storage !== 'boolean') errs.push(required(`${p}.storage`, ''));
    const schema = ver.schema?.openAPIV3Schema as unknown;
    if (schema === undefined || schema === null) {
      if (!preserve) errs.push(required(`${p}.schema.openAPIV3Schema`, ''));
    } else errs.push(...validateStructuralSchema(schema, `${p}.schema.openAPIV3Schema`, 'root', !!ver.subresources?.status));
    errs.push(...validateSubresources(ver.subresources, `${p}.subresources`));
    const cols = ver.additionalPrinterColumns as unknown;
    if (cols !== undefined && cols !== null) {
      if (!Array.isArray(cols)) errs.push(invalidValue(`${p}.additionalPrinterColumns`, cols, 'must be a list'));
      else cols.forEach((c, j) => errs.push(...validatePrinterColumn(c, `${p}.additionalPrinterColumns[${j}]`)));
    }
  });
  if (!unique) errs.push(invalidValue('spec.versions', versions, 'must contain unique version names'));
  if (storage !== 1) errs.push(invalidValue('spec.versions', versions, 'must have exactly one version marked as storage version'));
  const conv = spec.conversion as { strategy?: unknown } | undefined;
  if (isPlainObject(conv) && conv.strategy !== undefined && conv.strategy !== 'None' && conv.strategy !== 'Webhook') errs.push(notSupported('spec.conversion.strategy', conv.strategy, ['None', 'Webhook']));
  if (isPlainObject(conv) && conv.strategy === 'Webhook' && !isPlainObject((conv as { webhook?: unknown }).webhook))
    errs.push(required('spec.conversion.webhookClientConfig', 'required when strategy is set to Webhook'));

  const name = crd.metadata?.name ?? '';
  const plural = isPlainObject(spec.names) && typeof spec.names.plural === 'string' ? spec.names.plural : '';
  if (name && name !== `${plural}.${group}`) errs.push(invalidValue('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  return errs;
}

function validateStoredVersions(crd: CustomResourceDefinition): FieldError[] {
  const stored = crd.status?.storedVersions;
  if (!Array.isArray(stored) || !Array.isArray(crd.spec?.versions)) return [];
  const errs: FieldError[] = [];
  const names = new Set(crd.spec.versions.map((v) => v?.name));
  stored.forEach((v, i) => {
    if (!names.has(v))
      errs.push(
        invalidValue(
          `status.storedVersions[${i}]`,
          v,
          `missing from spec.versions; ${v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in ${v} and removes ${v} from status.storedVersions`,
        ),
      );
  });
  return errs;
}

function addStorageVersion(crd: CustomResourceDefinition): void {
  const storage = Array.isArray(crd.spec?.versions) ? crd.spec.versions.find((v) => v?.storage === true)?.name : undefined;
  if (!storage) return;
  const status = (crd.status ??= {}) as { storedVersions?: string[] };
  const stored = Array.isArray(status.storedVersions) ? status.storedVersions : [];
  if (!stored.includes(storage)) status.storedVersions = [...stored, storage];
}

/** Upstream's REST.Delete: the first DELETE marks the definition and lets the cleanup finalizer remove its objects. */
function beginDelete(crd: CustomResourceDefinition): void {
  const m = crd.metadata!;
  if (!(m.finalizers ?? []).includes(CUSTOM_RESOURCE_CLEANUP_FINALIZER)) m.finalizers = [...(m.finalizers ?? []), CUSTOM_RESOURCE_CLEANUP_FINALIZER];
  setCondition(crd, {
    type: 'Terminating',
    status: 'True',
    reason: 'InstanceDeletionPending',
    message: 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon',
  });
}

/** Sets a condition, keeping lastTransitionTime when the status does not change. */
export function setCondition(crd: CustomResourceDefinition, c: Omit<CustomResourceDefinitionCondition, 'lastTransitionTime'>, now = new Date()): void {
  const status = (crd.status ??= {}) as { conditions?: CustomResourceDefinitionCondition[] };
  const list = Array.isArray(status.conditions) ? [...status.conditions] : [];
  const i = list.findIndex((x) => x.type === c.type);
  const ts = now.toISOString().replace(/\.\d+Z$/, 'Z');
  const next: CustomResourceDefinitionCondition = { type: c.type, status: c.status, lastTransitionTime: ts, reason: c.reason, message: c.message };
  if (i >= 0) {
    if (list[i].status === c.status) next.lastTransitionTime = list[i].lastTransitionTime ?? ts;
    if (deepEqual(list[i], next)) return;
    list[i] = next;
  } else list.push(next);
  status.conditions = list;
}

export const customResourceDefinitionKind: KindInfo<CustomResourceDefinition> = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  resource: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  subresources: { status: true },
  generation: true,
  strategy: {
    defaults(crd) {
      const spec = crd.spec as unknown;
      if (!isPlainObject(spec)) return;
      defaultNames(spec.names as CustomResourceDefinitionNames);
      if (spec.conversion === undefined || spec.conversion === null) spec.conversion = { strategy: 'None' };
      const status = crd.status as { storedVersions?: unknown } | undefined;
      if (isPlainObject(status) && Array.isArray(crd.spec.versions) && !(Array.isArray(status.storedVersions) && status.storedVersions.length)) addStorageVersion(crd);
    },
    prepareForCreate(crd) {
      crd.status = {};
      addStorageVersion(crd);
    },
    prepareForUpdate(crd) {
      addStorageVersion(crd);
    },
    validate(crd) {
      return [...validateSpec(crd), ...validateNames(crd.status?.acceptedNames, 'status.acceptedNames', false), ...validateStoredVersions(crd)];
    },
    validateUpdate(crd, old) {
      const errs: FieldError[] = [];
      if (old.spec?.scope !== crd.spec?.scope) errs.push(invalidValue('spec.scope', crd.spec?.scope, 'field is immutable'));
      if (crdConditionTrue(old, 'Established') && old.spec?.names?.plural !== crd.spec?.names?.plural)
        errs.push(invalidValue('spec.names.plural', crd.spec?.names?.plural, 'field is immutable'));
      if (old.spec?.group !== crd.spec?.group) errs.push(invalidValue('spec.group', crd.spec?.group, 'field is immutable'));
      return errs;
    },
    beginDelete,
    // the first DELETE only marks the definition: its custom resources go first
    deletionBlocked: (crd) => !crd.metadata?.deletionTimestamp,
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Created At', type: 'date', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
      ],
      row: (crd) => [crd.metadata?.name ?? '', crd.metadata?.creationTimestamp ?? null],
    },
  },
};
