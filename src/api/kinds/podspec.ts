// Pod spec defaulting and validation shared by Pod and every kind with a pod template
// (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController, PodTemplate).
// Defaults follow upstream core/v1 SetDefaults_PodSpec + the generated nested defaulters; validation
// follows ValidatePodSpec / ValidatePodTemplateSpec with upstream field paths and wording.
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { PodSpec, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import { type FieldError, required, invalidValue, notSupported, duplicate, forbidden, typeInvalid } from '../errors.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, qualifiedNameErrors, labelValueErrors, validateLabels, validateAnnotations } from '../validation.js';
import { validateLabelSelector } from '../labels.js';
import { dataKeyErrors } from './configmap.js';
import {
  type Obj,
  isObj,
  notFound,
  str,
  int,
  bool,
  list,
  obj,
  inclusiveRangeError,
  IS_NEGATIVE_ERROR,
  portNumErrors,
  portNameErrors,
  validatePortNumOrName,
  envVarNameErrors,
  ipErrors,
  labelNameErrors,
  userIDErrors,
} from './checks.js';
import { type Quantity, addQuantity, cmpQuantity, quantitySign } from '../quantity.js';
import {
  quantityValue,
  compareQuantities,
  quantityText,
  containerResourceNameErrors,
  quantityErrors,
  resourceList,
  isOvercommitAllowed,
  canonicalQuantityValue,
  canonicalizeResourceList,
  canonicalizeRequirements,
} from './resources.js';

// ---------------------------------------------------------------------------------------------
// Defaults

/** Every VolumeSource member: a volume with none of them set defaults to emptyDir. */
export const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi',
  'glusterfs', 'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc',
  'azureFile', 'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected',
  'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image',
] as const;

const unset = (v: unknown) => v === undefined || v === null;
/** Go's `x == ""` / `x == 0` checks: absent, empty or zero counts as unset. */
const zero = (v: unknown) => v === undefined || v === null || v === '' || v === 0;

function setIf(o: Obj, key: string, value: unknown, when: (v: unknown) => boolean = unset): void {
  if (when(o[key])) o[key] = value;
}

const each = (v: unknown, fn: (o: Obj) => void) => {
  if (Array.isArray(v)) for (const x of v) if (isObj(x)) fn(x);
};
const at = (o: Obj, key: string, fn: (o: Obj) => void) => {
  const v = o[key];
  if (isObj(v)) fn(v);
};

const defaultFieldRef = (o: Obj) => at(o, 'fieldRef', (f) => setIf(f, 'apiVersion', 'v1', zero));

function defaultVolume(v: Obj): void {
  if (!VOLUME_SOURCES.some((k) => !unset(v[k]))) v.emptyDir = {};
  at(v, 'hostPath', (h) => setIf(h, 'type', ''));
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected']) at(v, k, (s) => setIf(s, 'defaultMode', 420));
  at(v, 'downwardAPI', (d) => each(d.items, defaultFieldRef));
  at(v, 'projected', (p) =>
    each(p.sources, (src) => {
      at(src, 'downwardAPI', (d) => each(d.items, defaultFieldRef));
      at(src, 'serviceAccountToken', (t) => setIf(t, 'expirationSeconds', 3600));
    }),
  );
  at(v, 'iscsi', (i) => setIf(i, 'iscsiInterface', 'default', zero));
  at(v, 'rbd', (r) => {
    setIf(r, 'pool', 'rbd', zero);
    setIf(r, 'user', 'admin', zero);
    setIf(r, 'keyring', '/etc/ceph/keyring', zero);
  });
  at(v, 'azureDisk', (a) => {
    setIf(a, 'cachingMode', 'ReadWrite');
    setIf(a, 'fsType', 'ext4');
    setIf(a, 'readOnly', false);
    setIf(a, 'kind', 'Shared');
  });
  at(v, 'scaleIO', (s) => {
    setIf(s, 'storageMode', 'ThinProvisioned', zero);
    setIf(s, 'fsType', 'xfs', zero);
  });
  at(v, 'ephemeral', (e) =>
    at(e, 'volumeClaimTemplate', (t) =>
      at(t, 'spec', (s) => {
        setIf(s, 'volumeMode', 'Filesystem');
        canonicalizeRequirements(s);
      }),
    ),
  );
  at(v, 'emptyDir', (e) => {
    if (!unset(e.sizeLimit)) e.sizeLimit = canonicalQuantityValue(e.sizeLimit);
  });
}

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const IMAGE_REFERENCE = new RegExp(
  `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}))?$`,
);

/** The tag an image reference pulls: 'latest' when it names neither tag nor digest, '' when unparsable. */
export function imageTag(image: string): string {
  const m = IMAGE_REFERENCE.exec(image);
  if (!m) return '';
  const [, tag, digest] = m;
  if (tag) return tag;
  return digest ? '' : 'latest';
}

function defaultProbe(p: Obj): void {
  setIf(p, 'timeoutSeconds', 1, zero);
  setIf(p, 'periodSeconds', 10, zero);
  setIf(p, 'successThreshold', 1, zero);
  setIf(p, 'failureThreshold', 3, zero);
  at(p, 'httpGet', defaultHTTPGet);
  at(p, 'grpc', (g) => setIf(g, 'service', ''));
}

function defaultHTTPGet(h: Obj): void {
  setIf(h, 'path', '/', zero);
  setIf(h, 'scheme', 'HTTP', zero);
}

/** SetDefaults_Container and its nested defaulters (ports, env fieldRefs, probes, lifecycle hooks). */
export function defaultContainer(c: Obj): void {
  if (zero(c.imagePullPolicy)) c.imagePullPolicy = imageTag(typeof c.image === 'string' ? c.image : '') === 'latest' ? 'Always' : 'IfNotPresent';
  setIf(c, 'terminationMessagePath', '/dev/termination-log', zero);
  setIf(c, 'terminationMessagePolicy', 'File', zero);
  each(c.ports, (p) => setIf(p, 'protocol', 'TCP', zero));
  each(c.env, (e) => at(e, 'valueFrom', defaultFieldRef));
  for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe']) at(c, k, defaultProbe);
  at(c, 'lifecycle', (l) => {
    for (const k of ['postStart', 'preStop']) at(l, k, (h) => at(h, 'httpGet', defaultHTTPGet));
  });
  // resources is a struct upstream, so it is always written (as `{}` when empty).
  setIf(c, 'resources', {});
  canonicalizeRequirements(c);
}

/** Upstream SetDefaults_PodSpec plus the defaults of everything nested in a pod spec. Idempotent. */
export function defaultPodSpec(spec: PodSpec): void {
  const s = spec as unknown as Obj;
  if (!isObj(s)) return;
  setIf(s, 'dnsPolicy', 'ClusterFirst', zero);
  setIf(s, 'restartPolicy', 'Always', zero);
  setIf(s, 'securityContext', {});
  setIf(s, 'terminationGracePeriodSeconds', 30);
  setIf(s, 'schedulerName', 'default-scheduler', zero);
  // serviceAccount is the deprecated alias of serviceAccountName; upstream's conversion keeps them equal.
  if (zero(s.serviceAccountName) && typeof s.serviceAccount === 'string' && s.serviceAccount) s.serviceAccountName = s.serviceAccount;
  if (typeof s.serviceAccountName === 'string' && s.serviceAccountName) s.serviceAccount = s.serviceAccountName;
  each(s.volumes, defaultVolume);
  for (const k of ['initContainers', 'containers', 'ephemeralContainers']) each(s[k], defaultContainer);
  canonicalizeResourceList(s.overhead);
  canonicalizeRequirements(s);
}

/**
 * Defaults of a pod template embedded in a workload (the spec only; Pod-only defaults are not applied).
 * The template's metadata always carries `creationTimestamp: null`, as upstream serializes it.
 */
export function defaultPodTemplateSpec(t: PodTemplateSpec): void {
  if (!isObj(t)) return;
  const tt = t as unknown as Obj;
  if (unset(tt.metadata)) tt.metadata = {};
  if (isObj(tt.metadata) && !('creationTimestamp' in tt.metadata)) tt.metadata.creationTimestamp = null;
  if (isObj(tt.spec)) defaultPodSpec(tt.spec as unknown as PodSpec);
}

// ---------------------------------------------------------------------------------------------
// Validation

export interface PodSpecValidationOptions {
  /** The spec belongs to a Pod (not a template): hostNetwork ports must match exactly. */
  isPod?: boolean;
  /** The pod's metadata, for generic ephemeral volume claim names. */
  podMeta?: ObjectMeta;
}

type Errs = FieldError[];
type Volumes = Map<string, Obj>;

