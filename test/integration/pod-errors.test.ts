// Failures of real pods as the API shows them: a missing executable (RunContainerError with the
// runtime's message, an event, back-off, the agent unharmed), hostPath type checks (FailedMount;
// DirectoryOrCreate creates), a container over its memory limit (OOMKilled), and pods/log's
// sinceSeconds, sinceTime and limitBytes through kubectl against a running container.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { skipUnless } from '../helpers/skip.js';
import { LocalNodeHarness, realPodsMissing, TEST_IMAGE as image } from './pod-harness.js';
import { eventually } from './support.js';

const missing = realPodsMissing();
const running = (p: Pod) => p.status?.containerStatuses?.[0]?.state?.running !== undefined;

describe('real pods that fail, and pods/log options', skipUnless(missing === '', missing), () => {
  const h = new LocalNodeHarness('pe', 192);
  before(() => h.start());
  after(() => h.close());

  test('a missing executable: RunContainerError with the runtime message, a Failed event, back-off; the agent keeps serving', async () => {
    const failedEvents = async () =>
      (await h.cluster!.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=nobinary,reason=Failed', '-o', 'jsonpath={.items[*].count}'])).stdout
        .split(' ')
        .filter(Boolean)
        .reduce((sum, n) => sum + Number(n), 0);
    await h.create({ metadata: { name: 'nobinary' }, spec: { containers: [{ name: 'c', image, command: ['/no/such/binary'] }] } });
    const waits: { reason: string; message: string }[] = [];
    let firstFailureAt = 0;
    await eventually('three failed starts', async () => {
      const w = (await h.pods.get('nobinary')).status?.containerStatuses?.[0]?.state?.waiting;
      if (w?.reason && w.reason !== 'ContainerCreating') waits.push({ reason: w.reason, message: w.message ?? '' });
      const n = await failedEvents();
      if (n >= 1 && !firstFailureAt) firstFailureAt = Date.now();
      return n >= 3;
    }, 30_000);
    // back-off between the tries: 1 s, then 2 s (crashBackoffBaseMs 1000)
    assert.ok(Date.now() - firstFailureAt >= 2500, `3 failures within ${Date.now() - firstFailureAt} ms of the first`);
    const seen = waits.find((w) => w.reason === 'RunContainerError' || w.reason === 'CreateContainerError');
    assert.ok(seen, JSON.stringify(waits));
    // as the kubelet over containerd/runc, where the missing executable fails the start (task create)
    assert.equal(seen.reason, 'RunContainerError');
    assert.match(seen.message, /\/no\/such\/binary/);
    assert.match(seen.message, /no such file or directory/i);
    const events = (await h.eventReasons('nobinary')).filter((e) => e.startsWith('Failed:'));
    assert.ok(events.some((e) => e === `Failed:Error: ${seen.message}`), events.join('\n'));
    const pod = await h.pods.get('nobinary');
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(pod.status?.containerStatuses?.[0]?.ready, false);
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.running, undefined);

    // the agent still runs other pods
    await h.create({ metadata: { name: 'neighbour' }, spec: { containers: [{ name: 'n', image, command: ['sleep', '3600'] }] } });
    await h.until('neighbour', 'Running', running);
    await h.deleteAndWait('nobinary');
    await h.deleteAndWait('neighbour');
  });

  test('a hostPath of type Directory that does not exist: ContainerCreating and FailedMount; DirectoryOrCreate creates it', async () => {
    const absent = join(h.work, 'no-such-dir');
    await h.create({
      metadata: { name: 'nomount' },
      spec: { containers: [{ name: 'c', image, command: ['sleep', '3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', hostPath: { path: absent, type: 'Directory' } }] },
    });
    let events: string[] = [];
    await eventually('FailedMount', async () => {
      events = await h.eventReasons('nomount');
      return events.some((e) => e.startsWith('FailedMount:'));
    }, 20_000);
    assert.ok(events.includes(`FailedMount:MountVolume.SetUp failed for volume "data" : hostPath type check failed: ${absent} is not a directory`), events.join('\n'));
    const pod = await h.pods.get('nomount');
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ContainerCreating');
    assert.equal(existsSync(absent), false, 'type Directory does not create the path');
    await h.deleteAndWait('nomount');

    const made = join(h.work, 'made', 'here');
    await h.create({
      metadata: { name: 'mkmount' },
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'c', image, command: ['sh', '-c', 'echo hi > /data/file && cat /data/file'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', hostPath: { path: made, type: 'DirectoryOrCreate' } }],
      },
    });
    await h.until('mkmount', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
    assert.ok(statSync(made).isDirectory());
    assert.equal(await h.logs(['mkmount']), 'hi\n');
    await h.deleteAndWait('mkmount');
  });

  test('a container over its 16Mi memory limit: lastState.terminated.reason OOMKilled, exit code 137', async () => {
    await h.create({
      metadata: { name: 'hog' },
      spec: {
        containers: [{ name: 'h', image, command: ['sh', '-c', 'echo start; dd if=/dev/zero of=/dev/null bs=64M count=1'], resources: { limits: { memory: '16Mi', cpu: '500m' } } }],
      },
    });
    const pod = await h.until('hog', 'restarted after OOM', (p) => p.status?.containerStatuses?.[0]?.lastState?.terminated !== undefined, 30_000);
    const cs = pod.status!.containerStatuses![0]!;
    assert.equal(cs.lastState?.terminated?.reason, 'OOMKilled');
    assert.equal(cs.lastState?.terminated?.exitCode, 137);
    const table = (await h.cluster!.kubectlOk(['get', 'pod', 'hog', '-o', 'jsonpath={.status.containerStatuses[0].lastState.terminated.reason}'])).stdout;
    assert.equal(table, 'OOMKilled');
    await h.deleteAndWait('hog');
  });

  test('kubectl logs --since, --since-time and --limit-bytes against a running container', async () => {
    await h.create({ metadata: { name: 'ticker' }, spec: { containers: [{ name: 't', image, command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.5; done'] }] } });
    await h.until('ticker', 'Running', running);
    await eventually('8 lines logged', async () => (await h.logs(['ticker'])).split('\n').filter(Boolean).length >= 8, 20_000);

    const stamped = (await h.logs(['ticker', '--timestamps'])).split('\n').filter(Boolean);
    const times = stamped.map((l) => Date.parse(l.split(' ')[0]!));
    assert.ok(times.every((t) => !Number.isNaN(t)), stamped.join('\n'));

    const since = (await h.logs(['ticker', '--since=2s', '--timestamps'])).split('\n').filter(Boolean);
    const all = (await h.logs(['ticker'])).split('\n').filter(Boolean);
    assert.ok(since.length >= 2 && since.length <= 6, `--since=2s gave ${since.length} of ${all.length} lines:\n${since.join('\n')}`);
    const cutoff = Date.now() - 2000 - 1000;
    for (const l of since) assert.ok(Date.parse(l.split(' ')[0]!) >= cutoff, l);
    assert.ok(since.length < all.length);

    // --since-time: kubectl sends it to the second (metav1.Time), so the lines stamped in or after that second
    const pivot = stamped[3]!.split(' ')[0]!;
    const pivotSecond = Math.floor(Date.parse(pivot) / 1000) * 1000;
    const fromPivot = (await h.logs(['ticker', `--since-time=${pivot}`, '--timestamps'])).split('\n').filter(Boolean);
    const expected = stamped.filter((l) => Date.parse(l.split(' ')[0]!) >= pivotSecond);
    assert.ok(expected.length < stamped.length, 'some lines are before the pivot second');
    assert.deepEqual(fromPivot.slice(0, expected.length), expected);
    for (const l of fromPivot) assert.ok(Date.parse(l.split(' ')[0]!) >= pivotSecond, l);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    assert.equal(await h.logs(['ticker', `--since-time=${future}`]), '');

    // --limit-bytes: the first n bytes, cut mid-line
    assert.equal(await h.logs(['ticker', '--limit-bytes=9']), 'tick-1\nti');
    assert.equal(await h.logs(['ticker', '--limit-bytes=7']), 'tick-1\n');
    assert.equal(await h.logs(['ticker', '--limit-bytes=1']), 't');
    assert.equal(await h.logs(['ticker', '--tail=2', '--limit-bytes=3']).then((s) => s.length), 3);
    await h.deleteAndWait('ticker');
  });
});
