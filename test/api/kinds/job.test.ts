import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { cronJobKind, jobKind, validateTimeZone } from '../../../src/api/kinds/job.js';
import type { KindInfo } from '../../../src/api/types.js';
import { Registry } from '../../../src/apiserver/registry.js';
import { MemoryStore } from '../../../src/storage/memory.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form test fixtures
const js = jobKind.strategy;
const cs = cronJobKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-01T12:00:00Z');
const UID = '2f6c1b1e-0000-4000-8000-000000000001';

function job(extra: Obj = {}, meta: Obj = {}): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid: UID, creationTimestamp: '2024-05-01T11:00:00Z', ...meta },
    spec: {
      template: { spec: { containers: [{ name: 'pi', image: 'perl:5.34.0', command: ['perl'] }], restartPolicy: 'Never' } },
      ...extra,
    },
  } as Job;
}

/** defaults + prepareForCreate, as the generic store runs them on create */
function created(o: Job): Job {
  const c = structuredClone(o);
  js.defaults!(c);
  js.prepareForCreate!(c);
  return c;
}

const defaultedJob = (o: Job): Job => {
  const c = structuredClone(o);
  js.defaults!(c);
  return c;
};

describe('Job discovery info', () => {
  it('matches upstream discovery', () => {
    assert.equal(jobKind.group, 'batch');
    assert.equal(jobKind.resource, 'jobs');
    assert.equal(jobKind.shortNames, undefined);
    assert.deepEqual(jobKind.categories, ['all']);
    assert.equal(jobKind.generation, true);
    assert.equal(jobKind.subresources?.status, true);
  });
});

describe('Job defaults', () => {
  it('sets upstream v1 defaults', () => {
    const spec = defaultedJob(job()).spec as Obj;
    assert.equal(spec.completions, 1);
    assert.equal(spec.parallelism, 1);
    assert.equal(spec.backoffLimit, 6);
    assert.equal(spec.completionMode, 'NonIndexed');
    assert.equal(spec.suspend, false);
    assert.equal(spec.podReplacementPolicy, 'TerminatingOrFailed');
    assert.equal(spec.manualSelector, false);
    assert.equal(spec.template.spec.restartPolicy, 'Never');
    assert.equal(spec.template.spec.dnsPolicy, 'ClusterFirst');
  });

  it('depends on the other fields as upstream does', () => {
    const par = defaultedJob(job({ parallelism: 3 })).spec as Obj;
    assert.equal(par.completions, undefined, 'completions stays unset when parallelism is set');
    const perIndex = defaultedJob(job({ completionMode: 'Indexed', completions: 3, backoffLimitPerIndex: 1 })).spec as Obj;
    assert.equal(perIndex.backoffLimit, 2147483647);
    const pfp = defaultedJob(job({ podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] } })).spec as Obj;
    assert.equal(pfp.podReplacementPolicy, 'Failed');
    assert.equal(pfp.podFailurePolicy.rules[0].onPodConditions[0].status, 'True');
  });

  it('is idempotent and copies template labels to an unlabelled job', () => {
    const o = job({ template: { metadata: { labels: { app: 'pi' } }, spec: { containers: [{ name: 'pi', image: 'perl' }], restartPolicy: 'Never' } } });
    const once = defaultedJob(o);
    assert.deepEqual(once.metadata?.labels, { app: 'pi' });
    assert.deepEqual(defaultedJob(once), once);
    const labelled = defaultedJob({ ...o, metadata: { ...o.metadata, labels: { team: 'a' } } });
    assert.deepEqual(labelled.metadata?.labels, { team: 'a' });
  });
});

