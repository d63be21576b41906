// discovery.k8s.io/v1 EndpointSlice, plus the IP address helpers the networking kinds share.
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { type FieldError, duplicate, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { formatAge } from '../names.js';
import { deepEqual, isPlainObject } from '../object.js';
import type { KindInfo, KubeObject, TableColumn } from '../types.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, labelValueErrors, qualifiedNameErrors, validateLabels } from '../validation.js';

/** The label that ties a slice to its Service. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** The label naming the controller that manages a slice. */
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

// ---- IP addresses, with Go's net.IP semantics (16 bytes; IPv4 and IPv4-mapped IPv6 are "To4") ----

export interface ParsedIP {
  bytes: number[]; // always 16
  /** an IPv4 address (dotted, or IPv4-mapped IPv6), as Go's ip.To4() != nil */
  is4: boolean;
}

function parseIPv4Bytes(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseIPv6Bytes(s: string): number[] | null {
  if (!s.includes(':') || s.includes('%')) return null;
  let tail: number[] = [];
  let rest = s;
  const lastColon = s.lastIndexOf(':');
  const last = s.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIPv4Bytes(last);
    if (!v4) return null;
    tail = v4;
    rest = s.slice(0, lastColon + 1);
    if (!rest.endsWith('::')) rest = rest.slice(0, -1);
  }
  const halves = rest.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      const n = parseInt(g, 16);
      out.push(n >> 8, n & 0xff);
    }
    return out;
  };
  const head = groups(halves[0]);
  const back = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !back) return null;
  const have = head.length + back.length + tail.length;
  if (halves.length === 1) {
    if (have !== 16) return null;
    return [...head, ...tail];
  }
  if (have > 14) return null;
  return [...head, ...new Array<number>(16 - have).fill(0), ...back, ...tail];
}

/** Parses an IPv4 or IPv6 address (IPv4 octets may have leading zeros, as netutils.ParseIPSloppy allows). */
export function parseIP(s: string): ParsedIP | null {
  const v4 = parseIPv4Bytes(s);
  if (v4) return { bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4], is4: true };
  const v6 = parseIPv6Bytes(s);
  if (!v6) return null;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return { bytes: v6, is4: mapped };
}

export interface ParsedCIDR {
  /** network address (masked) */
  ip: ParsedIP;
  /** 32 or 128 */
  bits: number;
  prefix: number;
}

/** Parses `addr/prefix` as Go's net.ParseCIDR does (IPv4 when the address is dotted). */
export function parseCIDR(s: string): ParsedCIDR | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const pfx = s.slice(slash + 1);
  if (!/^[0-9]+$/.test(pfx)) return null;
  const v4 = parseIPv4Bytes(addr);
  const ip = parseIP(addr);
  if (!ip) return null;
  const bits = v4 ? 32 : 128;
  const prefix = Number(pfx);
  if (prefix > bits) return null;
  const bytes = [...ip.bytes];
  const start = 16 - bits / 8;
  for (let i = 0; i < bits / 8; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[start + i] &= (0xff << (8 - keep)) & 0xff;
  }
  return { ip: { bytes, is4: ip.is4 }, bits, prefix };
}

