// The service proxy's generated nftables ruleset for each Service shape (pure text; with root and nft
// installed, each ruleset is also syntax-checked by `nft -c`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { Service, ServiceSpec } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { buildRuleset, endpointsFor, transaction, type Ruleset } from '../../src/proxy/ruleset.js';

const canCheck = process.getuid?.() === 0 && spawnSync('nft', ['list', 'tables'], { stdio: 'ignore' }).status === 0;
if (!canCheck) process.stderr.write('\n*** not root or nft missing: test/proxy/ruleset.test.ts does not syntax-check rulesets with `nft -c` ***\n\n');

const TABLE = 'tmunit';
const opts = { tableName: TABLE, nodeName: 'node-1', clusterCIDR: '10.42.0.0/16' };

function svc(name: string, spec: ServiceSpec, status: Service['status'] = {}): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name }, spec: { type: 'ClusterIP', ...spec }, status };
}
const http = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }];
function ep(ip: string, nodeName = 'node-1', conditions: Endpoint['conditions'] = { ready: true }): Endpoint {
  return { addresses: [ip], nodeName, conditions };
}
function slice(service: string, endpoints: Endpoint[], ports = [{ name: 'http', port: 8080, protocol: 'TCP' }], name = `${service}-abc`): EndpointSlice {
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': service } }, addressType: 'IPv4', ports, endpoints };
}

/** `add rule` lines of one chain, without the prefix. */
function chainRules(rs: Ruleset, chain: string): string[] {
  const prefix = `add rule ip ${TABLE} ${chain} `;
  return rs.text.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}
function elementsOf(rs: Ruleset, map: string): string[] {
  const line = rs.text.split('\n').find((l) => l.startsWith(`add element ip ${TABLE} ${map} { `));
  return line ? line.slice(`add element ip ${TABLE} ${map} { `.length, -2).split(', ') : [];
}
function nftCheck(rs: Ruleset): void {
  if (!canCheck) return;
  const r = spawnSync('nft', ['-c', '-f', '-'], { input: rs.text, encoding: 'utf8' });
  assert.equal(r.status, 0, `nft -c rejected the ruleset: ${r.stderr}\n${rs.text}`);
}

