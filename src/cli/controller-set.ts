// The controllers of `timonel up`'s controller manager, wherever it runs (the main thread, or the component
// thread of a large cluster).
import type { ControllerFactory } from '../controllers/manager.js';
import { replicaSetController, replicationControllerController } from '../controllers/replicaset/controller.js';
import { deploymentController } from '../controllers/deployment/controller.js';
import { jobController } from '../controllers/job/controller.js';
import { ttlAfterFinishedController } from '../controllers/job/ttl.js';
import { cronJobController } from '../controllers/cronjob/controller.js';
import { garbageCollectorController } from '../controllers/garbagecollector/controller.js';
import { endpointsController } from '../controllers/endpoints/controller.js';
import { endpointSliceController } from '../controllers/endpointslice/controller.js';
import { serviceAccountController } from '../controllers/serviceaccount/controller.js';
import { persistentVolumeBinderController, pvcProtectionController, pvProtectionController } from '../controllers/volume/index.js';
import { localPathProvisionerController } from '../controllers/localpath/provisioner.js';
import { disruptionController } from '../controllers/disruption/controller.js';
import { resourceQuotaController } from '../controllers/resourcequota/controller.js';
import { rootCACertPublisherController } from '../controllers/rootcacert/controller.js';
import { nodeLifecycleController } from '../controllers/nodelifecycle/index.js';
import { statefulSetController } from '../controllers/statefulset/controller.js';
import { daemonSetController } from '../controllers/daemonset/controller.js';
import { schedulerController } from '../scheduler/index.js';

/** The controllers `timonel up` runs in its controller manager. */
export const BUILTIN_CONTROLLERS: ControllerFactory[] = [
  replicaSetController,
  replicationControllerController,
  deploymentController,
  statefulSetController,
  daemonSetController,
  jobController,
  ttlAfterFinishedController,
  cronJobController,
  garbageCollectorController,
  endpointsController,
  endpointSliceController,
  serviceAccountController,
  persistentVolumeBinderController,
  pvcProtectionController,
  pvProtectionController,
  disruptionController,
  resourceQuotaController,
  nodeLifecycleController,
  schedulerController,
];

/** What the controller manager's set depends on: where the local-path provisioner works, the cluster CA. */
export interface ControllerSetOptions {
  /** the local-path provisioner creates and removes directories under it for this host's node only */
  localPathBaseDir: string;
  localNodeName?: string;
  /** kube-root-ca.crt in every namespace, for pods' kube-api-access volumes (plain HTTP test clusters have no CA) */
  caPem?: string;
}

/** The factories of `timonel up`'s controller manager. */
export function controllerSet(o: ControllerSetOptions): ControllerFactory[] {
  const factories = [...BUILTIN_CONTROLLERS, localPathProvisionerController({ baseDir: o.localPathBaseDir, localNodeName: o.localNodeName })];
  if (o.caPem) factories.push(rootCACertPublisherController(o.caPem));
  return factories;
}
