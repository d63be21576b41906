// Service ClusterIPs and NodePorts: allocated by the API server from a service CIDR and the node port range.
// The allocation bitmaps are rebuilt from the stored Services on first use, so they survive restarts.
import { errInvalid, type FieldError } from '../../api/errors.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { AdmissionPlugin, Registry } from '../registry.js';

export interface ServiceAllocatorOptions {
  /** IPv4 CIDR for ClusterIPs (default 10.43.0.0/16) */
  serviceCIDR?: string;
  /** inclusive node port range (default 30000-32767) */
  nodePortRange?: [number, number];
}

interface ServicePort {
  nodePort?: number;
  [k: string]: unknown;
}
interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ipFamilyPolicy?: string;
  ports?: ServicePort[];
  externalTrafficPolicy?: string;
  healthCheckNodePort?: number;
}

const ipToInt = (ip: string): number | undefined => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
};
const intToIP = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** A range of integers with a set of taken ones and random free picks. */
class RangeAllocator {
  private readonly used = new Set<number>();
  constructor(
    readonly first: number,
    readonly last: number,
  ) {}
  has(n: number) {
    return this.used.has(n);
  }
  inRange(n: number) {
    return n >= this.first && n <= this.last;
  }
  take(n: number) {
    this.used.add(n);
  }
  release(n: number) {
    this.used.delete(n);
  }
  pick(): number | undefined {
    const size = this.last - this.first + 1;
    if (this.used.size >= size) return undefined;
    let n = this.first + Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++, n = n === this.last ? this.first : n + 1) if (!this.used.has(n)) return n;
    return undefined;
  }
}

const needsNodePorts = (s: ServiceSpec) => s.type === 'NodePort' || s.type === 'LoadBalancer';
const needsClusterIP = (s: ServiceSpec) => s.type !== 'ExternalName';

function ipsOf(s: ServiceSpec | undefined): number[] {
  const out: number[] = [];
  for (const ip of s?.clusterIPs ?? (s?.clusterIP ? [s.clusterIP] : [])) {
    const n = ipToInt(ip);
    if (n !== undefined) out.push(n);
  }
  return out;
}
function nodePortsOf(s: ServiceSpec | undefined): number[] {
  const out = (s?.ports ?? []).map((p) => p.nodePort).filter((n): n is number => typeof n === 'number' && n > 0);
  if (typeof s?.healthCheckNodePort === 'number' && s.healthCheckNodePort > 0) out.push(s.healthCheckNodePort);
  return out;
}

export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';

