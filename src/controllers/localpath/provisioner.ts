// The built-in `local-path` provisioner, an external provisioner in upstream's sense (as rancher's
// local-path-provisioner, which k3s ships): for claims the PV controller hands to it
// (volume.kubernetes.io/storage-provisioner), once the scheduler chose a node
// (volume.kubernetes.io/selected-node), it makes a hostPath volume `<baseDir>/pvc-<uid>_<ns>_<name>`
// pinned to that node; released volumes with reclaim policy Delete lose their directory and object.
// The directory itself is made and removed only when this process runs on that node's host
// (localNodeName); elsewhere the node agent owns it (hostPath DirectoryOrCreate makes it at mount).
import { mkdirSync, rmSync, chmodSync } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import type { Node, PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { ANNOTATION_IS_DEFAULT_CLASS, isDefaultStorageClass } from '../../api/kinds/storageclass.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { isAlreadyExists, isNotFound, type RestClient, type ResourceClient } from '../../client/rest.js';
import { RESOURCES } from '../../client/shared.js';
import { runWorkers, WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext, ControllerFactory } from '../manager.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  claimClass,
  claimKey,
  claimReference,
} from '../volume/util.js';

/**
 * Our own name rather than rancher.io/local-path: someone who also installs rancher's provisioner must
 * not get two provisioners racing for the same claims. The class name `local-path` is k3s's, which is
 * what manifests and charts refer to.
 */
export const LOCAL_PATH_PROVISIONER = 'timonel.io/local-path';
export const LOCAL_PATH_STORAGE_CLASS = 'local-path';
/** The node a volume lives on (its nodeAffinity says it too, but by hostname label). */
export const ANN_LOCAL_PATH_NODE = 'local-path.timonel.io/node';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';
const SUPPORTED_ACCESS_MODES = new Set(['ReadWriteOnce', 'ReadWriteOncePod']);

export interface LocalPathOptions {
  /** where volumes live on every node (`<data-dir>/storage` for `timonel up`) */
  baseDir: string;
  /** the node whose host this process runs on: only its directories are made and removed here */
  localNodeName?: string;
  /** default LOCAL_PATH_PROVISIONER */
  provisionerName?: string;
}

export const defaultLocalPathBaseDir = (dataDir: string): string => join(dataDir, 'storage');

/** The directory of a claim's volume, as rancher's provisioner names it. */
export const volumeDirectory = (baseDir: string, c: PersistentVolumeClaim): string =>
  join(baseDir, `pvc-${c.metadata?.uid ?? ''}_${c.metadata?.namespace ?? ''}_${c.metadata?.name ?? ''}`);

/** The `local-path` StorageClass, marked default, as `timonel up` creates it at bootstrap. */
export function localPathStorageClass(provisioner = LOCAL_PATH_PROVISIONER): StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: LOCAL_PATH_STORAGE_CLASS, annotations: { [ANNOTATION_IS_DEFAULT_CLASS]: 'true' } },
    provisioner,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}

/**
 * Creates the `local-path` class unless it exists (a user's edits to it are kept). It is marked default
 * only when no other class is. Returns whether it was created.
 */
export async function ensureDefaultStorageClass(client: RestClient, provisioner = LOCAL_PATH_PROVISIONER): Promise<boolean> {
  const classes = client.resource<StorageClass>(RESOURCES.storageclasses);
  const existing = (await classes.listAll()).items;
  if (existing.some((sc) => sc.metadata?.name === LOCAL_PATH_STORAGE_CLASS)) return false;
  const sc = localPathStorageClass(provisioner);
  if (existing.some(isDefaultStorageClass)) delete sc.metadata!.annotations;
  try {
    await classes.create(sc);
    return true;
  } catch (e) {
    if (isAlreadyExists(e)) return false;
    throw e;
  }
}

/** Whether `dir` is a volume directory directly under `baseDir` (never remove anything else). */
function isVolumeDirectoryOf(baseDir: string, dir: string): boolean {
  const base = resolve(baseDir);
  const d = resolve(dir);
  return d.startsWith(base + sep) && resolve(d, '..') === base && basename(d).startsWith('pvc-');
}

