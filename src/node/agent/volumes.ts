// A pod's volumes on the host: emptyDir, configMap, secret, downwardAPI, projected (with a
// service-account token bound to the pod), hostPath and persistentVolumeClaim (the PV's hostPath or
// local path). Each gets a directory under the pod's dir that containers bind-mount.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import type {
  ConfigMap,
  Container,
  DownwardAPIVolumeFile,
  KeyToPath,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Secret,
  ServiceAccount,
  Volume,
  VolumeProjection,
} from 'kubernetes-types/core/v1.js';
import { value as quantityValue, parseQuantity } from '../../api/quantity.js';
import type { VolumeMount } from '../runtime/index.js';
import { ContainerConfigError, fieldPathValue, formatMap, resourceFieldValue, type ObjectSource } from './env.js';

const run = promisify(execFile);

export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The implicit token volume the agent adds when admission did not (upstream's kube-api-access-<random>). */
export const IMPLICIT_TOKEN_VOLUME = 'kube-api-access';

export interface VolumeSource extends ObjectSource {
  persistentVolumeClaim(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  persistentVolume(name: string): Promise<PersistentVolume | undefined>;
  serviceAccount(namespace: string, name: string): Promise<ServiceAccount | undefined>;
  /** POST serviceaccounts/<sa>/token bound to the pod */
  serviceAccountToken(pod: Pod, serviceAccount: string, audiences: string[] | undefined, expirationSeconds: number): Promise<string>;
}

export interface VolumeContext {
  pod: Pod;
  podDir: string;
  source: VolumeSource;
  caPem?: string;
  podIP?: string;
  hostIP?: string;
  allocatable: Record<string, string>;
  /** service-account tokens already fetched for the pod, reused until 80 % of their lifetime */
  tokens?: Map<string, { token: string; until: number }>;
}

/** A volume set up on the host. */
export interface MountedVolume {
  name: string;
  hostPath: string;
  /** tmpfs mounted by us (emptyDir medium Memory), unmounted at cleanup */
  tmpfs?: boolean;
  readOnly?: boolean;
}

/** A volume the kubelet cannot set up: the pod stays ContainerCreating with a FailedMount event. */
export class VolumeError extends Error {}

const ownDir = (ctx: VolumeContext, plugin: string, name: string) => join(ctx.podDir, 'volumes', plugin, name);

/** Whether the pod gets the implicit service-account token volume. */
export function wantsImplicitToken(pod: Pod, sa: ServiceAccount | undefined): boolean {
  if (pod.spec?.automountServiceAccountToken === false) return false;
  if (pod.spec?.automountServiceAccountToken === undefined && sa?.automountServiceAccountToken === false) return false;
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  if (all.some((c) => (c.volumeMounts ?? []).some((m) => normalize(m.mountPath) === SERVICE_ACCOUNT_MOUNT))) return false;
  return !(pod.spec?.volumes ?? []).some((v) => v.name.startsWith('kube-api-access-'));
}

export function implicitTokenVolume(): Volume {
  return {
    name: IMPLICIT_TOKEN_VOLUME,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

export async function setUpVolume(ctx: VolumeContext, v: Volume): Promise<MountedVolume> {
  const ns = ctx.pod.metadata?.namespace ?? 'default';
  if (v.emptyDir) {
    const dir = ownDir(ctx, 'empty-dir', v.name);
    mkdirSync(dir, { recursive: true, mode: 0o777 });
    chmodSync(dir, 0o777);
    if (v.emptyDir.medium === 'Memory') {
      const size = v.emptyDir.sizeLimit !== undefined ? Number(quantityValue(parseQuantity(v.emptyDir.sizeLimit))) : undefined;
      if (!isMounted(dir)) await run('mount', ['-t', 'tmpfs', '-o', `mode=0777${size ? `,size=${size}` : ''}`, 'tmpfs', dir]);
      return { name: v.name, hostPath: dir, tmpfs: true };
    }
    return { name: v.name, hostPath: dir };
  }
  if (v.hostPath) {
    const path = v.hostPath.path;
    checkHostPath(path, v.hostPath.type ?? '');
    return { name: v.name, hostPath: path };
  }
  const projected = await projectedVolumeFiles(ctx, v);
  if (projected) {
    writeAtomically(projected.dir, projected.files, projected.defaultMode);
    return { name: v.name, hostPath: projected.dir, readOnly: true };
  }
  if (v.persistentVolumeClaim) {
    const claimName = v.persistentVolumeClaim.claimName;
    const pvc = await ctx.source.persistentVolumeClaim(ns, claimName);
    if (!pvc) throw new VolumeError(`persistentvolumeclaim "${claimName}" not found`);
    const pvName = pvc.spec?.volumeName;
    if (!pvName || pvc.status?.phase !== 'Bound') throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound`);
    const pv = await ctx.source.persistentVolume(pvName);
    if (!pv) throw new VolumeError(`persistentvolume "${pvName}" not found`);
    const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!path) throw new VolumeError(`persistentvolume "${pvName}" is neither hostPath nor local: this node cannot mount it`);
    if (pv.spec?.hostPath) checkHostPath(path, pv.spec.hostPath.type ?? '');
    else if (!existsSync(path)) throw new VolumeError(`path "${path}" of persistentvolume "${pvName}" does not exist`);
    return { name: v.name, hostPath: path, readOnly: v.persistentVolumeClaim.readOnly };
  }
  const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
  throw new VolumeError(`volume "${v.name}": the ${kind} volume type is not supported on this node`);
}

/** The files of a configMap, secret, downwardAPI or projected volume now; undefined for other kinds. */
export async function projectedVolumeFiles(ctx: VolumeContext, v: Volume): Promise<{ dir: string; files: ProjectedFile[]; defaultMode: number } | undefined> {
  const ns = ctx.pod.metadata?.namespace ?? 'default';
  if (v.configMap) {
    const cm = await ctx.source.configMap(ns, v.configMap.name ?? '');
    if (!cm && !v.configMap.optional) throw new VolumeError(`configmap "${v.configMap.name}" not found`);
    const files = configMapFiles(cm, v.configMap.items, v.configMap.name ?? '', !!v.configMap.optional);
    return { dir: ownDir(ctx, 'configmap', v.name), files, defaultMode: v.configMap.defaultMode ?? 0o644 };
  }
  if (v.secret) {
    const s = await ctx.source.secret(ns, v.secret.secretName ?? '');
    if (!s && !v.secret.optional) throw new VolumeError(`secret "${v.secret.secretName}" not found`);
    const files = secretFiles(s, v.secret.items, v.secret.secretName ?? '', !!v.secret.optional);
    return { dir: ownDir(ctx, 'secret', v.name), files, defaultMode: v.secret.defaultMode ?? 0o644 };
  }
  if (v.downwardAPI) return { dir: ownDir(ctx, 'downward-api', v.name), files: downwardFiles(ctx, v.downwardAPI.items ?? []), defaultMode: v.downwardAPI.defaultMode ?? 0o644 };
  if (v.projected) {
    const files: ProjectedFile[] = [];
    for (const src of v.projected.sources ?? []) files.push(...(await projectedFiles(ctx, ns, src)));
    return { dir: ownDir(ctx, 'projected', v.name), files, defaultMode: v.projected.defaultMode ?? 0o644 };
  }
  return undefined;
}

function checkHostPath(path: string, type: string): void {
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path);
  } catch {
    st = undefined;
  }
  const fail = (what: string) => {
    throw new VolumeError(`hostPath type check failed: ${path} is not a ${what}`);
  };
  switch (type) {
    case 'DirectoryOrCreate':
      if (!st) mkdirSync(path, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) fail('directory');
      return;
    case 'Directory':
      if (!st?.isDirectory()) fail('directory');
      return;
    case 'FileOrCreate':
      if (!st) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, '', { mode: 0o644 });
      } else if (!st.isFile()) fail('file');
      return;
    case 'File':
      if (!st?.isFile()) fail('file');
      return;
    case 'Socket':
      if (!st?.isSocket()) fail('socket');
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) fail('character device');
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) fail('block device');
      return;
    default:
      // '' : no check; a missing path is created by the bind mount as a directory, as runc does
      if (!st) mkdirSync(path, { recursive: true, mode: 0o755 });
  }
}

export interface ProjectedFile {
  path: string;
  data: Buffer;
  mode?: number;
}

function pick(all: Record<string, Buffer>, items: KeyToPath[] | undefined, what: string, optional: boolean): ProjectedFile[] {
  if (!items?.length) return Object.entries(all).map(([k, data]) => ({ path: k, data }));
  const out: ProjectedFile[] = [];
  for (const it of items) {
    const data = all[it.key];
    if (data === undefined) {
      if (optional) continue;
      throw new VolumeError(`configuration key "${it.key}" not found in ${what}`);
    }
    out.push({ path: it.path, data, mode: it.mode });
  }
  return out;
}

function configMapFiles(cm: ConfigMap | undefined, items: KeyToPath[] | undefined, name: string, optional: boolean): ProjectedFile[] {
  if (!cm) return [];
  const all: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) all[k] = Buffer.from(v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) all[k] = Buffer.from(v, 'base64');
  return pick(all, items, `ConfigMap ${name}`, optional);
}

function secretFiles(s: Secret | undefined, items: KeyToPath[] | undefined, name: string, optional: boolean): ProjectedFile[] {
  if (!s) return [];
  const all: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) all[k] = Buffer.from(v, 'base64');
  return pick(all, items, `Secret ${name}`, optional);
}

function downwardFiles(ctx: VolumeContext, items: DownwardAPIVolumeFile[]): ProjectedFile[] {
  return items.map((it) => {
    let text = '';
    try {
      if (it.fieldRef) {
        const p = it.fieldRef.fieldPath;
        text = p === 'metadata.labels' ? formatMap(ctx.pod.metadata?.labels) : p === 'metadata.annotations' ? formatMap(ctx.pod.metadata?.annotations) : fieldPathValue(ctx.pod, it.fieldRef, ctx.podIP, ctx.hostIP);
      } else if (it.resourceFieldRef) {
        const c = (ctx.pod.spec?.containers ?? [])[0] as Container | undefined;
        text = resourceFieldValue(ctx.pod, c, it.resourceFieldRef, ctx.allocatable);
      }
    } catch (e) {
      if (e instanceof ContainerConfigError) throw new VolumeError(e.message);
      throw e;
    }
    return { path: it.path, data: Buffer.from(text), mode: it.mode };
  });
}

async function projectedFiles(ctx: VolumeContext, ns: string, src: VolumeProjection): Promise<ProjectedFile[]> {
  if (src.configMap) {
    const name = src.configMap.name ?? '';
    // kube-root-ca.crt is published by a controller; until it is there the agent knows the CA itself (and a
    // plain-HTTP test cluster has none: the file is empty)
    const cm = await ctx.source.configMap(ns, name);
    if (!cm && name === 'kube-root-ca.crt') return pick({ 'ca.crt': Buffer.from(ctx.caPem ?? '') }, src.configMap.items, 'ConfigMap kube-root-ca.crt', true);
    if (!cm && !src.configMap.optional) throw new VolumeError(`configmap "${name}" not found`);
    return configMapFiles(cm, src.configMap.items, name, !!src.configMap.optional);
  }
  if (src.secret) {
    const name = src.secret.name ?? '';
    const s = await ctx.source.secret(ns, name);
    if (!s && !src.secret.optional) throw new VolumeError(`secret "${name}" not found`);
    return secretFiles(s, src.secret.items, name, !!src.secret.optional);
  }
  if (src.downwardAPI) return downwardFiles(ctx, src.downwardAPI.items ?? []);
  if (src.serviceAccountToken) {
    const t = src.serviceAccountToken;
    const sa = ctx.pod.spec?.serviceAccountName || 'default';
    const ttl = t.expirationSeconds ?? 3600;
    const key = `${sa}|${t.audience ?? ''}|${ttl}|${t.path}`;
    const cached = ctx.tokens?.get(key);
    let token: string;
    if (cached && cached.until > Date.now()) token = cached.token;
    else {
      try {
        token = await ctx.source.serviceAccountToken(ctx.pod, sa, t.audience ? [t.audience] : undefined, ttl);
      } catch (e) {
        throw new VolumeError(`failed to fetch token: ${(e as Error).message}`);
      }
      ctx.tokens?.set(key, { token, until: Date.now() + ttl * 800 });
    }
    return [{ path: t.path, data: Buffer.from(token), mode: 0o600 }];
  }
  if (src.clusterTrustBundle) throw new VolumeError('clusterTrustBundle projections are not supported on this node');
  return [];
}

const DATA_DIR = '..data';

/** `..2006_01_02_15_04_05.<random>` as the kubelet's atomic writer names its payload dirs. */
function payloadDirName(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
  return `..${stamp}.${randomBytes(5).readUInt32BE(0)}`;
}

function sameContent(path: string, data: Buffer, mode: number): boolean {
  try {
    const st = lstatSync(path);
    return st.isFile() && (st.mode & 0o7777) === mode && readFileSync(path).equals(data);
  } catch {
    return false;
  }
}

function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = rel ? join(rel, e.name) : e.name;
    if (e.isDirectory()) out.push(...listFiles(root, r));
    else out.push(r);
  }
  return out;
}

/**
 * Writes a volume's files the way the kubelet's atomic writer does: into a fresh timestamped dir,
 * then `..data` is pointed at it by one rename, and each user-visible top-level name is a symlink
 * into `..data`, so a reader never sees half an update. Nothing is written when the content is the
 * same. Returns whether the volume changed.
 */
export function writeAtomically(dir: string, files: ProjectedFile[], defaultMode: number): boolean {
  const payload = new Map<string, { data: Buffer; mode: number }>();
  for (const f of files) {
    const rel = normalize(f.path);
    if (rel.startsWith('..') || rel.startsWith('/') || rel === '.') throw new VolumeError(`invalid path ${JSON.stringify(f.path)}`);
    payload.set(rel, { data: f.data, mode: f.mode ?? defaultMode });
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const dataLink = join(dir, DATA_DIR);
  let oldPayload: string | undefined;
  try {
    oldPayload = readlinkSync(dataLink);
  } catch {
    oldPayload = undefined;
  }
  if (oldPayload && existsSync(join(dir, oldPayload))) {
    const old = listFiles(join(dir, oldPayload));
    if (old.length === payload.size && [...payload].every(([rel, f]) => sameContent(join(dir, oldPayload!, rel), f.data, f.mode))) return false;
  }
  const name = payloadDirName();
  const tsDir = join(dir, name);
  mkdirSync(tsDir, { mode: 0o755 });
  chmodSync(tsDir, 0o755);
  for (const [rel, f] of payload) {
    const target = join(tsDir, rel);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    writeFileSync(target, f.data);
    chmodSync(target, f.mode);
  }
  const tmpLink = join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(name, tmpLink);
  renameSync(tmpLink, dataLink);
  const visible = new Set([...payload.keys()].map((rel) => rel.split('/')[0]!));
  for (const top of visible) {
    const link = join(dir, top);
    const want = join(DATA_DIR, top);
    let st: ReturnType<typeof lstatSync> | undefined;
    try {
      st = lstatSync(link);
    } catch {
      st = undefined;
    }
    if (st?.isSymbolicLink() && readlinkSync(link) === want) continue;
    if (st) rmSync(link, { recursive: true, force: true });
    symlinkSync(want, link);
  }
  for (const e of readdirSync(dir)) {
    if (e.startsWith('..') || visible.has(e)) continue;
    rmSync(join(dir, e), { recursive: true, force: true });
  }
  if (oldPayload && oldPayload !== name && oldPayload.startsWith('..') && !oldPayload.includes('/')) rmSync(join(dir, oldPayload), { recursive: true, force: true });
  return true;
}

export function isMounted(path: string): boolean {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  return text.split('\n').some((l) => l.split(' ')[4] === path);
}

/** Unmounts tmpfs volumes we mounted; the directories go with the pod dir. */
export async function tearDownVolumes(volumes: Iterable<MountedVolume>): Promise<void> {
  for (const v of volumes) {
    if (!v.tmpfs || !isMounted(v.hostPath)) continue;
    await run('umount', [v.hostPath]).catch(() => run('umount', ['-l', v.hostPath]));
  }
}

/** A container's mounts: its volumeMounts (with subPath) onto the pod's volumes. */
export function containerMounts(container: Container, volumes: ReadonlyMap<string, MountedVolume>, implicitToken: boolean): VolumeMount[] {
  const out: VolumeMount[] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new ContainerConfigError(`cannot find volume "${m.name}" to mount into container "${container.name}"`);
    let hostPath = v.hostPath;
    if (m.subPath) {
      const sub = normalize(m.subPath);
      if (sub.startsWith('..') || sub.startsWith('/')) throw new ContainerConfigError(`invalid subPath ${JSON.stringify(m.subPath)}`);
      hostPath = join(v.hostPath, sub);
      if (!existsSync(hostPath)) mkdirSync(hostPath, { recursive: true, mode: 0o755 });
    }
    out.push({ hostPath, containerPath: m.mountPath, readOnly: m.readOnly ?? (v.readOnly === true && !m.subPath ? true : undefined) });
  }
  if (implicitToken) {
    const v = volumes.get(IMPLICIT_TOKEN_VOLUME);
    if (v) out.push({ hostPath: v.hostPath, containerPath: SERVICE_ACCOUNT_MOUNT, readOnly: true });
  }
  return out;
}
