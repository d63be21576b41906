import type { Endpoints } from 'kubernetes-types/core/v1.js';
import { type FieldError, required, invalidValue, notSupported } from '../errors.js';
import type { KindInfo } from '../types.js';
import { formatAge } from '../names.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, qualifiedNameErrors } from '../validation.js';
import { isIP } from 'node:net';
import { isObj, str, int, list, obj, digStr, digList, portNumErrors, ipErrors } from './checks.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

/** `ValidateNonSpecialIP`: endpoint addresses may not be unspecified, loopback or link-local. */
export function nonSpecialIPErrors(ip: string, path: string): FieldError[] {
  const family = isIP(ip);
  if (!family) return [invalidValue(path, ip, 'must be a valid IP address')];
  const errs: FieldError[] = [];
  const lower = ip.toLowerCase();
  const v4 = family === 4 ? ip.split('.').map(Number) : undefined;
  const unspecified = v4 ? v4.every((o) => o === 0) : /^[0:]+$/.test(lower);
  if (unspecified) errs.push(invalidValue(path, ip, `may not be unspecified (${ip})`));
  if (v4 ? v4[0] === 127 : lower === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(lower))
    errs.push(invalidValue(path, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  if (v4 ? v4[0] === 169 && v4[1] === 254 : /^fe[89ab]/.test(lower))
    errs.push(invalidValue(path, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  if (v4 ? v4[0] === 224 && v4[1] === 0 && v4[2] === 0 : /^ff02:/.test(lower))
    errs.push(invalidValue(path, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  return errs;
}

function validateAddress(v: unknown, path: string, errs: FieldError[]): void {
  const a = obj(v, path, errs) ?? {};
  const ip = str(a.ip, `${path}.ip`, errs);
  errs.push(...ipErrors(`${path}.ip`, ip));
  const hostname = str(a.hostname, `${path}.hostname`, errs);
  if (hostname) for (const m of dns1123LabelErrors(hostname)) errs.push(invalidValue(`${path}.hostname`, hostname, m));
  if (a.nodeName !== undefined && a.nodeName !== null) {
    const n = str(a.nodeName, `${path}.nodeName`, errs);
    for (const m of dns1123SubdomainErrors(n)) errs.push(invalidValue(`${path}.nodeName`, n, m));
  }
  errs.push(...nonSpecialIPErrors(ip, `${path}.ip`));
}

function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  list((ep as Record<string, unknown>).subsets, 'subsets', errs).forEach((x, i) => {
    const sp = `subsets[${i}]`;
    const ss = obj(x, sp, errs) ?? {};
    const addrs = list(ss.addresses, `${sp}.addresses`, errs);
    const notReady = list(ss.notReadyAddresses, `${sp}.notReadyAddresses`, errs);
    if (addrs.length === 0 && notReady.length === 0) errs.push(required(sp, 'must specify `addresses` or `notReadyAddresses`'));
    addrs.forEach((a, j) => validateAddress(a, `${sp}.addresses[${j}]`, errs));
    notReady.forEach((a, j) => validateAddress(a, `${sp}.notReadyAddresses[${j}]`, errs));
    const ports = list(ss.ports, `${sp}.ports`, errs);
    ports.forEach((pv, j) => {
      const pp = `${sp}.ports[${j}]`;
      const p = obj(pv, pp, errs) ?? {};
      const name = str(p.name, `${pp}.name`, errs);
      if (ports.length > 1 && !name) errs.push(required(`${pp}.name`));
      else if (name) for (const m of dns1123LabelErrors(name)) errs.push(invalidValue(`${pp}.name`, name, m));
      const port = int(p.port, `${pp}.port`, errs) ?? 0;
      for (const m of portNumErrors(port)) errs.push(invalidValue(`${pp}.port`, port, m));
      const proto = str(p.protocol, `${pp}.protocol`, errs);
      if (!proto) errs.push(required(`${pp}.protocol`));
      else if (!PROTOCOLS.includes(proto)) errs.push(notSupported(`${pp}.protocol`, proto, PROTOCOLS));
      if (p.appProtocol !== undefined && p.appProtocol !== null) {
        const ap = str(p.appProtocol, `${pp}.appProtocol`, errs);
        for (const m of qualifiedNameErrors(ap)) errs.push(invalidValue(`${pp}.appProtocol`, ap, m));
      }
    });
  });
  return errs;
}

/** The ENDPOINTS cell: up to three `ip:port` entries, then `+ N more...` (upstream formatEndpoints). */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = digList(ep, 'subsets');
  if (subsets.length === 0) return '<none>';
  const out: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addrs = digList(ss, 'addresses');
    const ports = digList(ss, 'ports');
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (out.length === max) {
          more = true;
          break;
        }
        out.push(digStr(a, 'ip'));
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (out.length === max) {
          more = true;
          break;
        }
        const ip = digStr(a, 'ip');
        const port = isObj(p) ? String(p.port) : '';
        out.push(ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
      }
    }
  }
  const s = out.join(',');
  return more ? `${s} + ${count - max} more...` : s;
}

export const endpointsKind: KindInfo<Endpoints> = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  resource: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  allowCreateOnUpdate: true,
  strategy: {
    defaults(ep) {
      for (const ss of digList(ep, 'subsets')) for (const p of digList(ss, 'ports')) if (isObj(p) && !p.protocol) p.protocol = 'TCP';
    },
    validate: validateEndpoints,
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Endpoints', type: 'string', description: 'The set of all endpoints is the union of all subsets.', priority: 0 },
        { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
      ],
      row: (ep, now) => [ep.metadata?.name ?? '', formatEndpoints(ep), formatAge(ep.metadata?.creationTimestamp, now)],
    },
  },
};
