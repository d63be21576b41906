// The nftables ruleset of the service proxy, computed from Services and EndpointSlices alone (no I/O):
// one table of our own, rebuilt whole in one `nft -f` transaction. The layout follows kube-proxy's
// nftables mode: verdict maps keyed by `ip . protocol . port` send new connections to a per-service
// chain that spreads them over per-endpoint DNAT chains with `numgen random`; filter chains reject
// connections to Services without endpoints; marked packets and pod egress are masqueraded.
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

export function buildRuleset(services: Iterable<Service>, slices: Iterable<EndpointSlice>, opts: RulesetOptions): Ruleset {
  const T = `ip ${opts.tableName}`;
  const lines: string[] = [`add table ${T}`, `flush table ${T}`];
  const chains = new Set<string>();
  const sets = new Set<string>();
  const rules: string[] = [];
  const elements: Record<string, string[]> = { 'service-ips': [], 'service-nodeports': [], 'no-endpoint-services': [], 'no-endpoint-nodeports': [] };
  const usedKeys = new Set<string>();
  const clusterIPs: string[] = [];
  const stats = { servicePorts: 0, endpoints: 0, rejecting: 0 };
  const mark = `0x${MASQUERADE_MARK.toString(16).padStart(8, '0')}`;

  const chain = (name: string, spec?: string) => {
    chains.add(name);
    lines.push(spec ? `add chain ${T} ${name} { ${spec} }` : `add chain ${T} ${name}`);
  };
  const rule = (chainName: string, r: string) => rules.push(`add rule ${T} ${chainName} ${r}`);
  // A key taken twice (two Services claiming one external IP and port) would fail the whole transaction.
  const element = (map: string, key: string, verdict: string): boolean => {
    const k = `${map} ${key}`;
    if (usedKeys.has(k)) return false;
    usedKeys.add(k);
    elements[map].push(`${key} : ${verdict}`);
    return true;
  };

  for (const [name, spec] of BASE_CHAINS) chain(name, spec);
  for (const name of HELPER_CHAINS) chain(name);
  for (const [name, spec] of MAPS) {
    sets.add(name);
    lines.push(`add map ${T} ${name} { ${spec} }`, `flush map ${T} ${name}`);
  }
  sets.add('cluster-ips');
  lines.push(`add set ${T} cluster-ips { type ipv4_addr; }`, `flush set ${T} cluster-ips`);

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
  if (opts.clusterCIDR) rule('masquerading', `ip saddr ${opts.clusterCIDR} ip daddr != ${opts.clusterCIDR} masquerade fully-random`);

  const bySvc = slicesByService(slices);
  const sorted = [...services].filter(hasProxiedClusterIP).sort((a, b) => serviceKey(a).localeCompare(serviceKey(b)));
  const endpointChains = new Set<string>();

  for (const svc of sorted) {
    const clusterIP = svc.spec!.clusterIP!;
    clusterIPs.push(clusterIP);
    const svcSlices = bySvc.get(serviceKey(svc)) ?? [];
    const affinity = svc.spec?.sessionAffinity === 'ClientIP';
    const timeout = svc.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_S;
    const localInternal = svc.spec?.internalTrafficPolicy === 'Local';
    const externals = externalAddresses(svc);
    const hasNodePorts = svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
    const localExternal = (hasNodePorts || externals.length > 0) && svc.spec?.externalTrafficPolicy === 'Local';

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

      for (const e of needCluster ? all : local) {
        const c = epChain(e);
        if (endpointChains.has(c)) continue;
        endpointChains.add(c);
        chain(c);
        rule(c, `ip saddr ${e.ip} jump mark-for-masquerade`);
        if (affinity) {
          sets.add(affSet(e));
          lines.push(`add set ${T} ${affSet(e)} { type ipv4_addr; flags dynamic,timeout; timeout ${timeout}s; }`);
          rule(c, `update @${affSet(e)} { ip saddr }`);
        }
        rule(c, `meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
      }

      const balance = (name: string, eps: Endpoint[]) => {
        chain(name);
        if (affinity) for (const e of eps) rule(name, `ip saddr @${affSet(e)} goto ${epChain(e)}`);
        if (eps.length === 1) rule(name, `goto ${epChain(eps[0])}`);
        else rule(name, `numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${epChain(e)}`).join(', ')} }`);
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
        rule(extChain, 'jump mark-for-masquerade');
        rule(extChain, `goto ${clusterChain}`);
      } else {
        // Pods and the node itself use every endpoint (source IPs need no keeping there).
        if (opts.clusterCIDR) rule(extChain, `ip saddr ${opts.clusterCIDR} goto ${clusterChain}`);
        rule(extChain, 'fib saddr type local jump mark-for-masquerade');
        rule(extChain, `fib saddr type local goto ${clusterChain}`);
        rule(extChain, local.length ? `goto ${localChain}` : 'drop');
      }
      for (const ip of externals) element('service-ips', `${ip} . ${proto} . ${sp.port}`, `goto ${extChain}`);
      if (nodePort) element('service-nodeports', `${proto} . ${nodePort}`, `goto ${extChain}`);
    }
  }

  if (clusterIPs.length) lines.push(`add element ${T} cluster-ips { ${[...new Set(clusterIPs)].join(', ')} }`);
  for (const [map, els] of Object.entries(elements)) if (els.length) lines.push(`add element ${T} ${map} { ${els.join(', ')} }`);
  return { text: [...lines, ...rules].join('\n') + '\n', chains, sets, stats };
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
