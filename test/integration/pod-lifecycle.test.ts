// Lifecycle hooks with real containers: an exec postStart holds the container out of Running until it
// has finished; a failing httpGet postStart gives FailedPostStartHook and a restart; preStop runs
// before the container is stopped at deletion.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { skipUnless } from '../helpers/skip.js';
import { LocalNodeHarness, realPodsMissing, TEST_IMAGE as image } from './pod-harness.js';
import { eventually } from './support.js';

const missing = realPodsMissing();
const running = (p: Pod) => p.status?.containerStatuses?.[0]?.state?.running !== undefined;

describe('container lifecycle hooks', skipUnless(missing === '', missing), () => {
  const h = new LocalNodeHarness('lc', 193);
  before(() => h.start());
  after(() => h.close());

  test('an exec postStart hook finishes before the container shows Running', async () => {
    const pod = await h.create({
      metadata: { name: 'hooked' },
      spec: { containers: [{ name: 'h', image, command: ['sleep', '3600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'sleep 2; echo done > /hook-done'] } } } }] },
    });
    const hookFile = join(h.stateDir, 'pods', pod.metadata!.uid!, 'containers', 'h_0', 'upper', 'hook-done');
    let sawCreatingWhileHooking = false;
    await eventually('hooked Running', async () => {
      const p = await h.pods.get('hooked');
      if (!running(p)) {
        if (existsSync(join(h.stateDir, 'pods', pod.metadata!.uid!, 'containers', 'h_0', 'pid')) && !existsSync(hookFile)) sawCreatingWhileHooking = true;
        return false;
      }
      // the status turned Running: the hook's file must already be there
      assert.equal(readFileSync(hookFile, 'utf8'), 'done\n');
      return true;
    }, 20_000).catch(async (e: unknown) => {
      const logs = h.cluster!.logs.filter((l) => l.includes('hooked') || l.includes('postStart')).slice(-10);
      throw new Error(`${(e as Error).message}; status ${JSON.stringify((await h.pods.get('hooked')).status?.containerStatuses)}; events ${(await h.eventReasons('hooked')).join(' | ')}; logs ${logs.join(' | ')}`);
    });
    assert.ok(sawCreatingWhileHooking, 'the container ran its process while its status was not yet Running');
    const cs = (await h.pods.get('hooked')).status!.containerStatuses![0]!;
    assert.equal(cs.restartCount, 0);
    assert.equal(cs.ready, true);
    await h.deleteAndWait('hooked');
  });

  test('a failing httpGet postStart hook: FailedPostStartHook, the container is killed and restarted', async () => {
    await h.create({
      metadata: { name: 'badhook' },
      spec: { containers: [{ name: 'b', image, command: ['sleep', '3600'], lifecycle: { postStart: { httpGet: { path: '/', port: 9 } } } }] },
    });
    await h.until('badhook', 'restarted', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 20_000);
    const events = await h.eventReasons('badhook');
    assert.ok(events.includes('FailedPostStartHook:PostStartHook failed'), events.join('\n'));
    assert.ok(events.includes('Killing:FailedPostStartHook'), events.join('\n'));
    const cs = (await h.pods.get('badhook')).status!.containerStatuses![0]!;
    assert.ok(cs.lastState?.terminated, JSON.stringify(cs));
    await h.deleteAndWait('badhook');
  });

  test('preStop runs before the container is stopped', async () => {
    const shared = join(h.work, 'prestop');
    mkdirSync(shared, { recursive: true });
    await h.create({
      metadata: { name: 'stopper' },
      spec: {
        terminationGracePeriodSeconds: 5,
        containers: [{ name: 's', image, command: ['sleep', '3600'], volumeMounts: [{ name: 'host', mountPath: '/host' }], lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo bye > /host/prestop'] } } } }],
        volumes: [{ name: 'host', hostPath: { path: shared, type: 'Directory' } }],
      },
    });
    await h.until('stopper', 'Running', running);
    await h.deleteAndWait('stopper');
    assert.equal(readFileSync(join(shared, 'prestop'), 'utf8'), 'bye\n');
    const events = await h.eventReasons('stopper');
    assert.ok(!events.some((e) => e.startsWith('FailedPreStopHook')), events.join('\n'));
  });
});
