// Generated names, UIDs, timestamps and the AGE column, as upstream produces them.
import { randomInt, randomUUID } from 'node:crypto';

/** Upstream's alphabet for generated suffixes: no vowels (no words), no confusable 0/1/3. */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_NAME_LENGTH = 63;
const RANDOM_LENGTH = 5;
export const MAX_GENERATED_NAME_LENGTH = MAX_NAME_LENGTH - RANDOM_LENGTH;

/** `metadata.generateName` → a name: the prefix (cut to 58 characters) plus 5 random characters. */
export function generateName(prefix: string): string {
  const base = prefix.length > MAX_GENERATED_NAME_LENGTH ? prefix.slice(0, MAX_GENERATED_NAME_LENGTH) : prefix;
  return base + randomString(RANDOM_LENGTH);
}

/** A random string from the generated-name alphabet (upstream utilrand.String). */
export function randomString(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return s;
}

export const newUID = (): string => randomUUID();

/** A `metav1.Time`: RFC 3339 in UTC with seconds precision, e.g. `2024-01-02T03:04:05Z`. */
export function nowRFC3339(at: number = Date.now()): string {
  const second = Math.floor(at / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondText = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return lastSecondText;
}
// every write stamps a time; most writes in a busy second share one
let lastSecond = NaN;
let lastSecondText = '';

/** A `metav1.MicroTime`: RFC 3339 in UTC with exactly six fractional digits, e.g. `…05.123456Z`. */
export function microTimeRFC3339(atMs: number = performance.timeOrigin + performance.now()): string {
  const micros = Math.floor(atMs * 1000);
  const seconds = Math.floor(micros / 1_000_000);
  const frac = String(micros - seconds * 1_000_000).padStart(6, '0');
  return new Date(seconds * 1000).toISOString().replace('.000Z', `.${frac}Z`);
}

/**
 * A duration as upstream's duration.HumanDuration prints it (~2–3 significant figures):
 * `45s`, `119s`, `2m`, `5m3s`, `15m`, `3h`, `5h20m`, `47h`, `2d`, `3d4h`, `60d`, `2y`, `3y15d`, `10y`.
 * Slightly negative durations (clock skew under 2s) print `0s`; more negative ones `<invalid>`.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** A duration as upstream's duration.ShortHumanDuration prints it (one unit: `45s`, `5m`, `3h`, `12d`, `2y`). */
export function shortHumanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${Math.trunc(hours / 24)}d`;
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** The AGE column: time since `fromISO` at `now` (ms since epoch); `<unknown>` when unset or unparseable. */
export function formatAge(fromISO: string | undefined | null, now: number): string {
  if (!fromISO) return '<unknown>';
  const t = Date.parse(fromISO);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now - t);
}
