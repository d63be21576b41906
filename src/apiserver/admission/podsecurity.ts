// Pod Security admission: the Pod Security Standards (privileged, baseline, restricted) chosen per
// namespace by the `pod-security.kubernetes.io/<mode>` labels. `enforce` refuses pods (403
// `violates PodSecurity "<level>:<version>": …`); `warn` answers with `Warning:` headers; workloads
// with a pod template (Deployment, Job, …) get warnings for both, as upstream. The checks and their
// wording follow k8s.io/pod-security-admission/policy; every check of the latest version applies
// whatever `-version` names.
import type { Container, EphemeralContainer, PodSpec, SecurityContext, Volume } from 'kubernetes-types/core/v1.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { AdmissionPlugin } from '../registry.js';
import { admissionForbidden } from './common.js';
import { NamespacedObjectCache } from './watch-cache.js';

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';
export interface PodSecurityPolicy {
  level: PodSecurityLevel;
  version: string;
}

const LABEL = 'pod-security.kubernetes.io/';
const LEVELS: PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];

/** The policy of one mode; an unknown level is enforced as restricted (fail closed), as upstream. */
export function policyFor(labels: Record<string, string> | undefined, mode: 'enforce' | 'warn' | 'audit'): PodSecurityPolicy {
  const level = labels?.[`${LABEL}${mode}`];
  const versionLabel = labels?.[`${LABEL}${mode}-version`];
  const version = versionLabel && /^(latest|v1\.\d+)$/.test(versionLabel) ? versionLabel : 'latest';
  if (level === undefined) return { level: 'privileged', version };
  return { level: (LEVELS as string[]).includes(level) ? (level as PodSecurityLevel) : 'restricted', version };
}

const policyText = (p: PodSecurityPolicy) => `${p.level}:${p.version}`;

export interface CheckResult {
  reason: string;
  detail: string;
}

type AnyContainer = Container | EphemeralContainer;
interface PodView {
  annotations: Record<string, string>;
  spec: PodSpec;
  containers: AnyContainer[];
}

