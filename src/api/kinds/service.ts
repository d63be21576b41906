import type { Service } from 'kubernetes-types/core/v1.js';
import { type FieldError, required, invalidValue, notSupported, duplicate, forbidden } from '../errors.js';
import type { KindInfo } from '../types.js';
import { formatAge } from '../names.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, nameIsDNS1035Label, qualifiedNameErrors, validateLabels } from '../validation.js';
import { type Obj, isObj, str, int, list, obj, digStr, digList, portNumErrors, validatePortNumOrName, ipErrors, cidrErrors, jsonEqual, clone } from './checks.js';

const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const KUBELET_PORT = 10250;
const LB_SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

type Spec = Obj;
const specOf = (svc: Service): Spec => (isObj(svc.spec) ? (svc.spec as unknown as Spec) : {});
const unset = (v: unknown) => v === undefined || v === null;

const externallyAccessible = (s: Spec) =>
  s.type === 'LoadBalancer' || s.type === 'NodePort' || (s.type === 'ClusterIP' && Array.isArray(s.externalIPs) && s.externalIPs.length > 0);
const needsClusterIP = (s: Spec) => s.type !== 'ExternalName';
const needsNodePort = (s: Spec) => s.type === 'NodePort' || s.type === 'LoadBalancer';
const needsHealthCheck = (s: Spec) => s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
const isHeadless = (s: Spec) => Array.isArray(s.clusterIPs) && s.clusterIPs.length === 1 && s.clusterIPs[0] === 'None';
const ports = (s: Spec): Obj[] => (Array.isArray(s.ports) ? s.ports.filter(isObj) : []);

