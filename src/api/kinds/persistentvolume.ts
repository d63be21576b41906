// PersistentVolume and PersistentVolumeClaim.
import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import { type FieldError, required, invalidValue, notSupported, forbidden } from '../errors.js';
import type { KindInfo } from '../types.js';
import { formatAge, nowRFC3339 } from '../names.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from '../validation.js';
import { validateLabelSelector } from '../labels.js';
import { type Obj, isObj, str, list, obj, dig, digStr, digList, jsonEqual, clone, FIELD_IMMUTABLE } from './checks.js';
import { quantityValue, quantityText, compareQuantities, resourceList, quantityErrors, canonicalizeResourceList, canonicalizeRequirements } from './resources.js';
import { canonicalQuantity, quantitySign } from '../quantity.js';
import { validateNodeSelector } from './podspec.js';

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const RECLAIM_POLICIES = ['Delete', 'Recycle', 'Retain'];
const VOLUME_MODES = ['Block', 'Filesystem'];
const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];
const STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

/** PersistentVolumeSource members. */
export const PV_SOURCES = [
  'hostPath', 'gcePersistentDisk', 'awsElasticBlockStore', 'glusterfs', 'flocker', 'nfs', 'rbd', 'quobyte', 'cephfs',
  'iscsi', 'cinder', 'fc', 'flexVolume', 'azureFile', 'vsphereVolume', 'photonPersistentDisk', 'portworxVolume',
  'azureDisk', 'scaleIO', 'local', 'storageos', 'csi',
] as const;

/** The fields each PV source must set; the path segment is upstream's (it says `persistentDisk`, `cephfs`). */
const PV_SOURCE_REQUIRED: Partial<Record<(typeof PV_SOURCES)[number], { path?: string; fields: string[] }>> = {
  gcePersistentDisk: { path: 'persistentDisk', fields: ['pdName'] },
  awsElasticBlockStore: { fields: ['volumeID'] },
  glusterfs: { fields: ['endpoints', 'path'] },
  rbd: { fields: ['monitors', 'image'] },
  quobyte: { fields: ['registry', 'volume'] },
  cephfs: { path: 'cephfs', fields: ['monitors'] },
  iscsi: { fields: ['targetPortal', 'iqn'] },
  cinder: { fields: ['volumeID'] },
  flexVolume: { fields: ['driver'] },
  azureFile: { fields: ['secretName', 'shareName'] },
  vsphereVolume: { fields: ['volumePath'] },
  photonPersistentDisk: { fields: ['pdID'] },
  portworxVolume: { fields: ['volumeID'] },
  azureDisk: { fields: ['diskName', 'diskURI'] },
  scaleIO: { fields: ['gateway', 'system', 'volumeName'] },
  storageos: { fields: ['volumeName'] },
  csi: { fields: ['driver', 'volumeHandle'] },
};

const unset = (v: unknown) => v === undefined || v === null;
const empty = (v: unknown) => unset(v) || v === '' || (Array.isArray(v) && v.length === 0);

function validateAccessModes(v: unknown, path: string, requiredDetail: string, errs: FieldError[]): void {
  const modes = list(v, path, errs);
  if (modes.length === 0) errs.push(required(path, requiredDetail));
  let rwop = false;
  let other = false;
  for (const m of modes) {
    if (typeof m !== 'string' || !ACCESS_MODES.includes(m)) errs.push(notSupported(path, m, ACCESS_MODES));
    else if (m === 'ReadWriteOncePod') rwop = true;
    else other = true;
  }
  if (rwop && other) errs.push(forbidden(path, 'may not use ReadWriteOncePod with other access modes'));
}

