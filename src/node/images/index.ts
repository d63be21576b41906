export { DockerKeyring, type RegistryCredential } from './credentials.js';
export { ImageError, type ImageErrorCode } from './errors.js';
export {
  diskUsage,
  ImageGarbageCollector,
  imagesInUse,
  pruneUnusedImages,
  recordImagesInUse,
  statfsStats,
  type FilesystemStats,
  type ImageGCOptions,
  type ImageGCResult,
} from './gc.js';
export { overlayLowerdir } from './layer.js';
export * from './messages.js';
export {
  defaultPullPolicy,
  formatImageReference,
  InvalidImageNameError,
  parseImageReference,
  type ImageReference,
  type PullPolicy,
} from './reference.js';
export { RegistryClient, type RegistryClientOptions } from './registry.js';
export {
  imageRefOf,
  ImageStore,
  type GcResult,
  type ImageRecord,
  type ImageStoreOptions,
  type LayerRecord,
  type PullOptions,
  type PullProgress,
  type PullResult,
} from './store.js';
export type { ImageConfig } from './types.js';
