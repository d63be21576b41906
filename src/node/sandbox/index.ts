// Pod sandboxes: a network namespace per pod (`ip netns`), joined to the node's bridge by a veth
// pair, with the pod IP from the node's pod CIDR; plus the pod's hosts/resolv.conf/hostname files.
// Pod egress masquerade is not set up here yet.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname as osHostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostAlias } from 'kubernetes-types/core/v1.js';
import { hostsFile, resolvConf } from './files.js';
import { parseCIDR, PodIPAM } from './ipam.js';

export { hostsFile, resolvConf, type HostsFileOptions, type ResolvConfOptions } from './files.js';
export { intToIPv4, ipv4ToInt, parseCIDR, PodIPAM, type ParsedCIDR } from './ipam.js';

const execFileP = promisify(execFile);

export interface PodSandboxesOptions {
  /** the agent's state dir: `sandboxes/<pod uid>/` and `ipam.json` live under it */
  stateDir: string;
  /** the node's pod CIDR (default 10.42.0.0/24); the bridge takes its first address */
  podCIDR?: string;
  /** bridge name (default `timonel0`) */
  bridge?: string;
  /** netns names are `<prefix><pod uid>` (default `timonel-`) */
  netnsPrefix?: string;
  /** set net.ipv4.ip_forward=1 and friends (default true) */
  hostSysctls?: boolean;
  /** hostNetwork pods' IP (default: the first non-internal IPv4 address) */
  hostIP?: string;
}

export interface SandboxOptions {
  name: string;
  namespace: string;
  /** default: the pod name (the node's hostname for hostNetwork pods) */
  hostname?: string;
  /** with `subdomain`, the hosts file carries `<hostname>.<subdomain>.<namespace>.svc.<clusterDomain>` */
  subdomain?: string;
  clusterDomain?: string;
  hostNetwork?: boolean;
  /** cluster DNS; without it the node's /etc/resolv.conf is copied */
  dnsServers?: string[];
  searches?: string[];
  dnsOptions?: string[];
  hostAliases?: HostAlias[];
}

export interface PodSandbox {
  podUID: string;
  /** `/run/netns/<name>`; absent for hostNetwork pods */
  netnsPath?: string;
  netnsName?: string;
  /** the host end of the veth pair */
  hostVeth?: string;
  ip: string;
  hostNetwork: boolean;
  hostname: string;
  /** holds `hosts`, `resolv.conf`, `hostname` */
  dir: string;
}

export class PodSandboxes {
  readonly bridge: string;
  readonly ipam: PodIPAM;
  private readonly prefix: string;
  private bridgeReady = false;

  constructor(private readonly opts: PodSandboxesOptions) {
    this.bridge = opts.bridge ?? 'timonel0';
    this.prefix = opts.netnsPrefix ?? 'timonel-';
    this.ipam = new PodIPAM(join(opts.stateDir, 'ipam.json'), opts.podCIDR ?? '10.42.0.0/24');
  }

  get gateway(): string {
    return this.ipam.range.gateway;
  }

  netnsName(podUID: string): string {
    return `${this.prefix}${podUID}`;
  }

  /** A veth name within IFNAMSIZ (15), stable for the pod. */
  hostVethName(podUID: string): string {
    return `veth${createHash('sha256').update(this.prefix + podUID).digest('hex').slice(0, 11)}`;
  }

  sandboxDir(podUID: string): string {
    return join(this.opts.stateDir, 'sandboxes', podUID);
  }

