// The lifecycle table of simulated nodes, its status templates, their address pool and timer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { hostIPFor, PodIPAllocator, podCIDRFor } from '../../src/node/simulated/ipam.js';
import { nextState, podState, POD_STAGES, stageFor, statusFor, type StageTimings } from '../../src/node/simulated/stages.js';
import { Timeline } from '../../src/node/simulated/timeline.js';

const timings: StageTimings = { startupDelayMs: 500, jobDurationMs: 1000, failAfterMs: 200, deleteDelayMs: 50, crashBackoffBaseMs: 10_000, crashBackoffMaxMs: 300_000 };
const pod = (restartPolicy = 'Always', annotations: Record<string, string> = {}): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'u1', annotations },
  spec: { nodeName: 'n', restartPolicy, containers: [{ name: 'c', image: 'img:1' }] },
  status: { phase: 'Pending', qosClass: 'BestEffort' },
});
const at = { nodeName: 'n', hostIP: '172.16.0.1', podIP: '10.128.0.2', now: '2024-01-01T00:00:00Z' };
const advance = (p: Pod, to: Parameters<typeof statusFor>[1]): Pod => ({ ...p, status: statusFor(p, to, at) });

test('the state is read off the pod', () => {
  const p = pod();
  assert.equal(podState(p), 'Scheduled');
  assert.equal(podState(advance(p, 'ContainerCreating')), 'ContainerCreating');
  assert.equal(podState(advance(p, 'Running')), 'Running');
  assert.equal(podState(advance(advance(p, 'Running'), 'CrashLoopBackOff')), 'CrashLoopBackOff');
  assert.equal(podState(advance(p, 'Succeeded')), 'Succeeded');
  assert.equal(podState({ ...p, metadata: { ...p.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } }), 'Terminating');
});

test('the table picks stages by restart policy and the failure annotation', () => {
  const running = (rp: string, fail = false) => advance(pod(rp, fail ? { 'timonel.io/simulate': 'fail' } : {}), 'Running');
  assert.equal(stageFor(running('Always'), 'Running'), undefined, 'a healthy Always pod just runs');
  assert.equal(stageFor(running('Never'), 'Running')?.name, 'pod-complete');
  assert.equal(stageFor(running('OnFailure'), 'Running')?.name, 'pod-complete');
  assert.equal(stageFor(running('Never', true), 'Running')?.name, 'pod-fail');
  assert.equal(stageFor(running('Always', true), 'Running')?.name, 'pod-crash');
  assert.equal(stageFor(running('OnFailure', true), 'Running')?.name, 'pod-crash');
  assert.ok(POD_STAGES.every((s) => s.to === 'Deleted' || POD_STAGES.some((t) => t.from === s.to) || ['Succeeded', 'Failed', 'Running'].includes(s.to)));
});

test('zero-delay stages are taken in one step; delays come from the timings or the crash backoff', () => {
  const p = pod('Never');
  assert.deepEqual({ ...nextState(p, 'Scheduled', timings), stage: undefined }, { stage: undefined, delayMs: 0, to: 'ContainerCreating' });
  const quick = { ...timings, startupDelayMs: 0 };
  assert.equal(nextState(p, 'Scheduled', quick)?.to, 'Running');
  assert.equal(nextState(advance(p, 'ContainerCreating'), 'ContainerCreating', timings)?.delayMs, 500);
  assert.equal(nextState(advance(p, 'Running'), 'Running', timings)?.delayMs, 1000);
  let crashing = advance(advance(pod('Always', { 'timonel.io/simulate': 'fail' }), 'Running'), 'CrashLoopBackOff');
  assert.equal(nextState(crashing, 'CrashLoopBackOff', timings)?.delayMs, 10_000);
  for (let i = 0; i < 3; i++) crashing = advance(advance(crashing, 'Running'), 'CrashLoopBackOff');
  assert.equal(crashing.status?.containerStatuses?.[0].restartCount, 4);
  assert.equal(nextState(crashing, 'CrashLoopBackOff', timings)?.delayMs, 80_000);
  assert.equal(nextState({ ...crashing, metadata: { ...crashing.metadata, deletionTimestamp: 'x' } }, 'Terminating', timings)?.to, 'Deleted');
});

