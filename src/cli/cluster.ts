// `timonel up` as a library: storage, API server, certificates, kubeconfig, bootstrap objects.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinScheme } from '../api/kinds/index.js';
import { StatusError } from '../api/errors.js';
import { clientCertAuthenticator, inProcessAuthenticator, unionAuthenticator } from '../apiserver/authn.js';
import { inProcessAcceptor, inProcessTransport, type InProcessIdentity, type Transport } from '../client/transport.js';
import type { ComponentThread } from './component-thread.js';
import { startNamespaceController } from '../controllers/namespace/controller.js';
import { ControllerManager, type ControllerFactory } from '../controllers/manager.js';
import { pvcProtectionController, pvProtectionController } from '../controllers/volume/index.js';
import { defaultLocalPathBaseDir, ensureDefaultStorageClass } from '../controllers/localpath/provisioner.js';
import { controllerSet } from './controller-set.js';
export { BUILTIN_CONTROLLERS } from './controller-set.js';
import { RestClient } from '../client/rest.js';
import type { Informer } from '../client/informer.js';
import { RESOURCES } from '../client/shared.js';
import type { SimulatedNodes } from '../node/simulated/index.js';
import { listen, newApiServer, type RunningApiServer } from '../apiserver/server.js';
import { installAudit } from '../apiserver/audit.js';
import { type FlowControlOptions, installFlowControl } from '../apiserver/flowcontrol.js';
import type { ApiServer } from '../apiserver/handler.js';
import { openStore, type StoreOptions } from '../storage/index.js';
import type { Store } from '../storage/store.js';
import { kubeconfigYAML, writeKubeconfig } from './kubeconfig.js';
// DNS, the node agent, the service proxy, the ingress controller and simulated nodes start after the
// ready line: their modules load then (import() below), not before it.
import type { ClusterDNS } from '../dns/index.js';
import type { NodeAgent } from '../node/agent/index.js';
import type { ServiceProxy } from '../proxy/index.js';
import { intToIPv4, ipv4ToInt, parseCIDR } from '../node/sandbox/ipam.js';
import { defaultNodeName } from '../node/agent/machine.js';
import type { RunningIngressController } from '../ingress/controller.js';
import type { SimulatedNodeFlags } from './simulated-flags.js';
import { DEFAULT_SERVICE_CIDR } from '../apiserver/admission/service-alloc.js';
import { dataDirEncryption } from './encryption.js';
import { ensurePKI } from './pki.js';

export interface ClusterOptions {
  dataDir: string;
  /** 0 = an ephemeral port */
  port?: number;
  bind?: string;
  storage?: 'sqlite' | 'memory';
  /** write the audit log to `<data-dir>/audit/audit.log` (default false, as upstream without --audit-log-path) */
  audit?: boolean;
  /** an audit.k8s.io/v1 Policy file (default: Metadata for everything, Request bodies for writes but Secrets) */
  auditPolicyFile?: string;
  /** an EncryptionConfiguration file (default: `<data-dir>/encryption-config.yaml`, made on first start) */
  encryptionConfigFile?: string;
  /** history retention and compaction of the store (tests shorten them) */
  storeOptions?: StoreOptions;
  /** plain HTTP, every request treated as admin: for tests only */
  insecureHttp?: boolean;
  /** in-flight limits and the per-user token bucket (default: 400 reads, 200 writes, no per-user limit) */
  flowControl?: Pick<FlowControlOptions, 'maxRequestsInFlight' | 'maxMutatingRequestsInFlight' | 'perUser'>;
  /** `AlwaysAllow`: requests without credentials are served as if admin, every request is allowed (HTTPS
   * kept; upstream's --authorization-mode=AlwaysAllow with anonymous auth on) — benchmarks and tests only */
  authorizationMode?: 'RBAC' | 'AlwaysAllow';
  /** run the built-in controllers (default true; tests of a controller start their own, or pick some) */
  controllers?: boolean | ('namespace' | 'manager' | 'storage-protection')[];
  /** the cluster DNS server's UDP/TCP port on the bind address (0: any free port; false: none). Default: 0
   * when the built-in controllers run, none otherwise */
  dnsPort?: number | false;
  /** the TTL of the cluster DNS server's answers, in seconds (default 5, as CoreDNS's kubernetes plugin) */
  dnsTTL?: number;
  /** run the built-in Ingress controller on these ports (0: any free port) of `address` (default: bind); default: none */
  ingress?: { httpPort: number; httpsPort: number; address?: string };
  /** run a real node on this machine (root, crun or runc): pods bound to it run as containers */
  localNode?: boolean;
  /** register this many simulated nodes (pods on them go Running without containers) */
  simulatedNodes?: number;
  /** their capacity, labels and taints, and how long their pods take to start and their Jobs' pods to finish */
  simulatedNodeOptions?: SimulatedNodeFlags;
  /** the IPv4 CIDR ClusterIPs come from (default 10.43.0.0/16); a data dir keeps the one it was made with */
  serviceCIDR?: string;
  /** the addresses `type: LoadBalancer` Services get on the local node (default: the node's own address) */
  loadBalancerIPs?: string[];
  /**
   * run the controller manager (with the scheduler) and the simulated nodes on a worker thread, so they use
   * a second core (default false: one thread, the least memory)
   */
  componentThread?: boolean;
  log?: (line: string) => void;
}

