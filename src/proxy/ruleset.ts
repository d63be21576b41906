// The nftables ruleset of the service proxy, computed from Services and EndpointSlices alone (no I/O):
// one table of our own, loaded whole (renderRuleset) or changed in place (partialTransaction). The layout
// follows kube-proxy's nftables mode: verdict maps keyed by `ip . protocol . port` send new connections
// to a per-service chain that DNATs them to an endpoint picked with `numgen random` (through per-endpoint
// chains under session affinity); filter chains reject connections to Services without endpoints;
// marked packets, hairpin connections and pod egress are masqueraded.
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const MASQUERADE_MARK = 0x4000;
/** `sessionAffinityConfig.clientIP.timeoutSeconds` default (3 hours) */
export const DEFAULT_AFFINITY_TIMEOUT_S = 10800;

export interface RulesetOptions {
  tableName: string;
  nodeName: string;
  /** the pods of the cluster: traffic from elsewhere to a ClusterIP is masqueraded; pod egress leaving it too */
  clusterCIDR?: string;
}

export interface Ruleset {
  /** the `nft -f` input, without deletions of stale objects (see transaction()) */
  text: string;
  /** the chains and sets this ruleset creates, so that the next one can delete what it no longer has */
  chains: Set<string>;
  sets: Set<string>;
  /** service ports with DNAT rules, and those answered with a reject */
  stats: { servicePorts: number; endpoints: number; rejecting: number };
}

interface Endpoint {
  ip: string;
  port: number;
  nodeName?: string;
}

const PROTOCOLS: Record<string, string> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Base chains (hooks) and the fixed helper chains, in the order they are declared. */
const BASE_CHAINS: [string, string][] = [
  ['filter-prerouting', 'type filter hook prerouting priority -110; policy accept;'],
  ['filter-input', 'type filter hook input priority -110; policy accept;'],
  ['filter-forward', 'type filter hook forward priority -110; policy accept;'],
  ['filter-output', 'type filter hook output priority -110; policy accept;'],
  ['filter-output-post-dnat', 'type filter hook output priority -90; policy accept;'],
  ['nat-prerouting', 'type nat hook prerouting priority dstnat; policy accept;'],
  ['nat-output', 'type nat hook output priority -100; policy accept;'],
  ['nat-postrouting', 'type nat hook postrouting priority srcnat; policy accept;'],
];
const HELPER_CHAINS = ['services', 'endpoints-check', 'cluster-ips-check', 'reject-chain', 'mark-for-masquerade', 'masquerading'];
const MAPS: [string, string][] = [
  ['service-ips', 'type ipv4_addr . inet_proto . inet_service : verdict;'],
  ['service-nodeports', 'type inet_proto . inet_service : verdict;'],
  ['no-endpoint-services', 'type ipv4_addr . inet_proto . inet_service : verdict;'],
  ['no-endpoint-nodeports', 'type inet_proto . inet_service : verdict;'],
];

export function isIPv4(s: string | undefined): s is string {
  return !!s && IPV4.test(s);
}

/** The Service has a ClusterIP the proxy programs (not headless, not ExternalName, IPv4). */
export function hasProxiedClusterIP(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return svc.spec?.type !== 'ExternalName' && isIPv4(ip);
}

