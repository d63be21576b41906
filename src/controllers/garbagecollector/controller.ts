// The garbage collector (upstream pkg/controller/garbagecollector). It watches every listable,
// deletable resource discovery reports, keeps an owner→dependents graph, and:
// - deletes objects whose owners are all gone (Background: the owner went first);
// - for an owner deleted in the Foreground (finalizer `foregroundDeletion`), deletes its dependents and
//   removes the finalizer once no dependent with blockOwnerDeletion is left;
// - for an owner deleted with Orphan (finalizer `orphan`), removes the owner references from its
//   dependents, then the finalizer.
// Owner references that cannot be right (an owner in another namespace) get an OwnerRefInvalidNamespace
// Warning and never count as a live owner.
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { deepEqual } from '../../api/object.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { apiVersionOfRef, isConflict, isNotFound, type DiscoveredResource, type MetaObject, type ResourceClient } from '../../client/rest.js';
import { WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import {
  AbsentOwnerCache,
  FINALIZER_FOREGROUND,
  FINALIZER_ORPHAN,
  GraphNode,
  groupOf,
  identityOfRef,
  identityString,
  referencesDiff,
  refMatches,
  sameIdentity,
  type Identity,
} from './graph.js';

const COMPONENT = 'garbage-collector-controller';
/** upstream: the monitored resources are rediscovered this often */
const RESYNC_PERIOD_MS = 30_000;
/** upstream --concurrent-gc-syncs */
const WORKERS = 20;
// Data-heavy kinds no other built-in controller reads in full: watched as metadata only (what the graph
// needs: uid, ownerReferences, finalizers, deletionTimestamp), like upstream's metadata informers.
const METADATA_ONLY = new Set(['/configmaps', '/secrets']);
const IGNORED = new Set(['/events', 'events.k8s.io/events']);

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

class NamespacedOwnerOfClusterScopedObject extends Error {}

type Action = 'forget' | 'requeue';

interface Classified {
  solid: OwnerReference[];
  dangling: OwnerReference[];
  waiting: OwnerReference[];
}

const beingDeleted = (o: MetaObject | undefined) => !!o?.metadata?.deletionTimestamp;
const hasFinalizer = (o: MetaObject | undefined, f: string) => o?.metadata?.finalizers?.includes(f) ?? false;

/** The object is being deleted with finalizer `f` and was not (with it) before. */
function startsWithFinalizer(old: MetaObject | undefined, cur: MetaObject, f: string): boolean {
  if (!beingDeleted(cur) || !hasFinalizer(cur, f)) return false;
  return !old || !beingDeleted(old) || !hasFinalizer(old, f);
}

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  private readonly graph = new Map<string, GraphNode>();
  private readonly absent = new AbsentOwnerCache();
  private readonly attemptToDelete = new WorkQueue({ name: 'garbage_collector_attempt_to_delete' });
  private readonly attemptToOrphan = new WorkQueue({ name: 'garbage_collector_attempt_to_orphan' });
  private readonly monitors = new Map<string, { resource: DiscoveredResource; informer: Informer<MetaObject> }>();
  /** `group/kind` → the resources serving it, the preferred version first */
  private kinds = new Map<string, DiscoveredResource[]>();
  private readonly recorder: EventRecorder;
  private stopped = false;
  private running?: Promise<void>;
  private resyncTimer?: unknown;
  private wake?: () => void;
  private signalStop?: () => void;
  private readonly stopping = new Promise<void>((resolve) => (this.signalStop = resolve));
  private workers: Promise<void>[] = [];

  constructor(private readonly ctx: ControllerContext) {
    this.recorder = ctx.recorder(COMPONENT);
  }

  run(): void {
    this.running ??= this.start().catch((e) => this.ctx.log(`garbage collector: ${errText(e)}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop?.();
    this.wake?.();
    if (this.resyncTimer !== undefined) this.ctx.clock.clearTimeout(this.resyncTimer);
    this.attemptToDelete.shutDown();
    this.attemptToOrphan.shutDown();
    await this.running;
    await Promise.all(this.workers);
  }

  /** True once every monitored resource's cache is filled (for tests). */
  hasSynced(): boolean {
    return this.monitors.size > 0 && [...this.monitors.values()].every((m) => m.informer.hasSynced());
  }

  private async start(): Promise<void> {
    for (let delay = 500; !this.stopped; delay = Math.min(delay * 2, RESYNC_PERIOD_MS)) {
      try {
        await this.syncMonitors();
        break;
      } catch (e) {
        this.ctx.log(`garbage collector: discovery failed, retrying: ${errText(e)}`);
        await new Promise<void>((resolve) => {
          const h = this.ctx.clock.setTimeout(resolve, delay);
          this.wake = () => {
            this.ctx.clock.clearTimeout(h);
            resolve();
          };
        });
      }
    }
    await Promise.race([Promise.all([...this.monitors.values()].map((m) => m.informer.waitForSync())), this.stopping]);
    if (this.stopped) return;
    for (let i = 0; i < WORKERS; i++) {
      this.workers.push(this.worker(this.attemptToDelete, (uid) => this.attemptToDeleteItem(uid)));
      this.workers.push(this.worker(this.attemptToOrphan, (uid) => this.attemptToOrphanItem(uid)));
    }
    this.scheduleResync();
  }

  private scheduleResync(): void {
    if (this.stopped) return;
    this.resyncTimer = this.ctx.clock.setTimeout(() => {
      this.syncMonitors()
        .catch((e) => this.ctx.log(`garbage collector: rediscovery failed: ${errText(e)}`))
        .finally(() => this.scheduleResync());
    }, RESYNC_PERIOD_MS);
  }

  /** Discovers resources and starts watching the deletable ones not watched yet. */
  private async syncMonitors(): Promise<void> {
    const [all, preferred] = await Promise.all([this.ctx.client.serverResources(), this.ctx.client.serverResources({ preferredOnly: true })]);
    for (const [gv, e] of preferred.failed) this.ctx.log(`garbage collector: discovery of ${gv} failed: ${errText(e)}`);
    const kinds = new Map<string, DiscoveredResource[]>();
    const preferredKeys = new Set(preferred.resources.map((r) => `${r.group}/${r.version}/${r.resource}`));
    for (const r of all.resources) {
      const k = `${r.group}/${r.kind}`;
      const list = kinds.get(k) ?? [];
      if (preferredKeys.has(`${r.group}/${r.version}/${r.resource}`)) list.unshift(r);
      else list.push(r);
      kinds.set(k, list);
    }
    this.kinds = kinds;
    for (const r of preferred.resources) {
      const key = `${r.group}/${r.resource}`;
      if (this.monitors.has(key) || IGNORED.has(key)) continue;
      if (!['delete', 'list', 'watch'].every((v) => r.verbs.includes(v))) continue;
      const informer = METADATA_ONLY.has(key) ? this.ctx.informers.metadataInformer(r) : this.ctx.informers.informer<MetaObject>(r);
      const gvk = { apiVersion: apiVersionOfRef(r), kind: r.kind };
      this.monitors.set(key, { resource: r, informer });
      informer.addEventHandler({
        onAdd: (obj) => this.observe(gvk, undefined, obj),
        onUpdate: (old, obj) => this.observe(gvk, old, obj),
        onDelete: (obj) => this.observeDelete(this.identityOf(gvk, obj), false),
      });
    }
  }

  private async worker(queue: WorkQueue, process: (uid: string) => Promise<Action>): Promise<void> {
    for (;;) {
      const item = await queue.get();
      if (item.shutdown) return;
      try {
        if ((await process(item.key)) === 'requeue') queue.addRateLimited(item.key);
        else queue.forget(item.key);
      } catch (e) {
        this.ctx.log(`garbage collector: error syncing ${this.describe(item.key)}: ${errText(e)}`);
        queue.addRateLimited(item.key);
      } finally {
        queue.done(item.key);
      }
    }
  }

  private describe(uid: string): string {
    const n = this.graph.get(uid);
    return n ? identityString(n.identity) : uid;
  }

  // ---- the graph (informer handlers: synchronous, so every change is atomic) ----

  private identityOf(gvk: { apiVersion: string; kind: string }, obj: MetaObject): Identity {
    const m = obj.metadata ?? {};
    return { apiVersion: gvk.apiVersion, kind: gvk.kind, name: m.name ?? '', namespace: m.namespace ?? '', uid: m.uid ?? '' };
  }

  private observe(gvk: { apiVersion: string; kind: string }, old: MetaObject | undefined, obj: MetaObject): void {
    const id = this.identityOf(gvk, obj);
    if (!id.uid) return;
    let node = this.graph.get(id.uid);
    if (node?.virtual) {
      // a virtual owner is now seen: dependents that named it by other coordinates must be checked again
      if (!sameIdentity(id, node.identity)) {
        const [, mismatching] = this.partitionDependents(node, id);
        for (const dep of mismatching) {
          if (id.namespace && dep.identity.namespace !== id.namespace) this.reportInvalidNamespaceOwnerRef(dep, id.uid);
          this.attemptToDelete.add(dep.identity.uid);
        }
        node.identity = id;
      }
      node.virtual = false;
    }
    const owners = obj.metadata?.ownerReferences ?? [];
    if (!node) {
      node = new GraphNode(id, false);
      node.owners = owners;
      node.beingDeleted = beingDeleted(obj);
      node.deletingDependents = node.beingDeleted && hasFinalizer(obj, FINALIZER_FOREGROUND);
      this.graph.set(id.uid, node);
      this.addDependentToOwners(node, owners);
    } else {
      const { added, removed, changed } = referencesDiff(node.owners, owners);
      if (added.length || removed.length || changed.length) {
        this.addUnblockedOwnersToDeleteQueue(removed, changed);
        node.owners = owners;
        this.addDependentToOwners(node, added);
        this.removeDependentFromOwners(node, removed);
      }
      if (beingDeleted(obj)) node.beingDeleted = true;
    }
    this.processTransitions(old, obj, node);
  }

  private processTransitions(old: MetaObject | undefined, obj: MetaObject, node: GraphNode): void {
    if (startsWithFinalizer(old, obj, FINALIZER_ORPHAN)) {
      this.attemptToOrphan.add(node.identity.uid);
      return;
    }
    if (startsWithFinalizer(old, obj, FINALIZER_FOREGROUND)) {
      node.deletingDependents = true;
      for (const dep of node.dependents) this.attemptToDelete.add(dep);
      this.attemptToDelete.add(node.identity.uid);
    }
  }

  private addDependentToOwners(node: GraphNode, owners: OwnerReference[]): void {
    let potentiallyInvalid = false;
    for (const ref of owners) {
      let owner = this.graph.get(ref.uid);
      const existed = !!owner;
      if (!owner) {
        owner = new GraphNode(identityOfRef(ref, node.identity.namespace), true);
        this.graph.set(ref.uid, owner);
      }
      owner.dependents.add(node.identity.uid);
      if (!existed) {
        // the API decides whether this owner exists
        this.attemptToDelete.add(ref.uid);
      } else if (!potentiallyInvalid) {
        const ownerNamespaced = owner.identity.namespace !== '';
        if (ownerNamespaced && owner.identity.namespace !== node.identity.namespace) {
          if (!owner.virtual) this.reportInvalidNamespaceOwnerRef(node, ref.uid);
          potentiallyInvalid = true;
        } else if (!refMatches(ref, owner.identity)) {
          potentiallyInvalid = true;
        } else if (!ownerNamespaced && owner.identity.namespace !== node.identity.namespace && owner.virtual) {
          potentiallyInvalid = true;
        }
      }
    }
    if (potentiallyInvalid) this.attemptToDelete.add(node.identity.uid);
  }

  private removeDependentFromOwners(node: GraphNode, owners: OwnerReference[]): void {
    for (const ref of owners) this.graph.get(ref.uid)?.dependents.delete(node.identity.uid);
  }

  /** An owner reference that stopped blocking lets a foreground-deleted owner look again. */
  private addUnblockedOwnersToDeleteQueue(removed: OwnerReference[], changed: { oldRef: OwnerReference; newRef: OwnerReference }[]): void {
    for (const r of removed) if (r.blockOwnerDeletion && this.graph.has(r.uid)) this.attemptToDelete.add(r.uid);
    for (const { oldRef, newRef } of changed) if (oldRef.blockOwnerDeletion && !newRef.blockOwnerDeletion && this.graph.has(newRef.uid)) this.attemptToDelete.add(newRef.uid);
  }

  /** Dependents whose reference to `node` matches `owner` (coordinates and namespace), and the others. */
  private partitionDependents(node: GraphNode, owner: Identity): [GraphNode[], GraphNode[]] {
    const matching: GraphNode[] = [];
    const mismatching: GraphNode[] = [];
    for (const uid of node.dependents) {
      const dep = this.graph.get(uid);
      if (!dep) continue;
      let match = false;
      let mismatch = false;
      if (owner.namespace && owner.namespace !== dep.identity.namespace) mismatch = true;
      else
        for (const ref of dep.owners) {
          if (ref.uid !== owner.uid) continue;
          if (refMatches(ref, owner)) match = true;
          else mismatch = true;
        }
      if (match) matching.push(dep);
      if (mismatch) mismatching.push(dep);
    }
    return [matching, mismatching];
  }

  /** An object is gone: from an informer, or (virtual) because the API said its owner does not exist. */
  private observeDelete(id: Identity, virtual: boolean): void {
    const node = this.graph.get(id.uid);
    if (!node) return;
    let remove = true;
    if (virtual) {
      if (node.virtual) {
        const [matching, mismatching] = this.partitionDependents(node, id);
        if (mismatching.length) {
          // dependents disagree on where this owner is: keep the node for the ones naming it otherwise
          remove = false;
          if (matching.length) {
            this.absent.add(id);
            for (const dep of matching) this.attemptToDelete.add(dep.identity.uid);
          }
          if (sameIdentity(node.identity, id)) {
            const alt = this.alternateOwnerIdentity(mismatching, id);
            if (alt) {
              node.identity = alt;
              this.attemptToDelete.addRateLimited(id.uid);
            }
          }
        }
      } else if (!sameIdentity(node.identity, id)) {
        remove = false;
        const [matching] = this.partitionDependents(node, id);
        if (matching.length) {
          this.absent.add(id);
          for (const dep of matching) this.attemptToDelete.add(dep.identity.uid);
        }
      }
    }
    if (!remove) return;
    this.graph.delete(id.uid);
    this.removeDependentFromOwners(node, node.owners);
    if (node.dependents.size) this.absent.add(id);
    for (const dep of node.dependents) this.attemptToDelete.add(dep);
    // a foreground-deleted owner may now be free to go
    for (const ref of node.owners) if (this.graph.get(ref.uid)?.deletingDependents) this.attemptToDelete.add(ref.uid);
  }

  private alternateOwnerIdentity(deps: GraphNode[], absent: Identity): Identity | undefined {
    const clusterScoped = absent.namespace === '';
    for (const dep of deps) {
      for (const ref of dep.owners) {
        if (ref.uid !== absent.uid) continue;
        if (refMatches(ref, absent) && (clusterScoped || absent.namespace === dep.identity.namespace)) continue;
        const alt = identityOfRef(ref, dep.identity.namespace);
        if (clusterScoped && groupOf(alt.apiVersion) === groupOf(absent.apiVersion) && alt.kind === absent.kind) alt.namespace = '';
        if (!sameIdentity(alt, absent)) return alt;
      }
    }
    return undefined;
  }

  private reportInvalidNamespaceOwnerRef(dep: GraphNode, ownerUID: string): void {
    const ref = dep.owners.find((r) => r.uid === ownerUID);
    if (!ref) return;
    const invalid = identityString(identityOfRef(ref, dep.identity.namespace));
    const id = dep.identity;
    this.recorder.event(
      { apiVersion: id.apiVersion, kind: id.kind, metadata: { name: id.name, namespace: id.namespace || undefined, uid: id.uid } },
      'Warning',
      'OwnerRefInvalidNamespace',
      `ownerRef ${invalid} does not exist in namespace ${JSON.stringify(id.namespace)}`,
    );
  }

  // ---- talking to the API ----

  /** The resource serving apiVersion/kind (that version if served, else the group's preferred one). */
  private resourceFor(apiVersion: string, kind: string): DiscoveredResource {
    const list = this.kinds.get(`${groupOf(apiVersion)}/${kind}`) ?? [];
    const r = list.find((x) => apiVersionOfRef(x) === apiVersion) ?? list[0];
    if (!r) throw new Error(`unable to get REST mapping for ${apiVersion}, Kind=${kind}`);
    return r;
  }

  private clientFor(id: Identity): ResourceClient<MetaObject> {
    const r = this.resourceFor(id.apiVersion, id.kind);
    return this.ctx.client.resource<MetaObject>(r, r.namespaced ? id.namespace : undefined);
  }

  private async getObject(id: Identity): Promise<MetaObject | undefined> {
    try {
      return await this.clientFor(id).get(id.name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async deleteObject(id: Identity, resourceVersion: string | undefined, owners: OwnerReference[], policy: string): Promise<void> {
    const client = this.clientFor(id);
    try {
      await client.delete(id.name, { propagationPolicy: policy, preconditions: { uid: id.uid, ...(resourceVersion ? { resourceVersion } : {}) } });
    } catch (e) {
      if (isNotFound(e)) return;
      if (!isConflict(e) || !resourceVersion) throw e;
      // changed since we looked: still ours to delete when only unrelated fields changed
      const live = await this.getObject(id);
      if (!live) return;
      if (live.metadata?.uid !== id.uid || live.metadata?.resourceVersion === resourceVersion || !deepEqual(live.metadata?.ownerReferences ?? [], owners)) throw e;
      try {
        await client.delete(id.name, { propagationPolicy: policy, preconditions: { uid: id.uid } });
      } catch (e2) {
        if (!isNotFound(e2)) throw e2;
      }
    }
  }

  /** Rewrites an object's metadata (read, change, write with its resourceVersion), retrying on conflicts. */
  private async patchMetadata(id: Identity, change: (obj: MetaObject) => Record<string, unknown> | undefined): Promise<void> {
    const client = this.clientFor(id);
    for (let attempt = 0; ; attempt++) {
      const obj = await this.getObject(id);
      if (!obj || obj.metadata?.uid !== id.uid) return;
      const meta = change(obj);
      if (!meta) return;
      try {
        await client.patch(id.name, 'merge', { metadata: { ...meta, uid: id.uid, resourceVersion: obj.metadata?.resourceVersion } });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 10) throw e;
      }
    }
  }

  private removeFinalizer(id: Identity, finalizer: string): Promise<void> {
    return this.patchMetadata(id, (obj) => {
      const fs = obj.metadata?.finalizers ?? [];
      if (!fs.includes(finalizer)) return undefined;
      const rest = fs.filter((f) => f !== finalizer);
      return { finalizers: rest.length ? rest : null };
    });
  }

  private removeOwnerReferences(id: Identity, ownerUIDs: string[]): Promise<void> {
    return this.patchMetadata(id, (obj) => {
      const refs = obj.metadata?.ownerReferences ?? [];
      const rest = refs.filter((r) => !ownerUIDs.includes(r.uid));
      if (rest.length === refs.length) return undefined;
      return { ownerReferences: rest.length ? rest : null };
    });
  }

  /** Sets blockOwnerDeletion false on the item's references (breaks foreground cycles). */
  private unblockOwnerReferences(id: Identity): Promise<void> {
    return this.patchMetadata(id, (obj) => {
      const refs = obj.metadata?.ownerReferences ?? [];
      if (!refs.some((r) => r.blockOwnerDeletion)) return undefined;
      return { ownerReferences: refs.map((r) => (r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r)) };
    });
  }

  // ---- the workers ----

  private async attemptToDeleteItem(uid: string): Promise<Action> {
    const node = this.graph.get(uid);
    if (!node) return 'forget';
    // "being deleted" is a one-way trip: the final deletion will bring the dependents here
    if (node.beingDeleted && !node.deletingDependents) return 'forget';
    const id = node.identity;
    const latest = await this.getObject(id);
    if (!latest || latest.metadata?.uid !== id.uid) {
      this.observeDelete(id, true);
      return 'forget';
    }
    if (node.deletingDependents) {
      await this.processDeletingDependents(node);
      return node.virtual ? 'requeue' : 'forget';
    }
    const owners = latest.metadata?.ownerReferences ?? [];
    if (owners.length) {
      let c: Classified;
      try {
        c = await this.classifyReferences(node, owners);
      } catch (e) {
        // a cluster-scoped object naming a namespaced owner: retrying will not fix it
        if (e instanceof NamespacedOwnerOfClusterScopedObject) return 'forget';
        throw e;
      }
      if (c.solid.length) {
        if (c.dangling.length || c.waiting.length) {
          // references to gone owners, or to owners waiting for us, go; the object stays for its live owner
          await this.removeOwnerReferences(id, [...c.dangling, ...c.waiting].map((r) => r.uid));
        }
      } else if (c.waiting.length && node.dependents.size) {
        for (const depUID of node.dependents) {
          if (this.graph.get(depUID)?.deletingDependents) {
            await this.unblockOwnerReferences(id);
            break;
          }
        }
        await this.deleteObject(id, latest.metadata?.resourceVersion, owners, 'Foreground');
      } else {
        const policy = hasFinalizer(latest, FINALIZER_ORPHAN) ? 'Orphan' : hasFinalizer(latest, FINALIZER_FOREGROUND) ? 'Foreground' : 'Background';
        await this.deleteObject(id, latest.metadata?.resourceVersion, owners, policy);
      }
    }
    // an owner only the API has confirmed is looked at again until an informer shows it
    return node.virtual ? 'requeue' : 'forget';
  }

  private async processDeletingDependents(node: GraphNode): Promise<void> {
    const uid = node.identity.uid;
    const blocking: GraphNode[] = [];
    for (const depUID of node.dependents) {
      const dep = this.graph.get(depUID);
      if (dep?.owners.some((r) => r.uid === uid && r.blockOwnerDeletion)) blocking.push(dep);
    }
    if (!blocking.length) {
      await this.removeFinalizer(node.identity, FINALIZER_FOREGROUND);
      return;
    }
    for (const dep of blocking) if (!dep.deletingDependents) this.attemptToDelete.add(dep.identity.uid);
  }

  private async classifyReferences(node: GraphNode, refs: OwnerReference[]): Promise<Classified> {
    const out: Classified = { solid: [], dangling: [], waiting: [] };
    for (const ref of refs) {
      const owner = await this.ownerOf(node, ref);
      if (!owner) out.dangling.push(ref);
      else if (beingDeleted(owner) && hasFinalizer(owner, FINALIZER_FOREGROUND)) out.waiting.push(ref);
      else out.solid.push(ref);
    }
    return out;
  }

  /** The live owner a reference names, or undefined when it is gone (upstream isDangling). */
  private async ownerOf(node: GraphNode, ref: OwnerReference): Promise<MetaObject | undefined> {
    const candidate = identityOfRef(ref, '');
    if (this.absent.has(candidate)) return undefined;
    candidate.namespace = node.identity.namespace;
    if (this.absent.has(candidate)) return undefined;
    const r = this.resourceFor(ref.apiVersion, ref.kind);
    if (!r.namespaced) candidate.namespace = '';
    if (!node.identity.namespace && r.namespaced) throw new NamespacedOwnerOfClusterScopedObject();
    // owners are looked for in the dependent's namespace: one elsewhere does not count
    const owner = await this.getObject(candidate);
    if (!owner || owner.metadata?.uid !== ref.uid) {
      this.absent.add(candidate);
      return undefined;
    }
    return owner;
  }

  private async attemptToOrphanItem(uid: string): Promise<Action> {
    const owner = this.graph.get(uid);
    if (!owner) return 'forget';
    const errors: string[] = [];
    await Promise.all(
      [...owner.dependents].map(async (depUID) => {
        const dep = this.graph.get(depUID);
        if (!dep) return;
        try {
          await this.removeOwnerReferences(dep.identity, [uid]);
        } catch (e) {
          errors.push(`${identityString(dep.identity)}: ${errText(e)}`);
        }
      }),
    );
    if (errors.length) throw new Error(`orphaning the dependents of ${identityString(owner.identity)} failed: ${errors.join('; ')}`);
    await this.removeFinalizer(owner.identity, FINALIZER_ORPHAN);
    return 'forget';
  }
}

export const garbageCollectorController: ControllerFactory = (ctx) => new GarbageCollector(ctx);
