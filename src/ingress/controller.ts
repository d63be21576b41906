// The built-in Ingress controller (IngressClass `timonel`): informers over Ingresses, IngressClasses,
// Services, EndpointSlices and Secrets feed a routing table that HTTP and HTTPS listeners proxy by;
// owned Ingresses get status.loadBalancer.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, isIP, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { createSecureContext } from 'node:tls';
import type { Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass, IngressLoadBalancerIngress } from 'kubernetes-types/networking/v1.js';
import { EventRecorder } from '../client/events.js';
import { Informer, metaNamespaceKey } from '../client/informer.js';
import { isAlreadyExists, isNotFound, type RestClient } from '../client/rest.js';
import { RESOURCES, SharedInformers } from '../client/shared.js';
import type { Transport } from '../client/transport.js';
import { runWorkers, WorkQueue } from '../client/workqueue.js';
import { frontEnd } from './front.js';
import { handleRequest, handleUpgrade, upstreams, type Endpoint, type ProxyContext, type ResolvedBackend } from './proxy.js';
import {
  ANNOTATION_IS_DEFAULT_CLASS,
  buildRouteTable,
  INGRESS_CONTROLLER,
  ownsIngress,
  tlsBindingFor,
  type RouteTable,
  type ServiceBackendRef,
  type TLSBinding,
} from './routing.js';
import { loadSecretCertificate, selfSignedCertificate, type LoadedCertificate } from './tls.js';

