// ClusterRole aggregation (upstream's clusterrole-aggregation controller): a ClusterRole with an
// aggregationRule holds the union of the rules of the ClusterRoles its selectors match, kept up to date
// as those change. Runs in the server, driven by the RBAC cache's ClusterRole events.
import type { ClusterRole } from 'kubernetes-types/rbac/v1.js';
import { isStatusError } from '../../api/errors.js';
import { labelSelectorMatches } from '../../api/labels.js';
import { deepEqual } from '../../api/object.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { Registry } from '../registry.js';
import type { RBACCache } from './rbac.js';
import type { Rule } from './rules.js';

export const AGGREGATION_MANAGER = 'clusterrole-aggregation-controller';
const RETRY_MS = 200;
const MAX_RETRIES = 8;

/** The rules `role` aggregates from `all`: matched roles by name, each rule once. */
export function aggregatedRules(role: ClusterRole, all: Iterable<ClusterRole>): Rule[] {
  const out: Rule[] = [];
  // byte order, as upstream sorts names (and no ICU collator to build at start-up)
  const name = (r: ClusterRole) => r.metadata?.name ?? '';
  const roles = [...all].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  for (const sel of role.aggregationRule?.clusterRoleSelectors ?? []) {
    for (const other of roles) {
      if (other.metadata?.name === role.metadata?.name || !labelSelectorMatches(sel, other.metadata?.labels)) continue;
      for (const rule of other.rules ?? []) if (!out.some((r) => deepEqual(r, rule))) out.push(rule);
    }
  }
  return out;
}

export class ClusterRoleAggregator {
  private scheduled = false;
  private running = false;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private failures = 0;

  constructor(
    private readonly cache: RBACCache,
    private readonly registry: Registry,
    private readonly kind: KindInfo,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Starts following ClusterRole changes and brings every aggregated role up to date. */
  start(): void {
    const previous = this.cache.onClusterRoleChange;
    this.cache.onClusterRoleChange = (name) => {
      previous?.(name);
      this.schedule();
    };
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Resolves once no aggregated role is out of date (bootstrap, tests): chains of aggregation take a pass each. */
  async sync(): Promise<void> {
    for (let pass = 0; pass < 5; pass++) if ((await this.runOnce()) === 0) return;
  }

  private schedule(delayMs = 0): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    this.timer = setTimeout(() => {
      this.scheduled = false;
      void this.runOnce();
    }, delayMs);
    this.timer.unref();
  }

  /** One pass over the aggregated roles; the number of roles it rewrote. */
  private async runOnce(): Promise<number> {
    if (this.running || this.stopped) return 0;
    let writes = 0;
    this.running = true;
    this.again = false;
    let retry = false;
    try {
      for (const role of [...this.cache.clusterRoles.values()]) {
        if (!role.aggregationRule) continue;
        const name = role.metadata?.name ?? '';
        const want = aggregatedRules(role, this.cache.clusterRoles.values());
        if (deepEqual(role.rules ?? [], want)) continue;
        try {
          await this.registry.guaranteedUpdate(
            this.kind,
            undefined,
            name,
            (cur) => {
              const next = { ...(cur as KubeObject) } as KubeObject & ClusterRole;
              (next as { rules?: Rule[] }).rules = aggregatedRules(next, this.cache.clusterRoles.values());
              return next;
            },
            { fieldManager: AGGREGATION_MANAGER },
          );
          writes++;
        } catch (e) {
          if (isStatusError(e) && e.code === 404) continue;
          this.log(`clusterrole aggregation of ${name}: ${(e as Error).message}`);
          retry = true;
        }
      }
    } finally {
      this.running = false;
    }
    this.failures = retry ? this.failures + 1 : 0;
    if (this.again) this.schedule();
    // a store that keeps failing (closed) is retried a few times, then only on the next change
    else if (retry && this.failures < MAX_RETRIES) this.schedule(RETRY_MS * this.failures);
    return writes;
  }
}