export interface RunningCluster {
  url: string;
  port: number;
  kubeconfigPath: string;
  dataDir: string;
  api: ApiServer;
  store: Store;
  /** the worker running the controllers and simulated nodes, when they run on a thread of their own */
  componentThread?: ComponentThread;
  /**
   * Stops the cluster. The local node's containers and the service proxy's rules stay for the next start to
   * take over, unless `teardown` (`timonel down`): then the containers stop and the pods' sandboxes, the
   * node bridge and the nftables table are removed.
   */
  close(opts?: { teardown?: boolean }): Promise<void>;
  /** the local node's name once its agent started (it stays known after close) */
  localNodeName(): string | undefined;
}

/** What removes the finalizers that StorageObjectInUseProtection adds: tests that pick controllers can ask for just these. */
const STORAGE_PROTECTION_CONTROLLERS: ControllerFactory[] = [pvcProtectionController, pvProtectionController];

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

async function bootstrap(api: ApiServer): Promise<void> {
  const nsKind = api.scheme.lookup('', 'v1', 'namespaces');
  if (!nsKind) return;
  for (const name of SYSTEM_NAMESPACES) {
    if (await api.registry.getItem(nsKind, undefined, name)) continue;
    try {
      await api.registry.create(nsKind, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409)) throw e;
    }
  }
}

/** The n-th address of the service CIDR: upstream gives the first to `kubernetes` and, by convention, the tenth to `kube-dns`. */
function serviceIP(cidr: string, n: number): string {
  return intToIPv4(parseCIDR(cidr).network + n);
}

/**
 * A service CIDR `up` accepts: IPv4, /12 (upstream's largest) to /28 (`kube-dns` takes the tenth address), apart
 * from the local node's pod CIDR.
 */
export function checkServiceCIDRFlag(cidr: string): void {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255)) throw new Error(`--service-cidr: not an IPv4 CIDR (a.b.c.d/n): ${cidr}`);
  const prefix = Number(m[5]);
  if (prefix < 12 || prefix > 28) throw new Error(`--service-cidr: the prefix must be /12 to /28, not /${prefix}`);
  const pods = parseCIDR(LOCAL_POD_CIDR);
  const mask = (0xffffffff << (32 - Math.min(prefix, pods.prefix))) >>> 0;
  if (((ipv4ToInt(`${m[1]}.${m[2]}.${m[3]}.${m[4]}`) & mask) >>> 0) === ((pods.network & mask) >>> 0))
    throw new Error(`--service-cidr: ${cidr} overlaps the pods' addresses (${LOCAL_POD_CIDR})`);
}

/**
 * The service CIDR of a data dir: recorded in `<data-dir>/service-cidr` by its first start (when its objects are
 * kept), used when none is asked for (so `timonel down` and a restart without the flag get it), and a different
 * one refused: the stored Services keep their addresses.
 */
function dataDirServiceCIDR(dataDir: string, asked: string | undefined): { cidr: string; recorded: boolean } {
  const file = join(dataDir, SERVICE_CIDR_FILE);
  const recorded = existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  if (recorded && asked && recorded !== asked)
    throw new Error(`--service-cidr ${asked}: this data dir's Services are on ${recorded}; start with that range (or without the flag), or with a new data dir`);
  return { cidr: asked ?? recorded ?? DEFAULT_SERVICE_CIDR, recorded: recorded !== undefined };
}
const SERVICE_CIDR_FILE = 'service-cidr';

