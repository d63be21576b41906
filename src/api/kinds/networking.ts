// networking.k8s.io/v1 Ingress, IngressClass and NetworkPolicy.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { Ingress, IngressClass, NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { type FieldError, forbidden, invalidValue, notSupported, required, tooLong, typeInvalid } from '../errors.js';
import { formatLabelSelector, validateLabelSelector } from '../labels.js';
import { formatAge } from '../names.js';
import { isPlainObject } from '../object.js';
import type { KindInfo, KubeObject, TableColumn } from '../types.js';
import { dns1035LabelErrors, dns1123LabelErrors, dns1123SubdomainErrors, nameIsPathSegment } from '../validation.js';
import { cidrContains, isIPAddress, parseCIDR } from './endpointslice.js';

type IngressObject = Ingress & KubeObject;
type IngressClassObject = IngressClass & KubeObject;
type NetworkPolicyObject = NetworkPolicy & KubeObject;

const NAME_COLUMN: TableColumn = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };
const AGE_COLUMN: TableColumn = { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 };

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const absent = (v: unknown) => v === undefined || v === null;

// ---- ports (shared with other kinds that name container or service ports) ----

/** Upstream IsValidPortNum. */
export const portNumErrors = (port: number): string[] => (port >= 1 && port <= 65535 ? [] : ['must be between 1 and 65535, inclusive']);