  /** Creates (or completes) the pod's sandbox; idempotent for one pod UID. */
  async createSandbox(podUID: string, o: SandboxOptions): Promise<PodSandbox> {
    const dir = this.sandboxDir(podUID);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (o.hostNetwork) {
      const hostname = o.hostname ?? osHostname();
      const ip = this.opts.hostIP ?? firstHostIPv4();
      this.writeFiles(dir, o, hostname, ip, true);
      return { podUID, ip, hostNetwork: true, hostname, dir };
    }
    const hostname = o.hostname ?? o.name;
    await this.ensureBridge();
    const ip = this.ipam.allocate(podUID);
    const netnsName = this.netnsName(podUID);
    const netnsPath = `/run/netns/${netnsName}`;
    const hostVeth = this.hostVethName(podUID);
    try {
      // Two `ip` processes, not one per step: spawning one costs tens of milliseconds on a busy node.
      const host: string[][] = [];
      if (!existsSync(netnsPath)) host.push(['netns', 'add', netnsName]);
      if (!linkExists(hostVeth)) host.push(['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netnsName]);
      host.push(['link', 'set', 'dev', hostVeth, 'master', this.bridge], ['link', 'set', 'dev', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on'], ['link', 'set', 'dev', hostVeth, 'up']);
      await ipBatch(host);
      await ipBatch(
        [
          ['link', 'set', 'dev', 'lo', 'up'],
          ['addr', 'replace', `${ip}/${this.ipam.range.prefix}`, 'dev', 'eth0'],
          ['link', 'set', 'dev', 'eth0', 'up'],
          ['route', 'replace', 'default', 'via', this.gateway, 'dev', 'eth0'],
        ],
        netnsName,
      );
    } catch (err) {
      await this.destroySandbox(podUID).catch(() => {});
      throw err;
    }
    this.writeFiles(dir, o, hostname, ip, false);
    return { podUID, netnsPath, netnsName, hostVeth, ip, hostNetwork: false, hostname, dir };
  }

  /** Removes the pod's netns (and with it the veth pair), its IP allocation and its files. Idempotent. */
  async destroySandbox(podUID: string): Promise<void> {
    // Deleting one end of the veth pair deletes both, at once (a netns goes away asynchronously).
    const hostVeth = this.hostVethName(podUID);
    const netnsName = this.netnsName(podUID);
    const cmds: string[][] = [];
    if (linkExists(hostVeth)) cmds.push(['link', 'delete', 'dev', hostVeth]);
    if (existsSync(`/run/netns/${netnsName}`)) cmds.push(['netns', 'delete', netnsName]);
    if (cmds.length) await ipBatch(cmds, undefined, { force: true });
    this.ipam.release(podUID);
    rmSync(this.sandboxDir(podUID), { recursive: true, force: true });
  }

  /** Deletes the bridge (node shutdown, tests). */
  async deleteBridge(): Promise<void> {
    if (linkExists(this.bridge)) await ip_('link', 'delete', this.bridge, 'type', 'bridge');
    this.bridgeReady = false;
  }

  async ensureBridge(): Promise<void> {
    if (this.bridgeReady) return;
    await ensureNodeBridge({ bridge: this.bridge, podCIDR: this.ipam.cidr, hostSysctls: this.opts.hostSysctls });
    this.bridgeReady = true;
  }

  private writeFiles(dir: string, o: SandboxOptions, hostname: string, ip: string, hostNetwork: boolean): void {
    const fqdn = o.subdomain ? `${hostname}.${o.subdomain}.${o.namespace}.svc.${o.clusterDomain ?? 'cluster.local'}` : undefined;
    writeFileSync(join(dir, 'hosts'), hostsFile({ ip, hostname, fqdn, hostAliases: o.hostAliases, hostNetwork }), { mode: 0o644 });
    writeFileSync(join(dir, 'resolv.conf'), resolvConf({ nameservers: o.dnsServers, searches: o.searches, options: o.dnsOptions }), { mode: 0o644 });
    writeFileSync(join(dir, 'hostname'), `${hostname}\n`, { mode: 0o644 });
  }
}

export interface NodeBridgeOptions {
  /** default `timonel0` */
  bridge?: string;
  /** default 10.42.0.0/24 */
  podCIDR?: string;
  /** default true */
  hostSysctls?: boolean;
}

/**
 * Creates (or completes) the node's pod bridge holding the pod CIDR's gateway address, and returns
 * that address: node services pods reach directly (the API server, cluster DNS) listen on it.
 */
export async function ensureNodeBridge(o: NodeBridgeOptions = {}): Promise<string> {
  const bridge = o.bridge ?? 'timonel0';
  const range = parseCIDR(o.podCIDR ?? '10.42.0.0/24');
  await ipBatch([
    ...(linkExists(bridge) ? [] : [['link', 'add', 'name', bridge, 'type', 'bridge']]),
    ['addr', 'replace', `${range.gateway}/${range.prefix}`, 'dev', bridge],
    ['link', 'set', 'dev', bridge, 'up'],
  ]);
  if (o.hostSysctls ?? true) {
    writeSysctl('net/ipv4/ip_forward', '1');
    // NodePorts on 127.0.0.1 are DNATed to pod IPs.
    writeSysctl('net/ipv4/conf/all/route_localnet', '1');
    // A pod reaching a ClusterIP whose endpoint is on this bridge gets the reply un-DNATed only when
    // bridged traffic passes the IP hooks (as kube-proxy requires); absent without br_netfilter.
    if (existsSync('/proc/sys/net/bridge')) writeSysctl('net/bridge/bridge-nf-call-iptables', '1');
  }
  return range.gateway;
}

async function ip_(...args: string[]): Promise<void> {
  try {
    await execFileP('ip', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/**
 * Runs `ip` commands in one `ip -batch` process (in netns `netns` when given); it stops at the first
 * failing command unless `force`, and the error names the (first) failing command. Arguments must not
 * hold whitespace or quotes (names, addresses and keywords do not).
 */
export async function ipBatch(commands: readonly (readonly string[])[], netns?: string, o: { force?: boolean } = {}): Promise<void> {
  if (commands.length === 0) return;
  const script = commands.map((c) => c.join(' ')).join('\n') + '\n';
  const args = [...(netns ? ['-n', netns] : []), ...(o.force ? ['-force'] : []), '-batch', '-'];
  await new Promise<void>((resolve, reject) => {
    const child = execFile('ip', args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      // `Command failed -:N` names the failing line
      const line = /Command failed -:(\d+)/.exec(stderr);
      const cmd = line ? commands[Number(line[1]) - 1] : undefined;
      const what = cmd ? `ip ${netns ? `-n ${netns} ` : ''}${cmd.join(' ')}` : `ip ${args.join(' ')}`;
      const msg = stderr.replace(/Command failed -:\d+\s*/g, '').trim() || err.message;
      reject(new Error(`${what}: ${msg}`));
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(script);
  });
}

/** Whether a network interface of that name exists in the agent's network namespace. */
export function linkExists(name: string): boolean {
  if (existsSync('/sys/class/net')) return existsSync(`/sys/class/net/${name}`);
  return spawnSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

function writeSysctl(key: string, value: string): void {
  try {
    writeFileSync(`/proc/sys/${key}`, value);
  } catch {
    // Read-only /proc/sys (unprivileged): pods still reach each other over the bridge.
  }
}

function firstHostIPv4(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** `createSandbox`/`destroySandbox` for callers that hold one PodSandboxes per node. */
export const createSandbox = (sandboxes: PodSandboxes, podUID: string, o: SandboxOptions) => sandboxes.createSandbox(podUID, o);
export const destroySandbox = (sandboxes: PodSandboxes, podUID: string) => sandboxes.destroySandbox(podUID);