describe('Job selector generation', () => {
  it('labels the template and selects on the uid', () => {
    const j = created(job()) as Obj;
    assert.deepEqual(j.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': UID } });
    assert.deepEqual(j.spec.template.metadata.labels, {
      'job-name': 'pi',
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': UID,
      'batch.kubernetes.io/controller-uid': UID,
    });
    assert.deepEqual(j.metadata.labels, j.spec.template.metadata.labels, 'as upstream shows them after read-time defaulting');
    assert.deepEqual(j.status, {});
    assert.deepEqual(js.validate!(j as Job), []);
  });

  it('leaves manual selectors alone', () => {
    const manual = job({ manualSelector: true, selector: { matchLabels: { app: 'pi' } } });
    (manual.spec!.template as Obj).metadata = { labels: { app: 'pi' } };
    const j = created(manual) as Obj;
    assert.deepEqual(j.spec.selector, { matchLabels: { app: 'pi' } });
    assert.deepEqual(j.spec.template.metadata.labels, { app: 'pi' });
    assert.deepEqual(js.validate!(j as Job), []);
    const noSelector = created(job({ manualSelector: true }));
    assert.deepEqual(fields(js.validate!(noSelector)), ['spec.selector:FieldValueRequired', 'spec.template.metadata.labels:FieldValueInvalid']);
  });

  it('rejects conflicting generated labels', () => {
    const o = job();
    (o.spec!.template as Obj).metadata = { labels: { 'controller-uid': 'someone-else' } };
    const errs = js.validate!(created(o));
    assert.deepEqual(fields(errs), ['spec.template.metadata.labels[controller-uid]:FieldValueInvalid']);
    assert.equal(errs[0].detail, `must be '${UID}'`);
    const wrongSelector = js.validate!(created(job({ selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'x' } } })));
    assert.ok(fields(wrongSelector).includes('spec.selector:FieldValueInvalid'));
    assert.ok(wrongSelector.some((e) => e.detail === '`selector` not auto-generated'));
  });

  it('uses the uid the generic store assigned', async () => {
    const reg = new Registry(new MemoryStore());
    const body = job() as Obj;
    delete body.metadata.uid;
    const { obj } = await reg.create(jobKind as unknown as KindInfo, 'default', body);
    const uid = obj.metadata.uid!;
    assert.ok(uid && uid !== UID);
    assert.equal((obj.spec as Obj).selector.matchLabels['batch.kubernetes.io/controller-uid'], uid);
    assert.equal((obj.spec as Obj).template.metadata.labels['controller-uid'], uid);
    assert.equal(obj.metadata.labels?.['batch.kubernetes.io/job-name'], 'pi');
    assert.equal(obj.metadata.generation, 1);
  });
});