function servicePortID(svc: Service, sp: ServicePort, proto: string): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}/${proto}/${sp.name || String(sp.port)}`;
}

/** Ready endpoints of one service port; serving-and-terminating ones when none is ready (as kube-proxy). */
export function endpointsFor(slices: EndpointSlice[], sp: ServicePort): Endpoint[] {
  const protocol = sp.protocol ?? 'TCP';
  const ready = new Map<string, Endpoint>();
  const terminating = new Map<string, Endpoint>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === protocol);
    if (!port?.port) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!isIPv4(ip)) continue;
      const c = ep.conditions ?? {};
      const isReady = c.ready !== false; // unknown readiness counts as ready (discovery/v1)
      const serving = c.serving ?? isReady;
      const e: Endpoint = { ip, port: port.port, nodeName: ep.nodeName };
      const key = `${ip}:${port.port}`;
      if (isReady && c.terminating !== true) ready.set(key, e);
      else if (serving && c.terminating === true) terminating.set(key, e);
    }
  }
  const chosen = ready.size ? ready : terminating;
  return [...chosen.values()].sort((a, b) => compareIP(a.ip, b.ip) || a.port - b.port);
}

function compareIP(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/** The external addresses of a Service: `spec.externalIPs` and, for LoadBalancers, status ingress IPs. */
export function externalAddresses(svc: Service): string[] {
  const out = new Set<string>();
  for (const ip of svc.spec?.externalIPs ?? []) if (isIPv4(ip)) out.add(ip);
  if (svc.spec?.type === 'LoadBalancer') {
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) if (isIPv4(ing.ip) && ing.ipMode !== 'Proxy') out.add(ing.ip);
  }
  return [...out];
}

function serviceKey(svc: Service): string {
  return `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
}

/** Slices by `namespace/service-name`. */
export function slicesByService(slices: Iterable<EndpointSlice>): Map<string, EndpointSlice[]> {
  const out = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const name = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (!name) continue;
    const key = `${s.metadata?.namespace ?? ''}/${name}`;
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(s);
  }
  return out;
}

/** What one Service adds to the table: its own chains and affinity sets, and elements of the shared maps. */
export interface ServiceRules {
  /** chain → its rules, in declaration order; every name carries the Service's namespace/name */
  chains: Map<string, string[]>;
  /** affinity set → its declaration */
  sets: Map<string, string>;
  /** [map or set, key, verdict ('' for a set)], in order; a key another Service took first is dropped when merged */
  elements: [string, string, string][];
  stats: Ruleset['stats'];
}

/**
 * The ruleset as data: fixed base chains and one ServiceRules per Service (by namespace/name, sorted);
 * the shared maps hold the elements of all Services, a key claimed twice going to the first Service.
 * The unit of partial syncs (partialTransaction()).
 */
export interface RulesetModel {
  tableName: string;
  /** base and helper chains with their rules: constant for one set of options */
  base: string;
  services: Map<string, ServiceRules>;
  stats: Ruleset['stats'];
  /** who claims which element, when built with a cache; current only while `generation` is the claims' */
  claims?: ElementClaims;
  generation: number;
}

/**
 * The Services claiming each element of the shared maps (`map\0key` → Service keys, sorted), kept up to
 * date by buildRulesetModel() for the Services of its cache, so that a diff needs only the elements of
 * the Services that changed instead of every element of the table.
 */
export interface ElementClaims {
  byElement: Map<string, string[]>;
  generation: number;
}

/** Per-Service results of an earlier build, reused while the Service and its slices are the same objects. */
export type ServiceRulesCache = Map<string, { svc: Service; slices: EndpointSlice[]; rules: ServiceRules }>;

const claimsByCache = new WeakMap<ServiceRulesCache, ElementClaims>();
const elementIndex = new WeakMap<ServiceRules, Map<string, string>>();

