// Field-level checks shared by the core/v1 kinds: reading loosely-typed JSON safely and
// the apimachinery validators (ports, IPs, env var names, …) with upstream wording.
import { isIP } from 'node:net';
import { type FieldError, invalidValue, typeInvalid } from '../errors.js';
import { qualifiedNameErrors } from '../validation.js';

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `field.NotFound`: a reference to something that does not exist (e.g. a volume mount's volume). */
export const notFound = (field: string, value: unknown): FieldError => ({ field, type: 'FieldValueNotFound', value });

/** A string field; '' when absent. A value of another JSON type is reported and read as ''. */
export function str(v: unknown, path: string, errs: FieldError[]): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  errs.push(typeInvalid(path, v, 'must be of type string'));
  return '';
}

/** An integer field; undefined when absent. A non-integer is reported and read as undefined. */
export function int(v: unknown, path: string, errs: FieldError[]): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  errs.push(typeInvalid(path, v, 'must be of type integer'));
  return undefined;
}

export function bool(v: unknown, path: string, errs: FieldError[]): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  errs.push(typeInvalid(path, v, 'must be of type boolean'));
  return undefined;
}

/** A list field; [] when absent. */
export function list(v: unknown, path: string, errs: FieldError[]): unknown[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  errs.push(typeInvalid(path, v, 'must be of type array'));
  return [];
}

/** An object field; undefined when absent. */
export function obj(v: unknown, path: string, errs: FieldError[]): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObj(v)) return v;
  errs.push(typeInvalid(path, v, 'must be of type object'));
  return undefined;
}

/** Reads a nested value without type checks, for printers and selectable fields. */
export function dig(o: unknown, ...keys: string[]): unknown {
  let cur = o;
  for (const k of keys) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

export const digStr = (o: unknown, ...keys: string[]): string => {
  const v = dig(o, ...keys);
  return typeof v === 'string' ? v : '';
};

export const digList = (o: unknown, ...keys: string[]): unknown[] => {
  const v = dig(o, ...keys);
  return Array.isArray(v) ? v : [];
};

export const inclusiveRangeError = (lo: number, hi: number) => `must be between ${lo} and ${hi}, inclusive`;
export const IS_NEGATIVE_ERROR = 'must be greater than or equal to 0';
export const FIELD_IMMUTABLE = 'field is immutable';

export function portNumErrors(port: number): string[] {
  return port >= 1 && port <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** IANA_SVC_NAME rules, as container and service port names use. */
export function portNameErrors(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.includes('--')) errs.push('must not contain consecutive hyphens');
  if (name.length > 0 && (name.startsWith('-') || name.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** An int-or-string port: a number 1-65535 or an IANA service name. */
export function validatePortNumOrName(v: unknown, path: string): FieldError[] {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return [typeInvalid(path, v, 'must be of type integer')];
    return portNumErrors(v).map((m) => invalidValue(path, v, m));
  }
  if (typeof v === 'string') return portNameErrors(v).map((m) => invalidValue(path, v, m));
  return [invalidValue(path, v, inclusiveRangeError(1, 65535))];
}

const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function envVarNameErrors(name: string): string[] {
  const errs: string[] = [];
  if (!ENV_VAR_NAME.test(name))
    errs.push(
      "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
    );
  if (name === '.') errs.push("must not be '.'");
  else if (name === '..') errs.push("must not be '..'");
  else if (name.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

export function ipErrors(path: string, value: string): FieldError[] {
  return isIP(value) ? [] : [invalidValue(path, value, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)')];
}

export function cidrErrors(path: string, value: string): FieldError[] {
  const [ip, bits, extra] = value.split('/');
  const family = isIP(ip ?? '');
  const n = Number(bits);
  const ok =
    extra === undefined && family !== 0 && /^\d+$/.test(bits ?? '') && n >= 0 && n <= (family === 4 ? 32 : 128);
  return ok ? [] : [invalidValue(path, value, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)')];
}

/** `ValidateLabelName`: a qualified name used as a key (toleration keys, topology keys, …). */
export function labelNameErrors(path: string, key: string): FieldError[] {
  return qualifiedNameErrors(key).map((m) => invalidValue(path, key, m));
}

export const userIDErrors = (id: number) => (id >= 0 && id <= 2147483647 ? [] : [inclusiveRangeError(0, 2147483647)]);

/** Structural equality of JSON values (key order does not matter), as `apiequality.Semantic.DeepEqual` for our purposes. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/** A JSON deep copy, for comparing objects after blanking the fields an update may change. */
export const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));
