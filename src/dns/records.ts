// The records of the cluster zone, computed per query from the Service and EndpointSlice caches, after the
// Kubernetes DNS-based service discovery specification (github.com/kubernetes/dns docs/specification.md)
// and what CoreDNS's kubernetes plugin adds to it (pods insecure, SRV on the service name, endpoint
// names of ClusterIP services, no wildcards).
import { isIPv4, isIPv6 } from 'node:net';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Informer } from '../client/informer.js';
import { canonicalIP, expandIPv6, type ResourceRecord } from './wire.js';

/** The DNS schema version CoreDNS reports in `dns-version.<zone>` */
export const DNS_SCHEMA_VERSION = '1.1.0';
const DNS_VERSION_TTL = 28800;
const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

export const SERVICE_INDEX = 'dns-service';
export const SERVICE_IP_INDEX = 'dns-cluster-ip';
export const ENDPOINT_IP_INDEX = 'dns-endpoint-ip';

export interface ZoneOptions {
  /** the cluster domain, e.g. cluster.local (lower case, no dots at the ends) */
  zone: string;
  ttl: number;
  /** the addresses `ns.dns.<zone>` resolves to */
  nameserverIPs: string[];
}

interface ReadyEndpoint {
  ip: string;
  hostname: string;
  ports: { name: string; protocol: string; port: number }[];
}

/**
 * What is at a name of the zone: undefined when the name does not exist (NXDOMAIN), else its
 * records (empty for a name that only has names below it: NODATA).
 */
export type NameRecords = ResourceRecord[] | undefined;

export class ClusterZone {
  /** seconds since the epoch of the last change seen: the SOA serial, like CoreDNS */
  private modified = Math.floor(Date.now() / 1000);

  constructor(
    private readonly services: Informer<Service>,
    private readonly slices: Informer<EndpointSlice>,
    private readonly opts: ZoneOptions,
  ) {
    services.addIndexer(SERVICE_IP_INDEX, (svc) => serviceIPs(svc).map(canonicalIP));
    slices.addIndexer(SERVICE_INDEX, (s) => {
      const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
      return svc ? [`${s.metadata?.namespace ?? ''}/${svc}`] : [];
    });
    slices.addIndexer(ENDPOINT_IP_INDEX, (s) => (s.addressType === 'FQDN' ? [] : (s.endpoints ?? []).flatMap((e) => e.addresses.map(canonicalIP))));
    const touch = (): void => {
      this.modified = Math.max(this.modified + 1, Math.floor(Date.now() / 1000));
    };
    for (const inf of [services, slices] as Informer<Service | EndpointSlice>[]) inf.addEventHandler({ onAdd: touch, onUpdate: touch, onDelete: touch });
  }

  get zone(): string {
    return this.opts.zone;
  }

  hasSynced(): boolean {
    return this.services.hasSynced() && this.slices.hasSynced();
  }

  /** True for the zone apex and every name below it; `name` lower case without the trailing dot. */
  contains(name: string): boolean {
    return name === this.opts.zone || name.endsWith(`.${this.opts.zone}`);
  }

  soa(): ResourceRecord {
    const z = this.opts.zone;
    return {
      name: z,
      type: 'SOA',
      ttl: Math.min(this.opts.ttl, 300),
      data: { mname: `ns.dns.${z}`, rname: `hostmaster.${z}`, serial: this.modified >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: this.opts.ttl },
    };
  }

