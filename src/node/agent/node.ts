// The agent's Node object and its heartbeats: a Lease in kube-node-lease renewed every 10 s, and the
// Node's conditions re-posted as a kubelet does (here every minute, and at once after a restart).
import { execFileSync } from 'node:child_process';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node } from 'kubernetes-types/core/v1.js';
import { microTimeRFC3339 } from '../../api/names.js';
import { isAlreadyExists, isNotFound, type ResourceClient } from '../../client/rest.js';
import { leaseObject, readyConditions } from '../simulated/objects.js';
import { machineCapacity, nodeAddresses, nodeSystemInfo } from './machine.js';

export interface NodeRegistrationOptions {
  nodeName: string;
  hostIP: string;
  podCIDR: string;
  stateDir: string;
  runtimeName: string;
  runtimeBinary?: string;
  labels?: Record<string, string>;
  heartbeatSeconds: number;
  statusSeconds: number;
  log: (line: string) => void;
}

export function runtimeVersion(name: string, binary: string | undefined): string {
  if (!binary) return `${name}://0.0.0`;
  try {
    const out = execFileSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const m = /version\s+(\S+)/.exec(out);
    return `${name}://${m ? m[1] : 'unknown'}`;
  } catch {
    return `${name}://unknown`;
  }
}

export function agentNodeObject(o: NodeRegistrationOptions, now: number): Node {
  const capacity = machineCapacity(o.stateDir);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: o.nodeName,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        ...(o.labels ?? {}),
        'kubernetes.io/hostname': o.nodeName,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR] },
    status: {
      capacity,
      allocatable: { ...capacity },
      conditions: readyConditions(now),
      addresses: nodeAddresses(o.nodeName, o.hostIP),
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: nodeSystemInfo(runtimeVersion(o.runtimeName, o.runtimeBinary)),
    },
  };
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class NodeRegistration {
  node?: Node;
  private timer?: NodeJS.Timeout;
  private rounds = 0;
  private stopped = false;

  constructor(
    private readonly o: NodeRegistrationOptions,
    private readonly nodes: ResourceClient<Node>,
    private readonly leases: ResourceClient<Lease>,
  ) {}

  /** Creates the Node (or takes over one of that name, posting fresh status) and its Lease. */
  async register(): Promise<Node> {
    const now = Date.now();
    const want = agentNodeObject(this.o, now);
    try {
      this.node = await this.nodes.create(want);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const cur = await this.nodes.get(this.o.nodeName);
      const spec = { ...cur.spec, podCIDR: cur.spec?.podCIDR ?? this.o.podCIDR, podCIDRs: cur.spec?.podCIDRs ?? [this.o.podCIDR] };
      const labels = { ...cur.metadata?.labels, ...want.metadata?.labels };
      const updated = await this.nodes.update({ ...cur, metadata: { ...cur.metadata, labels }, spec });
      this.node = await this.nodes.updateStatus({ ...updated, status: { ...want.status, conditions: readyConditions(now, cur.status?.conditions) } });
    }
    const lease = leaseObject(this.o.nodeName, this.node.metadata?.uid, now);
    try {
      await this.leases.create(lease);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      await this.leases.patch(this.o.nodeName, 'merge', { spec: lease.spec });
    }
    this.schedule();
    return this.node;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.beat().finally(() => this.schedule()), this.o.heartbeatSeconds * 1000);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    this.rounds++;
    try {
      await this.leases.patch(this.o.nodeName, 'merge', { spec: { holderIdentity: this.o.nodeName, renewTime: microTimeRFC3339(now) } });
    } catch (e) {
      if (isNotFound(e)) await this.leases.create(leaseObject(this.o.nodeName, this.node?.metadata?.uid, now)).catch(() => {});
      else this.o.log(`node ${this.o.nodeName}: renewing its lease: ${errText(e)}`);
    }
    if ((this.rounds * this.o.heartbeatSeconds) % this.o.statusSeconds >= this.o.heartbeatSeconds) return;
    try {
      this.node = await this.nodes.patch(this.o.nodeName, 'merge', { status: { conditions: readyConditions(now, this.node?.status?.conditions) } }, { subresource: 'status' });
    } catch (e) {
      this.o.log(`node ${this.o.nodeName}: posting its status: ${errText(e)}`);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
