// Latency summaries and number formatting shared by the benchmarks.

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.length ? s[s.length - 1] : NaN,
    mean: s.length ? sum / s.length : NaN,
  };
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** 12345.6 → "12,346"; small numbers keep `digits` decimals. */
export function num(v: number, digits = 0): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function ms(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v >= 1000) return `${num(v / 1000, 2)} s`;
  if (v >= 100) return `${num(v, 0)} ms`;
  if (v >= 10) return `${num(v, 1)} ms`;
  return `${num(v, 2)} ms`;
}

export function ratio(v: number): string {
  return Number.isFinite(v) ? `${num(v, 2)}×` : 'n/a';
}

export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${num(bytes / 1048576, 1)} MiB` : 'n/a';
}
