// The OCI config.json of one container, from its pod spec, its image's config and the pod sandbox,
// following what the kubelet + containerd produce on cgroup v1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, PodSecurityContext } from 'kubernetes-types/core/v1.js';
import { milliValue, parseQuantity, value } from '../../api/quantity.js';

/** The parts of an OCI image config (`config` of the image configuration JSON) a container uses. */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

export interface SpecMount {
  destination: string;
  type?: string;
  source: string;
  options?: string[];
}

/** The subset of the OCI runtime spec we write. */
export interface OCISpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
    rlimits?: Array<{ type: string; hard: number; soft: number }>;
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: SpecMount[];
  annotations?: Record<string, string>;
  linux: {
    namespaces: Array<{ type: string; path?: string }>;
    cgroupsPath: string;
    resources: {
      devices: Array<{ allow: boolean; access?: string; type?: string; major?: number; minor?: number }>;
      memory?: { limit?: number; swap?: number };
      cpu?: { shares?: number; quota?: number; period?: number };
      pids?: { limit: number };
    };
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
}

/** The pod sandbox a container joins (see src/node/sandbox). */
export interface SandboxRef {
  /** the pod's network namespace; absent for hostNetwork pods */
  netnsPath?: string;
  hostNetwork: boolean;
  hostname: string;
  /** holds the pod's `hosts`, `resolv.conf` and `hostname` files */
  dir: string;
}

export interface VolumeMount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface ContainerSpecInput {
  container: Container;
  /**
   * The container's environment as resolved by the agent (env + envFrom + valueFrom + service
   * variables), in order; defaults to the literal `value`s of `container.env`.
   */
  env?: Array<{ name: string; value: string }>;
  image?: ImageConfig;
  podSecurityContext?: PodSecurityContext;
  /** the container's root filesystem (the overlay's merged dir) */
  rootfs: string;
  sandbox: SandboxRef;
  /** cgroup path relative to each v1 hierarchy, e.g. `/timonel/pod<uid>/<container id>` */
  cgroupsPath: string;
  volumeMounts?: VolumeMount[];
  /** the host's bounding capability set (default: CapBnd of this process) */
  hostCapabilities?: ReadonlySet<string>;
  /** the kubelet's podPidsLimit applied per container (default: none) */
  pidsLimit?: number;
  /** whether memory.memsw exists, so swap can be limited to the memory limit (default: detect) */
  swapAccounting?: boolean;
  annotations?: Record<string, string>;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** containerd's (and Docker's) default capability set for a container. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Capability names by number (linux/capability.h). */
export const CAPABILITY_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Capabilities in a `CapXxx:` hex mask of /proc/<pid>/status. */
export function capabilitiesFromMask(hex: string): Set<string> {
  const mask = BigInt(`0x${hex}`);
  const set = new Set<string>();
  CAPABILITY_NAMES.forEach((name, bit) => {
    if (mask & (1n << BigInt(bit))) set.add(name);
  });
  return set;
}

let hostBounding: Set<string> | undefined;
/** This process's bounding set: what any container of ours can be given. */
export function hostCapabilities(): ReadonlySet<string> {
  if (!hostBounding) {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    hostBounding = m ? capabilitiesFromMask(m[1]) : new Set(DEFAULT_CAPABILITIES);
  }
  return hostBounding;
}

const capName = (c: string) => {
  const up = c.toUpperCase();
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
};

/** The container's capabilities: defaults, then drop, then add (as containerd), kept within the host's set. */
export function containerCapabilities(container: Container, host: ReadonlySet<string>): string[] {
  const sc = container.securityContext;
  if (sc?.privileged) return CAPABILITY_NAMES.filter((c) => host.has(c));
  const drop = (sc?.capabilities?.drop ?? []).map(capName);
  const add = (sc?.capabilities?.add ?? []).map(capName);
  let caps = new Set(drop.includes('CAP_ALL') ? [] : DEFAULT_CAPABILITIES);
  for (const c of drop) caps.delete(c);
  if (add.includes('CAP_ALL')) caps = new Set(CAPABILITY_NAMES);
  for (const c of add) if (c !== 'CAP_ALL') caps.add(c);
  return CAPABILITY_NAMES.filter((c) => caps.has(c) && host.has(c));
}

/**
 * `$(VAR)` references expanded from `lookup`; `$$` escapes a `$`; unknown references stay as written
 * (Kubernetes' rules for command, args and env values).
 */
