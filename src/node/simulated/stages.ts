// Pod lifecycles of simulated nodes as data (compare KWOK's Stages): the state a pod is in is read
// off the pod itself, a table says which state follows after what delay, and one status template
// per state says what the pod looks like there. Adding a behaviour is adding a row.
import type { ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { createHash } from 'node:crypto';

/** The annotation that injects failures: `fail` makes every container exit 1 after failAfterMs. */
export const ANN_SIMULATE = 'timonel.io/simulate';

export type SimPodState = 'Scheduled' | 'ContainerCreating' | 'Running' | 'CrashLoopBackOff' | 'Succeeded' | 'Failed' | 'Terminating';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** Timings a stage's delay may name. */
export interface StageTimings {
  startupDelayMs: number;
  jobDurationMs: number;
  failAfterMs: number;
  deleteDelayMs: number;
  crashBackoffBaseMs: number;
  crashBackoffMaxMs: number;
}

/** A delay: fixed, one of the timings, or the kubelet's crash-loop backoff (base · 2^(restarts−1), capped). */
export type StageDelay = { ms: number } | { timing: keyof StageTimings } | { crashLoopBackOff: true };

export interface PodStage {
  name: string;
  from: SimPodState;
  /** the stage applies only to pods with one of these restart policies */
  restartPolicies?: readonly RestartPolicy[];
  /** the stage applies only to pods with (`fail`) or without (`none`) the failure annotation */
  simulate?: 'fail' | 'none';
  delay: StageDelay;
  /** `Deleted`: the pod object is removed (DELETE with gracePeriodSeconds=0) */
  to: SimPodState | 'Deleted';
}

export const POD_STAGES: readonly PodStage[] = [
  { name: 'pod-delete', from: 'Terminating', delay: { timing: 'deleteDelayMs' }, to: 'Deleted' },
  { name: 'pod-create', from: 'Scheduled', delay: { ms: 0 }, to: 'ContainerCreating' },
  { name: 'pod-ready', from: 'ContainerCreating', delay: { timing: 'startupDelayMs' }, to: 'Running' },
  { name: 'pod-complete', from: 'Running', restartPolicies: ['Never', 'OnFailure'], simulate: 'none', delay: { timing: 'jobDurationMs' }, to: 'Succeeded' },
  { name: 'pod-fail', from: 'Running', restartPolicies: ['Never'], simulate: 'fail', delay: { timing: 'failAfterMs' }, to: 'Failed' },
  { name: 'pod-crash', from: 'Running', restartPolicies: ['Always', 'OnFailure'], simulate: 'fail', delay: { timing: 'failAfterMs' }, to: 'CrashLoopBackOff' },
  { name: 'pod-restart', from: 'CrashLoopBackOff', delay: { crashLoopBackOff: true }, to: 'Running' },
];

const restartPolicyOf = (pod: Pod): RestartPolicy => (pod.spec?.restartPolicy as RestartPolicy | undefined) ?? 'Always';
const simulatesFailure = (pod: Pod): boolean => pod.metadata?.annotations?.[ANN_SIMULATE] === 'fail';

/** The state a pod is in, as far as the simulator is concerned. */
export function podState(pod: Pod): SimPodState {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  const phase = pod.status?.phase;
  if (phase === 'Succeeded') return 'Succeeded';
  if (phase === 'Failed') return 'Failed';
  const statuses = pod.status?.containerStatuses ?? [];
  if (!statuses.length || !pod.status?.hostIP) return 'Scheduled';
  if (statuses.some((s) => s.state?.waiting?.reason === 'CrashLoopBackOff')) return 'CrashLoopBackOff';
  if (statuses.some((s) => s.state?.waiting?.reason === 'ContainerCreating' || s.state?.waiting?.reason === 'PodInitializing')) return 'ContainerCreating';
  if (phase === 'Running') return 'Running';
  return 'Scheduled';
}

/** The stage that applies to the pod in `state`, if any. */
export function stageFor(pod: Pod, state: SimPodState, stages: readonly PodStage[] = POD_STAGES): PodStage | undefined {
  const policy = restartPolicyOf(pod);
  const fails = simulatesFailure(pod);
  return stages.find(
    (s) =>
      s.from === state &&
      (!s.restartPolicies || s.restartPolicies.includes(policy)) &&
      (!s.simulate || (s.simulate === 'fail') === fails),
  );
}

export function stageDelayMs(stage: PodStage, pod: Pod, t: StageTimings): number {
  const d = stage.delay;
  if ('ms' in d) return d.ms;
  if ('timing' in d) return t[d.timing];
  const restarts = Math.max(1, ...(pod.status?.containerStatuses ?? []).map((c) => c.restartCount ?? 0));
  return Math.min(t.crashBackoffMaxMs, t.crashBackoffBaseMs * 2 ** (restarts - 1));
}

/** Where the pod is headed from `state`, following zero-delay stages in one step. */
export function nextState(pod: Pod, state: SimPodState, t: StageTimings, stages: readonly PodStage[] = POD_STAGES): { stage: PodStage; delayMs: number; to: SimPodState | 'Deleted' } | undefined {
  const first = stageFor(pod, state, stages);
  if (!first) return undefined;
  let to = first.to;
  const seen = new Set<SimPodState>([state]);
  while (to !== 'Deleted' && !seen.has(to)) {
    seen.add(to);
    const next = stageFor(pod, to, stages);
    if (!next || stageDelayMs(next, pod, t) !== 0) break;
    to = next.to;
  }
  return { stage: first, delayMs: stageDelayMs(first, pod, t), to };
}

// ---- status templates ----

/** Where the pod runs, as the node fills it in. */
export interface PodPlacement {
  nodeName: string;
  hostIP: string;
  /** set from Running on */
  podIP?: string;
  now: string;
}

const hex = (s: string, n = 64) => createHash('sha256').update(s).digest('hex').slice(0, n);
const imageIDs = new Map<string, string>();
export function imageIDOf(image: string): string {
  let id = imageIDs.get(image);
  if (id === undefined) {
    id = `${image.includes('@') ? image.split('@')[0] : image.split(':')[0]}@sha256:${hex(`image:${image}`)}`;
    if (imageIDs.size >= 1024) imageIDs.clear();
    imageIDs.set(image, id);
  }
  return id;
}
const containerIDOf = (pod: Pod, name: string, restart: number) => `sim://${hex(`${pod.metadata?.uid ?? ''}/${name}/${restart}`)}`;

function condition(type: string, ok: boolean, now: string, prev: PodCondition[] | undefined, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const old = prev?.find((c) => c.type === type);
  const c: PodCondition = { type, status, lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : now };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

const names = (pod: Pod) => (pod.spec?.containers ?? []).map((c) => c.name);

const MANAGED_CONDITIONS = new Set(['PodScheduled', 'PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady']);

/**
 * The whole status of a pod arriving in `state` (Terminating and Scheduled have none of their own).
 * Conditions others own (readiness gates) are kept.
 */
export function statusFor(pod: Pod, state: SimPodState, at: PodPlacement): PodStatus {
  const status = template(pod, state, at);
  const foreign = (pod.status?.conditions ?? []).filter((c) => !MANAGED_CONDITIONS.has(c.type));
  if (foreign.length) status.conditions = [...(status.conditions ?? []), ...foreign];
  return status;
}

function template(pod: Pod, state: SimPodState, at: PodPlacement): PodStatus {
  const prev = pod.status;
  const conds = prev?.conditions;
  const now = at.now;
  const oldStatuses = new Map((prev?.containerStatuses ?? []).map((s) => [s.name, s]));
  const unready = `containers with unready status: [${names(pod).join(' ')}]`;
  const started = prev?.startTime ?? now;
  const base: PodStatus = {
    phase: 'Pending',
    hostIP: at.hostIP,
    hostIPs: [{ ip: at.hostIP }],
    startTime: started,
    qosClass: prev?.qosClass,
  };
  const scheduled = condition('PodScheduled', true, now, conds);
  const inits = pod.spec?.initContainers ?? [];
  const initDone = (): ContainerStatus[] =>
    inits.map((c) => {
      const sidecar = c.restartPolicy === 'Always';
      return {
        name: c.name,
        image: c.image ?? '',
        imageID: imageIDOf(c.image ?? ''),
        containerID: containerIDOf(pod, c.name, 0),
        ready: true,
        started: sidecar,
        restartCount: 0,
        state: sidecar ? { running: { startedAt: started } } : { terminated: { exitCode: 0, reason: 'Completed', startedAt: started, finishedAt: started, containerID: containerIDOf(pod, c.name, 0) } },
      };
    });

  switch (state) {
    case 'ContainerCreating': {
      const waiting = inits.length ? 'PodInitializing' : 'ContainerCreating';
      return {
        ...base,
        conditions: [
          condition('PodReadyToStartContainers', false, now, conds),
          condition('Initialized', !inits.length, now, conds, inits.length ? 'ContainersNotInitialized' : undefined, inits.length ? `containers with incomplete status: [${inits.map((c) => c.name).join(' ')}]` : undefined),
          condition('Ready', false, now, conds, 'ContainersNotReady', unready),
          condition('ContainersReady', false, now, conds, 'ContainersNotReady', unready),
          scheduled,
        ],
        ...(inits.length
          ? { initContainerStatuses: inits.map((c) => ({ name: c.name, image: c.image ?? '', imageID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } })) }
          : {}),
        containerStatuses: (pod.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '', imageID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason: waiting } } })),
      };
    }
    case 'Running': {
      const gates = pod.spec?.readinessGates ?? [];
      const gatesOpen = gates.every((g) => conds?.find((c) => c.type === g.conditionType)?.status === 'True');
      return {
        ...base,
        phase: 'Running',
        podIP: at.podIP,
        podIPs: at.podIP ? [{ ip: at.podIP }] : undefined,
        conditions: [
          condition('PodReadyToStartContainers', true, now, conds),
          condition('Initialized', true, now, conds),
          gatesOpen ? condition('Ready', true, now, conds) : condition('Ready', false, now, conds, 'ReadinessGatesNotReady', 'the status of pod readiness gate is not "True"'),
          condition('ContainersReady', true, now, conds),
          scheduled,
        ],
        ...(inits.length ? { initContainerStatuses: initDone() } : {}),
        containerStatuses: (pod.spec?.containers ?? []).map((c) => {
          const old = oldStatuses.get(c.name);
          const restarts = old?.restartCount ?? 0;
          const s: ContainerStatus = {
            name: c.name,
            image: c.image ?? '',
            imageID: imageIDOf(c.image ?? ''),
            containerID: containerIDOf(pod, c.name, restarts),
            ready: true,
            started: true,
            restartCount: restarts,
            state: { running: { startedAt: now } },
          };
          if (old?.lastState && Object.keys(old.lastState).length) s.lastState = old.lastState;
          return s;
        }),
      };
    }
    case 'CrashLoopBackOff':
      return {
        ...base,
        phase: 'Running',
        podIP: at.podIP,
        podIPs: at.podIP ? [{ ip: at.podIP }] : undefined,
        conditions: [
          condition('PodReadyToStartContainers', true, now, conds),
          condition('Initialized', true, now, conds),
          condition('Ready', false, now, conds, 'ContainersNotReady', unready),
          condition('ContainersReady', false, now, conds, 'ContainersNotReady', unready),
          scheduled,
        ],
        ...(inits.length ? { initContainerStatuses: initDone() } : {}),
        containerStatuses: (pod.spec?.containers ?? []).map((c) => {
          const old = oldStatuses.get(c.name);
          const restarts = (old?.restartCount ?? 0) + 1;
          const backoffS = Math.min(300, 10 * 2 ** (restarts - 1));
          return {
            name: c.name,
            image: c.image ?? '',
            imageID: imageIDOf(c.image ?? ''),
            containerID: containerIDOf(pod, c.name, restarts - 1),
            ready: false,
            started: false,
            restartCount: restarts,
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: `back-off ${backoffS}s restarting failed container=${c.name} pod=${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`,
              },
            },
            lastState: {
              terminated: { exitCode: 1, reason: 'Error', startedAt: old?.state?.running?.startedAt ?? now, finishedAt: now, containerID: containerIDOf(pod, c.name, restarts - 1) },
            },
          };
        }),
      };
    case 'Succeeded':
    case 'Failed': {
      const ok = state === 'Succeeded';
      const reason = ok ? 'PodCompleted' : 'PodFailed';
      return {
        ...base,
        phase: state,
        podIP: at.podIP,
        podIPs: at.podIP ? [{ ip: at.podIP }] : undefined,
        conditions: [
          condition('PodReadyToStartContainers', false, now, conds),
          condition('Initialized', true, now, conds, reason),
          condition('Ready', false, now, conds, reason),
          condition('ContainersReady', false, now, conds, reason),
          scheduled,
        ],
        ...(inits.length ? { initContainerStatuses: initDone() } : {}),
        containerStatuses: (pod.spec?.containers ?? []).map((c) => {
          const old = oldStatuses.get(c.name);
          const restarts = old?.restartCount ?? 0;
          return {
            name: c.name,
            image: c.image ?? '',
            imageID: imageIDOf(c.image ?? ''),
            containerID: containerIDOf(pod, c.name, restarts),
            ready: false,
            started: false,
            restartCount: restarts,
            state: {
              terminated: {
                exitCode: ok ? 0 : 1,
                reason: ok ? 'Completed' : 'Error',
                startedAt: old?.state?.running?.startedAt ?? now,
                finishedAt: now,
                containerID: containerIDOf(pod, c.name, restarts),
              },
            },
          };
        }),
      };
    }
    default:
      return { ...base, conditions: [scheduled] };
  }
}