  /** The records at a name of the zone (lower case, no trailing dot). */
  recordsAt(name: string): NameRecords {
    const z = this.opts.zone;
    const ttl = this.opts.ttl;
    if (name === z) {
      return [this.soa(), { name, type: 'NS', ttl, data: `ns.dns.${z}` }];
    }
    if (!name.endsWith(`.${z}`)) return undefined;
    const labels = name.slice(0, -(z.length + 1)).split('.');
    const [kind, namespace, ...rest] = labels.reverse();
    if (labels.length === 1 && kind === 'dns-version') return [{ name, type: 'TXT', ttl: DNS_VERSION_TTL, data: [DNS_SCHEMA_VERSION] }];
    if (kind === 'dns') {
      if (namespace === undefined) return [];
      if (namespace === 'ns' && rest.length === 0) return this.opts.nameserverIPs.map((ip) => addressRecord(name, ip, ttl));
      return undefined;
    }
    if (kind !== 'svc' && kind !== 'pod') return undefined;
    if (namespace === undefined) return [];
    // CoreDNS does not look namespaces up: a namespace name is an empty non-terminal
    if (rest.length === 0) return [];
    if (kind === 'pod') return rest.length === 1 ? podRecords(name, rest[0], ttl) : undefined;
    const [service, ...below] = rest;
    const svc = this.services.getByName(namespace, service);
    if (!svc) return undefined;
    if (below.length === 0) return this.serviceRecords(name, svc);
    if (svc.spec?.type === 'ExternalName') return undefined;
    if (below.length === 1) {
      const [label] = below;
      if (label.startsWith('_')) return this.protocolLabelExists(svc, label.slice(1)) ? [] : undefined;
      const matching = this.readyEndpoints(svc).filter((e) => e.hostname === label);
      return matching.length ? matching.map((e) => addressRecord(name, e.ip, ttl)) : undefined;
    }
    if (below.length === 2 && below[0].startsWith('_') && below[1].startsWith('_')) {
      const srv = this.srvRecords(name, svc, below[1].slice(1), below[0].slice(1));
      return srv.length ? srv : undefined;
    }
    return undefined;
  }

  /** PTR records for an address of a Service or of a ready endpoint; undefined when the address is not ours. */
  reverse(name: string): ResourceRecord[] | undefined {
    const ip = ipFromReverseName(name);
    if (!ip) return undefined;
    const z = this.opts.zone;
    const ttl = this.opts.ttl;
    for (const svc of this.services.byIndex(SERVICE_IP_INDEX, ip)) {
      return [{ name, type: 'PTR', ttl, data: `${svc.metadata?.name}.${svc.metadata?.namespace}.svc.${z}` }];
    }
    const out: ResourceRecord[] = [];
    const seen = new Set<string>();
    for (const slice of this.slices.byIndex(ENDPOINT_IP_INDEX, ip)) {
      const service = slice.metadata?.labels?.[LABEL_SERVICE_NAME];
      const svc = service ? this.services.getByName(slice.metadata?.namespace, service) : undefined;
      if (!svc) continue;
      for (const e of endpointsOf(svc, [slice])) {
        if (e.ip !== ip) continue;
        const target = `${e.hostname}.${service}.${svc.metadata?.namespace}.svc.${z}`;
        if (seen.has(target)) continue;
        seen.add(target);
        out.push({ name, type: 'PTR', ttl, data: target });
      }
    }
    return out.length ? out : undefined;
  }

  private serviceRecords(name: string, svc: Service): NameRecords {
    const ttl = this.opts.ttl;
    if (svc.spec?.type === 'ExternalName') {
      const target = (svc.spec.externalName ?? '').replace(/\.$/, '');
      // CoreDNS answers only names here, not an IP written as an ExternalName
      return target && !isIPv4(target) && !isIPv6(target) ? [{ name, type: 'CNAME', ttl, data: target }] : undefined;
    }
    const srv = this.srvRecords(name, svc, undefined, undefined);
    if (isHeadless(svc)) {
      const ready = this.readyEndpoints(svc);
      if (!ready.length) return undefined;
      return [...uniqueBy(ready, (e) => e.ip).map((e) => addressRecord(name, e.ip, ttl)), ...srv];
    }
    const ips = serviceIPs(svc);
    if (!ips.length) return undefined;
    return [...ips.map((ip) => addressRecord(name, ip, ttl)), ...srv];
  }