export class LocalPathProvisioner implements Controller {
  readonly name = 'local-path-provisioner';
  readonly provisioner: string;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;
  private readonly nodes: Informer<Node>;
  readonly claimQueue = new WorkQueue({ name: 'localpath-claims' });
  readonly volumeQueue = new WorkQueue({ name: 'localpath-volumes' });
  private readonly recorder: EventRecorder;
  private readonly pvClient: ResourceClient<PersistentVolume>;
  /** volumes created whose add event has not arrived yet: no second create meanwhile */
  private readonly created = new Set<string>();
  private workers?: Promise<unknown>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: LocalPathOptions,
  ) {
    this.provisioner = opts.provisionerName ?? LOCAL_PATH_PROVISIONER;
    this.claims = ctx.informers.informer<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims);
    this.volumes = ctx.informers.informer<PersistentVolume>(RESOURCES.persistentvolumes);
    this.classes = ctx.informers.informer<StorageClass>(RESOURCES.storageclasses);
    this.nodes = ctx.informers.informer<Node>(RESOURCES.nodes);
    this.recorder = ctx.recorder(this.provisioner);
    this.pvClient = ctx.client.resource<PersistentVolume>(RESOURCES.persistentvolumes);
    const onClaim = (c: PersistentVolumeClaim) => this.claimQueue.add(claimKey(c));
    this.claims.addEventHandler({ onAdd: onClaim, onUpdate: (_o, c) => onClaim(c) });
    const onVolume = (v: PersistentVolume) => {
      if (v.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED] === this.provisioner) this.volumeQueue.add(v.metadata.name ?? '');
    };
    this.volumes.addEventHandler({
      onAdd: (v) => {
        this.created.delete(v.metadata?.name ?? '');
        onVolume(v);
      },
      onUpdate: (_o, v) => onVolume(v),
      onDelete: (v) => this.created.delete(v.metadata?.name ?? ''),
    });
  }

  run(): void {
    this.workers ??= Promise.all([
      runWorkers(this.claimQueue, 1, (k) => this.syncClaim(k), this.ctx.log),
      runWorkers(this.volumeQueue, 1, (k) => this.syncVolume(k), this.ctx.log),
    ]);
  }

  async stop(): Promise<void> {
    this.claimQueue.shutDown();
    this.volumeQueue.shutDown();
    await this.workers;
  }

  private failed(claim: PersistentVolumeClaim, className: string, why: string): void {
    this.recorder.event(claim, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${className}": ${why}`);
  }

  async syncClaim(key: string): Promise<void> {
    const claim = this.claims.get(key);
    if (!claim || claim.spec?.volumeName || claim.metadata?.deletionTimestamp) return;
    const ann = claim.metadata?.annotations ?? {};
    if ((ann[ANN_STORAGE_PROVISIONER] ?? ann[ANN_BETA_STORAGE_PROVISIONER]) !== this.provisioner) return;
    const className = claimClass(claim);
    const sc = this.classes.get(className);
    if (!sc || sc.provisioner !== this.provisioner) return;
    const nodeName = ann[ANN_SELECTED_NODE];
    if (sc.volumeBindingMode === 'WaitForFirstConsumer' && !nodeName) return;
    const pvName = `pvc-${claim.metadata?.uid ?? ''}`;
    if (this.volumes.get(pvName) || this.created.has(pvName)) return;

    if (!nodeName) return this.failed(claim, className, 'configuration error, no node was specified');
    if (claim.spec?.selector) return this.failed(claim, className, 'claim Selector is not supported');
    if ((claim.spec?.accessModes ?? []).some((m) => !SUPPORTED_ACCESS_MODES.has(m)))
      return this.failed(claim, className, 'NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes');
    if ((claim.spec?.volumeMode ?? 'Filesystem') !== 'Filesystem') return this.failed(claim, className, 'volumeMode Block is not supported');
    const node = this.nodes.get(nodeName);
    if (!node) return this.failed(claim, className, `failed to get target node: nodes "${nodeName}" not found`);

    this.recorder.event(claim, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${key}"`);
    const path = volumeDirectory(this.opts.baseDir, claim);
    if (this.opts.localNodeName === nodeName) {
      try {
        mkdirSync(path, { recursive: true });
        // pods run as any user: the directory is everyone's, as rancher's helper pod makes it
        chmodSync(path, 0o777);
      } catch (e) {
        this.failed(claim, className, `creating ${path}: ${(e as Error).message}`);
        throw e;
      }
    }
    const pv: PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { [ANN_DYNAMICALLY_PROVISIONED]: this.provisioner, [ANN_LOCAL_PATH_NODE]: nodeName } },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? '0' },
        accessModes: claim.spec?.accessModes,
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
        storageClassName: className,
        volumeMode: 'Filesystem',
        ...(sc.mountOptions?.length ? { mountOptions: sc.mountOptions } : {}),
        hostPath: { path, type: 'DirectoryOrCreate' },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [node.metadata?.labels?.[HOSTNAME_LABEL] ?? nodeName] }] }],
          },
        },
        claimRef: claimReference(claim),
      },
    };
    try {
      await this.pvClient.create(pv);
    } catch (e) {
      if (!isAlreadyExists(e)) {
        this.failed(claim, className, (e as Error).message);
        throw e;
      }
    }
    this.created.add(pvName);
    this.recorder.event(claim, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`);
  }

  async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.get(name);
    if (!pv || pv.metadata?.deletionTimestamp) return;
    if (pv.metadata?.annotations?.[ANN_DYNAMICALLY_PROVISIONED] !== this.provisioner) return;
    if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    const dir = pv.spec.hostPath?.path;
    const nodeName = pv.metadata.annotations[ANN_LOCAL_PATH_NODE];
    if (dir && nodeName && nodeName === this.opts.localNodeName) {
      if (!isVolumeDirectoryOf(this.opts.baseDir, dir)) {
        this.recorder.event(pv, 'Warning', 'VolumeFailedDelete', `refusing to remove ${dir}: not a volume directory under ${this.opts.baseDir}`);
      } else {
        try {
          rmSync(dir, { recursive: true, force: true });
        } catch (e) {
          this.recorder.event(pv, 'Warning', 'VolumeFailedDelete', `removing ${dir}: ${(e as Error).message}`);
          throw e;
        }
      }
    }
    try {
      await this.pvClient.delete(name, { preconditions: { uid: pv.metadata.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

/** The provisioner as a controller manager factory. */
export const localPathProvisionerController =
  (opts: LocalPathOptions): ControllerFactory =>
  (ctx) =>
    new LocalPathProvisioner(ctx, opts);
