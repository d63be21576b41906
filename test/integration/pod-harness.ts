// A test cluster (no controllers) with this machine as a real node: the node agent with crun on a
// test-only bridge and CIDR, the busybox test image imported into its image store. Pods are created
// with spec.nodeName set. Options: the image served by a local registry instead (pods pull it), a
// TLS listener of its own for exec/attach/port-forward upgrades, other cluster options.
// Used by the pod-*, exec* and real-pods tests; needs root, crun and the image tools.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { listen, type RunningApiServer } from '../../src/apiserver/server.js';
import { installStreaming } from '../../src/apiserver/streaming/index.js';
import type { ClusterOptions } from '../../src/cli/cluster.js';
import { ensurePKI } from '../../src/cli/pki.js';
import { RestClient, type ResourceClient } from '../../src/client/rest.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { startNodeAgent, type NodeAgent, type NodeAgentOptions } from '../../src/node/agent/index.js';
import { ImageStore } from '../../src/node/images/index.js';
import { detectRuntime, removeCgroup } from '../../src/node/runtime/index.js';
import { PodSandboxes } from '../../src/node/sandbox/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { buildTestImage, imageTestsMissing, skopeoCopy, startRegistry, type LocalRegistry } from '../helpers/registry.js';
import { eventually } from './support.js';

/** Why real pods cannot run here ('' when they can). */
export function realPodsMissing(): string {
  if (process.getuid?.() !== 0) return 'not root (real containers need root)';
  const d = detectRuntime({ stateDir: tmpdir(), preferred: 'crun' });
  if (!d.ok) return `crun: ${d.reason}`;
  return imageTestsMissing() ?? (kubectlPath('1.33') ? '' : 'kubectl 1.33 (scripts/setup.sh installs it)');
}

export const TEST_IMAGE = 'test/busybox:base';

export interface LocalNodeHarnessOptions {
  /** the test image in a local registry, pulled by the agent, instead of imported into its store */
  registry?: boolean;
  /** over the defaults: memory storage, no controllers, plain HTTP */
  cluster?: Partial<ClusterOptions>;
  /** groups of the node's identity (default system:masters) */
  groups?: string[];
  /** a TLS listener of its own that hands upgrades to the API server: `kubeconfig` points at it */
  streaming?: boolean;
}

export class LocalNodeHarness {
  readonly tag = (process.pid % 100_000).toString(36);
  readonly bridge: string;
  readonly cidr: string;
  readonly netnsPrefix: string;
  readonly cgroupParent: string;
  readonly nodeName: string;
  work = '';
  stateDir = '';
  cluster?: TestCluster;
  transport?: Transport;
  agent?: NodeAgent;
  pods!: ResourceClient<Pod>;
  readonly uids: string[] = [];
  /** what pods run: TEST_IMAGE, or its reference in the registry */
  image = TEST_IMAGE;
  registry?: LocalRegistry;
  streaming?: RunningApiServer;
  kubeconfig = '';
  /** `<user agent> <subresource> <upgrade> <first protocol offered>` of each upgrade request to `streaming` */
  readonly upgrades: string[] = [];

  constructor(
    private readonly short: string,
    private readonly octet: number,
    private readonly extra: Partial<NodeAgentOptions> = {},
    private readonly opts: LocalNodeHarnessOptions = {},
  ) {
    this.bridge = `tm${short}${this.tag}`.slice(0, 15);
    this.cidr = `10.${octet}.${process.pid % 250}.0/24`;
    this.netnsPrefix = `tm${short}-${this.tag}-`;
    this.cgroupParent = `/timonel-test-${short}-${process.pid}`;
    this.nodeName = `tmt-${short}-${process.pid}`;
  }

