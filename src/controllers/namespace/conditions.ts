// The status conditions the namespace controller keeps on a terminating Namespace: the failure
// variant (True) of each type when something went wrong in this pass, the "ok" variant (False)
// otherwise. Reasons and messages are upstream's, which tools and tests match on.
import type { NamespaceCondition, NamespaceStatus } from 'kubernetes-types/core/v1.js';

export const NamespaceDeletionDiscoveryFailure = 'NamespaceDeletionDiscoveryFailure';
export const NamespaceDeletionGVParsingFailure = 'NamespaceDeletionGroupVersionParsingFailure';
export const NamespaceDeletionContentFailure = 'NamespaceDeletionContentFailure';
export const NamespaceContentRemaining = 'NamespaceContentRemaining';
export const NamespaceFinalizersRemaining = 'NamespaceFinalizersRemaining';

const CONDITION_TYPES = [
  NamespaceDeletionDiscoveryFailure,
  NamespaceDeletionGVParsingFailure,
  NamespaceDeletionContentFailure,
  NamespaceContentRemaining,
  NamespaceFinalizersRemaining,
];

const OK: Record<string, { reason: string; message: string }> = {
  [NamespaceDeletionDiscoveryFailure]: { reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
  [NamespaceDeletionGVParsingFailure]: { reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
  [NamespaceDeletionContentFailure]: { reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
  [NamespaceContentRemaining]: { reason: 'ContentRemoved', message: 'All content successfully removed' },
  [NamespaceFinalizersRemaining]: { reason: 'ContentRemoved', message: 'All content successfully removed' },
};

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** What is left in a namespace after a deletion pass. */
export interface ContentTotals {
  /** `<resource>.<group>` → objects left */
  byResource: Map<string, number>;
  /** finalizer → objects held by it */
  byFinalizer: Map<string, number>;
}

export class NamespaceConditionUpdater {
  private readonly conditions: NamespaceCondition[] = [];
  private readonly contentErrors: string[] = [];

  /** Discovery failed as a whole (`message`), or for some group versions (`failedGroups`: group version → error). */
  discoveryFailed(message: string, failedGroups?: Map<string, string>): void {
    let msg = message;
    if (failedGroups?.size) {
      const groups = [...failedGroups].map(([gv, err]) => `${gv}: ${err}`).sort();
      msg = `Discovery failed for some groups, ${failedGroups.size} failing: unable to retrieve the complete list of server APIs: ${groups.join(', ')}`;
    }
    this.conditions.push({ type: NamespaceDeletionDiscoveryFailure, status: 'True', lastTransitionTime: now(), reason: 'DiscoveryFailed', message: msg });
  }

  contentDeletionFailed(message: string): void {
    this.contentErrors.push(message);
  }

  contentTotals(t: ContentTotals): void {
    const remaining = [...t.byResource].filter(([, n]) => n > 0).map(([gr, n]) => `${gr} has ${n} resource instances`);
    if (t.byResource.size) {
      this.conditions.push({
        type: NamespaceContentRemaining,
        status: 'True',
        lastTransitionTime: now(),
        reason: 'SomeResourcesRemain',
        message: `Some resources are remaining: ${remaining.sort().join(', ')}`,
      });
    }
    const held = [...t.byFinalizer].filter(([, n]) => n > 0).map(([f, n]) => `${f} in ${n} resource instances`);
    if (t.byFinalizer.size) {
      this.conditions.push({
        type: NamespaceFinalizersRemaining,
        status: 'True',
        lastTransitionTime: now(),
        reason: 'SomeFinalizerRemain',
        message: `Some finalizers are remaining: ${held.sort().join(', ')}`,
      });
    }
  }

  /** Writes the conditions into `status`; true when something changed. */
  update(status: NamespaceStatus): boolean {
    if (this.contentErrors.length && !this.conditions.some((c) => c.type === NamespaceDeletionContentFailure)) {
      const msgs = [...this.contentErrors].sort();
      this.conditions.push({
        type: NamespaceDeletionContentFailure,
        status: 'True',
        lastTransitionTime: now(),
        reason: 'ContentDeletionFailed',
        message: `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}`,
      });
    }
    const list = (status.conditions ??= []) as NamespaceCondition[];
    let changed = false;
    for (const type of CONDITION_TYPES) {
      const want = this.conditions.find((c) => c.type === type) ?? { type, status: 'False', lastTransitionTime: now(), ...OK[type] };
      const i = list.findIndex((c) => c.type === type);
      if (i < 0) {
        list.push(want);
        changed = true;
        continue;
      }
      const old = list[i];
      if (old.status !== want.status || old.reason !== want.reason || old.message !== want.message) {
        list[i] = { ...old, status: want.status, reason: want.reason, message: want.message, lastTransitionTime: old.status !== want.status ? now() : old.lastTransitionTime };
        changed = true;
      }
    }
    return changed;
  }
}