function validatePVSource(kind: (typeof PV_SOURCES)[number], s: Obj, errs: FieldError[]): void {
  const sp = `spec.${kind}`;
  switch (kind) {
    case 'hostPath': {
      const p = str(s.path, `${sp}.path`, errs);
      if (!p) return void errs.push(required(`${sp}.path`));
      if (p.split('/').includes('..')) errs.push(invalidValue(`${sp}.path`, p, "must not contain '..'"));
      if (!unset(s.type) && !HOST_PATH_TYPES.includes(String(s.type))) errs.push(notSupported(`${sp}.type`, s.type, HOST_PATH_TYPES));
      return;
    }
    case 'nfs': {
      if (empty(s.server)) errs.push(required(`${sp}.server`));
      const p = str(s.path, `${sp}.path`, errs);
      if (!p) errs.push(required(`${sp}.path`));
      if (!p.startsWith('/')) errs.push(invalidValue(`${sp}.path`, p, 'must be an absolute path'));
      return;
    }
    case 'local': {
      const p = str(s.path, `${sp}.path`, errs);
      if (!p) return void errs.push(required(`${sp}.path`));
      if (p.split('/').includes('..')) errs.push(invalidValue(`${sp}.path`, p, "must not contain '..'"));
      return;
    }
    case 'fc':
      if (empty(s.targetWWNs) && empty(s.wwids)) errs.push(required(`${sp}.targetWWNs`, 'must specify either targetWWNs or wwids, but not both'));
      return;
    case 'flocker':
      if (empty(s.datasetName) && empty(s.datasetUUID)) errs.push(required(sp, 'one of datasetName and datasetUUID is required'));
      return;
  }
  const req = PV_SOURCE_REQUIRED[kind];
  if (!req) return;
  for (const f of req.fields) if (empty(s[f])) errs.push(required(`spec.${req.path ?? kind}.${f}`));
  if (kind === 'csi') {
    const driver = typeof s.driver === 'string' ? s.driver : '';
    if (driver) for (const m of dns1123SubdomainErrors(driver.toLowerCase())) errs.push(invalidValue(`${sp}.driver`, driver, m));
  }
  if (kind === 'storageos' && typeof s.volumeName === 'string' && s.volumeName)
    for (const m of dns1123LabelErrors(s.volumeName)) errs.push(invalidValue(`${sp}.volumeName`, s.volumeName, m));
}

function validatePV(pv: PersistentVolume): FieldError[] {
  const errs: FieldError[] = [];
  const s = obj(pv.spec, 'spec', errs) ?? {};
  validateAccessModes(s.accessModes, 'spec.accessModes', '', errs);
  const capacity = resourceList(s.capacity, 'spec.capacity', errs);
  if (Object.keys(capacity).length === 0) errs.push(required('spec.capacity'));
  if (!('storage' in capacity) || Object.keys(capacity).length > 1) errs.push(notSupported('spec.capacity', capacity, ['storage']));
  for (const [k, q] of Object.entries(capacity)) {
    const fp = `spec.capacity[${k}]`;
    const v = quantityValue(q);
    if (!v) errs.push(...quantityErrors(k, q, fp));
    else if (quantitySign(v) < 0) errs.push(invalidValue(fp, quantityText(q), 'must be a valid resource quantity'));
    if (v && quantitySign(v) <= 0) errs.push(invalidValue(fp, quantityText(q), 'must be greater than zero'));
  }
  const policy = str(s.persistentVolumeReclaimPolicy, 'spec.persistentVolumeReclaimPolicy', errs);
  if (policy && !RECLAIM_POLICIES.includes(policy)) errs.push(notSupported('spec.persistentVolumeReclaimPolicy', policy, RECLAIM_POLICIES));
  let nodeAffinity = false;
  if (!unset(s.nodeAffinity)) {
    nodeAffinity = true;
    const na = obj(s.nodeAffinity, 'spec.nodeAffinity', errs) ?? {};
    if (unset(na.required)) errs.push(required('spec.nodeAffinity.required', 'must specify required node constraints'));
    else validateNodeSelector(na.required, 'spec.nodeAffinity.required', errs);
  }
  let n = 0;
  for (const kind of PV_SOURCES) {
    if (unset(s[kind])) continue;
    if (n > 0) {
      errs.push(forbidden(`spec.${kind}`, 'may not specify more than 1 volume type'));
      continue;
    }
    n++;
    validatePVSource(kind, obj(s[kind], `spec.${kind}`, errs) ?? {}, errs);
    if (kind === 'local' && !nodeAffinity) errs.push(required('spec.nodeAffinity', 'Local volume requires node affinity'));
  }
  if (n === 0) errs.push(required('spec', 'must specify a volume type'));
  const hostPath = digStr(s, 'hostPath', 'path');
  if (hostPath && hostPath.replace(/\/+$/, '') === '' && policy === 'Recycle')
    errs.push(forbidden('spec.persistentVolumeReclaimPolicy', "may not be 'recycle' for a hostPath mount of '/'"));
  const sc = str(s.storageClassName, 'spec.storageClassName', errs);
  if (sc) for (const m of dns1123SubdomainErrors(sc)) errs.push(invalidValue('spec.storageClassName', sc, m));
  if (!unset(s.volumeMode) && !VOLUME_MODES.includes(String(s.volumeMode))) errs.push(notSupported('spec.volumeMode', s.volumeMode, VOLUME_MODES));
  return errs;
}

