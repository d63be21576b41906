// One worker per pod bound to this node: sandbox → volumes → images → init containers in order →
// app containers, restarts with back-off, probes, status through pods/status, and on deletion a
// graceful stop, host cleanup and the final DELETE (gracePeriodSeconds=0, uid precondition).
// Level-triggered: sync() looks at the pod and what runs, and does the next thing; one sync at a
// time per pod, kicked by informer events, container exits, probe changes and back-off timers.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, ContainerState as K8sContainerState, ContainerStatus, Pod, PodCondition, PodStatus, Probe } from 'kubernetes-types/core/v1.js';
import { nowRFC3339 } from '../../api/names.js';
import type { EventRecorder } from '../../client/events.js';
import { isConflict, isNotFound, type ResourceClient } from '../../client/rest.js';
import { alreadyPresentMessage, backOffMessage, DockerKeyring, failedToPullMessage, ImageError, pulledMessage, pullingMessage, type ImageStore, type PullPolicy } from '../images/index.js';
import {
  buildOCISpec,
  cleanupRootfs,
  containerCgroupPath,
  podCgroupPath,
  prepareRootfs,
  removeCgroup,
  stopContainer,
  type ContainerState,
  type OCIRuntime,
} from '../runtime/index.js';
import type { LogRotation } from '../runtime/logs.js';
import type { PodSandbox, PodSandboxes, SandboxOptions } from '../sandbox/index.js';
import { ContainerConfigError, resolveEnv } from './env.js';
import { runHandler, type Handler } from './probes.js';
import {
  containerMounts,
  implicitTokenVolume,
  projectedVolumeFiles,
  setUpVolume,
  tearDownVolumes,
  VolumeError,
  wantsImplicitToken,
  writeAtomically,
  type MountedVolume,
  type VolumeContext,
  type VolumeSource,
} from './volumes.js';

export interface AgentContext {
  nodeName: string;
  /** containerLogMaxSize / containerLogMaxFiles */
  logRotation?: LogRotation;
  hostIP: string;
  runtime: OCIRuntime;
  images: ImageStore;
  sandboxes: PodSandboxes;
  stateDir: string;
  cgroupParent: string;
  pods: ResourceClient<Pod>;
  source: VolumeSource;
  recorder: EventRecorder;
  allocatable: Record<string, string>;
  clusterDNS?: { ip: string; searches?: string[] };
  clusterDomain: string;
  caPem?: string;
  crashBackoffBaseMs: number;
  crashBackoffMaxMs: number;
  pullBackoffBaseMs: number;
  pullBackoffMaxMs: number;
  /** how often configMap, secret, downwardAPI and projected volumes are brought up to date (default 5 s) */
  volumeResyncMs?: number;
  log: (line: string) => void;
}

/** One run of a container (restarts are new runs). */
export interface ContainerRun {
  id: string;
  attempt: number;
  /** the bundle: config.json, rootfs (overlay), upper, work, pid */
  dir: string;
  logPath: string;
  running: boolean;
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: string;
  message?: string;
  /** found running when the agent started */
  adopted?: boolean;
  /** exited, and the runtime's record and the rootfs are gone */
  cleaned?: boolean;
}

interface Backoff {
  delayMs: number;
  until: number;
}

interface Track {
  name: string;
  init: boolean;
  spec: Container;
  current?: ContainerRun;
  previous?: ContainerRun;
  restartCount: number;
  nextAttempt: number;
  waiting?: { reason: string; message?: string };
  crash: Backoff;
  pull: Backoff & { failures: number };
  configErr: Backoff;
  imageID?: string;
  ready: boolean;
  started: boolean;
  probeTimers: NodeJS.Timeout[];
  /** why the agent is killing this run (liveness/startup failure), for its terminated message */
  killing?: string;
}

const RESET_BACKOFF_AFTER_MS = 10 * 60_000;
const RETRY_MS = 2000;
const POST_START_TIMEOUT_MS = 120_000;

export const containerIDOf = (podUID: string, name: string, attempt: number) => `${podUID}_${name}_${attempt}`;
/** The pod UID, container name and attempt of a container ID made by containerIDOf. */
export function parseContainerID(id: string): { podUID: string; name: string; attempt: number } | undefined {
  const m = /^([0-9a-f-]{8,})_([a-z0-9]([-a-z0-9]*[a-z0-9])?)_(\d+)$/.exec(id);
  return m ? { podUID: m[1]!, name: m[2]!, attempt: Number(m[4]) } : undefined;
}

export function podLogsDir(stateDir: string, pod: Pod): string {
  const m = pod.metadata ?? {};
  return join(stateDir, 'logs', `${m.namespace}_${m.name}_${m.uid}`);
}