export const INGRESSES = { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', namespaced: true } as const;
export const INGRESSCLASSES = { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', namespaced: false } as const;

const COMPONENT = 'timonel-ingress';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const SLICES_BY_SERVICE = 'ingress:service';
const TLS_KEYS = ['tls.crt', 'tls.key'] as const;

/**
 * What the controller keeps of a Secret (applied before caching): its identity and, when it has a
 * tls.crt or tls.key (of any type, as ingress-nginx takes them), those two keys. A cluster's other
 * Secrets then cost a few strings each.
 */
export function thinSecret(secret: Secret): void {
  const m = secret.metadata;
  if (m) secret.metadata = { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion };
  const data = secret.data;
  delete secret.data;
  delete (secret as { stringData?: unknown }).stringData;
  if (!data) return;
  for (const k of TLS_KEYS) {
    if (data[k] === undefined) continue;
    secret.data ??= {};
    secret.data[k] = data[k];
  }
}

export interface IngressControllerOptions {
  /** how long start waits for the informers' first lists before serving anyway (default 10 s) */
  syncTimeoutMs?: number;
  /** default 80; 0 = any free port */
  httpPort?: number;
  /** default 443; 0 = any free port */
  httpsPort?: number;
  /** listen address, default 0.0.0.0 */
  address?: string;
  /** our IngressClass name, default `timonel` */
  className?: string;
  /** class names served as ours while no IngressClass of that name exists (default `nginx`, for course manifests) */
  classAliases?: string[];
  /** written to status.loadBalancer.ingress of our Ingresses (an IP or a host name); default: the listen
   * address, or 127.0.0.1 when listening on every address; '' = do not write status */
  statusAddress?: string;
  log?: (line: string) => void;
}

export interface RunningIngressController {
  /** the ports really listened on (undefined: that listener could not start) */
  httpPort: number | undefined;
  httpsPort: number | undefined;
  /** resolves when the routing table reflects everything the informers have seen so far */
  synced(): Promise<void>;
  /** the Secrets cached, and `namespace/name` of those whose data is held (the others are kept as names only) */
  cachedSecrets(): { count: number; withData: string[] };
  stop(): Promise<void>;
}

/** Creates IngressClass `name` for our controller, marked as the default class, unless it exists. */
export async function ensureIngressClass(client: RestClient, name = 'timonel'): Promise<void> {
  const ic: IngressClass = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name, annotations: { [ANNOTATION_IS_DEFAULT_CLASS]: 'true' }, labels: { 'app.kubernetes.io/managed-by': 'timonel' } },
    spec: { controller: INGRESS_CONTROLLER },
  };
  const classes = client.resource<IngressClass>(INGRESSCLASSES);
  try {
    await classes.get(name);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    try {
      await classes.create(ic);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

/** RFC 6761 §6.3: `localhost` and names under `.localhost` are the loopback address (FQDN slices can name them, IP ones cannot). */
const loopbackName = (name: string) => name === 'localhost' || name.endsWith('.localhost');

interface CachedCert {
  resourceVersion: string;
  loaded: LoadedCertificate;
}

/** Starts the controller; listeners that cannot bind (port in use, no permission) are logged and left off. */
export async function startIngressController(transport: Transport, opts: IngressControllerOptions = {}): Promise<RunningIngressController> {
  const log = opts.log ?? (() => {});
  const address = opts.address ?? '0.0.0.0';
  const className = opts.className ?? 'timonel';
  const aliases = opts.classAliases ?? ['nginx'];
  const statusAddress = opts.statusAddress ?? (address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address);

  const informers = new SharedInformers(transport);
  const client = informers.client;
  const recorder = new EventRecorder(client, { component: COMPONENT }, log);
  const ingresses = informers.informer<Ingress>(INGRESSES);
  const classes = informers.informer<IngressClass>(INGRESSCLASSES);
  const services = informers.informer<Service>(RESOURCES.services);
  const slices = informers.informer<EndpointSlice>(RESOURCES.endpointslices);
  // not shared: its cache holds thinned Secrets only
  const secrets = new Informer<Secret>(client.resource<Secret>(RESOURCES.secrets), { transform: thinSecret, name: 'ingress secrets', log });
  slices.addIndexer(SLICES_BY_SERVICE, (s) => {
    const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
    return svc ? [`${s.metadata?.namespace ?? ''}/${svc}`] : [];
  });

  let table: RouteTable = buildRouteTable([]);
  /** `namespace/name` of the Secrets the current table's TLS hosts name */
  let referencedSecrets = new Set<string>();
  let tlsBindings = new Map<string, TLSBinding>();
  const certs = new Map<string, CachedCert>();
  /** `ingress|secret|resourceVersion|error` already reported in an Event */
  const reported = new Set<string>();
  const reportedProblems = new Set<string>();
  let backends = new Map<string, ResolvedBackend>();
  const backendKeys = new WeakMap<ServiceBackendRef, string>();
  let owned = new Set<string>();
  let started = false;
  let rebuildPending = false;
  let syncWaiters: (() => void)[] = [];

  const defaultPair = await selfSignedCertificate();
  const defaultContext = createSecureContext({ cert: defaultPair.certPem, key: defaultPair.keyPem });

  const statusQueue = new WorkQueue({ name: 'ingress-status' });

  const classMap = () => new Map(classes.list().map((c) => [c.metadata?.name ?? '', c]));

  const certFor = (secretKey: string): LoadedCertificate => {
    const [ns, name] = secretKey.split('/');
    const secret = secrets.getByName(ns, name);
    if (!secret) return { ok: false, error: `secret ${secretKey} not found` };
    const rv = secret.metadata?.resourceVersion ?? '';
    const cached = certs.get(secretKey);
    if (cached && cached.resourceVersion === rv) return cached.loaded;
    const loaded = loadSecretCertificate(secret);
    certs.set(secretKey, { resourceVersion: rv, loaded });
    return loaded;
  };

  const rebuild = () => {
    rebuildPending = false;
    const o = { className, controller: INGRESS_CONTROLLER, aliases, classes: classMap() };
    const mine = ingresses.list().filter((i) => {
      try {
        return ownsIngress(i, o);
      } catch {
        return false;
      }
    });
    const next = buildRouteTable(mine);
    owned = new Set(mine.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`));
    for (const p of next.problems) {
      const k = `${p.ingress}|${p.message}`;
      if (reportedProblems.has(k)) continue;
      reportedProblems.add(k);
      log(`ingress ${p.ingress}: ${p.message}`);
      const ing = ingresses.get(p.ingress);
      if (ing) recorder.event({ ...ing, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }, 'Warning', 'InvalidPath', p.message);
    }
    const bindings = new Map<string, TLSBinding>();
    for (const b of next.tls) {
      bindings.set(b.host, b);
      const loaded = certFor(b.secret);
      if (loaded.ok) continue;
      const secret = secrets.get(b.secret);
      for (const ingKey of b.ingresses) {
        const k = `${ingKey}|${b.secret}|${secret?.metadata?.resourceVersion ?? ''}|${loaded.error}`;
        if (reported.has(k)) continue;
        reported.add(k);
        const ing = ingresses.get(ingKey);
        if (!ing) continue;
        const msg = `TLS secret ${b.secret} for host ${b.host} cannot be used (${loaded.error}); serving the default certificate for it`;
        log(`ingress ${ingKey}: ${msg}`);
        recorder.event({ ...ing, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }, 'Warning', secret ? 'InvalidTLSSecret' : 'TLSSecretNotFound', msg);
      }
    }
    for (const k of certs.keys()) if (!next.tls.some((b) => b.secret === k)) certs.delete(k);
    table = next;
    referencedSecrets = new Set(next.tls.map((b) => b.secret));
    tlsBindings = bindings;
    backends = new Map();
    if (statusAddress) for (const k of owned) statusQueue.add(k);
    for (const w of syncWaiters.splice(0)) w();
  };

  const scheduleRebuild = () => {
    if (!started || rebuildPending) return;
    rebuildPending = true;
    setImmediate(rebuild);
  };
  const invalidateBackends = () => {
    backends = new Map();
  };
  for (const inf of [ingresses, classes] as Informer<Ingress | IngressClass>[])
    inf.addEventHandler({ onAdd: scheduleRebuild, onUpdate: scheduleRebuild, onDelete: scheduleRebuild });
  // Secrets no TLS host names change nothing
  const secretChanged = (s: Secret) => {
    if (referencedSecrets.has(metaNamespaceKey(s))) scheduleRebuild();
  };
  secrets.addEventHandler({ onAdd: secretChanged, onUpdate: (_old, s) => secretChanged(s), onDelete: secretChanged });
  for (const inf of [services, slices] as Informer<Service | EndpointSlice>[])
    inf.addEventHandler({ onAdd: invalidateBackends, onUpdate: invalidateBackends, onDelete: invalidateBackends });

  const resolveUncached = (ref: ServiceBackendRef): ResolvedBackend => {
    const svcName = `${ref.namespace}/${ref.service}`;
    const svc = services.getByName(ref.namespace, ref.service);
    if (!svc) return { ok: false, message: `Service ${svcName} does not exist.` };
    const ports = svc.spec?.ports ?? [];
    const sp = typeof ref.port === 'number' ? ports.find((p) => p.port === ref.port) : ports.find((p) => p.name === ref.port);
    if (svc.spec?.type === 'ExternalName' && svc.spec.externalName) {
      const port = sp?.port ?? (typeof ref.port === 'number' ? ref.port : 0);
      if (!port) return { ok: false, message: `Service ${svcName} has no port ${ref.port}.` };
      return { ok: true, endpoints: [{ host: svc.spec.externalName, port }], rr: { next: 0 } };
    }
    if (!sp) return { ok: false, message: `Service ${svcName} has no port ${ref.port}.` };
    const portName = sp.name ?? '';
    const endpoints: Endpoint[] = [];
    const seen = new Set<string>();
    for (const slice of slices.byIndex(SLICES_BY_SERVICE, svcName)) {
      const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName)?.port;
      if (!port) continue;
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false || !ep.addresses?.length) continue;
        const host = loopbackName(ep.addresses[0]) ? '127.0.0.1' : ep.addresses[0];
        const k = `${host}|${port}`;
        if (seen.has(k)) continue;
        seen.add(k);
        endpoints.push({ host, port });
      }
    }
    if (!endpoints.length) return { ok: false, message: `Service ${svcName} (port ${ref.port}) has no ready endpoints.` };
    return { ok: true, endpoints, rr: { next: 0 } };
  };

  const up = upstreams();
  let httpsPort: number | undefined;
  const ctx: ProxyContext = {
    table: () => table,
    resolve(ref) {
      // the key built once per ref (refs live as long as their route table), not per request
      let k = backendKeys.get(ref);
      if (k === undefined) backendKeys.set(ref, (k = `${ref.namespace}/${ref.service}:${ref.port}`));
      let r = backends.get(k);
      if (!r) backends.set(k, (r = resolveUncached(ref)));
      return r;
    },
    httpsPort: () => httpsPort,
    log,
  };

  const sniContext = (servername: string): SecureContext => {
    const b = tlsBindingFor(tlsBindings, servername);
    if (!b) return defaultContext;
    const loaded = certFor(b.secret);
    return loaded.ok ? loaded.context : defaultContext;
  };

  const KEEP_ALIVE_MS = 75_000;
  const httpServer: HttpServer = createHttpServer({ keepAliveTimeout: KEEP_ALIVE_MS });
  // plain HTTP is accepted by the fast path, which gives Node's server the connections it does not serve itself
  const front = frontEnd({ ctx, up, listenerPort: () => httpPort ?? 0, keepAliveTimeoutMs: KEEP_ALIVE_MS, handOff: (socket) => httpServer.emit('connection', socket) });
  const httpListener: NetServer = createNetServer({ noDelay: true, allowHalfOpen: true }, (socket) => front.accept(socket));
  const httpsServer: HttpsServer = createHttpsServer({
    keepAliveTimeout: KEEP_ALIVE_MS,
    cert: defaultPair.certPem,
    key: defaultPair.keyPem,
    SNICallback: (servername, cb) => {
      try {
        cb(null, sniContext(servername));
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  const wire = (server: HttpServer | HttpsServer, scheme: 'http' | 'https', port: () => number) => {
    server.on('request', (req, res) => handleRequest(ctx, up, scheme, port(), req, res));
    server.on('checkContinue', (req, res) => handleRequest(ctx, up, scheme, port(), req, res));
    server.on('upgrade', (req, socket, head) => {
      // upgraded connections leave the server's bookkeeping: stop() ends them itself
      upgraded.add(socket);
      socket.on('close', () => upgraded.delete(socket));
      handleUpgrade(ctx, scheme, port(), req, socket, head);
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  };
  const upgraded = new Set<Duplex>();
  let httpPort: number | undefined;
  wire(httpServer, 'http', () => httpPort ?? 0);
  wire(httpsServer, 'https', () => httpsPort ?? 0);

  const listen = (server: NetServer, port: number, what: string, flag: string): Promise<number | undefined> =>
    new Promise((resolve) => {
      const onError = (e: NodeJS.ErrnoException) => {
        server.off('listening', onListening);
        const why = e.code === 'EADDRINUSE' ? 'is in use' : e.code === 'EACCES' ? 'needs privileges' : `cannot be opened (${e.code ?? e.message})`;
        log(`ingress: ${what} port ${address}:${port} ${why}; ${what} ingress is off (${flag} to change it)`);
        resolve(undefined);
      };
      const onListening = () => {
        server.off('error', onError);
        const a = server.address();
        resolve(a && typeof a === 'object' ? a.port : port);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, address);
    });

  httpPort = await listen(httpListener, opts.httpPort ?? 80, 'HTTP', '--ingress-http-port');
  // Node's server never listens itself: this starts its header and request timeouts for the connections handed to it
  if (httpPort !== undefined) httpServer.emit('listening');
  httpsPort = await listen(httpsServer, opts.httpsPort ?? 443, 'HTTPS', '--ingress-https-port');

  const desiredStatus = (): IngressLoadBalancerIngress[] => (isIP(statusAddress) ? [{ ip: statusAddress }] : [{ hostname: statusAddress }]);
  const syncStatus = async (key: string): Promise<void> => {
    if (!owned.has(key)) return;
    const ing = ingresses.get(key);
    if (!ing) return;
    const want = desiredStatus();
    if (JSON.stringify(ing.status?.loadBalancer?.ingress ?? []) === JSON.stringify(want)) return;
    try {
      await client.resource<Ingress>(INGRESSES, ing.metadata?.namespace).updateStatus({ ...ing, status: { ...ing.status, loadBalancer: { ingress: want } } });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  };

  informers.start();
  secrets.start();
  // A list that keeps failing (e.g. a Secret that cannot be decrypted) must not hold the controller (or the
  // cluster's shutdown) forever: after a while serve what the caches have; later events rebuild the routes.
  let syncTimer: NodeJS.Timeout | undefined;
  const synced = await Promise.race([
    Promise.all([informers.waitForSync(), secrets.waitForSync()]).then(() => true),
    new Promise<boolean>((resolve) => (syncTimer = setTimeout(() => resolve(false), opts.syncTimeoutMs ?? 10_000))),
  ]);
  clearTimeout(syncTimer);
  if (!synced) log('ingress: serving before every cache synced (a list keeps failing); routes fill in as they do');
  started = true;
  rebuild();
  const workers = runWorkers(statusQueue, 2, syncStatus, log);
  const listening = [httpPort !== undefined ? `http :${httpPort}` : '', httpsPort !== undefined ? `https :${httpsPort}` : ''].filter(Boolean).join(', ');
  log(`ingress: controller ${INGRESS_CONTROLLER} serving IngressClass ${className}${listening ? ` on ${listening}` : ' (no listener)'}`);

  const closeServer = (s: NetServer, closeConnections: () => void) =>
    new Promise<void>((resolve) => {
      if (!s.listening) {
        closeConnections();
        return resolve();
      }
      s.close(() => resolve());
      closeConnections();
    });

  return {
    httpPort,
    httpsPort,
    synced: () =>
      new Promise<void>((resolve) => {
        // wait for events already delivered to turn into a table
        setImmediate(() => (rebuildPending ? syncWaiters.push(resolve) : resolve()));
      }),
    cachedSecrets() {
      const all = secrets.list();
      return { count: all.length, withData: all.filter((s) => s.data !== undefined).map((s) => metaNamespaceKey(s)) };
    },
    async stop() {
      statusQueue.shutDown();
      for (const s of upgraded) s.destroy();
      await Promise.all([
        closeServer(httpListener, () => {
          front.destroyAll();
          httpServer.closeAllConnections();
          httpServer.close();
        }),
        closeServer(httpsServer, () => httpsServer.closeAllConnections()),
      ]);
      up.agent.destroy();
      up.pool.destroy();
      await workers;
      await Promise.all([informers.stop(), secrets.stop()]);
      syncWaiters.splice(0).forEach((w) => w());
      syncWaiters = [];
    },
  };
}
