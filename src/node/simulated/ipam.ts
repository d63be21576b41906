// Addresses of simulated nodes: node i gets host IP 172.16.0.0/12 + i + 1 and pod CIDR
// 10.(128 + i/256).(i%256).0/24 (clear of the default service range 10.96.0.0/12); pod IPs are
// handed out from .2 to .254 of its CIDR and given back when the pod goes away.

export const MAX_SIMULATED_NODE_INDEX = 127 * 256;

const ipv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export function hostIPFor(index: number): string {
  return ipv4((0xac100000 + index + 1) >>> 0);
}

export function podCIDRFor(index: number): string {
  return `10.${128 + (index >> 8)}.${index & 255}.0/24`;
}

export class PodIPAllocator {
  private readonly prefix: string;
  private readonly used = new Set<number>();
  private cursor = 2;

  constructor(cidr: string) {
    this.prefix = cidr.split('/')[0].split('.').slice(0, 3).join('.');
  }

  /** The next free address, or undefined when all 253 are in use. */
  allocate(): string | undefined {
    for (let i = 0; i < 253; i++) {
      const host = this.cursor;
      this.cursor = this.cursor >= 254 ? 2 : this.cursor + 1;
      if (!this.used.has(host)) {
        this.used.add(host);
        return `${this.prefix}.${host}`;
      }
    }
    return undefined;
  }

  /** Marks an address (seen on an existing pod) as taken; false when it is not from this range. */
  reserve(ip: string): boolean {
    const host = this.hostOf(ip);
    if (host === undefined) return false;
    this.used.add(host);
    return true;
  }

  release(ip: string | undefined): void {
    const host = ip ? this.hostOf(ip) : undefined;
    if (host !== undefined) this.used.delete(host);
  }

  get inUse(): number {
    return this.used.size;
  }

  private hostOf(ip: string): number | undefined {
    const i = ip.lastIndexOf('.');
    if (i < 0 || ip.slice(0, i) !== this.prefix) return undefined;
    const host = Number(ip.slice(i + 1));
    return Number.isInteger(host) && host >= 2 && host <= 254 ? host : undefined;
  }
}
