// What a kubelet would write to pods/<name>/status, for controller tests while pods have no node:
// Running (ready or not), Succeeded, Failed, with a pod IP and container states.
import type { ContainerStatus, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { isConflict, type RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';

export type PodPhaseState = 'Running' | 'Succeeded' | 'Failed';

export interface PodStateOptions {
  /** Ready condition while Running (default true) */
  ready?: boolean;
  /** pod IP (default: one assigned per pod from 10.244.0.0/16) */
  ip?: string;
  /** container exit code when finished (default 0 for Succeeded, 1 for Failed) */
  exitCode?: number;
  restartCount?: number;
}

const stamp = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export class FakeKubelet {
  private nextIP = 2;
  private readonly ips = new Map<string, string>();

  constructor(
    private readonly rest: RestClient,
    private readonly now: () => number = Date.now,
  ) {}

  private ipFor(uid: string): string {
    let ip = this.ips.get(uid);
    if (!ip) {
      const n = this.nextIP++;
      ip = `10.244.${Math.floor(n / 250)}.${(n % 250) + 2}`;
      this.ips.set(uid, ip);
    }
    return ip;
  }

  /** Writes the status a kubelet would report for `state`; retries on conflicts. */
  async set(namespace: string, name: string, state: PodPhaseState, opts: PodStateOptions = {}): Promise<Pod> {
    const pods = this.rest.resource<Pod>(RESOURCES.pods, namespace);
    for (let attempt = 0; ; attempt++) {
      const pod = await pods.get(name);
      try {
        return await pods.updateStatus({ ...pod, status: this.statusFor(pod, state, opts) });
      } catch (e) {
        if (!isConflict(e) || attempt > 5) throw e;
      }
    }
  }

  running(namespace: string, name: string, opts: PodStateOptions = {}): Promise<Pod> {
    return this.set(namespace, name, 'Running', opts);
  }
  succeed(namespace: string, name: string, opts: PodStateOptions = {}): Promise<Pod> {
    return this.set(namespace, name, 'Succeeded', opts);
  }
  fail(namespace: string, name: string, opts: PodStateOptions = {}): Promise<Pod> {
    return this.set(namespace, name, 'Failed', opts);
  }

  private statusFor(pod: Pod, state: PodPhaseState, opts: PodStateOptions): Pod['status'] {
    const now = stamp(this.now());
    const old = pod.status ?? {};
    const running = state === 'Running';
    const ready = running && (opts.ready ?? true);
    const cond = (type: string, ok: boolean, reason?: string): PodCondition => {
      const status = ok ? 'True' : 'False';
      const prev = old.conditions?.find((c) => c.type === type);
      return { type, status, lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : now, ...(reason ? { reason } : {}) };
    };
    const startedAt = old.startTime ?? now;
    const exitCode = opts.exitCode ?? (state === 'Failed' ? 1 : 0);
    const containerStatuses: ContainerStatus[] = (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready,
      started: running,
      restartCount: opts.restartCount ?? 0,
      state: running
        ? { running: { startedAt } }
        : { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: now } },
    }));
    const ip = opts.ip ?? this.ipFor(pod.metadata?.uid ?? pod.metadata?.name ?? '');
    return {
      ...old,
      phase: state,
      startTime: startedAt,
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [
        cond('PodScheduled', true),
        cond('Initialized', true),
        cond('ContainersReady', ready, running ? undefined : 'PodCompleted'),
        cond('Ready', ready, running ? undefined : 'PodCompleted'),
      ],
      containerStatuses,
    };
  }
}