/** What of a pod, when it changes, makes the worker sync: deletion, spec, labels, annotations, readiness gates. */
function syncSignature(pod: Pod): string {
  const gates = new Set((pod.spec?.readinessGates ?? []).map((g) => g.conditionType));
  const m = pod.metadata ?? {};
  return JSON.stringify([
    m.deletionTimestamp,
    m.deletionGracePeriodSeconds,
    m.labels,
    m.annotations,
    pod.spec,
    (pod.status?.conditions ?? []).filter((c) => gates.has(c.type)).map((c) => c.status),
  ]);
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PodWorker {
  pod: Pod;
  readonly uid: string;
  /** the pod left the informer (deleted without us, or force-deleted) */
  gone = false;
  /** the worker has finished: host state cleaned and (when it was ours to) the pod deleted */
  done = false;
  private sandbox?: PodSandbox;
  private readonly volumes = new Map<string, MountedVolume>();
  private volumesReady = false;
  private volumeTimer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private readonly tokens = new Map<string, { token: string; until: number }>();
  private implicitToken = false;
  private readonly tracks: Track[] = [];
  private syncing = false;
  private again = false;
  private wake?: NodeJS.Timeout;
  private wakeAt = 0;
  private lastPosted?: string;
  private statusWrite?: Promise<void>;
  /** container dirs whose rootfs prepareFirstRootfs mounted, and of which image */
  private readonly preparedRootfs = new Map<string, string>();
  private finalPhase?: 'Succeeded' | 'Failed';
  private tornDown = false;
  private terminating = false;
  private stopped = false;
  private sandboxError?: string;
  private readonly startTime: string;
  private onDone?: () => void;

  constructor(
    private readonly ctx: AgentContext,
    pod: Pod,
    adopted: ReadonlyMap<string, ContainerState & { attempt: number }> = new Map(),
  ) {
    this.pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.startTime = pod.status?.startTime ?? nowRFC3339();
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      this.finalPhase = phase;
      this.lastPosted = 'terminal';
    }
    const statuses = new Map([...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((s) => [s.name, s]));
    const add = (c: Container, init: boolean) => {
      const st = statuses.get(c.name);
      const restartCount = st?.restartCount ?? 0;
      const t: Track = {
        name: c.name,
        init,
        spec: c,
        restartCount,
        nextAttempt: restartCount + (st?.containerID ? 1 : 0),
        crash: { delayMs: 0, until: 0 },
        pull: { delayMs: 0, until: 0, failures: 0 },
        configErr: { delayMs: 0, until: 0 },
        imageID: st?.imageID || undefined,
        ready: false,
        started: false,
        probeTimers: [],
      };
      const a = adopted.get(c.name);
      const last = st?.lastState?.terminated;
      if (a && last?.containerID && last.containerID !== st?.containerID) {
        const id = last.containerID.replace(/^[a-z]+:\/\//, '');
        const attempt = parseContainerID(id)?.attempt ?? 0;
        t.previous = { id, attempt, dir: this.containerDir(c.name, attempt), logPath: this.logPath(c.name, attempt), running: false, startedAt: last.startedAt ?? this.startTime, finishedAt: last.finishedAt, exitCode: last.exitCode, reason: last.reason, message: last.message, cleaned: true };
      }
      if (a && a.status === 'running') {
        t.current = {
          id: a.id,
          attempt: a.attempt,
          dir: a.bundle ?? this.containerDir(c.name, a.attempt),
          logPath: this.logPath(c.name, a.attempt),
          running: true,
          startedAt: st?.state?.running?.startedAt ?? a.startedAt?.toISOString() ?? nowRFC3339(),
          // a runtime that cannot adopt cannot wait for it either: it is polled
          adopted: !ctx.runtime.adopt,
        };
        t.restartCount = a.attempt;
        t.nextAttempt = a.attempt + 1;
        // the readiness it had stands until a probe says otherwise (KEP-4781): an agent restart does not flip it
        if (st?.ready && st.containerID?.endsWith(`://${a.id}`)) t.ready = true;
      } else if (a && a.status === 'stopped' && a.exitCode !== undefined) {
        // it ended while no agent ran
        const sameRun = st?.containerID?.endsWith(a.id) ? st : undefined;
        t.current = {
          id: a.id,
          attempt: a.attempt,
          dir: a.bundle ?? this.containerDir(c.name, a.attempt),
          logPath: this.logPath(c.name, a.attempt),
          running: false,
          startedAt: sameRun?.state?.running?.startedAt ?? sameRun?.state?.terminated?.startedAt ?? a.startedAt?.toISOString() ?? this.startTime,
          finishedAt: (a.finishedAt ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
          exitCode: a.exitCode,
          reason: a.reason ?? (a.exitCode === 0 ? 'Completed' : 'Error'),
        };
        t.restartCount = a.attempt;
        t.nextAttempt = a.attempt + 1;
      } else if (init && st?.state?.terminated?.exitCode === 0) {
        // an init container that completed before the agent restarted is not run again
        t.current = {
          id: (st.containerID ?? '').replace(/^[a-z]+:\/\//, ''),
          attempt: restartCount,
          dir: this.containerDir(c.name, restartCount),
          logPath: this.logPath(c.name, restartCount),
          running: false,
          startedAt: st.state.terminated.startedAt ?? this.startTime,
          finishedAt: st.state.terminated.finishedAt,
          exitCode: 0,
          reason: 'Completed',
          cleaned: true,
        };
      }
      this.tracks.push(t);
    };
    for (const c of pod.spec?.initContainers ?? []) add(c, true);
    for (const c of pod.spec?.containers ?? []) add(c, false);
  }

  get podDir(): string {
    return join(this.ctx.stateDir, 'pods', this.uid);
  }
  private containerDir(name: string, attempt: number): string {
    return join(this.podDir, 'containers', `${name}_${attempt}`);
  }
  private logPath(name: string, attempt: number): string {
    return join(podLogsDir(this.ctx.stateDir, this.pod), name, `${attempt}.log`);
  }
  private get key(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** The runs of a container that have log files: current (or last) and previous. */
  containerRuns(name: string): { current?: ContainerRun; previous?: ContainerRun; known: boolean } {
    const t = this.tracks.find((x) => x.name === name);
    if (!t) return { known: false };
    return { current: t.current, previous: t.previous, known: true };
  }

  /** The pod's network namespace and IP (exec, attach and port-forward). */
  sandboxInfo(): { netnsPath?: string; ip?: string; hostNetwork: boolean } | undefined {
    return this.sandbox && { netnsPath: this.sandbox.netnsPath, ip: this.sandbox.ip, hostNetwork: this.sandbox.hostNetwork };
  }

  /** Runs the worker; resolves when it is done (pod gone and cleaned). */
  start(): Promise<void> {
    for (const t of this.tracks) {
      const run = t.current;
      if (!run) continue;
      if (run.running && run.adopted) this.watchAdopted(t, run);
      else if (run.running) {
        void this.ctx.runtime.wait(run.id).then(
          (s) => this.onExit(t, run, s),
          (e: unknown) => this.onExit(t, run, { id: run.id, status: 'stopped', pid: 0, exitCode: 255, reason: 'Error' }, errText(e)),
        );
        this.startProbes(t, run);
        t.started = true;
      } else if (!run.cleaned) void this.cleanRun(run).finally(() => this.kick());
    }
    const done = new Promise<void>((resolve) => (this.onDone = resolve));
    this.kick();
    return done;
  }

  update(pod: Pod): void {
    if (pod.metadata?.uid !== this.uid) return;
    const before = syncSignature(this.pod);
    const meta = (p: Pod) => JSON.stringify([p.metadata?.labels, p.metadata?.annotations]);
    const metaChanged = meta(this.pod) !== meta(pod);
    this.pod = pod;
    if (metaChanged && this.volumesReady) void this.refreshVolumes();
    // as the kubelet, a change of status alone (most often our own write coming back) needs no sync
    if (syncSignature(pod) !== before) this.kick();
  }

  markGone(): void {
    this.gone = true;
    this.kick();
  }

  kick(): void {
    if (this.stopped || this.done) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    void (async () => {
      do {
        this.again = false;
        try {
          await this.sync();
        } catch (e) {
          this.ctx.log(`node agent: pod ${this.key}: ${errText(e)}`);
          this.wakeIn(RETRY_MS);
        }
      } while (this.again && !this.stopped && !this.done);
      this.syncing = false;
    })();
  }

  private wakeIn(ms: number): void {
    const at = Date.now() + Math.max(0, ms);
    if (this.wake && this.wakeAt <= at && this.wakeAt > Date.now()) return;
    if (this.wake) clearTimeout(this.wake);
    this.wakeAt = at;
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.kick();
    }, Math.max(0, ms) + 5);
    this.wake.unref();
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.ctx.recorder.event({ apiVersion: 'v1', kind: 'Pod', metadata: this.pod.metadata }, type, reason, message);
  }

  // ---- the sync loop ----

  private async sync(): Promise<void> {
    if (this.gone || this.pod.metadata?.deletionTimestamp) return this.terminate();
    if (this.finalPhase) {
      if (!this.tornDown) {
        await this.postStatus();
        await this.tearDown(0, false);
      }
      return;
    }
    if (!this.sandbox || !this.volumesReady) {
      // side by side: volumes do not need the pod's network (a downwardAPI volume cannot name its IP)
      const [sandbox, volumes] = await Promise.allSettled([
        this.sandbox ?? this.ctx.sandboxes.createSandbox(this.uid, this.sandboxOptions()),
        this.volumesReady ? undefined : this.setUpVolumes(),
        this.sandbox ? undefined : this.prepareFirstRootfs(),
      ]);
      if (sandbox.status === 'fulfilled') {
        this.sandbox = sandbox.value;
        this.sandboxError = undefined;
      }
      if (volumes.status === 'fulfilled' && !this.volumesReady) {
        this.volumesReady = true;
        this.scheduleVolumeRefresh();
      }
      if (sandbox.status === 'rejected') {
        this.sandboxError = errText(sandbox.reason);
        this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${this.sandboxError}`);
        await this.postStatus();
        this.wakeIn(5000);
        return;
      }
      if (volumes.status === 'rejected') {
        const e: unknown = volumes.reason;
        if (!(e instanceof VolumeError)) throw e;
        this.event('Warning', 'FailedMount', e.message);
        await this.postStatus();
        this.wakeIn(5000);
        return;
      }
    }
    // the sandbox's status (IP, ContainerCreating) is written while the containers start, as the kubelet's status manager does
    this.postStatusInBackground();
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    let initsDone = true;
    for (const t of this.tracks.filter((x) => x.init)) {
      const r = t.current;
      if (r?.running) {
        initsDone = false;
        break;
      }
      if (r && r.exitCode === 0) continue;
      initsDone = false;
      if (r && policy === 'Never') {
        this.finalPhase = 'Failed';
        break;
      }
      await this.ensureStarted(t, r !== undefined);
      break;
    }
    if (initsDone && !this.finalPhase) {
      for (const t of this.tracks.filter((x) => !x.init)) {
        const r = t.current;
        if (r?.running) continue;
        if (!r) await this.ensureStarted(t, false);
        else if (policy === 'Always' || (policy === 'OnFailure' && r.exitCode !== 0)) await this.ensureStarted(t, true);
        else t.waiting = undefined;
      }
    }
    if (!this.finalPhase) {
      const phase = this.phase();
      if (phase === 'Succeeded' || phase === 'Failed') this.finalPhase = phase;
    }
    await this.postStatus();
    if (this.finalPhase) this.kick();
  }

  /**
   * Mounts the root filesystems of the containers that start first, while the pod's network is set
   * up, when their image is already here; createAndStart finds them mounted. Failures are left to it.
   */
  private async prepareFirstRootfs(): Promise<void> {
    const inits = this.tracks.filter((t) => t.init && !t.current);
    const first = inits.length ? inits.slice(0, 1) : this.tracks.filter((t) => !t.init && !t.current);
    await Promise.all(
      first.map(async (t) => {
        if (t.spec.imagePullPolicy === 'Always') return;
        const image = this.ctx.images.resolve(t.spec.image ?? '');
        if (!image) return;
        const dir = this.containerDir(t.name, t.nextAttempt);
        try {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          this.preparedRootfs.set(dir, image.id);
          await prepareRootfs(this.ctx.images.layers(image.id), dir);
        } catch {
          // createAndStart tries again and reports
        }
      }),
    );
  }

  private sandboxOptions(): SandboxOptions {
    const spec = this.pod.spec ?? { containers: [] };
    const ns = this.pod.metadata?.namespace ?? 'default';
    const domain = this.ctx.clusterDomain;
    const policy = spec.dnsPolicy ?? 'ClusterFirst';
    let dnsServers: string[] | undefined;
    let searches: string[] | undefined;
    const clusterFirst = policy === 'ClusterFirst' ? !spec.hostNetwork : policy === 'ClusterFirstWithHostNet';
    if (clusterFirst && this.ctx.clusterDNS) {
      dnsServers = [this.ctx.clusterDNS.ip];
      searches = [`${ns}.svc.${domain}`, `svc.${domain}`, domain, ...(this.ctx.clusterDNS.searches ?? [])];
    }
    if (policy === 'None') {
      dnsServers = [];
      searches = [];
    }
    const cfg = spec.dnsConfig;
    if (cfg?.nameservers?.length) dnsServers = [...(dnsServers ?? []), ...cfg.nameservers];
    if (cfg?.searches?.length) searches = [...(searches ?? []), ...cfg.searches];
    const dnsOptions = cfg?.options?.map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : (o.name ?? ''))).filter(Boolean);
    return {
      name: this.pod.metadata?.name ?? '',
      namespace: ns,
      hostname: spec.hostNetwork ? undefined : (spec.hostname ?? this.pod.metadata?.name),
      subdomain: spec.subdomain,
      clusterDomain: domain,
      hostNetwork: spec.hostNetwork,
      dnsServers,
      searches,
      dnsOptions: dnsOptions?.length ? (dnsServers?.length ? ['ndots:5', ...dnsOptions] : dnsOptions) : undefined,
      hostAliases: spec.hostAliases,
    };
  }

  private async setUpVolumes(): Promise<void> {
    const volumes = [...(this.pod.spec?.volumes ?? [])];
    const ns = this.pod.metadata?.namespace ?? 'default';
    const sa = await this.ctx.source.serviceAccount(ns, this.pod.spec?.serviceAccountName || 'default').catch(() => undefined);
    this.implicitToken = wantsImplicitToken(this.pod, sa) && this.ctx.caPem !== undefined;
    if (this.implicitToken) volumes.push(implicitTokenVolume());
    for (const v of volumes) {
      try {
        this.volumes.set(v.name, await setUpVolume(this.volumeContext(), v));
      } catch (e) {
        throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${errText(e)}`);
      }
    }
  }

  private volumeContext(): VolumeContext {
    return { pod: this.pod, podDir: this.podDir, source: this.ctx.source, caPem: this.ctx.caPem, podIP: this.sandbox?.ip, hostIP: this.ctx.hostIP, allocatable: this.ctx.allocatable, tokens: this.tokens };
  }

  private scheduleVolumeRefresh(): void {
    if (this.volumeTimer || this.stopped || this.terminating) return;
    const spec = [...(this.pod.spec?.volumes ?? [])];
    if (!this.implicitToken && !spec.some((v) => v.configMap || v.secret || v.downwardAPI || v.projected)) return;
    this.volumeTimer = setTimeout(() => {
      this.volumeTimer = undefined;
      void this.refreshVolumes().finally(() => this.scheduleVolumeRefresh());
    }, this.ctx.volumeResyncMs ?? 5000);
    this.volumeTimer.unref();
  }

  /**
   * Brings configMap, secret, downwardAPI and projected volumes up to date with the API (as the
   * kubelet's periodic volume sync does); a source that cannot be read keeps the files it had.
   * subPath mounts bound the old files and do not change, as upstream.
   */
  refreshVolumes(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      const volumes = [...(this.pod.spec?.volumes ?? [])];
      if (this.implicitToken) volumes.push(implicitTokenVolume());
      for (const v of volumes) {
        if (this.stopped || this.terminating || this.tornDown) return;
        if (!this.volumes.has(v.name)) continue;
        try {
          const p = await projectedVolumeFiles(this.volumeContext(), v);
          if (p && writeAtomically(p.dir, p.files, p.defaultMode)) this.ctx.log(`node agent: pod ${this.key}: volume ${v.name} updated`);
        } catch (e) {
          this.ctx.log(`node agent: pod ${this.key}: refreshing volume ${v.name}: ${errText(e)}`);
        }
      }
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Starts the container's next run unless a back-off holds it. */
  private async ensureStarted(t: Track, isRestart: boolean): Promise<void> {
    const now = Date.now();
    const podDesc = `${this.pod.metadata?.name}_${this.pod.metadata?.namespace}(${this.uid})`;
    if (isRestart && now < t.crash.until) {
      const wasWaiting = t.waiting?.reason === 'CrashLoopBackOff';
      t.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(t.crash.delayMs / 1000)}s restarting failed container=${t.name} pod=${podDesc}` };
      if (!wasWaiting) this.event('Warning', 'BackOff', `Back-off restarting failed container ${t.name} in pod ${podDesc}`);
      this.wakeIn(t.crash.until - now);
      return;
    }
    if (now < t.pull.until) {
      if (t.waiting?.reason !== 'ImagePullBackOff') {
        t.waiting = { reason: 'ImagePullBackOff', message: backOffMessage(t.spec.image ?? '') };
        this.event('Normal', 'BackOff', backOffMessage(t.spec.image ?? ''));
        await this.postStatus();
      }
      this.wakeIn(t.pull.until - now);
      return;
    }
    if (now < t.configErr.until) {
      this.wakeIn(t.configErr.until - now);
      return;
    }
    if (!t.waiting || t.waiting.reason === 'CrashLoopBackOff') t.waiting = { reason: t.init || !this.tracks.some((x) => x.init) ? 'ContainerCreating' : 'PodInitializing' };
    const image = t.spec.image ?? '';
    let imageID: string;
    let imageRef: string;
    try {
      ({ imageID, imageRef } = await this.pullImage(t, image));
    } catch (e) {
      const reason = e instanceof ImageError ? e.reason : 'ErrImagePull';
      const msg = errText(e);
      t.pull.failures++;
      t.pull.delayMs = Math.min(this.ctx.pullBackoffMaxMs, this.ctx.pullBackoffBaseMs * 2 ** (t.pull.failures - 1));
      t.pull.until = Date.now() + t.pull.delayMs;
      t.waiting = { reason, message: msg };
      this.event('Warning', 'Failed', reason === 'ErrImageNeverPull' ? msg : failedToPullMessage(image, msg));
      this.event('Warning', 'Failed', `Error: ${reason}`);
      // ErrImagePull shows until the next sync, which finds the back-off (ImagePullBackOff)
      this.wakeIn(Math.min(2000, t.pull.delayMs / 2));
      return;
    }
    t.pull = { delayMs: 0, until: 0, failures: 0 };
    t.imageID = imageRef;
    const attempt = t.nextAttempt;
    try {
      const run = await this.createAndStart(t, attempt, imageID);
      t.previous = t.current;
      t.current = run;
      t.restartCount = attempt;
      t.nextAttempt = attempt + 1;
      t.waiting = undefined;
      t.ready = false;
      t.started = !t.spec.startupProbe;
      t.configErr = { delayMs: 0, until: 0 };
      // a restart after a crash waits longer next time, unless the run lasts long enough to reset it
      if (isRestart) t.crash.delayMs = t.crash.delayMs ? Math.min(this.ctx.crashBackoffMaxMs, t.crash.delayMs * 2) : this.ctx.crashBackoffBaseMs;
      const postStart = t.spec.lifecycle?.postStart;
      // the sync (and so the Running status) waits for the hook, as the kubelet's does
      if (postStart && !(await this.runPostStart(t, run, postStart))) return;
      this.startProbes(t, run);
    } catch (e) {
      const reason = e instanceof ContainerConfigError ? 'CreateContainerConfigError' : e instanceof StartError ? e.reason : 'CreateContainerError';
      t.waiting = { reason, message: errText(e) };
      this.event('Warning', 'Failed', `Error: ${errText(e)}`);
      t.configErr.delayMs = Math.min(this.ctx.crashBackoffMaxMs, t.configErr.delayMs ? t.configErr.delayMs * 2 : this.ctx.crashBackoffBaseMs);
      t.configErr.until = Date.now() + t.configErr.delayMs;
      if (e instanceof StartError) t.nextAttempt = attempt + 1;
      this.wakeIn(t.configErr.delayMs);
    }
  }

  /** Runs the postStart hook; on failure the container is killed (and restarted per policy). Resolves whether it succeeded. */
  private async runPostStart(t: Track, run: ContainerRun, hook: NonNullable<Container['lifecycle']>['postStart'] & object): Promise<boolean> {
    if (hook.sleep) {
      await sleep(hook.sleep.seconds * 1000);
      return true;
    }
    const r = await runHandler(hook as Handler, { container: t.spec, podIP: this.sandbox?.ip ?? '', runtime: this.ctx.runtime, containerID: run.id, timeoutMs: POST_START_TIMEOUT_MS });
    if (r.ok || !run.running) return r.ok;
    this.ctx.log(`node agent: pod ${this.key}: postStart hook of ${t.name} failed: ${r.message ?? ''}`);
    // the hook's output stays out of the event: it may hold secrets
    this.event('Warning', 'FailedPostStartHook', 'PostStartHook failed');
    this.event('Normal', 'Killing', 'FailedPostStartHook');
    await this.stopRun(t, run, this.pod.spec?.terminationGracePeriodSeconds ?? 30);
    return false;
  }

  private async pullImage(t: Track, image: string): Promise<{ imageID: string; imageRef: string }> {
    const policy = t.spec.imagePullPolicy as PullPolicy | undefined;
    const present = this.ctx.images.resolve(image);
    if (present && policy !== 'Always') {
      this.event('Normal', 'Pulled', alreadyPresentMessage(image));
      const r = await this.ctx.images.pull(image, { policy: 'IfNotPresent' });
      return { imageID: r.image.id, imageRef: r.imageRef };
    }
    const secrets = [];
    for (const ref of this.pod.spec?.imagePullSecrets ?? []) {
      const s = ref.name ? await this.ctx.source.secret(this.pod.metadata?.namespace ?? 'default', ref.name) : undefined;
      if (s) secrets.push(s);
    }
    const { keyring } = DockerKeyring.fromPullSecrets(secrets);
    const t0 = performance.now();
    if (policy !== 'Never') this.event('Normal', 'Pulling', pullingMessage(image));
    const r = await this.ctx.images.pull(image, { policy, credentials: keyring });
    if (r.pulled) this.event('Normal', 'Pulled', pulledMessage(image, r.durationMs, performance.now() - t0, r.size));
    else this.event('Normal', 'Pulled', alreadyPresentMessage(image));
    return { imageID: r.image.id, imageRef: r.imageRef };
  }

  private async createAndStart(t: Track, attempt: number, imageID: string): Promise<ContainerRun> {
    const sandbox = this.sandbox!;
    const id = containerIDOf(this.uid, t.name, attempt);
    const dir = this.containerDir(t.name, attempt);
    const logPath = this.logPath(t.name, attempt);
    const env = await resolveEnv({ pod: this.pod, container: t.spec, objects: this.ctx.source, podIP: sandbox.ip, hostIP: this.ctx.hostIP, allocatable: this.ctx.allocatable });
    const mounts = containerMounts(t.spec, this.volumes, this.implicitToken);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(join(logPath, '..'), { recursive: true, mode: 0o750 });
    const config = this.ctx.images.config(imageID).config ?? {};
    const prepared = this.preparedRootfs.get(dir);
    this.preparedRootfs.delete(dir);
    if (prepared !== undefined && prepared !== imageID) await cleanupRootfs(dir);
    const { rootfs } = await prepareRootfs(this.ctx.images.layers(imageID), dir);
    let spec;
    try {
      spec = buildOCISpec({
        container: t.spec,
        env,
        image: config,
        podSecurityContext: this.pod.spec?.securityContext,
        rootfs,
        sandbox: { netnsPath: sandbox.netnsPath, hostNetwork: sandbox.hostNetwork, hostname: sandbox.hostname, dir: sandbox.dir },
        cgroupsPath: containerCgroupPath(this.ctx.cgroupParent, this.uid, id),
        volumeMounts: mounts,
        annotations: { 'io.kubernetes.pod.uid': this.uid, 'io.kubernetes.pod.name': this.pod.metadata?.name ?? '', 'io.kubernetes.pod.namespace': this.pod.metadata?.namespace ?? '', 'io.kubernetes.container.name': t.name },
      });
    } catch (e) {
      await cleanupRootfs(dir).catch(() => {});
      throw new ContainerConfigError(errText(e));
    }
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    try {
      await this.ctx.runtime.create(id, dir, { pidFile: join(dir, 'pid'), logPath, stdin: t.spec.stdin === true, logRotation: this.ctx.logRotation });
    } catch (e) {
      await cleanupRootfs(dir).catch(() => {});
      throw new StartError('CreateContainerError', errText(e));
    }
    this.event('Normal', 'Created', `Created container: ${t.name}`);
    const run: ContainerRun = { id, attempt, dir, logPath, running: true, startedAt: nowRFC3339() };
    try {
      await this.ctx.runtime.start(id);
    } catch (e) {
      await this.ctx.runtime.delete(id, { force: true }).catch(() => {});
      await cleanupRootfs(dir).catch(() => {});
      throw new StartError('RunContainerError', errText(e));
    }
    this.event('Normal', 'Started', `Started container ${t.name}`);
    void this.ctx.runtime.wait(id).then(
      (s) => this.onExit(t, run, s),
      (e: unknown) => this.onExit(t, run, { id, status: 'stopped', pid: 0, exitCode: 255, reason: 'Error' }, errText(e)),
    );
    return run;
  }

  private onExit(t: Track, run: ContainerRun, s: ContainerState | undefined, message?: string): void {
    if (!run.running) return;
    run.running = false;
    run.finishedAt = nowRFC3339();
    run.exitCode = s?.exitCode ?? 255;
    run.reason = s?.reason ?? (run.exitCode === 0 ? 'Completed' : 'Error');
    if (message ?? t.killing) run.message = message ?? t.killing;
    t.killing = undefined;
    t.ready = false;
    t.started = false;
    this.stopProbes(t);
    if (Date.parse(run.finishedAt) - Date.parse(run.startedAt) >= RESET_BACKOFF_AFTER_MS) t.crash.delayMs = 0;
    t.crash.until = Date.now() + t.crash.delayMs;
    void this.cleanRun(run).finally(() => this.kick());
  }

  /** The runtime's record and the rootfs of an exited run go; its log stays. */
  private async cleanRun(run: ContainerRun): Promise<void> {
    if (run.cleaned) return;
    run.cleaned = true;
    await this.ctx.runtime.delete(run.id, { force: true }).catch((e: unknown) => this.ctx.log(`node agent: deleting container ${run.id}: ${errText(e)}`));
    await cleanupRootfs(run.dir).catch((e: unknown) => this.ctx.log(`node agent: rootfs of ${run.id}: ${errText(e)}`));
  }

  /** A container found running at agent start: the runtime cannot wait for it, so its state is polled. */
  private watchAdopted(t: Track, run: ContainerRun): void {
    const poll = async () => {
      while (run.running && !this.stopped) {
        const s = await this.ctx.runtime.state(run.id).catch(() => undefined);
        if (!s || s.status !== 'running') {
          this.onExit(t, run, { id: run.id, status: 'stopped', pid: 0, exitCode: s?.exitCode ?? 255, reason: s?.reason ?? 'Error' }, s?.exitCode === undefined ? 'the container exited while the node agent was not watching: exit code unknown' : undefined);
          return;
        }
        await sleep(1000);
      }
    };
    void poll();
    this.startProbes(t, run);
    t.started = true;
  }

  // ---- probes ----

  private startProbes(t: Track, run: ContainerRun): void {
    const spec = t.spec;
    if (t.init) return;
    if (spec.startupProbe) this.probeLoop(t, run, 'Startup', spec.startupProbe);
    if (spec.livenessProbe) this.probeLoop(t, run, 'Liveness', spec.livenessProbe);
    if (spec.readinessProbe) this.probeLoop(t, run, 'Readiness', spec.readinessProbe);
  }

  private stopProbes(t: Track): void {
    for (const timer of t.probeTimers) clearTimeout(timer);
    t.probeTimers = [];
  }

  private probeLoop(t: Track, run: ContainerRun, kind: 'Startup' | 'Liveness' | 'Readiness', probe: Probe): void {
    const period = (probe.periodSeconds ?? 10) * 1000;
    const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
    const successThreshold = probe.successThreshold ?? 1;
    const failureThreshold = probe.failureThreshold ?? 3;
    let successes = 0;
    let failures = 0;
    const schedule = (ms: number) => {
      if (!run.running || this.stopped || this.terminating) return;
      const timer = setTimeout(() => {
        t.probeTimers = t.probeTimers.filter((x) => x !== timer);
        void tick();
      }, ms);
      timer.unref();
      t.probeTimers.push(timer);
    };
    const tick = async () => {
      if (!run.running || this.stopped || this.terminating) return;
      if (kind === 'Startup' && t.started) return;
      if (kind !== 'Startup' && !t.started) return schedule(period);
      const result = await runHandler(probe as Handler, { container: t.spec, podIP: this.sandbox?.ip ?? '', runtime: this.ctx.runtime, containerID: run.id, timeoutMs });
      if (!run.running || this.terminating) return;
      if (result.ok) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
        this.event('Warning', 'Unhealthy', `${kind} probe failed: ${result.message ?? ''}`);
      }
      if (kind === 'Readiness') {
        const ready = result.ok ? successes >= successThreshold || t.ready : failures >= failureThreshold ? false : t.ready;
        if (ready !== t.ready) {
          t.ready = ready;
          this.kick();
        }
      } else if (kind === 'Startup' && result.ok) {
        t.started = true;
        this.kick();
        return;
      }
      if (kind !== 'Readiness' && failures >= failureThreshold) {
        const why = `Container ${t.name} failed ${kind.toLowerCase()} probe, will be restarted`;
        this.event('Normal', 'Killing', why);
        t.killing = why;
        const grace = probe.terminationGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30;
        await this.stopRun(t, run, grace);
        return;
      }
      schedule(period);
    };
    schedule((probe.initialDelaySeconds ?? 0) * 1000);
  }

  private async stopRun(t: Track, run: ContainerRun, graceSeconds: number): Promise<void> {
    if (!run.running) return;
    if (!run.adopted) {
      await stopContainer(this.ctx.runtime, run.id, graceSeconds).catch((e: unknown) => this.ctx.log(`node agent: stopping ${run.id}: ${errText(e)}`));
      return;
    }
    // not our child: signal it and poll its state
    const rt = this.ctx.runtime;
    const gone = async (ms: number) => {
      const end = Date.now() + ms;
      for (;;) {
        const s = await rt.state(run.id).catch(() => undefined);
        if (!s || s.status !== 'running') return true;
        if (Date.now() >= end) return false;
        await sleep(100);
      }
    };
    if (graceSeconds > 0) {
      await rt.kill(run.id, 'SIGTERM').catch(() => {});
      if (await gone(graceSeconds * 1000)) return this.onExit(t, run, { id: run.id, status: 'stopped', pid: 0, exitCode: 143, reason: 'Error' });
    }
    await rt.kill(run.id, 'SIGKILL').catch(() => {});
    await gone(10_000);
    this.onExit(t, run, { id: run.id, status: 'stopped', pid: 0, exitCode: 137, reason: 'Error' });
  }

  // ---- termination ----

  private async terminate(): Promise<void> {
    if (this.done) return;
    this.terminating = true;
    if (this.volumeTimer) clearTimeout(this.volumeTimer);
    for (const t of this.tracks) this.stopProbes(t);
    const grace = this.gone ? 0 : (this.pod.metadata?.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30);
    await this.tearDown(grace, true);
    if (!this.gone) {
      const ns = this.pod.metadata?.namespace;
      try {
        await this.ctx.pods.namespace(ns).delete(this.pod.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: this.uid } });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
    }
    this.finish();
  }

  private finish(): void {
    this.done = true;
    if (this.wake) clearTimeout(this.wake);
    this.onDone?.();
  }

  /** Stops every container (preStop, SIGTERM, grace, SIGKILL) and removes the pod's host state; `all` also removes volumes and logs. */
  async tearDown(graceSeconds: number, all: boolean): Promise<void> {
    const deadline = Date.now() + graceSeconds * 1000;
    await Promise.all(
      this.tracks.map(async (t) => {
        const run = t.current;
        if (!run?.running) return;
        this.event('Normal', 'Killing', `Stopping container ${t.name}`);
        const preStop = t.spec.lifecycle?.preStop;
        if (preStop && graceSeconds > 0 && (preStop.exec || preStop.httpGet || preStop.tcpSocket)) {
          const r = await runHandler(preStop as Handler, { container: t.spec, podIP: this.sandbox?.ip ?? '', runtime: this.ctx.runtime, containerID: run.id, timeoutMs: Math.max(1000, deadline - Date.now()) });
          if (!r.ok) this.event('Warning', 'FailedPreStopHook', `PreStopHook failed: ${r.message ?? ''}`);
        } else if (preStop?.sleep && graceSeconds > 0) {
          await sleep(Math.min(preStop.sleep.seconds * 1000, Math.max(0, deadline - Date.now())));
        }
        await this.stopRun(t, run, Math.max(0, Math.ceil((deadline - Date.now()) / 1000)));
      }),
    );
    for (const t of this.tracks) {
      for (const run of [t.previous, t.current]) if (run) await this.cleanRun(run);
    }
    for (const dir of this.preparedRootfs.keys()) await cleanupRootfs(dir).catch((e: unknown) => this.ctx.log(`node agent: rootfs in ${dir}: ${errText(e)}`));
    this.preparedRootfs.clear();
    removeCgroup(podCgroupPath(this.ctx.cgroupParent, this.uid));
    await this.ctx.sandboxes.destroySandbox(this.uid).catch((e: unknown) => this.ctx.log(`node agent: sandbox of ${this.key}: ${errText(e)}`));
    this.tornDown = true;
    if (all) {
      await tearDownVolumes(this.volumes.values());
      rmSync(this.podDir, { recursive: true, force: true });
      rmSync(podLogsDir(this.ctx.stateDir, this.pod), { recursive: true, force: true });
    }
  }

  /** Agent shutdown: timers and probes stop; containers keep running unless `kill`. */
  async stop(kill: boolean): Promise<void> {
    this.stopped = true;
    if (this.wake) clearTimeout(this.wake);
    if (this.volumeTimer) clearTimeout(this.volumeTimer);
    for (const t of this.tracks) this.stopProbes(t);
    if (kill) {
      while (this.syncing) await sleep(20);
      this.terminating = true;
      await this.tearDown(2, true);
    }
  }

  // ---- status ----

  private phase(): PodStatus['phase'] {
    if (this.finalPhase) return this.finalPhase;
    const inits = this.tracks.filter((t) => t.init);
    if (inits.some((t) => t.current?.exitCode !== 0)) return 'Pending';
    const apps = this.tracks.filter((t) => !t.init);
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    let running = 0;
    let waiting = 0;
    let succeeded = 0;
    let failed = 0;
    let restarting = 0;
    for (const t of apps) {
      const r = t.current;
      if (!r) waiting++;
      else if (r.running) running++;
      else if (t.waiting) restarting++;
      else if (r.exitCode === 0) succeeded++;
      else failed++;
    }
    if (waiting > 0) return 'Pending';
    if (running > 0 || restarting > 0) return 'Running';
    if (policy === 'Always') return 'Running';
    if (failed > 0 && policy === 'Never') return 'Failed';
    if (failed === 0) return 'Succeeded';
    return 'Running';
  }

  private containerStatus(t: Track): ContainerStatus {
    const r = t.current;
    const terminated = (x: ContainerRun): K8sContainerState => ({
      terminated: {
        exitCode: x.exitCode ?? 0,
        reason: x.reason,
        ...(x.message ? { message: x.message } : {}),
        startedAt: x.startedAt,
        finishedAt: x.finishedAt,
        containerID: `${this.ctx.runtime.name}://${x.id}`,
      },
    });
    let state: K8sContainerState;
    let lastState: K8sContainerState = {};
    if (r?.running) {
      state = { running: { startedAt: r.startedAt } };
      if (t.previous) lastState = terminated(t.previous);
    } else if (r && t.waiting) {
      state = { waiting: t.waiting };
      lastState = terminated(r);
    } else if (r) {
      state = terminated(r);
      if (t.previous) lastState = terminated(t.previous);
    } else {
      const initsPending = !t.init && this.tracks.some((x) => x.init && x.current?.exitCode !== 0);
      state = { waiting: t.waiting ?? { reason: initsPending ? 'PodInitializing' : 'ContainerCreating' } };
    }
    const ready = t.init ? r?.exitCode === 0 && !r.running : !!r?.running && t.started && (t.spec.readinessProbe ? t.ready : true);
    const s: ContainerStatus = {
      name: t.name,
      image: t.spec.image ?? '',
      imageID: t.imageID ?? '',
      ready,
      started: !!r?.running && t.started,
      restartCount: t.restartCount,
      state,
      lastState,
    };
    if (r) s.containerID = `${this.ctx.runtime.name}://${r.id}`;
    return s;
  }

  buildStatus(): PodStatus {
    const prev = this.pod.status;
    const now = nowRFC3339();
    const conds = prev?.conditions;
    const condition = (type: string, ok: boolean, reason?: string, message?: string): PodCondition => {
      const status = ok ? 'True' : 'False';
      const old = conds?.find((c) => c.type === type);
      const c: PodCondition = { type, status, lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now };
      if (reason) c.reason = reason;
      if (message) c.message = message;
      return c;
    };
    const phase = this.phase();
    const initStatuses = this.tracks.filter((t) => t.init).map((t) => this.containerStatus(t));
    const appStatuses = this.tracks.filter((t) => !t.init).map((t) => this.containerStatus(t));
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const reasonTerminal = phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed';
    const initsDone = initStatuses.every((s) => s.state?.terminated?.exitCode === 0);
    const unready = appStatuses.filter((s) => !s.ready).map((s) => s.name);
    const incomplete = initStatuses.filter((s) => s.state?.terminated?.exitCode !== 0).map((s) => s.name);
    const gates = this.pod.spec?.readinessGates ?? [];
    const gatesOpen = gates.every((g) => conds?.find((c) => c.type === g.conditionType)?.status === 'True');
    const containersReady = unready.length === 0 && !terminal;
    const conditions: PodCondition[] = [
      condition('PodReadyToStartContainers', !!this.sandbox && !this.tornDown),
      terminal ? condition('Initialized', true, reasonTerminal) : initsDone ? condition('Initialized', true) : condition('Initialized', false, 'ContainersNotInitialized', `containers with incomplete status: [${incomplete.join(' ')}]`),
      terminal
        ? condition('Ready', false, reasonTerminal)
        : containersReady && gatesOpen
          ? condition('Ready', true)
          : containersReady
            ? condition('Ready', false, 'ReadinessGatesNotReady', 'the status of pod readiness gate is not "True"')
            : condition('Ready', false, 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`),
      terminal ? condition('ContainersReady', false, reasonTerminal) : containersReady ? condition('ContainersReady', true) : condition('ContainersReady', false, 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`),
      condition('PodScheduled', true),
    ];
    for (const c of conds ?? []) if (!conditions.some((x) => x.type === c.type)) conditions.push(c);
    const status: PodStatus = {
      phase,
      conditions,
      hostIP: this.ctx.hostIP,
      hostIPs: [{ ip: this.ctx.hostIP }],
      startTime: this.startTime,
      ...(prev?.qosClass ? { qosClass: prev.qosClass } : {}),
      ...(initStatuses.length ? { initContainerStatuses: initStatuses } : {}),
      containerStatuses: appStatuses,
    };
    const ip = this.sandbox?.ip ?? prev?.podIP;
    if (ip) {
      status.podIP = ip;
      status.podIPs = [{ ip }];
    }
    if (this.sandboxError && !this.sandbox) status.message = this.sandboxError;
    return status;
  }

  /** Writes the status; one write at a time, in order, each with the state at the time it is sent. */
  private postStatus(): Promise<void> {
    const next = (this.statusWrite ?? Promise.resolve()).catch(() => {}).then(() => this.writeStatus());
    this.statusWrite = next;
    const clear = () => {
      if (this.statusWrite === next) this.statusWrite = undefined;
    };
    next.then(clear, clear);
    return next;
  }

  private postStatusInBackground(): void {
    this.postStatus().catch((e: unknown) => {
      this.ctx.log(`node agent: pod ${this.key}: ${errText(e)}`);
      this.wakeIn(RETRY_MS);
    });
  }

  private async writeStatus(): Promise<void> {
    if (this.lastPosted === 'terminal' && this.finalPhase) return;
    const status = this.buildStatus();
    const comparable = JSON.stringify({ ...status, conditions: status.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) });
    if (comparable === this.lastPosted) return;
    try {
      this.pod = await this.ctx.pods.namespace(this.pod.metadata?.namespace).patch(this.pod.metadata?.name ?? '', 'merge', { status }, { subresource: 'status' });
      this.lastPosted = status.phase === 'Succeeded' || status.phase === 'Failed' ? 'terminal' : comparable;
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}

/** A runtime failure to create or start a container (its message is the runtime's). */
export class StartError extends Error {
  constructor(
    readonly reason: 'CreateContainerError' | 'RunContainerError',
    message: string,
  ) {
    super(message);
  }
}

/** Cleans what a pod no longer known to the API left on the host (the agent was down when it went). */
export async function cleanupOrphanPodDir(ctx: AgentContext, podUID: string): Promise<void> {
  const dir = join(ctx.stateDir, 'pods', podUID);
  const containers = join(dir, 'containers');
  if (existsSync(containers)) {
    for (const d of readdirSync(containers)) await cleanupRootfs(join(containers, d)).catch(() => {});
  }
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp?.startsWith(`${dir}/`)) await new Promise((r) => execFile('umount', ['-l', mp], () => r(undefined)));
  }
  removeCgroup(podCgroupPath(ctx.cgroupParent, podUID));
  await ctx.sandboxes.destroySandbox(podUID).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
