// Resource quantities (`100m`, `1.5Gi`, `2e3`): exact fixed-point values as upstream's
// resource.Quantity, with its parse rules, rounding and canonical string form. No floats.
import { type FieldError, invalidValue, typeInvalid } from './errors.js';
import { qualifiedNameErrors } from './validation.js';

export type QuantityFormat = 'DecimalExponent' | 'BinarySI' | 'DecimalSI';

/** The exact value `mantissa × 10^scale`, plus the suffix family it prints in. */
export interface Quantity {
  readonly mantissa: bigint;
  readonly scale: number;
  readonly format: QuantityFormat;
  /** the parsed text, kept where upstream re-emits it unchanged (it already looks canonical) */
  readonly text?: string;
}

const SPLIT_RE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
export const ERR_FORMAT_WRONG = `quantities must match the regular expression '${SPLIT_RE}'`;
export const ERR_NUMERIC = 'unable to parse numeric part of quantity';
export const ERR_SUFFIX = "unable to parse quantity's suffix";

/** Values below 1n are rounded up to it, as upstream does. */
const NANO = -9;
/** A bound on decimal exponents so that no input can make us build gigantic integers. */
const MAX_SCALE = 10_000;
const MAX_INT64 = 2n ** 63n - 1n;

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_SUFFIX_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_SUFFIX_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const SUFFIX_CHARS = 'eEinumkKMGTP';

const pow10 = (n: number): bigint => 10n ** BigInt(n);
const abs = (n: bigint) => (n < 0n ? -n : n);
const isDigit = (c: string) => c >= '0' && c <= '9';

interface Scanned {
  positive: boolean;
  /** integer digits without leading zeros ('0' when none) */
  num: string;
  denom: string;
  suffix: string;
  /** whether the text before the suffix has any digit */
  hasDigits: boolean;
}

/** Splits `[sign]digits[.digits]suffix` the way upstream's scanner does (leading zeros dropped). */
function scan(str: string): Scanned {
  const end = str.length;
  let pos = 0;
  let positive = true;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') pos++;
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '', hasDigits: true };
  let start = pos;
  while (pos < end && isDigit(str[pos])) pos++;
  const num = str.slice(start, pos) || '0';
  let denom = '';
  if (pos < end && str[pos] === '.') {
    start = ++pos;
    while (pos < end && isDigit(str[pos])) pos++;
    denom = str.slice(start, pos);
  }
  const suffixStart = pos;
  while (pos < end && SUFFIX_CHARS.includes(str[pos])) pos++;
  if (pos < end && (str[pos] === '-' || str[pos] === '+')) pos++;
  while (pos < end && isDigit(str[pos])) pos++;
  if (pos < end) throw new Error(ERR_FORMAT_WRONG);
  return { positive, num, denom, suffix: str.slice(suffixStart), hasDigits: /[0-9]/.test(str.slice(0, suffixStart)) };
}

interface Suffix {
  base: 10 | 2;
  exponent: number;
  format: QuantityFormat;
}

function interpretSuffix(s: string): Suffix | undefined {
  if (s in DECIMAL_SUFFIXES) return { base: 10, exponent: DECIMAL_SUFFIXES[s], format: 'DecimalSI' };
  if (s in BINARY_SUFFIXES) return { base: 2, exponent: BINARY_SUFFIXES[s], format: 'BinarySI' };
  if (s.length > 1 && (s[0] === 'e' || s[0] === 'E') && /^[+-]?[0-9]+$/.test(s.slice(1))) {
    const e = BigInt(s.slice(1));
    if (e < -MAX_INT64 - 1n || e > MAX_INT64) return undefined;
    return { base: 10, exponent: Number(e), format: 'DecimalExponent' };
  }
  return undefined;
}

/** Whether upstream parses this with its int64 fast path (else with arbitrary precision). */
function fastPath(sc: Scanned, suffix: Suffix): boolean {
  if (suffix.format === 'BinarySI')
    return sc.denom.length === 0 && 15 - sc.num.length - Math.trunc((suffix.exponent * 3) / 10) - 1 >= 0;
  return 18 - sc.num.length - sc.denom.length >= 0 && suffix.exponent - sc.denom.length >= NANO;
}

