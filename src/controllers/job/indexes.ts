// Completion indexes of Indexed Jobs (upstream indexed_job_utils.go): the `status.completedIndexes`
// interval notation ("1,3-5,7"), which indexes still need a pod, and which pods repeat an index.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { compareActivePods } from './pods.js';

export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
export const UNKNOWN_COMPLETION_INDEX = -1;

export interface Interval {
  first: number;
  last: number;
}

/** Sorted, non-overlapping, non-adjacent intervals of indexes. */
export class OrderedIntervals {
  constructor(readonly intervals: Interval[] = []) {}

  /** upstream parseIndexesFromString: bad pieces are skipped; indexes at or past `completions` dropped. */
  static parse(s: string | undefined, completions: number): OrderedIntervals {
    const out: Interval[] = [];
    if (!s) return new OrderedIntervals(out);
    for (const piece of s.split(',')) {
      const limits = piece.split('-');
      const first = atoi(limits[0]);
      if (first === undefined) continue;
      if (first >= completions) break;
      let last = first;
      if (limits.length > 1) {
        const l = atoi(limits[1]);
        if (l === undefined) continue;
        last = Math.min(l, completions - 1);
      }
      const prev = out[out.length - 1];
      if (prev && first === prev.last + 1) prev.last = last;
      else out.push({ first, last });
    }
    return new OrderedIntervals(out);
  }

  /** These intervals plus `indexes` (sorted ascending), merged. */
  withOrderedIndexes(indexes: number[]): OrderedIntervals {
    const added = new OrderedIntervals();
    for (const ix of indexes) {
      const prev = added.intervals[added.intervals.length - 1];
      if (prev && ix <= prev.last) continue;
      if (prev && ix === prev.last + 1) prev.last = ix;
      else added.intervals.push({ first: ix, last: ix });
    }
    return this.merge(added);
  }

  merge(other: OrderedIntervals): OrderedIntervals {
    const all = [...this.intervals, ...other.intervals].map((i) => ({ ...i })).sort((a, b) => a.first - b.first);
    const out: Interval[] = [];
    for (const i of all) {
      const prev = out[out.length - 1];
      if (prev && i.first <= prev.last + 1) prev.last = Math.max(prev.last, i.last);
      else out.push(i);
    }
    return new OrderedIntervals(out);
  }

  total(): number {
    let n = 0;
    for (const i of this.intervals) n += i.last - i.first + 1;
    return n;
  }

  has(ix: number): boolean {
    let lo = 0;
    let hi = this.intervals.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const i = this.intervals[mid];
      if (ix < i.first) hi = mid - 1;
      else if (ix > i.last) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** "1,3-5,7": a pair of neighbours is written "3,4", longer runs "3-5". */
  toString(): string {
    const parts: string[] = [];
    for (const i of this.intervals) {
      if (i.last === i.first) parts.push(String(i.first));
      else if (i.last === i.first + 1) parts.push(`${i.first},${i.last}`);
      else parts.push(`${i.first}-${i.last}`);
    }
    return parts.join(',');
  }
}

function atoi(s: string | undefined): number | undefined {
  if (s === undefined || !/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The index a pod was created for, or UNKNOWN_COMPLETION_INDEX. */
export function completionIndexOf(pod: Pod): number {
  const v = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION];
  if (v === undefined) return UNKNOWN_COMPLETION_INDEX;
  const n = atoi(v);
  return n === undefined || n < 0 ? UNKNOWN_COMPLETION_INDEX : n;
}

/** Pods ordered by completion index, unknown ones first. */
export function byCompletionIndex(pods: Pod[]): Pod[] {
  return [...pods].sort((a, b) => completionIndexOf(a) - completionIndexOf(b));
}

/** The first `count` indexes below `completions` that neither succeeded nor have a pod. */
export function firstPendingIndexes(nonPending: OrderedIntervals, count: number, completions: number): number[] {
  const result: number[] = [];
  if (count <= 0) return result;
  let candidate = 0;
  for (const i of nonPending.intervals) {
    for (; candidate < completions && result.length < count && candidate < i.first; candidate++) result.push(candidate);
    if (candidate < i.last + 1) candidate = i.last + 1;
  }
  for (; candidate < completions && result.length < count; candidate++) result.push(candidate);
  return result;
}

/**
 * Active pods an Indexed Job must remove: those without a valid index, at or past `completions`, and
 * all but the most advanced pod of an index several pods share. Returns [remove, keep].
 */
export function duplicatedIndexPods(active: Pod[], completions: number): [Pod[], Pod[]] {
  const rm: Pod[] = [];
  const left: Pod[] = [];
  const groups = new Map<number, Pod[]>();
  for (const p of active) {
    const ix = completionIndexOf(p);
    if (ix === UNKNOWN_COMPLETION_INDEX || ix >= completions) {
      rm.push(p);
      continue;
    }
    let g = groups.get(ix);
    if (!g) groups.set(ix, (g = []));
    g.push(p);
  }
  for (const ix of [...groups.keys()].sort((a, b) => a - b)) {
    const g = groups.get(ix)!.sort(compareActivePods);
    rm.push(...g.slice(0, -1));
    left.push(g[g.length - 1]);
  }
  return [rm, left];
}
