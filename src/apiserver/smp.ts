// Lets the API server apply `application/strategic-merge-patch+json` with per-kind merge keys and directives.
import { applyStrategicMergePatch, smpSchemaFor } from '../api/smp/index.js';
import { apiVersionOf } from '../api/types.js';
import type { ApiServer } from './handler.js';

export function installStrategicMerge(api: ApiServer): void {
  api.strategicMerge = (info, current, patch) => applyStrategicMergePatch(current, patch, smpSchemaFor(apiVersionOf(info), info.kind));
}
