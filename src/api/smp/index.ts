// Strategic merge patch: the engine and the patch facts of the built-in kinds.
export { applyStrategicMergePatch } from './apply.js';
export { smpSchemaFor } from './builtin.js';
export type { SMPField, SMPType } from './schema.js';
