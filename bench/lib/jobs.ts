// Parameters and results of the load jobs in bench/load/ (shared by the jobs and the benchmarks).
import type { Summary } from './stats.js';

export interface PreloadParams {
  url: string;
  namespace: string;
  kind: 'configmaps' | 'secrets';
  count: number;
  dataBytes: number;
  concurrency: number;
  timeLimitMs: number;
  namePrefix: string;
}

export interface PreloadResult {
  created: number;
  failed: number;
  /** status code → how many (transport errors under "error") */
  statuses: Record<string, number>;
  firstError?: string;
  elapsedMs: number;
  rate: number;
}

export interface ListParams {
  url: string;
  namespace: string;
  resource: string;
  expectItems: number;
  pageLimit: number;
  /** each of the two loops (full list, paginated) runs at most this many times and this long */
  iterations: number;
  timeLimitMs: number;
}

export interface ListResult {
  full: Summary;
  fullBytes: number;
  paginated: Summary;
  pages: number;
  /** problems seen: wrong item counts, non-200 statuses */
  problems: string[];
}

export interface WatchPhase {
  watchers: number;
  writes: number;
}

export interface WatchParams {
  url: string;
  namespace: string;
  name: string;
  phases: WatchPhase[];
  intervalMs: number;
  /** how long to wait for the last deliveries of a phase, and for all watchers to connect */
  settleMs: number;
  /** the server's PID, to read its CPU time during the writes */
  serverPid: number;
}

export interface WatchPhaseResult {
  watchers: number;
  writes: number;
  connectMs: number;
  /** per (write, watcher) delivery: write request sent → event received */
  latency: Summary;
  /** per write: its last delivery minus its first, across watchers */
  spread: Summary;
  /** per write: the write request's own response time */
  writeLatency: Summary;
  expected: number;
  delivered: number;
  /** CPU use (share of one core) from the first write until the last delivery */
  serverCpu: number;
  loadCpu: number;
  problems: string[];
}

export interface WatchResult {
  phases: WatchPhaseResult[];
}

export interface MixedParams {
  url: string;
  namespace: string;
  namePrefix: string;
  objects: number;
  dataBytes: number;
  rate: number;
  durationMs: number;
  /** at most this many requests in flight; a tick that would exceed it is skipped and counted */
  maxInFlight: number;
  listLimit: number;
  /** shares of get / list / update, summing to 1 */
  mix: { get: number; list: number; update: number };
}

export type Verb = 'get' | 'list' | 'update';

export interface MixedResult {
  sent: number;
  skipped: number;
  achievedRate: number;
  perVerb: Record<Verb, Summary>;
  overall: Summary;
  statuses: Record<string, number>;
  firstError?: string;
  /** requests slower than 100 ms, counted by the second (since the start) they were sent in: stalls cluster */
  slowBySecond: Record<string, number>;
}
