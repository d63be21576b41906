import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CronJob, Job, JobSpec } from 'kubernetes-types/batch/v1.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { isConflict, isNotFound, RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { cronJobController, jobNameFor } from '../../src/controllers/cronjob/controller.js';
import { jobControllerWith } from '../../src/controllers/job/controller.js';
import { ControllerManager, type ControllerFactory } from '../../src/controllers/manager.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { FakeClock } from './support-clock.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const NS = 'default';
const MINUTE = 60_000;
const settle = () => new Promise((r) => setTimeout(r, 250));
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const nextMinuteAfter = (ms: number) => (Math.floor(ms / MINUTE) + 1) * MINUTE;
const jobSpec: JobSpec = { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } };

interface Harness {
  cluster: TestCluster;
  rest: RestClient;
  clock: FakeClock;
  manager: ControllerManager;
  transport: Transport;
}

async function startHarness(factories: ControllerFactory[]): Promise<Harness> {
  const cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
  const transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'test', groups: ['system:masters'] });
  const clock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
  const controllerTransport = inProcessTransport(inProcessAcceptor(cluster.api.handle), {
    username: 'system:serviceaccount:kube-system:cronjob-controller',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'],
  });
  const manager = new ControllerManager(controllerTransport, factories, { clock });
  await manager.start();
  return { cluster, rest: new RestClient(transport), clock, manager, transport };
}

async function stopHarness(h: Harness | undefined): Promise<void> {
  await h?.manager.stop();
  h?.manager.informers.transport.close();
  h?.transport.close();
  await h?.cluster.close();
}