/** Upstream SetDefaults_Service. */
function defaultService(svc: Service): void {
  if (!isObj(svc.spec)) Object.assign(svc, { spec: {} });
  const s = specOf(svc);
  if (!s.sessionAffinity) s.sessionAffinity = 'None';
  if (s.sessionAffinity === 'None') delete s.sessionAffinityConfig;
  if (s.sessionAffinity === 'ClientIP') {
    const t = isObj(s.sessionAffinityConfig) && isObj(s.sessionAffinityConfig.clientIP) ? s.sessionAffinityConfig.clientIP.timeoutSeconds : undefined;
    if (unset(t)) s.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (!s.type) s.type = 'ClusterIP';
  for (const p of ports(s)) {
    if (!p.protocol) p.protocol = 'TCP';
    if (unset(p.targetPort) || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(s) && !s.externalTrafficPolicy) s.externalTrafficPolicy = 'Cluster';
  if (unset(s.internalTrafficPolicy) && (s.type === 'NodePort' || s.type === 'LoadBalancer' || s.type === 'ClusterIP'))
    s.internalTrafficPolicy = 'Cluster';
  // status.loadBalancer is a struct upstream: always written, `{}` when empty.
  if (isObj(svc.status) && unset(svc.status.loadBalancer)) svc.status.loadBalancer = {};
  if (s.type === 'LoadBalancer') {
    if (unset(s.allocateLoadBalancerNodePorts)) s.allocateLoadBalancerNodePorts = true;
    for (const ing of digList(svc.status, 'loadBalancer', 'ingress'))
      if (isObj(ing) && ing.ip && unset(ing.ipMode)) ing.ipMode = 'VIP';
  }
}

/** Keeps clusterIP and clusterIPs consistent when a client sets only one of them (upstream NormalizeClusterIPs). */
function normalizeClusterIPs(s: Spec, old?: Spec): void {
  const ip = typeof s.clusterIP === 'string' ? s.clusterIP : '';
  const ips = Array.isArray(s.clusterIPs) ? s.clusterIPs : [];
  if (!old) {
    if (ip && ips.length === 0) s.clusterIPs = [ip];
    return;
  }
  const oldIP = typeof old.clusterIP === 'string' ? old.clusterIP : '';
  const oldIPs = Array.isArray(old.clusterIPs) ? old.clusterIPs : [];
  if (oldIPs.length > 0 && ips.length === 0 && oldIP === ip) s.clusterIPs = clone(oldIPs);
  const same = jsonEqual(oldIPs, s.clusterIPs ?? []);
  if (oldIP !== ip) {
    if (oldIP && !ip) {
      if (same) delete s.clusterIPs;
    } else if (same) s.clusterIPs = [ip];
  }
}

/** Values the allocator assigned that a client omitted on update are kept (upstream patchAllocatedValues). */
function patchAllocatedValues(s: Spec, old: Spec): void {
  if (needsClusterIP(old) && needsClusterIP(s)) {
    if (!s.clusterIP && old.clusterIP) s.clusterIP = old.clusterIP;
    if ((!Array.isArray(s.clusterIPs) || s.clusterIPs.length === 0) && Array.isArray(old.clusterIPs) && old.clusterIPs.length > 0)
      s.clusterIPs = clone(old.clusterIPs);
  }
  if (needsNodePort(old) && needsNodePort(s)) {
    const used = new Set(ports(old).map((p) => p.nodePort).filter((n) => ports(s).some((q) => q.nodePort === n)));
    const byName = new Map(ports(old).map((p) => [p.name ?? '', p.nodePort]));
    for (const p of ports(s))
      if (unset(p.nodePort) || p.nodePort === 0) {
        const v = byName.get(p.name ?? '');
        if (typeof v === 'number' && v !== 0 && !used.has(v)) p.nodePort = v;
      }
  }
  if (needsHealthCheck(old) && needsHealthCheck(s) && !s.healthCheckNodePort && old.healthCheckNodePort)
    s.healthCheckNodePort = old.healthCheckNodePort;
}

/** Fields that belong to the type a service moves away from are dropped if the client left them as they were. */
function dropTypeDependentFields(svc: Service, s: Spec, old: Spec): void {
  if (needsClusterIP(old) && !needsClusterIP(s)) {
    if (jsonEqual(old.clusterIPs, s.clusterIPs) && old.clusterIP === s.clusterIP) {
      delete s.clusterIP;
      delete s.clusterIPs;
    }
    if (jsonEqual(old.ipFamilies, s.ipFamilies)) delete s.ipFamilies;
    if (jsonEqual(old.ipFamilyPolicy, s.ipFamilyPolicy)) delete s.ipFamilyPolicy;
  }
  if (needsNodePort(old) && !needsNodePort(s) && jsonEqual(ports(old).map((p) => p.nodePort ?? 0), ports(s).map((p) => p.nodePort ?? 0)))
    for (const p of ports(s)) delete p.nodePort;
  if (needsHealthCheck(old) && !needsHealthCheck(s) && old.healthCheckNodePort === s.healthCheckNodePort) delete s.healthCheckNodePort;
  if (old.type === 'LoadBalancer' && s.type !== 'LoadBalancer') {
    if (!unset(s.allocateLoadBalancerNodePorts) && s.allocateLoadBalancerNodePorts === old.allocateLoadBalancerNodePorts)
      delete s.allocateLoadBalancerNodePorts;
    if (jsonEqual(old.loadBalancerClass, s.loadBalancerClass)) delete s.loadBalancerClass;
  }
  if (externallyAccessible(old) && !externallyAccessible(s) && old.externalTrafficPolicy === s.externalTrafficPolicy)
    delete s.externalTrafficPolicy;
  if (s.type !== 'LoadBalancer' && isObj(svc.status)) svc.status.loadBalancer = {};
}

function validateServicePort(p: Obj, requireName: boolean, names: Set<string>, path: string, errs: FieldError[]): void {
  const name = str(p.name, `${path}.name`, errs);
  if (requireName && !name) errs.push(required(`${path}.name`));
  else if (name) {
    for (const m of dns1123LabelErrors(name)) errs.push(invalidValue(`${path}.name`, name, m));
    if (names.has(name)) errs.push(duplicate(`${path}.name`, name));
    else names.add(name);
  }
  const port = int(p.port, `${path}.port`, errs) ?? 0;
  for (const m of portNumErrors(port)) errs.push(invalidValue(`${path}.port`, port, m));
  const proto = str(p.protocol, `${path}.protocol`, errs);
  if (!proto) errs.push(required(`${path}.protocol`));
  else if (!PROTOCOLS.includes(proto)) errs.push(notSupported(`${path}.protocol`, proto, PROTOCOLS));
  errs.push(...validatePortNumOrName(p.targetPort, `${path}.targetPort`));
  if (!unset(p.appProtocol)) {
    const ap = str(p.appProtocol, `${path}.appProtocol`, errs);
    for (const m of qualifiedNameErrors(ap)) errs.push(invalidValue(`${path}.appProtocol`, ap, m));
  }
}

function validateClusterIPs(s: Spec, errs: FieldError[]): void {
  if (s.type === 'ExternalName') return;
  const ip = str(s.clusterIP, 'spec.clusterIP', errs);
  const ips = list(s.clusterIPs, 'spec.clusterIPs', errs);
  if (ip) {
    if (ips.length === 0) errs.push(required('spec.clusterIPs'));
    else if (ips[0] !== ip) errs.push(invalidValue('spec.clusterIPs', ips, 'first value must match `clusterIP`'));
  } else if (ips.length !== 0) errs.push(invalidValue('spec.clusterIPs', ips, 'must be empty when `clusterIP` is not specified'));
  const families = list(s.ipFamilies, 'spec.ipFamilies', errs);
  const seen = new Set<unknown>();
  families.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') errs.push(notSupported(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6']));
    if (seen.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
  });
  const policies = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
  if (!unset(s.ipFamilyPolicy) && !policies.includes(s.ipFamilyPolicy as string)) errs.push(notSupported('spec.ipFamilyPolicy', s.ipFamilyPolicy, policies));
  let invalid = false;
  ips.forEach((x, i) => {
    if (i === 0 && x === 'None') {
      if (ips.length > 1) {
        invalid = true;
        errs.push(invalidValue('spec.clusterIPs', ips, "'None' must be the first and only value"));
      }
      return;
    }
    const e = ipErrors(`spec.clusterIPs[${i}]`, typeof x === 'string' ? x : '');
    if (e.length) invalid = true;
    errs.push(...e);
  });
  if (ips.length > 2) errs.push(invalidValue('spec.clusterIPs', ips, 'may only hold up to 2 values'));
  if (invalid) return;
  if (ips.length > 1) {
    const v6 = ips.map((x) => String(x).includes(':'));
    if (v6[0] === v6[1]) errs.push(invalidValue('spec.clusterIPs', ips, 'may specify no more than one IP for each IP family'));
  }
  if (!isHeadless(s))
    ips.forEach((x, i) => {
      if (i >= families.length) return;
      const isV6 = String(x).includes(':');
      if (families[i] === 'IPv4' && isV6) errs.push(invalidValue(`spec.clusterIPs[${i}]`, x, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (families[i] === 'IPv6' && !isV6) errs.push(invalidValue(`spec.clusterIPs[${i}]`, x, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
}

/** Upstream ValidateService (metadata aside). */
function validateService(svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  const s = obj(svc.spec, 'spec', errs) ?? {};
  const type = str(s.type, 'spec.type', errs);
  const svcPorts = list(s.ports, 'spec.ports', errs);
  const headless = isHeadless(s);
  const annotations = svc.metadata?.annotations ?? {};
  const hints = annotations['service.kubernetes.io/topology-aware-hints'];
  const mode = annotations['service.kubernetes.io/topology-mode'];
  if (hints !== undefined && mode !== undefined && hints !== mode)
    errs.push(invalidValue('metadata.annotations[service.kubernetes.io/topology-mode]', mode, 'must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified'));

  if (svcPorts.length === 0 && !headless && type !== 'ExternalName') errs.push(required('spec.ports'));
  const clusterIPs = Array.isArray(s.clusterIPs) ? s.clusterIPs : [];
  if (type === 'LoadBalancer') {
    svcPorts.forEach((p, i) => {
      if (isObj(p) && p.port === KUBELET_PORT)
        errs.push(invalidValue(`spec.ports[${i}]`, p.port, `may not expose port ${KUBELET_PORT} externally since it is used by kubelet`));
    });
    if (headless) errs.push(invalidValue('spec.clusterIPs[0]', clusterIPs[0], "may not be set to 'None' for LoadBalancer services"));
  } else if (type === 'NodePort') {
    if (headless) errs.push(invalidValue('spec.clusterIPs[0]', clusterIPs[0], "may not be set to 'None' for NodePort services"));
  } else if (type === 'ExternalName') {
    if (clusterIPs.length > 0) errs.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (Array.isArray(s.ipFamilies) && s.ipFamilies.length > 0) errs.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (!unset(s.ipFamilyPolicy)) errs.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const cname = str(s.externalName, 'spec.externalName', errs).replace(/\.$/, '');
    if (cname) for (const m of dns1123SubdomainErrors(cname)) errs.push(invalidValue('spec.externalName', cname, m));
    else errs.push(required('spec.externalName'));
  }

  const names = new Set<string>();
  svcPorts.forEach((p, i) => validateServicePort(obj(p, `spec.ports[${i}]`, errs) ?? {}, svcPorts.length > 1, names, `spec.ports[${i}]`, errs));
  if (!unset(s.selector)) errs.push(...validateLabels(s.selector, 'spec.selector'));

  const affinity = str(s.sessionAffinity, 'spec.sessionAffinity', errs);
  if (!affinity) errs.push(required('spec.sessionAffinity'));
  else if (affinity !== 'ClientIP' && affinity !== 'None') errs.push(notSupported('spec.sessionAffinity', affinity, ['ClientIP', 'None']));
  if (affinity === 'ClientIP') {
    const cfg = s.sessionAffinityConfig;
    const when = 'when session affinity type is ClientIP';
    if (!isObj(cfg)) errs.push(required('spec.sessionAffinityConfig', when));
    else if (!isObj(cfg.clientIP)) errs.push(required('spec.sessionAffinityConfig.clientIP', when));
    else if (unset(cfg.clientIP.timeoutSeconds)) errs.push(required('spec.sessionAffinityConfig.clientIP.timeoutSeconds', when));
    else {
      const t = cfg.clientIP.timeoutSeconds;
      if (typeof t !== 'number' || t <= 0 || t > 86400)
        errs.push(invalidValue('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t, 'must be greater than 0 and less than 86400'));
    }
  } else if (affinity === 'None' && !unset(s.sessionAffinityConfig)) {
    errs.push(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }

  validateClusterIPs(s, errs);
  list(s.externalIPs, 'spec.externalIPs', errs).forEach((ip, i) => errs.push(...ipErrors(`spec.externalIPs[${i}]`, typeof ip === 'string' ? ip : '')));

  if (!type) errs.push(required('spec.type'));
  else if (!TYPES.includes(type)) errs.push(notSupported('spec.type', type, TYPES));
  if (type === 'ClusterIP')
    svcPorts.forEach((p, i) => {
      if (isObj(p) && !unset(p.nodePort) && p.nodePort !== 0) errs.push(forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  const nodePorts = new Set<string>();
  const portKeys = new Set<string>();
  svcPorts.forEach((p, i) => {
    if (!isObj(p)) return;
    if (typeof p.nodePort === 'number' && p.nodePort !== 0) {
      const key = `${String(p.protocol)}/${p.nodePort}`;
      if (nodePorts.has(key)) errs.push(duplicate(`spec.ports[${i}].nodePort`, p.nodePort));
      nodePorts.add(key);
    }
    const key = `${String(p.protocol)}/${String(p.port)}`;
    if (portKeys.has(key)) errs.push(duplicate(`spec.ports[${i}]`, { port: p.port, protocol: p.protocol }));
    portKeys.add(key);
  });

  const ranges = list(s.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges', errs);
  if (ranges.length > 0) {
    if (type !== 'LoadBalancer') errs.push(forbidden('spec.LoadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'"));
    ranges.forEach((r, i) => errs.push(...cidrErrors(`spec.LoadBalancerSourceRanges[${i}]`, typeof r === 'string' ? r.trim() : '')));
  } else if (LB_SOURCE_RANGES_ANNOTATION in annotations) {
    const fp = `metadata.annotations[${LB_SOURCE_RANGES_ANNOTATION}]`;
    if (type !== 'LoadBalancer') errs.push(forbidden(fp, "may only be used when `type` is 'LoadBalancer'"));
    const val = annotations[LB_SOURCE_RANGES_ANNOTATION].trim();
    if (val) for (const c of val.split(',')) errs.push(...cidrErrors(fp, c.trim()));
  }
  if (!unset(s.allocateLoadBalancerNodePorts) && type !== 'LoadBalancer')
    errs.push(forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  if (type === 'LoadBalancer' && unset(s.allocateLoadBalancerNodePorts)) errs.push(required('allocateLoadBalancerNodePorts'));
  if (type === 'LoadBalancer') {
    if (!unset(s.loadBalancerClass)) {
      const c = str(s.loadBalancerClass, 'spec.loadBalancerClass', errs);
      for (const m of qualifiedNameErrors(c)) errs.push(invalidValue('spec.loadBalancerClass', c, m));
    }
  } else if (!unset(s.loadBalancerClass)) errs.push(forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"));

  const etp = str(s.externalTrafficPolicy, 'spec.externalTrafficPolicy', errs);
  if (!externallyAccessible(s)) {
    if (etp) errs.push(invalidValue('spec.externalTrafficPolicy', etp, 'may only be set for externally-accessible services'));
  } else if (!etp) errs.push(required('spec.externalTrafficPolicy'));
  else if (etp !== 'Cluster' && etp !== 'Local') errs.push(notSupported('spec.externalTrafficPolicy', etp, ['Cluster', 'Local']));
  const hc = int(s.healthCheckNodePort, 'spec.healthCheckNodePort', errs) ?? 0;
  if (!needsHealthCheck(s)) {
    if (hc !== 0) errs.push(invalidValue('spec.healthCheckNodePort', hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  } else if (hc === 0) errs.push(required('spec.healthCheckNodePort'));
  else for (const m of portNumErrors(hc)) errs.push(invalidValue('spec.healthCheckNodePort', hc, m));

  if (unset(s.internalTrafficPolicy)) {
    if (type === 'NodePort' || type === 'LoadBalancer' || type === 'ClusterIP') errs.push(required('spec.internalTrafficPolicy'));
  } else if (s.internalTrafficPolicy !== 'Cluster' && s.internalTrafficPolicy !== 'Local')
    errs.push(notSupported('spec.internalTrafficPolicy', s.internalTrafficPolicy, ['Cluster', 'Local']));
  if (!unset(s.trafficDistribution) && s.trafficDistribution !== 'PreferClose')
    errs.push(notSupported('spec.trafficDistribution', s.trafficDistribution, ['PreferClose']));
  return errs;
}

/** clusterIPs, ipFamilies and loadBalancerClass may not change once set (except to/from ExternalName and headless). */
function validateServiceUpdate(svc: Service, old: Service): FieldError[] {
  const errs: FieldError[] = [];
  const s = specOf(svc);
  const o = specOf(old);
  const ips = Array.isArray(s.clusterIPs) ? s.clusterIPs : [];
  const oldIPs = Array.isArray(o.clusterIPs) ? o.clusterIPs : [];
  const fam = Array.isArray(s.ipFamilies) ? s.ipFamilies : [];
  const oldFam = Array.isArray(o.ipFamilies) ? o.ipFamilies : [];
  const singleStack = s.ipFamilyPolicy === 'SingleStack';
  const externalName = s.type === 'ExternalName' || o.type === 'ExternalName';
  if (!externalName && !(isHeadless(s) && isHeadless(o))) {
    if (oldIPs.length === ips.length) {
      oldIPs.forEach((ip, i) => {
        if (ip !== ips[i]) errs.push(invalidValue(`spec.clusterIPs[${i}]`, ips, 'may not change once set'));
      });
    } else if (oldIPs.length > ips.length) {
      if (ips.length === 0) errs.push(invalidValue('spec.clusterIPs[0]', ips, 'primary clusterIP can not be unset'));
      if (oldIPs.length > 0 && ips.length > 0 && ips[0] !== oldIPs[0]) errs.push(invalidValue('spec.clusterIPs[0]', ips, 'may not change once set'));
      if (ips.length === 1 && !singleStack)
        errs.push(invalidValue('spec.ipFamilyPolicy', s.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
    } else if (oldIPs.length > 0 && ips[0] !== oldIPs[0]) {
      errs.push(invalidValue('spec.clusterIPs[0]', ips, 'may not change once set'));
    }
  }
  if (!externalName && isHeadless(s) === isHeadless(o) && !isHeadless(s)) {
    if (oldFam.length === fam.length) {
      if (oldFam.some((f, i) => f !== fam[i])) errs.push(invalidValue('spec.ipFamilies[0]', fam, 'may not change once set'));
    } else if (oldFam.length > fam.length) {
      if (ips.length === 0) errs.push(invalidValue('spec.ipFamilies[0]', fam, 'primary ipFamily can not be unset'));
      if (fam.length > 0 && fam[0] !== oldFam[0]) errs.push(invalidValue('spec.ipFamilies[0]', ips, 'may not change once set'));
      if (fam.length === 1 && !singleStack)
        errs.push(invalidValue('spec.ipFamilyPolicy', s.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
    } else if (oldFam.length > 0 && fam.length > 0 && fam[0] !== oldFam[0]) {
      errs.push(invalidValue('spec.ipFamilies[0]', ips, 'may not change once set'));
    }
  }
  if (o.type === 'LoadBalancer' && s.type === 'LoadBalancer' && !jsonEqual(o.loadBalancerClass ?? null, s.loadBalancerClass ?? null))
    errs.push(invalidValue('spec.loadBalancerClass', s.loadBalancerClass ?? null, 'may not change once set'));
  if (needsHealthCheck(o) && needsHealthCheck(s) && s.healthCheckNodePort !== o.healthCheckNodePort)
    errs.push(forbidden('spec.healthCheckNodePort', 'field is immutable'));
  return errs;
}

/** The EXTERNAL-IP cell (upstream getServiceExternalIP, as the server prints it: wide, never clipped). */
function externalIP(svc: Service): string {
  const s = specOf(svc);
  const external = Array.isArray(s.externalIPs) ? s.externalIPs.filter((x): x is string => typeof x === 'string') : [];
  switch (s.type) {
    case 'ClusterIP':
    case 'NodePort':
      return external.length ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = [
        ...new Set(
          digList(svc.status, 'loadBalancer', 'ingress')
            .map((i) => digStr(i, 'ip') || digStr(i, 'hostname'))
            .filter((x) => x),
        ),
      ].sort();
      if (external.length) return [...lb, ...external].join(',');
      return lb.length ? lb.join(',') : '<pending>';
    }
    case 'ExternalName':
      return typeof s.externalName === 'string' ? s.externalName : '';
  }
  return '<unknown>';
}

/** `80/TCP,443:30443/TCP`. */
export function servicePorts(svc: Service): string {
  const out = ports(specOf(svc)).map((p) =>
    typeof p.nodePort === 'number' && p.nodePort > 0 ? `${String(p.port)}:${p.nodePort}/${String(p.protocol ?? '')}` : `${String(p.port)}/${String(p.protocol ?? '')}`,
  );
  return out.length ? out.join(',') : '<none>';
}

/** `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty. */
export function formatLabels(m: unknown): string {
  if (!isObj(m)) return '<none>';
  const pairs = Object.keys(m)
    .sort()
    .map((k) => `${k}=${String(m[k])}`);
  return pairs.length ? pairs.join(',') : '<none>';
}

export const serviceKind: KindInfo<Service> & { nameValidator: typeof nameIsDNS1035Label } = {
  group: '',
  version: 'v1',
  kind: 'Service',
  resource: 'services',
  singular: 'service',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  allowCreateOnUpdate: true,
  nameValidator: nameIsDNS1035Label,
  subresources: {
    status: true,
    extra: [{ name: 'proxy', kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
  },
  strategy: {
    defaults: defaultService,
    prepareForCreate(svc) {
      Object.assign(svc, { status: { loadBalancer: {} } });
      normalizeClusterIPs(specOf(svc));
    },
    prepareForUpdate(svc, old) {
      const s = specOf(svc);
      const o = specOf(old);
      normalizeClusterIPs(s, o);
      dropTypeDependentFields(svc, s, o);
      patchAllocatedValues(s, o);
    },
    prepareForStatusUpdate: (svc) => defaultService(svc),
    validate: validateService,
    validateUpdate: validateServiceUpdate,
    selectableFields: (svc) => ({ 'spec.clusterIP': digStr(svc.spec, 'clusterIP'), 'spec.type': digStr(svc.spec, 'type') }),
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Type', type: 'string', description: 'type determines how the Service is exposed.', priority: 0 },
        { name: 'Cluster-IP', type: 'string', description: 'clusterIP is the IP address of the service and is usually assigned randomly.', priority: 0 },
        { name: 'External-IP', type: 'string', description: 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.', priority: 0 },
        { name: 'Port(s)', type: 'string', description: 'The list of ports that are exposed by this service.', priority: 0 },
        { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
        { name: 'Selector', type: 'string', description: 'Route service traffic to pods with label keys and values matching this selector.', priority: 1 },
      ],
      row: (svc, now) => {
        const s = specOf(svc);
        const cip = Array.isArray(s.clusterIPs) && typeof s.clusterIPs[0] === 'string' ? s.clusterIPs[0] : '<none>';
        return [
          svc.metadata?.name ?? '',
          typeof s.type === 'string' ? s.type : '',
          cip,
          externalIP(svc),
          servicePorts(svc),
          formatAge(svc.metadata?.creationTimestamp, now),
          formatLabels(s.selector),
        ];
      },
    },
  },
};
