export { CLIRuntime, RuntimeError, type ContainerState, type ContainerStatus, type CreateOptions, type OCIRuntime, type RuntimeName } from './oci.js';
export { FakeRuntime } from './fake.js';
export { detectRuntime, ensureHugetlbMount, findExecutable, type DetectOptions, type RuntimeDetection } from './detect.js';
export {
  buildOCISpec,
  capabilitiesFromMask,
  containerCapabilities,
  containerResources,
  DEFAULT_CAPABILITIES,
  expandVariableReferences,
  hostCapabilities,
  mergeEnv,
  milliCPUToQuota,
  milliCPUToShares,
  resolveProcessArgs,
  resolveUser,
  type ContainerSpecInput,
  type ImageConfig,
  type OCISpec,
  type SandboxRef,
  type VolumeMount,
} from './spec.js';
export { cleanupRootfs, isMountPoint, prepareRootfs, type PreparedRootfs } from './rootfs.js';
export { cgroupHierarchies, containerCgroupPath, existingCgroupDirs, podCgroupPath, removeCgroup } from './cgroups.js';
export { kernelLogShowsOOMKill } from './oom.js';
export { CRILogWriter, criLogLine, rfc3339NanoNow, type LogStream } from './logs.js';
export { stopContainer } from './stop.js';
