// The schema of the built-in kinds: which fields each type has, of which type, and which are required.
// Read lazily from the generated facts table (./builtin.ts) the first time something asks.
import { isPlainObject } from '../object.js';
import { BUILTIN_SCHEMA_JSON } from './builtin.js';
import { parseFieldType, type FieldShape, type SchemaFacts, type TypeFacts } from './facts.js';

export { parseFieldType, type FieldShape, type ScalarType, type SchemaFacts, type TypeFacts } from './facts.js';

/** A facts table with its field types decoded on first use. */
export class Schema {
  private readonly shapes = new Map<string, Map<string, FieldShape>>();

  constructor(readonly facts: SchemaFacts) {}

  /** The root type name of a kind, e.g. `io.k8s.api.apps.v1.Deployment` for apps/v1 Deployment. */
  typeNameForKind(apiVersion: string, kind: string): string | undefined {
    return this.facts.kinds[`${apiVersion}/${kind}`];
  }

  type(name: string): TypeFacts | undefined {
    return this.facts.types[name];
  }

  /** The decoded fields of a type (empty for free-form and unknown types). */
  fields(name: string): Map<string, FieldShape> {
    let m = this.shapes.get(name);
    if (!m) {
      m = new Map();
      for (const [field, t] of Object.entries(this.facts.types[name]?.fields ?? {})) m.set(field, parseFieldType(t));
      this.shapes.set(name, m);
    }
    return m;
  }

  /** The shape of a field, or undefined when the type does not declare it. */
  field(typeName: string, field: string): FieldShape | undefined {
    return this.fields(typeName).get(field);
  }

  /** A type whose objects may hold any field (RawExtension, FieldsV1), or one the table does not know. */
  isFreeForm(typeName: string): boolean {
    const t = this.facts.types[typeName];
    return !t || !!t.freeForm;
  }

  /** Every kind of the table as [apiVersion, kind, root type name]. */
  kinds(): [string, string, string][] {
    return Object.entries(this.facts.kinds).map(([key, root]) => {
      const i = key.lastIndexOf('/');
      return [key.slice(0, i), key.slice(i + 1), root];
    });
  }
}

let builtin: Schema | undefined;

/** The schema of the built-in types (parsed once, on first use). */
export function builtinSchema(): Schema {
  builtin ??= new Schema(JSON.parse(BUILTIN_SCHEMA_JSON) as SchemaFacts);
  return builtin;
}

/** The shape of a kind's objects in the built-in schema, or undefined when the kind is not in it. */
export function schemaForKind(apiVersion: string, kind: string): FieldShape | undefined {
  const name = builtinSchema().typeNameForKind(apiVersion, kind);
  return name ? { kind: 'ref', name } : undefined;
}

/** Appends a field name to a field path as upstream's strict decoder writes it (`spec.template`). */
export const childPath = (path: string, field: string) => (path ? `${path}.${field}` : field);
/** Appends a list index to a field path (`containers[0]`). */
export const indexPath = (path: string, i: number) => `${path}[${i}]`;

/** Called for each field the schema does not declare; `parent[key]` holds the value. */
export type UnknownFieldVisitor = (path: string, parent: Record<string, unknown>, key: string) => void;

/**
 * Walks `value` along `shape` and reports every field the schema does not declare, depth first; with
 * `sorted`, keys are visited in sorted order (as upstream reports unknown fields of a decoded map).
 * Values of the wrong JSON type are not descended into: type errors are validation's business.
 */
export function walkUnknownFields(schema: Schema, shape: FieldShape, value: unknown, visit: UnknownFieldVisitor, path = '', sorted = true): void {
  switch (shape.kind) {
    case 'scalar':
    case 'any':
      return;
    case 'array':
      if (Array.isArray(value)) for (let i = 0; i < value.length; i++) walkUnknownFields(schema, shape.items, value[i], visit, indexPath(path, i), sorted);
      return;
    case 'map':
      if (shape.values.kind === 'scalar' || !isPlainObject(value)) return;
      for (const key of sorted ? Object.keys(value).sort() : Object.keys(value)) walkUnknownFields(schema, shape.values, value[key], visit, childPath(path, key), sorted);
      return;
    case 'ref': {
      if (!isPlainObject(value) || schema.isFreeForm(shape.name)) return;
      const fields = schema.fields(shape.name);
      for (const key of sorted ? Object.keys(value).sort() : Object.keys(value)) {
        const f = fields.get(key);
        if (f) {
          if (f.kind !== 'scalar' && f.kind !== 'any') walkUnknownFields(schema, f, value[key], visit, childPath(path, key), sorted);
        } else visit(childPath(path, key), value, key);
      }
    }
  }
}

/** Whether `value` has a field `shape` does not declare (almost no object has: no paths, no sorting). */
function hasUnknownFields(schema: Schema, shape: FieldShape, value: unknown): boolean {
  switch (shape.kind) {
    case 'scalar':
    case 'any':
      return false;
    case 'array':
      if (Array.isArray(value)) for (const v of value) if (hasUnknownFields(schema, shape.items, v)) return true;
      return false;
    case 'map':
      if (shape.values.kind === 'scalar' || !isPlainObject(value)) return false;
      for (const key in value) if (hasUnknownFields(schema, shape.values, value[key])) return true;
      return false;
    case 'ref': {
      if (!isPlainObject(value) || schema.isFreeForm(shape.name)) return false;
      const fields = schema.fields(shape.name);
      for (const key in value) {
        const f = fields.get(key);
        if (!f) return true;
        if (f.kind !== 'scalar' && f.kind !== 'any' && hasUnknownFields(schema, f, value[key])) return true;
      }
      return false;
    }
  }
}

/** The paths of the fields of `value` that `shape` does not declare, in upstream's order. */
export function unknownFields(schema: Schema, shape: FieldShape, value: unknown): string[] {
  if (!hasUnknownFields(schema, shape, value)) return [];
  const out: string[] = [];
  walkUnknownFields(schema, shape, value, (path) => out.push(path));
  return out;
}

/** Removes, in place, every field of `value` that `shape` does not declare; returns their paths. */
export function pruneUnknownFields(schema: Schema, shape: FieldShape, value: unknown): string[] {
  const out: string[] = [];
  walkUnknownFields(
    schema,
    shape,
    value,
    (path, parent, key) => {
      out.push(path);
      delete parent[key];
    },
    '',
    false,
  );
  return out;
}