const pluralize = (one: string, many: string, n: number) => (n === 1 ? one : many);
const joinQuote = (items: readonly (string | number)[]) => items.map((s) => `"${s}"`).join(', ');
const containersText = (names: string[]) => `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
const uniq = <T,>(xs: T[]) => [...new Set(xs)];
const sc = (c: AnyContainer): SecurityContext => c.securityContext ?? {};
const isWindows = (v: PodView) => v.spec.os?.name === 'windows';

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem',
]);
const RESTRICTED_VOLUME_TYPES_ALLOWED = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const APPARMOR_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';

type Check = (v: PodView) => CheckResult | undefined;

const allowPrivilegeEscalation: Check = (v) => {
  if (isWindows(v)) return undefined;
  const bad = v.containers.filter((c) => sc(c).allowPrivilegeEscalation !== false).map((c) => c.name);
  return bad.length ? { reason: 'allowPrivilegeEscalation != false', detail: `${containersText(bad)} must set securityContext.allowPrivilegeEscalation=false` } : undefined;
};

const appArmorProfile: Check = (v) => {
  const bad: string[] = [];
  const okAnnotation = (val: string) => val === 'runtime/default' || val.startsWith('localhost/');
  for (const [k, val] of Object.entries(v.annotations).sort()) if (k.startsWith(APPARMOR_PREFIX) && !okAnnotation(val)) bad.push(`${k}=${JSON.stringify(val)}`);
  if (v.spec.securityContext?.appArmorProfile?.type === 'Unconfined') bad.push('pod must not set securityContext.appArmorProfile.type to "Unconfined"');
  const cs = v.containers.filter((c) => sc(c).appArmorProfile?.type === 'Unconfined').map((c) => c.name);
  if (cs.length) bad.push(`${containersText(cs)} must not set securityContext.appArmorProfile.type to "Unconfined"`);
  return bad.length ? { reason: pluralize('forbidden AppArmor profile', 'forbidden AppArmor profiles', bad.length), detail: bad.join(', ') } : undefined;
};

const capabilitiesBaseline: Check = (v) => {
  const names: string[] = [];
  const caps: string[] = [];
  for (const c of v.containers) {
    const extra = (sc(c).capabilities?.add ?? []).filter((cap) => !BASELINE_CAPABILITIES.has(cap));
    if (extra.length) {
      names.push(c.name);
      caps.push(...extra);
    }
  }
  return names.length
    ? { reason: 'non-default capabilities', detail: `${containersText(names)} must not include ${joinQuote(uniq(caps))} in securityContext.capabilities.add` }
    : undefined;
};

const capabilitiesRestricted: Check = (v) => {
  if (isWindows(v)) return undefined;
  const noDrop: string[] = [];
  const addBad: string[] = [];
  const caps: string[] = [];
  for (const c of v.containers) {
    const capsOf = sc(c).capabilities;
    if (!(capsOf?.drop ?? []).includes('ALL')) noDrop.push(c.name);
    const extra = (capsOf?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (extra.length) {
      addBad.push(c.name);
      caps.push(...extra);
    }
  }
  const parts: string[] = [];
  if (noDrop.length) parts.push(`${containersText(noDrop)} must set securityContext.capabilities.drop=["ALL"]`);
  if (addBad.length) parts.push(`${containersText(addBad)} must not include ${joinQuote(uniq(caps))} in securityContext.capabilities.add`);
  return parts.length ? { reason: 'unrestricted capabilities', detail: parts.join('; ') } : undefined;
};

const hostNamespaces: Check = (v) => {
  const bad: string[] = [];
  if (v.spec.hostNetwork) bad.push('hostNetwork=true');
  if (v.spec.hostPID) bad.push('hostPID=true');
  if (v.spec.hostIPC) bad.push('hostIPC=true');
  return bad.length ? { reason: 'host namespaces', detail: bad.join(', ') } : undefined;
};

const hostPathVolumes: Check = (v) => {
  const bad = (v.spec.volumes ?? []).filter((vol) => vol.hostPath).map((vol) => vol.name);
  return bad.length ? { reason: 'hostPath volumes', detail: `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)}` } : undefined;
};

const hostPorts: Check = (v) => {
  const names: string[] = [];
  const ports = new Set<string>();
  for (const c of v.containers) {
    let found = false;
    for (const p of (c as Container).ports ?? [])
      if (p.hostPort) {
        found = true;
        ports.add(String(p.hostPort));
      }
    if (found) names.push(c.name);
  }
  if (!names.length) return undefined;
  const list = [...ports].sort();
  return {
    reason: 'hostPort',
    detail: `${containersText(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`,
  };
};

const privileged: Check = (v) => {
  const bad = v.containers.filter((c) => sc(c).privileged === true).map((c) => c.name);
  return bad.length ? { reason: 'privileged', detail: `${containersText(bad)} must not set securityContext.privileged=true` } : undefined;
};

const procMount: Check = (v) => {
  const bad = v.containers.filter((c) => sc(c).procMount !== undefined && sc(c).procMount !== 'Default');
  return bad.length
    ? { reason: 'procMount', detail: `${containersText(bad.map((c) => c.name))} must not set securityContext.procMount to ${joinQuote(uniq(bad.map((c) => sc(c).procMount!)))}` }
    : undefined;
};

const volumeType = (vol: Volume) => Object.keys(vol).find((k) => k !== 'name') ?? '';

const restrictedVolumes: Check = (v) => {
  const bad = (v.spec.volumes ?? []).filter((vol) => !RESTRICTED_VOLUME_TYPES_ALLOWED.has(volumeType(vol)));
  if (!bad.length) return undefined;
  const types = uniq(bad.map(volumeType));
  return {
    reason: pluralize('restricted volume type', 'restricted volume types', types.length),
    detail: `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad.map((b) => b.name))} ${pluralize('uses', 'use', bad.length)} ${pluralize('restricted volume type', 'restricted volume types', types.length)} ${joinQuote(types)}`,
  };
};

const runAsNonRoot: Check = (v) => {
  const parts: string[] = [];
  const pod = v.spec.securityContext?.runAsNonRoot;
  if (pod === false) parts.push('pod must not set securityContext.runAsNonRoot=false');
  const explicit = v.containers.filter((c) => sc(c).runAsNonRoot === false).map((c) => c.name);
  if (explicit.length) parts.push(`${containersText(explicit)} must not set securityContext.runAsNonRoot=false`);
  if (pod === undefined || pod === null) {
    const implicit = v.containers.filter((c) => sc(c).runAsNonRoot === undefined || sc(c).runAsNonRoot === null).map((c) => c.name);
    if (implicit.length) parts.push(`pod or ${containersText(implicit)} must set securityContext.runAsNonRoot=true`);
  }
  return parts.length ? { reason: 'runAsNonRoot != true', detail: parts.join('; ') } : undefined;
};

const runAsUser: Check = (v) => {
  const parts: string[] = [];
  if (v.spec.securityContext?.runAsUser === 0) parts.push('pod must not set runAsUser=0');
  const bad = v.containers.filter((c) => sc(c).runAsUser === 0).map((c) => c.name);
  if (bad.length) parts.push(`${containersText(bad)} must not set runAsUser=0`);
  return parts.length ? { reason: 'runAsUser=0', detail: parts.join('; ') } : undefined;
};

const seLinuxOptions: Check = (v) => {
  const setters: string[] = [];
  const badContainers: string[] = [];
  const types: string[] = [];
  let user = false;
  let role = false;
  const look = (o: SecurityContext['seLinuxOptions']) => {
    if (!o) return false;
    let bad = false;
    if (!SELINUX_TYPES.has(o.type ?? '')) {
      types.push(o.type ?? '');
      bad = true;
    }
    if (o.user) user = bad = true;
    if (o.role) role = bad = true;
    return bad;
  };
  if (look(v.spec.securityContext?.seLinuxOptions)) setters.push('pod');
  for (const c of v.containers) if (look(sc(c).seLinuxOptions)) badContainers.push(c.name);
  if (badContainers.length) setters.push(containersText(badContainers));
  if (!setters.length) return undefined;
  const details: string[] = [];
  if (types.length) details.push(`${pluralize('type', 'types', uniq(types).length)} ${joinQuote(uniq(types))}`);
  if (user) details.push('user may not be set');
  if (role) details.push('role may not be set');
  return { reason: 'seLinuxOptions', detail: `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${details.join('; ')}` };
};

const seccompBaseline: Check = (v) => {
  const setters: string[] = [];
  if (v.spec.securityContext?.seccompProfile?.type === 'Unconfined') setters.push('pod');
  const bad = v.containers.filter((c) => sc(c).seccompProfile?.type === 'Unconfined').map((c) => c.name);
  if (bad.length) setters.push(containersText(bad));
  return setters.length ? { reason: 'seccompProfile', detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to "Unconfined"` } : undefined;
};

