// ServiceAccount admission: a new pod runs as `default` unless it names an account; the account must
// exist (the default one is looked for a few times, since its controller creates it right after the
// namespace); unless automounting is off (pod, else account), every container mounts a projected
// `kube-api-access-<random>` volume (a bound token, the cluster CA, the namespace) at
// /var/run/secrets/kubernetes.io/serviceaccount; the account's imagePullSecrets are copied.
import type { Container, PodSpec, ServiceAccount, Volume } from 'kubernetes-types/core/v1.js';
import { generateName } from '../../api/names.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { AdmissionPlugin, Registry } from '../registry.js';
import { admissionForbidden, podSpecOf } from './common.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const SERVICE_ACCOUNT_TOKEN_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
export const TOKEN_VOLUME_PREFIX = 'kube-api-access-';
const MIRROR_POD = 'kubernetes.io/config.mirror';

export interface ServiceAccountAdmissionOptions {
  /**
   * Refuse pods whose account does not exist (upstream; default true). A cluster without the
   * serviceaccount controller may pass false: the pod is admitted and defaulted all the same.
   */
  requireServiceAccount?: boolean;
  /** lookups of the default account before giving up (upstream 10, 100-200 ms apart) */
  defaultAttempts?: number;
  retryIntervalMs?: number;
}

export function tokenVolume(name: string): Volume {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

/** Adds the token volume and its mounts (upstream mountServiceAccountToken). */
export function mountServiceAccountToken(spec: PodSpec): void {
  const existing = (spec.volumes ?? []).find((v) => v.name.startsWith(TOKEN_VOLUME_PREFIX));
  const names = new Set((spec.volumes ?? []).map((v) => v.name));
  let volumeName = existing?.name;
  while (!volumeName || (!existing && names.has(volumeName))) volumeName = generateName(TOKEN_VOLUME_PREFIX);
  let needed = false;
  const mount = (c: Container) => {
    if ((c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_TOKEN_MOUNT)) return;
    c.volumeMounts = [...(c.volumeMounts ?? []), { name: volumeName!, readOnly: true, mountPath: SERVICE_ACCOUNT_TOKEN_MOUNT }];
    needed = true;
  };
  for (const c of spec.initContainers ?? []) mount(c);
  for (const c of spec.containers ?? []) mount(c);
  if (needed && !existing) spec.volumes = [...(spec.volumes ?? []), tokenVolume(volumeName)];
}

export function serviceAccountAdmission(serviceAccountKind: () => KindInfo | undefined, opts: ServiceAccountAdmissionOptions = {}): AdmissionPlugin {
  const required = opts.requireServiceAccount ?? true;
  const attempts = opts.defaultAttempts ?? 10;

  const lookup = async (reg: Registry, kind: KindInfo, ns: string, name: string): Promise<ServiceAccount | undefined> => {
    const n = name === DEFAULT_SERVICE_ACCOUNT && required ? attempts : 1;
    const interval = opts.retryIntervalMs ?? 100 + Math.floor(Math.random() * 100);
    for (let i = 0; i < n; i++) {
      if (i) await new Promise((r) => setTimeout(r, interval));
      const item = await reg.getItem(kind, ns, name);
      if (item) return item.obj as ServiceAccount;
    }
    return undefined;
  };

  return {
    name: 'ServiceAccount',
    async admit(op, info, obj: KubeObject, _old, reg) {
      if (op !== 'create' || info.group !== '' || info.resource !== 'pods') return;
      const spec = podSpecOf(obj);
      if (!spec) return;
      if (obj.metadata?.annotations?.[MIRROR_POD] !== undefined) {
        if (spec.serviceAccountName) throw admissionForbidden(op, info, obj, 'a mirror pod may not reference service accounts');
        if ((spec.volumes ?? []).some((v) => v.secret)) throw admissionForbidden(op, info, obj, 'a mirror pod may not reference secrets');
        return;
      }
      const ns = obj.metadata?.namespace;
      const kind = serviceAccountKind();
      if (!ns || !kind) return;
      spec.serviceAccountName ||= DEFAULT_SERVICE_ACCOUNT;
      spec.serviceAccount = spec.serviceAccountName;
      const sa = await lookup(reg, kind, ns, spec.serviceAccountName);
      if (!sa && required)
        throw admissionForbidden(op, info, obj, `error looking up service account ${ns}/${spec.serviceAccountName}: serviceaccount "${spec.serviceAccountName}" not found`);
      // no token can be issued for an account that does not exist (only admitted when not required)
      const automount = sa !== undefined && (spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true);
      if (automount) mountServiceAccountToken(spec);
      if (!spec.imagePullSecrets?.length && sa?.imagePullSecrets?.length) spec.imagePullSecrets = sa.imagePullSecrets.map((s) => ({ ...s }));
    },
  };
}
