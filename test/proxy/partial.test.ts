// Partial syncs of the service proxy: the transaction touching only what changed (pure), and in the
// kernel a running proxy whose partial updates leave other Services' rules alone (same rule handles),
// end equal to a whole-table load of the same objects, drop removed Services, and reload the table
// when it was deleted or edited from outside. Kernel part needs root and nft; touches only its tables.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { Endpoint, EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { deleteTable, nftApply, nftRun } from '../../src/proxy/nft.js';
import { startServiceProxy, type ServiceProxy } from '../../src/proxy/index.js';
import { buildRuleset, buildRulesetModel, partialTransaction, renderRuleset, type ServiceRulesCache } from '../../src/proxy/ruleset.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { skipUnless } from '../helpers/skip.js';

const opts = { tableName: 'tmunit', nodeName: 'node-1', clusterCIDR: '10.42.0.0/16' };
const http = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }];
function svc(name: string, clusterIP: string, spec: Service['spec'] = {}): Service {
  return { metadata: { namespace: 'default', name }, spec: { type: 'ClusterIP', clusterIP, ports: http, ...spec } };
}
function slice(service: string, ips: string[], ready = true): EndpointSlice {
  return {
    metadata: { namespace: 'default', name: `${service}-1`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip): Endpoint => ({ addresses: [ip], nodeName: 'node-1', conditions: { ready } })),
  };
}

