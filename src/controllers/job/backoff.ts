// The delay before a Job replaces failed pods (upstream backoff_utils.go): 10 s after the first failure
// since the last success, doubling with each further failure, capped.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { podFinishedTime } from './pods.js';

export const POD_FAILURE_BACKOFF_MS = 10_000;
/** upstream MaxJobPodFailureBackOff (job_controller.go); older docs say six minutes */
export const MAX_POD_FAILURE_BACKOFF_MS = 10 * 60_000;

export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  /** ms since the epoch */
  lastFailureTime?: number;
}

export class BackoffStore {
  private readonly records = new Map<string, BackoffRecord>();

  /** The record after counting newly finished pods (not stored until update()). */
  next(key: string, newSucceeded: Pod[], newFailed: Pod[]): BackoffRecord {
    const old = this.records.get(key);
    const rec: BackoffRecord = { failuresAfterLastSuccess: old?.failuresAfterLastSuccess ?? 0, lastFailureTime: old?.lastFailureTime };
    const failed = [...newFailed].sort((a, b) => podFinishedTime(a) - podFinishedTime(b));
    if (!newSucceeded.length) {
      if (!failed.length) return rec;
      return { failuresAfterLastSuccess: rec.failuresAfterLastSuccess + failed.length, lastFailureTime: podFinishedTime(failed[failed.length - 1]) };
    }
    const lastSuccess = Math.max(...newSucceeded.map(podFinishedTime));
    const out: BackoffRecord = { failuresAfterLastSuccess: 0 };
    for (let i = failed.length - 1; i >= 0; i--) {
      const t = podFinishedTime(failed[i]);
      if (t <= lastSuccess) break;
      out.lastFailureTime ??= t;
      out.failuresAfterLastSuccess++;
    }
    return out;
  }

  update(key: string, rec: BackoffRecord): void {
    this.records.set(key, rec);
  }

  remove(key: string): void {
    this.records.delete(key);
  }
}

/** How long to wait (ms) at `now` before creating pods again. */
export function remainingBackoff(rec: BackoffRecord, now: number, base = POD_FAILURE_BACKOFF_MS, max = MAX_POD_FAILURE_BACKOFF_MS): number {
  if (rec.failuresAfterLastSuccess <= 0 || rec.lastFailureTime === undefined) return 0;
  let d = base;
  for (let i = 1; i < rec.failuresAfterLastSuccess; i++) {
    d *= 2;
    if (d >= max) {
      d = max;
      break;
    }
  }
  const elapsed = now - rec.lastFailureTime;
  return d < elapsed ? 0 : d - elapsed;
}