/** Upstream IsValidPortName (IANA service names). */
export function portNameErrors(port: string): string[] {
  const errs: string[] = [];
  if (port.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(port)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.length > 0 && (port.startsWith('-') || port.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

const WILDCARD_SUBDOMAIN = /^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Upstream IsWildcardDNS1123Subdomain: `*.` followed by a DNS subdomain. */
export function wildcardSubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!WILDCARD_SUBDOMAIN.test(value))
    errs.push(
      "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  return errs;
}

const hostErrors = (host: string) => (host.includes('*') ? wildcardSubdomainErrors(host) : dns1123SubdomainErrors(host));

// ---- Ingress ----

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];
const ANNOTATION_INGRESS_CLASS = 'kubernetes.io/ingress.class';

function validateTypedLocalObjectReference(ref: unknown, path: string, errs: FieldError[]): void {
  if (!isPlainObject(ref)) return void errs.push(typeInvalid(path, ref, 'must be of type object'));
  if (!absent(ref.apiGroup)) {
    if (typeof ref.apiGroup !== 'string') errs.push(typeInvalid(`${path}.apiGroup`, ref.apiGroup, 'must be of type string'));
    else for (const m of dns1123SubdomainErrors(ref.apiGroup)) errs.push(invalidValue(`${path}.apiGroup`, ref.apiGroup, m));
  }
  for (const f of ['kind', 'name']) {
    const v = ref[f];
    if (absent(v) || v === '') errs.push(required(`${path}.${f}`));
    else if (typeof v !== 'string') errs.push(typeInvalid(`${path}.${f}`, v, 'must be of type string'));
    else for (const m of nameIsPathSegment(v, false)) errs.push(invalidValue(`${path}.${f}`, v, m));
  }
}

function validateIngressBackend(backend: unknown, path: string, errs: FieldError[]): void {
  if (!isPlainObject(backend)) return void errs.push(typeInvalid(path, backend, 'must be of type object'));
  const hasResource = !absent(backend.resource);
  const hasService = !absent(backend.service);
  if (hasResource && hasService) return void errs.push(invalidValue(path, '', 'cannot set both resource and service backends'));
  if (hasResource) return validateTypedLocalObjectReference(backend.resource, `${path}.resource`, errs);
  if (!hasService) return void errs.push(invalidValue(path, '', 'resource or service backend is required'));
  const svc = backend.service;
  if (!isPlainObject(svc)) return void errs.push(typeInvalid(`${path}.service`, svc, 'must be of type object'));
  const name = svc.name;
  if (absent(name) || name === '') errs.push(required(`${path}.service.name`));
  else if (typeof name !== 'string') errs.push(typeInvalid(`${path}.service.name`, name, 'must be of type string'));
  else for (const m of dns1035LabelErrors(name)) errs.push(invalidValue(`${path}.service.name`, name, m));
  const port = absent(svc.port) ? {} : svc.port;
  if (!isPlainObject(port)) return void errs.push(typeInvalid(`${path}.service.port`, port, 'must be of type object'));
  if (!absent(port.name) && typeof port.name !== 'string') return void errs.push(typeInvalid(`${path}.service.port.name`, port.name, 'must be of type string'));
  if (!absent(port.number) && !Number.isInteger(port.number))
    return void errs.push(typeInvalid(`${path}.service.port.number`, port.number, 'must be of type integer'));
  const portName = str(port.name);
  const portNumber = typeof port.number === 'number' ? port.number : 0;
  if (portName && portNumber) errs.push(invalidValue(path, '', 'cannot set both port name & port number'));
  else if (portName) for (const m of portNameErrors(portName)) errs.push(invalidValue(`${path}.service.port.name`, portName, m));
  else if (portNumber) for (const m of portNumErrors(portNumber)) errs.push(invalidValue(`${path}.service.port.number`, portNumber, m));
  else errs.push(required(path, 'port name or number is required'));
}

function validateHTTPIngressPath(p: unknown, path: string, errs: FieldError[]): void {
  if (!isPlainObject(p)) return void errs.push(typeInvalid(path, p, 'must be of type object'));
  if (absent(p.pathType)) return void errs.push(required(`${path}.pathType`, 'pathType must be specified'));
  if (!absent(p.path) && typeof p.path !== 'string') return void errs.push(typeInvalid(`${path}.path`, p.path, 'must be of type string'));
  const value = str(p.path);
  switch (p.pathType) {
    case 'Exact':
    case 'Prefix':
      if (!value.startsWith('/')) errs.push(invalidValue(`${path}.path`, value, 'must be an absolute path'));
      if (value.length > 0) {
        for (const seq of INVALID_PATH_SEQUENCES) if (value.includes(seq)) errs.push(invalidValue(`${path}.path`, value, `must not contain '${seq}'`));
        for (const suf of INVALID_PATH_SUFFIXES) if (value.endsWith(suf)) errs.push(invalidValue(`${path}.path`, value, `cannot end with '${suf}'`));
      }
      break;
    case 'ImplementationSpecific':
      if (value.length > 0 && !value.startsWith('/')) errs.push(invalidValue(`${path}.path`, value, 'must be an absolute path'));
      break;
    default:
      errs.push(notSupported(`${path}.pathType`, p.pathType, PATH_TYPES));
  }
  validateIngressBackend(p.backend ?? {}, `${path}.backend`, errs);
}

function validateIngressRules(rules: unknown[], errs: FieldError[]): void {
  rules.forEach((rule: unknown, i) => {
    const rp = `spec.rules[${i}]`;
    if (!isPlainObject(rule)) return void errs.push(typeInvalid(rp, rule, 'must be of type object'));
    if (!absent(rule.host) && typeof rule.host !== 'string') errs.push(typeInvalid(`${rp}.host`, rule.host, 'must be of type string'));
    const host = str(rule.host);
    if (host.length > 0) {
      if (isIPAddress(host)) errs.push(invalidValue(`${rp}.host`, host, 'must be a DNS name, not an IP address'));
      for (const m of hostErrors(host)) errs.push(invalidValue(`${rp}.host`, host, m));
    }
    if (absent(rule.http)) return;
    if (!isPlainObject(rule.http)) return void errs.push(typeInvalid(`${rp}.http`, rule.http, 'must be of type object'));
    const paths = rule.http.paths;
    if (!absent(paths) && !Array.isArray(paths)) return void errs.push(typeInvalid(`${rp}.http.paths`, paths, 'must be of type array'));
    if (!Array.isArray(paths) || paths.length === 0) return void errs.push(required(`${rp}.http.paths`));
    paths.forEach((p: unknown, j) => validateHTTPIngressPath(p, `${rp}.http.paths[${j}]`, errs));
  });
}

function validateIngressTLS(tls: unknown[], errs: FieldError[]): void {
  tls.forEach((t: unknown, i) => {
    const tp = `spec.tls[${i}]`;
    if (!isPlainObject(t)) return void errs.push(typeInvalid(tp, t, 'must be of type object'));
    if (!absent(t.hosts) && !Array.isArray(t.hosts)) errs.push(typeInvalid(`${tp}.hosts`, t.hosts, 'must be of type array'));
    else
      ((t.hosts ?? []) as unknown[]).forEach((h, j) => {
        if (typeof h !== 'string') return void errs.push(typeInvalid(`${tp}.hosts[${j}]`, h, 'must be of type string'));
        for (const m of hostErrors(h)) errs.push(invalidValue(`${tp}.hosts[${j}]`, h, m));
      });
    if (!absent(t.secretName) && typeof t.secretName !== 'string') errs.push(typeInvalid(`${tp}.secretName`, t.secretName, 'must be of type string'));
    else if (str(t.secretName)) for (const m of dns1123SubdomainErrors(str(t.secretName))) errs.push(invalidValue(`${tp}.secretName`, t.secretName, m));
  });
}

function validateIngressStatus(status: unknown, errs: FieldError[]): void {
  if (absent(status)) return;
  if (!isPlainObject(status)) return void errs.push(typeInvalid('status', status, 'must be of type object'));
  const lb = status.loadBalancer;
  if (absent(lb)) return;
  if (!isPlainObject(lb)) return void errs.push(typeInvalid('status.loadBalancer', lb, 'must be of type object'));
  if (absent(lb.ingress)) return;
  if (!Array.isArray(lb.ingress)) return void errs.push(typeInvalid('status.loadBalancer.ingress', lb.ingress, 'must be of type array'));
  lb.ingress.forEach((ing: unknown, i) => {
    const p = `status.loadBalancer.ingress[${i}]`;
    if (!isPlainObject(ing)) return void errs.push(typeInvalid(p, ing, 'must be of type object'));
    const ip = str(ing.ip);
    if (ip && !isIPAddress(ip)) errs.push(invalidValue(`${p}.ip`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
    const hostname = str(ing.hostname);
    if (hostname) {
      for (const m of dns1123SubdomainErrors(hostname)) errs.push(invalidValue(`${p}.hostname`, hostname, m));
      if (isIPAddress(hostname)) errs.push(invalidValue(`${p}.hostname`, hostname, 'must be a DNS name, not an IP address'));
    }
  });
}

export function validateIngress(ing: IngressObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = ing.spec as unknown;
  if (!absent(spec) && !isPlainObject(spec)) return [typeInvalid('spec', spec, 'must be of type object')];
  const s = (spec ?? {}) as Record<string, unknown>;
  if (!absent(s.rules) && !Array.isArray(s.rules)) errs.push(typeInvalid('spec.rules', s.rules, 'must be of type array'));
  if (!absent(s.tls) && !Array.isArray(s.tls)) errs.push(typeInvalid('spec.tls', s.tls, 'must be of type array'));
  const rules = Array.isArray(s.rules) ? s.rules : [];
  if (rules.length === 0 && absent(s.defaultBackend))
    errs.push(invalidValue('spec', s.rules ?? null, 'either `defaultBackend` or `rules` must be specified'));
  if (!absent(s.defaultBackend)) validateIngressBackend(s.defaultBackend, 'spec.defaultBackend', errs);
  validateIngressRules(rules, errs);
  validateIngressTLS(Array.isArray(s.tls) ? s.tls : [], errs);
  if (!absent(s.ingressClassName)) {
    if (typeof s.ingressClassName !== 'string') errs.push(typeInvalid('spec.ingressClassName', s.ingressClassName, 'must be of type string'));
    else for (const m of dns1123SubdomainErrors(s.ingressClassName)) errs.push(invalidValue('spec.ingressClassName', s.ingressClassName, m));
  }
  // Upstream checks this on create only; here it runs on every write.
  const annotation = ing.metadata?.annotations?.[ANNOTATION_INGRESS_CLASS];
  if (annotation !== undefined && typeof s.ingressClassName === 'string' && annotation !== s.ingressClassName)
    errs.push(invalidValue(`annotations.${ANNOTATION_INGRESS_CLASS}`, annotation, 'must match `ingressClassName` when both are specified'));
  validateIngressStatus(ing.status, errs);
  return errs;
}

function formatIngressHosts(rules: unknown): string {
  if (!Array.isArray(rules)) return '*';
  const hosts: string[] = [];
  let more = false;
  for (const r of rules) {
    if (hosts.length === 3) more = true;
    const h = isPlainObject(r) ? str(r.host) : '';
    if (!more && h) hosts.push(h);
  }
  if (hosts.length === 0) return '*';
  return more ? `${hosts.join(',')} + ${rules.length - 3} more...` : hosts.join(',');
}

/** The load-balancer addresses (IP, else hostname), sorted and de-duplicated. */
function formatIngressAddress(status: unknown): string {
  const lb = isPlainObject(status) && isPlainObject(status.loadBalancer) ? status.loadBalancer : {};
  const out = new Set<string>();
  if (Array.isArray(lb.ingress))
    for (const i of lb.ingress) {
      if (!isPlainObject(i)) continue;
      if (str(i.ip)) out.add(str(i.ip));
      else if (str(i.hostname)) out.add(str(i.hostname));
    }
  return [...out].sort().join(',');
}

export const ingressKind: KindInfo<IngressObject> = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'Ingress',
  resource: 'ingresses',
  singular: 'ingress',
  namespaced: true,
  shortNames: ['ing'],
  generation: true,
  subresources: { status: true },
  strategy: {
    prepareForCreate(ing) {
      ing.status = { loadBalancer: {} };
    },
    validate: validateIngress,
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Class', type: 'string', description: 'The IngressClass that implements this Ingress.', priority: 0 },
        { name: 'Hosts', type: 'string', description: 'Host names the rules match.', priority: 0 },
        { name: 'Address', type: 'string', description: 'Addresses of the load balancer serving this Ingress.', priority: 0 },
        { name: 'Ports', type: 'string', description: 'Ports served: 80, and 443 with TLS.', priority: 0 },
        AGE_COLUMN,
      ],
      row: (ing, now) => {
        const spec = (isPlainObject(ing.spec) ? ing.spec : {}) as Record<string, unknown>;
        return [
          ing.metadata?.name ?? '',
          typeof spec.ingressClassName === 'string' ? spec.ingressClassName : '<none>',
          formatIngressHosts(spec.rules),
          formatIngressAddress(ing.status),
          Array.isArray(spec.tls) && spec.tls.length > 0 ? '80, 443' : '80',
          formatAge(ing.metadata?.creationTimestamp, now),
        ];
      },
    },
  },
};

