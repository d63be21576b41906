// The service proxy: watches Services and EndpointSlices and keeps one nftables table of ours equal to
// buildRuleset() of the caches. Shortly after each change (a short delay gathers bursts; consecutive
// syncs are at least minSyncIntervalMs apart) one transaction applies only what changed
// (partialTransaction(), as kube-proxy's nftables mode does partial syncs), fed to a long-lived `nft -i`
// (NftSession) so that no nft process starts per change; the whole table is loaded with `nft -f` on
// start, after a failed transaction, when the table went missing, and every fullResyncPeriodMs. Also gives
// `type: LoadBalancer` Services without a class an address from a pool (default: the node's own address,
// like k3s's ServiceLB) in status.loadBalancer.ingress.
import { writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { isNotFound } from '../client/rest.js';
import { RESOURCES, SharedInformers } from '../client/shared.js';
import type { Transport } from '../client/transport.js';
import { runWorkers, WorkQueue } from '../client/workqueue.js';
import { metaNamespaceKey } from '../client/informer.js';
import { deleteTable, listTable, nftApply, nftUsable, NftSession, tableExists } from './nft.js';
import { buildRulesetModel, isIPv4, partialTransaction, renderRuleset, rulesetObjects, transaction, type Ruleset, type RulesetModel, type ServiceRulesCache } from './ruleset.js';

export {
  buildRuleset,
  buildRulesetModel,
  renderRuleset,
  rulesetObjects,
  partialTransaction,
  transaction,
  endpointsFor,
  externalAddresses,
  LABEL_SERVICE_NAME,
  MASQUERADE_MARK,
  type Ruleset,
  type RulesetModel,
  type RulesetOptions,
  type ServiceRules,
  type ServiceRulesCache,
} from './ruleset.js';
export { deleteTable, listTable, nftApply, nftUsable, NftSession, tableExists } from './nft.js';

/** The component's name: its service account is `system:serviceaccount:kube-system:service-proxy`. */
export const SERVICE_PROXY_COMPONENT = 'service-proxy';

export interface ServiceProxyOptions {
  /** endpoints with this nodeName are "local" for the Local traffic policies */
  nodeName: string;
  /** the node's addresses (default: its non-loopback IPv4 addresses); the first is the default LoadBalancer IP */
  nodeIPs?: string[];
  /** the node's pod CIDR: pod egress leaving it is masqueraded, other sources reaching a ClusterIP too */
  podCIDR?: string;
  /** all pods of the cluster when wider than podCIDR (multi-node); default podCIDR */
  clusterCIDR?: string;
  tableName?: string;
  log?: (line: string) => void;
  /** addresses handed to LoadBalancer Services (default: the first node IP) */
  loadBalancerIPs?: string[];
  /** write status.loadBalancer of LoadBalancer Services (default true; one proxy per cluster should) */
  manageLoadBalancerStatus?: boolean;
  /** wait this long after a change before applying, to gather a burst (default 5 ms) */
  syncDelayMs?: number;
  /** at most one apply per this many ms (default 50) */
  minSyncIntervalMs?: number;
  /** check this often that the table is still there, reloading it whole if not (default 60 s; 0 = never) */
  resyncPeriodMs?: number;
  /** load the whole table this often even without changes, undoing edits from outside (default 1 h; 0 = never) */
  fullResyncPeriodMs?: number;
  /** set net.ipv4.conf.all.route_localnet=1 for NodePorts on 127.0.0.1 (default true) */
  sysctls?: boolean;
  /** the nft binary (default `nft` from PATH) */
  nft?: string;
  /** shared informers of the process (started by their owner); default: our own */
  informers?: SharedInformers;
  /** after each sync: whether nft ran, whether it loaded the whole table, how long building + applying took */
  onSync?: (r: { applied: boolean; full: boolean; durationMs: number; stats: Ruleset['stats'] }) => void;
}

export interface ServiceProxy {
  /** the whole-table text of the ruleset last applied (rendered on demand) */
  readonly appliedRuleset: string;
  /** applies pending changes now (waits for a running sync first); with full, loads the whole table */
  syncNow(opts?: { full?: boolean }): Promise<void>;
  /** stops watching; with removeTable the table goes too (`timonel down`, tests) */
  stop(opts?: { removeTable?: boolean }): Promise<void>;
}

export async function startServiceProxy(transport: Transport, opts: ServiceProxyOptions): Promise<ServiceProxy> {
  const log = opts.log ?? (() => {});
  const tableName = opts.tableName ?? 'timonel';
  const nft = opts.nft ?? 'nft';
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(tableName)) throw new Error(`service proxy: bad table name ${JSON.stringify(tableName)}`);
  if (!(await nftUsable(nft))) throw new Error('service proxy: `nft list tables` fails (nftables not installed, or not root); Services get no kernel rules');
  if (opts.sysctls ?? true) {
    try {
      writeFileSync('/proc/sys/net/ipv4/conf/all/route_localnet', '1');
    } catch (e) {
      log(`proxy: cannot set net.ipv4.conf.all.route_localnet=1 (${(e as Error).message}); NodePorts on 127.0.0.1 will not work`);
    }
  }
  const nodeIPs = opts.nodeIPs ?? hostIPv4s();
  const lbPool = opts.loadBalancerIPs ?? nodeIPs.filter((ip) => isIPv4(ip) && !ip.startsWith('127.')).slice(0, 1);
  const clusterCIDR = opts.clusterCIDR ?? opts.podCIDR;

  const ownInformers = !opts.informers;
  const informers = opts.informers ?? new SharedInformers(transport);
  const services = informers.informer<Service>(RESOURCES.services);
  const slices = informers.informer<EndpointSlice>(RESOURCES.endpointslices);

  const rulesetOptions = { tableName, nodeName: opts.nodeName, clusterCIDR };
  const cache: ServiceRulesCache = new Map();
  // partial syncs go through one long-lived `nft -i`; whole-table loads through `nft -f`
  const session = new NftSession(nft);
  // what the kernel holds, as far as we know; undefined: unknown, list the table before a full load
  let applied: RulesetModel | undefined;
  let rendered: { model: RulesetModel; text: string } | undefined;
  let stopped = false;
  let dirty = true;
  let full = true;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastStart = 0;
  let failures = 0;

  const loadWhole = async (model: RulesetModel) => {
    const rs = renderRuleset(model);
    // stale chains and sets to delete: those of the last model, or what the kernel really has
    const previous = applied ? rulesetObjects(applied) : await listTable(tableName, nft);
    await nftApply(transaction(rs, previous ?? { chains: [], sets: [] }, tableName), nft);
    rendered = { model, text: rs.text };
  };
  const syncOnce = async () => {
    const t0 = performance.now();
    const model = buildRulesetModel(services.list(), slices.list(), rulesetOptions, cache);
    let tx = full || !applied ? undefined : partialTransaction(applied, model);
    if (tx) {
      try {
        await session.apply(tx);
      } catch (e) {
        log(`proxy: a partial update failed, loading the whole table: ${(e as Error).message}`);
        applied = undefined;
        tx = undefined;
      }
    }
    const wasFull = tx === undefined;
    if (wasFull) {
      try {
        await loadWhole(model);
      } catch (e) {
        applied = undefined;
        full = true;
        throw e;
      }
    }
    full = false;
    applied = model;
    const didApply = tx !== '';
    const durationMs = performance.now() - t0;
    if (didApply && durationMs > 500) log(`proxy: applying ${model.stats.servicePorts} service ports (${wasFull ? 'whole table' : 'changes'}) took ${durationMs.toFixed(0)} ms`);
    opts.onSync?.({ applied: didApply, full: wasFull, durationMs, stats: model.stats });
  };

  const run = () => {
    timer = undefined;
    if (stopped || running || !dirty) return;
    dirty = false;
    lastStart = Date.now();
    running = syncOnce()
      .then(() => {
        failures = 0;
      })
      .catch((e: unknown) => {
        failures++;
        dirty = true;
        log(`proxy: applying the ruleset failed (attempt ${failures}): ${(e as Error).message}`);
      })
      .finally(() => {
        running = undefined;
        if (dirty) schedule(failures ? Math.min(30_000, 500 * 2 ** (failures - 1)) : 0);
      });
  };
  const schedule = (extraDelay = 0) => {
    if (stopped || timer || running) return;
    const delay = Math.max(opts.syncDelayMs ?? 5, lastStart + (opts.minSyncIntervalMs ?? 50) - Date.now(), extraDelay);
    timer = setTimeout(run, delay);
  };
  const changed = () => {
    dirty = true;
    schedule();
  };

  // LoadBalancer status: one worker, so two Services never get one address and port at once.
  const manageLB = opts.manageLoadBalancerStatus ?? true;
  const statusQueue = new WorkQueue({ name: 'service-proxy-lb' });
  const assigned = new Map<string, string>();
  const onService = (svc: Service) => {
    changed();
    if (manageLB) statusQueue.add(metaNamespaceKey(svc));
  };
  services.addEventHandler({
    onAdd: onService,
    onUpdate: (_old, svc) => onService(svc),
    onDelete: (svc) => {
      assigned.delete(metaNamespaceKey(svc));
      changed();
    },
  });
  slices.addEventHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });

  const portsClash = (a: Service, b: Service) =>
    (a.spec?.ports ?? []).some((pa) => (b.spec?.ports ?? []).some((pb) => pa.port === pb.port && (pa.protocol ?? 'TCP') === (pb.protocol ?? 'TCP')));
  const holders = (ip: string, except: string) =>
    services.list().filter((s) => {
      const k = metaNamespaceKey(s);
      if (k === except || s.spec?.type !== 'LoadBalancer') return false;
      return assigned.get(k) === ip || (s.status?.loadBalancer?.ingress ?? []).some((i) => i.ip === ip);
    });
  const syncStatus = async (key: string): Promise<void> => {
    const svc = services.get(key);
    if (!svc) return;
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    const client = informers.client.resource<Service>(RESOURCES.services, svc.metadata?.namespace);
    if (svc.spec?.type !== 'LoadBalancer') {
      assigned.delete(key);
      if (ingress.length && ingress.every((i) => i.ip && lbPool.includes(i.ip))) {
        await client.updateStatus({ ...svc, status: { ...svc.status, loadBalancer: {} } }).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      }
      return;
    }
    if (svc.spec.loadBalancerClass || ingress.length) return;
    const wanted = svc.spec.loadBalancerIP ? [svc.spec.loadBalancerIP] : lbPool;
    const ip = wanted.find((a) => !holders(a, key).some((h) => portsClash(h, svc)));
    if (!ip) {
      log(`proxy: LoadBalancer ${key} stays pending: its ports are taken on ${wanted.join(', ') || '(no address in the pool)'}`);
      return;
    }
    assigned.set(key, ip);
    try {
      await client.updateStatus({ ...svc, status: { ...svc.status, loadBalancer: { ingress: [{ ip }] } } });
    } catch (e) {
      if (isNotFound(e)) return;
      assigned.delete(key);
      throw e;
    }
  };

  if (ownInformers) informers.start();
  await informers.waitForSync();
  dirty = false;
  lastStart = Date.now();
  await syncOnce();
  session.open();
  const workers = manageLB ? runWorkers(statusQueue, 1, syncStatus, log) : Promise.resolve();
  const checkEvery = opts.resyncPeriodMs ?? 60_000;
  const checkTimer =
    checkEvery > 0
      ? setInterval(() => {
          void tableExists(tableName, nft).then(
            (ok) => {
              if (ok || stopped) return;
              log(`proxy: table ip ${tableName} is gone, loading it again`);
              applied = undefined;
              full = true;
              changed();
            },
            (e: unknown) => log(`proxy: cannot list nftables tables: ${(e as Error).message}`),
          );
        }, checkEvery)
      : undefined;
  checkTimer?.unref();
  const fullEvery = opts.fullResyncPeriodMs ?? 3_600_000;
  const fullTimer = fullEvery > 0 ? setInterval(() => ((full = true), changed()), fullEvery) : undefined;
  fullTimer?.unref();
  log(`proxy: nftables table ip ${tableName} programmed for node ${opts.nodeName} (${nodeIPs.join(', ') || 'no node IPs'})`);

  return {
    get appliedRuleset() {
      if (!applied) return rendered?.text ?? '';
      if (rendered?.model !== applied) rendered = { model: applied, text: renderRuleset(applied).text };
      return rendered.text;
    },
    async syncNow(o = {}) {
      while (running) await running;
      clearTimeout(timer);
      timer = undefined;
      dirty = true;
      if (o.full) full = true;
      run();
      await running;
    },
    async stop(o = {}) {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      if (checkTimer) clearInterval(checkTimer);
      if (fullTimer) clearInterval(fullTimer);
      statusQueue.shutDown();
      await running;
      await workers;
      await session.close();
      if (ownInformers) await informers.stop();
      if (o.removeTable) await deleteTable(tableName, nft);
    },
  };
}

function hostIPv4s(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  return out;
}