/** Services keep their addresses: a data dir stays on the service CIDR it was made with (its `kubernetes` Service's). */
async function checkServiceCIDR(api: ApiServer, cidr: string): Promise<void> {
  const svcKind = api.scheme.lookup('', 'v1', 'services');
  const existing = svcKind && (await api.registry.getItem(svcKind, 'default', 'kubernetes'));
  const have = (existing ? (existing.obj.spec as { clusterIP?: string } | undefined) : undefined)?.clusterIP;
  if (have && have !== serviceIP(cidr, 1))
    throw new Error(`the Services of this data dir are on another service CIDR (the kubernetes Service has ${have}), not ${cidr}: start with that CIDR, or with a new data dir`);
}

/** The pod CIDR of the local node: its bridge's first address is where pods reach the API server and DNS. */
const LOCAL_POD_CIDR = '10.42.0.0/24';

const isLoopback = (ip: string) => ip === 'localhost' || /^127\./.test(ip) || ip === '::1';
const isUnspecified = (ip: string) => ip === '0.0.0.0' || ip === '::';

interface EndpointPort {
  name: string;
  port: number;
  protocol: 'TCP' | 'UDP';
}

/**
 * The Endpoints and EndpointSlice of a selector-less Service served by this process, as the upstream
 * API server writes them for `kubernetes` (the proxy and DNS read slices; older clients Endpoints).
 */
async function publishEndpoints(api: ApiServer, namespace: string, name: string, ip: string, ports: EndpointPort[]): Promise<void> {
  const epKind = api.scheme.lookup('', 'v1', 'endpoints');
  const sliceKind = api.scheme.lookup('discovery.k8s.io', 'v1', 'endpointslices');
  if (!epKind || !sliceKind) return;
  const labels = { 'endpointslice.kubernetes.io/skip-mirror': 'true' };
  await api.registry.update(epKind, namespace, name, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace, labels },
    subsets: [{ addresses: [{ ip }], ports }],
  });
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { ...labels, 'kubernetes.io/service-name': name } },
    addressType: ip.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } }],
    ports,
  };
  // EndpointSlices are not created by an update
  if (await api.registry.getItem(sliceKind, namespace, name)) await api.registry.update(sliceKind, namespace, name, slice);
  else await api.registry.create(sliceKind, namespace, slice);
}

/** The `default/kubernetes` Service and, when pods can reach `address`, its endpoints: how workloads find the API server. */
async function ensureKubernetesService(api: ApiServer, serviceCIDR: string, address: string, port: number): Promise<void> {
  const svcKind = api.scheme.lookup('', 'v1', 'services');
  if (!svcKind) return;
  const labels = { component: 'apiserver', provider: 'kubernetes' };
  if (!(await api.registry.getItem(svcKind, 'default', 'kubernetes'))) {
    await api.registry.create(svcKind, 'default', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default', labels },
      spec: { type: 'ClusterIP', clusterIP: serviceIP(serviceCIDR, 1), sessionAffinity: 'None', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }] },
    });
  }
  // Endpoints may not name loopback addresses; the local node's gateway is published once it exists.
  if (isLoopback(address) || isUnspecified(address)) return;
  await publishEndpoints(api, 'default', 'kubernetes', address, [{ name: 'https', port, protocol: 'TCP' }]);
}

export const KUBE_DNS_LABELS = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' };

/**
 * The `kube-system/kube-dns` Service (the tenth service address when free), whose ClusterIP pods get
 * as their nameserver; resolves with that address. Its endpoints are the node's DNS listener.
 */
async function ensureKubeDNSService(api: ApiServer, serviceCIDR: string, log: (line: string) => void): Promise<string | undefined> {
  const svcKind = api.scheme.lookup('', 'v1', 'services');
  if (!svcKind) return undefined;
  const have = await api.registry.getItem(svcKind, 'kube-system', 'kube-dns');
  if (have) return (have.obj.spec as { clusterIP?: string } | undefined)?.clusterIP;
  const create = (clusterIP: string | undefined) =>
    api.registry.create(svcKind, 'kube-system', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: KUBE_DNS_LABELS },
      spec: {
        type: 'ClusterIP',
        clusterIP,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
      },
    });
  let made;
  try {
    made = await create(serviceIP(serviceCIDR, 10));
  } catch (e) {
    // a Service made before kube-dns existed may hold the conventional address
    if (!(e instanceof StatusError && e.code === 422)) throw e;
    log(`kube-dns: ${serviceIP(serviceCIDR, 10)} is taken (${e.message}); using another address`);
    made = await create(undefined);
  }
  return (made.obj.spec as { clusterIP?: string } | undefined)?.clusterIP;
}

