// DefaultStorageClass: a PersistentVolumeClaim created without a class gets the cluster's default
// StorageClass (the newest one when several are marked default), as upstream's admission plugin does.
// A claim that names a class, even "" (no class), is left alone.
import { isDefaultStorageClass } from '../../api/kinds/storageclass.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { AdmissionPlugin, Registry } from '../registry.js';

const BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';

interface ClaimLike extends KubeObject {
  spec?: { storageClassName?: string | null; [k: string]: unknown };
}

/** The default class among stored StorageClasses: newest creationTimestamp, then name. */
export async function findDefaultStorageClass(reg: Registry, storageClassKind: KindInfo): Promise<string | undefined> {
  const { items } = await reg.list(storageClassKind, undefined, {});
  const defaults = items.map((i) => i.obj).filter(isDefaultStorageClass);
  defaults.sort((a, b) => {
    const ta = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
    const tb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
    return tb - ta || (a.metadata.name < b.metadata.name ? -1 : 1);
  });
  return defaults[0]?.metadata.name;
}

export function defaultStorageClass(storageClassKind: () => KindInfo | undefined): AdmissionPlugin {
  return {
    name: 'DefaultStorageClass',
    async admit(op, info, obj: ClaimLike, _old, reg) {
      if (op !== 'create' || info.group !== '' || info.resource !== 'persistentvolumeclaims') return;
      const spec = (obj.spec ??= {});
      if (spec.storageClassName !== undefined && spec.storageClassName !== null) return;
      if (obj.metadata?.annotations?.[BETA_STORAGE_CLASS]) return;
      const kind = storageClassKind();
      if (!kind) return;
      const name = await findDefaultStorageClass(reg, kind);
      if (name) spec.storageClassName = name;
    },
  };
}
