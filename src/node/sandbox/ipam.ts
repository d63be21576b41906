// Host-local IPAM for the node's pod CIDR, persisted as JSON so allocations survive an agent
// restart. An address is never handed out while a pod holds it; freed addresses are reused only
// after the rest of the range (a cursor walks forward), as the CNI host-local plugin does.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

interface IPAMFile {
  cidr: string;
  /** pod IP → pod UID */
  allocations: Record<string, string>;
  last?: string;
}

export const ipv4ToInt = (ip: string): number => ip.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
export const intToIPv4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export interface ParsedCIDR {
  network: number;
  prefix: number;
  /** network + 1: the bridge's address and the pods' default route */
  gateway: string;
  first: number;
  last: number;
}

export function parseCIDR(cidr: string): ParsedCIDR {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!m || Number(m[2]) > 30) throw new Error(`invalid IPv4 pod CIDR ${JSON.stringify(cidr)} (need a.b.c.d/n with n ≤ 30)`);
  const prefix = Number(m[2]);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (ipv4ToInt(m[1]) & mask) >>> 0;
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  return { network, prefix, gateway: intToIPv4(network + 1), first: network + 2, last: broadcast - 1 };
}

export class PodIPAM {
  private data: IPAMFile;
  readonly range: ParsedCIDR;

  /** Opens (or creates) the allocation file at `path` for `cidr`; a file for another CIDR is an error. */
  constructor(
    readonly path: string,
    readonly cidr: string,
  ) {
    this.range = parseCIDR(cidr);
    let data: IPAMFile | undefined;
    try {
      data = JSON.parse(readFileSync(path, 'utf8')) as IPAMFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (data && data.cidr !== cidr) throw new Error(`${path} holds allocations for ${data.cidr}, not ${cidr}`);
    this.data = data ?? { cidr, allocations: {} };
  }

  /** The pod's address: the one it already holds, else the next free one. Throws when the range is full. */
  allocate(podUID: string): string {
    const held = this.ipOf(podUID);
    if (held) return held;
    const { first, last } = this.range;
    const size = last - first + 1;
    const start = this.data.last ? ipv4ToInt(this.data.last) + 1 : first;
    for (let i = 0; i < size; i++) {
      let n = start + i;
      if (n > last || n < first) n = first + ((n - first) % size + size) % size;
      const ip = intToIPv4(n);
      if (this.data.allocations[ip] === undefined) {
        this.data.allocations[ip] = podUID;
        this.data.last = ip;
        this.save();
        return ip;
      }
    }
    throw new Error(`no free pod IP in ${this.cidr}`);
  }

  release(podUID: string): void {
    const ip = this.ipOf(podUID);
    if (!ip) return;
    delete this.data.allocations[ip];
    this.save();
  }

  ipOf(podUID: string): string | undefined {
    return Object.keys(this.data.allocations).find((ip) => this.data.allocations[ip] === podUID);
  }

  allocations(): ReadonlyMap<string, string> {
    return new Map(Object.entries(this.data.allocations));
  }

  private save(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 1));
    renameSync(tmp, this.path);
  }
}