describe('partial transaction', () => {
  const services = [svc('a', '10.43.0.1'), svc('b', '10.43.0.2', { type: 'NodePort', ports: [{ ...http[0], nodePort: 30002 }] }), svc('c', '10.43.0.3')];
  const slices = [slice('a', ['10.42.0.1', '10.42.0.2']), slice('b', ['10.42.0.3']), slice('c', ['10.42.0.4'])];

  it('nothing changed: empty, and Services whose objects are the same are reused, not rebuilt', () => {
    const cache: ServiceRulesCache = new Map();
    const one = buildRulesetModel(services, slices, opts, cache);
    const two = buildRulesetModel(services, slices, opts, cache);
    assert.equal(partialTransaction(one, two), '');
    assert.equal(two.services.get('default/a'), one.services.get('default/a'));
    // equal content without the cache: compared and found equal too
    assert.equal(partialTransaction(one, buildRulesetModel(services, slices, opts)), '');
  });

  it('one endpoint replaced: only that Service\'s chains and nothing of the others', () => {
    const cache: ServiceRulesCache = new Map();
    const one = buildRulesetModel(services, slices, opts, cache);
    const next = [slice('a', ['10.42.0.1', '10.42.0.9']), slices[1], slices[2]];
    const tx = partialTransaction(one, buildRulesetModel(services, next, opts, cache))!;
    assert.deepEqual(tx.trim().split('\n'), [
      'delete element ip tmunit endpoint-hairpins { 10.42.0.2 . 10.42.0.2 }',
      'flush chain ip tmunit svc-default/a/tcp/http',
      'add rule ip tmunit svc-default/a/tcp/http meta l4proto tcp dnat ip to numgen random mod 2 map { 0 : 10.42.0.1 . 8080, 1 : 10.42.0.9 . 8080 }',
      'add element ip tmunit endpoint-hairpins { 10.42.0.9 . 10.42.0.9 }',
    ]);
  });

  it('with session affinity: the new endpoint\'s chain and set added, the old one\'s flushed, then deleted last', () => {
    const sticky = [svc('a', '10.43.0.1', { sessionAffinity: 'ClientIP' })];
    const one = buildRulesetModel(sticky, [slices[0]], opts);
    const lines = partialTransaction(one, buildRulesetModel(sticky, [slice('a', ['10.42.0.1', '10.42.0.9'])], opts))!.trim().split('\n');
    const at = (l: string) => {
      const i = lines.indexOf(l);
      assert.ok(i >= 0, `${l} in\n${lines.join('\n')}`);
      return i;
    };
    const firstRule = lines.findIndex((l) => l.startsWith('add rule'));
    assert.ok(at('add chain ip tmunit ep-default/a/tcp/http/10.42.0.9/8080') < firstRule);
    assert.ok(at('add set ip tmunit aff-10800-default/a/tcp/http/10.42.0.9/8080 { type ipv4_addr; flags dynamic,timeout; timeout 10800s; }') < firstRule);
    assert.ok(at('flush chain ip tmunit ep-default/a/tcp/http/10.42.0.2/8080') < at('delete chain ip tmunit ep-default/a/tcp/http/10.42.0.2/8080'));
    assert.ok(at('flush chain ip tmunit svc-default/a/tcp/http') < firstRule);
    assert.equal(at('delete set ip tmunit aff-10800-default/a/tcp/http/10.42.0.2/8080'), lines.length - 1);
    assert.ok(!lines.some((l) => l.includes('ep-default/a/tcp/http/10.42.0.1/8080 ')), 'the kept endpoint\'s chain is not touched');
  });

  it('a Service losing its endpoints, another removed: elements move, chains go', () => {
    const one = buildRulesetModel(services, slices, opts);
    const two = buildRulesetModel([services[0], services[1]], [slices[0], slice('b', ['10.42.0.3'], false)], opts);
    const lines = partialTransaction(one, two)!.trim().split('\n');
    assert.deepEqual(lines.filter((l) => l.includes('element')), [
      'delete element ip tmunit cluster-ips { 10.43.0.3 }',
      'delete element ip tmunit service-ips { 10.43.0.2 . tcp . 80, 10.43.0.3 . tcp . 80 }',
      'delete element ip tmunit service-nodeports { tcp . 30002 }',
      'delete element ip tmunit endpoint-hairpins { 10.42.0.3 . 10.42.0.3, 10.42.0.4 . 10.42.0.4 }',
      'add element ip tmunit no-endpoint-services { 10.43.0.2 . tcp . 80 : goto reject-chain }',
      'add element ip tmunit no-endpoint-nodeports { tcp . 30002 : goto reject-chain }',
    ]);
    assert.ok(!lines.some((l) => l.includes('default/a/')), 'Service a is untouched');
    for (const c of ['svc-default/b/tcp/http', 'ext-default/b/tcp/http', 'svc-default/c/tcp/http']) {
      assert.ok(lines.indexOf(`flush chain ip tmunit ${c}`) >= 0 && lines.indexOf(`flush chain ip tmunit ${c}`) < lines.indexOf(`delete chain ip tmunit ${c}`), c);
    }
    assert.ok(lines.findIndex((l) => l.startsWith('delete element')) < lines.findIndex((l) => l.startsWith('delete chain')), 'references go before chains');
  });

  it('with a cache only the changed Services\' elements are compared, with the same result as comparing every element', () => {
    // a small world with clashes: shared external IPs and node ports (first Service by name keeps them), shared endpoints
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 8) % n;
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const makeSvc = (name: string, i: number): Service => {
      const type = rnd(3) === 0 ? 'NodePort' : 'ClusterIP';
      return svc(name, `10.43.1.${i + 1}`, {
        type,
        externalIPs: rnd(2) ? [`192.0.2.${1 + rnd(2)}`] : undefined,
        ports: [{ ...http[0], ...(type === 'NodePort' ? { nodePort: 30000 + rnd(2) } : {}) }],
        sessionAffinity: rnd(4) === 0 ? 'ClientIP' : undefined,
      });
    };
    const makeSlice = (name: string) => slice(name, Array.from({ length: rnd(4) }, () => `10.42.2.${1 + rnd(5)}`), rnd(5) !== 0);
    const world = new Map(names.map((n, i) => [n, { svc: makeSvc(n, i), slice: makeSlice(n) }]));
    const normalize = (tx: string) =>
      tx.split('\n').map((l) => {
        const m = /^((?:add|delete) element \S+ \S+ \S+) \{ (.*) \}$/.exec(l);
        return m ? `${m[1]} { ${m[2].split(', ').sort().join(', ')} }` : l;
      });
    const cache: ServiceRulesCache = new Map();
    const build = (withCache: boolean) =>
      buildRulesetModel([...world.values()].map((w) => w.svc), [...world.values()].map((w) => w.slice), opts, withCache ? cache : undefined);
    let fast = build(true);
    let slow = build(false);
    let nonEmpty = 0;
    for (let step = 0; step < 300; step++) {
      for (let k = 1 + rnd(2); k > 0; k--) {
        const name = names[rnd(names.length)];
        const i = names.indexOf(name);
        const w = world.get(name);
        const what = rnd(6);
        if (!w) world.set(name, { svc: makeSvc(name, i), slice: makeSlice(name) });
        else if (what === 0) world.delete(name);
        else if (what <= 2) world.set(name, { ...w, svc: makeSvc(name, i) });
        else world.set(name, { ...w, slice: makeSlice(name) });
      }
      const nextFast = build(true);
      const nextSlow = build(false);
      assert.ok(nextFast.claims && nextFast.claims.generation === nextFast.generation && !nextSlow.claims);
      const got = partialTransaction(fast, nextFast)!;
      assert.deepEqual(normalize(got), normalize(partialTransaction(slow, nextSlow)!), `step ${step}`);
      if (got) nonEmpty++;
      fast = nextFast;
      slow = nextSlow;
    }
    assert.ok(nonEmpty > 200, `${nonEmpty} transactions`);
    // a model built before the last one with this cache: its claims have moved on, every element is compared
    const older = fast;
    world.delete(names[0]);
    world.delete(names[1]);
    const newest = build(true);
    assert.deepEqual(normalize(partialTransaction(slow, older)!), ['']);
    assert.notEqual(older.generation, newest.claims!.generation);
    assert.deepEqual(normalize(partialTransaction(newest, older)!), normalize(partialTransaction(build(false), slow)!));
  });

  it('1,000 Services × 10 endpoints, one endpoint replaced: a transaction of that Service alone', () => {
    const many: Service[] = [];
    const manySlices: EndpointSlice[] = [];
    for (let i = 0; i < 1000; i++) {
      many.push(svc(`s${i}`, `10.44.${i >> 8}.${i & 255}`));
      manySlices.push(slice(`s${i}`, Array.from({ length: 10 }, (_, j) => `10.45.${(i * 10 + j) >> 8}.${(i * 10 + j) & 255}`)));
    }
    const cache: ServiceRulesCache = new Map();
    const one = buildRulesetModel(many, manySlices, opts, cache);
    manySlices[500] = slice('s500', ['10.46.0.1', ...manySlices[500].endpoints.slice(1).map((e) => e.addresses[0])]);
    const t0 = performance.now();
    const tx = partialTransaction(one, buildRulesetModel(many, manySlices, opts, cache))!;
    const ms = performance.now() - t0;
    const lines = tx.trim().split('\n');
    assert.equal(lines.length, 4, tx);
    assert.ok(lines.every((l) => l.includes('default/s500/') || l.includes('endpoint-hairpins')), tx);
    assert.match(tx, /delete element ip tmunit endpoint-hairpins \{ 10\.45\.19\.136 \. 10\.45\.19\.136 \}/);
    assert.match(tx, /add element ip tmunit endpoint-hairpins \{ 10\.46\.0\.1 \. 10\.46\.0\.1 \}/);
    process.stderr.write(`# one change among 1,000 Services: build + diff ${ms.toFixed(1)} ms\n`);
  });

  it('other options: no partial transaction (a whole-table load)', () => {
    assert.equal(partialTransaction(buildRulesetModel(services, slices, opts), buildRulesetModel(services, slices, { ...opts, clusterCIDR: '10.0.0.0/8' })), undefined);
  });

  it('renderRuleset of a model is buildRuleset', () => {
    assert.equal(renderRuleset(buildRulesetModel(services, slices, opts)).text, buildRuleset(services, slices, opts).text);
  });
});