export function expandVariableReferences(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v ?? `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

/** command/args over the image's Entrypoint/Cmd, as Kubernetes does. */
export function resolveProcessArgs(container: Container, image: ImageConfig = {}, env: ReadonlyMap<string, string> = new Map()): string[] {
  const expand = (list: string[]) => list.map((s) => expandVariableReferences(s, (n) => env.get(n)));
  const command = container.command?.length ? expand(container.command) : undefined;
  const args = container.args?.length ? expand(container.args) : undefined;
  if (command) return [...command, ...(args ?? [])];
  return [...(image.Entrypoint ?? []), ...(args ?? image.Cmd ?? [])];
}

/** The image's Env with the container's variables over it (same name: the container wins). */
export function mergeEnv(imageEnv: readonly string[] | null | undefined, containerEnv: ReadonlyArray<{ name: string; value: string }>): string[] {
  const merged = new Map<string, string>();
  merged.set('PATH', DEFAULT_PATH);
  for (const kv of imageEnv ?? []) {
    const eq = kv.indexOf('=');
    merged.set(eq < 0 ? kv : kv.slice(0, eq), kv);
  }
  for (const { name, value: v } of containerEnv) merged.set(name, `${name}=${v}`);
  return [...merged.values()];
}

/** uid/gid from securityContext, else the image's User (numeric or looked up in the rootfs's /etc/passwd, /etc/group). */
export function resolveUser(
  container: Container,
  pod: PodSecurityContext | undefined,
  image: ImageConfig | undefined,
  rootfs: string,
): { uid: number; gid: number; additionalGids: number[] } {
  const sc = container.securityContext;
  const [userPart, groupPart] = (image?.User ?? '').split(':');
  let uid = sc?.runAsUser ?? pod?.runAsUser;
  let passwdGid: number | undefined;
  if (uid === undefined && userPart) {
    if (/^\d+$/.test(userPart)) uid = Number(userPart);
    else {
      const entry = lookupFile(join(rootfs, 'etc/passwd'), userPart);
      if (!entry) throw new Error(`unable to find user ${userPart}: no matching entries in passwd file`);
      uid = Number(entry[2]);
      passwdGid = Number(entry[3]);
    }
  } else if (uid !== undefined) {
    const entry = lookupFile(join(rootfs, 'etc/passwd'), String(uid), 2);
    if (entry) passwdGid = Number(entry[3]);
  }
  let gid = sc?.runAsGroup ?? pod?.runAsGroup;
  if (gid === undefined && groupPart) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const entry = lookupFile(join(rootfs, 'etc/group'), groupPart);
      if (!entry) throw new Error(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(entry[2]);
    }
  }
  const additional = new Set<number>(pod?.supplementalGroups ?? []);
  if (pod?.fsGroup !== undefined) additional.add(pod.fsGroup);
  return { uid: uid ?? 0, gid: gid ?? passwdGid ?? 0, additionalGids: [...additional] };
}

function lookupFile(path: string, key: string, field = 0): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const parts = line.split(':');
    if (parts.length >= 3 && parts[field] === key) return parts;
  }
  return undefined;
}

const MIN_SHARES = 2;
const SHARES_PER_CPU = 1024;
const QUOTA_PERIOD = 100_000;
const MIN_QUOTA_PERIOD = 1_000;

/** The kubelet's conversion of a CPU request (millicores) to cpu.shares. */
export function milliCPUToShares(milliCPU: number): number {
  if (milliCPU === 0) return MIN_SHARES;
  return Math.max(MIN_SHARES, Math.floor((milliCPU * SHARES_PER_CPU) / 1000));
}

/** The kubelet's conversion of a CPU limit (millicores) to a CFS quota for `period` µs (0: no limit). */
export function milliCPUToQuota(milliCPU: number, period = QUOTA_PERIOD): number {
  if (milliCPU === 0) return 0;
  return Math.max(MIN_QUOTA_PERIOD, Math.floor((milliCPU * period) / 1000));
}

/** cgroup resources for a container's requests and limits, as the kubelet sets them. */
export function containerResources(container: Container, opts: { pidsLimit?: number; swapAccounting?: boolean } = {}): OCISpec['linux']['resources'] {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const milli = (q: string | number | undefined) => (q === undefined ? undefined : Number(milliValue(parseQuantity(q))));
  const bytes = (q: string | number | undefined) => (q === undefined ? undefined : Number(value(parseQuantity(q))));
  const cpuLimit = milli(limits.cpu);
  // The API defaults a missing request to the limit.
  const cpuRequest = milli(requests.cpu) ?? cpuLimit ?? 0;
  const resources: OCISpec['linux']['resources'] = {
    devices: [{ allow: false, access: 'rwm' }],
    cpu: { shares: milliCPUToShares(cpuRequest) },
  };
  if (cpuLimit !== undefined) Object.assign(resources.cpu!, { quota: milliCPUToQuota(cpuLimit), period: QUOTA_PERIOD });
  const memoryLimit = bytes(limits.memory);
  if (memoryLimit !== undefined && memoryLimit > 0) {
    resources.memory = { limit: memoryLimit };
    if (opts.swapAccounting) resources.memory.swap = memoryLimit;
  }
  if (opts.pidsLimit !== undefined && opts.pidsLimit > 0) resources.pids = { limit: opts.pidsLimit };
  return resources;
}

/** Device nodes every container gets (runc's default allow list). */
const DEFAULT_DEVICES: OCISpec['linux']['resources']['devices'] = [
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts
];

const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

let memswPresent: boolean | undefined;
function swapAccountingPresent(): boolean {
  if (memswPresent === undefined) {
    try {
      readFileSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
      memswPresent = true;
    } catch {
      memswPresent = false;
    }
  }
  return memswPresent;
}

export function buildOCISpec(input: ContainerSpecInput): OCISpec {
  const { container, sandbox } = input;
  const sc = container.securityContext;
  const privileged = sc?.privileged === true;
  const env = input.env ?? (container.env ?? []).map((e) => ({ name: e.name, value: e.value ?? '' }));
  const envMap = new Map(env.map((e) => [e.name, e.value]));
  const args = resolveProcessArgs(container, input.image, envMap);
  if (args.length === 0) throw new Error('no command specified');
  const user = resolveUser(container, input.podSecurityContext, input.image, input.rootfs);
  const caps = containerCapabilities(container, input.hostCapabilities ?? hostCapabilities());

  const mounts: SpecMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    // sysfs can only be mounted by the owner of the network namespace; host-network pods bind the host's.
    sandbox.hostNetwork
      ? { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
    { destination: '/etc/hosts', type: 'bind', source: join(sandbox.dir, 'hosts'), options: ['rbind', 'rprivate', 'rw'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: join(sandbox.dir, 'resolv.conf'), options: ['rbind', 'rprivate', 'rw'] },
    { destination: '/etc/hostname', type: 'bind', source: join(sandbox.dir, 'hostname'), options: ['rbind', 'rprivate', 'rw'] },
  ];
  for (const m of input.volumeMounts ?? []) {
    mounts.push({ destination: m.containerPath, type: 'bind', source: m.hostPath, options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'] });
  }

  const namespaces: OCISpec['linux']['namespaces'] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'mount' }];
  if (!sandbox.hostNetwork) {
    namespaces.push({ type: 'uts' });
    if (sandbox.netnsPath) namespaces.push({ type: 'network', path: sandbox.netnsPath });
    else namespaces.push({ type: 'network' });
  }

  const resources = containerResources(container, { pidsLimit: input.pidsLimit, swapAccounting: input.swapAccounting ?? swapAccountingPresent() });
  resources.devices = privileged ? [{ allow: true, access: 'rwm' }] : [...resources.devices, ...DEFAULT_DEVICES];

  const spec: OCISpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: user.additionalGids.length ? user : { uid: user.uid, gid: user.gid },
      args,
      env: mergeEnv(input.image?.Env, [{ name: 'HOSTNAME', value: sandbox.hostname }, ...env]),
      cwd: container.workingDir || input.image?.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      noNewPrivileges: !privileged && sc?.allowPrivilegeEscalation === false,
    },
    root: { path: input.rootfs, readonly: sc?.readOnlyRootFilesystem === true },
    mounts,
    linux: { namespaces, cgroupsPath: input.cgroupsPath, resources },
  };
  if (!sandbox.hostNetwork) spec.hostname = sandbox.hostname;
  if (!privileged) {
    spec.linux.maskedPaths = MASKED_PATHS;
    spec.linux.readonlyPaths = READONLY_PATHS;
  }
  if (input.annotations) spec.annotations = input.annotations;
  return spec;
}