/** `map\0key` → verdict of one Service's elements (its first, when it names a key twice). */
function elementsOf(rules: ServiceRules): Map<string, string> {
  let m = elementIndex.get(rules);
  if (!m) {
    m = new Map();
    for (const [map, k, v] of rules.elements) {
      const id = `${map}\0${k}`;
      if (!m.has(id)) m.set(id, v);
    }
    elementIndex.set(rules, m);
  }
  return m;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function claim(claims: ElementClaims, key: string, rules: ServiceRules): void {
  for (const id of elementsOf(rules).keys()) {
    const list = claims.byElement.get(id);
    if (!list) claims.byElement.set(id, [key]);
    else if (!list.includes(key)) {
      list.push(key);
      list.sort(byKey);
    }
  }
}

function unclaim(claims: ElementClaims, key: string, rules: ServiceRules): void {
  for (const id of elementsOf(rules).keys()) {
    const list = claims.byElement.get(id);
    if (!list) continue;
    const i = list.indexOf(key);
    if (i >= 0) list.splice(i, 1);
    if (!list.length) claims.byElement.delete(id);
  }
}

const ELEMENT_SETS = ['cluster-ips', 'service-ips', 'service-nodeports', 'no-endpoint-services', 'no-endpoint-nodeports', 'endpoint-hairpins'];

function baseText(opts: RulesetOptions): string {
  const T = `ip ${opts.tableName}`;
  const decls: string[] = [`add table ${T}`, `flush table ${T}`];
  const rules: string[] = [];
  const mark = `0x${MASQUERADE_MARK.toString(16).padStart(8, '0')}`;
  const rule = (chainName: string, r: string) => rules.push(`add rule ${T} ${chainName} ${r}`);
  for (const [name, spec] of BASE_CHAINS) decls.push(`add chain ${T} ${name} { ${spec} }`);
  for (const name of HELPER_CHAINS) decls.push(`add chain ${T} ${name}`);
  for (const [name, spec] of MAPS) decls.push(`add map ${T} ${name} { ${spec} }`, `flush map ${T} ${name}`);
  decls.push(`add set ${T} cluster-ips { type ipv4_addr; }`, `flush set ${T} cluster-ips`);
  decls.push(`add set ${T} endpoint-hairpins { type ipv4_addr . ipv4_addr; }`, `flush set ${T} endpoint-hairpins`);

  rule('filter-prerouting', 'iifname != "lo" ip daddr 127.0.0.0/8 drop');
  for (const c of ['filter-input', 'filter-forward', 'filter-output']) rule(c, 'ct state new jump endpoints-check');
  for (const c of ['filter-forward', 'filter-output-post-dnat']) rule(c, 'ct state new jump cluster-ips-check');
  rule('endpoints-check', 'ip daddr . meta l4proto . th dport vmap @no-endpoint-services');
  rule('endpoints-check', 'fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports');
  rule('cluster-ips-check', 'ip daddr @cluster-ips reject');
  rule('reject-chain', 'meta l4proto tcp reject with tcp reset');
  rule('reject-chain', 'reject');
  rule('nat-prerouting', 'jump services');
  rule('nat-output', 'jump services');
  rule('nat-postrouting', 'jump masquerading');
  if (opts.clusterCIDR) rule('services', `ip daddr @cluster-ips ip saddr != ${opts.clusterCIDR} jump mark-for-masquerade`);
  rule('services', 'ip daddr . meta l4proto . th dport vmap @service-ips');
  rule('services', 'fib daddr type local meta l4proto . th dport vmap @service-nodeports');
  rule('mark-for-masquerade', `meta mark set meta mark | ${mark}`);
  rule('masquerading', `meta mark & ${mark} == ${mark} meta mark set meta mark ^ ${mark} masquerade fully-random`);
  // a pod reaching itself through a Service (hairpin): after DNAT its source and destination are one endpoint
  rule('masquerading', 'ct status dnat ip saddr . ip daddr @endpoint-hairpins masquerade fully-random');
  if (opts.clusterCIDR) rule('masquerading', `ip saddr ${opts.clusterCIDR} ip daddr != ${opts.clusterCIDR} masquerade fully-random`);
  return `${decls.join('\n')}\n\u0000${rules.join('\n')}\n`;
}

/** The chains, sets and map elements of one Service with a proxied ClusterIP. */
export function buildServiceRules(svc: Service, svcSlices: EndpointSlice[], opts: RulesetOptions): ServiceRules {
  const chains = new Map<string, string[]>();
  const sets = new Map<string, string>();
  const elements: [string, string, string][] = [];
  const stats = { servicePorts: 0, endpoints: 0, rejecting: 0 };
  let current: string[] = [];
  const chain = (name: string) => chains.set(name, (current = []));
  // Rules always go to the chain declared last.
  const rule = (r: string) => current.push(r);
  const element = (map: string, key: string, verdict: string) => elements.push([map, key, verdict]);

  const clusterIP = svc.spec!.clusterIP!;
  element('cluster-ips', clusterIP, '');
  const affinity = svc.spec?.sessionAffinity === 'ClientIP';
  const timeout = svc.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_S;
  const localInternal = svc.spec?.internalTrafficPolicy === 'Local';
  const externals = externalAddresses(svc);
  const hasNodePorts = svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
  const localExternal = (hasNodePorts || externals.length > 0) && svc.spec?.externalTrafficPolicy === 'Local';
  const endpointChains = new Set<string>();

  for (const sp of svc.spec?.ports ?? []) {
    const proto = PROTOCOLS[sp.protocol ?? 'TCP'];
    if (!proto || !sp.port) continue;
    const id = servicePortID(svc, sp, proto);
    const nodePort = hasNodePorts && sp.nodePort ? sp.nodePort : undefined;
    const all = endpointsFor(svcSlices, sp);
    stats.servicePorts++;

    if (!all.length) {
      stats.rejecting++;
      element('no-endpoint-services', `${clusterIP} . ${proto} . ${sp.port}`, 'goto reject-chain');
      for (const ip of externals) element('no-endpoint-services', `${ip} . ${proto} . ${sp.port}`, 'goto reject-chain');
      if (nodePort) element('no-endpoint-nodeports', `${proto} . ${nodePort}`, 'goto reject-chain');
      continue;
    }

    const epChain = (e: Endpoint) => `ep-${id}/${e.ip}/${e.port}`;
    const affSet = (e: Endpoint) => `aff-${timeout}-${id}/${e.ip}/${e.port}`;
    const local = all.filter((e) => e.nodeName === opts.nodeName);
    const hasExternal = externals.length > 0 || nodePort !== undefined;
    const clusterChain = `svc-${id}`;
    const localChain = `local-${id}`;
    const needCluster = !localInternal || hasExternal;
    const needLocal = (localInternal || (hasExternal && localExternal)) && local.length > 0;
    stats.endpoints += all.length;

    for (const e of needCluster ? all : local) element('endpoint-hairpins', `${e.ip} . ${e.ip}`, '');
    // Per-endpoint chains only where session affinity needs them: nft reads every chain of the table
    // before each transaction, so chains make partial syncs slow; a DNAT map picks the endpoint otherwise.
    for (const e of !affinity ? [] : needCluster ? all : local) {
      const c = epChain(e);
      if (endpointChains.has(c)) continue;
      endpointChains.add(c);
      chain(c);
      rule(`ip saddr ${e.ip} jump mark-for-masquerade`);
      if (affinity) {
        sets.set(affSet(e), `{ type ipv4_addr; flags dynamic,timeout; timeout ${timeout}s; }`);
        rule(`update @${affSet(e)} { ip saddr }`);
      }
      rule(`meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
    }

    const balance = (name: string, eps: Endpoint[]) => {
      chain(name);
      if (!affinity) {
        if (eps.length === 1) rule(`meta l4proto ${proto} dnat to ${eps[0].ip}:${eps[0].port}`);
        else rule(`meta l4proto ${proto} dnat ip to numgen random mod ${eps.length} map { ${eps.map((e, i) => `${i} : ${e.ip} . ${e.port}`).join(', ')} }`);
        return;
      }
      for (const e of eps) rule(`ip saddr @${affSet(e)} goto ${epChain(e)}`);
      if (eps.length === 1) rule(`goto ${epChain(eps[0])}`);
      else rule(`numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${epChain(e)}`).join(', ')} }`);
    };
    if (needCluster) balance(clusterChain, all);
    if (needLocal) balance(localChain, local);

    // internalTrafficPolicy Local with endpoints on other nodes only: dropped, as kube-proxy does.
    const internalVerdict = !localInternal ? `goto ${clusterChain}` : local.length ? `goto ${localChain}` : 'drop';
    element('service-ips', `${clusterIP} . ${proto} . ${sp.port}`, internalVerdict);

    if (!hasExternal) continue;
    const extChain = `ext-${id}`;
    chain(extChain);
    if (!localExternal) {
      rule('jump mark-for-masquerade');
      rule(`goto ${clusterChain}`);
    } else {
      // Pods and the node itself use every endpoint (source IPs need no keeping there).
      if (opts.clusterCIDR) rule(`ip saddr ${opts.clusterCIDR} goto ${clusterChain}`);
      rule('fib saddr type local jump mark-for-masquerade');
      rule(`fib saddr type local goto ${clusterChain}`);
      rule(local.length ? `goto ${localChain}` : 'drop');
    }
    for (const ip of externals) element('service-ips', `${ip} . ${proto} . ${sp.port}`, `goto ${extChain}`);
    if (nodePort) element('service-nodeports', `${proto} . ${nodePort}`, `goto ${extChain}`);
  }
  return { chains, sets, elements, stats };
}

/**
 * The model of the whole table. With `cache`, Services whose object and slices are the very objects of
 * the last call (an informer keeps unchanged objects) reuse their ServiceRules; the cache is updated.
 */
export function buildRulesetModel(services: Iterable<Service>, slices: Iterable<EndpointSlice>, opts: RulesetOptions, cache?: ServiceRulesCache): RulesetModel {
  const bySvc = slicesByService(slices);
  const keyed: [string, Service][] = [];
  for (const svc of services) if (hasProxiedClusterIP(svc)) keyed.push([serviceKey(svc), svc]);
  keyed.sort((a, b) => byKey(a[0], b[0]));
  const out = new Map<string, ServiceRules>();
  const stats = { servicePorts: 0, endpoints: 0, rejecting: 0 };
  let claims: ElementClaims | undefined;
  if (cache) {
    claims = claimsByCache.get(cache);
    if (!claims) {
      claims = { byElement: new Map(), generation: 0 };
      for (const [key, { rules }] of cache) claim(claims, key, rules);
      claimsByCache.set(cache, claims);
    }
    claims.generation++;
  }
  const unused = new Set(cache?.keys());
  for (const [key, svc] of keyed) {
    const svcSlices = bySvc.get(key) ?? [];
    const hit = cache?.get(key);
    let rules: ServiceRules;
    if (hit && hit.svc === svc && hit.slices.length === svcSlices.length && hit.slices.every((s, i) => s === svcSlices[i])) rules = hit.rules;
    else {
      rules = buildServiceRules(svc, svcSlices, opts);
      if (cache && claims) {
        if (hit) unclaim(claims, key, hit.rules);
        claim(claims, key, rules);
        cache.set(key, { svc, slices: svcSlices, rules });
      }
    }
    unused.delete(key);
    out.set(key, rules);
    stats.servicePorts += rules.stats.servicePorts;
    stats.endpoints += rules.stats.endpoints;
    stats.rejecting += rules.stats.rejecting;
  }
  for (const key of unused) {
    if (claims) unclaim(claims, key, cache!.get(key)!.rules);
    cache?.delete(key);
  }
  return { tableName: opts.tableName, base: baseText(opts), services: out, stats, claims, generation: claims?.generation ?? 0 };
}

/**
 * The elements of the shared maps: map → key → verdict ('' for a set). A key taken twice (two Services
 * claiming one external IP and port) would fail the whole transaction: the first Service keeps it.
 */
function mergedElements(model: RulesetModel): Map<string, Map<string, string>> {
  const elements = new Map<string, Map<string, string>>(ELEMENT_SETS.map((m) => [m, new Map<string, string>()]));
  for (const rules of model.services.values()) {
    for (const [map, k, v] of rules.elements) {
      const m = elements.get(map)!;
      if (!m.has(k)) m.set(k, v);
    }
  }
  return elements;
}

/** The whole-table `nft -f` input of a model (`flush table` first), and what it creates. */
export function renderRuleset(model: RulesetModel): Ruleset {
  const T = `ip ${model.tableName}`;
  const [baseDecls, baseRules] = model.base.split('\u0000');
  const decls: string[] = [baseDecls];
  const rules: string[] = [baseRules];
  const chains = new Set<string>([...BASE_CHAINS.map(([n]) => n), ...HELPER_CHAINS]);
  const sets = new Set<string>([...MAPS.map(([n]) => n), 'cluster-ips', 'endpoint-hairpins']);
  for (const svc of model.services.values()) {
    // an endpoint chain's affinity set is declared right after it
    const affinitySetOf = new Map<string, string>();
    for (const s of svc.sets.keys()) affinitySetOf.set(s.replace(/^aff-\d+-/, 'ep-'), s);
    for (const [c, body] of svc.chains) {
      chains.add(c);
      decls.push(`add chain ${T} ${c}\n`);
      for (const r of body) rules.push(`add rule ${T} ${c} ${r}\n`);
      const s = affinitySetOf.get(c);
      if (s) {
        sets.add(s);
        decls.push(`add set ${T} ${s} ${svc.sets.get(s)!}\n`);
      }
    }
  }
  for (const [map, els] of mergedElements(model)) {
    if (!els.size) continue;
    const items: string[] = [];
    for (const [k, v] of els) items.push(v ? `${k} : ${v}` : k);
    decls.push(`add element ${T} ${map} { ${items.join(', ')} }\n`);
  }
  return { text: decls.join('') + rules.join(''), chains, sets, stats: model.stats };
}

/** The chains and sets a model creates (renderRuleset() without the text). */
export function rulesetObjects(model: RulesetModel): { chains: Set<string>; sets: Set<string> } {
  const chains = new Set<string>([...BASE_CHAINS.map(([n]) => n), ...HELPER_CHAINS]);
  const sets = new Set<string>([...MAPS.map(([n]) => n), 'cluster-ips', 'endpoint-hairpins']);
  for (const svc of model.services.values()) {
    for (const c of svc.chains.keys()) chains.add(c);
    for (const s of svc.sets.keys()) sets.add(s);
  }
  return { chains, sets };
}

export function buildRuleset(services: Iterable<Service>, slices: Iterable<EndpointSlice>, opts: RulesetOptions): Ruleset {
  return renderRuleset(buildRulesetModel(services, slices, opts));
}

/**
 * The whole `nft -f` transaction: the ruleset, then deletion of chains and sets an earlier ruleset
 * made that this one no longer has (flushed by `flush table` first, so nothing refers to them).
 * Affinity sets are never flushed: their entries live on across updates.
 */
export function transaction(rs: Ruleset, previous: { chains: Iterable<string>; sets: Iterable<string> }, tableName: string): string {
  const T = `ip ${tableName}`;
  const out = [rs.text];
  for (const c of previous.chains) if (!rs.chains.has(c)) out.push(`delete chain ${T} ${c}\n`);
  for (const s of previous.sets) if (!rs.sets.has(s)) out.push(`delete set ${T} ${s}\n`);
  return out.join('');
}

const sameRules = (a: string[], b: string[]) => a.length === b.length && a.every((r, i) => r === b[i]);

/**
 * The `nft -f` transaction taking the kernel from `prev` (as applied) to `next`, touching only what
 * differs: map elements deleted and added, chains of changed Services added, flushed and refilled,
 * chains and affinity sets of removed endpoints and Services flushed and deleted. '' when nothing
 * differs; undefined when only a whole-table load can do it (other table or base chains).
 * Unchanged Services (the same ServiceRules object, see ServiceRulesCache) are not even compared, nor,
 * when `next` is the latest model built with a cache, the map elements that only they claim.
 */
export function partialTransaction(prev: RulesetModel, next: RulesetModel): string | undefined {
  if (prev.tableName !== next.tableName || prev.base !== next.base) return undefined;
  const T = `ip ${next.tableName}`;
  const delElements: string[] = [];
  const decls: string[] = [];
  const rules: string[] = [];
  const addElements: string[] = [];
  const deletions: string[] = [];

  const diffService = (p: ServiceRules | undefined, n: ServiceRules | undefined) => {
    for (const [c, body] of n?.chains ?? []) {
      const old = p?.chains.get(c);
      if (old && sameRules(old, body)) continue;
      decls.push(old ? `flush chain ${T} ${c}\n` : `add chain ${T} ${c}\n`);
      for (const r of body) rules.push(`add rule ${T} ${c} ${r}\n`);
    }
    for (const c of p?.chains.keys() ?? []) {
      if (n?.chains.has(c)) continue;
      // its jumps go first, so that chains it refers to can be deleted in this transaction too
      decls.push(`flush chain ${T} ${c}\n`);
      deletions.push(`delete chain ${T} ${c}\n`);
    }
    for (const [s, spec] of n?.sets ?? []) if (!p?.sets.has(s)) decls.push(`add set ${T} ${s} ${spec}\n`);
    for (const s of p?.sets.keys() ?? []) if (!n?.sets.has(s)) deletions.push(`delete set ${T} ${s}\n`);
  };
  const changed: string[] = [];
  for (const [key, n] of next.services) {
    const p = prev.services.get(key);
    if (p === n) continue;
    diffService(p, n);
    changed.push(key);
  }
  for (const [key, p] of prev.services) {
    if (next.services.has(key)) continue;
    diffService(p, undefined);
    changed.push(key);
  }

  const gone = new Map<string, string[]>(ELEMENT_SETS.map((m) => [m, []]));
  const added = new Map<string, string[]>(ELEMENT_SETS.map((m) => [m, []]));
  const claims = next.claims;
  if (claims && claims.generation === next.generation) {
    // Only elements that a changed Service claims, before or after, can change hands or verdicts.
    changed.sort(byKey);
    const isChanged = new Set(changed);
    const seen = new Set<string>();
    for (const key of changed) {
      for (const own of [prev.services.get(key), next.services.get(key)]) {
        for (const id of own ? elementsOf(own).keys() : []) {
          if (seen.has(id)) continue;
          seen.add(id);
          const owners = claims.byElement.get(id) ?? [];
          const after = owners.length ? elementsOf(next.services.get(owners[0])!).get(id) : undefined;
          // before: the first of the unchanged owners and the changed Services that had it
          let first = owners.find((o) => !isChanged.has(o));
          let before = first === undefined ? undefined : elementsOf(prev.services.get(first)!).get(id);
          for (const c of changed) {
            if (first !== undefined && c >= first) break;
            const v = prev.services.get(c) && elementsOf(prev.services.get(c)!).get(id);
            if (v !== undefined) {
              first = c;
              before = v;
              break;
            }
          }
          const sep = id.indexOf('\0');
          const map = id.slice(0, sep);
          const k = id.slice(sep + 1);
          if (before !== undefined && before !== after) gone.get(map)!.push(k);
          if (after !== undefined && after !== before) added.get(map)!.push(after ? `${k} : ${after}` : k);
        }
      }
    }
  } else {
    const beforeAll = mergedElements(prev);
    const afterAll = mergedElements(next);
    for (const map of ELEMENT_SETS) {
      const before = beforeAll.get(map)!;
      const after = afterAll.get(map)!;
      for (const [k, v] of before) if (after.get(k) !== v) gone.get(map)!.push(k);
      for (const [k, v] of after) if (before.get(k) !== v) added.get(map)!.push(v ? `${k} : ${v}` : k);
    }
  }
  for (const map of ELEMENT_SETS) {
    const g = gone.get(map)!;
    const a = added.get(map)!;
    if (g.length) delElements.push(`delete element ${T} ${map} { ${g.join(', ')} }\n`);
    if (a.length) addElements.push(`add element ${T} ${map} { ${a.join(', ')} }\n`);
  }
  return [...delElements, ...decls, ...rules, ...addElements, ...deletions].join('');
}