// ---- IngressClass ----

const MAX_CONTROLLER_LENGTH = 250;
const HTTP_PATH = /^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$/;
const SCOPES = ['Cluster', 'Namespace'];

/** Upstream IsDomainPrefixedPath (e.g. `example.com/ingress-controller`). */
function domainPrefixedPathErrors(path: string, value: string): FieldError[] {
  if (value.length === 0) return [required(path)];
  const slash = value.indexOf('/');
  const host = slash < 0 ? value : value.slice(0, slash);
  const rest = slash < 0 ? '' : value.slice(slash + 1);
  if (slash < 0 || host.length === 0 || rest.length === 0)
    return [invalidValue(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  const errs = dns1123SubdomainErrors(host).map((m) => invalidValue(path, host, m));
  if (!HTTP_PATH.test(rest))
    errs.push(invalidValue(path, rest, "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')"));
  return errs;
}

function validateParametersReference(params: unknown, errs: FieldError[]): void {
  if (absent(params)) return;
  const path = 'spec.parameters';
  if (!isPlainObject(params)) return void errs.push(typeInvalid(path, params, 'must be of type object'));
  if (!absent(params.apiGroup)) {
    if (typeof params.apiGroup !== 'string') errs.push(typeInvalid(`${path}.apiGroup`, params.apiGroup, 'must be of type string'));
    else for (const m of dns1123SubdomainErrors(params.apiGroup)) errs.push(invalidValue(`${path}.apiGroup`, params.apiGroup, m));
  }
  for (const f of ['kind', 'name']) {
    const v = params[f];
    if (absent(v) || v === '') errs.push(required(`${path}.${f}`));
    else if (typeof v !== 'string') errs.push(typeInvalid(`${path}.${f}`, v, 'must be of type string'));
    else for (const m of nameIsPathSegment(v, false)) errs.push(invalidValue(`${path}.${f}`, v, m));
  }
  const scope = params.scope;
  if (absent(scope)) return void errs.push(required(`${path}.scope`));
  if (typeof scope !== 'string' || !SCOPES.includes(scope)) return void errs.push(notSupported(`${path}.scope`, scope, SCOPES));
  const ns = params.namespace;
  if (scope === 'Namespace') {
    if (absent(ns)) errs.push(required(`${path}.namespace`, "`parameters.scope` is set to 'Namespace'"));
    else if (typeof ns !== 'string') errs.push(typeInvalid(`${path}.namespace`, ns, 'must be of type string'));
    else for (const m of dns1123LabelErrors(ns)) errs.push(invalidValue(`${path}.namespace`, ns, m));
  }
  if (scope === 'Cluster' && !absent(ns)) errs.push(forbidden(`${path}.namespace`, "`parameters.scope` is set to 'Cluster'"));
}

export const ingressClassKind: KindInfo<IngressClassObject> = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'IngressClass',
  resource: 'ingressclasses',
  singular: 'ingressclass',
  namespaced: false,
  generation: true,
  strategy: {
    defaults(ic) {
      const params = ic.spec?.parameters;
      if (isPlainObject(params) && absent(params.scope)) params.scope = 'Cluster';
    },
    validate(ic) {
      const errs: FieldError[] = [];
      const spec = ic.spec as unknown;
      if (!absent(spec) && !isPlainObject(spec)) return [typeInvalid('spec', spec, 'must be of type object')];
      const s = (spec ?? {}) as Record<string, unknown>;
      const controller = s.controller;
      if (absent(controller) || controller === '') errs.push(required('spec.controller'));
      else if (typeof controller !== 'string') errs.push(typeInvalid('spec.controller', controller, 'must be of type string'));
      else {
        if (Buffer.byteLength(controller) > MAX_CONTROLLER_LENGTH) errs.push(tooLong('spec.controller', '', MAX_CONTROLLER_LENGTH));
        errs.push(...domainPrefixedPathErrors('spec.controller', controller));
      }
      validateParametersReference(s.parameters, errs);
      return errs;
    },
    validateUpdate(ic, old) {
      const now = ic.spec?.controller ?? '';
      if (now !== (old.spec?.controller ?? '')) return [invalidValue('spec.controller', now, 'field is immutable')];
      return [];
    },
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Controller', type: 'string', description: 'The controller that implements this class.', priority: 0 },
        { name: 'Parameters', type: 'string', description: 'The resource holding extra parameters for the controller.', priority: 0 },
        AGE_COLUMN,
      ],
      row: (ic, now) => {
        const p = ic.spec?.parameters;
        let parameters = '<none>';
        if (isPlainObject(p)) {
          parameters = str(p.kind);
          if (typeof p.apiGroup === 'string') parameters += '.' + p.apiGroup;
          parameters += '/' + str(p.name);
        }
        return [ic.metadata?.name ?? '', str(ic.spec?.controller), parameters, formatAge(ic.metadata?.creationTimestamp, now)];
      },
    },
  },
};