/** Whether upstream's fast path keeps the input text as the serialized form (it looks canonical). */
function keepsText(sc: Scanned, suffix: Suffix): boolean {
  if (!fastPath(sc, suffix)) return false;
  if (suffix.format === 'BinarySI') return (BigInt(sc.num) & 7n) !== 0n;
  const shifted = sc.num + sc.denom;
  return (suffix.exponent - sc.denom.length) % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0';
}

/** Rounds |mantissa| × 10^scale up (away from zero) to a multiple of 10^NANO. */
function roundUpToNano(mantissa: bigint, scale: number): [bigint, number] {
  if (scale >= NANO || mantissa === 0n) return [mantissa, scale];
  const drop = NANO - scale;
  const sign = mantissa < 0n ? -1n : 1n;
  const m = abs(mantissa);
  if (drop > m.toString().length) return [sign, NANO];
  const d = pow10(drop);
  const q = m / d + (m % d === 0n ? 0n : 1n);
  return [sign * q, NANO];
}

// The same few spellings ("100m", "500Mi", a node's capacity) are parsed over and over: parsed once.
const parsed = new Map<string, Quantity>();
const MAX_PARSED = 4096;

/**
 * Parses a quantity string (or a JSON number as clients may send one); results are shared: never change
 * one in place. Throws an Error with upstream's message when malformed.
 */
export function parseQuantity(input: string | number): Quantity {
  const key = typeof input === 'string' ? input : undefined;
  if (key !== undefined) {
    const hit = parsed.get(key);
    if (hit) return hit;
  }
  const q = Object.freeze(parseQuantityText(input));
  if (key !== undefined && key.length <= 64) {
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(key, q);
  }
  return q;
}

function parseQuantityText(input: string | number): Quantity {
  let str: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new Error(ERR_FORMAT_WRONG);
    str = String(input);
  } else if (typeof input === 'string') str = input;
  else throw new Error(ERR_FORMAT_WRONG);
  if (str.length === 0) throw new Error(ERR_FORMAT_WRONG);
  if (str === '0') return { mantissa: 0n, scale: 0, format: 'DecimalSI', text: '0' };

  const sc = scan(str);
  const suffix = interpretSuffix(sc.suffix);
  if (!suffix) throw new Error(ERR_SUFFIX);
  // a bare suffix ("Pi", "e-10") is zero on the fast path but fails the precise one
  if (!sc.hasDigits && !fastPath(sc, suffix)) throw new Error(ERR_NUMERIC);

  let mantissa = BigInt(sc.num + sc.denom);
  let scale: number;
  if (suffix.base === 10) {
    scale = suffix.exponent - sc.denom.length;
  } else {
    mantissa <<= BigInt(suffix.exponent);
    scale = -sc.denom.length;
  }
  if (!sc.positive) mantissa = -mantissa;
  [mantissa, scale] = roundUpToNano(mantissa, scale);
  if (mantissa === 0n) scale = 0;
  else if (scale > MAX_SCALE) throw new Error(ERR_NUMERIC);

  let format = suffix.format;
  if (format === 'BinarySI' && mantissa !== 0n) {
    // binary quantities are capped at the int64 maximum; between -1 and 1 they print as decimal
    const unit = pow10(-scale);
    if (abs(mantissa) > MAX_INT64 * unit) {
      mantissa = mantissa < 0n ? -MAX_INT64 : MAX_INT64;
      scale = 0;
    } else if (abs(mantissa) < unit) format = 'DecimalSI';
  }
  const q: Quantity = { mantissa, scale, format };
  return keepsText(sc, suffix) ? { ...q, text: str } : q;
}