const pvSource = (spec: unknown): Obj => {
  const out: Obj = {};
  if (isObj(spec)) for (const k of PV_SOURCES) if (!unset(spec[k])) out[k] = spec[k];
  return out;
};

function validatePVUpdate(pv: PersistentVolume, old: PersistentVolume): FieldError[] {
  const errs: FieldError[] = [];
  const next = pvSource(pv.spec);
  const prev = pvSource(old.spec);
  // A CSI volume may gain a controllerExpandSecretRef.
  if (isObj(prev.csi) && unset(prev.csi.controllerExpandSecretRef) && isObj(next.csi) && !unset(next.csi.controllerExpandSecretRef)) {
    next.csi = clone(next.csi);
    delete (next.csi as Obj).controllerExpandSecretRef;
  }
  if (!jsonEqual(next, prev))
    errs.push(forbidden('spec.persistentvolumesource', `spec.persistentvolumesource is immutable after creation\n-\t${JSON.stringify(prev)}\n+\t${JSON.stringify(next)}`));
  const vm = dig(pv.spec, 'volumeMode');
  if (!jsonEqual(vm ?? null, dig(old.spec, 'volumeMode') ?? null)) errs.push(invalidValue('volumeMode', vm ?? null, FIELD_IMMUTABLE));
  const oldNA = dig(old.spec, 'nodeAffinity');
  if (!unset(oldNA) && !jsonEqual(dig(pv.spec, 'nodeAffinity'), oldNA))
    errs.push(invalidValue('nodeAffinity', dig(pv.spec, 'nodeAffinity') ?? null, `${FIELD_IMMUTABLE}, except for updating from beta label to GA`));
  return errs;
}

/** `helper.GetAccessModesAsString`: RWO, ROX, RWX, RWOP in that order, without duplicates. */
export function accessModesString(modes: unknown): string {
  const m = Array.isArray(modes) ? modes : [];
  return (
    [
      ['ReadWriteOnce', 'RWO'],
      ['ReadOnlyMany', 'ROX'],
      ['ReadWriteMany', 'RWX'],
      ['ReadWriteOncePod', 'RWOP'],
    ] as const
  )
    .filter(([mode]) => m.includes(mode))
    .map(([, short]) => short)
    .join(',');
}

const defaultPVSource = (s: Obj) => {
  const at = (k: string, fn: (o: Obj) => void) => isObj(s[k]) && fn(s[k] as Obj);
  at('hostPath', (h) => (h.type ??= ''));
  at('rbd', (r) => {
    if (!r.pool) r.pool = 'rbd';
    if (!r.user) r.user = 'admin';
    if (!r.keyring) r.keyring = '/etc/ceph/keyring';
  });
  at('iscsi', (i) => {
    if (!i.iscsiInterface) i.iscsiInterface = 'default';
  });
  at('azureDisk', (a) => {
    a.cachingMode ??= 'ReadWrite';
    a.fsType ??= 'ext4';
    a.readOnly ??= false;
    a.kind ??= 'Shared';
  });
  at('scaleIO', (sc) => {
    if (!sc.storageMode) sc.storageMode = 'ThinProvisioned';
    if (!sc.fsType) sc.fsType = 'xfs';
  });
};

function defaultPV(pv: PersistentVolume): void {
  const status: Obj = isObj(pv.status) ? (pv.status as Obj) : {};
  if (!status.phase) status.phase = 'Pending';
  Object.assign(pv, { status });
  if (!isObj(pv.spec)) pv.spec = {};
  const spec = pv.spec as Obj;
  if (!spec.persistentVolumeReclaimPolicy) spec.persistentVolumeReclaimPolicy = 'Retain';
  spec.volumeMode ??= 'Filesystem';
  defaultPVSource(spec);
  canonicalizeResourceList(spec.capacity);
}

function defaultPVC(pvc: PersistentVolumeClaim): void {
  const status: Obj = isObj(pvc.status) ? (pvc.status as Obj) : {};
  if (!status.phase) status.phase = 'Pending';
  Object.assign(pvc, { status });
  if (!isObj(pvc.spec)) pvc.spec = {};
  (pvc.spec as Obj).volumeMode ??= 'Filesystem';
  canonicalizeRequirements(pvc.spec);
  canonicalizeResourceList(status.capacity);
  canonicalizeResourceList(status.allocatedResources);
}

