// The node agent (a kubelet with a built-in CRI): registers this machine as a Node, renews its Lease,
// and runs the pods bound to it as real containers through crun or runc. See worker.ts for one pod.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { ConfigMap, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { EventRecorder } from '../../client/events.js';
import { Informer } from '../../client/informer.js';
import { isNotFound, RestClient, type ResourceClient, type ResourceRef } from '../../client/rest.js';
import type { Transport } from '../../client/transport.js';
import { ImageGarbageCollector, ImageStore, type ImageGCOptions } from '../images/index.js';
import { DEFAULT_CONTAINER_LOG_MAX_FILES, DEFAULT_CONTAINER_LOG_MAX_SIZE } from '../runtime/logs.js';
import { detectRuntime, type ContainerState } from '../runtime/index.js';
import { PodSandboxes } from '../sandbox/index.js';
import { NODE_LEASE_NAMESPACE } from '../simulated/objects.js';
import { installPodLogs, type SubresourceHost } from './logs.js';
import { defaultNodeName, machineCapacity, primaryIPv4 } from './machine.js';
import { NodeRegistration } from './node.js';
import { podStreamer } from './streams.js';
import { cleanupOrphanPodDir, containerIDOf, parseContainerID, podLogsDir, PodWorker, type AgentContext } from './worker.js';
import type { VolumeSource } from './volumes.js';

export { installPodLogs, type LogSource, type SubresourceHost } from './logs.js';
export { containerIDOf, parseContainerID, podLogsDir } from './worker.js';

const ref = (resource: string, namespaced: boolean, group = '', version = 'v1'): ResourceRef => ({ group, version, resource, namespaced });
const PODS = ref('pods', true);
const NODES = ref('nodes', false);
const LEASES = ref('leases', true, 'coordination.k8s.io');
const CONFIGMAPS = ref('configmaps', true);
const SECRETS = ref('secrets', true);
const SERVICEACCOUNTS = ref('serviceaccounts', true);
const PVCS = ref('persistentvolumeclaims', true);
const PVS = ref('persistentvolumes', false);
const SERVICES = ref('services', true);

export interface NodeAgentOptions {
  /** default: the hostname, lower case */
  nodeName?: string;
  /** pods, sandboxes, logs, runtime state, IPAM */
  stateDir: string;
  /** the image store (default `<stateDir>/images`; `timonel up` shares `<data-dir>/images` with `timonel image`) */
  imagesDir?: string;
  runtime?: 'crun' | 'runc' | 'auto';
  /** default 10.42.0.0/24 */
  podCIDR?: string;
  /** default timonel0 */
  bridge?: string;
  /** network namespace name prefix (default `timonel-`) */
  netnsPrefix?: string;
  /** cgroup parent of the pods (default `/timonel`) */
  cgroupParent?: string;
  /** set ip_forward and route_localnet (default true) */
  hostSysctls?: boolean;
  /** the cluster DNS Service address pods get as their nameserver (ClusterFirst) */
  clusterDNS?: { ip: string; searches?: string[] };
  clusterDomain?: string;
  /** the cluster CA: with it, pods get the service-account token volume (token, ca.crt, namespace) */
  caPem?: string;
  labels?: Record<string, string>;
  insecureRegistries?: string[];
  /** the API server object in this process: pods/log is served from the agent's log files */
  api?: SubresourceHost;
  /** Lease renewal (default 10 s) and Node status (default 60 s) periods */
  heartbeatSeconds?: number;
  nodeStatusSeconds?: number;
  /** CrashLoopBackOff: first delay and cap (default 10 s, 300 s) */
  crashBackoffBaseMs?: number;
  crashBackoffMaxMs?: number;
  /** ImagePullBackOff: first delay and cap (default 10 s, 300 s) */
  pullBackoffBaseMs?: number;
  pullBackoffMaxMs?: number;
  /** how often configMap, secret, downwardAPI and projected volumes of running pods are refreshed (default 5 s) */
  volumeResyncMs?: number;
  /** container log rotation: bytes (default 10 Mi; negative: never) and files kept, the current one included (default 5, at least 2) */
  containerLogMaxSize?: number;
  containerLogMaxFiles?: number;
  /** image garbage collection thresholds and period (kubelet defaults: 85%, 80%, every 5 min) */
  imageGC?: ImageGCOptions;
  log?: (line: string) => void;
}