describe('Job validation', () => {
  const validate = (extra: Obj = {}, meta: Obj = {}) => js.validate!(created(job(extra, meta)));

  it('requires restartPolicy OnFailure or Never', () => {
    const o = job();
    delete (o.spec!.template.spec as Obj).restartPolicy;
    const errs = js.validate!(created(o));
    assert.deepEqual(fields(errs), ['spec.template.spec.restartPolicy:FieldValueRequired']);
    assert.equal(errs[0].detail, 'valid values: "OnFailure", "Never"');
  });

  it('checks counts and completion modes', () => {
    assert.deepEqual(fields(validate({ parallelism: -1, backoffLimit: -2 })), ['spec.parallelism:FieldValueInvalid', 'spec.backoffLimit:FieldValueInvalid']);
    assert.deepEqual(fields(validate({ completionMode: 'Indexed', completions: undefined, parallelism: 2 })), ['spec.completions:FieldValueRequired']);
    assert.deepEqual(fields(validate({ completionMode: 'Sometimes' })), ['spec.completionMode:FieldValueNotSupported']);
    assert.deepEqual(fields(validate({ backoffLimitPerIndex: 1 })), ['spec.backoffLimitPerIndex:FieldValueForbidden']);
    assert.deepEqual(fields(validate({ completionMode: 'Indexed', completions: 2, maxFailedIndexes: 1 })), ['spec.backoffLimitPerIndex:FieldValueRequired']);
    const long = validate({ completionMode: 'Indexed', completions: 100 }, { name: 'x'.repeat(62) });
    assert.deepEqual(fields(long), ['metadata.name:FieldValueInvalid']);
    assert.match(long[0].detail!, /will not able to create pod with invalid DNS label/);
  });

  it('checks the pod failure policy', () => {
    assert.deepEqual(validate({ podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [1, 42] } }] } }), []);
    const errs = validate({
      podFailurePolicy: {
        rules: [
          { action: 'Explode', onExitCodes: { operator: 'In', values: [3, 0, 3], containerName: 'nope' } },
          { action: 'Ignore' },
        ],
      },
    });
    assert.deepEqual(fields(errs), [
      'spec.podFailurePolicy.rules[0].action:FieldValueNotSupported',
      'spec.podFailurePolicy.rules[0].onExitCodes.containerName:FieldValueInvalid',
      'spec.podFailurePolicy.rules[0].onExitCodes.values[1]:FieldValueInvalid',
      'spec.podFailurePolicy.rules[0].onExitCodes.values[2]:FieldValueDuplicate',
      'spec.podFailurePolicy.rules[0].onExitCodes.values:FieldValueInvalid',
      'spec.podFailurePolicy.rules[1]:FieldValueInvalid',
    ]);
    const onFailure = job({ podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] } });
    (onFailure.spec!.template.spec as Obj).restartPolicy = 'OnFailure';
    assert.deepEqual(fields(js.validate!(created(onFailure))), ['spec.template.spec.restartPolicy:FieldValueInvalid']);
  });

  it('checks the success and replacement policies', () => {
    assert.deepEqual(validate({ completionMode: 'Indexed', completions: 5, successPolicy: { rules: [{ succeededIndexes: '0,2-3', succeededCount: 2 }] } }), []);
    assert.deepEqual(fields(validate({ successPolicy: { rules: [] } })), ['spec.completionMode:FieldValueInvalid', 'spec.successPolicy.rules:FieldValueRequired']);
    assert.deepEqual(fields(validate({ completionMode: 'Indexed', completions: 3, successPolicy: { rules: [{ succeededIndexes: '5' }] } })), [
      'spec.successPolicy.rules[0].succeededIndexes:FieldValueInvalid',
    ]);
    assert.deepEqual(fields(validate({ podReplacementPolicy: 'Always' })), ['spec.podReplacementPolicy:FieldValueNotSupported']);
  });

  it('keeps the template immutable, except scheduling directives of a suspended job never started', () => {
    const old = created(job()) as Obj;
    const changed = structuredClone(old);
    changed.spec.template.spec.containers[0].image = 'perl:5.36';
    const errs = js.validateUpdate!(changed as Job, old as Job);
    assert.deepEqual(fields(errs), ['spec.template:FieldValueInvalid']);
    assert.equal(errs[0].detail, 'field is immutable');

    const nodeSel = structuredClone(old);
    nodeSel.spec.template.spec.nodeSelector = { zone: 'a' };
    assert.deepEqual(fields(js.validateUpdate!(nodeSel as Job, old as Job)), ['spec.template:FieldValueInvalid']);
    const suspended = structuredClone(old);
    suspended.spec.suspend = true;
    const resumed = structuredClone(suspended);
    resumed.spec.template.spec.nodeSelector = { zone: 'a' };
    resumed.spec.template.spec.tolerations = [{ key: 'k', operator: 'Exists' }];
    resumed.spec.template.metadata.annotations = { a: 'b' };
    assert.deepEqual(js.validateUpdate!(resumed as Job, suspended as Job), []);
    const started = { ...suspended, status: { startTime: '2024-05-01T11:00:00Z' } };
    assert.deepEqual(fields(js.validateUpdate!(resumed as Job, started as Job)), ['spec.template:FieldValueInvalid']);
  });

  it('keeps completions fixed unless an indexed job scales it with parallelism', () => {
    const old = created(job()) as Obj;
    assert.deepEqual(fields(js.validateUpdate!({ ...old, spec: { ...old.spec, completions: 2 } } as Job, old as Job)), ['spec.completions:FieldValueInvalid']);
    const idx = created(job({ completionMode: 'Indexed', completions: 3, parallelism: 3 })) as Obj;
    assert.deepEqual(js.validateUpdate!({ ...idx, spec: { ...idx.spec, completions: 5, parallelism: 5 } } as Job, idx as Job), []);
    assert.deepEqual(fields(js.validateUpdate!({ ...idx, spec: { ...idx.spec, completions: 5 } } as Job, idx as Job)), ['spec.completions:FieldValueInvalid']);
    assert.deepEqual(js.validateUpdate!({ ...old, spec: { ...old.spec, parallelism: 4, suspend: true, activeDeadlineSeconds: 60 } } as Job, old as Job), []);
  });
});