  /** SRV records for ports of this name and protocol (undefined: any, as for the bare service name). */
  private srvRecords(name: string, svc: Service, portName: string | undefined, protocol: string | undefined): ResourceRecord[] {
    const z = this.opts.zone;
    const matches = (p: { name?: string; protocol?: string }): boolean =>
      (portName === undefined || (p.name ?? '').toLowerCase() === portName) && (protocol === undefined || (p.protocol ?? 'TCP').toLowerCase() === protocol);
    const svcName = `${svc.metadata?.name}.${svc.metadata?.namespace}.svc.${z}`;
    const targets: { port: number; target: string }[] = [];
    if (isHeadless(svc)) {
      for (const e of this.readyEndpoints(svc)) {
        for (const p of e.ports) if (matches(p)) targets.push({ port: p.port, target: `${e.hostname}.${svcName}` });
      }
    } else if (serviceIPs(svc).length) {
      for (const p of svc.spec?.ports ?? []) if (matches(p)) targets.push({ port: p.port, target: svcName });
    }
    const unique = uniqueBy(targets, (t) => `${t.port} ${t.target}`);
    const weight = unique.length ? Math.floor(100 / unique.length) : 0;
    return unique.map((t) => ({ name, type: 'SRV', ttl: this.opts.ttl, data: { priority: 0, weight, port: t.port, target: t.target } }));
  }

  private protocolLabelExists(svc: Service, protocol: string): boolean {
    const ports = isHeadless(svc) ? this.readyEndpoints(svc).flatMap((e) => e.ports) : (svc.spec?.ports ?? []);
    return ports.some((p) => (p.protocol ?? 'TCP').toLowerCase() === protocol);
  }

  private readyEndpoints(svc: Service): ReadyEndpoint[] {
    const slices = this.slices.byIndex(SERVICE_INDEX, `${svc.metadata?.namespace}/${svc.metadata?.name}`);
    return endpointsOf(svc, slices);
  }
}

function endpointsOf(svc: Service, slices: EndpointSlice[]): ReadyEndpoint[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const out: ReadyEndpoint[] = [];
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const ports = (slice.ports ?? []).filter((p) => p.port !== undefined).map((p) => ({ name: (p.name ?? '').toLowerCase(), protocol: p.protocol ?? 'TCP', port: p.port! }));
    for (const e of slice.endpoints ?? []) {
      // an unknown readiness (nil) counts as ready, as the EndpointSlice API asks consumers to read it
      if (!publishNotReady && e.conditions?.ready === false) continue;
      for (const addr of e.addresses) {
        const ip = canonicalIP(addr);
        out.push({ ip, hostname: (e.hostname ?? '').toLowerCase() || ip.replace(/[.:]/g, '-'), ports });
      }
    }
  }
  return out;
}

export function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

function serviceIPs(svc: Service): string[] {
  if (svc.spec?.type === 'ExternalName' || isHeadless(svc)) return [];
  const ips = svc.spec?.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec?.clusterIP ? [svc.spec.clusterIP] : [];
  return ips.filter((ip) => isIPv4(ip) || isIPv6(ip));
}

function addressRecord(name: string, ip: string, ttl: number): ResourceRecord {
  return { name, type: isIPv4(ip) ? 'A' : 'AAAA', ttl, data: ip };
}

/** `1-2-3-4` → A 1.2.3.4, `fd00--1` → AAAA fd00::1: answered without looking the pod up (CoreDNS `pods insecure`). */
function podRecords(name: string, label: string, ttl: number): NameRecords {
  const dashes = label.split('-').length - 1;
  const ip = dashes === 3 && !label.includes('--') ? label.replace(/-/g, '.') : label.replace(/-/g, ':');
  return isIPv4(ip) || isIPv6(ip) ? [addressRecord(name, canonicalIP(ip), ttl)] : undefined;
}

/** The address a full reverse name stands for (`4.3.2.1.in-addr.arpa` → 1.2.3.4); undefined for partial names. */
export function ipFromReverseName(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
    const ip = parts.reverse().join('.');
    return isIPv4(ip) ? ip : undefined;
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    const ip = hex.match(/.{4}/g)!.join(':');
    return canonicalIP(ip);
  }
  return undefined;
}

/** The reverse name of an address (for tests and callers that build PTR questions). */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const hex = expandIPv6(ip)
    .map((g) => g.toString(16).padStart(4, '0'))
    .join('');
  return `${[...hex].reverse().join('.')}.ip6.arpa`;
}

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
