// Resource-name rules of the core kinds (container resources, quota names) and lenient quantity
// helpers over quantity.ts for values read from unchecked JSON.
import { type FieldError, invalidValue, typeInvalid } from '../errors.js';
import {
  type Quantity,
  ERR_FORMAT_WRONG,
  parseQuantity,
  cmpQuantity,
  formatQuantity,
  milliValue,
  scaledValue,
  resourceNameErrors,
  isNativeResourceName,
  isExtendedResourceName,
  isIntegerResourceName,
} from '../quantity.js';
import { qualifiedNameErrors } from '../validation.js';
import { type Obj, isObj, IS_NEGATIVE_ERROR } from './checks.js';

export type { Quantity };

/** Parses a quantity (a string, or a JSON number as clients may send); undefined when malformed. */
export function quantityValue(v: unknown): Quantity | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  try {
    return parseQuantity(v);
  } catch {
    return undefined;
  }
}

/** Compares two quantities; undefined when either is malformed. */
export function compareQuantities(a: unknown, b: unknown): number | undefined {
  const qa = quantityValue(a);
  const qb = quantityValue(b);
  return qa && qb ? cmpQuantity(qa, qb) : undefined;
}

/** The quantity as upstream prints it (its canonical String()), or the raw text when malformed. */
export const quantityText = (v: unknown): string => {
  const q = quantityValue(v);
  return q ? formatQuantity(q) : typeof v === 'string' ? v : String(v);
};

/** The serialized form of a quantity value (canonical, as the server writes it back); non-quantities unchanged. */
export function canonicalQuantityValue(v: unknown, roundToMilli = false): unknown {
  let q = quantityValue(v);
  if (!q) return v;
  // SetDefaults_ResourceList rounds resource list values up to thousandths.
  if (roundToMilli && q.scale < -3) q = { mantissa: scaledValue(q, -3), scale: -3, format: q.format };
  return formatQuantity(q);
}

/** Canonicalizes every value of a resource list in place (upstream SetDefaults_ResourceList + serialization). */
export function canonicalizeResourceList(rl: unknown): void {
  if (!isObj(rl)) return;
  for (const [k, v] of Object.entries(rl)) rl[k] = canonicalQuantityValue(v, true);
}

/** Canonicalizes `resources.limits` and `resources.requests` of an object holding `resources`. */
export function canonicalizeRequirements(holder: unknown): void {
  if (!isObj(holder) || !isObj(holder.resources)) return;
  canonicalizeResourceList(holder.resources.limits);
  canonicalizeResourceList(holder.resources.requests);
}

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
const STANDARD_QUOTA_RESOURCES = new Set([
  'pods', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.storage',
  'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'services',
  'services.loadbalancers', 'services.nodeports', 'secrets', 'configmaps', 'persistentvolumeclaims',
  'replicationcontrollers', 'resourcequotas',
]);

/** Native resources other than hugepages may be requested below their limit. */
export const isOvercommitAllowed = (name: string) => isNativeResourceName(name) && !name.startsWith('hugepages-');
const isIntegerResource = (name: string) => isIntegerResourceName(name) || name.startsWith('count/');

/** `validateContainerResourceName`. */
export function containerResourceNameErrors(name: string, path: string): FieldError[] {
  const errs = resourceNameErrors(name, path);
  if (!name.includes('/')) {
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !name.startsWith('hugepages-'))
      errs.push(invalidValue(path, name, 'must be a standard resource for containers'));
  } else if (!isNativeResourceName(name) && !isExtendedResourceName(name)) {
    errs.push(invalidValue(path, name, "doesn't follow extended resource name standard"));
  }
  return errs;
}

/** `ValidateResourceQuotaResourceName`. */
export function quotaResourceNameErrors(name: string, path: string): FieldError[] {
  const errs = qualifiedNameErrors(name).map((m) => invalidValue(path, name, m));
  if (errs.length) return errs;
  errs.push(...resourceNameErrors(name, path));
  if (!name.includes('/') && !STANDARD_QUOTA_RESOURCES.has(name) && !name.startsWith('requests.hugepages-'))
    errs.push(invalidValue(path, name, 'must be a standard resource for quota'));
  return errs;
}

/** Generic resource names (LimitRange types other than Pod/Container). */
export const anyResourceNameErrors = resourceNameErrors;

/** `ValidateResourceQuantityValue`: well-formed, non-negative, integral for integer resources. */
export function quantityErrors(name: string, value: unknown, path: string): FieldError[] {
  if (typeof value !== 'string' && typeof value !== 'number') return [typeInvalid(path, value, 'must be of type string')];
  let q: Quantity;
  try {
    q = parseQuantity(value);
  } catch (e) {
    return [invalidValue(path, value, e instanceof Error ? e.message : ERR_FORMAT_WRONG)];
  }
  const errs: FieldError[] = [];
  if (q.mantissa < 0n) errs.push(invalidValue(path, formatQuantity(q), IS_NEGATIVE_ERROR));
  if (isIntegerResource(name) && milliValue(q) % 1000n !== 0n) errs.push(invalidValue(path, formatQuantity(q), 'must be an integer'));
  return errs;
}

/** A resource list as a map; a non-object is reported. */
export function resourceList(v: unknown, path: string, errs: FieldError[]): Obj {
  if (v === undefined || v === null) return {};
  if (isObj(v)) return v;
  errs.push(typeInvalid(path, v, 'must be of type object'));
  return {};
}
