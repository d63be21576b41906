// The format of the schema facts table (src/api/schema/builtin.ts, written by scripts/gen-schema.ts).
//
// Types are named as upstream's OpenAPI names them (`io.k8s.api.apps.v1.Deployment`). A field type is
// a string:
//   string | integer | number | boolean     a JSON scalar
//   IntOrString | Quantity | Time | MicroTime  strings (IntOrString: also an integer) upstream names
//   object                                  a free-form value (any JSON)
//   []T                                     an array of T
//   {}T                                     a map from string keys to T
//   <type name>                             a reference to another type (a name always contains a dot)

export type ScalarType = 'string' | 'integer' | 'number' | 'boolean' | 'IntOrString' | 'Quantity' | 'Time' | 'MicroTime';

export interface TypeFacts {
  /** JSON field name → field type */
  fields?: Record<string, string>;
  /** fields that are not optional */
  required?: string[];
  /** an object of any shape (RawExtension, FieldsV1) */
  freeForm?: boolean;
}

export interface SchemaFacts {
  /** where the facts come from, e.g. `kubernetes-types@1.30.0` */
  source: string;
  /** `<apiVersion>/<kind>` → root type name */
  kinds: Record<string, string>;
  types: Record<string, TypeFacts>;
}

/** A field type, decoded. */
export type FieldShape =
  | { kind: 'scalar'; type: ScalarType }
  | { kind: 'any' }
  | { kind: 'array'; items: FieldShape }
  | { kind: 'map'; values: FieldShape }
  | { kind: 'ref'; name: string };

const SCALARS = new Set<string>(['string', 'integer', 'number', 'boolean', 'IntOrString', 'Quantity', 'Time', 'MicroTime']);
const ANY: FieldShape = { kind: 'any' };

/** Decodes a field type string of the facts table. */
export function parseFieldType(t: string): FieldShape {
  if (t.startsWith('[]')) return { kind: 'array', items: parseFieldType(t.slice(2)) };
  if (t.startsWith('{}')) return { kind: 'map', values: parseFieldType(t.slice(2)) };
  if (t === 'object') return ANY;
  if (SCALARS.has(t)) return { kind: 'scalar', type: t as ScalarType };
  if (t.includes('.')) return { kind: 'ref', name: t };
  throw new Error(`unknown field type in the schema facts: ${t}`);
}
