// The core (legacy, `/api/v1`) kinds.
import type { KindInfo } from '../types.js';
import { configMapKind } from './configmap.js';
import { endpointsKind } from './endpoints.js';
import { eventKind } from './event.js';
import { limitRangeKind } from './limitrange.js';
import { namespaceKind } from './namespace.js';
import { nodeKind } from './node.js';
import { persistentVolumeClaimKind, persistentVolumeKind } from './persistentvolume.js';
import { podKind } from './pod.js';
import { replicationControllerKind } from './replicationcontroller.js';
import { resourceQuotaKind } from './resourcequota.js';
import { secretKind } from './secret.js';
import { serviceKind } from './service.js';
import { serviceAccountKind } from './serviceaccount.js';

// Each KindInfo is typed by its own object type; the list holds them as generic kinds (as Scheme.register does).
export const coreKinds: KindInfo[] = [
  configMapKind,
  endpointsKind,
  eventKind,
  limitRangeKind,
  namespaceKind,
  nodeKind,
  persistentVolumeClaimKind,
  persistentVolumeKind,
  podKind,
  replicationControllerKind,
  resourceQuotaKind,
  secretKind,
  serviceAccountKind,
  serviceKind,
] as unknown as KindInfo[];