describe('Job table and fields', () => {
  const row = (status: Obj, extra: Obj = {}, meta: Obj = {}) => {
    const j = created(job(extra, meta)) as Obj;
    j.status = status;
    return js.table!.row(j as Job, NOW);
  };

  it('prints STATUS, COMPLETIONS and DURATION as upstream', () => {
    assert.deepEqual(
      js.table!.columns.map((c) => c.name),
      ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers', 'Images', 'Selector'],
    );
    const complete = row({
      succeeded: 1,
      startTime: '2024-05-01T11:00:00Z',
      completionTime: '2024-05-01T11:00:09Z',
      conditions: [{ type: 'Complete', status: 'True' }],
    });
    assert.deepEqual(complete, ['pi', 'Complete', '1/1', '9s', '60m', 'pi', 'perl:5.34.0', `batch.kubernetes.io/controller-uid=${UID}`]);
    assert.deepEqual(row({ startTime: '2024-05-01T11:58:00Z' }).slice(1, 4), ['Running', '0/1', '2m']);
    assert.deepEqual(row({ conditions: [{ type: 'Failed', status: 'True' }] }).slice(1, 3), ['Failed', '0/1']);
    assert.deepEqual(row({ conditions: [{ type: 'Suspended', status: 'True' }] }, { suspend: true })[1], 'Suspended');
    assert.deepEqual(row({}, {}, { deletionTimestamp: '2024-05-01T12:00:00Z' })[1], 'Terminating');
    assert.deepEqual(row({ succeeded: 1 }, { parallelism: 3 }).slice(1, 4), ['Running', '1/1 of 3', '']);
  });

  it('selects on status.successful', () => {
    assert.deepEqual(js.selectableFields!({ status: { succeeded: 3 } } as Job), { 'status.successful': '3' });
    assert.deepEqual(js.selectableFields!({} as Job), { 'status.successful': '0' });
  });
});

// ---------------------------------------------------------------------------------------------

function cronJob(extra: Obj = {}, name = 'backup'): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: 'default', creationTimestamp: '2024-04-01T12:00:00Z' },
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: { spec: { template: { spec: { containers: [{ name: 'b', image: 'busybox:1.36' }], restartPolicy: 'OnFailure' } } } },
      ...extra,
    },
  } as CronJob;
}

const defaultedCron = (o: CronJob): CronJob => {
  const c = structuredClone(o);
  cs.defaults!(c);
  return c;
};

