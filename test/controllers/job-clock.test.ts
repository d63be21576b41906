// Job controller behaviour that depends on time (pod failure backoff, activeDeadlineSeconds,
// ttlSecondsAfterFinished), driven by a fake clock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isNotFound, type RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { garbageCollectorController } from '../../src/controllers/garbagecollector/controller.js';
import { jobControllerWith } from '../../src/controllers/job/controller.js';
import { ttlAfterFinishedController } from '../../src/controllers/job/ttl.js';
import type { TestCluster } from '../helpers/cluster.js';
import { startControllerHarness, type ControllerHarness } from '../helpers/fake-kubelet.js';
import { FakeClock } from './support-clock.js';
import { FakeKubelet } from './support-kubelet.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const settle = () => new Promise((r) => setTimeout(r, 300));
const NS = 'default';
const template = { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } };

describe('job controller on a fake clock', () => {
  let h: ControllerHarness | undefined;
  let cluster: TestCluster;
  let rest: RestClient;
  let kubelet: FakeKubelet;
  const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);

  const jobs = () => rest.resource<Job>(RESOURCES.jobs, NS);
  const pods = () => rest.resource<Pod>(RESOURCES.pods, NS);
  const activePodsOf = async (job: string) =>
    (await pods().list({ labelSelector: `batch.kubernetes.io/job-name=${job}` })).items.filter(
      (p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    );
  const jobWhere = (name: string, ok: (j: Job) => boolean) =>
    waitFor(`job ${name}`, async () => {
      const j = await jobs().get(name);
      return ok(j) ? j : undefined;
    });

  before(async () => {
    h = await startControllerHarness([jobControllerWith({ syncBatchPeriodMs: 0 }), ttlAfterFinishedController, garbageCollectorController], {
      controllerUser: 'system:serviceaccount:kube-system:jobs',
      clock,
    });
    ({ cluster, rest } = h);
    kubelet = new FakeKubelet(rest, () => clock.now());
  });
  after(() => h?.close());

  it('replaces failed pods after 10 s, then 20 s', async () => {
    await jobs().create({ metadata: { name: 'flaky' }, spec: { backoffLimit: 5, template } });
    const first = await waitFor('a pod', async () => (await activePodsOf('flaky'))[0]);
    await kubelet.fail(NS, first.metadata!.name!);
    await jobWhere('flaky', (j) => j.status?.failed === 1);
    await settle();
    assert.equal((await activePodsOf('flaky')).length, 0, 'no replacement before the backoff');
    clock.advance(9_000);
    await settle();
    assert.equal((await activePodsOf('flaky')).length, 0, 'still none after 9 s');
    clock.advance(1_000);
    const second = await waitFor('the replacement after 10 s', async () => (await activePodsOf('flaky'))[0]);

    await kubelet.fail(NS, second.metadata!.name!);
    await jobWhere('flaky', (j) => j.status?.failed === 2);
    clock.advance(19_000);
    await settle();
    assert.equal((await activePodsOf('flaky')).length, 0, 'the second backoff is 20 s');
    clock.advance(1_000);
    const third = await waitFor('the replacement after 20 s', async () => (await activePodsOf('flaky'))[0]);
    await kubelet.succeed(NS, third.metadata!.name!);
    const done = await jobWhere('flaky', (j) => !!j.status?.conditions?.some((c) => c.type === 'Complete'));
    assert.equal(done.status?.failed, 2);
    assert.equal(done.status?.succeeded, 1);
  });

  it('fails a Job active longer than activeDeadlineSeconds and deletes its pods', async () => {
    await jobs().create({ metadata: { name: 'slow' }, spec: { activeDeadlineSeconds: 30, template } });
    const pod = await waitFor('a pod', async () => (await activePodsOf('slow'))[0]);
    await kubelet.running(NS, pod.metadata!.name!);
    clock.advance(29_000);
    await settle();
    assert.equal((await jobs().get('slow')).status?.conditions, undefined);
    clock.advance(1_000);
    const failed = await jobWhere('slow', (j) => !!j.status?.conditions?.some((c) => c.type === 'Failed'));
    assert.deepEqual(
      failed.status?.conditions?.map((c) => `${c.type}/${c.reason}/${c.message}`),
      ['FailureTarget/DeadlineExceeded/Job was active longer than specified deadline', 'Failed/DeadlineExceeded/Job was active longer than specified deadline'],
    );
    assert.equal(failed.status?.failed, 1, 'the deleted active pod counts as failed');
    assert.equal(failed.status?.active ?? 0, 0);
    await waitFor('the pod to be gone', async () => {
      try {
        await pods().get(pod.metadata!.name!);
        return undefined;
      } catch (e) {
        return isNotFound(e) ? true : undefined;
      }
    });
  });

  it('lets its pods go when the Job is deleted in the background or the foreground', async () => {
    for (const cascade of ['background', 'foreground']) {
      const name = `gone-${cascade}`;
      await jobs().create({ metadata: { name }, spec: { parallelism: 2, completions: 2, template } });
      const running = await waitFor('two pods', async () => {
        const p = await activePodsOf(name);
        return p.length === 2 ? p : undefined;
      });
      for (const p of running) await kubelet.running(NS, p.metadata!.name!);
      const res = await cluster.kubectl(['delete', 'job', name, `--cascade=${cascade}`, '--timeout=20s']);
      assert.equal(res.code, 0, res.stderr);
      // the tracking finalizers are released, so nothing is left behind
      await waitFor(`the pods of ${name} to be gone`, async () => {
        const left = await pods().list({ labelSelector: `batch.kubernetes.io/job-name=${name}` });
        return left.items.length === 0 ? true : undefined;
      });
    }
  });

  it('deletes a finished Job and its pods ttlSecondsAfterFinished later', async () => {
    await jobs().create({ metadata: { name: 'shortlived' }, spec: { ttlSecondsAfterFinished: 60, template } });
    const pod = await waitFor('a pod', async () => (await activePodsOf('shortlived'))[0]);
    await kubelet.succeed(NS, pod.metadata!.name!);
    await jobWhere('shortlived', (j) => !!j.status?.conditions?.some((c) => c.type === 'Complete'));
    clock.advance(59_000);
    await settle();
    assert.ok(await jobs().get('shortlived'), 'kept until the TTL passed');
    clock.advance(1_000);
    await waitFor('the Job and its pod to be gone', async () => {
      try {
        await jobs().get('shortlived');
        return undefined;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      const left = await pods().list({ labelSelector: 'batch.kubernetes.io/job-name=shortlived' });
      return left.items.length === 0 ? true : undefined;
    });
  });
});