export interface NodeAgent {
  readonly nodeName: string;
  readonly hostIP: string;
  readonly podCIDR: string;
  readonly runtimeName: string;
  /** pods the agent currently holds a worker for */
  podCount(): number;
  /**
   * Stops the agent. Containers are stopped and the host state of every pod removed unless
   * `keepContainers` (an agent restart re-adopts them). `deleteNode` removes the Node and its Lease;
   * `removeBridge` deletes the node's bridge.
   */
  stop(opts?: { keepContainers?: boolean; deleteNode?: boolean; removeBridge?: boolean }): Promise<void>;
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function haveIproute2(): boolean {
  try {
    execFileSync('ip', ['-V'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Starts the agent; resolves with it, or with a one-line reason why this machine cannot run pods. */
export async function startNodeAgent(transport: Transport, opts: NodeAgentOptions): Promise<NodeAgent | string> {
  mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  const detected = detectRuntime({ stateDir: join(opts.stateDir, 'runtime'), preferred: opts.runtime === 'auto' ? undefined : opts.runtime });
  if (!detected.ok) return detected.reason;
  if (!haveIproute2()) return 'pod networking needs iproute2 (the ip command): install the Debian package iproute2';
  const agent = new Agent(transport, opts, detected);
  await agent.start();
  return agent;
}

class Agent implements NodeAgent {
  readonly nodeName: string;
  readonly hostIP: string;
  readonly podCIDR: string;
  readonly runtimeName: string;
  private readonly ctx: AgentContext;
  private readonly rest: RestClient;
  private readonly podClient: ResourceClient<Pod>;
  private readonly registration: NodeRegistration;
  private readonly informer: Informer<Pod>;
  private readonly workers = new Map<string, PodWorker>();
  private adopted = new Map<string, Map<string, ContainerState & { attempt: number }>>();
  private uninstallLogs?: () => void;
  private stopped = false;
  private readonly log: (line: string) => void;
  private readonly imageGC: ImageGarbageCollector;

  constructor(
    transport: Transport,
    private readonly opts: NodeAgentOptions,
    detected: Extract<ReturnType<typeof detectRuntime>, { ok: true }>,
  ) {
    this.nodeName = opts.nodeName ?? defaultNodeName();
    this.hostIP = primaryIPv4();
    this.podCIDR = opts.podCIDR ?? '10.42.0.0/24';
    this.runtimeName = detected.name;
    this.log = opts.log ?? (() => {});
    this.rest = new RestClient(transport, { fieldManager: 'timonel-node-agent' });
    this.podClient = this.rest.resource<Pod>(PODS);
    const get = async <T,>(r: ResourceRef, ns: string | undefined, name: string): Promise<T | undefined> => {
      try {
        return await this.rest.resource<T & { metadata?: object }>(r, ns).get(name);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    };
    const source: VolumeSource = {
      configMap: (ns, name) => get<ConfigMap>(CONFIGMAPS, ns, name),
      secret: (ns, name) => get<Secret>(SECRETS, ns, name),
      serviceAccount: (ns, name) => get<ServiceAccount>(SERVICEACCOUNTS, ns, name),
      services: async (ns) => (await this.rest.resource<Service>(SERVICES, ns).list()).items ?? [],
      persistentVolumeClaim: (ns, name) => get<PersistentVolumeClaim>(PVCS, ns, name),
      persistentVolume: (name) => get<PersistentVolume>(PVS, undefined, name),
      serviceAccountToken: async (pod, sa, audiences, expirationSeconds) => {
        const body = {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { ...(audiences ? { audiences } : {}), expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid } },
        };
        const tr = await this.rest.resource(SERVICEACCOUNTS, pod.metadata?.namespace).createSubresource<{ status?: { token?: string } }>(sa, 'token', body);
        if (!tr?.status?.token) throw new Error('the TokenRequest answer holds no token');
        return tr.status.token;
      },
    };
    const stateDir = opts.stateDir;
    this.ctx = {
      nodeName: this.nodeName,
      hostIP: this.hostIP,
      runtime: detected.runtime,
      images: new ImageStore(opts.imagesDir ?? join(stateDir, 'images'), { insecureRegistries: opts.insecureRegistries }),
      sandboxes: new PodSandboxes({ stateDir: join(stateDir, 'network'), podCIDR: this.podCIDR, bridge: opts.bridge, netnsPrefix: opts.netnsPrefix, hostSysctls: opts.hostSysctls }),
      stateDir,
      cgroupParent: opts.cgroupParent ?? '/timonel',
      pods: this.podClient,
      source,
      recorder: new EventRecorder(this.rest, { component: 'kubelet', host: this.nodeName }, this.log),
      allocatable: machineCapacity(stateDir),
      clusterDNS: opts.clusterDNS,
      clusterDomain: opts.clusterDomain ?? 'cluster.local',
      caPem: opts.caPem,
      crashBackoffBaseMs: opts.crashBackoffBaseMs ?? 10_000,
      crashBackoffMaxMs: opts.crashBackoffMaxMs ?? 300_000,
      pullBackoffBaseMs: opts.pullBackoffBaseMs ?? 10_000,
      pullBackoffMaxMs: opts.pullBackoffMaxMs ?? 300_000,
      volumeResyncMs: opts.volumeResyncMs,
      logRotation: (opts.containerLogMaxSize ?? 0) < 0 ? undefined : { maxSize: opts.containerLogMaxSize ?? DEFAULT_CONTAINER_LOG_MAX_SIZE, maxFiles: Math.max(2, opts.containerLogMaxFiles ?? DEFAULT_CONTAINER_LOG_MAX_FILES) },
      log: this.log,
    };
    this.imageGC = new ImageGarbageCollector(this.ctx.images, { ...opts.imageGC, inUse: () => this.imagesInUse(), log: this.log });
    this.registration = new NodeRegistration(
      {
        nodeName: this.nodeName,
        hostIP: this.hostIP,
        podCIDR: this.podCIDR,
        stateDir,
        runtimeName: detected.name,
        runtimeBinary: detected.binary,
        labels: opts.labels,
        heartbeatSeconds: opts.heartbeatSeconds ?? 10,
        statusSeconds: opts.nodeStatusSeconds ?? 60,
        log: this.log,
      },
      this.rest.resource<Node>(NODES),
      this.rest.resource<Lease>(LEASES, NODE_LEASE_NAMESPACE),
    );
    this.informer = new Informer<Pod>(this.podClient, {
      fieldSelector: `spec.nodeName=${this.nodeName}`,
      log: this.log,
      name: `node agent ${this.nodeName} pods`,
      transform: (p) => {
        if (p.metadata) delete p.metadata.managedFields;
      },
    });
    this.informer.addEventHandler({
      onAdd: (p) => this.observe(p),
      onUpdate: (_o, p) => this.observe(p),
      onDelete: (p) => this.workers.get(p.metadata?.uid ?? '')?.markGone(),
    });
  }

  podCount(): number {
    return this.workers.size;
  }

  async start(): Promise<void> {
    await this.findAdoptable();
    await this.registration.register();
    if (this.opts.api) {
      this.uninstallLogs = installPodLogs(this.opts.api, this.nodeName, {
        getPod: (ns, name) => this.podClient.namespace(ns).get(name),
        logsDir: (pod) => podLogsDir(this.ctx.stateDir, pod),
        isRunning: (pod, container, attempt) => {
          const runs = this.workers.get(pod.metadata?.uid ?? '')?.containerRuns(container);
          return !!runs?.current && runs.current.attempt === attempt && runs.current.running;
        },
      });
    }
    if (this.opts.api?.podStreamers) {
      this.opts.api.podStreamers.set(
        this.nodeName,
        podStreamer({
          runtime: this.ctx.runtime,
          lookup: (pod, container) => {
            const w = this.workers.get(pod.metadata?.uid ?? '');
            if (!w) return undefined;
            const runs = w.containerRuns(container);
            return { run: runs.current, known: runs.known, sandbox: w.sandboxInfo() };
          },
        }),
      );
    }
    this.informer.start();
    await this.informer.waitForSync();
    await this.cleanOrphans();
    this.adopted.clear();
    this.imageGC.start();
    this.log(`node agent: node ${this.nodeName} (${this.hostIP}, pods ${this.podCIDR}, runtime ${this.runtimeName}) is registered`);
  }

  /**
   * Containers a previous agent process left are taken over, not started again: those still running
   * (their output is read on into the same log file) and those that ended while no agent ran (with the
   * exit code the runtime's shim recorded). The latest run of each container in the pod dirs counts.
   */
  private async findAdoptable(): Promise<void> {
    const put = (podUID: string, name: string, s: ContainerState & { attempt: number }) => {
      let byName = this.adopted.get(podUID);
      if (!byName) this.adopted.set(podUID, (byName = new Map()));
      const prev = byName.get(name);
      if (!prev || prev.attempt < s.attempt || (prev.status !== 'running' && s.status === 'running')) byName.set(name, s);
    };
    const rt = this.ctx.runtime;
    if (!rt.adopt) {
      for (const c of await rt.list().catch(() => [])) {
        const id = parseContainerID(c.id);
        if (id) put(id.podUID, id.name, { ...c, attempt: id.attempt });
      }
      return;
    }
    const podsDir = join(this.ctx.stateDir, 'pods');
    const logsRoot = join(this.ctx.stateDir, 'logs');
    const logDirs = existsSync(logsRoot) ? readdirSync(logsRoot) : [];
    for (const uid of existsSync(podsDir) ? readdirSync(podsDir) : []) {
      const containersDir = join(podsDir, uid, 'containers');
      if (!existsSync(containersDir)) continue;
      const latest = new Map<string, number>();
      for (const d of readdirSync(containersDir)) {
        const m = /^(.+)_(\d+)$/.exec(d);
        if (m && Number(m[2]) >= (latest.get(m[1]!) ?? 0)) latest.set(m[1]!, Number(m[2]));
      }
      const logsDir = logDirs.find((d) => d.endsWith(`_${uid}`));
      for (const [name, attempt] of latest) {
        const dir = join(containersDir, `${name}_${attempt}`);
        const logPath = logsDir ? join(logsRoot, logsDir, name, `${attempt}.log`) : undefined;
        const s = await rt.adopt(containerIDOf(uid, name, attempt), dir, { pidFile: join(dir, 'pid'), logPath, logRotation: this.ctx.logRotation }).catch((e: unknown) => {
          this.log(`node agent: adopting container ${name} of pod ${uid}: ${errText(e)}`);
          return undefined;
        });
        if (s) put(uid, name, { ...s, attempt });
      }
    }
    // running containers of pods whose dir is gone are removed as orphans
    for (const c of await rt.list().catch(() => [])) {
      const id = parseContainerID(c.id);
      if (id && c.status === 'running' && !this.adopted.get(id.podUID)?.has(id.name)) put(id.podUID, id.name, { ...c, attempt: id.attempt });
    }
  }

  private observe(pod: Pod): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid ?? '';
    const w = this.workers.get(uid);
    if (w) return w.update(pod);
    // a pod this node already finished and cleaned up is not taken up again
    if ((pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') && !pod.metadata?.deletionTimestamp && !existsSync(join(this.ctx.stateDir, 'pods', uid))) return;
    const worker = new PodWorker(this.ctx, pod, this.adopted.get(uid));
    this.workers.set(uid, worker);
    void worker.start().then(() => {
      if (this.workers.get(uid) === worker) this.workers.delete(uid);
    });
  }

  /** The images of the containers of this node's pods (as named in the spec, and as run). */
  private imagesInUse(): string[] {
    const out: string[] = [];
    for (const p of this.informer.list()) {
      for (const c of [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])]) if (c.image) out.push(c.image);
      for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) if (s.imageID) out.push(s.imageID);
    }
    return out;
  }

  /** Containers and pod dirs of pods the API no longer has (deleted while the agent was down). */
  private async cleanOrphans(): Promise<void> {
    const known = new Set(this.informer.list().map((p) => p.metadata?.uid ?? ''));
    for (const [uid, byName] of this.adopted) {
      if (known.has(uid)) continue;
      for (const c of byName.values()) await this.ctx.runtime.delete(c.id, { force: true }).catch((e: unknown) => this.log(`node agent: removing orphan container ${c.id}: ${errText(e)}`));
    }
    const podsDir = join(this.ctx.stateDir, 'pods');
    if (!existsSync(podsDir)) return;
    for (const uid of readdirSync(podsDir)) {
      if (known.has(uid)) continue;
      await cleanupOrphanPodDir(this.ctx, uid).catch((e: unknown) => this.log(`node agent: cleaning up after pod ${uid}: ${errText(e)}`));
    }
  }

  async stop(o: { keepContainers?: boolean; deleteNode?: boolean; removeBridge?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.registration.stop();
    await this.imageGC.stop();
    this.uninstallLogs?.();
    this.opts.api?.podStreamers?.delete(this.nodeName);
    await this.informer.stop();
    await Promise.all([...this.workers.values()].map((w) => w.stop(!o.keepContainers).catch((e: unknown) => this.log(`node agent: stopping pod ${w.uid}: ${errText(e)}`))));
    this.workers.clear();
    if (o.keepContainers) this.ctx.runtime.release?.();
    await this.ctx.recorder.flush();
    if (o.deleteNode) {
      for (const del of [() => this.rest.resource(LEASES, NODE_LEASE_NAMESPACE).delete(this.nodeName), () => this.rest.resource(NODES).delete(this.nodeName)]) {
        try {
          await del();
        } catch (e) {
          if (!isNotFound(e)) this.log(`node agent: deleting node ${this.nodeName}: ${errText(e)}`);
        }
      }
    }
    if (o.removeBridge) await this.ctx.sandboxes.deleteBridge().catch((e: unknown) => this.log(`node agent: deleting bridge: ${errText(e)}`));
  }
}

export interface LocalNodeOptions {
  dataDir: string;
  log: (line: string) => void;
  runtime?: 'crun' | 'runc' | 'auto';
  nodeName?: string;
  podCIDR?: string;
  clusterDNS?: { ip: string; searches?: string[] };
}

/**
 * For `timonel up`: runs the node agent for this machine when it can (root, crun or runc, iproute2),
 * with its state in `<data-dir>/node` and images in `<data-dir>/images`; otherwise logs why not in
 * one line and resolves undefined (the API server runs on without a node).
 */
export async function maybeStartLocalNode(transport: Transport, api: SubresourceHost, o: LocalNodeOptions): Promise<NodeAgent | undefined> {
  const caFile = join(o.dataDir, 'pki', 'ca.crt');
  let caPem: string | undefined;
  try {
    caPem = existsSync(caFile) ? readFileSync(caFile, 'utf8') : undefined;
  } catch {
    caPem = undefined;
  }
  try {
    const r = await startNodeAgent(transport, {
      stateDir: join(o.dataDir, 'node'),
      imagesDir: join(o.dataDir, 'images'),
      runtime: o.runtime ?? 'auto',
      nodeName: o.nodeName,
      podCIDR: o.podCIDR,
      clusterDNS: o.clusterDNS,
      caPem,
      api,
      log: o.log,
    });
    if (typeof r === 'string') {
      o.log(`no node on this machine: ${r}`);
      return undefined;
    }
    return r;
  } catch (e) {
    o.log(`no node on this machine: the node agent failed to start: ${errText(e)}`);
    return undefined;
  }
}