describe('CronJob', () => {
  it('matches upstream discovery', () => {
    assert.equal(cronJobKind.resource, 'cronjobs');
    assert.deepEqual(cronJobKind.shortNames, ['cj']);
    assert.deepEqual(cronJobKind.categories, ['all']);
    assert.equal(cronJobKind.generation, true);
  });

  it('sets upstream defaults and leaves the job template fields alone', () => {
    const once = defaultedCron(cronJob());
    const spec = once.spec as Obj;
    assert.equal(spec.concurrencyPolicy, 'Allow');
    assert.equal(spec.suspend, false);
    assert.equal(spec.successfulJobsHistoryLimit, 3);
    assert.equal(spec.failedJobsHistoryLimit, 1);
    assert.equal(spec.jobTemplate.spec.backoffLimit, undefined);
    assert.equal(spec.jobTemplate.spec.template.spec.terminationGracePeriodSeconds, 30);
    assert.deepEqual(defaultedCron(once), once);
  });

  it('validates the schedule and time zone', () => {
    const validate = (extra: Obj = {}, name?: string) => cs.validate!(defaultedCron(cronJob(extra, name)));
    assert.deepEqual(validate(), []);
    assert.deepEqual(validate({ schedule: '@daily', timeZone: 'Europe/Berlin' }), []);
    assert.deepEqual(fields(validate({ schedule: '' })), ['spec.schedule:FieldValueRequired']);
    const bad = validate({ schedule: '61 * * * *' });
    assert.deepEqual(fields(bad), ['spec.schedule:FieldValueInvalid']);
    assert.equal(bad[0].detail, 'end of range (61) above maximum (59): 61');
    const tz = validate({ schedule: 'TZ=UTC 0 * * * *' });
    assert.deepEqual(tz.map((e) => e.detail), ['cannot use TZ or CRON_TZ in schedule, use timeZone field instead']);
    assert.deepEqual(validate({ timeZone: 'Mars/Olympus' }).map((e) => e.detail), ['unknown time zone Mars/Olympus']);
    assert.deepEqual(fields(validate({ timeZone: 'Local' })), ['spec.timeZone:FieldValueInvalid']);
    assert.deepEqual(validateTimeZone('', 'tz').map((e) => e.detail), ['timeZone must be nil or non-empty string']);
    assert.deepEqual(validateTimeZone('america/new_york', 'tz').length, 1, 'zone names are case-sensitive');
    assert.deepEqual(validateTimeZone('UTC', 'tz'), []);
  });

  it('validates the rest of the spec and the job template', () => {
    const validate = (extra: Obj = {}, name?: string) => cs.validate!(defaultedCron(cronJob(extra, name)));
    assert.deepEqual(fields(validate({ concurrencyPolicy: 'Sometimes' })), ['spec.concurrencyPolicy:FieldValueNotSupported']);
    assert.deepEqual(fields(validate({ failedJobsHistoryLimit: -1, startingDeadlineSeconds: -1 })), [
      'spec.startingDeadlineSeconds:FieldValueInvalid',
      'spec.failedJobsHistoryLimit:FieldValueInvalid',
    ]);
    const long = validate({}, 'x'.repeat(53));
    assert.deepEqual(fields(long), ['metadata.name:FieldValueInvalid']);
    assert.equal(long[0].detail, 'must be no more than 52 characters');
    assert.deepEqual(validate({}, 'x'.repeat(52)), []);
    const tmpl = cronJob();
    const jobSpec = tmpl.spec!.jobTemplate.spec as Obj;
    jobSpec.selector = { matchLabels: { a: 'b' } };
    jobSpec.manualSelector = true;
    jobSpec.template.spec.restartPolicy = 'Always';
    assert.deepEqual(fields(cs.validate!(defaultedCron(tmpl))), [
      'spec.jobTemplate.spec.template.spec.restartPolicy:FieldValueRequired',
      'spec.jobTemplate.spec.selector:FieldValueInvalid',
      'spec.jobTemplate.spec.manualSelector:FieldValueNotSupported',
    ]);
  });

  it('prints the upstream columns', () => {
    const o = defaultedCron(cronJob({ timeZone: 'Etc/UTC' })) as Obj;
    cs.prepareForCreate!(o as CronJob);
    assert.deepEqual(o.status, {});
    o.status = { active: [{ name: 'backup-1' }], lastScheduleTime: '2024-05-01T11:55:00Z' };
    assert.deepEqual(
      cs.table!.columns.map((c) => `${c.name}:${c.type}`),
      ['Name:string', 'Schedule:string', 'Timezone:string', 'Suspend:boolean', 'Active:integer', 'Last Schedule:string', 'Age:string', 'Containers:string', 'Images:string', 'Selector:string'],
    );
    assert.deepEqual(cs.table!.row(o as CronJob, NOW), ['backup', '*/5 * * * *', 'Etc/UTC', 'False', 1, '5m', '30d', 'b', 'busybox:1.36', '<none>']);
    assert.deepEqual(cs.table!.row(cronJob() as CronJob, NOW).slice(2, 6), ['<none>', '<unset>', 0, '<none>']);
  });
});
