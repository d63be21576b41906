// Cron schedules as upstream's CronJob validation and controller read them: the standard parser of
// robfig/cron v3 (5 fields, ranges, steps, lists, month/day names, `@hourly`…`@yearly`, `@every <duration>`,
// an optional `TZ=`/`CRON_TZ=` prefix) with its error messages, and its Next() including its behaviour
// around daylight-saving transitions (a wall time in a spring-forward gap is skipped; one in the repeated
// fall-back hour fires in both).

export class CronSyntaxError extends Error {
  override name = 'CronSyntaxError';
}

export interface CronSchedule {
  /** The zone named by a `TZ=`/`CRON_TZ=` prefix, if any (it wins over `next`'s `timeZone`). */
  readonly timeZone?: string;
  /**
   * The first activation strictly after `after` (whole seconds), in `timeZone` (an IANA zone; UTC when
   * omitted, as the controller's local zone usually is). null when nothing matches within five years.
   */
  next(after: Date, timeZone?: string): Date | null;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const SECONDS: Bounds = { min: 0, max: 59 };
const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1,
  max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

/** The values a field allows; `star` marks a field written as `*` or `?` (it changes day-of-month/week matching). */
interface FieldSet {
  values: Set<number>;
  star: boolean;
}

const goQuote = (s: string) => JSON.stringify(s);

/** strconv.Atoi as robfig's mustParseInt uses it, with its error wording. */
function mustParseInt(expr: string): number {
  if (!/^[+-]?[0-9]+$/.test(expr)) throw new CronSyntaxError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${goQuote(expr)}: invalid syntax`);
  const big = BigInt(expr);
  if (big > 9223372036854775807n || big < -9223372036854775808n)
    throw new CronSyntaxError(`failed to parse int from ${expr}: strconv.Atoi: parsing ${goQuote(expr)}: value out of range`);
  if (big < 0n) throw new CronSyntaxError(`negative number (${big}) not allowed: ${expr}`);
  return Number(big);
}

function parseIntOrName(expr: string, names: Record<string, number> | undefined): number {
  const key = expr.toLowerCase();
  return names && Object.hasOwn(names, key) ? names[key] : mustParseInt(expr);
}

function addRange(into: FieldSet, expr: string, r: Bounds): void {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  const singleDigit = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let step = 1;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    start = r.min;
    end = r.max;
    star = true;
  } else {
    start = parseIntOrName(lowAndHigh[0], r.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1], r.names);
    else throw new CronSyntaxError(`too many hyphens: ${expr}`);
  }
  if (rangeAndStep.length === 2) {
    step = mustParseInt(rangeAndStep[1]);
    // "N/step" means "N-max/step"
    if (singleDigit) end = r.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) {
    throw new CronSyntaxError(`too many slashes: ${expr}`);
  }
  if (start < r.min) throw new CronSyntaxError(`beginning of range (${start}) below minimum (${r.min}): ${expr}`);
  if (end > r.max) throw new CronSyntaxError(`end of range (${end}) above maximum (${r.max}): ${expr}`);
  if (start > end) throw new CronSyntaxError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronSyntaxError(`step of range should be a positive number: ${expr}`);
  for (let v = start; v <= end; v += step) into.values.add(v);
  if (star) into.star = true;
}

function parseField(field: string, r: Bounds): FieldSet {
  const set: FieldSet = { values: new Set(), star: false };
  for (const expr of field.split(',').filter((x) => x !== '')) addRange(set, expr, r);
  return set;
}

const all = (r: Bounds): FieldSet => {
  const values = new Set<number>();
  for (let v = r.min; v <= r.max; v++) values.add(v);
  return { values, star: true };
};
const only = (v: number): FieldSet => ({ values: new Set([v]), star: false });

interface Spec {
  second: FieldSet;
  minute: FieldSet;
  hour: FieldSet;
  dom: FieldSet;
  month: FieldSet;
  dow: FieldSet;
}

function parseDescriptor(descriptor: string): Spec | { everySeconds: number } {
  const z = () => only(0);
  switch (descriptor) {
    case '@yearly':
    case '@annually':
      return { second: z(), minute: z(), hour: z(), dom: only(1), month: only(1), dow: all(DOW) };
    case '@monthly':
      return { second: z(), minute: z(), hour: z(), dom: only(1), month: all(MONTHS), dow: all(DOW) };
    case '@weekly':
      return { second: z(), minute: z(), hour: z(), dom: all(DOM), month: all(MONTHS), dow: only(0) };
    case '@daily':
    case '@midnight':
      return { second: z(), minute: z(), hour: z(), dom: all(DOM), month: all(MONTHS), dow: all(DOW) };
    case '@hourly':
      return { second: z(), minute: z(), hour: all(HOURS), dom: all(DOM), month: all(MONTHS), dow: all(DOW) };
  }
  const every = '@every ';
  if (descriptor.startsWith(every)) {
    let ns: number;
    try {
      ns = parseGoDuration(descriptor.slice(every.length));
    } catch (e) {
      throw new CronSyntaxError(`failed to parse duration ${descriptor}: ${(e as Error).message}`);
    }
    // robfig rounds to whole seconds, at least one
    const seconds = ns < 1e9 ? 1 : Math.floor(ns / 1e9);
    return { everySeconds: seconds };
  }
  throw new CronSyntaxError(`unrecognized descriptor: ${descriptor}`);
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds (as a float: we only need whole seconds). */
export function parseGoDuration(s: string): number {
  const orig = s;
  const invalid = () => new Error(`time: invalid duration ${goQuote(orig)}`);
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  while (s !== '') {
    const m = /^([0-9]*)(\.([0-9]*))?/.exec(s)!;
    const intPart = m[1];
    const frac = m[3];
    if (intPart === '' && (frac === undefined || frac === '')) throw invalid();
    s = s.slice(m[0].length);
    const u = /^[^0-9.]*/.exec(s)![0];
    if (u === '') throw new Error(`time: missing unit in duration ${goQuote(orig)}`);
    const unit = DURATION_UNITS[u];
    if (unit === undefined) throw new Error(`time: unknown unit ${goQuote(u)} in duration ${goQuote(orig)}`);
    s = s.slice(u.length);
    total += Number(`${intPart || '0'}.${frac || '0'}`) * unit;
  }
  if (total > 9223372036854775807) throw invalid();
  return neg ? -total : total;
}

// ---------------------------------------------------------------------------------------------
// Wall-clock arithmetic in an IANA zone, mirroring Go's time.Date / Time.In for the parts robfig uses.

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall clock in `tz` at `sec` (seconds since the epoch). */
function wallAt(sec: number, tz: string): Wall {
  if (tz === 'UTC') {
    const d = new Date(sec * 1000);
    return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
  }
  const w: Wall = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0 };
  for (const p of formatterFor(tz).formatToParts(new Date(sec * 1000))) {
    const n = Number(p.value);
    if (p.type === 'year') w.y = n;
    else if (p.type === 'month') w.mo = n;
    else if (p.type === 'day') w.d = n;
    else if (p.type === 'hour') w.h = n === 24 ? 0 : n;
    else if (p.type === 'minute') w.mi = n;
    else if (p.type === 'second') w.s = n;
  }
  return w;
}

const wallAsUTC = (w: Wall) => Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) / 1000;

/** The zone's UTC offset in seconds at an instant. */
const offsetAt = (sec: number, tz: string) => (tz === 'UTC' ? 0 : wallAsUTC(wallAt(sec, tz)) - sec);

/** Go's time.Date: fields may overflow (normalized); a wall time in a gap or overlap resolves as Go resolves it. */
function dateIn(y: number, mo: number, d: number, h: number, mi: number, s: number, tz: string): number {
  const local = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  if (tz === 'UTC') return local;
  let offset = offsetAt(local, tz);
  if (offset !== 0) {
    const utc = local - offset;
    const atUtc = offsetAt(utc, tz);
    if (atUtc !== offset) offset = atUtc;
  }
  return local - offset;
}

const weekday = (w: Wall) => new Date(Date.UTC(w.y, w.mo - 1, w.d)).getUTCDay();

/** Whether `tz` names a zone Intl knows (case as written, as Go's LoadLocation reads zoneinfo files). */
export function isKnownTimeZone(tz: string): boolean {
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
    return !(resolved.toLowerCase() === tz.toLowerCase() && resolved !== tz);
  } catch {
    return false;
  }
}

class SpecSchedule implements CronSchedule {
  constructor(
    private readonly spec: Spec,
    readonly timeZone: string | undefined,
  ) {}

  private dayMatches(w: Wall): boolean {
    const domMatch = this.spec.dom.values.has(w.d);
    const dowMatch = this.spec.dow.values.has(weekday(w));
    if (this.spec.dom.star || this.spec.dow.star) return domMatch && dowMatch;
    return domMatch || dowMatch;
  }

  next(after: Date, timeZone?: string): Date | null {
    const tz = this.timeZone ?? timeZone ?? 'UTC';
    const { second, minute, hour, month } = this.spec;
    let t = Math.floor(after.getTime() / 1000) + 1;
    let w = wallAt(t, tz);
    let added = false;
    const yearLimit = w.y + 5;
    wrap: for (;;) {
      w = wallAt(t, tz);
      if (w.y > yearLimit) return null;

      while (!month.values.has(w.mo)) {
        if (!added) {
          added = true;
          t = dateIn(w.y, w.mo, 1, 0, 0, 0, tz);
          w = wallAt(t, tz);
        }
        t = dateIn(w.y, w.mo + 1, w.d, w.h, w.mi, w.s, tz);
        w = wallAt(t, tz);
        if (w.mo === 1) continue wrap;
      }

      while (!this.dayMatches(w)) {
        if (!added) {
          added = true;
          t = dateIn(w.y, w.mo, w.d, 0, 0, 0, tz);
          w = wallAt(t, tz);
        }
        t = dateIn(w.y, w.mo, w.d + 1, w.h, w.mi, w.s, tz);
        w = wallAt(t, tz);
        // a day whose midnight does not exist (DST at 00:00) starts at 01:00; move back onto midnight
        if (w.h !== 0) {
          t += (w.h > 12 ? 24 - w.h : -w.h) * 3600;
          w = wallAt(t, tz);
        }
        if (w.d === 1) continue wrap;
      }

      while (!hour.values.has(w.h)) {
        if (!added) {
          added = true;
          t = dateIn(w.y, w.mo, w.d, w.h, 0, 0, tz);
        }
        t += 3600;
        w = wallAt(t, tz);
        if (w.h === 0) continue wrap;
      }

      while (!minute.values.has(w.mi)) {
        if (!added) {
          added = true;
          t -= ((t % 60) + 60) % 60;
        }
        t += 60;
        w = wallAt(t, tz);
        if (w.mi === 0) continue wrap;
      }

      while (!second.values.has(w.s)) {
        added = true;
        t += 1;
        w = wallAt(t, tz);
        if (w.s === 0) continue wrap;
      }
      return new Date(t * 1000);
    }
  }
}

class EverySchedule implements CronSchedule {
  readonly timeZone = undefined;
  constructor(private readonly seconds: number) {}

  next(after: Date): Date {
    return new Date((Math.floor(after.getTime() / 1000) + this.seconds) * 1000);
  }
}

/**
 * Parses a CronJob schedule as upstream's `cron.ParseStandard` does; throws CronSyntaxError with
 * robfig's message (upstream puts it verbatim in the `spec.schedule` validation error).
 */
export function parseCronSchedule(s: string): CronSchedule {
  if (s.length === 0) throw new CronSyntaxError('empty spec string');
  let spec = s;
  let timeZone: string | undefined;
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const i = spec.indexOf(' ');
    const eq = spec.indexOf('=');
    const name = i < 0 ? spec.slice(eq + 1) : spec.slice(eq + 1, i);
    if (name === '' || name === 'UTC') timeZone = 'UTC';
    else if (name !== 'Local') {
      if (!isKnownTimeZone(name)) throw new CronSyntaxError(`provided bad location ${name}: unknown time zone ${name}`);
      timeZone = name;
    }
    spec = i < 0 ? '' : spec.slice(i).trim();
  }
  if (spec.startsWith('@')) {
    const d = parseDescriptor(spec);
    return 'everySeconds' in d ? new EverySchedule(d.everySeconds) : new SpecSchedule(d, timeZone);
  }
  const fields = spec.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) throw new CronSyntaxError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  return new SpecSchedule(
    {
      second: parseField('0', SECONDS),
      minute: parseField(fields[0], MINUTES),
      hour: parseField(fields[1], HOURS),
      dom: parseField(fields[2], DOM),
      month: parseField(fields[3], MONTHS),
      dow: parseField(fields[4], DOW),
    },
    timeZone,
  );
}
