// The volume controllers of the controller manager.
export { persistentVolumeBinderController, newPersistentVolumeBinderController, PersistentVolumeBinderController, defaultClass } from './controller.js';
export { pvcProtectionController, pvProtectionController, PVCProtectionController, PVProtectionController } from './protection.js';