const FILE_MODE_ERROR = 'must be a number between 0 and 0777 (octal), both inclusive';
const PORT_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const HOST_PATH_TYPES = ['', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

const label1123 = (v: string, path: string): Errs => dns1123LabelErrors(v).map((m) => invalidValue(path, v, m));
const subdomain1123 = (v: string, path: string): Errs => dns1123SubdomainErrors(v).map((m) => invalidValue(path, v, m));
const nameWithPrefix = (v: string, path: string, prefix: boolean): Errs => {
  const n = prefix && v.endsWith('-') ? v.slice(0, -1) + 'a' : v;
  return dns1123SubdomainErrors(n).map((m) => invalidValue(path, v, m));
};
const nonNegative = (v: number | undefined, path: string): Errs => (v !== undefined && v < 0 ? [invalidValue(path, v, IS_NEGATIVE_ERROR)] : []);

function fileMode(v: unknown, path: string, errs: Errs): void {
  const m = int(v, path, errs);
  if (m !== undefined && (m < 0 || m > 0o777)) errs.push(invalidValue(path, m, FILE_MODE_ERROR));
}

function pathNoBacksteps(p: string, path: string): Errs {
  return p.replace(/\\/g, '/').split('/').includes('..') ? [invalidValue(path, p, "must not contain '..'")] : [];
}

function localDescendingPath(p: string, path: string): Errs {
  const errs: Errs = [];
  if (p.startsWith('/')) errs.push(invalidValue(path, p, 'must be a relative path'));
  errs.push(...pathNoBacksteps(p, path));
  return errs;
}

function localNonReservedPath(p: string, path: string): Errs {
  const errs = localDescendingPath(p, path);
  if (p.startsWith('..') && !p.startsWith('../')) errs.push(invalidValue(path, p, "must not start with '..'"));
  return errs;
}

function keyToPath(kp: unknown, path: string, errs: Errs): string {
  const o = obj(kp, path, errs) ?? {};
  const key = str(o.key, `${path}.key`, errs);
  const p = str(o.path, `${path}.path`, errs);
  if (!key) errs.push(required(`${path}.key`));
  if (!p) errs.push(required(`${path}.path`));
  errs.push(...localNonReservedPath(p, `${path}.path`));
  fileMode(o.mode, `${path}.mode`, errs);
  return p;
}

const DOWNWARD_VOLUME_FIELDS = ['metadata.annotations', 'metadata.labels', 'metadata.name', 'metadata.namespace', 'metadata.uid'];
const DOWNWARD_ENV_FIELDS = [
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName',
  'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs',
];
const RESOURCE_FIELD_PATHS = ['limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory'];

function objectFieldSelector(v: unknown, allowed: string[], path: string, errs: Errs): void {
  const o = obj(v, path, errs) ?? {};
  const apiVersion = str(o.apiVersion, `${path}.apiVersion`, errs);
  const fieldPath = str(o.fieldPath, `${path}.fieldPath`, errs);
  if (!apiVersion) return void errs.push(required(`${path}.apiVersion`));
  if (!fieldPath) return void errs.push(required(`${path}.fieldPath`));
  if (apiVersion !== 'v1') {
    errs.push(invalidValue(`${path}.fieldPath`, fieldPath, `error converting fieldPath: unsupported version: ${apiVersion}`));
    return;
  }
  const sub = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(fieldPath);
  if (sub) {
    const key = sub[1] === 'metadata.annotations' ? sub[2].toLowerCase() : sub[2];
    for (const m of qualifiedNameErrors(key)) errs.push(invalidValue(path, key, m));
  } else if (!allowed.includes(fieldPath)) {
    errs.push(notSupported(`${path}.fieldPath`, fieldPath, allowed));
  }
}

function resourceFieldSelector(v: unknown, path: string, volume: boolean, errs: Errs): void {
  const o = obj(v, path, errs) ?? {};
  const containerName = str(o.containerName, `${path}.containerName`, errs);
  const resource = str(o.resource, `${path}.resource`, errs);
  if (volume && !containerName) errs.push(required(`${path}.containerName`));
  else if (!resource) errs.push(required(`${path}.resource`));
  else if (!RESOURCE_FIELD_PATHS.includes(resource) && !resource.startsWith('requests.hugepages-') && !resource.startsWith('limits.hugepages-'))
    errs.push(notSupported(`${path}.resource`, resource, RESOURCE_FIELD_PATHS));
}

function downwardAPIFile(f: unknown, path: string, errs: Errs): string {
  const o = obj(f, path, errs) ?? {};
  const p = str(o.path, `${path}.path`, errs);
  if (!p) errs.push(required(`${path}.path`));
  errs.push(...localNonReservedPath(p, `${path}.path`));
  if (!unset(o.fieldRef)) {
    objectFieldSelector(o.fieldRef, DOWNWARD_VOLUME_FIELDS, `${path}.fieldRef`, errs);
    if (!unset(o.resourceFieldRef)) errs.push(invalidValue(path, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
  } else if (!unset(o.resourceFieldRef)) {
    resourceFieldSelector(o.resourceFieldRef, `${path}.resourceFieldRef`, true, errs);
  } else {
    errs.push(required(path, 'one of fieldRef and resourceFieldRef is required'));
  }
  fileMode(o.mode, `${path}.mode`, errs);
  return p;
}

function projectedSources(p: Obj, path: string, errs: Errs): void {
  const seen = new Set<string>();
  const addPath = (cur: string, value: string) => {
    if (!cur) return;
    if (seen.has(cur)) errs.push(invalidValue(path, value, 'conflicting duplicate paths'));
    seen.add(cur);
  };
  list(p.sources, `${path}.sources`, errs).forEach((srcv, i) => {
    const sp = `${path}.sources[${i}]`;
    const src = obj(srcv, sp, errs) ?? {};
    let n = 0;
    for (const kind of ['secret', 'configMap'] as const) {
      const s = obj(src[kind], `${sp}.${kind}`, errs);
      if (!s) continue;
      n++;
      const name = str(s.name, `${sp}.${kind}.name`, errs);
      if (!name) errs.push(required(`${sp}.${kind}.name`));
      list(s.items, `${sp}.${kind}.items`, errs).forEach((kp, j) => addPath(keyToPath(kp, `${sp}.${kind}.items[${j}]`, errs), name));
    }
    const d = obj(src.downwardAPI, `${sp}.downwardAPI`, errs);
    if (d) {
      n++;
      list(d.items, `${sp}.downwardAPI.items`, errs).forEach((f) => {
        const fp = downwardAPIFile(f, `${sp}.downwardAPI`, errs);
        addPath(fp, fp);
      });
    }
    const t = obj(src.serviceAccountToken, `${sp}.serviceAccountToken`, errs);
    if (t) {
      n++;
      const tp = `${sp}.serviceAccountToken`;
      const exp = int(t.expirationSeconds, `${tp}.expirationSeconds`, errs) ?? 0;
      if (exp < 600) errs.push(invalidValue(`${tp}.expirationSeconds`, exp, 'may not specify a duration less than 10 minutes'));
      if (exp > 2 ** 32) errs.push(invalidValue(`${tp}.expirationSeconds`, exp, 'may not specify a duration larger than 2^32 seconds'));
      const tpath = str(t.path, `${tp}.path`, errs);
      if (!tpath) errs.push(required(`${path}.path`));
      else errs.push(...localNonReservedPath(tpath, `${path}.path`));
    }
    const ctb = obj(src.clusterTrustBundle, `${sp}.clusterTrustBundlePEM`, errs);
    if (ctb) {
      n++;
      const cp = `${sp}.clusterTrustBundlePEM`;
      if (unset(ctb.name) && unset(ctb.signerName)) errs.push(required(cp, 'either name or signerName must be specified'));
      const cpath = str(ctb.path, `${cp}.path`, errs);
      if (!cpath) errs.push(required(`${cp}.path`));
      errs.push(...localNonReservedPath(cpath, `${cp}.path`));
      addPath(cpath, cpath);
    }
    if (n > 1) errs.push(forbidden(sp, 'may not specify more than 1 volume type'));
  });
}

/** One volume source's own checks; `sourcePath` is `<volume path>.<source field>`. */
function volumeSourceFieldErrors(kind: string, s: Obj, sp: string, errs: Errs, volName: string, podMeta?: ObjectMeta): void {
  const need = (key: string, at = key) => {
    if (zero(s[key]) || (Array.isArray(s[key]) && (s[key] as unknown[]).length === 0)) errs.push(required(`${sp}.${at}`));
  };
  switch (kind) {
    case 'emptyDir': {
      const c = quantityValue(s.sizeLimit);
      if (!unset(s.sizeLimit) && (!c || quantitySign(c) < 0)) errs.push(forbidden(`${sp}.sizeLimit`, 'SizeLimit field must be a valid resource quantity'));
      const medium = str(s.medium, `${sp}.medium`, errs);
      if (medium && medium !== 'Memory' && !medium.startsWith('HugePages'))
        errs.push(notSupported(`${sp}.medium`, medium, ['', 'Memory', 'HugePages']));
      break;
    }
    case 'hostPath': {
      const p = str(s.path, `${sp}.path`, errs);
      if (!p) return void errs.push(required(`${sp}.path`));
      errs.push(...pathNoBacksteps(p, `${sp}.path`));
      if (s.type !== undefined && s.type !== null) {
        const t = str(s.type, `${sp}.type`, errs);
        if (!HOST_PATH_TYPES.includes(t)) errs.push(notSupported(`${sp}.type`, t, HOST_PATH_TYPES));
      }
      break;
    }
    case 'secret':
    case 'configMap': {
      const nameKey = kind === 'secret' ? 'secretName' : 'name';
      if (!str(s[nameKey], `${sp}.${nameKey}`, errs)) errs.push(required(`${sp}.${nameKey}`));
      fileMode(s.defaultMode, `${sp}.defaultMode`, errs);
      list(s.items, `${sp}.items`, errs).forEach((kp, i) => keyToPath(kp, `${sp}.items[${i}]`, errs));
      break;
    }
    case 'persistentVolumeClaim':
      if (!str(s.claimName, `${sp}.claimName`, errs)) errs.push(required(`${sp}.claimName`));
      break;
    case 'nfs': {
      need('server');
      const p = str(s.path, `${sp}.path`, errs);
      if (!p) errs.push(required(`${sp}.path`));
      if (!p.startsWith('/')) errs.push(invalidValue(`${sp}.path`, p, 'must be an absolute path'));
      break;
    }
    case 'gitRepo':
      need('repository');
      errs.push(...localDescendingPath(str(s.directory, `${sp}.directory`, errs), `${sp}.directory`));
      break;
    case 'downwardAPI':
      fileMode(s.defaultMode, `${sp}.defaultMode`, errs);
      list(s.items, `${sp}.items`, errs).forEach((f) => downwardAPIFile(f, sp, errs));
      break;
    case 'projected':
      fileMode(s.defaultMode, `${sp}.defaultMode`, errs);
      projectedSources(s, sp, errs);
      break;
    case 'csi': {
      const driver = str(s.driver, `${sp}.driver`, errs);
      if (!driver) errs.push(required(`${sp}.driver`));
      if (driver.length > 63) errs.push({ field: `${sp}.driver`, type: 'FieldValueTooLong', value: driver, detail: 'must have at most 63 bytes' });
      for (const m of dns1123SubdomainErrors(driver.toLowerCase())) if (driver) errs.push(invalidValue(`${sp}.driver`, driver, m));
      break;
    }
    case 'ephemeral': {
      const t = obj(s.volumeClaimTemplate, `${sp}.volumeClaimTemplate`, errs);
      if (!t) return void errs.push(required(`${sp}.volumeClaimTemplate`));
      const tp = `${sp}.volumeClaimTemplate`;
      const meta = obj(t.metadata, `${tp}.metadata`, errs) ?? {};
      errs.push(...validateLabels(meta.labels, `${tp}.metadata.labels`), ...validateAnnotations(meta.annotations, `${tp}.metadata.annotations`));
      for (const k of Object.keys(meta)) if (k !== 'labels' && k !== 'annotations') errs.push(forbidden(`${tp}.metadata.${k}`, 'cannot be set'));
      const spec = obj(t.spec, `${tp}.spec`, errs) ?? {};
      if (list(spec.accessModes, `${tp}.spec.accessModes`, errs).length === 0)
        errs.push(required(`${tp}.spec.accessModes`, 'at least 1 access mode is required'));
      const requests = resourceList(dig2(spec, 'resources', 'requests'), `${tp}.spec.resources.requests`, errs);
      if (unset(requests.storage)) errs.push(required(`${tp}.spec.resources[storage]`));
      if (podMeta?.name && volName)
        for (const m of dns1123SubdomainErrors(`${podMeta.name}-${volName}`))
          errs.push(invalidValue(`${sp.slice(0, sp.lastIndexOf('.'))}.name`, volName, `PVC name "${podMeta.name}-${volName}": ${m}`));
      break;
    }
    case 'iscsi':
      need('targetPortal');
      need('iqn');
      break;
    case 'rbd':
      need('monitors');
      need('image');
      break;
    case 'cephfs':
      need('monitors');
      break;
    case 'glusterfs':
      need('endpoints');
      need('path');
      break;
    case 'gcePersistentDisk':
      need('pdName');
      break;
    case 'awsElasticBlockStore':
    case 'cinder':
    case 'portworxVolume':
      need('volumeID');
      break;
    case 'flexVolume':
      need('driver');
      break;
    case 'azureFile':
      need('secretName');
      need('shareName');
      break;
    case 'azureDisk':
      need('diskName');
      need('diskURI');
      break;
    case 'vsphereVolume':
      need('volumePath');
      break;
    case 'photonPersistentDisk':
      need('pdID');
      break;
    case 'quobyte':
      need('registry');
      need('volume');
      break;
    case 'scaleIO':
      need('gateway');
      need('system');
      need('volumeName');
      break;
    case 'storageos':
      need('volumeName');
      break;
    case 'image':
      need('reference');
      break;
  }
}

const dig2 = (o: Obj, a: string, b: string): unknown => (isObj(o[a]) ? (o[a] as Obj)[b] : undefined);

/** The upstream spelling of a source in "may not specify more than 1 volume type" paths. */
const SOURCE_PATH: Record<string, string> = { downwardAPI: 'downwarAPI' };

function validateVolumes(v: unknown, path: string, errs: Errs, podMeta?: ObjectMeta): Volumes {
  const vols: Volumes = new Map();
  const names = new Set<string>();
  const createdPVCs = new Set<string>();
  const items = list(v, path, errs);
  if (podMeta?.name) for (const x of items) if (isObj(x) && !unset(x.ephemeral) && typeof x.name === 'string') createdPVCs.add(`${podMeta.name}-${x.name}`);
  items.forEach((x, i) => {
    const vp = `${path}[${i}]`;
    const el: Errs = [];
    const vol = obj(x, vp, el) ?? {};
    const name = str(vol.name, `${vp}.name`, el);
    let n = 0;
    for (const kind of VOLUME_SOURCES) {
      if (unset(vol[kind])) continue;
      if (n > 0) {
        el.push(forbidden(`${vp}.${SOURCE_PATH[kind] ?? kind}`, 'may not specify more than 1 volume type'));
        continue;
      }
      n++;
      const src = obj(vol[kind], `${vp}.${kind}`, el);
      if (src) volumeSourceFieldErrors(kind, src, `${vp}.${kind}`, el, name, podMeta);
    }
    if (n === 0) el.push(required(vp, 'must specify a volume type'));
    if (!name) el.push(required(`${vp}.name`));
    else el.push(...label1123(name, `${vp}.name`));
    if (names.has(name)) el.push(duplicate(`${vp}.name`, name));
    if (el.length === 0) {
      names.add(name);
      vols.set(name, vol);
    } else errs.push(...el);
    const claim = dig2(vol, 'persistentVolumeClaim', 'claimName');
    if (typeof claim === 'string' && createdPVCs.has(claim))
      errs.push(invalidValue(`${vp}.persistentVolumeClaim.claimName`, claim, 'must not reference a PVC that gets created for an ephemeral volume'));
  });
  return vols;
}

function validatePorts(v: unknown, path: string, errs: Errs): void {
  const names = new Set<string>();
  list(v, path, errs).forEach((x, i) => {
    const pp = `${path}[${i}]`;
    const p = obj(x, pp, errs) ?? {};
    const name = str(p.name, `${pp}.name`, errs);
    if (name) {
      const msgs = portNameErrors(name);
      if (msgs.length) for (const m of msgs) errs.push(invalidValue(`${pp}.name`, name, m));
      else if (names.has(name)) errs.push(duplicate(`${pp}.name`, name));
      else names.add(name);
    }
    const cp = int(p.containerPort, `${pp}.containerPort`, errs);
    if (!cp) errs.push(required(`${pp}.containerPort`));
    else for (const m of portNumErrors(cp)) errs.push(invalidValue(`${pp}.containerPort`, cp, m));
    const hp = int(p.hostPort, `${pp}.hostPort`, errs);
    if (hp) for (const m of portNumErrors(hp)) errs.push(invalidValue(`${pp}.hostPort`, hp, m));
    const proto = str(p.protocol, `${pp}.protocol`, errs);
    if (!proto) errs.push(required(`${pp}.protocol`));
    else if (!PORT_PROTOCOLS.includes(proto)) errs.push(notSupported(`${pp}.protocol`, proto, PORT_PROTOCOLS));
  });
}

function keySelector(v: unknown, path: string, errs: Errs): void {
  const o = obj(v, path, errs) ?? {};
  const name = str(o.name, `${path}.name`, errs);
  for (const m of dns1123SubdomainErrors(name)) errs.push(invalidValue(`${path}.name`, name, m));
  const key = str(o.key, `${path}.key`, errs);
  if (!key) errs.push(required(`${path}.key`));
  else for (const m of dataKeyErrors(key)) errs.push(invalidValue(`${path}.key`, key, m));
}

function validateEnv(v: unknown, path: string, errs: Errs): void {
  list(v, path, errs).forEach((x, i) => {
    const ep = `${path}[${i}]`;
    const e = obj(x, ep, errs) ?? {};
    const name = str(e.name, `${ep}.name`, errs);
    if (!name) errs.push(required(`${ep}.name`));
    else for (const m of envVarNameErrors(name)) errs.push(invalidValue(`${ep}.name`, name, m));
    const value = str(e.value, `${ep}.value`, errs);
    const vf = obj(e.valueFrom, `${ep}.valueFrom`, errs);
    if (!vf) return;
    const fp = `${ep}.valueFrom`;
    let n = 0;
    if (!unset(vf.fieldRef)) {
      n++;
      objectFieldSelector(vf.fieldRef, DOWNWARD_ENV_FIELDS, `${fp}.fieldRef`, errs);
    }
    if (!unset(vf.resourceFieldRef)) {
      n++;
      resourceFieldSelector(vf.resourceFieldRef, `${fp}.resourceFieldRef`, false, errs);
    }
    if (!unset(vf.configMapKeyRef)) {
      n++;
      keySelector(vf.configMapKeyRef, `${fp}.configMapKeyRef`, errs);
    }
    if (!unset(vf.secretKeyRef)) {
      n++;
      keySelector(vf.secretKeyRef, `${fp}.secretKeyRef`, errs);
    }
    if (n === 0) errs.push(invalidValue(fp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
    else if (value) errs.push(invalidValue(fp, '', 'may not be specified when `value` is not empty'));
    else if (n > 1) errs.push(invalidValue(fp, '', 'may not have more than one field specified at a time'));
  });
}

function validateEnvFrom(v: unknown, path: string, errs: Errs): void {
  list(v, path, errs).forEach((x, i) => {
    const ep = `${path}[${i}]`;
    const e = obj(x, ep, errs) ?? {};
    const prefix = str(e.prefix, `${ep}.prefix`, errs);
    if (prefix) for (const m of envVarNameErrors(prefix)) errs.push(invalidValue(`${ep}.prefix`, prefix, m));
    let n = 0;
    for (const k of ['configMapRef', 'secretRef']) {
      const ref = obj(e[k], `${ep}.${k}`, errs);
      if (!ref) continue;
      n++;
      const name = str(ref.name, `${ep}.${k}.name`, errs);
      if (!name) errs.push(required(`${ep}.${k}.name`));
      else errs.push(...nameWithPrefix(name, `${ep}.${k}.name`, true));
    }
    if (n === 0) errs.push(invalidValue(path, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) errs.push(invalidValue(path, '', 'may not have more than one field specified at a time'));
  });
}

function validateVolumeMounts(c: Obj, path: string, vols: Volumes, errs: Errs): void {
  const devices = new Map<string, string>();
  for (const d of Array.isArray(c.volumeDevices) ? c.volumeDevices : []) if (isObj(d)) devices.set(String(d.name ?? ''), String(d.devicePath ?? ''));
  const mounts = new Map<string, string>();
  for (const m of Array.isArray(c.volumeMounts) ? c.volumeMounts : []) if (isObj(m)) mounts.set(String(m.name ?? ''), String(m.mountPath ?? ''));
  const privileged = isObj(c.securityContext) && c.securityContext.privileged === true;

  const mp = `${path}.volumeMounts`;
  const seen = new Set<string>();
  list(c.volumeMounts, mp, errs).forEach((x, i) => {
    const ip = `${mp}[${i}]`;
    const m = obj(x, ip, errs) ?? {};
    const name = str(m.name, `${ip}.name`, errs);
    const mountPath = str(m.mountPath, `${ip}.mountPath`, errs);
    if (!name) errs.push(required(`${ip}.name`));
    if (!vols.has(name)) errs.push(notFound(`${ip}.name`, name));
    if (!mountPath) errs.push(required(`${ip}.mountPath`));
    if (seen.has(mountPath)) errs.push(invalidValue(`${ip}.mountPath`, mountPath, 'must be unique'));
    seen.add(mountPath);
    if (devices.has(name)) errs.push(invalidValue(`${ip}.name`, name, 'must not already exist in volumeDevices'));
    if ([...devices.values()].includes(mountPath)) errs.push(invalidValue(`${ip}.mountPath`, mountPath, 'must not already exist as a path in volumeDevices'));
    const subPath = str(m.subPath, `${ip}.subPath`, errs);
    if (subPath) errs.push(...localDescendingPath(subPath, `${mp}.subPath`));
    const subPathExpr = str(m.subPathExpr, `${ip}.subPathExpr`, errs);
    if (subPathExpr) {
      if (subPath) errs.push(invalidValue(`${ip}.subPathExpr`, subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
      errs.push(...localDescendingPath(subPathExpr, `${mp}.subPathExpr`));
    }
    if (!unset(m.mountPropagation)) {
      const prop = str(m.mountPropagation, `${mp}.mountPropagation`, errs);
      const supported = ['Bidirectional', 'HostToContainer', 'None'];
      if (!supported.includes(prop)) errs.push(notSupported(`${mp}.mountPropagation`, prop, supported));
      if (prop === 'Bidirectional' && !privileged)
        errs.push(forbidden(`${mp}.mountPropagation`, 'Bidirectional mount propagation is available only to privileged containers'));
    }
    if (!unset(m.recursiveReadOnly)) {
      const rro = str(m.recursiveReadOnly, `${mp}.recursiveReadOnly`, errs);
      if (rro === 'Enabled' || rro === 'IfPossible') {
        if (m.readOnly !== true) errs.push(forbidden(`${mp}.recursiveReadOnly`, 'may only be specified when readOnly is true'));
        if (!unset(m.mountPropagation) && m.mountPropagation !== 'None')
          errs.push(forbidden(`${mp}.recursiveReadOnly`, 'may only be specified when mountPropagation is None or not specified'));
      } else if (rro !== 'Disabled') errs.push(notSupported(`${mp}.recursiveReadOnly`, rro, ['Disabled', 'Enabled', 'IfPossible']));
    }
  });

  const dp = `${path}.volumeDevices`;
  const devPaths = new Set<string>();
  const devNames = new Set<string>();
  list(c.volumeDevices, dp, errs).forEach((x, i) => {
    const ip = `${dp}[${i}]`;
    const d = obj(x, ip, errs) ?? {};
    const name = str(d.name, `${ip}.name`, errs);
    const devicePath = str(d.devicePath, `${ip}.devicePath`, errs);
    const vol = vols.get(name);
    if (!name) errs.push(required(`${ip}.name`));
    if (devNames.has(name)) errs.push(invalidValue(`${ip}.name`, name, 'must be unique'));
    if (vol && unset(vol.persistentVolumeClaim) && unset(vol.ephemeral))
      errs.push(invalidValue(`${ip}.name`, name, 'can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode'));
    if (!vol) errs.push(notFound(`${ip}.name`, name));
    if (!devicePath) errs.push(required(`${ip}.devicePath`));
    if (devPaths.has(devicePath)) errs.push(invalidValue(`${ip}.devicePath`, devicePath, 'must be unique'));
    if (devicePath && pathNoBacksteps(devicePath, '').length) errs.push(invalidValue(`${ip}.devicePath`, devicePath, "can not contain backsteps ('..')"));
    else devPaths.add(devicePath);
    if (mounts.has(name)) errs.push(invalidValue(`${ip}.name`, name, 'must not already exist in volumeMounts'));
    if ([...mounts.values()].includes(devicePath)) errs.push(invalidValue(`${ip}.devicePath`, devicePath, 'must not already exist as a path in volumeMounts'));
    if (name) devNames.add(name);
  });
}

/** `ValidateResourceRequirements` for a container (or the pod's overhead, as limits only). */
export function validateResourceRequirements(v: unknown, path: string, errs: Errs): void {
  const r = obj(v, path, errs) ?? {};
  const limits = resourceList(r.limits, `${path}.limits`, errs);
  const requests = resourceList(r.requests, `${path}.requests`, errs);
  let limCpuMem = false;
  let reqCpuMem = false;
  let hugePages = false;
  for (const [name, q] of Object.entries(limits)) {
    const fp = `${path}.limits[${name}]`;
    errs.push(...containerResourceNameErrors(name, fp), ...quantityErrors(name, q, fp));
    if (name.startsWith('hugepages-')) hugePages = true;
    if (name === 'cpu' || name === 'memory') limCpuMem = true;
  }
  for (const [name, q] of Object.entries(requests)) {
    const fp = `${path}.requests[${name}]`;
    errs.push(...containerResourceNameErrors(name, fp), ...quantityErrors(name, q, fp));
    if (name in limits) {
      const c = compareQuantities(q, limits[name]);
      if (c !== undefined && c !== 0 && !isOvercommitAllowed(name))
        errs.push(invalidValue(`${path}.requests`, quantityText(q), `must be equal to ${name} limit of ${quantityText(limits[name])}`));
      else if (c !== undefined && c > 0)
        errs.push(invalidValue(`${path}.requests`, quantityText(q), `must be less than or equal to ${name} limit of ${quantityText(limits[name])}`));
    } else if (!isOvercommitAllowed(name)) {
      errs.push(required(`${path}.limits`, 'Limit must be set for non overcommitable resources'));
    }
    if (name.startsWith('hugepages-')) hugePages = true;
    if (name === 'cpu' || name === 'memory') reqCpuMem = true;
  }
  if (hugePages && !limCpuMem && !reqCpuMem) errs.push(forbidden(path, 'HugePages require cpu or memory'));
}

type Handler = 'exec' | 'httpGet' | 'tcpSocket' | 'grpc' | 'sleep';

function validateHandler(h: Obj, kinds: Handler[], grace: number | undefined, path: string, errs: Errs): void {
  let n = 0;
  for (const kind of kinds) {
    if (unset(h[kind])) continue;
    if (n > 0) {
      errs.push(forbidden(`${path}.${kind}`, 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    const hp = `${path}.${kind}`;
    const a = obj(h[kind], hp, errs) ?? {};
    switch (kind) {
      case 'exec':
        if (list(a.command, `${hp}.command`, errs).length === 0) errs.push(required(`${hp}.command`));
        break;
      case 'httpGet': {
        if (!str(a.path, `${hp}.path`, errs)) errs.push(required(`${hp}.path`));
        errs.push(...validatePortNumOrName(a.port, `${hp}.port`));
        const scheme = str(a.scheme, `${hp}.scheme`, errs);
        if (scheme !== 'HTTP' && scheme !== 'HTTPS') errs.push(notSupported(`${hp}.scheme`, scheme, ['HTTP', 'HTTPS']));
        for (const hd of list(a.httpHeaders, `${hp}.httpHeaders`, errs)) {
          const name = isObj(hd) && typeof hd.name === 'string' ? hd.name : '';
          if (!/^[-A-Za-z0-9]+$/.test(name))
            errs.push(invalidValue(`${hp}.httpHeaders`, name, "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')"));
        }
        break;
      }
      case 'tcpSocket':
        errs.push(...validatePortNumOrName(a.port, `${hp}.port`));
        break;
      case 'grpc': {
        const port = int(a.port, `${hp}.port`, errs) ?? 0;
        for (const m of portNumErrors(port)) errs.push(invalidValue(`${hp}.port`, port, m));
        break;
      }
      case 'sleep': {
        const secs = int(a.seconds, `${hp}.seconds`, errs) ?? 0;
        if (grace !== undefined && (secs <= 0 || secs > grace))
          errs.push(invalidValue(hp, secs, `must be greater than 0 and less than terminationGracePeriodSeconds (${grace})`));
        break;
      }
    }
  }
  if (n === 0) errs.push(required(path, 'must specify a handler type'));
}

function validateProbe(v: unknown, kind: 'liveness' | 'readiness' | 'startup', grace: number | undefined, path: string, errs: Errs): void {
  const p = obj(v, path, errs);
  if (!p) return;
  validateHandler(p, ['exec', 'httpGet', 'tcpSocket', 'grpc'], grace, path, errs);
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'])
    errs.push(...nonNegative(int(p[k], `${path}.${k}`, errs), `${path}.${k}`));
  const tgps = int(p.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`, errs);
  if (tgps !== undefined && tgps <= 0) errs.push(invalidValue(`${path}.terminationGracePeriodSeconds`, tgps, 'must be greater than 0'));
  const st = p.successThreshold;
  if (kind !== 'readiness' && typeof st === 'number' && st !== 1) errs.push(invalidValue(`${path}.successThreshold`, st, 'must be 1'));
  if (kind === 'readiness' && tgps !== undefined)
    errs.push(invalidValue(`${path}.terminationGracePeriodSeconds`, tgps, 'must not be set for readinessProbes'));
}

function validateLifecycle(v: unknown, grace: number | undefined, path: string, errs: Errs): void {
  const l = obj(v, path, errs);
  if (!l) return;
  for (const k of ['postStart', 'preStop']) {
    const h = obj(l[k], `${path}.${k}`, errs);
    if (h) validateHandler(h, ['exec', 'httpGet', 'tcpSocket', 'sleep'], grace, `${path}.${k}`, errs);
  }
}

function validateSeccompProfile(v: unknown, path: string, errs: Errs): void {
  const sp = obj(v, path, errs);
  if (!sp) return;
  const t = str(sp.type, `${path}.type`, errs);
  const types = ['Localhost', 'RuntimeDefault', 'Unconfined'];
  if (!t) errs.push(required(`${path}.type`, 'type is required when seccompProfile is set'));
  else if (!types.includes(t)) errs.push(notSupported(`${path}.type`, t, types));
  if (t === 'Localhost') {
    if (unset(sp.localhostProfile)) errs.push(required(`${path}.localhostProfile`, 'must be set when seccomp type is Localhost'));
    else errs.push(...localDescendingPath(str(sp.localhostProfile, `${path}.localhostProfile`, errs), `${path}.localhostProfile`));
  } else if (!unset(sp.localhostProfile)) errs.push(invalidValue(`${path}.localhostProfile`, sp, 'can only be set when seccomp type is Localhost'));
}

function validateIDs(sc: Obj, path: string, errs: Errs, keys: string[]): void {
  for (const k of keys) {
    const id = int(sc[k], `${path}.${k}`, errs);
    if (id !== undefined) for (const m of userIDErrors(id)) errs.push(invalidValue(`${path}.${k}`, id, m));
  }
}

function validateContainerSecurityContext(v: unknown, path: string, errs: Errs): void {
  const sc = obj(v, path, errs);
  if (!sc) return;
  validateIDs(sc, path, errs, ['runAsUser', 'runAsGroup']);
  if (!unset(sc.procMount)) {
    const pm = str(sc.procMount, `${path}.procMount`, errs);
    if (pm !== 'Default' && pm !== 'Unmasked') errs.push(notSupported(`${path}.procMount`, pm, ['Default', 'Unmasked']));
  }
  validateSeccompProfile(sc.seccompProfile, `${path}.seccompProfile`, errs);
  if (sc.allowPrivilegeEscalation === false) {
    if (sc.privileged === true) errs.push(invalidValue(path, sc, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
    const add = dig2(sc, 'capabilities', 'add');
    if (Array.isArray(add) && add.includes('CAP_SYS_ADMIN'))
      errs.push(invalidValue(path, sc, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
  }
}

/** Checks every container kind shares (`validateContainerCommon`). */
function validateContainerCommon(c: Obj, path: string, vols: Volumes, restartPolicy: string, errs: Errs): void {
  const name = str(c.name, `${path}.name`, errs);
  if (!name) errs.push(required(`${path}.name`));
  else errs.push(...label1123(name, `${path}.name`));
  if (!str(c.image, `${path}.image`, errs)) errs.push(required(`${path}.image`));
  const tmp = str(c.terminationMessagePolicy, `${path}.terminationMessagePolicy`, errs);
  if (!tmp) errs.push(required(`${path}.terminationMessagePolicy`));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError')
    errs.push(notSupported(`${path}.terminationMessagePolicy`, tmp, ['File', 'FallbackToLogsOnError']));
  validatePorts(c.ports, `${path}.ports`, errs);
  validateEnv(c.env, `${path}.env`, errs);
  validateEnvFrom(c.envFrom, `${path}.envFrom`, errs);
  validateVolumeMounts(c, path, vols, errs);
  const pull = str(c.imagePullPolicy, `${path}.imagePullPolicy`, errs);
  if (!pull) errs.push(required(`${path}.imagePullPolicy`));
  else if (!['Always', 'IfNotPresent', 'Never'].includes(pull))
    errs.push(notSupported(`${path}.imagePullPolicy`, pull, ['Always', 'IfNotPresent', 'Never']));
  validateResourceRequirements(c.resources, `${path}.resources`, errs);
  const seenResize = new Set<string>();
  list(c.resizePolicy, `${path}.resizePolicy`, errs).forEach((x, i) => {
    const rp = `${path}.resizePolicy`;
    const p = obj(x, `${rp}[${i}]`, errs) ?? {};
    const rn = str(p.resourceName, `${rp}[${i}].resourceName`, errs);
    const pol = str(p.restartPolicy, `${rp}[${i}].restartPolicy`, errs);
    if (seenResize.has(rn)) errs.push(duplicate(`${rp}[${i}]`, rn));
    seenResize.add(rn);
    if (!rn) errs.push(required(rp));
    else if (rn !== 'cpu' && rn !== 'memory') errs.push(notSupported(rp, rn, ['cpu', 'memory']));
    if (!pol) errs.push(required(rp));
    else if (pol !== 'NotRequired' && pol !== 'RestartContainer') errs.push(notSupported(rp, pol, ['NotRequired', 'RestartContainer']));
    if (restartPolicy === 'Never' && pol !== 'NotRequired') errs.push(invalidValue(rp, pol, "must be 'NotRequired' when `restartPolicy` is 'Never'"));
  });
  validateContainerSecurityContext(c.securityContext, `${path}.securityContext`, errs);
}

function hostPortConflicts(containers: Obj[], path: string, errs: Errs, indexes?: number[]): void {
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    const idx = indexes ? indexes[ci] : ci;
    (Array.isArray(c.ports) ? c.ports : []).forEach((p, pi) => {
      if (!isObj(p) || typeof p.hostPort !== 'number' || p.hostPort === 0) return;
      const key = `${String(p.protocol ?? '')}/${String(p.hostIP ?? '')}/${p.hostPort}`;
      if (seen.has(key)) errs.push(duplicate(`${path}[${idx}].ports[${pi}].hostPort`, key));
      seen.add(key);
    });
  });
}

function validateContainers(v: unknown, path: string, vols: Volumes, grace: number | undefined, restartPolicy: string, errs: Errs): Obj[] {
  const items = list(v, path, errs);
  if (items.length === 0) {
    errs.push(required(path));
    return [];
  }
  const names = new Set<string>();
  const containers: Obj[] = [];
  items.forEach((x, i) => {
    const cp = `${path}[${i}]`;
    const c = obj(x, cp, errs) ?? {};
    containers.push(c);
    validateContainerCommon(c, cp, vols, restartPolicy, errs);
    const name = typeof c.name === 'string' ? c.name : '';
    if (names.has(name)) errs.push(duplicate(`${cp}.name`, name));
    else names.add(name);
    validateLifecycle(c.lifecycle, grace, `${cp}.lifecycle`, errs);
    validateProbe(c.livenessProbe, 'liveness', grace, `${cp}.livenessProbe`, errs);
    validateProbe(c.readinessProbe, 'readiness', grace, `${cp}.readinessProbe`, errs);
    validateProbe(c.startupProbe, 'startup', grace, `${cp}.startupProbe`, errs);
    if (!unset(c.restartPolicy)) errs.push(forbidden(`${cp}.restartPolicy`, 'may not be set for non-init containers'));
  });
  hostPortConflicts(containers, path, errs);
  return containers;
}

function validateInitContainers(v: unknown, regular: Obj[], path: string, vols: Volumes, grace: number | undefined, restartPolicy: string, errs: Errs): Obj[] {
  const names = new Set<string>(regular.map((c) => (typeof c.name === 'string' ? c.name : '')));
  const containers: Obj[] = [];
  list(v, path, errs).forEach((x, i) => {
    const cp = `${path}[${i}]`;
    const c = obj(x, cp, errs) ?? {};
    containers.push(c);
    validateContainerCommon(c, cp, vols, restartPolicy, errs);
    let restartAlways = false;
    if (!unset(c.restartPolicy)) {
      const rp = str(c.restartPolicy, `${cp}.restartPolicy`, errs);
      if (rp !== 'Always') errs.push(notSupported(`${cp}.restartPolicy`, rp, ['Always']));
      restartAlways = rp === 'Always';
    }
    const name = typeof c.name === 'string' ? c.name : '';
    if (names.has(name)) errs.push(duplicate(`${cp}.name`, name));
    else if (name) names.add(name);
    hostPortConflicts([c], path, errs, [i]);
    if (restartAlways) {
      validateLifecycle(c.lifecycle, grace, `${cp}.lifecycle`, errs);
      validateProbe(c.livenessProbe, 'liveness', grace, `${cp}.livenessProbe`, errs);
      validateProbe(c.readinessProbe, 'readiness', grace, `${cp}.readinessProbe`, errs);
      validateProbe(c.startupProbe, 'startup', grace, `${cp}.startupProbe`, errs);
    } else {
      for (const k of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'])
        if (!unset(c[k])) errs.push(forbidden(`${cp}.${k}`, 'may not be set for init containers without restartPolicy=Always'));
    }
    if (Array.isArray(c.resizePolicy) && c.resizePolicy.length > 0) errs.push(invalidValue(`${cp}.resizePolicy`, c.resizePolicy, 'must not be set for init containers'));
  });
  return containers;
}

const EPHEMERAL_FORBIDDEN = ['ports', 'resources', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resizePolicy', 'restartPolicy'];

function validateEphemeralContainers(v: unknown, others: Obj[], path: string, vols: Volumes, restartPolicy: string, errs: Errs): void {
  const otherNames = new Set(others.map((c) => (typeof c.name === 'string' ? c.name : '')));
  const all = new Set(otherNames);
  list(v, path, errs).forEach((x, i) => {
    const cp = `${path}[${i}]`;
    const c = obj(x, cp, errs) ?? {};
    validateContainerCommon(c, cp, vols, restartPolicy, errs);
    const image = typeof c.image === 'string' ? c.image : '';
    if (image !== image.trim()) errs.push(invalidValue(`${cp}.image`, image, 'must not have leading or trailing whitespace'));
    const name = typeof c.name === 'string' ? c.name : '';
    if (all.has(name)) errs.push(duplicate(`${cp}.name`, name));
    else all.add(name);
    const target = typeof c.targetContainerName === 'string' ? c.targetContainerName : '';
    if (target && !otherNames.has(target)) errs.push(notFound(`${cp}.targetContainerName`, target));
    for (const k of EPHEMERAL_FORBIDDEN) {
      const val = c[k];
      const empty = unset(val) || (Array.isArray(val) && val.length === 0) || (isObj(val) && Object.values(val).every((x) => unset(x) || (isObj(x) && Object.keys(x).length === 0)));
      if (!empty) errs.push(forbidden(`${cp}.${k}`, 'cannot be set for an Ephemeral Container'));
    }
    (Array.isArray(c.volumeMounts) ? c.volumeMounts : []).forEach((m, j) => {
      if (!isObj(m)) return;
      if (m.subPath) errs.push(forbidden(`${cp}.volumeMounts[${j}].subPath`, 'cannot be set for an Ephemeral Container'));
      if (m.subPathExpr) errs.push(forbidden(`${cp}.volumeMounts[${j}].subPathExpr`, 'cannot be set for an Ephemeral Container'));
    });
  });
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** `ValidateTolerations`. */
export function validateTolerations(v: unknown, path: string): FieldError[] {
  const errs: Errs = [];
  list(v, path, errs).forEach((x, i) => {
    const tp = `${path}[${i}]`;
    const t = obj(x, tp, errs) ?? {};
    const key = str(t.key, `${tp}.key`, errs);
    const op = str(t.operator, `${tp}.operator`, errs);
    const value = str(t.value, `${tp}.value`, errs);
    const effect = str(t.effect, `${tp}.effect`, errs);
    if (key) errs.push(...labelNameErrors(`${tp}.key`, key));
    if (!key && op !== 'Exists')
      errs.push(invalidValue(`${tp}.operator`, op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (!unset(t.tolerationSeconds) && effect !== 'NoExecute')
      errs.push(invalidValue(`${tp}.effect`, effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    if (op === 'Equal' || op === '') {
      const msgs = labelValueErrors(value);
      if (msgs.length) errs.push(invalidValue(`${tp}.operator`, value, msgs.join(';')));
    } else if (op === 'Exists') {
      if (value) errs.push(invalidValue(`${tp}.operator`, t, "value must be empty when `operator` is 'Exists'"));
    } else errs.push(notSupported(`${tp}.operator`, op, ['Equal', 'Exists']));
    if (effect && !TAINT_EFFECTS.includes(effect)) errs.push(notSupported(`${tp}.effect`, effect, TAINT_EFFECTS));
  });
  return errs;
}

/** `ValidateNodeSelector` (node affinity's required terms, PV node affinity). */
export function validateNodeSelector(v: unknown, path: string, errs: Errs): void {
  const ns = obj(v, path, errs) ?? {};
  const terms = list(ns.nodeSelectorTerms, `${path}.nodeSelectorTerms`, errs);
  if (terms.length === 0) return void errs.push(required(`${path}.nodeSelectorTerms`, 'must have at least one node selector term'));
  terms.forEach((t, i) => validateNodeSelectorTerm(t, `${path}.nodeSelectorTerms[${i}]`, errs));
}

function validateNodeSelectorTerm(v: unknown, path: string, errs: Errs): void {
  const term = obj(v, path, errs) ?? {};
  list(term.matchExpressions, `${path}.matchExpressions`, errs).forEach((x, j) => {
    const rp = `${path}.matchExpressions[${j}]`;
    const r = obj(x, rp, errs) ?? {};
    const op = str(r.operator, `${rp}.operator`, errs);
    const values = list(r.values, `${rp}.values`, errs);
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) errs.push(required(`${rp}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) errs.push(forbidden(`${rp}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else if (op === 'Gt' || op === 'Lt') {
      if (values.length !== 1) errs.push(required(`${rp}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
    } else errs.push(invalidValue(`${rp}.operator`, op, 'not a valid selector operator'));
    errs.push(...labelNameErrors(`${rp}.key`, str(r.key, `${rp}.key`, errs)));
  });
  list(term.matchFields, `${path}.matchFields`, errs).forEach((x, j) => {
    const rp = `${path}.matchFields[${j}]`;
    const r = obj(x, rp, errs) ?? {};
    const op = str(r.operator, `${rp}.operator`, errs);
    const values = list(r.values, `${rp}.values`, errs);
    if (op === 'In' || op === 'NotIn') {
      if (values.length !== 1) errs.push(required(`${rp}.values`, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
    } else errs.push(invalidValue(`${rp}.operator`, op, 'not a valid selector operator'));
    const key = str(r.key, `${rp}.key`, errs);
    if (key !== 'metadata.name') errs.push(invalidValue(`${rp}.key`, key, 'not a valid field selector key'));
    else
      values.forEach((val, k) => {
        if (typeof val === 'string') errs.push(...subdomain1123(val, `${rp}.values[${k}]`));
      });
  });
}

function validatePodAffinityTerm(v: unknown, path: string, errs: Errs): void {
  const t = obj(v, path, errs) ?? {};
  if (!unset(t.labelSelector)) errs.push(...validateLabelSelector(t.labelSelector as never, `${path}.labelSelector`));
  if (!unset(t.namespaceSelector)) errs.push(...validateLabelSelector(t.namespaceSelector as never, `${path}.namespaceSelector`));
  for (const ns of list(t.namespaces, `${path}.namespaces`, errs))
    if (typeof ns === 'string') errs.push(...label1123(ns, `${path}.namespace`));
  const key = str(t.topologyKey, `${path}.topologyKey`, errs);
  if (!key) errs.push(required(`${path}.topologyKey`, 'can not be empty'));
  errs.push(...labelNameErrors(`${path}.topologyKey`, key));
}

function validateAffinity(v: unknown, path: string, errs: Errs): void {
  const a = obj(v, path, errs);
  if (!a) return;
  const na = obj(a.nodeAffinity, `${path}.nodeAffinity`, errs);
  if (na) {
    const np = `${path}.nodeAffinity`;
    if (!unset(na.requiredDuringSchedulingIgnoredDuringExecution))
      validateNodeSelector(na.requiredDuringSchedulingIgnoredDuringExecution, `${np}.requiredDuringSchedulingIgnoredDuringExecution`, errs);
    list(na.preferredDuringSchedulingIgnoredDuringExecution, `${np}.preferredDuringSchedulingIgnoredDuringExecution`, errs).forEach((x, i) => {
      const pp = `${np}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      const p = obj(x, pp, errs) ?? {};
      const w = int(p.weight, `${pp}.weight`, errs) ?? 0;
      if (w <= 0 || w > 100) errs.push(invalidValue(`${pp}.weight`, w, 'must be in the range 1-100'));
      validateNodeSelectorTerm(p.preference, `${pp}.preference`, errs);
    });
  }
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const pa = obj(a[kind], `${path}.${kind}`, errs);
    if (!pa) continue;
    const pp = `${path}.${kind}`;
    list(pa.requiredDuringSchedulingIgnoredDuringExecution, `${pp}.requiredDuringSchedulingIgnoredDuringExecution`, errs).forEach((t, i) =>
      validatePodAffinityTerm(t, `${pp}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`, errs),
    );
    list(pa.preferredDuringSchedulingIgnoredDuringExecution, `${pp}.preferredDuringSchedulingIgnoredDuringExecution`, errs).forEach((x, i) => {
      const wp = `${pp}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      const w = obj(x, wp, errs) ?? {};
      const weight = int(w.weight, `${wp}.weight`, errs) ?? 0;
      if (weight <= 0 || weight > 100) errs.push(invalidValue(`${wp}.weight`, weight, 'must be in the range 1-100'));
      validatePodAffinityTerm(w.podAffinityTerm, `${wp}.podAffinityTerm`, errs);
    });
  }
}

function validateTopologySpread(v: unknown, path: string, errs: Errs): void {
  const items = list(v, path, errs);
  items.forEach((x, i) => {
    const cp = `${path}[${i}]`;
    const c = obj(x, cp, errs) ?? {};
    const skew = int(c.maxSkew, `${cp}.maxSkew`, errs) ?? 0;
    if (skew <= 0) errs.push(invalidValue(`${cp}.maxSkew`, skew, 'must be greater than zero'));
    const key = str(c.topologyKey, `${cp}.topologyKey`, errs);
    if (!key) errs.push(required(`${cp}.topologyKey`, 'can not be empty'));
    const when = str(c.whenUnsatisfiable, `${cp}.whenUnsatisfiable`, errs);
    if (when !== 'DoNotSchedule' && when !== 'ScheduleAnyway') errs.push(notSupported(`${cp}.whenUnsatisfiable`, when, ['DoNotSchedule', 'ScheduleAnyway']));
    for (const other of items.slice(i + 1))
      if (isObj(other) && other.topologyKey === key && other.whenUnsatisfiable === when) {
        errs.push(duplicate(`${cp}.{topologyKey, whenUnsatisfiable}`, `{${key}, ${when}}`));
        break;
      }
    const minDomains = int(c.minDomains, `${cp}.minDomains`, errs);
    if (minDomains !== undefined) {
      if (minDomains <= 0) errs.push(invalidValue(`${cp}.minDomains`, minDomains, 'must be greater than zero'));
      if (when !== 'DoNotSchedule')
        errs.push(invalidValue(`${cp}.minDomains`, minDomains, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${when}`));
    }
    for (const k of ['nodeAffinityPolicy', 'nodeTaintsPolicy'])
      if (!unset(c[k]) && c[k] !== 'Honor' && c[k] !== 'Ignore') errs.push(notSupported(`${cp}.${k}`, c[k], ['Honor', 'Ignore']));
    if (!unset(c.labelSelector)) errs.push(...validateLabelSelector(c.labelSelector as never, `${cp}.labelSelector`));
  });
}

function validateDNSConfig(v: unknown, dnsPolicy: string, path: string, errs: Errs): void {
  const c = obj(v, path, errs);
  if (dnsPolicy === 'None') {
    if (!c) return void errs.push(required(path, 'must provide `dnsConfig` when `dnsPolicy` is None'));
    if (list(c.nameservers, `${path}.nameservers`, []).length === 0)
      return void errs.push(required(`${path}.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
  }
  if (!c) return;
  const ns = list(c.nameservers, `${path}.nameservers`, errs);
  if (ns.length > 3) errs.push(invalidValue(`${path}.nameservers`, ns, 'must not have more than 3 nameservers'));
  ns.forEach((n, i) => errs.push(...ipErrors(`${path}.nameservers[${i}]`, typeof n === 'string' ? n : '')));
  const searches = list(c.searches, `${path}.searches`, errs);
  if (searches.length > 32) errs.push(invalidValue(`${path}.searches`, searches, 'must not have more than 32 search paths'));
  if (searches.join(' ').length > 2048)
    errs.push(invalidValue(`${path}.searches`, searches, 'must not have more than 2048 characters (including spaces) in the search list'));
  searches.forEach((s, i) => errs.push(...subdomain1123((typeof s === 'string' ? s : '').replace(/\.$/, ''), `${path}.searches[${i}]`)));
  list(c.options, `${path}.options`, errs).forEach((o, i) => {
    if (!isObj(o) || !o.name) errs.push(required(`${path}.options[${i}]`, 'must not be empty'));
  });
}

function validatePodSecurityContext(v: unknown, path: string, errs: Errs): void {
  const sc = obj(v, path, errs);
  if (!sc) return;
  validateIDs(sc, path, errs, ['fsGroup', 'runAsUser', 'runAsGroup']);
  list(sc.supplementalGroups, `${path}.supplementalGroups`, errs).forEach((g, i) => {
    const id = int(g, `${path}.supplementalGroups[${i}]`, errs);
    if (id !== undefined) for (const m of userIDErrors(id)) errs.push(invalidValue(`${path}.supplementalGroups[${i}]`, id, m));
  });
  if (!unset(sc.fsGroupChangePolicy) && sc.fsGroupChangePolicy !== 'Always' && sc.fsGroupChangePolicy !== 'OnRootMismatch')
    errs.push(notSupported(`${path}.fsGroupChangePolicy`, sc.fsGroupChangePolicy, ['Always', 'OnRootMismatch']));
  const names = new Set<string>();
  list(sc.sysctls, `${path}.sysctls`, errs).forEach((x, i) => {
    const name = isObj(x) && typeof x.name === 'string' ? x.name : '';
    const np = `${path}.sysctls[${i}].name`;
    if (!name) errs.push(required(np));
    else if (name.length > 253 || !/^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$/.test(name))
      errs.push(invalidValue(np, name, 'must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$'));
    else if (names.has(name)) errs.push(duplicate(np, name));
    names.add(name);
  });
  validateSeccompProfile(sc.seccompProfile, `${path}.seccompProfile`, errs);
}

/**
 * `ValidatePodSpec`: `path` is where the spec sits (`spec`, `spec.template.spec`, …). Expects a
 * defaulted spec (defaultPodSpec), as upstream validates after defaulting: fields such as
 * restartPolicy or imagePullPolicy are required here.
 */
export function validatePodSpec(spec: PodSpec, path: string, opts: PodSpecValidationOptions = {}): FieldError[] {
  const errs: Errs = [];
  const s = spec as unknown as Obj;
  if (!isObj(s)) return [unset(s) ? required(path) : typeInvalid(path, s, 'must be of type object')];
  const grace = int(s.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`, errs);
  if (unset(s.terminationGracePeriodSeconds)) errs.push(required(`${path}.terminationGracePeriodSeconds`));
  const restartPolicy = str(s.restartPolicy, `${path}.restartPolicy`, errs);
  const dnsPolicy = str(s.dnsPolicy, `${path}.dnsPolicy`, errs);

  const vols = validateVolumes(s.volumes, `${path}.volumes`, errs, opts.podMeta);
  const containers = validateContainers(s.containers, `${path}.containers`, vols, grace, restartPolicy, errs);
  const inits = validateInitContainers(s.initContainers, containers, `${path}.initContainers`, vols, grace, restartPolicy, errs);
  validateEphemeralContainers(s.ephemeralContainers, [...containers, ...inits], `${path}.ephemeralContainers`, vols, restartPolicy, errs);

  if (bool(s.hostNetwork, `${path}.hostNetwork`, errs)) {
    containers.forEach((c, i) =>
      (Array.isArray(c.ports) ? c.ports : []).forEach((p, j) => {
        if (!isObj(p)) return;
        const hp = typeof p.hostPort === 'number' ? p.hostPort : 0;
        if ((opts.isPod || hp !== 0) && hp !== p.containerPort)
          errs.push(invalidValue(`${path}.containers[${i}].ports[${j}].hostPort`, hp, 'must match `containerPort` when `hostNetwork` is true'));
      }),
    );
  }

  const restartPolicies = ['Always', 'OnFailure', 'Never'];
  if (!restartPolicy) errs.push(required(`${path}.restartPolicy`));
  else if (!restartPolicies.includes(restartPolicy)) errs.push(notSupported(`${path}.restartPolicy`, restartPolicy, restartPolicies));
  const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (!dnsPolicy) errs.push(required(`${path}.dnsPolicy`));
  else if (!dnsPolicies.includes(dnsPolicy)) errs.push(notSupported(`${path}.dnsPolicy`, dnsPolicy, dnsPolicies));

  errs.push(...validateLabels(s.nodeSelector, `${path}.nodeSelector`));
  validatePodSecurityContext(s.securityContext, `${path}.securityContext`, errs);
  if (bool(dig2(s, 'securityContext', 'shareProcessNamespace'), `${path}.securityContext.shareProcessNamespace`, []) && s.hostPID === true)
    errs.push(invalidValue(`${path}.securityContext.shareProcessNamespace`, true, 'ShareProcessNamespace and HostPID cannot both be enabled'));
  list(s.imagePullSecrets, `${path}.imagePullSecrets`, errs).forEach((x, i) => {
    if (!isObj(x) || Object.keys(x).some((k) => k !== 'name')) errs.push(invalidValue(`${path}.imagePullSecrets[${i}]`, x, 'only name may be set'));
  });
  validateAffinity(s.affinity, `${path}.affinity`, errs);
  validateDNSConfig(s.dnsConfig, dnsPolicy, `${path}.dnsConfig`, errs);
  list(s.readinessGates, `${path}.readinessGates`, errs).forEach((g, i) => {
    const ct = isObj(g) && typeof g.conditionType === 'string' ? g.conditionType : '';
    for (const m of qualifiedNameErrors(ct)) errs.push(invalidValue(`${path}.readinessGates[${i}].conditionType`, ct, m));
  });
  const gates = new Set<string>();
  list(s.schedulingGates, `${path}.schedulingGates`, errs).forEach((g, i) => {
    const name = isObj(g) && typeof g.name === 'string' ? g.name : '';
    for (const m of qualifiedNameErrors(name)) errs.push(invalidValue(`${path}.schedulingGates[${i}]`, name, m));
    if (gates.has(name)) errs.push(duplicate(`${path}.schedulingGates[${i}]`, name));
    gates.add(name);
  });
  validateTopologySpread(s.topologySpreadConstraints, `${path}.topologySpreadConstraints`, errs);

  const sa = str(s.serviceAccountName, `${path}.serviceAccountName`, errs);
  if (sa) errs.push(...subdomain1123(sa, `${path}.serviceAccountName`));
  const nodeName = str(s.nodeName, `${path}.nodeName`, errs);
  if (nodeName) errs.push(...subdomain1123(nodeName, `${path}.nodeName`));
  const ads = int(s.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`, errs);
  if (ads !== undefined && (ads < 1 || ads > 2147483647))
    errs.push(invalidValue(`${path}.activeDeadlineSeconds`, ads, inclusiveRangeError(1, 2147483647)));
  const hostname = str(s.hostname, `${path}.hostname`, errs);
  if (hostname) errs.push(...label1123(hostname, `${path}.hostname`));
  const subdomain = str(s.subdomain, `${path}.subdomain`, errs);
  if (subdomain) errs.push(...label1123(subdomain, `${path}.subdomain`));
  errs.push(...validateTolerations(s.tolerations, `${path}.tolerations`));
  list(s.hostAliases, `${path}.hostAliases`, errs).forEach((x, i) => {
    const ap = `${path}.hostAliases[${i}]`;
    const a = obj(x, ap, errs) ?? {};
    errs.push(...ipErrors(`${ap}.ip`, str(a.ip, `${ap}.ip`, errs)));
    list(a.hostnames, `${ap}.hostnames`, errs).forEach((h, j) => errs.push(...subdomain1123(typeof h === 'string' ? h : '', `${ap}.hostnames[${j}]`)));
  });
  const pcn = str(s.priorityClassName, `${path}.priorityClassName`, errs);
  if (pcn) errs.push(...subdomain1123(pcn, `${path}.priorityClassName`));
  if (!unset(s.runtimeClassName)) errs.push(...subdomain1123(str(s.runtimeClassName, `${path}.runtimeClassName`, errs), `${path}.runtimeClassName`));
  if (!unset(s.preemptionPolicy)) {
    const pp = str(s.preemptionPolicy, `${path}.preemptionPolicy`, errs);
    if (!pp) errs.push(required(`${path}.preemptionPolicy`));
    else if (pp !== 'PreemptLowerPriority' && pp !== 'Never') errs.push(notSupported(`${path}.preemptionPolicy`, pp, ['PreemptLowerPriority', 'Never']));
  }
  if (!unset(s.overhead)) validateResourceRequirements({ limits: s.overhead }, `${path}.overhead`, errs);
  const os = obj(s.os, `${path}.os`, errs);
  if (os) {
    const name = str(os.name, `${path}.os.name`, errs);
    if (!name) errs.push(required(`${path}.os.name`, 'cannot be empty'));
    else if (name !== 'linux' && name !== 'windows') errs.push(notSupported(`${path}.os`, name, ['linux', 'windows']));
  }
  return errs;
}

const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';
const MIRROR_POD = 'kubernetes.io/config.mirror';

/** `ValidatePodSpecificAnnotations`: `path` is the annotations path. */
export function validatePodSpecificAnnotations(annotations: unknown, spec: unknown, path: string): FieldError[] {
  const errs: Errs = [];
  if (!isObj(annotations)) return errs;
  if (MIRROR_POD in annotations && !(isObj(spec) && spec.nodeName))
    errs.push(invalidValue(`${path}[${MIRROR_POD}]`, annotations[MIRROR_POD], 'must set spec.nodeName if mirror pod annotation is set'));
  const cost = annotations[POD_DELETION_COST];
  if (cost !== undefined) {
    const ok = typeof cost === 'string' && /^[+-]?\d+$/.test(cost.trim()) && Math.abs(Number(cost)) <= 2147483648 && Number(cost) <= 2147483647;
    if (!ok) errs.push(invalidValue(`${path}[${POD_DELETION_COST}]`, cost, 'must be a 32bit integer'));
  }
  return errs;
}

/** `ValidatePodTemplateSpec`: labels, annotations and spec of a template at `path` (e.g. `spec.template`). */
export function validatePodTemplateSpec(t: PodTemplateSpec, path: string): FieldError[] {
  const tt = t as unknown as Obj;
  if (!isObj(tt)) return [unset(tt) ? required(path) : typeInvalid(path, tt, 'must be of type object')];
  const errs: Errs = [];
  const meta = obj(tt.metadata, `${path}.metadata`, errs) ?? {};
  errs.push(...validateLabels(meta.labels, `${path}.labels`));
  errs.push(...validateAnnotations(meta.annotations, `${path}.annotations`));
  errs.push(...validatePodSpecificAnnotations(meta.annotations, tt.spec, `${path}.annotations`));
  errs.push(...validatePodSpec(tt.spec as PodSpec, `${path}.spec`));
  if (isObj(tt.spec) && Array.isArray(tt.spec.ephemeralContainers) && tt.spec.ephemeralContainers.length > 0)
    errs.push(forbidden(`${path}.spec.ephemeralContainers`, 'ephemeral containers not allowed in pod template'));
  return errs;
}

// ---------------------------------------------------------------------------------------------
// QoS

/** The pod's QoS class from its containers' cpu/memory requests and limits (upstream ComputePodQOS). */
export function computePodQOS(spec: unknown): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const requests = new Map<string, Quantity>();
  const limits = new Map<string, Quantity>();
  let guaranteed = true;
  const s = isObj(spec) ? spec : {};
  const all = [...(Array.isArray(s.containers) ? s.containers : []), ...(Array.isArray(s.initContainers) ? s.initContainers : [])];
  const positive = (v: unknown) => {
    const q = quantityValue(v);
    return q && quantitySign(q) > 0 ? q : undefined;
  };
  const add = (m: Map<string, Quantity>, k: string, q: Quantity) => m.set(k, m.has(k) ? addQuantity(m.get(k)!, q) : q);
  for (const c of all) {
    const res = isObj(c) && isObj(c.resources) ? c.resources : {};
    const req = isObj(res.requests) ? res.requests : {};
    const lim = isObj(res.limits) ? res.limits : {};
    for (const k of ['cpu', 'memory']) {
      const q = positive(req[k]);
      if (q) add(requests, k, q);
    }
    const found = new Set<string>();
    for (const k of ['cpu', 'memory']) {
      const q = positive(lim[k]);
      if (q) {
        found.add(k);
        add(limits, k, q);
      }
    }
    if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed)
    for (const [k, r] of requests) {
      const l = limits.get(k);
      if (!l || cmpQuantity(l, r) !== 0) {
        guaranteed = false;
        break;
      }
    }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

