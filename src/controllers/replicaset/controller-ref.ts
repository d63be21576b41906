// Controller references (upstream ControllerRefManager): a controller adopts orphans its selector
// matches and releases what it owns but no longer matches, by patching ownerReferences.
import type { ObjectMeta, OwnerReference } from 'kubernetes-types/meta/v1.js';
import { isNotFound, type MetaObject, type ResourceClient } from '../../client/rest.js';

/** The owner reference with `controller: true`, if any (upstream metav1.GetControllerOf). */
export function controllerRefOf(obj: MetaObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** upstream metav1.NewControllerRef */
export function newControllerRef(owner: MetaObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata?.name ?? '', uid: owner.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
}

export interface ClaimOptions<T extends MetaObject> {
  /** the controller claiming objects */
  owner: MetaObject & { metadata: ObjectMeta };
  ownerRef: OwnerReference;
  /** patches the claimed kind, bound to the owner's namespace */
  client: ResourceClient<T>;
  /** the controller's selector (plus whatever else it requires) */
  match(obj: T): boolean;
  /** throws when the owner may not adopt now (it is being deleted, or was replaced); called once per claim */
  canAdopt(): Promise<void>;
}

const codeOf = (e: unknown) => (e as { code?: number })?.code;

/**
 * Returns the objects the owner controls after adopting matching orphans and releasing owned
 * objects that no longer match. Every object is tried; failures are thrown together at the end.
 */
export async function claimObjects<T extends MetaObject>(objs: T[], o: ClaimOptions<T>): Promise<T[]> {
  const claimed: T[] = [];
  const errors = new Set<string>();
  const ownerUID = o.owner.metadata.uid;
  const ownerDeleting = !!o.owner.metadata.deletionTimestamp;
  let adoptable: Promise<void> | undefined;

  for (const obj of objs) {
    const ref = controllerRefOf(obj);
    try {
      if (ref) {
        if (ref.uid !== ownerUID) continue;
        if (o.match(obj)) {
          claimed.push(obj);
          continue;
        }
        if (ownerDeleting) continue;
        await release(obj, o);
        continue;
      }
      if (ownerDeleting || !o.match(obj) || obj.metadata?.deletionTimestamp) continue;
      if (o.owner.metadata.namespace && o.owner.metadata.namespace !== obj.metadata?.namespace) continue;
      adoptable ??= o.canAdopt();
      await adoptable;
      claimed.push(await adopt(obj, o));
    } catch (e) {
      if (isNotFound(e)) continue;
      errors.add(e instanceof Error ? e.message : String(e));
    }
  }
  if (errors.size) throw new Error([...errors].join('; '));
  return claimed;
}

async function adopt<T extends MetaObject>(obj: T, o: ClaimOptions<T>): Promise<T> {
  const others = (obj.metadata?.ownerReferences ?? []).filter((r) => r.uid !== o.ownerRef.uid);
  return o.client.patch(obj.metadata!.name!, 'merge', {
    metadata: { ownerReferences: [...others, o.ownerRef], uid: obj.metadata?.uid, resourceVersion: obj.metadata?.resourceVersion },
  });
}

async function release<T extends MetaObject>(obj: T, o: ClaimOptions<T>): Promise<void> {
  const rest = (obj.metadata?.ownerReferences ?? []).filter((r) => r.uid !== o.ownerRef.uid);
  try {
    await o.client.patch(obj.metadata!.name!, 'merge', {
      metadata: { ownerReferences: rest.length ? rest : null, uid: obj.metadata?.uid, resourceVersion: obj.metadata?.resourceVersion },
    });
  } catch (e) {
    // gone, or replaced by a new object of the same name: nothing left to release
    if (isNotFound(e) || codeOf(e) === 422) return;
    throw e;
  }
}