const columns = {
  name: { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  age: { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
} as const;

export const persistentVolumeKind: KindInfo<PersistentVolume> = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  resource: 'persistentvolumes',
  singular: 'persistentvolume',
  namespaced: false,
  shortNames: ['pv'],
  returnDeletedObject: true,
  subresources: { status: true },
  strategy: {
    defaults: defaultPV,
    prepareForCreate(pv) {
      Object.assign(pv, { status: { phase: 'Pending', lastPhaseTransitionTime: nowRFC3339() } });
    },
    prepareForStatusUpdate(pv, old) {
      defaultPV(pv);
      if (!isObj(pv.status)) return;
      const status = pv.status as Obj;
      const oldPhase = digStr(old.status, 'phase');
      const oldTime = dig(old.status, 'lastPhaseTransitionTime');
      if (oldPhase === status.phase && unset(status.lastPhaseTransitionTime)) {
        if (!unset(oldTime)) status.lastPhaseTransitionTime = oldTime;
      } else if (oldPhase !== status.phase && (unset(status.lastPhaseTransitionTime) || status.lastPhaseTransitionTime === oldTime)) {
        status.lastPhaseTransitionTime = nowRFC3339();
      }
    },
    validate: validatePV,
    validateUpdate: validatePVUpdate,
    selectableFields: (pv) => ({ name: pv.metadata?.name ?? '' }),
    table: {
      columns: [
        columns.name,
        { name: 'Capacity', type: 'string', description: 'capacity is the description of the persistent volume\'s resources and capacity.', priority: 0 },
        { name: 'Access Modes', type: 'string', description: 'accessModes contains all ways the volume can be mounted.', priority: 0 },
        { name: 'Reclaim Policy', type: 'string', description: 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.', priority: 0 },
        { name: 'Status', type: 'string', description: 'phase indicates if a volume is available, bound to a claim, or released by a claim.', priority: 0 },
        { name: 'Claim', type: 'string', description: 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.', priority: 0 },
        { name: 'StorageClass', type: 'string', description: 'StorageClass of the pv', priority: 0 },
        { name: 'VolumeAttributesClass', type: 'string', description: 'VolumeAttributesClass of the pv', priority: 0 },
        { name: 'Reason', type: 'string', description: 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.', priority: 0 },
        columns.age,
        { name: 'VolumeMode', type: 'string', description: 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', priority: 1 },
      ],
      row(pv, now) {
        const claim = dig(pv.spec, 'claimRef');
        const storage = dig(pv.spec, 'capacity', 'storage');
        const vac = dig(pv.spec, 'volumeAttributesClassName');
        return [
          pv.metadata?.name ?? '',
          storage === undefined ? '0' : quantityText(storage),
          accessModesString(dig(pv.spec, 'accessModes')),
          digStr(pv.spec, 'persistentVolumeReclaimPolicy'),
          pv.metadata?.deletionTimestamp ? 'Terminating' : digStr(pv.status, 'phase'),
          isObj(claim) ? `${digStr(claim, 'namespace')}/${digStr(claim, 'name')}` : '',
          pv.metadata?.annotations?.[STORAGE_CLASS_ANNOTATION] ?? digStr(pv.spec, 'storageClassName'),
          typeof vac === 'string' ? vac : '<unset>',
          digStr(pv.status, 'reason'),
          formatAge(pv.metadata?.creationTimestamp, now),
          digStr(pv.spec, 'volumeMode') || '<unset>',
        ];
      },
    },
  },
};

// ---------------------------------------------------------------------------------------------

function validateDataSource(v: unknown, path: string, withNamespace: boolean, errs: FieldError[]): void {
  const d = obj(v, path, errs) ?? {};
  const name = str(d.name, `${path}.name`, errs);
  const kind = str(d.kind, `${path}.kind`, errs);
  if (!name) errs.push(required(`${path}.name`));
  if (!kind) errs.push(required(`${path}.kind`));
  const group = str(d.apiGroup, `${path}.apiGroup`, errs);
  if (!group && kind !== 'PersistentVolumeClaim') errs.push(invalidValue(path, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"));
  if (group) for (const m of dns1123SubdomainErrors(group)) errs.push(invalidValue(`${path}.apiGroup`, group, m));
  const ns = withNamespace ? str(d.namespace, `${path}.namespace`, errs) : '';
  if (ns) for (const m of dns1123LabelErrors(ns)) errs.push(invalidValue(`${path}.namespace`, ns, m));
}

/** `ValidatePersistentVolumeClaimSpec` at `path` (`spec`, or a claim template's spec). */
export function validatePVCSpec(v: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const s = obj(v, path, errs) ?? {};
  validateAccessModes(s.accessModes, `${path}.accessModes`, 'at least 1 access mode is required', errs);
  if (!unset(s.selector)) errs.push(...validateLabelSelector(s.selector as never, `${path}.selector`));
  const requests = resourceList(dig(s, 'resources', 'requests'), `${path}.resources.requests`, errs);
  const sp = `${path}.resources[storage]`;
  if (!('storage' in requests)) errs.push(required(sp));
  else {
    const q = quantityValue(requests.storage);
    if (!q) errs.push(...quantityErrors('storage', requests.storage, sp));
    else if (quantitySign(q) <= 0) errs.push(invalidValue(sp, quantityText(requests.storage), 'must be greater than zero'));
  }
  const sc = str(s.storageClassName, `${path}.storageClassName`, errs);
  if (sc) for (const m of dns1123SubdomainErrors(sc)) errs.push(invalidValue(`${path}.storageClassName`, sc, m));
  if (!unset(s.volumeMode) && !VOLUME_MODES.includes(String(s.volumeMode))) errs.push(notSupported(`${path}.volumeMode`, s.volumeMode, VOLUME_MODES));
  if (!unset(s.dataSource)) validateDataSource(s.dataSource, `${path}.dataSource`, false, errs);
  if (!unset(s.dataSourceRef)) validateDataSource(s.dataSourceRef, `${path}.dataSourceRef`, true, errs);
  const refNs = digStr(s.dataSourceRef, 'namespace');
  if (refNs) {
    if (!unset(s.dataSource)) errs.push(invalidValue(path, `${path}.dataSource`, 'may not be specified when dataSourceRef.namespace is specified'));
  } else if (isObj(s.dataSource) && isObj(s.dataSourceRef)) {
    const a = s.dataSource;
    const b = s.dataSourceRef;
    if ((a.apiGroup ?? null) !== (b.apiGroup ?? null) || a.kind !== b.kind || a.name !== b.name)
      errs.push(invalidValue(path, `${path}.dataSource`, 'must match dataSourceRef'));
  }
  return errs;
}

/** dataSource and dataSourceRef carry the same reference when only one was given (upstream NormalizeDataSources). */
function normalizeDataSources(s: Obj): void {
  const copy = (from: Obj): Obj => {
    const out: Obj = { kind: from.kind, name: from.name };
    if (!unset(from.apiGroup)) out.apiGroup = from.apiGroup;
    return out;
  };
  if (isObj(s.dataSource) && unset(s.dataSourceRef)) s.dataSourceRef = copy(s.dataSource);
  else if (isObj(s.dataSourceRef) && unset(s.dataSource) && !s.dataSourceRef.namespace) s.dataSource = copy(s.dataSourceRef);
}

/** A copy whose resource quantities compare semantically (`1Gi` equals `1024Mi`), like apiequality.Semantic. */
function canonicalQuantities(spec: Obj): Obj {
  const out = clone(spec);
  for (const k of ['requests', 'limits']) {
    const rl = dig(out, 'resources', k);
    if (!isObj(rl)) continue;
    for (const [name, q] of Object.entries(rl)) {
      const v = quantityValue(q);
      if (v) rl[name] = canonicalQuantity(v);
    }
  }
  return out;
}

function validatePVCUpdate(pvc: PersistentVolumeClaim, old: PersistentVolumeClaim): FieldError[] {
  const errs: FieldError[] = [];
  const next = clone(isObj(pvc.spec) ? (pvc.spec as Obj) : {});
  const prev = clone(isObj(old.spec) ? (old.spec as Obj) : {});
  if (!prev.volumeName) {
    if (next.volumeName === undefined) delete prev.volumeName;
    else prev.volumeName = next.volumeName;
  }
  const oldAnno = old.metadata?.annotations?.[STORAGE_CLASS_ANNOTATION];
  const newAnno = pvc.metadata?.annotations?.[STORAGE_CLASS_ANNOTATION];
  if (oldAnno !== undefined && unset(prev.storageClassName) && next.storageClassName === oldAnno && (newAnno === undefined || newAnno === oldAnno)) {
    delete next.storageClassName;
  } else {
    if ((newAnno ?? '') !== (oldAnno ?? ''))
      errs.push(invalidValue(`metadata.annotations.${STORAGE_CLASS_ANNOTATION}`, newAnno ?? '', FIELD_IMMUTABLE));
    if (!unset(next.storageClassName) && unset(prev.storageClassName) && (oldAnno === undefined || next.storageClassName === oldAnno))
      delete next.storageClassName;
  }
  const bound = digStr(pvc.status, 'phase') === 'Bound';
  const oldStorage = dig(prev, 'resources', 'requests', 'storage');
  const newStorage = dig(next, 'resources', 'requests', 'storage');
  if (bound && isObj(dig(next, 'resources', 'requests'))) {
    const reqs = dig(next, 'resources', 'requests') as Obj;
    if (oldStorage === undefined) delete reqs.storage;
    else reqs.storage = oldStorage;
  }
  const specsEqual = jsonEqual(canonicalQuantities(next), canonicalQuantities(prev));
  if (!specsEqual)
    errs.push(forbidden('spec', 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
  const c = compareQuantities(newStorage ?? '0', oldStorage ?? '0');
  if (c !== undefined && c < 0) errs.push(forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
  const vm = dig(pvc.spec, 'volumeMode');
  if (!jsonEqual(vm ?? null, dig(old.spec, 'volumeMode') ?? null)) errs.push(invalidValue('volumeMode', vm ?? null, FIELD_IMMUTABLE));
  return errs;
}

export const persistentVolumeClaimKind: KindInfo<PersistentVolumeClaim> = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  resource: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  namespaced: true,
  shortNames: ['pvc'],
  returnDeletedObject: true,
  subresources: { status: true },
  strategy: {
    defaults: defaultPVC,
    prepareForStatusUpdate: defaultPVC,
    prepareForCreate(pvc) {
      Object.assign(pvc, { status: { phase: 'Pending' } });
      if (isObj(pvc.spec)) normalizeDataSources(pvc.spec as Obj);
    },
    validate: (pvc) => validatePVCSpec(pvc.spec, 'spec'),
    validateUpdate: validatePVCUpdate,
    selectableFields: (pvc) => ({ name: pvc.metadata?.name ?? '' }),
    table: {
      columns: [
        columns.name,
        { name: 'Status', type: 'string', description: 'phase represents the current phase of PersistentVolumeClaim.', priority: 0 },
        { name: 'Volume', type: 'string', description: 'volumeName is the binding reference to the PersistentVolume backing this claim.', priority: 0 },
        { name: 'Capacity', type: 'string', description: 'capacity represents the actual resources of the underlying volume.', priority: 0 },
        { name: 'Access Modes', type: 'string', description: 'accessModes contains the actual access modes the volume backing the PVC has.', priority: 0 },
        { name: 'StorageClass', type: 'string', description: 'StorageClass of the pvc', priority: 0 },
        { name: 'VolumeAttributesClass', type: 'string', description: 'VolumeAttributesClass of the pvc', priority: 0 },
        columns.age,
        { name: 'VolumeMode', type: 'string', description: 'volumeMode defines what type of volume is required by the claim.', priority: 1 },
      ],
      row(pvc, now) {
        const volumeName = digStr(pvc.spec, 'volumeName');
        const storage = dig(pvc.status, 'capacity', 'storage');
        const vac = dig(pvc.spec, 'volumeAttributesClassName');
        const sc = dig(pvc.spec, 'storageClassName');
        return [
          pvc.metadata?.name ?? '',
          pvc.metadata?.deletionTimestamp ? 'Terminating' : digStr(pvc.status, 'phase'),
          volumeName,
          volumeName ? (storage === undefined ? '0' : quantityText(storage)) : '',
          volumeName ? accessModesString(digList(pvc.status, 'accessModes')) : '',
          pvc.metadata?.annotations?.[STORAGE_CLASS_ANNOTATION] ?? (typeof sc === 'string' ? sc : ''),
          typeof vac === 'string' ? vac : '<unset>',
          formatAge(pvc.metadata?.creationTimestamp, now),
          digStr(pvc.spec, 'volumeMode') || '<unset>',
        ];
      },
    },
  },
};