// ---- in the kernel ----

const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const missing = process.getuid?.() !== 0 ? 'not root' : !has('nft', ['list', 'tables']) ? 'nft (Debian nftables) not installed or not usable' : '';
const tag = (process.pid % 100_000).toString(36);
const TABLE = `tmpart${tag}`;
const REF_TABLE = `tmpartref${tag}`;
const NS = 'default';

interface NftObject {
  chain?: { name: string };
  rule?: { chain: string; handle: number; expr: unknown[] };
  map?: { name: string; elem?: unknown[] };
  set?: { name: string; elem?: unknown[] };
}
interface Listing {
  /** chain → rules (expression JSON) */
  chains: Map<string, string[]>;
  /** chain → rule handles */
  handles: Map<string, number[]>;
  /** set or map → sorted elements (JSON) */
  sets: Map<string, string[]>;
}
async function listing(table: string): Promise<Listing> {
  const out = JSON.parse(await nftRun(['-j', 'list', 'table', 'ip', table])) as { nftables: NftObject[] };
  const l: Listing = { chains: new Map(), handles: new Map(), sets: new Map() };
  for (const o of out.nftables) {
    if (o.chain) {
      l.chains.set(o.chain.name, []);
      l.handles.set(o.chain.name, []);
    }
    if (o.rule) {
      l.chains.get(o.rule.chain)!.push(JSON.stringify(o.rule.expr));
      l.handles.get(o.rule.chain)!.push(o.rule.handle);
    }
    const s = o.map ?? o.set;
    if (s) l.sets.set(s.name, (s.elem ?? []).map((e) => JSON.stringify(e)).sort());
  }
  return l;
}
const sorted = <V>(m: Map<string, V>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** PIDs of `nft -i` processes started by this process. */
const nftChildren = (): string[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'nft\0-i\0';
      } catch {
        return false;
      }
    });

