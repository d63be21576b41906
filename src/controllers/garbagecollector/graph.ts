// The owner→dependents graph of the garbage collector (upstream graph.go), keyed by uid. An owner that
// dependents name but no informer has shown yet is a "virtual" node until the API confirms it.
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

/** Where an object is: its coordinates and uid ('' namespace for cluster-scoped objects). */
export interface Identity {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

export class GraphNode {
  owners: OwnerReference[] = [];
  /** uids of the objects naming this one as an owner */
  readonly dependents = new Set<string>();
  beingDeleted = false;
  /** being deleted in the foreground: waits for its blocking dependents */
  deletingDependents = false;

  constructor(
    public identity: Identity,
    public virtual: boolean,
  ) {}
}

export const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

/** The owner reference names this object (versions of a group are the same object). */
export function refMatches(ref: OwnerReference, id: Identity): boolean {
  return ref.uid === id.uid && ref.name === id.name && ref.kind === id.kind && groupOf(ref.apiVersion) === groupOf(id.apiVersion);
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a.uid === b.uid && a.name === b.name && a.kind === b.kind && a.namespace === b.namespace && groupOf(a.apiVersion) === groupOf(b.apiVersion);
}

export function identityKey(id: Identity): string {
  return [groupOf(id.apiVersion), id.kind, id.namespace, id.name, id.uid].join('\u0000');
}

/** upstream objectReference.String() */
export function identityString(id: Identity): string {
  return `[${id.apiVersion}/${id.kind}, namespace: ${id.namespace}, name: ${id.name}, uid: ${id.uid}]`;
}

export function identityOfRef(ref: OwnerReference, namespace: string): Identity {
  return { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace, uid: ref.uid };
}

/** Owner references that appeared, went away, or changed between two lists. */
export function referencesDiff(
  oldRefs: OwnerReference[],
  newRefs: OwnerReference[],
): { added: OwnerReference[]; removed: OwnerReference[]; changed: { oldRef: OwnerReference; newRef: OwnerReference }[] } {
  const old = new Map(oldRefs.map((r) => [r.uid, r]));
  const added: OwnerReference[] = [];
  const changed: { oldRef: OwnerReference; newRef: OwnerReference }[] = [];
  for (const r of newRefs) {
    const o = old.get(r.uid);
    if (!o) added.push(r);
    else {
      if (JSON.stringify(o) !== JSON.stringify(r)) changed.push({ oldRef: o, newRef: r });
      old.delete(r.uid);
    }
  }
  return { added, removed: [...old.values()], changed };
}

/** A bounded set of identities known to be gone (upstream absentOwnerCache, an LRU). */
export class AbsentOwnerCache {
  private readonly entries = new Map<string, true>();
  constructor(private readonly max = 500) {}

  add(id: Identity): void {
    const k = identityKey(id);
    this.entries.delete(k);
    this.entries.set(k, true);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  has(id: Identity): boolean {
    const k = identityKey(id);
    if (!this.entries.has(k)) return false;
    this.entries.delete(k);
    this.entries.set(k, true);
    return true;
  }
}
