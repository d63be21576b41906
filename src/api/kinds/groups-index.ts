// The kinds of the discovery, events, storage, networking, coordination, RBAC and admissionregistration API groups.
import type { KindInfo } from '../types.js';
import { mutatingWebhookConfigurationKind, validatingWebhookConfigurationKind } from './admissionregistration.js';
import { endpointSliceKind } from './endpointslice.js';
import { eventsV1EventKind } from './events.js';
import { leaseKind } from './lease.js';
import { ingressClassKind, ingressKind, networkPolicyKind } from './networking.js';
import { clusterRoleBindingKind, clusterRoleKind, roleBindingKind, roleKind } from './rbac.js';
import { storageClassKind } from './storageclass.js';

export const groupKinds: KindInfo[] = [
  endpointSliceKind,
  eventsV1EventKind,
  storageClassKind,
  ingressKind,
  ingressClassKind,
  networkPolicyKind,
  leaseKind,
  roleKind,
  clusterRoleKind,
  roleBindingKind,
  clusterRoleBindingKind,
  validatingWebhookConfigurationKind,
  mutatingWebhookConfigurationKind,
];