describe('service proxy ruleset', () => {
  it('ClusterIP: the VIP goes to a chain DNATing to a ready endpoint picked with numgen; endpoints are hairpin-masqueraded', () => {
    const rs = buildRuleset(
      [svc('web', { clusterIP: '10.43.0.10', ports: http })],
      [slice('web', [ep('10.42.0.3'), ep('10.42.0.2'), ep('10.42.0.4', 'node-1', { ready: false })])],
      opts,
    );
    assert.deepEqual(elementsOf(rs, 'service-ips'), ['10.43.0.10 . tcp . 80 : goto svc-default/web/tcp/http']);
    assert.deepEqual(chainRules(rs, 'svc-default/web/tcp/http'), [
      'meta l4proto tcp dnat ip to numgen random mod 2 map { 0 : 10.42.0.2 . 8080, 1 : 10.42.0.3 . 8080 }',
    ]);
    assert.ok(![...rs.chains].some((c) => c.startsWith('ep-')), 'no per-endpoint chains without session affinity');
    assert.deepEqual(elementsOf(rs, 'endpoint-hairpins'), ['10.42.0.2 . 10.42.0.2', '10.42.0.3 . 10.42.0.3']);
    assert.ok(!rs.text.includes('10.42.0.4'), 'a not-ready endpoint gets no rule');
    assert.deepEqual(elementsOf(rs, 'cluster-ips'), ['10.43.0.10']);
    assert.deepEqual(elementsOf(rs, 'no-endpoint-services'), []);
    assert.ok(rs.text.startsWith(`add table ip ${TABLE}\nflush table ip ${TABLE}\n`), 'one flush of the whole table first');
    assert.deepEqual(rs.stats, { servicePorts: 1, endpoints: 2, rejecting: 0 });
    nftCheck(rs);
  });

  it('base chains: hooks, off-cluster masquerade mark, hairpin and pod egress masquerade, 127/8 guard', () => {
    const rs = buildRuleset([], [], opts);
    assert.match(rs.text, /add chain ip tmunit nat-prerouting \{ type nat hook prerouting priority dstnat; policy accept; \}/);
    assert.match(rs.text, /add chain ip tmunit nat-output \{ type nat hook output priority -100; policy accept; \}/);
    assert.match(rs.text, /add chain ip tmunit nat-postrouting \{ type nat hook postrouting priority srcnat; policy accept; \}/);
    assert.deepEqual(chainRules(rs, 'services'), [
      'ip daddr @cluster-ips ip saddr != 10.42.0.0/16 jump mark-for-masquerade',
      'ip daddr . meta l4proto . th dport vmap @service-ips',
      'fib daddr type local meta l4proto . th dport vmap @service-nodeports',
    ]);
    assert.deepEqual(chainRules(rs, 'masquerading'), [
      'meta mark & 0x00004000 == 0x00004000 meta mark set meta mark ^ 0x00004000 masquerade fully-random',
      'ct status dnat ip saddr . ip daddr @endpoint-hairpins masquerade fully-random',
      'ip saddr 10.42.0.0/16 ip daddr != 10.42.0.0/16 masquerade fully-random',
    ]);
    assert.deepEqual(chainRules(rs, 'reject-chain'), ['meta l4proto tcp reject with tcp reset', 'reject']);
    assert.deepEqual(chainRules(rs, 'filter-prerouting'), ['iifname != "lo" ip daddr 127.0.0.0/8 drop']);
    const noCIDR = buildRuleset([], [], { tableName: TABLE, nodeName: 'n' });
    assert.ok(!noCIDR.text.includes('saddr != '), 'without a cluster CIDR nothing is masqueraded by source');
    nftCheck(rs);
  });

  it('headless, ExternalName and IPv6/FQDN slices are skipped', () => {
    const v6: EndpointSlice = { ...slice('web', [ep('fd00::1')]), addressType: 'IPv6' };
    const rs = buildRuleset(
      [svc('headless', { clusterIP: 'None', ports: http }), svc('ext', { type: 'ExternalName', externalName: 'example.com' }), svc('web', { clusterIP: '10.43.0.10', ports: http })],
      [slice('headless', [ep('10.42.0.2')]), v6],
      opts,
    );
    assert.ok(!rs.text.includes('headless') && !rs.text.includes('default/ext/'));
    assert.deepEqual(elementsOf(rs, 'no-endpoint-services'), ['10.43.0.10 . tcp . 80 : goto reject-chain'], 'IPv6 endpoints do not count');
  });

  it('no ready endpoints: the ClusterIP, NodePort and external IPs are rejected (connection refused), not DNATed', () => {
    const rs = buildRuleset(
      [svc('empty', { type: 'LoadBalancer', clusterIP: '10.43.0.13', externalIPs: ['192.0.2.77'], ports: [{ name: 'http', port: 80, nodePort: 30082, protocol: 'TCP' }] }, { loadBalancer: { ingress: [{ ip: '192.0.2.2' }] } })],
      [slice('empty', [ep('10.42.0.2', 'node-1', { ready: false })])],
      opts,
    );
    assert.deepEqual(elementsOf(rs, 'no-endpoint-services'), [
      '10.43.0.13 . tcp . 80 : goto reject-chain',
      '192.0.2.77 . tcp . 80 : goto reject-chain',
      '192.0.2.2 . tcp . 80 : goto reject-chain',
    ]);
    assert.deepEqual(elementsOf(rs, 'no-endpoint-nodeports'), ['tcp . 30082 : goto reject-chain']);
    assert.deepEqual(elementsOf(rs, 'service-ips'), []);
    assert.ok(!rs.text.includes('dnat to'));
    assert.equal(rs.stats.rejecting, 1);
    nftCheck(rs);
  });

  it('NodePort: every local address (fib daddr type local) goes through the external chain, which masquerades', () => {
    const rs = buildRuleset([svc('np', { type: 'NodePort', clusterIP: '10.43.0.11', ports: [{ ...http[0], nodePort: 30080 }] })], [slice('np', [ep('10.42.0.2')])], opts);
    assert.deepEqual(elementsOf(rs, 'service-nodeports'), ['tcp . 30080 : goto ext-default/np/tcp/http']);
    assert.deepEqual(chainRules(rs, 'ext-default/np/tcp/http'), ['jump mark-for-masquerade', 'goto svc-default/np/tcp/http']);
    assert.deepEqual(chainRules(rs, 'svc-default/np/tcp/http'), ['meta l4proto tcp dnat to 10.42.0.2:8080'], 'one endpoint needs no numgen');
    nftCheck(rs);
  });

  it('LoadBalancer and externalIPs: status ingress IPs and external IPs on the service port', () => {
    const rs = buildRuleset(
      [
        svc(
          'lb',
          { type: 'LoadBalancer', clusterIP: '10.43.0.12', externalIPs: ['192.0.2.50'], ports: [{ ...http[0], nodePort: 30081 }] },
          { loadBalancer: { ingress: [{ ip: '192.0.2.2' }, { hostname: 'lb.example' }, { ip: '192.0.2.9', ipMode: 'Proxy' }] } },
        ),
        svc('ext', { clusterIP: '10.43.0.14', externalIPs: ['192.0.2.51'], ports: http }),
      ],
      [slice('lb', [ep('10.42.0.2')]), slice('ext', [ep('10.42.0.5')])],
      opts,
    );
    assert.deepEqual(elementsOf(rs, 'service-ips'), [
      '10.43.0.14 . tcp . 80 : goto svc-default/ext/tcp/http',
      '192.0.2.51 . tcp . 80 : goto ext-default/ext/tcp/http',
      '10.43.0.12 . tcp . 80 : goto svc-default/lb/tcp/http',
      '192.0.2.50 . tcp . 80 : goto ext-default/lb/tcp/http',
      '192.0.2.2 . tcp . 80 : goto ext-default/lb/tcp/http',
    ]);
    assert.deepEqual(elementsOf(rs, 'service-nodeports'), ['tcp . 30081 : goto ext-default/lb/tcp/http'], 'a ClusterIP Service has no node port');
    nftCheck(rs);
  });

  it('two Services claiming one external IP and port: the first (by namespace/name) keeps it, the transaction stays valid', () => {
    const rs = buildRuleset(
      [svc('b', { clusterIP: '10.43.0.21', externalIPs: ['192.0.2.60'], ports: http }), svc('a', { clusterIP: '10.43.0.20', externalIPs: ['192.0.2.60'], ports: http })],
      [slice('a', [ep('10.42.0.2')]), slice('b', [ep('10.42.0.3')])],
      opts,
    );
    assert.deepEqual(elementsOf(rs, 'service-ips').filter((e) => e.startsWith('192.0.2.60')), ['192.0.2.60 . tcp . 80 : goto ext-default/a/tcp/http']);
    nftCheck(rs);
  });

  it('sessionAffinity ClientIP: a dynamic timeout set per endpoint, looked up before numgen and updated on DNAT', () => {
    const rs = buildRuleset(
      [svc('sticky', { clusterIP: '10.43.0.15', ports: http, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })],
      [slice('sticky', [ep('10.42.0.2'), ep('10.42.0.3')])],
      opts,
    );
    assert.match(rs.text, /add set ip tmunit aff-60-default\/sticky\/tcp\/http\/10\.42\.0\.2\/8080 \{ type ipv4_addr; flags dynamic,timeout; timeout 60s; \}/);
    assert.deepEqual(chainRules(rs, 'svc-default/sticky/tcp/http'), [
      'ip saddr @aff-60-default/sticky/tcp/http/10.42.0.2/8080 goto ep-default/sticky/tcp/http/10.42.0.2/8080',
      'ip saddr @aff-60-default/sticky/tcp/http/10.42.0.3/8080 goto ep-default/sticky/tcp/http/10.42.0.3/8080',
      'numgen random mod 2 vmap { 0 : goto ep-default/sticky/tcp/http/10.42.0.2/8080, 1 : goto ep-default/sticky/tcp/http/10.42.0.3/8080 }',
    ]);
    assert.deepEqual(chainRules(rs, 'ep-default/sticky/tcp/http/10.42.0.3/8080'), [
      'ip saddr 10.42.0.3 jump mark-for-masquerade',
      'update @aff-60-default/sticky/tcp/http/10.42.0.3/8080 { ip saddr }',
      'meta l4proto tcp dnat to 10.42.0.3:8080',
    ]);
    assert.ok(!rs.text.includes('flush set ip tmunit aff-'), 'affinity entries survive updates');
    const dflt = buildRuleset([svc('sticky', { clusterIP: '10.43.0.15', ports: http, sessionAffinity: 'ClientIP' })], [slice('sticky', [ep('10.42.0.2')])], opts);
    assert.match(dflt.text, /timeout 10800s;/);
    nftCheck(rs);
  });

  it('externalTrafficPolicy Local: outside traffic only to this node\'s endpoints, unmasqueraded; pods and the node use all', () => {
    const mk = (eps: Endpoint[]) =>
      buildRuleset([svc('loc', { type: 'NodePort', clusterIP: '10.43.0.16', externalTrafficPolicy: 'Local', ports: [{ ...http[0], nodePort: 30090 }] })], [slice('loc', eps)], opts);
    const rs = mk([ep('10.42.0.2', 'node-1'), ep('10.42.1.2', 'node-2')]);
    assert.deepEqual(chainRules(rs, 'ext-default/loc/tcp/http'), [
      'ip saddr 10.42.0.0/16 goto svc-default/loc/tcp/http',
      'fib saddr type local jump mark-for-masquerade',
      'fib saddr type local goto svc-default/loc/tcp/http',
      'goto local-default/loc/tcp/http',
    ]);
    assert.deepEqual(chainRules(rs, 'local-default/loc/tcp/http'), ['meta l4proto tcp dnat to 10.42.0.2:8080']);
    assert.deepEqual(elementsOf(rs, 'service-ips'), ['10.43.0.16 . tcp . 80 : goto svc-default/loc/tcp/http'], 'the ClusterIP keeps using every endpoint');
    nftCheck(rs);
    const remoteOnly = mk([ep('10.42.1.2', 'node-2')]);
    assert.equal(chainRules(remoteOnly, 'ext-default/loc/tcp/http').at(-1), 'drop', 'no local endpoint: outside traffic is dropped, as kube-proxy');
    nftCheck(remoteOnly);
  });

  it('internalTrafficPolicy Local: the ClusterIP goes to this node\'s endpoints; none here (but elsewhere) → drop', () => {
    const mk = (eps: Endpoint[]) => buildRuleset([svc('itp', { clusterIP: '10.43.0.17', internalTrafficPolicy: 'Local', ports: http })], [slice('itp', eps)], opts);
    const rs = mk([ep('10.42.0.2', 'node-1'), ep('10.42.1.2', 'node-2')]);
    assert.deepEqual(elementsOf(rs, 'service-ips'), ['10.43.0.17 . tcp . 80 : goto local-default/itp/tcp/http']);
    assert.ok(!rs.text.includes('10.42.1.2'), 'other nodes\' endpoints get no chain');
    nftCheck(rs);
    const remote = mk([ep('10.42.1.2', 'node-2')]);
    assert.deepEqual(elementsOf(remote, 'service-ips'), ['10.43.0.17 . tcp . 80 : drop']);
    assert.deepEqual(elementsOf(remote, 'no-endpoint-services'), []);
    nftCheck(remote);
  });

  it('endpoints: port matched by name and protocol, duplicates across slices once, terminating only as a fallback', () => {
    const sp = { name: 'dns', port: 53, protocol: 'UDP' };
    const slices = [
      slice('d', [ep('10.42.0.3'), ep('10.42.0.2')], [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5354, protocol: 'TCP' }], 'd-1'),
      slice('d', [ep('10.42.0.2'), ep('10.42.0.9', 'node-1', { ready: false, serving: true, terminating: true })], [{ name: 'dns', port: 5353, protocol: 'UDP' }], 'd-2'),
    ];
    assert.deepEqual(endpointsFor(slices, sp).map((e) => `${e.ip}:${e.port}`), ['10.42.0.2:5353', '10.42.0.3:5353']);
    const terminatingOnly = [slice('d', [ep('10.42.0.9', 'node-1', { ready: false, serving: true, terminating: true }), ep('10.42.0.8', 'node-1', { ready: false, serving: false, terminating: true })], [{ name: 'dns', port: 5353, protocol: 'UDP' }])];
    assert.deepEqual(endpointsFor(terminatingOnly, sp).map((e) => e.ip), ['10.42.0.9']);
    assert.deepEqual(endpointsFor([slice('d', [{ addresses: ['10.42.0.7'] }], [{ name: 'dns', port: 5353, protocol: 'UDP' }])], sp).map((e) => e.ip), ['10.42.0.7'], 'unknown readiness counts as ready');
    const rs = buildRuleset([svc('d', { clusterIP: '10.43.0.53', ports: [sp] })], slices, opts);
    assert.match(rs.text, /meta l4proto udp dnat ip to numgen random mod 2 map \{ 0 : 10\.42\.0\.2 \. 5353, 1 : 10\.42\.0\.3 \. 5353 \}/);
    assert.deepEqual(elementsOf(rs, 'service-ips'), ['10.43.0.53 . udp . 53 : goto svc-default/d/udp/dns']);
    nftCheck(rs);
  });

  it('is deterministic: the same objects in any order give the same text (a restart rebuilds the same rules)', () => {
    const services = [svc('a', { clusterIP: '10.43.0.30', ports: http }), svc('b', { type: 'NodePort', clusterIP: '10.43.0.31', ports: [{ ...http[0], nodePort: 30100 }] })];
    const slices = [slice('a', [ep('10.42.0.5'), ep('10.42.0.4')]), slice('b', [ep('10.42.0.6')])];
    const one = buildRuleset(services, slices, opts);
    const two = buildRuleset([...services].reverse(), [...slices].reverse().map((s) => ({ ...s, endpoints: [...(s.endpoints ?? [])].reverse() })), opts);
    assert.equal(one.text, two.text);
  });

  it('the transaction deletes chains and sets the previous ruleset had and this one lacks, after the flush', () => {
    const before = buildRuleset([svc('s', { clusterIP: '10.43.0.40', ports: http, sessionAffinity: 'ClientIP' })], [slice('s', [ep('10.42.0.2'), ep('10.42.0.3')])], opts);
    const after = buildRuleset([svc('s', { clusterIP: '10.43.0.40', ports: http, sessionAffinity: 'ClientIP' })], [slice('s', [ep('10.42.0.2')])], opts);
    const tx = transaction(after, before, TABLE);
    assert.ok(tx.startsWith(after.text));
    assert.deepEqual(tx.slice(after.text.length).trim().split('\n'), [
      `delete chain ip ${TABLE} ep-default/s/tcp/http/10.42.0.3/8080`,
      `delete set ip ${TABLE} aff-10800-default/s/tcp/http/10.42.0.3/8080`,
    ]);
    assert.equal(transaction(after, after, TABLE), after.text, 'nothing stale, nothing deleted');
  });
});