// ---- NetworkPolicy ----

const POLICY_TYPES = ['Ingress', 'Egress'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const CIDR_MESSAGE = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

function validateNetworkPolicyPort(port: unknown, path: string, errs: FieldError[]): void {
  if (!isPlainObject(port)) return void errs.push(typeInvalid(path, port, 'must be of type object'));
  if (!absent(port.protocol) && (typeof port.protocol !== 'string' || !PROTOCOLS.includes(port.protocol)))
    errs.push(notSupported(`${path}.protocol`, port.protocol, PROTOCOLS));
  const endPort = port.endPort;
  if (!absent(endPort) && !Number.isInteger(endPort)) return void errs.push(typeInvalid(`${path}.endPort`, endPort, 'must be of type integer'));
  const p = port.port;
  if (absent(p)) {
    if (!absent(endPort)) errs.push(invalidValue(`${path}.endPort`, endPort, 'may not be specified when `port` is not specified'));
  } else if (typeof p === 'number') {
    if (!Number.isInteger(p)) return void errs.push(typeInvalid(`${path}.port`, p, 'must be an integer or a string'));
    for (const m of portNumErrors(p)) errs.push(invalidValue(`${path}.port`, p, m));
    if (typeof endPort === 'number') {
      if (endPort < p) errs.push(invalidValue(`${path}.endPort`, endPort, 'must be greater than or equal to `port`'));
      for (const m of portNumErrors(endPort)) errs.push(invalidValue(`${path}.endPort`, endPort, m));
    }
  } else if (typeof p === 'string') {
    if (!absent(endPort)) errs.push(invalidValue(`${path}.endPort`, endPort, 'may not be specified when `port` is non-numeric'));
    for (const m of portNameErrors(p)) errs.push(invalidValue(`${path}.port`, p, m));
  } else {
    errs.push(typeInvalid(`${path}.port`, p, 'must be an integer or a string'));
  }
}

function validateIPBlock(block: unknown, path: string, errs: FieldError[]): void {
  if (!isPlainObject(block)) return void errs.push(typeInvalid(path, block, 'must be of type object'));
  const cidr = block.cidr;
  if (absent(cidr) || cidr === '') return void errs.push(required(`${path}.cidr`));
  if (typeof cidr !== 'string') return void errs.push(typeInvalid(`${path}.cidr`, cidr, 'must be of type string'));
  const net = parseCIDR(cidr);
  if (!net) return void errs.push(invalidValue(`${path}.cidr`, cidr, CIDR_MESSAGE));
  if (absent(block.except)) return;
  if (!Array.isArray(block.except)) return void errs.push(typeInvalid(`${path}.except`, block.except, 'must be of type array'));
  block.except.forEach((e: unknown, i) => {
    const ep = `${path}.except[${i}]`;
    if (typeof e !== 'string') return void errs.push(typeInvalid(ep, e, 'must be of type string'));
    const except = parseCIDR(e);
    if (!except) return void errs.push(invalidValue(ep, e, CIDR_MESSAGE));
    if (!cidrContains(net, except.ip) || net.prefix >= except.prefix)
      errs.push(invalidValue(ep, e, 'must be a strict subset of `cidr`'));
  });
}

function validatePeer(peer: unknown, path: string, errs: FieldError[]): void {
  if (!isPlainObject(peer)) return void errs.push(typeInvalid(path, peer, 'must be of type object'));
  let peers = 0;
  for (const f of ['podSelector', 'namespaceSelector']) {
    if (absent(peer[f])) continue;
    peers++;
    errs.push(...validateLabelSelector(peer[f] as LabelSelector, `${path}.${f}`));
  }
  if (!absent(peer.ipBlock)) {
    peers++;
    validateIPBlock(peer.ipBlock, `${path}.ipBlock`, errs);
  }
  if (peers === 0) errs.push(required(path, 'must specify a peer'));
  else if (peers > 1 && !absent(peer.ipBlock)) errs.push(forbidden(path, 'may not specify both ipBlock and another peer'));
}

function validateRules(rules: unknown, direction: 'ingress' | 'egress', errs: FieldError[]): void {
  const base = `spec.${direction}`;
  if (absent(rules)) return;
  if (!Array.isArray(rules)) return void errs.push(typeInvalid(base, rules, 'must be of type array'));
  const peersField = direction === 'ingress' ? 'from' : 'to';
  rules.forEach((rule: unknown, i) => {
    const rp = `${base}[${i}]`;
    if (!isPlainObject(rule)) return void errs.push(typeInvalid(rp, rule, 'must be of type object'));
    if (!absent(rule.ports) && !Array.isArray(rule.ports)) errs.push(typeInvalid(`${rp}.ports`, rule.ports, 'must be of type array'));
    else ((rule.ports ?? []) as unknown[]).forEach((p, j) => validateNetworkPolicyPort(p, `${rp}.ports[${j}]`, errs));
    const peers = rule[peersField];
    if (!absent(peers) && !Array.isArray(peers)) errs.push(typeInvalid(`${rp}.${peersField}`, peers, 'must be of type array'));
    else ((peers ?? []) as unknown[]).forEach((p, j) => validatePeer(p, `${rp}.${peersField}[${j}]`, errs));
  });
}

function defaultPortProtocols(rules: unknown): void {
  if (!Array.isArray(rules)) return;
  for (const rule of rules) {
    if (!isPlainObject(rule) || !Array.isArray(rule.ports)) continue;
    for (const port of rule.ports) if (isPlainObject(port) && absent(port.protocol)) port.protocol = 'TCP';
  }
}

export const networkPolicyKind: KindInfo<NetworkPolicyObject> = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'NetworkPolicy',
  resource: 'networkpolicies',
  singular: 'networkpolicy',
  namespaced: true,
  shortNames: ['netpol'],
  generation: true,
  strategy: {
    defaults(np) {
      // podSelector is a struct upstream: it is always written, `{}` when it selects every pod.
      if (absent(np.spec)) np.spec = { podSelector: {} };
      const spec = np.spec;
      if (!isPlainObject(spec)) return;
      if (absent(spec.podSelector)) spec.podSelector = {};
      defaultPortProtocols(spec.ingress);
      defaultPortProtocols(spec.egress);
      if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0) {
        if (!absent(spec.policyTypes) && !Array.isArray(spec.policyTypes)) return;
        spec.policyTypes = ['Ingress'];
        if (Array.isArray(spec.egress) && spec.egress.length > 0) spec.policyTypes.push('Egress');
      }
    },
    validate(np) {
      const errs: FieldError[] = [];
      const spec = np.spec as unknown;
      if (!absent(spec) && !isPlainObject(spec)) return [typeInvalid('spec', spec, 'must be of type object')];
      const s = (spec ?? {}) as Record<string, unknown>;
      errs.push(...validateLabelSelector((s.podSelector ?? {}) as LabelSelector, 'spec.podSelector'));
      validateRules(s.ingress, 'ingress', errs);
      validateRules(s.egress, 'egress', errs);
      const types = s.policyTypes;
      if (absent(types)) return errs;
      if (!Array.isArray(types)) return [...errs, typeInvalid('spec.policyTypes', types, 'must be of type array')];
      if (types.length > POLICY_TYPES.length) return [...errs, invalidValue('spec.policyTypes', types, 'may not specify more than two policyTypes')];
      types.forEach((t: unknown, i) => {
        if (typeof t !== 'string' || !POLICY_TYPES.includes(t)) errs.push(notSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES));
      });
      return errs;
    },
    table: {
      columns: [
        NAME_COLUMN,
        { name: 'Pod-Selector', type: 'string', description: 'Selects the pods to which this NetworkPolicy object applies.', priority: 0 },
        AGE_COLUMN,
      ],
      row: (np, now) => [
        np.metadata?.name ?? '',
        formatLabelSelector(isPlainObject(np.spec?.podSelector) ? np.spec.podSelector : {}) || '<none>',
        formatAge(np.metadata?.creationTimestamp, now),
      ],
    },
  },
};