export function serviceAllocator(opts: ServiceAllocatorOptions = {}): AdmissionPlugin & { serviceCIDR: string; firstIP(): string } {
  const cidr = opts.serviceCIDR ?? DEFAULT_SERVICE_CIDR;
  const [base, bitsStr] = cidr.split('/');
  const bits = Number(bitsStr);
  const baseInt = ipToInt(base);
  if (baseInt === undefined || !(bits >= 8 && bits <= 30)) throw new Error(`service CIDR must be an IPv4 CIDR between /8 and /30, not ${cidr}`);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const net = (baseInt & mask) >>> 0;
  // network and broadcast addresses are never handed out
  const ips = new RangeAllocator(net + 1, (net | (~mask >>> 0)) - 1);
  const [pFirst, pLast] = opts.nodePortRange ?? [30000, 32767];
  const ports = new RangeAllocator(pFirst, pLast);
  let loaded: Promise<void> | undefined;

  const load = (reg: Registry, info: KindInfo) =>
    (loaded ??= (async () => {
      const all = await reg.list(info, undefined, {});
      for (const it of all.items) {
        const spec = it.obj.spec as ServiceSpec | undefined;
        for (const n of ipsOf(spec)) if (ips.inRange(n)) ips.take(n);
        for (const n of nodePortsOf(spec)) if (ports.inRange(n)) ports.take(n);
      }
    })());

  const isService = (info: KindInfo) => info.group === '' && info.resource === 'services';
  /** reservations made by admit for one object, undone by rollback */
  const pending = new WeakMap<KubeObject, { ips: number[]; ports: number[] }>();

  return {
    name: 'ServiceAllocator',
    serviceCIDR: cidr,
    firstIP: () => intToIP(net + 1),
    async admit(op, info, obj, old, reg) {
      if (!isService(info) || op === 'delete') return;
      await load(reg, info);
      const spec = (obj.spec ?? {}) as ServiceSpec;
      const oldSpec = old?.spec as ServiceSpec | undefined;
      const errs: FieldError[] = [];
      const mine = { ips: [] as number[], ports: [] as number[] };
      const oldIPs = new Set(ipsOf(oldSpec));
      const oldPorts = new Set(nodePortsOf(oldSpec));

      if (needsClusterIP(spec) && spec.clusterIP !== 'None') {
        if (!spec.clusterIP) {
          const n = ips.pick();
          if (n === undefined) errs.push({ field: 'spec.clusterIPs', type: 'FieldValueInvalid', value: [], detail: `failed to allocate IP: range is full (${cidr})` });
          else {
            ips.take(n);
            mine.ips.push(n);
            spec.clusterIP = intToIP(n);
            spec.clusterIPs = [spec.clusterIP];
          }
        } else if (!oldIPs.has(ipToInt(spec.clusterIP) ?? -1)) {
          const n = ipToInt(spec.clusterIP);
          if (n === undefined) errs.push({ field: 'spec.clusterIPs', type: 'FieldValueInvalid', value: [spec.clusterIP], detail: 'must be a valid IP address' });
          else if (!ips.inRange(n))
            errs.push({ field: 'spec.clusterIPs', type: 'FieldValueInvalid', value: [spec.clusterIP], detail: `failed to allocate IP ${spec.clusterIP}: provided IP is not in the valid range. The range of valid IPs is ${cidr}` });
          else if (ips.has(n)) errs.push({ field: 'spec.clusterIPs', type: 'FieldValueInvalid', value: [spec.clusterIP], detail: `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated` });
          else {
            ips.take(n);
            mine.ips.push(n);
            spec.clusterIPs = [spec.clusterIP];
          }
        }
      }
      if (needsClusterIP(spec)) {
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
      }

      if (needsNodePorts(spec)) {
        const seen = new Set<number>();
        (spec.ports ?? []).forEach((p, i) => {
          if (typeof p.nodePort === 'number' && p.nodePort > 0) {
            const n = p.nodePort;
            if (seen.has(n)) return; // the same node port for two protocols of one port is allowed upstream
            seen.add(n);
            if (oldPorts.has(n)) return;
            if (!ports.inRange(n))
              errs.push({ field: `spec.ports[${i}].nodePort`, type: 'FieldValueInvalid', value: n, detail: `provided port is not in the valid range. The range of valid ports is ${pFirst}-${pLast}` });
            else if (ports.has(n)) errs.push({ field: `spec.ports[${i}].nodePort`, type: 'FieldValueInvalid', value: n, detail: 'provided port is already allocated' });
            else {
              ports.take(n);
              mine.ports.push(n);
            }
          } else {
            const n = ports.pick();
            if (n === undefined) errs.push({ field: `spec.ports[${i}].nodePort`, type: 'FieldValueInvalid', value: 0, detail: 'range is full' });
            else {
              ports.take(n);
              mine.ports.push(n);
              p.nodePort = n;
              seen.add(n);
            }
          }
        });
        if (spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' && !spec.healthCheckNodePort) {
          const n = ports.pick();
          if (n !== undefined) {
            ports.take(n);
            mine.ports.push(n);
            spec.healthCheckNodePort = n;
          }
        }
      }
      obj.spec = spec;
      if (errs.length) {
        for (const n of mine.ips) ips.release(n);
        for (const n of mine.ports) ports.release(n);
        throw errInvalid('', 'Service', obj.metadata?.name ?? '', errs);
      }
      pending.set(obj, mine);
    },
    rollback(op, info, obj) {
      if (!isService(info)) return;
      const mine = pending.get(obj);
      if (!mine) return;
      pending.delete(obj);
      for (const n of mine.ips) ips.release(n);
      for (const n of mine.ports) ports.release(n);
    },
    committed(op, info, obj, old) {
      if (!isService(info)) return;
      pending.delete(obj);
      // release what the previous (or deleted) version held and the new one does not
      const before = op === 'delete' ? (obj.spec as ServiceSpec | undefined) : (old?.spec as ServiceSpec | undefined);
      const after = op === 'delete' ? undefined : (obj.spec as ServiceSpec | undefined);
      const keepIPs = new Set(ipsOf(after));
      const keepPorts = new Set(nodePortsOf(after));
      for (const n of ipsOf(before)) if (!keepIPs.has(n)) ips.release(n);
      for (const n of nodePortsOf(before)) if (!keepPorts.has(n)) ports.release(n);
    },
  };
}