test('status templates: Running, crash, completion', () => {
  const running = advance(advance(pod(), 'ContainerCreating'), 'Running');
  const s = running.status!;
  assert.equal(s.phase, 'Running');
  assert.equal(s.podIP, '10.128.0.2');
  assert.equal(s.qosClass, 'BestEffort');
  assert.deepEqual(s.conditions?.map((c) => `${c.type}=${c.status}`), ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']);
  const crashed = advance(running, 'CrashLoopBackOff').status!.containerStatuses![0];
  assert.equal(crashed.restartCount, 1);
  assert.equal(crashed.state?.waiting?.reason, 'CrashLoopBackOff');
  assert.equal(crashed.lastState?.terminated?.exitCode, 1);
  const back = advance(advance(running, 'CrashLoopBackOff'), 'Running').status!.containerStatuses![0];
  assert.equal(back.restartCount, 1, 'a restart keeps the count');
  assert.equal(back.lastState?.terminated?.reason, 'Error');
  const done = advance(running, 'Succeeded').status!;
  assert.equal(done.containerStatuses![0].state?.terminated?.exitCode, 0);
  assert.equal(done.conditions?.find((c) => c.type === 'ContainersReady')?.reason, 'PodCompleted');
});

test('status templates keep conditions other components own (readiness gates)', () => {
  const p = pod();
  p.spec!.readinessGates = [{ conditionType: 'example.com/ready' }];
  p.status!.conditions = [{ type: 'example.com/ready', status: 'False' }];
  const notYet = advance(p, 'Running').status!;
  assert.equal(notYet.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  assert.equal(notYet.conditions?.find((c) => c.type === 'example.com/ready')?.status, 'False');
  p.status!.conditions = [{ type: 'example.com/ready', status: 'True' }];
  assert.equal(advance(p, 'Running').status!.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
});

test('init containers: pending while the pod starts, completed once it runs; sidecars keep running', () => {
  const p = pod();
  p.spec!.initContainers = [
    { name: 'setup', image: 'img:1' },
    { name: 'proxy', image: 'img:1', restartPolicy: 'Always' },
  ];
  const creating = advance(p, 'ContainerCreating');
  assert.equal(creating.status!.containerStatuses![0].state?.waiting?.reason, 'PodInitializing');
  assert.equal(podState(creating), 'ContainerCreating');
  const inits = advance(creating, 'Running').status!.initContainerStatuses!;
  assert.equal(inits[0].state?.terminated?.reason, 'Completed');
  assert.ok(inits[1].state?.running);
});

test('addresses: host IPs and pod CIDRs per node index; pod IPs reused once released', () => {
  assert.equal(hostIPFor(0), '172.16.0.1');
  assert.equal(hostIPFor(255), '172.16.1.0');
  assert.equal(podCIDRFor(0), '10.128.0.0/24');
  assert.equal(podCIDRFor(4999), '10.147.135.0/24');
  const ips = new PodIPAllocator('10.128.3.0/24');
  assert.equal(ips.reserve('10.128.3.2'), true);
  assert.equal(ips.reserve('10.9.9.9'), false);
  assert.equal(ips.allocate(), '10.128.3.3');
  const got = new Set<string>();
  for (;;) {
    const ip = ips.allocate();
    if (!ip) break;
    got.add(ip);
  }
  assert.equal(got.size + 2, 253);
  ips.release('10.128.3.77');
  assert.equal(ips.allocate(), '10.128.3.77');
});

test('the timeline runs actions in time order on one timer, and replaced or cancelled ones not at all', () => {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const clock = { now: () => now, setTimeout: (fn: () => void, ms: number) => timers.push({ at: now + ms, fn }), clearTimeout: () => {} };
  const fired: string[] = [];
  const t = new Timeline(clock, (k) => fired.push(k));
  t.schedule('b', 200);
  t.schedule('a', 100);
  t.schedule('c', 300);
  t.schedule('b', 250);
  t.cancel('c');
  const run = (to: number) => {
    now = to;
    for (const x of timers.splice(0).sort((a, b) => a.at - b.at)) if (x.at <= now) x.fn();
      else timers.push(x);
  };
  run(150);
  assert.deepEqual(fired, ['a']);
  run(400);
  assert.deepEqual(fired, ['a', 'b']);
  assert.equal(t.size, 0);
});
