// The workload kinds: apps/v1, batch/v1, autoscaling/v2 and policy/v1.
import type { KindInfo } from '../types.js';
import { controllerRevisionKind } from './controllerrevision.js';
import { daemonSetKind } from './daemonset.js';
import { deploymentKind, replicaSetKind } from './deployment.js';
import { horizontalPodAutoscalerKind } from './hpa.js';
import { cronJobKind, jobKind } from './job.js';
import { podDisruptionBudgetKind } from './pdb.js';
import { statefulSetKind } from './statefulset.js';

export const workloadKinds: KindInfo[] = [
  deploymentKind,
  replicaSetKind,
  statefulSetKind,
  daemonSetKind,
  controllerRevisionKind,
  jobKind,
  cronJobKind,
  horizontalPodAutoscalerKind,
  podDisruptionBudgetKind,
] as KindInfo[];
