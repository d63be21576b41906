// Overload protection (upstream's max-in-flight filter, plus an optional per-user token bucket): a
// request is refused with 429 TooManyRequests and `Retry-After` before anything is read or stored;
// once accepted it always runs to completion. Long-running requests (watches, exec, logs) are not counted.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errTooManyRequests } from '../api/errors.js';
import type { Attributes } from './authz/rules.js';
import type { ApiServer, RequestFilter } from './handler.js';
import type { UserInfo } from './registry.js';

const LONG_RUNNING_VERBS = new Set(['watch', 'proxy']);
const LONG_RUNNING_SUBRESOURCES = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);
const READ_ONLY_VERBS = new Set(['get', 'list', 'watch']);
const IN_PROCESS_IDENTITY = Symbol.for('timonel.inProcessIdentity');
const SYSTEM_MASTERS = 'system:masters';

export const TOO_MANY_REQUESTS_MESSAGE = 'Too many requests, please try again later.';

/** Upstream's BasicLongRunningRequestCheck with the kube-apiserver's verbs and subresources. */
export function isLongRunning(a: Attributes): boolean {
  return a.resourceRequest && (LONG_RUNNING_VERBS.has(a.verb) || LONG_RUNNING_SUBRESOURCES.has(a.subresource));
}

export interface FlowControlOptions {
  /** concurrent non-mutating requests (get, list); default 400 as upstream's --max-requests-inflight; 0 = no limit */
  maxRequestsInFlight?: number;
  /** concurrent mutating requests; default 200 as upstream's --max-mutating-requests-inflight; 0 = no limit */
  maxMutatingRequestsInFlight?: number;
  /** a token bucket per user name: `qps` requests per second on average, bursts of `burst`; default off */
  perUser?: { qps: number; burst: number };
  /** neither limited nor rate-limited when the limits are reached (default: system:masters and the in-process components) */
  exempt?: (req: IncomingMessage, user: UserInfo) => boolean;
}

export const defaultExempt = (req: IncomingMessage, user: UserInfo): boolean =>
  user.groups.includes(SYSTEM_MASTERS) || (req.socket as unknown as Record<symbol, unknown>)[IN_PROCESS_IDENTITY] !== undefined;

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_IDLE_BUCKETS = 10_000;

export interface InstalledFlowControl {
  /** requests being served now, by kind */
  inFlight(): { readOnly: number; mutating: number };
  /** requests refused so far */
  rejected(): number;
  uninstall(): void;
}

export function installFlowControl(api: ApiServer, o: FlowControlOptions = {}): InstalledFlowControl {
  const maxReadOnly = o.maxRequestsInFlight ?? 400;
  const maxMutating = o.maxMutatingRequestsInFlight ?? 200;
  const exempt = o.exempt ?? defaultExempt;
  const rate = o.perUser && o.perUser.qps > 0 ? { qps: o.perUser.qps, burst: Math.max(1, o.perUser.burst) } : undefined;
  const buckets = new Map<string, Bucket>();
  let readOnly = 0;
  let mutating = 0;
  let rejected = 0;

  /** How long until `username` has a token again, in whole seconds; 0 when it took one. */
  const takeToken = (username: string, now: number): number => {
    const r = rate!;
    let b = buckets.get(username);
    if (!b) {
      if (buckets.size >= MAX_IDLE_BUCKETS) {
        for (const [k, v] of buckets) if (v.tokens + ((now - v.at) / 1000) * r.qps >= r.burst) buckets.delete(k);
      }
      buckets.set(username, (b = { tokens: r.burst, at: now }));
    }
    b.tokens = Math.min(r.burst, b.tokens + ((now - b.at) / 1000) * r.qps);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / r.qps));
  };

  const refuse = (retryAfterSeconds: number) => {
    rejected++;
    return errTooManyRequests(TOO_MANY_REQUESTS_MESSAGE, retryAfterSeconds);
  };

  const filter: RequestFilter = {
    authenticated(req: IncomingMessage, res: ServerResponse, a: Attributes) {
      const user = a.user;
      if (isLongRunning(a)) return;
      // exempt requests neither wait for nor take a seat, as upstream's exempt priority level: the built-in
      // components' bindings and status writes leave the whole limit to users
      if (exempt(req, user)) return;
      if (rate) {
        const wait = takeToken(user.username, Date.now());
        if (wait) throw refuse(wait);
      }
      const isMutating = !READ_ONLY_VERBS.has(a.verb);
      const limit = isMutating ? maxMutating : maxReadOnly;
      if (limit <= 0) return;
      if ((isMutating ? mutating : readOnly) >= limit) throw refuse(1);
      if (isMutating) mutating++;
      else readOnly++;
      res.once('close', () => {
        if (isMutating) mutating--;
        else readOnly--;
      });
    },
  };
  api.filters.push(filter);
  return {
    inFlight: () => ({ readOnly, mutating }),
    rejected: () => rejected,
    uninstall: () => {
      const i = api.filters.indexOf(filter);
      if (i >= 0) api.filters.splice(i, 1);
    },
  };
}
