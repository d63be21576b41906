import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import type { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { jobControllerWith } from '../../src/controllers/job/controller.js';
import type { TestCluster } from '../helpers/cluster.js';
import { startControllerHarness, type ControllerHarness } from '../helpers/fake-kubelet.js';
import { FakeKubelet } from './support-kubelet.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const NS = 'default';

function jobYAML(name: string, spec: string): string {
  return `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
spec:
${spec}
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: busybox
`;
}

describe('job controller', () => {
  let h: ControllerHarness | undefined;
  let cluster: TestCluster;
  let rest: RestClient;
  let kubelet: FakeKubelet;
  const logs: string[] = [];

  const jobs = () => rest.resource<Job>(RESOURCES.jobs, NS);
  const pods = () => rest.resource<Pod>(RESOURCES.pods, NS);
  const podsOf = async (job: string) => (await pods().list({ labelSelector: `batch.kubernetes.io/job-name=${job}` })).items;
  const activePodsOf = async (job: string) =>
    (await podsOf(job)).filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const eventsOf = async (name: string) =>
    (await rest.resource<Event>(RESOURCES.events, NS).list()).items.filter((e) => e.involvedObject.name === name && e.involvedObject.kind === 'Job');

  before(async () => {
    h = await startControllerHarness([jobControllerWith({ syncBatchPeriodMs: 0 })], { controllerUser: 'system:serviceaccount:kube-system:job-controller', logs });
    ({ cluster, rest } = h);
    kubelet = new FakeKubelet(rest);
  });
  after(() => h?.close());

  it('runs pods until completions succeeded; kubectl wait sees Complete', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: jobYAML('two', '  completions: 2\n  parallelism: 1') });
    const first = await waitFor('the first pod', async () => (await activePodsOf('two'))[0]);
    assert.match(first.metadata!.name!, /^two-[a-z0-9]{5}$/);
    assert.deepEqual(first.metadata!.finalizers, ['batch.kubernetes.io/job-tracking']);
    const owner = first.metadata!.ownerReferences![0];
    assert.equal(owner.kind, 'Job');
    assert.equal(owner.controller, true);
    assert.equal(owner.blockOwnerDeletion, true);
    assert.equal((await activePodsOf('two')).length, 1, 'parallelism 1');

    const wait = cluster.kubectl(['wait', '--for=condition=complete', 'job/two', '--timeout=20s']);
    await kubelet.running(NS, first.metadata!.name!);
    await waitFor('ready 1', async () => ((await jobs().get('two')).status?.ready === 1 ? true : undefined));
    await kubelet.succeed(NS, first.metadata!.name!);
    const second = await waitFor('the second pod', async () => (await activePodsOf('two')).find((p) => p.metadata!.name !== first.metadata!.name));
    await kubelet.succeed(NS, second.metadata!.name!);
    const waited = await wait;
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /job.batch\/two condition met/);

    const job = await jobs().get('two');
    assert.equal(job.status?.succeeded, 2);
    assert.equal(job.status?.active ?? 0, 0);
    assert.ok(job.status?.completionTime);
    assert.ok(job.status?.startTime);
    assert.deepEqual(job.status?.uncountedTerminatedPods ?? {}, {});
    const types = job.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`);
    assert.deepEqual(types, ['SuccessCriteriaMet=True/CompletionsReached', 'Complete=True/CompletionsReached']);
    assert.equal(job.status?.conditions?.[1].message, 'Reached expected number of succeeded pods');
    // counted pods lost their finalizer
    for (const p of await podsOf('two')) assert.deepEqual(p.metadata?.finalizers ?? [], []);
    const events = await waitFor('events', async () => {
      const ev = await eventsOf('two');
      return ev.some((e) => e.reason === 'Completed') ? ev : undefined;
    });
    const created = events.filter((e) => e.reason === 'SuccessfulCreate').map((e) => e.message);
    assert.ok(created.includes(`Created pod: ${first.metadata!.name}`), JSON.stringify(created));
    assert.equal(events.find((e) => e.reason === 'Completed')?.message, 'Job completed');
    const got = await cluster.kubectlOk(['get', 'job', 'two']);
    assert.match(got.stdout, /two\s+Complete\s+2\/2/);
  });

  it('fails a Job whose failed pods exceed backoffLimit; kubectl wait sees Failed', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { stdin: jobYAML('doomed', '  backoffLimit: 0') });
    const pod = await waitFor('a pod', async () => (await activePodsOf('doomed'))[0]);
    const wait = cluster.kubectl(['wait', '--for=condition=failed', 'job/doomed', '--timeout=20s']);
    await kubelet.fail(NS, pod.metadata!.name!);
    const waited = await wait;
    assert.equal(waited.code, 0, waited.stderr);
    const job = await jobs().get('doomed');
    assert.equal(job.status?.failed, 1);
    assert.equal(job.status?.succeeded ?? 0, 0);
    assert.equal(job.status?.completionTime, undefined);
    const conds = job.status?.conditions ?? [];
    assert.deepEqual(
      conds.map((c) => `${c.type}/${c.reason}`),
      ['FailureTarget/BackoffLimitExceeded', 'Failed/BackoffLimitExceeded'],
    );
    assert.equal(conds[1].message, 'Job has reached the specified backoff limit');
    const ev = await waitFor('the BackoffLimitExceeded event', async () => (await eventsOf('doomed')).find((e) => e.reason === 'BackoffLimitExceeded'));
    assert.equal(ev.type, 'Warning');
    assert.equal((await activePodsOf('doomed')).length, 0, 'no replacement once failed');
  });

  it('keeps parallelism pods running and reports ready ones', async () => {
    await jobs().create({
      metadata: { name: 'wide' },
      spec: { completions: 5, parallelism: 2, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    const two = await waitFor('two pods', async () => {
      const p = await activePodsOf('wide');
      return p.length === 2 ? p : undefined;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await activePodsOf('wide')).length, 2, 'expectations keep it at parallelism');
    for (const p of two) await kubelet.running(NS, p.metadata!.name!);
    const job = await waitFor('active 2 ready 2', async () => {
      const j = await jobs().get('wide');
      return j.status?.active === 2 && j.status?.ready === 2 ? j : undefined;
    });
    assert.equal(job.status?.terminating, 0);
    // one succeeds: another takes its place
    await kubelet.succeed(NS, two[0].metadata!.name!);
    await waitFor('a replacement', async () => ((await activePodsOf('wide')).length === 2 ? true : undefined));
    assert.equal((await jobs().get('wide')).status?.succeeded, 1);
  });

  it('runs Indexed Jobs with one pod per index and reports completedIndexes', async () => {
    await jobs().create({
      metadata: { name: 'idx' },
      spec: {
        completions: 3,
        parallelism: 3,
        completionMode: 'Indexed',
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
      },
    });
    const all = await waitFor('three pods', async () => {
      const p = await activePodsOf('idx');
      return p.length === 3 ? p : undefined;
    });
    const byIndex = new Map(all.map((p) => [p.metadata!.annotations!['batch.kubernetes.io/job-completion-index'], p]));
    assert.deepEqual([...byIndex.keys()].sort(), ['0', '1', '2']);
    for (const [ix, p] of byIndex) {
      assert.equal(p.metadata!.labels!['batch.kubernetes.io/job-completion-index'], ix);
      assert.equal(p.spec!.hostname, `idx-${ix}`);
      assert.match(p.metadata!.name!, new RegExp(`^idx-${ix}-[a-z0-9]{5}$`));
      const env = p.spec!.containers[0].env?.find((e) => e.name === 'JOB_COMPLETION_INDEX');
      assert.equal(env?.valueFrom?.fieldRef?.fieldPath, "metadata.labels['batch.kubernetes.io/job-completion-index']");
    }
    await kubelet.succeed(NS, byIndex.get('1')!.metadata!.name!);
    await waitFor('completedIndexes 1', async () => ((await jobs().get('idx')).status?.completedIndexes === '1' ? true : undefined));
    // a failed index gets a new pod for that same index
    await kubelet.fail(NS, byIndex.get('0')!.metadata!.name!);
    await waitFor('failed 1', async () => ((await jobs().get('idx')).status?.failed === 1 ? true : undefined));
    await kubelet.succeed(NS, byIndex.get('2')!.metadata!.name!);
    await waitFor('completedIndexes 1,2', async () => ((await jobs().get('idx')).status?.completedIndexes === '1,2' ? true : undefined));
    assert.equal((await jobs().get('idx')).status?.conditions, undefined);
  });

  it('deletes the pods of a suspended Job and starts again on resume', async () => {
    await jobs().create({
      metadata: { name: 'pausable' },
      spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    const suspended = await waitFor('the Suspended condition', async () => {
      const j = await jobs().get('pausable');
      return j.status?.conditions?.some((c) => c.type === 'Suspended' && c.status === 'True') ? j : undefined;
    });
    assert.equal(suspended.status?.startTime, undefined);
    assert.equal((await podsOf('pausable')).length, 0);

    await jobs().patch('pausable', 'merge', { spec: { suspend: false } });
    const pod = await waitFor('a pod after resume', async () => (await activePodsOf('pausable'))[0]);
    const resumed = await jobs().get('pausable');
    const cond = resumed.status?.conditions?.find((c) => c.type === 'Suspended');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'JobResumed');
    assert.ok(resumed.status?.startTime);

    await kubelet.running(NS, pod.metadata!.name!);
    await jobs().patch('pausable', 'merge', { spec: { suspend: true } });
    await waitFor('the pod to go', async () => ((await podsOf('pausable')).length === 0 ? true : undefined));
    const again = await jobs().get('pausable');
    assert.equal(again.status?.active ?? 0, 0);
    assert.equal(again.status?.failed ?? 0, 0, 'pods removed by suspend are not failures');
    const reasons = (await waitFor('events', async () => {
      const ev = await eventsOf('pausable');
      return ev.some((e) => e.reason === 'SuccessfulDelete') ? ev : undefined;
    })).map((e) => e.reason);
    for (const r of ['Suspended', 'Resumed', 'SuccessfulCreate', 'SuccessfulDelete']) assert.ok(reasons.includes(r), `${r} in ${reasons}`);
  });

  it('counts a pod deleted by someone else as failed before its finalizer goes', async () => {
    await jobs().create({
      metadata: { name: 'victim' },
      spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    const pod = await waitFor('a pod', async () => (await activePodsOf('victim'))[0]);
    await pods().delete(pod.metadata!.name!);
    const job = await waitFor('the Job to fail', async () => {
      const j = await jobs().get('victim');
      return j.status?.conditions?.some((c) => c.type === 'Failed') ? j : undefined;
    });
    assert.equal(job.status?.failed, 1);
    await waitFor('the pod to be gone', async () => ((await podsOf('victim')).length === 0 ? true : undefined));
    assert.ok(!logs.some((l) => /job-controller|error syncing/.test(l) && /TypeError/.test(l)), logs.join('\n'));
  });
});