const seccompRestricted: Check = (v) => {
  if (isWindows(v)) return undefined;
  const ok = (t: string | undefined) => t === 'RuntimeDefault' || t === 'Localhost';
  const parts: string[] = [];
  const podType = v.spec.securityContext?.seccompProfile?.type;
  if (podType !== undefined && !ok(podType)) parts.push(`pod must not set securityContext.seccompProfile.type to ${JSON.stringify(podType)}`);
  const explicit = v.containers.filter((c) => sc(c).seccompProfile?.type !== undefined && !ok(sc(c).seccompProfile?.type));
  if (explicit.length)
    parts.push(`${containersText(explicit.map((c) => c.name))} must not set securityContext.seccompProfile.type to ${joinQuote(uniq(explicit.map((c) => sc(c).seccompProfile!.type)))}`);
  if (podType === undefined) {
    const implicit = v.containers.filter((c) => sc(c).seccompProfile?.type === undefined).map((c) => c.name);
    if (implicit.length) parts.push(`pod or ${containersText(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`);
  }
  return parts.length ? { reason: 'seccompProfile', detail: parts.join('; ') } : undefined;
};

const sysctls: Check = (v) => {
  const bad = (v.spec.securityContext?.sysctls ?? []).map((s) => s.name).filter((n) => !SAFE_SYSCTLS.has(n));
  return bad.length ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
};

const windowsHostProcess: Check = (v) => {
  const podSet = v.spec.securityContext?.windowsOptions?.hostProcess === true;
  const bad = v.containers.filter((c) => sc(c).windowsOptions?.hostProcess === true).map((c) => c.name);
  if (!podSet && !bad.length) return undefined;
  const setters = [...(podSet ? ['pod'] : []), ...(bad.length ? [containersText(bad)] : [])];
  return { reason: 'hostProcess', detail: `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true` };
};

/** Checks by upstream ID (their order in messages), with the level that introduces them. */
const CHECKS: { id: string; level: 'baseline' | 'restricted'; check: Check; overriddenByRestricted?: boolean }[] = [
  { id: 'allowPrivilegeEscalation', level: 'restricted', check: allowPrivilegeEscalation },
  { id: 'appArmorProfile', level: 'baseline', check: appArmorProfile },
  { id: 'capabilities_baseline', level: 'baseline', check: capabilitiesBaseline },
  { id: 'capabilities_restricted', level: 'restricted', check: capabilitiesRestricted },
  { id: 'hostNamespaces', level: 'baseline', check: hostNamespaces },
  { id: 'hostPathVolumes', level: 'baseline', check: hostPathVolumes, overriddenByRestricted: true },
  { id: 'hostPorts', level: 'baseline', check: hostPorts },
  { id: 'privileged', level: 'baseline', check: privileged },
  { id: 'procMount', level: 'baseline', check: procMount },
  { id: 'restrictedVolumes', level: 'restricted', check: restrictedVolumes },
  { id: 'runAsNonRoot', level: 'restricted', check: runAsNonRoot },
  { id: 'runAsUser', level: 'restricted', check: runAsUser },
  { id: 'seLinuxOptions', level: 'baseline', check: seLinuxOptions },
  { id: 'seccompProfile_baseline', level: 'baseline', check: seccompBaseline, overriddenByRestricted: true },
  { id: 'seccompProfile_restricted', level: 'restricted', check: seccompRestricted },
  { id: 'sysctls', level: 'baseline', check: sysctls },
  { id: 'windowsHostProcess', level: 'baseline', check: windowsHostProcess },
];