  async start(): Promise<void> {
    this.work = mkdtempSync(join(tmpdir(), `timonel-${this.short}-`));
    this.stateDir = join(this.work, 'node');
    const built = await buildTestImage(join(this.work, 'build'));
    if (this.opts.registry) {
      this.registry = await startRegistry();
      this.image = `${this.registry.host}/test/busybox:1`;
      await skopeoCopy(`oci:${built.layout}:base`, `docker://${this.image}`);
    } else {
      await new ImageStore(join(this.stateDir, 'images')).importOCI(built.layout, { name: 'test/busybox' });
    }
    this.cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false, ...this.opts.cluster });
    if (this.opts.streaming) await this.listenForStreams(this.cluster);
    this.transport = inProcessTransport(inProcessAcceptor(this.cluster.api.handle), { username: 'system:node:test', groups: this.opts.groups ?? ['system:masters'] });
    this.pods = new RestClient(this.transport).resource<Pod>({ group: '', version: 'v1', resource: 'pods', namespaced: true }, 'default');
    this.agent = await this.startAgent();
  }

  private async listenForStreams(cluster: TestCluster): Promise<void> {
    installStreaming(cluster.api);
    // a listener of our own that hands upgrades to the API server (the cluster's may not yet)
    const pki = await ensurePKI(join(cluster.dataDir, 'pki'), ['127.0.0.1']);
    const streaming = await listen(cluster.api, { port: 0, bind: '127.0.0.1', tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem, caPem: pki.ca.certPem } });
    this.streaming = streaming;
    if (streaming.server.listenerCount('upgrade') === 0) streaming.server.on('upgrade', cluster.api.handleUpgrade);
    streaming.server.prependListener('upgrade', (req: IncomingMessage) => {
      const sub = /\/pods\/[^/]+\/(exec|attach|portforward)/.exec(req.url ?? '')?.[1] ?? '';
      const ua = String(req.headers['user-agent'] ?? '').replace(/\/.*/, '');
      this.upgrades.push(`${ua} ${sub} ${String(req.headers.upgrade).toLowerCase()} ${String(req.headers['sec-websocket-protocol'] ?? req.headers['x-stream-protocol-version'] ?? '').split(',')[0]}`);
    });
    this.kubeconfig = join(this.work, 'kubeconfig.yaml');
    writeFileSync(this.kubeconfig, readFileSync(cluster.kubeconfigPath, 'utf8').replace(`127.0.0.1:${cluster.port}`, `127.0.0.1:${streaming.port}`));
  }

  async startAgent(): Promise<NodeAgent> {
    const r = await startNodeAgent(this.transport!, {
      nodeName: this.nodeName,
      stateDir: this.stateDir,
      runtime: 'crun',
      podCIDR: this.cidr,
      bridge: this.bridge,
      netnsPrefix: this.netnsPrefix,
      cgroupParent: this.cgroupParent,
      hostSysctls: false,
      api: this.cluster!.api,
      crashBackoffBaseMs: 1000,
      volumeResyncMs: 500,
      log: (l) => this.cluster!.logs.push(l),
      ...this.extra,
    });
    assert.notEqual(typeof r, 'string', String(r));
    return r as NodeAgent;
  }

  async close(): Promise<void> {
    await this.agent?.stop({ deleteNode: true, removeBridge: true }).catch(() => {});
    this.transport?.close();
    await this.streaming?.close().catch(() => {});
    await this.cluster?.close().catch(() => {});
    await this.registry?.stop().catch(() => {});
    const sandboxes = new PodSandboxes({ stateDir: join(this.stateDir, 'network'), podCIDR: this.cidr, bridge: this.bridge, netnsPrefix: this.netnsPrefix, hostSysctls: false });
    for (const uid of this.uids) await sandboxes.destroySandbox(uid).catch(() => {});
    await sandboxes.deleteBridge().catch(() => {});
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4];
      if (mp && this.work && mp.startsWith(this.work))
        try {
          execFileSync('umount', ['-l', mp]);
        } catch {
          // gone
        }
    }
    removeCgroup(this.cgroupParent);
    if (this.work) rmSync(this.work, { recursive: true, force: true });
  }

  async create(p: Pod): Promise<Pod> {
    const made = await this.pods.create({ apiVersion: 'v1', kind: 'Pod', ...p, spec: { nodeName: this.nodeName, terminationGracePeriodSeconds: 1, ...p.spec! } });
    this.uids.push(made.metadata!.uid!);
    return made;
  }

  async until(name: string, what: string, cond: (p: Pod) => boolean, ms = 20_000): Promise<Pod> {
    let last: Pod | undefined;
    await eventually(`${name}: ${what}`, async () => {
      last = await this.pods.get(name);
      const uid = last.metadata?.uid;
      if (uid && !this.uids.includes(uid)) this.uids.push(uid);
      return cond(last);
    }, ms).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; status: ${JSON.stringify(last?.status)}\n${this.cluster!.logs.slice(-20).join('\n')}`);
    });
    return last!;
  }

  async deleteAndWait(name: string): Promise<void> {
    await this.pods.delete(name);
    await eventually(`${name} deleted`, async () => (await this.pods.list()).items.every((p) => p.metadata?.name !== name), 20_000);
  }

  async logs(args: string[]): Promise<string> {
    return (await this.cluster!.kubectlOk(['logs', ...args])).stdout;
  }

  async eventReasons(pod: string): Promise<string[]> {
    const out = (await this.cluster!.kubectlOk(['get', 'events', '--field-selector', `involvedObject.name=${pod}`, '-o', 'jsonpath={range .items[*]}{.reason}:{.message}{"\\n"}{end}'])).stdout;
    return out.split('\n').filter(Boolean);
  }
}

/** kubectl run to its end with `stdin`; on a hang it is made to dump its goroutines (SIGQUIT) into the failure */
export function kubectlOrDump(kubeconfig: string, args: string[], version = '1.33', stdin?: string, timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath(version)!, [`--kubeconfig=${kubeconfig}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(stdin ?? '');
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGQUIT');
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (hung) reject(new Error(`kubectl ${version} ${args.join(' ')} hung\n${stdout}\n${stderr.split('\n').filter((l) => /remotecommand|spdystream|portforward|goroutine|\.go:/.test(l)).join('\n')}`));
      else resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}