/** Whether `inner` lies inside `outer` (both parsed CIDRs), comparing `outer.prefix` leading bits. */
export function cidrContains(outer: ParsedCIDR, inner: ParsedIP): boolean {
  if (outer.bits === 32 && !inner.is4) return false;
  if (outer.bits === 128 && inner.is4 !== outer.ip.is4) return false;
  const start = 16 - outer.bits / 8;
  for (let i = 0; i < outer.bits / 8; i++) {
    const keep = Math.max(0, Math.min(8, outer.prefix - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((inner.bytes[start + i] & mask) !== (outer.ip.bytes[start + i] & mask)) return false;
  }
  return true;
}

export const isIPAddress = (s: string): boolean => parseIP(s) !== null;

/** Addresses that make no sense as endpoints (upstream ValidateEndpointIP). */
export function endpointIPErrors(address: string): string[] {
  const ip = parseIP(address);
  if (!ip) return ['must be a valid IP address'];
  const b = ip.bytes;
  const errs: string[] = [];
  const v4 = b.slice(12);
  if (ip.is4 ? v4.every((x) => x === 0) : b.every((x) => x === 0)) errs.push(`may not be unspecified (${address})`);
  if (ip.is4 ? v4[0] === 127 : b.slice(0, 15).every((x) => x === 0) && b[15] === 1)
    errs.push('may not be in the loopback range (127.0.0.0/8, ::1/128)');
  if (ip.is4 ? v4[0] === 169 && v4[1] === 254 : b[0] === 0xfe && (b[1] & 0xc0) === 0x80)
    errs.push('may not be in the link-local range (169.254.0.0/16, fe80::/10)');
  if (ip.is4 ? v4[0] === 224 && v4[1] === 0 && v4[2] === 0 : b[0] === 0xff && (b[1] & 0x0f) === 0x02)
    errs.push('may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)');
  return errs;
}

/** Upstream IsFullyQualifiedDomainName. */
export function fqdnErrors(path: string, name: string): FieldError[] {
  if (name.length === 0) return [required(path)];
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  const sub = dns1123SubdomainErrors(n);
  if (sub.length) return [invalidValue(path, n, sub.join(','))];
  const labels = n.split('.');
  if (labels.length < 2) return [invalidValue(path, n, 'should be a domain with at least two segments separated by dots')];
  for (const l of labels) {
    const e = dns1123LabelErrors(l);
    if (e.length) return [invalidValue(path, l, e.join(','))];
  }
  return [];
}

export const tooMany = (field: string, actual: number, max: number): FieldError => ({
  field,
  type: 'FieldValueTooMany',
  value: actual,
  detail: `must have at most ${max} items`,
});

// ---- EndpointSlice ----

type EndpointSliceObject = EndpointSlice & KubeObject;

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;
const MAX_ENDPOINTS = 1000;
const MAX_TOPOLOGY_LABELS = 16;
const MAX_ZONE_HINTS = 8;

function validateEndpoints(endpoints: unknown, addressType: unknown, errs: FieldError[]): void {
  if (endpoints === undefined || endpoints === null) return;
  if (!Array.isArray(endpoints)) return void errs.push(typeInvalid('endpoints', endpoints, 'must be of type array'));
  if (endpoints.length > MAX_ENDPOINTS) return void errs.push(tooMany('endpoints', endpoints.length, MAX_ENDPOINTS));
  endpoints.forEach((ep: unknown, i) => {
    const p = `endpoints[${i}]`;
    if (!isPlainObject(ep)) return void errs.push(typeInvalid(p, ep, 'must be of type object'));
    const addrs = ep.addresses;
    if (addrs !== undefined && addrs !== null && !Array.isArray(addrs)) {
      errs.push(typeInvalid(`${p}.addresses`, addrs, 'must be of type array'));
    } else if (!addrs || addrs.length === 0) {
      errs.push(required(`${p}.addresses`, 'must contain at least 1 address'));
    } else {
      if (addrs.length > MAX_ADDRESSES) errs.push(tooMany(`${p}.addresses`, addrs.length, MAX_ADDRESSES));
      addrs.forEach((a: unknown, j) => {
        const ap = `${p}.addresses[${j}]`;
        if (typeof a !== 'string') return void errs.push(typeInvalid(ap, a, 'must be of type string'));
        if (addressType === 'IPv4' || addressType === 'IPv6') {
          const ip = parseIP(a);
          const familyOK = ip !== null && ip.is4 === (addressType === 'IPv4');
          if (!familyOK) errs.push(invalidValue(ap, a, `must be a valid ${addressType} address`));
          for (const m of endpointIPErrors(a)) errs.push(invalidValue(ap, a, m));
        } else if (addressType === 'FQDN') {
          errs.push(...fqdnErrors(ap, a));
        }
      });
    }
    if (ep.nodeName !== undefined && ep.nodeName !== null) {
      if (typeof ep.nodeName !== 'string') errs.push(typeInvalid(`${p}.nodeName`, ep.nodeName, 'must be of type string'));
      else for (const m of dns1123SubdomainErrors(ep.nodeName)) errs.push(invalidValue(`${p}.nodeName`, ep.nodeName, m));
    }
    const topo = ep.deprecatedTopology;
    if (isPlainObject(topo) && Object.keys(topo).length > MAX_TOPOLOGY_LABELS)
      errs.push(tooMany(`${p}.deprecatedTopology`, Object.keys(topo).length, MAX_TOPOLOGY_LABELS));
    errs.push(...validateLabels(topo, `${p}.deprecatedTopology`));
    if (ep.hostname !== undefined && ep.hostname !== null) {
      if (typeof ep.hostname !== 'string') errs.push(typeInvalid(`${p}.hostname`, ep.hostname, 'must be of type string'));
      else for (const m of dns1123LabelErrors(ep.hostname)) errs.push(invalidValue(`${p}.hostname`, ep.hostname, m));
    }
    if (ep.hints !== undefined && ep.hints !== null) validateHints(ep.hints, `${p}.hints`, errs);
  });
}

function validateHints(hints: unknown, path: string, errs: FieldError[]): void {
  if (!isPlainObject(hints)) return void errs.push(typeInvalid(path, hints, 'must be of type object'));
  const zones = hints.forZones;
  if (zones === undefined || zones === null) return;
  if (!Array.isArray(zones)) return void errs.push(typeInvalid(`${path}.forZones`, zones, 'must be of type array'));
  if (zones.length > MAX_ZONE_HINTS) return void errs.push(tooMany(`${path}.forZones`, zones.length, MAX_ZONE_HINTS));
  const seen = new Set<string>();
  zones.forEach((z: unknown, i) => {
    const zp = `${path}.forZones[${i}].name`;
    const name = isPlainObject(z) ? z.name : undefined;
    if (typeof name !== 'string') return void errs.push(typeInvalid(zp, name, 'must be of type string'));
    if (seen.has(name)) errs.push(duplicate(zp, name));
    seen.add(name);
    for (const m of labelValueErrors(name)) errs.push(invalidValue(zp, name, m));
  });
}

function validatePorts(ports: unknown, errs: FieldError[]): void {
  if (ports === undefined || ports === null) return;
  if (!Array.isArray(ports)) return void errs.push(typeInvalid('ports', ports, 'must be of type array'));
  if (ports.length > MAX_PORTS) return void errs.push(tooMany('ports', ports.length, MAX_PORTS));
  const names = new Set<string>();
  ports.forEach((port: unknown, i) => {
    const p = `ports[${i}]`;
    if (!isPlainObject(port)) return void errs.push(typeInvalid(p, port, 'must be of type object'));
    const name = port.name ?? '';
    if (typeof name !== 'string') {
      errs.push(typeInvalid(`${p}.name`, name, 'must be of type string'));
    } else {
      if (name.length > 0) for (const m of dns1123LabelErrors(name)) errs.push(invalidValue(`${p}.name`, name, m));
      if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
      names.add(name);
    }
    if (port.port !== undefined && port.port !== null && !Number.isInteger(port.port))
      errs.push(typeInvalid(`${p}.port`, port.port, 'must be of type integer'));
    if (port.protocol === undefined || port.protocol === null) errs.push(required(`${p}.protocol`));
    else if (typeof port.protocol !== 'string' || !PROTOCOLS.includes(port.protocol))
      errs.push(notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    if (port.appProtocol !== undefined && port.appProtocol !== null) {
      if (typeof port.appProtocol !== 'string') errs.push(typeInvalid(`${p}.appProtocol`, port.appProtocol, 'must be of type string'));
      else for (const m of qualifiedNameErrors(port.appProtocol)) errs.push(invalidValue(`${p}.appProtocol`, port.appProtocol, m));
    }
  });
}

/** The first `max` items joined by commas, then " + N more..." as upstream's printers do; `<unset>` when empty. */
function listWithMore(items: string[], max: number): string {
  if (items.length > max) return `${items.slice(0, max).join(',')} + ${items.length - max} more...`;
  return items.length ? items.join(',') : '<unset>';
}

export function formatEndpointSlicePorts(ports: EndpointSlice['ports']): string {
  if (!Array.isArray(ports)) return '<unset>';
  return listWithMore(
    ports.map((p) => (typeof p?.port === 'number' ? String(p.port) : typeof p?.name === 'string' ? p.name : '*')),
    3,
  );
}

export function formatEndpointSliceEndpoints(endpoints: EndpointSlice['endpoints']): string {
  if (!Array.isArray(endpoints)) return '<unset>';
  const addrs: string[] = [];
  for (const ep of endpoints) if (Array.isArray(ep?.addresses)) for (const a of ep.addresses) addrs.push(String(a));
  return listWithMore(addrs, 3);
}

const NAME_COLUMN: TableColumn = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };
const AGE_COLUMN: TableColumn = { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 };

function dropDeprecatedTopology(eps: EndpointSliceObject): void {
  if (!Array.isArray(eps.endpoints)) return;
  for (const ep of eps.endpoints) if (isPlainObject(ep)) delete (ep as Record<string, unknown>).deprecatedTopology;
}

export const endpointSliceKind: KindInfo<EndpointSliceObject> = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  resource: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  generation: true,
  strategy: {
    defaults(eps) {
      if (!Array.isArray(eps.ports)) return;
      for (const port of eps.ports) {
        if (!isPlainObject(port)) continue;
        if (port.name === undefined || port.name === null) port.name = '';
        if (port.protocol === undefined || port.protocol === null) port.protocol = 'TCP';
      }
    },
    // v1 requests never carry deprecatedTopology: upstream clears it whenever endpoints are written.
    prepareForCreate(eps) {
      dropDeprecatedTopology(eps);
    },
    prepareForUpdate(eps, old) {
      // Upstream bumps the generation for label changes too, not only for changes outside metadata.
      if (!deepEqual(eps.metadata?.labels ?? {}, old.metadata?.labels ?? {}) && eps.metadata)
        (eps.metadata as { generation?: number }).generation = (old.metadata?.generation ?? 0) + 1;
      if (!deepEqual(eps.endpoints, old.endpoints)) dropDeprecatedTopology(eps);
    },
    validate(eps) {
      const errs: FieldError[] = [];
      const at = eps.addressType as unknown;
      if (at === undefined || at === null || at === '') errs.push(required('addressType'));
      else if (typeof at !== 'string' || !ADDRESS_TYPES.includes(at)) errs.push(notSupported('addressType', at, ADDRESS_TYPES));
      validateEndpoints(eps.endpoints, at, errs);
      validatePorts(eps.ports, errs);
      return errs;
    },
    validateUpdate(eps, old) {
      if (eps.addressType !== old.addressType) return [invalidValue('addressType', eps.addressType, 'field is immutable')];
      return [];
    },
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'AddressType', type: 'string', description: 'The type of address carried by this EndpointSlice.', priority: 0 },
        { name: 'Ports', type: 'string', description: 'The network ports exposed by each endpoint in this slice.', priority: 0 },
        { name: 'Endpoints', type: 'string', description: 'A list of unique endpoints in this slice.', priority: 0 },
        AGE_COLUMN,
      ],
      row: (eps, now) => [
        eps.metadata?.name ?? '',
        typeof eps.addressType === 'string' ? eps.addressType : '',
        formatEndpointSlicePorts(eps.ports),
        formatEndpointSliceEndpoints(eps.endpoints),
        formatAge(eps.metadata?.creationTimestamp, now),
      ],
    },
  },
};