describe('cronjob controller on a fake clock', () => {
  let h: Harness;
  const cronJobs = () => h.rest.resource<CronJob>(RESOURCES.cronjobs, NS);
  const jobs = () => h.rest.resource<Job>(RESOURCES.jobs, NS);
  const eventsOf = async (name: string) =>
    (await h.rest.resource<Event>(RESOURCES.events, NS).list()).items.filter((e) => e.involvedObject.kind === 'CronJob' && e.involvedObject.name === name);
  const eventWhere = (name: string, ok: (e: Event) => boolean) => waitFor(`an event on ${name}`, async () => (await eventsOf(name)).find(ok));
  const jobNamed = (name: string) =>
    waitFor(`job ${name}`, async () => {
      try {
        return await jobs().get(name);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    });
  const jobExists = async (name: string) => {
    try {
      await jobs().get(name);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  };
  /** What the Job controller would write when the Job ends. */
  async function finish(name: string, type: 'Complete' | 'Failed', at: number): Promise<void> {
    for (;;) {
      const j = await jobs().get(name);
      const t = iso(at);
      try {
        await jobs().updateStatus({
          ...j,
          status: {
            startTime: j.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'] ?? t,
            ...(type === 'Complete' ? { completionTime: t, succeeded: 1 } : { failed: 1 }),
            conditions: [{ type, status: 'True', lastTransitionTime: t, lastProbeTime: t }],
          },
        });
        return;
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
  }
  /** The first schedule time of a new every-minute CronJob. */
  const firstMinute = (cj: CronJob) => nextMinuteAfter(Date.parse(cj.metadata!.creationTimestamp!));

  before(async () => {
    h = await startHarness([cronJobController]);
  });
  after(() => stopHarness(h));

  it('creates a Job from the template at each schedule time and keeps history limits', async () => {
    const cj = await cronJobs().create({
      metadata: { name: 'tick' },
      spec: {
        schedule: '* * * * *',
        successfulJobsHistoryLimit: 2,
        jobTemplate: { metadata: { labels: { team: 'a' }, annotations: { note: 'x' } }, spec: jobSpec },
      },
    });
    let t = firstMinute(cj);
    await settle();
    assert.equal((await jobs().list()).items.length, 0, 'nothing before the schedule time');
    h.clock.advanceTo(t + 1000);
    const first = await jobNamed(jobNameFor('tick', t));
    assert.equal(first.metadata!.name, `tick-${t / MINUTE}`);
    assert.equal(first.metadata!.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp'], iso(t));
    assert.equal(first.metadata!.annotations!.note, 'x');
    assert.equal(first.metadata!.labels!.team, 'a');
    const ref = first.metadata!.ownerReferences![0];
    assert.deepEqual([ref.kind, ref.name, ref.uid, ref.controller], ['CronJob', 'tick', cj.metadata!.uid, true]);
    const active = await waitFor('status.active', async () => {
      const c = await cronJobs().get('tick');
      return c.status?.active?.length ? c : undefined;
    });
    assert.equal(active.status!.active![0].name, first.metadata!.name);
    assert.equal(active.status!.lastScheduleTime, iso(t));
    assert.equal((await eventWhere('tick', (e) => e.reason === 'SuccessfulCreate')).message, `Created job ${first.metadata!.name}`);

    await finish(first.metadata!.name!, 'Complete', t + 5000);
    const done = await waitFor('the finished job to leave status.active', async () => {
      const c = await cronJobs().get('tick');
      return !c.status?.active?.length && c.status?.lastSuccessfulTime ? c : undefined;
    });
    assert.equal(done.status!.lastSuccessfulTime, iso(t + 5000));
    assert.equal((await eventWhere('tick', (e) => e.reason === 'SawCompletedJob')).message, `Saw completed job: ${first.metadata!.name}, condition: Complete`);

    for (let i = 0; i < 2; i++) {
      t += MINUTE;
      h.clock.advanceTo(t + 1000);
      const j = await jobNamed(jobNameFor('tick', t));
      await finish(j.metadata!.name!, 'Complete', t + 5000);
    }
    // three succeeded, two kept: the oldest goes
    await waitFor('the oldest job to be deleted', async () => ((await jobExists(first.metadata!.name!)) ? undefined : true));
    assert.equal((await eventWhere('tick', (e) => e.reason === 'SuccessfulDelete')).message, `Deleted job ${first.metadata!.name}`);
    assert.ok(await jobExists(jobNameFor('tick', t)));
    assert.ok(await jobExists(jobNameFor('tick', t - MINUTE)));
    const got = await h.cluster.kubectlOk(['get', 'cronjob', 'tick']);
    assert.match(got.stdout, /tick\s+\* \* \* \* \*\s+<none>\s+False\s+0\s+/);
    await cronJobs().delete('tick');
  });

  it('does not start a run while one is active under Forbid', async () => {
    // created suspended: the fake clock may already be minutes past the creation time, and a run for one of
    // those minutes would be the active one
    const cj = await cronJobs().create({ metadata: { name: 'forbid' }, spec: { schedule: '* * * * *', suspend: true, concurrencyPolicy: 'Forbid', jobTemplate: { spec: jobSpec } } });
    const t = Math.max(firstMinute(cj), nextMinuteAfter(h.clock.now()));
    h.clock.advanceTo(t + 1000);
    await cronJobs().patch('forbid', 'merge', { spec: { suspend: false } });
    await jobNamed(jobNameFor('forbid', t));
    await waitFor('active', async () => ((await cronJobs().get('forbid')).status?.active?.length ? true : undefined));
    h.clock.advanceTo(t + MINUTE + 1000);
    const ev = await eventWhere('forbid', (e) => e.reason === 'JobAlreadyActive');
    assert.equal(ev.message, 'Not starting job because prior execution is running and concurrency policy is Forbid');
    assert.equal(await jobExists(jobNameFor('forbid', t + MINUTE)), false);
    await cronJobs().delete('forbid');
  });

  it('replaces the active run under Replace', async () => {
    const cj = await cronJobs().create({ metadata: { name: 'replace' }, spec: { schedule: '* * * * *', concurrencyPolicy: 'Replace', jobTemplate: { spec: jobSpec } } });
    const t = Math.max(firstMinute(cj), nextMinuteAfter(h.clock.now()));
    h.clock.advanceTo(t + 1000);
    const old = await jobNamed(jobNameFor('replace', t));
    await waitFor('active', async () => ((await cronJobs().get('replace')).status?.active?.length ? true : undefined));
    h.clock.advanceTo(t + MINUTE + 1000);
    const fresh = await jobNamed(jobNameFor('replace', t + MINUTE));
    await waitFor('the old run to be deleted', async () => ((await jobExists(old.metadata!.name!)) ? undefined : true));
    const c = await waitFor('only the new run active', async () => {
      const x = await cronJobs().get('replace');
      return x.status?.active?.length === 1 && x.status.active[0].name === fresh.metadata!.name ? x : undefined;
    });
    assert.ok(c);
    await cronJobs().delete('replace');
  });

  it('starts nothing while suspended', async () => {
    await cronJobs().create({ metadata: { name: 'paused' }, spec: { schedule: '* * * * *', suspend: true, jobTemplate: { spec: jobSpec } } });
    h.clock.advance(3 * MINUTE);
    await settle();
    assert.equal((await jobs().list()).items.filter((j) => j.metadata!.name!.startsWith('paused-')).length, 0);
    await cronJobs().delete('paused');
  });

  it('skips a schedule time missed by more than startingDeadlineSeconds, then runs the next', async () => {
    await cronJobs().create({ metadata: { name: 'late' }, spec: { schedule: '*/5 * * * *', startingDeadlineSeconds: 10, jobTemplate: { spec: jobSpec } } });
    const due = (Math.floor(h.clock.now() / (5 * MINUTE)) + 1) * 5 * MINUTE;
    // the controller only looks again once time has jumped 30 s past the schedule time
    h.clock.advanceTo(due + 30_000);
    await settle();
    assert.equal(await jobExists(jobNameFor('late', due)), false);
    // as upstream (kubernetes#111223), the missed time is not even reported
    assert.equal((await eventsOf('late')).filter((e) => e.reason === 'MissSchedule').length, 0);
    h.clock.advanceTo(due + 5 * MINUTE + 1000);
    await jobNamed(jobNameFor('late', due + 5 * MINUTE));
    await cronJobs().delete('late');
  });

  it('warns about too many missed start times and runs the latest', async () => {
    const cj = await cronJobs().create({ metadata: { name: 'asleep' }, spec: { schedule: '* * * * *', jobTemplate: { spec: jobSpec } } });
    await cronJobs().patch('asleep', 'merge', { spec: { suspend: true } });
    const start = Math.max(firstMinute(cj), nextMinuteAfter(h.clock.now()));
    h.clock.advanceTo(start + 150 * MINUTE + 1000);
    await cronJobs().patch('asleep', 'merge', { spec: { suspend: false } });
    const ev = await eventWhere('asleep', (e) => e.reason === 'TooManyMissedTimes');
    assert.match(ev.message ?? '', /^too many missed start times: 1\d\d\. Set or decrease \.spec\.startingDeadlineSeconds or check clock skew$/);
    await jobNamed(jobNameFor('asleep', start + 150 * MINUTE));
    await cronJobs().delete('asleep');
  });

  it('schedules in spec.timeZone and stamps the scheduled time in that zone', async () => {
    // minute 30 in Kolkata (UTC+05:30, no daylight saving) is minute 0 in UTC
    await cronJobs().create({ metadata: { name: 'ist' }, spec: { schedule: '30 * * * *', timeZone: 'Asia/Kolkata', jobTemplate: { spec: jobSpec } } });
    const hour = 60 * MINUTE;
    const due = (Math.floor(h.clock.now() / hour) + 1) * hour;
    h.clock.advanceTo(due + 1000);
    const job = await jobNamed(jobNameFor('ist', due));
    const local = new Date(due + 5.5 * hour).toISOString().slice(0, 19);
    assert.equal(job.metadata!.annotations!['batch.kubernetes.io/cronjob-scheduled-timestamp'], `${local}+05:30`);
    await cronJobs().delete('ist');
  });
});

describe('kubectl create job --from=cronjob', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness([cronJobController, jobControllerWith({ syncBatchPeriodMs: 0 })]);
  });
  after(() => stopHarness(h));

  it('instantiates a Job the cronjob controller reports as unexpected and the job controller runs', async () => {
    await h.cluster.kubectlOk(['create', 'cronjob', 'nightly', '--image=busybox', '--schedule=0 3 * * *', '--', 'echo', 'hi']);
    const out = await h.cluster.kubectlOk(['create', 'job', '--from=cronjob/nightly', 'nightly-manual']);
    assert.match(out.stdout, /job.batch\/nightly-manual created/);
    const job = await h.rest.resource<Job>(RESOURCES.jobs, NS).get('nightly-manual');
    const cj = await h.rest.resource<CronJob>(RESOURCES.cronjobs, NS).get('nightly');
    assert.equal(job.metadata!.annotations!['cronjob.kubernetes.io/instantiate'], 'manual');
    const ref = job.metadata!.ownerReferences![0];
    assert.deepEqual([ref.kind, ref.name, ref.uid, ref.controller], ['CronJob', 'nightly', cj.metadata!.uid, true]);
    assert.deepEqual(job.spec!.template.spec!.containers[0].command, ['echo', 'hi']);
    const pod = await waitFor('a pod for the manual job', async () =>
      (await h.rest.resource<Pod>(RESOURCES.pods, NS).list({ labelSelector: 'batch.kubernetes.io/job-name=nightly-manual' })).items[0],
    );
    assert.equal(pod.metadata!.ownerReferences![0].name, 'nightly-manual');
    const ev = await waitFor('UnexpectedJob', async () =>
      (await h.rest.resource<Event>(RESOURCES.events, NS).list()).items.find((e) => e.reason === 'UnexpectedJob'),
    );
    assert.equal(ev.message, 'Saw a job that the controller did not create or forgot: nightly-manual');
    assert.equal((await h.rest.resource<CronJob>(RESOURCES.cronjobs, NS).get('nightly')).status?.active, undefined);
  });
});