export async function startCluster(opts: ClusterOptions): Promise<RunningCluster> {
  if (opts.serviceCIDR) checkServiceCIDRFlag(opts.serviceCIDR);
  const dataDir = opts.dataDir;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const bind = opts.bind ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  const runsController = (which: 'namespace' | 'manager' | 'storage-protection') =>
    Array.isArray(opts.controllers) ? opts.controllers.includes(which) : opts.controllers !== false;
  const storage = opts.storage ?? 'sqlite';
  const serviceCIDR = dataDirServiceCIDR(dataDir, opts.serviceCIDR);
  // Secrets are encrypted on disk from the first start; the memory backend writes nothing to disk
  const valueTransformer = storage === 'sqlite' ? dataDirEncryption(dataDir, opts.encryptionConfigFile) : undefined;
  const store = openStore(storage, join(dataDir, 'state.db'), { ...opts.storeOptions, valueTransformer });
  const scheme = builtinScheme();
  let pki = opts.insecureHttp ? undefined : await ensurePKI(join(dataDir, 'pki'), [bind]);
  const podGateway = opts.localNode ? parseCIDR(LOCAL_POD_CIDR).gateway : undefined;
  const clientHost = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
  const port0 = opts.port ?? 6443;
  // serverAddress is fixed after listen; the handler reads it lazily through this holder
  const addr = { value: `${clientHost}:${port0}` };
  const api = newApiServer({
    store,
    scheme,
    authenticate: unionAuthenticator(clientCertAuthenticator(), inProcessAuthenticator()),
    serviceAccountKeyPem: pki?.serviceAccountKeyPem,
    serverAddress: addr.value,
    anonymousIsAdmin: !!opts.insecureHttp || opts.authorizationMode === 'AlwaysAllow',
    // without the serviceaccount controller no `default` account appears: admit pods all the same
    serviceAccountAdmission: { requireServiceAccount: runsController('manager') },
    services: { serviceCIDR: serviceCIDR.cidr },
    log,
  });
  // every request in audit.k8s.io/v1 JSON lines (rotated); overload answers 429, never a lost write
  const audit = !opts.audit ? undefined : installAudit(api, { path: join(dataDir, 'audit', 'audit.log'), policy: opts.auditPolicyFile, log });
  installFlowControl(api, { ...opts.flowControl });
  await bootstrap(api);
  try {
    await checkServiceCIDR(api, serviceCIDR.cidr);
  } catch (e) {
    await audit?.close();
    await store.close();
    throw e;
  }
  // recorded once it is known to fit the stored Services (the memory backend keeps none)
  if (!serviceCIDR.recorded && storage === 'sqlite') writeFileSync(join(dataDir, SERVICE_CIDR_FILE), `${serviceCIDR.cidr}\n`, { mode: 0o600 });
  // the serving certificate names the `kubernetes` ClusterIP (known once the API server exists) and the pod gateway too
  if (pki) pki = await ensurePKI(join(dataDir, 'pki'), [bind, serviceIP(serviceCIDR.cidr, 1), podGateway ?? ''].filter(Boolean));
  const tls = pki ? { certPem: pki.server.certPem, keyPem: pki.server.keyPem, caPem: pki.ca.certPem } : undefined;
  let running: RunningApiServer;
  try {
    running = await listen(api, { port: port0, bind, tls });
  } catch (e) {
    await store.close();
    throw e;
  }
  try {
    await ensureKubernetesService(api, serviceCIDR.cidr, clientHost, running.port);
  } catch (e) {
    log(`could not publish the kubernetes Service: ${(e as Error).message}`);
  }
  const host = clientHost.includes(':') ? `[${clientHost}]` : clientHost;
  const url = `${pki ? 'https' : 'http'}://${host}:${running.port}`;
  // Built-in components talk to the API through the in-process transport: same handler chain, no sockets.
  const acceptor = inProcessAcceptor(api.handle);
  const transports: Transport[] = [];
  const componentIdentity = (name: string): InProcessIdentity => ({ username: `system:serviceaccount:kube-system:${name}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'] });
  const componentTransport = (name: string): Transport => {
    const t = inProcessTransport(acceptor, componentIdentity(name));
    transports.push(t);
    return t;
  };
  const controllers: { stop(): Promise<void> }[] = [];
  /** the controller manager's pods informer, when it runs: simulated nodes read it rather than watch pods themselves */
  let podInformer: (() => Informer<Pod>) | undefined;
  try {
    await ensureDefaultStorageClass(new RestClient(componentTransport('bootstrap')));
  } catch (e) {
    log(`could not create the default StorageClass: ${(e as Error).message}`);
  }
  const localNodeName = opts.localNode ? defaultNodeName() : undefined;
  const run = (which: 'namespace' | 'manager' | 'storage-protection') => runsController(which);
  if (run('namespace')) controllers.push(startNamespaceController(componentTransport('namespace-controller'), { log }));
  const managerSet = { localPathBaseDir: defaultLocalPathBaseDir(dataDir), localNodeName, caPem: pki?.ca.certPem };
  const simulatedCount = opts.simulatedNodes && opts.simulatedNodes > 0 ? opts.simulatedNodes : 0;
  let componentThread: ComponentThread | undefined;
  if (opts.componentThread && (run('manager') || simulatedCount)) {
    // the API does not wait for the worker: it loads its modules and starts its components on its own
    const { startComponentThread } = await import('./component-thread.js');
    componentThread = await startComponentThread({
      acceptor,
      identity: componentIdentity,
      controllerManager: run('manager') ? managerSet : undefined,
      simulatedNodes: simulatedCount ? { ...opts.simulatedNodeOptions, count: simulatedCount } : undefined,
      log,
    });
  } else if (run('manager')) {
    const manager = new ControllerManager(componentTransport('controller-manager'), controllerSet(managerSet), { log });
    podInformer = () => manager.informers.informer<Pod>(RESOURCES.pods);
    // the API is ready before the controllers' caches are: do not hold the ready line for them
    manager.start().catch((e: unknown) => log(`controller manager: ${(e as Error).message}`));
    controllers.push(manager);
  }
  if (!run('manager') && run('storage-protection')) {
    const manager = new ControllerManager(componentTransport('storage-protection'), STORAGE_PROTECTION_CONTROLLERS, { log });
    manager.start().catch((e: unknown) => log(`storage protection controllers: ${(e as Error).message}`));
    controllers.push(manager);
  }
  let simulated: SimulatedNodes | undefined;
  let simulatedStarting: Promise<void> | undefined;
  if (simulatedCount && !componentThread) {
    // registering thousands of nodes takes seconds: the API is ready before they are
    simulatedStarting = import('../node/simulated/index.js').then((m) => m.startSimulatedNodes(componentTransport('simulated-nodes'), { ...opts.simulatedNodeOptions, count: simulatedCount, log, podInformer: podInformer?.() })).then(
      (s) => {
        simulated = s;
      },
      (e: unknown) => log(`simulated nodes: ${(e as Error).message}`),
    );
  }
  let dns: ClusterDNS | undefined;
  let dnsStarting: Promise<void> | undefined;
  let kubeDNSIP: string | undefined;
  const dnsPort = opts.dnsPort ?? (run('manager') ? 0 : false);
  if (dnsPort !== false) {
    try {
      kubeDNSIP = await ensureKubeDNSService(api, serviceCIDR.cidr, log);
    } catch (e) {
      log(`could not create the kube-dns Service: ${(e as Error).message}`);
    }
    // its caches fill after the API is ready: do not hold the ready line for them
    dnsStarting = import('../dns/index.js').then((m) => m.startClusterDNS(componentTransport('coredns'), { listen: [{ address: clientHost, port: dnsPort }], ttl: opts.dnsTTL, log })).then(
      (d) => {
        dns = d;
        log(`cluster DNS answering on ${d.address}:${d.port} (dig @${d.address} -p ${d.port} kubernetes.default.svc.cluster.local)`);
      },
      (e: unknown) => log(`cluster DNS not started: ${(e as Error).message}`),
    );
  }
  let nodeAgent: NodeAgent | undefined;
  let proxy: ServiceProxy | undefined;
  let nodeStarting: Promise<void> | undefined;
  let podListener: RunningApiServer | undefined;
  // Pods reach this process on the node's bridge gateway: the API server (unless it listens on every
  // address already) and the DNS server; the proxy sends the two Services' ClusterIPs there.
  const servePods = async (podCIDR: string) => {
    const { ensureNodeBridge } = await import('../node/sandbox/index.js');
    const gateway = await ensureNodeBridge({ podCIDR });
    if (isLoopback(clientHost) || isUnspecified(bind)) {
      if (!isUnspecified(bind)) podListener = await listen(api, { port: running.port, bind: gateway, tls });
      await publishEndpoints(api, 'default', 'kubernetes', gateway, [{ name: 'https', port: running.port, protocol: 'TCP' }]);
      log(`pods reach the API server at ${gateway}:${running.port} (https://kubernetes.default.svc)`);
    }
    await dnsStarting;
    if (!dns || !kubeDNSIP) return;
    const d = dns;
    // port 53 when free, as a pod would expect on a nameserver; the Service maps 53 to whichever it is
    const l = await d.addListener({ address: gateway, port: 53 }).catch(() => d.addListener({ address: gateway, port: 0 }));
    await publishEndpoints(api, 'kube-system', 'kube-dns', gateway, [
      { name: 'dns', port: l.port, protocol: 'UDP' },
      { name: 'dns-tcp', port: l.port, protocol: 'TCP' },
    ]);
    log(`pods resolve names through kube-dns ${kubeDNSIP} (served on ${gateway}:${l.port})`);
  };
  if (opts.localNode) {
    // as root with crun or runc; otherwise one line says why there is no node (the API keeps running)
    const clusterDNS = kubeDNSIP ? { ip: kubeDNSIP } : undefined;
    // the node agent acts as its node (system:node:<name>): the Node authorizer and NodeRestriction limit it
    const nodeTransport = inProcessTransport(acceptor, { username: `system:node:${localNodeName}`, groups: ['system:nodes'] });
    transports.push(nodeTransport);
    nodeStarting = import('../node/agent/index.js').then((m) => m.maybeStartLocalNode(nodeTransport, api, { dataDir, log, nodeName: localNodeName, podCIDR: LOCAL_POD_CIDR, clusterDNS })).then(async (a) => {
      nodeAgent = a;
      if (!a) return;
      log(`node ${a.nodeName} ready to run pods as containers`);
      // Services on this node: ClusterIP, NodePort and LoadBalancer rules in the nftables table `timonel`
      try {
        const { startServiceProxy } = await import('../proxy/index.js');
        proxy = await startServiceProxy(componentTransport('service-proxy'), { nodeName: a.nodeName, podCIDR: a.podCIDR, loadBalancerIPs: opts.loadBalancerIPs, log });
      } catch (e) {
        log(`no service proxy: ${(e as Error).message}`);
      }
      try {
        await servePods(a.podCIDR);
      } catch (e) {
        log(`pods cannot reach the API server or cluster DNS: ${(e as Error).message}`);
      }
    });
  }
  let ingress: RunningIngressController | undefined;
  let ingressStarting: Promise<void> | undefined;
  if (opts.ingress) {
    const io = opts.ingress;
    const ingressTransport = componentTransport('ingress-controller');
    ingressStarting = import('../ingress/controller.js')
      .then(async (m) => {
        await m.ensureIngressClass(new RestClient(ingressTransport));
        return m.startIngressController(ingressTransport, { httpPort: io.httpPort, httpsPort: io.httpsPort, address: io.address ?? bind, statusAddress: io.address ?? clientHost, log });
      })
      .then(
        (i) => {
          ingress = i;
          const where = [i.httpPort !== undefined && `http ${i.httpPort}`, i.httpsPort !== undefined && `https ${i.httpsPort}`].filter(Boolean).join(', ');
          if (where) log(`ingress controller (class timonel) listening on ${io.address ?? bind}: ${where}`);
        },
        (e: unknown) => log(`ingress controller not started: ${(e as Error).message}`),
      );
  }
  const kubeconfigPath = join(dataDir, 'kubeconfig.yaml');
  writeKubeconfig(kubeconfigPath, kubeconfigYAML(url, pki?.ca.certPem, { name: 'admin', clientCertPem: pki?.admin.certPem, clientKeyPem: pki?.admin.keyPem }));
  let closed = false;
  return {
    url,
    port: running.port,
    kubeconfigPath,
    dataDir,
    api,
    store,
    componentThread,
    localNodeName: () => nodeAgent?.nodeName,
    async close(o = {}) {
      if (closed) return;
      closed = true;
      const teardown = o.teardown === true;
      await simulatedStarting;
      await simulated?.stop();
      await componentThread?.stop();
      // containers keep running across a restart of timonel up and are adopted again
      await nodeStarting;
      // the rules stay, like the containers, for the next start to take over
      await proxy?.stop({ removeTable: teardown });
      await nodeAgent?.stop({ keepContainers: !teardown, removeBridge: teardown });
      await dnsStarting;
      await dns?.stop();
      await ingressStarting;
      await ingress?.stop();
      for (const c of controllers) await c.stop();
      for (const t of transports) t.close();
      await podListener?.close();
      await running.close();
      await audit?.close();
      await store.close();
    },
  };
}