/** Every failed check of `level` for a pod's metadata and spec. */
export function evaluatePod(level: PodSecurityLevel, meta: { annotations?: Record<string, string> } | undefined, spec: PodSpec | undefined): CheckResult[] {
  if (level === 'privileged' || !spec) return [];
  const view: PodView = {
    annotations: meta?.annotations ?? {},
    spec,
    containers: [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])],
  };
  const out: CheckResult[] = [];
  for (const c of CHECKS) {
    if (c.level === 'restricted' && level !== 'restricted') continue;
    if (c.overriddenByRestricted && level === 'restricted') continue;
    const r = c.check(view);
    if (r) out.push(r);
  }
  return out;
}

/** `violates PodSecurity "restricted:latest": reason (detail), …` (`would violate …` for warnings). */
export function violationText(p: PodSecurityPolicy, results: CheckResult[], verb = 'violates'): string {
  return `${verb} PodSecurity ${JSON.stringify(policyText(p))}: ${results.map((r) => (r.detail ? `${r.reason} (${r.detail})` : r.reason)).join(', ')}`;
}

interface Template {
  metadata?: { annotations?: Record<string, string> };
  spec?: PodSpec;
}

/** The pod template of a workload kind, as upstream's DefaultPodSpecExtractor finds it. */
function templateOf(info: KindInfo, obj: KubeObject): Template | undefined {
  const spec = obj.spec as Record<string, unknown> | undefined;
  const key = `${info.group}/${info.resource}`;
  switch (key) {
    case '/replicationcontrollers':
    case 'apps/deployments':
    case 'apps/replicasets':
    case 'apps/statefulsets':
    case 'apps/daemonsets':
    case 'batch/jobs':
      return spec?.template as Template | undefined;
    case 'batch/cronjobs':
      return ((spec?.jobTemplate as { spec?: { template?: Template } } | undefined)?.spec?.template) ?? undefined;
    case '/podtemplates':
      return (obj as { template?: Template }).template;
  }
  return undefined;
}

/** Upstream isSignificantPodUpdate: only container images (and their number) make an update worth checking. */
function significantPodUpdate(obj: KubeObject, old: KubeObject): boolean {
  const imgs = (o: KubeObject) => {
    const s = o.spec as PodSpec | undefined;
    return [...(s?.initContainers ?? []), ...(s?.containers ?? []), ...(s?.ephemeralContainers ?? [])].map((c) => c.image ?? '');
  };
  const a = imgs(obj);
  const b = imgs(old);
  return a.length !== b.length || a.some((x, i) => x !== b[i]);
}

export function podSecurityAdmission(namespaceKind: () => KindInfo | undefined): AdmissionPlugin {
  let cache: NamespacedObjectCache | undefined;
  return {
    name: 'PodSecurity',
    async admit(op, info, obj, old, reg, ctx = {}) {
      if (op === 'delete' || !info.namespaced || ctx.subresource) return;
      const isPod = info.group === '' && info.resource === 'pods';
      const template = isPod ? undefined : templateOf(info, obj);
      if (!isPod && !template) return;
      if (isPod && op === 'update' && old && !significantPodUpdate(obj, old)) return;
      if (!isPod && op === 'update' && old && JSON.stringify(templateOf(info, old)) === JSON.stringify(template)) return;
      const nsName = obj.metadata?.namespace;
      const nsKind = namespaceKind();
      if (!nsName || !nsKind) return;
      cache ??= new NamespacedObjectCache(reg, nsKind);
      const labels = (await cache.get('', nsName))?.metadata?.labels;
      if (!labels || !Object.keys(labels).some((k) => k.startsWith(LABEL))) return;
      const enforce = policyFor(labels, 'enforce');
      const warnPolicy = policyFor(labels, 'warn');
      const meta = isPod ? obj.metadata : template?.metadata;
      const spec = isPod ? (obj.spec as PodSpec | undefined) : template?.spec;
      const enforceResults = evaluatePod(enforce.level, meta, spec);
      if (enforceResults.length) {
        if (isPod) throw admissionForbidden(op, info, obj, violationText(enforce, enforceResults));
        ctx.warn?.(violationText(enforce, enforceResults, 'would violate'));
      }
      if (warnPolicy.level !== 'privileged' && policyText(warnPolicy) !== policyText(enforce)) {
        const results = evaluatePod(warnPolicy.level, meta, spec);
        if (results.length) ctx.warn?.(violationText(warnPolicy, results, 'would violate'));
      }
    },
  };
}
