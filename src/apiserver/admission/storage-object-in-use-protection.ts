// StorageObjectInUseProtection: new PersistentVolumeClaims get the `kubernetes.io/pvc-protection`
// finalizer and new PersistentVolumes `kubernetes.io/pv-protection`, which the pvc-protection and
// pv-protection controllers remove once nothing uses the object.
import type { KubeObject } from '../../api/types.js';
import type { AdmissionPlugin } from '../registry.js';

export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION_FINALIZER = 'kubernetes.io/pv-protection';

export function storageObjectInUseProtection(): AdmissionPlugin {
  return {
    name: 'StorageObjectInUseProtection',
    admit(op, info, obj: KubeObject) {
      if (op !== 'create' || info.group !== '') return;
      const finalizer =
        info.resource === 'persistentvolumeclaims' ? PVC_PROTECTION_FINALIZER : info.resource === 'persistentvolumes' ? PV_PROTECTION_FINALIZER : undefined;
      if (!finalizer) return;
      const meta = (obj.metadata ??= {});
      const finalizers = meta.finalizers ?? [];
      if (!finalizers.includes(finalizer)) meta.finalizers = [...finalizers, finalizer];
    },
  };
}