describe('partial syncs in the kernel', skipUnless(missing === '', missing), () => {
  let cluster: TestCluster;
  let transport: Transport;
  let adminTransport: Transport;
  let client: RestClient;
  let proxy: ServiceProxy | undefined;
  const logs: string[] = [];
  const syncs: { applied: boolean; full: boolean; durationMs: number }[] = [];
  const services = () => client.resource<Service>(RESOURCES.services, NS);
  const slices = () => client.resource<EndpointSlice>(RESOURCES.endpointslices, NS);
  const vips = new Map<string, string>();

  /** Makes a change and waits for the sync that applies it; returns that sync. */
  const synced = async (change: () => Promise<unknown>, check: (text: string) => boolean) => {
    const n = syncs.length;
    await change();
    await waitFor('the change applied', () => check(proxy!.appliedRuleset) && syncs.slice(n).some((s) => s.applied));
    return syncs.slice(n).filter((s) => s.applied).at(-1)!;
  };
  const addService = async (name: string, ips: string[], spec: Service['spec'] = {}) => {
    const s = await services().create({ metadata: { name, namespace: NS }, spec: { type: 'ClusterIP', ports: http, ...spec } });
    vips.set(name, s.spec!.clusterIP!);
    await slices().create({ ...slice(name, ips), metadata: { ...slice(name, ips).metadata, namespace: NS } });
  };

  const startProxy = (resyncPeriodMs: number) =>
    startServiceProxy(transport, {
      nodeName: 'node-1',
      nodeIPs: ['127.0.0.1'],
      podCIDR: '10.42.1.0/24',
      tableName: TABLE,
      sysctls: false,
      manageLoadBalancerStatus: false,
      resyncPeriodMs,
      log: (l) => logs.push(l),
      onSync: (s) => syncs.push(s),
    });

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    adminTransport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
    client = new RestClient(adminTransport);
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:service-proxy', groups: [] });
    for (let i = 0; i < 10; i++) await addService(`s${i}`, [`10.42.1.${i * 3 + 1}`, `10.42.1.${i * 3 + 2}`], i % 3 === 0 ? { type: 'NodePort' } : {});
    // no periodic check here: the tests below delete the table and expect the next sync to notice
    proxy = await startProxy(0);
  });

  after(async () => {
    await proxy?.stop({ removeTable: true }).catch(() => {});
    await deleteTable(TABLE).catch(() => {});
    await deleteTable(REF_TABLE).catch(() => {});
    adminTransport?.close();
    transport?.close();
    await cluster?.close();
  });

  it('starts with a whole-table load', () => {
    assert.equal(syncs[0]?.full, true);
    assert.ok(proxy!.appliedRuleset.includes('svc-default/s9/tcp/http'));
  });

  it('an endpoint change rewrites only that Service\'s chains: every other rule keeps its handle', async () => {
    const before = await listing(TABLE);
    const s = await synced(
      async () => slices().update({ ...(await slices().get('s4-1')), endpoints: [{ addresses: ['10.42.1.99'], nodeName: 'node-1', conditions: { ready: true } }] }),
      (t) => t.includes('dnat to 10.42.1.99:8080'),
    );
    assert.equal(s.full, false, 'a partial sync');
    const afterList = await listing(TABLE);
    let kept = 0;
    for (const [chain, handles] of before.handles) {
      if (chain.includes('default/s4/')) continue;
      assert.deepEqual(afterList.handles.get(chain), handles, `${chain} untouched`);
      assert.deepEqual(afterList.chains.get(chain), before.chains.get(chain));
      kept++;
    }
    assert.ok(kept > 20, `${kept} chains compared`);
    assert.notDeepEqual(afterList.chains.get('svc-default/s4/tcp/http'), before.chains.get('svc-default/s4/tcp/http'));
    assert.deepEqual(afterList.sets.get('service-ips'), before.sets.get('service-ips'), 'the verdict map is unchanged');
    const hairpins = afterList.sets.get('endpoint-hairpins')!.join(' ');
    assert.ok(hairpins.includes('10.42.1.99') && !hairpins.includes('"10.42.1.13"'), hairpins);
  });

  it('partial syncs go through one long-lived `nft -i`, a child of this process until the proxy stops', async () => {
    const pids: string[][] = [];
    for (const ip of ['10.42.1.98', '10.42.1.97']) {
      const s = await synced(
        async () => slices().update({ ...(await slices().get('s7-1')), endpoints: [{ addresses: [ip], nodeName: 'node-1', conditions: { ready: true } }] }),
        (t) => t.includes(`dnat to ${ip}:8080`),
      );
      assert.equal(s.full, false);
      pids.push(nftChildren());
    }
    assert.equal(pids[0].length, 1, 'one nft -i');
    assert.deepEqual(pids[1], pids[0], 'the same one for the next change');
    assert.match(await nftRun(['list', 'chain', 'ip', TABLE, 'svc-default/s7/tcp/http']), /dnat to 10\.42\.1\.97:8080/);
  });

  it('a removed Service disappears: chains and map elements', async () => {
    const vip = vips.get('s3')!;
    const nodePort = (await services().get('s3')).spec!.ports![0].nodePort!;
    const s = await synced(
      async () => {
        await services().delete('s3');
        await slices().delete('s3-1');
      },
      (t) => !t.includes('default/s3/'),
    );
    assert.equal(s.full, false);
    const l = await listing(TABLE);
    assert.deepEqual([...l.chains.keys()].filter((c) => c.includes('default/s3/')), []);
    const text = await nftRun(['list', 'table', 'ip', TABLE]);
    assert.ok(!text.includes(vip), `${vip} gone from the maps`);
    assert.ok(!new RegExp(`tcp \\. ${nodePort} :`).test(text), `node port ${nodePort} gone`);
    assert.ok(l.chains.has('svc-default/s2/tcp/http'), 'the others stay');
  });

  it('after a run of partial syncs the kernel holds exactly what a whole-table load gives', async () => {
    await synced(() => addService('new', ['10.42.1.200', '10.42.1.201'], { sessionAffinity: 'ClientIP' }), (t) => t.includes('aff-10800-default/new/'));
    await synced(async () => slices().update({ ...(await slices().get('s1-1')), endpoints: [] }), (t) => t.includes(`${vips.get('s1')} . tcp . 80 : goto reject-chain`));
    await synced(async () => services().update({ ...(await services().get('s2')), spec: { ...(await services().get('s2')).spec, type: 'NodePort' } }), (t) => t.includes('ext-default/s2/'));
    await synced(async () => slices().update({ ...(await slices().get('new-1')), endpoints: [{ addresses: ['10.42.1.201'], conditions: { ready: true } }] }), (t) => !t.includes('10.42.1.200'));
    assert.ok(syncs.slice(1).every((s) => !s.full), 'all partial');

    await nftApply(proxy!.appliedRuleset.replace(new RegExp(`ip ${TABLE}\\b`, 'g'), `ip ${REF_TABLE}`));
    const [got, want] = [await listing(TABLE), await listing(REF_TABLE)];
    assert.deepEqual(sorted(got.chains), sorted(want.chains));
    assert.deepEqual(sorted(got.sets), sorted(want.sets));
    await deleteTable(REF_TABLE);
  });

  it('a table deleted from outside is loaded whole on the next sync', async () => {
    await deleteTable(TABLE);
    const s = await synced(() => addService('after-delete', ['10.42.1.210']), (t) => t.includes('default/after-delete/'));
    assert.equal(s.full, true);
    const l = await listing(TABLE);
    for (const name of ['s0', 's9', 'new', 'after-delete']) assert.ok(l.chains.has(`svc-default/${name}/tcp/http`), name);
    assert.ok(logs.some((x) => x.includes('partial update failed')), logs.join('\n'));
  });

  it('… and without any change, by the periodic check', async () => {
    assert.equal(nftChildren().length, 1);
    await proxy!.stop();
    assert.deepEqual(nftChildren(), [], 'the nft -i of the stopped proxy has ended');
    proxy = await startProxy(200);
    const n = syncs.length;
    await deleteTable(TABLE);
    // a listing that meets the proxy's reload mid-way may fail (the ruleset changed under it): ask again
    const tables = () => nftRun(['list', 'tables', 'ip']).catch(() => '');
    await waitFor('the table back', async () => (await tables()).includes(`table ip ${TABLE}`) && syncs.length > n, 10_000).catch((e: Error) => {
      throw new Error(`${e.message}; the proxy's log:\n${logs.join('\n')}`);
    });
    assert.ok((await listing(TABLE)).chains.has('svc-default/s0/tcp/http'));
    assert.equal(syncs.at(-1)!.full, true);
  });

  it('an element removed from outside makes the partial update fail; the whole table is loaded instead', async () => {
    await nftApply(`delete element ip ${TABLE} service-ips { ${vips.get('s5')} . tcp . 80 }\n`);
    const s = await synced(
      async () => slices().update({ ...(await slices().get('s5-1')), endpoints: [] }),
      (t) => t.includes(`${vips.get('s5')} . tcp . 80 : goto reject-chain`),
    );
    assert.equal(s.full, true);
    const text = await nftRun(['list', 'table', 'ip', TABLE]);
    assert.ok(text.includes(`${vips.get('s5')} . tcp . 80 : goto reject-chain`));
    assert.ok(text.includes(`${vips.get('s6')} . tcp . 80 : goto svc-default/s6/tcp/http`), 'the others are back as they were');
  });
});