/** Whether `s` parses as a quantity. */
export function isQuantity(s: unknown): boolean {
  if (typeof s !== 'string' && typeof s !== 'number') return false;
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

/** A quantity of `value × 10^scale` in the given format. */
export function newQuantity(value: bigint | number, format: QuantityFormat = 'DecimalSI', scale = 0): Quantity {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
  return { mantissa: BigInt(value), scale, format };
}

/** `value / 1000` as a quantity (upstream NewMilliQuantity). */
export const newMilliQuantity = (milli: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity =>
  newQuantity(milli, format, -3);

export const quantitySign = (q: Quantity): -1 | 0 | 1 => (q.mantissa === 0n ? 0 : q.mantissa < 0n ? -1 : 1);
export const isZeroQuantity = (q: Quantity): boolean => q.mantissa === 0n;

/** Compares two quantities by value: -1, 0 or 1. */
export function cmpQuantity(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const sa = quantitySign(a);
  const sb = quantitySign(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  // decide by order of magnitude first so that distant scales never need aligning
  const ma = abs(a.mantissa).toString().length + a.scale;
  const mb = abs(b.mantissa).toString().length + b.scale;
  if (ma !== mb) return (ma > mb ? sa : -sa) as -1 | 1;
  const [x, y] = aligned(a, b);
  return x === y ? 0 : x < y ? -1 : 1;
}

export const quantitiesEqual = (a: Quantity, b: Quantity): boolean => cmpQuantity(a, b) === 0;

/** Both mantissas at the smaller of the two scales. */
function aligned(a: Quantity, b: Quantity): [bigint, bigint, number] {
  const scale = Math.min(a.scale, b.scale);
  return [a.mantissa * pow10(a.scale - scale), b.mantissa * pow10(b.scale - scale), scale];
}

/** a + b; the format is a's, or b's when a is zero (as upstream's Add). */
export function addQuantity(a: Quantity, b: Quantity): Quantity {
  const [x, y, scale] = aligned(a, b);
  return { mantissa: x + y, scale, format: a.mantissa === 0n ? b.format : a.format };
}

/** a − b; the format is a's, or b's when a is zero (as upstream's Sub). */
export function subQuantity(a: Quantity, b: Quantity): Quantity {
  const [x, y, scale] = aligned(a, b);
  return { mantissa: x - y, scale, format: a.mantissa === 0n ? b.format : a.format };
}

export const negQuantity = (q: Quantity): Quantity => ({ mantissa: -q.mantissa, scale: q.scale, format: q.format });

/** The value divided by 10^scale, rounded away from zero (upstream ScaledValue), as an exact bigint. */
export function scaledValue(q: Quantity, scale: number): bigint {
  const diff = q.scale - scale;
  if (diff >= 0) return q.mantissa * pow10(diff);
  const d = pow10(-diff);
  const m = abs(q.mantissa);
  const r = m / d + (m % d === 0n ? 0n : 1n);
  return q.mantissa < 0n ? -r : r;
}

/** The value rounded up (away from zero) to an integer, as upstream's Value(). */
export const value = (q: Quantity): bigint => scaledValue(q, 0);

/** The value in thousandths rounded up (away from zero), as upstream's MilliValue(). */
export const milliValue = (q: Quantity): bigint => scaledValue(q, -3);

/** An approximate float, for scoring and ratios only (never for comparisons that matter). */
export function approximateNumber(q: Quantity): number {
  return Number(q.mantissa) * 10 ** q.scale;
}

/** True when the value is a whole number. */
function isInteger(q: Quantity): boolean {
  return q.scale >= 0 || q.mantissa % pow10(-q.scale) === 0n;
}

/** Mantissa and exponent with the exponent a multiple of 3, as large as possible without losing digits. */
function canonicalDecimal(q: Quantity): [bigint, number] {
  let m = q.mantissa;
  let e = q.scale;
  while (m % 10n === 0n) {
    m /= 10n;
    e++;
  }
  while (e % 3 !== 0) {
    m *= 10n;
    e--;
  }
  return [m, e];
}

/**
 * The string upstream serializes a quantity as: its canonical form (`1.5` → `1500m`,
 * `1000m` → `1`, `1.5Gi` → `1536Mi`, `2048` stays `2048`), or the parsed text where upstream
 * keeps that (e.g. `+1`, `1.500` — quirks of its fast path).
 */
export function formatQuantity(q: Quantity): string {
  if (q.text !== undefined) return q.text;
  return canonicalQuantity(q);
}

/** The canonical form, ignoring any kept text. */
export function canonicalQuantity(q: Quantity): string {
  if (q.mantissa === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    const small = cmpQuantity({ mantissa: abs(q.mantissa), scale: q.scale, format }, { mantissa: 1024n, scale: 0, format }) < 0;
    if (small || !isInteger(q)) format = 'DecimalSI';
    else {
      let n = scaledValue(q, 0);
      let power = 0;
      while (power < BINARY_SUFFIX_BY_POWER.length - 1 && n % 1024n === 0n) {
        n /= 1024n;
        power++;
      }
      return `${n}${BINARY_SUFFIX_BY_POWER[power]}`;
    }
  }
  const [m, e] = canonicalDecimal(q);
  if (format === 'DecimalSI') {
    const suffix = DECIMAL_SUFFIX_BY_EXPONENT.get(e);
    // beyond E (10^18) there is no SI suffix; upstream now falls back to the exponent form
    if (suffix !== undefined) return `${m}${suffix}`;
  }
  return e === 0 ? `${m}` : `${m}e${e}`;
}

// ---- resource lists ----

const STANDARD_RESOURCES = new Set([
  'cpu',
  'memory',
  'ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'pods',
  'resourcequotas',
  'services',
  'replicationcontrollers',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'storage',
  'requests.storage',
  'services.nodeports',
  'services.loadbalancers',
]);
const INTEGER_RESOURCES = new Set([
  'pods',
  'resourcequotas',
  'services',
  'replicationcontrollers',
  'secrets',
  'configmaps',
  'persistentvolumeclaims',
  'services.nodeports',
  'services.loadbalancers',
]);

const isStandardResourceName = (name: string) =>
  STANDARD_RESOURCES.has(name) || name.startsWith('hugepages-') || name.startsWith('requests.hugepages-');
/** Resources without a domain or in a kubernetes.io domain. */
export const isNativeResourceName = (name: string) => !name.includes('/') || name.includes('kubernetes.io/');
/** Device-plugin style resources (`example.com/gpu`); their quantities must be integers. */
export const isExtendedResourceName = (name: string) =>
  !isNativeResourceName(name) && !name.startsWith('requests.') && qualifiedNameErrors(`requests.${name}`).length === 0;
export const isIntegerResourceName = (name: string) => INTEGER_RESOURCES.has(name) || isExtendedResourceName(name);

/** Upstream validateResourceName: a qualified name, and standard unless it has a domain. */
export function resourceNameErrors(name: string, path: string): FieldError[] {
  const errs = qualifiedNameErrors(name).map((m) => invalidValue(path, name, m));
  if (errs.length === 0 && !name.includes('/') && !isStandardResourceName(name))
    errs.push(invalidValue(path, name, 'must be a standard resource type or fully qualified'));
  return errs;
}

/**
 * A resource list (`{cpu: "500m", memory: "1Gi"}`): keys valid resource names, values valid
 * non-negative quantities, whole numbers for integer resources. Paths are `path[name]`.
 */
export function validateResourceList(list: unknown, path: string): FieldError[] {
  if (list === undefined || list === null) return [];
  if (typeof list !== 'object' || Array.isArray(list)) return [typeInvalid(path, list, 'must be of type object')];
  const errs: FieldError[] = [];
  for (const [name, raw] of Object.entries(list as Record<string, unknown>)) {
    const p = `${path}[${name}]`;
    errs.push(...resourceNameErrors(name, p));
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      errs.push(typeInvalid(p, raw, 'must be of type string'));
      continue;
    }
    let q: Quantity;
    try {
      q = parseQuantity(raw);
    } catch (e) {
      errs.push(invalidValue(p, raw, (e as Error).message));
      continue;
    }
    if (q.mantissa < 0n) errs.push(invalidValue(p, formatQuantity(q), 'must be greater than or equal to 0'));
    if (isIntegerResourceName(name) && milliValue(q) % 1000n !== 0n) errs.push(invalidValue(p, formatQuantity(q), 'must be an integer'));
  }
  return errs;
}
