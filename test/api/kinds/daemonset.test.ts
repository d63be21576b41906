import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { TEMPLATE_GENERATION_ANNOTATION, daemonSetKind } from '../../../src/api/kinds/daemonset.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form test fixtures
const s = daemonSetKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-01T12:00:00Z');

function daemonSet(extra: Obj = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'kube-system', creationTimestamp: '2024-05-01T11:59:30Z' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: {
        metadata: { labels: { app: 'agent' } },
        spec: { nodeSelector: { 'kubernetes.io/os': 'linux', disk: 'ssd' }, containers: [{ name: 'agent', image: 'agent:2' }] },
      },
      ...extra,
    },
  } as DaemonSet;
}

const defaulted = (o: DaemonSet): DaemonSet => {
  const c = structuredClone(o);
  s.defaults!(c);
  return c;
};

describe('DaemonSet', () => {
  it('matches upstream discovery', () => {
    assert.equal(daemonSetKind.resource, 'daemonsets');
    assert.deepEqual(daemonSetKind.shortNames, ['ds']);
    assert.deepEqual(daemonSetKind.categories, ['all']);
    assert.equal(daemonSetKind.subresources?.scale, undefined);
    assert.equal(daemonSetKind.generation, true);
  });

  it('defaults a rolling update of one unavailable, no surge', () => {
    const once = defaulted(daemonSet());
    const spec = once.spec as Obj;
    assert.deepEqual(spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.equal(spec.revisionHistoryLimit, 10);
    assert.equal(spec.template.spec.schedulerName, 'default-scheduler');
    assert.deepEqual(defaulted(once), once);
    assert.deepEqual((defaulted(daemonSet({ updateStrategy: { type: 'OnDelete' } })).spec as Obj).updateStrategy, { type: 'OnDelete' });
  });

  it('validates the selector, template and update strategy', () => {
    const validate = (extra: Obj = {}) => s.validate!(defaulted(daemonSet(extra)));
    assert.deepEqual(validate(), []);
    assert.deepEqual(fields(validate({ selector: { matchLabels: { app: 'x' } } })), ['spec.template.metadata.labels:FieldValueInvalid']);
    assert.equal(validate({ selector: {} })[0].detail, 'empty selector is invalid for daemonset');
    const both = validate({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '10%' } } });
    assert.deepEqual(fields(both), ['spec.updateStrategy.rollingUpdate.maxSurge:FieldValueInvalid']);
    assert.equal(both[0].detail, 'may not be set when maxUnavailable is non-zero');
    const none = validate({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } });
    assert.deepEqual(fields(none), ['spec.updateStrategy.rollingUpdate.maxUnavailable:FieldValueRequired']);
    assert.deepEqual(fields(validate({ updateStrategy: { type: 'Sometimes' } })), ['spec.updateStrategy:FieldValueNotSupported']);
    const t = daemonSet();
    (t.spec!.template.spec as Obj).restartPolicy = 'OnFailure';
    assert.deepEqual(fields(s.validate!(defaulted(t))), ['spec.template.spec.restartPolicy:FieldValueNotSupported']);
  });

  it('keeps the template generation annotation as apps/v1 does', () => {
    const created = defaulted(daemonSet()) as Obj;
    s.prepareForCreate!(created as DaemonSet);
    assert.equal(created.metadata.annotations[TEMPLATE_GENERATION_ANNOTATION], '1');
    assert.deepEqual(created.status, { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 });

    const changed = structuredClone(created);
    changed.spec.template.spec.containers[0].image = 'agent:3';
    s.prepareForUpdate!(changed as DaemonSet, created as DaemonSet);
    assert.equal(changed.metadata.annotations[TEMPLATE_GENERATION_ANNOTATION], '2');
    assert.deepEqual(s.validateUpdate!(changed as DaemonSet, created as DaemonSet), []);

    const replaced = structuredClone(created);
    delete replaced.metadata.annotations;
    replaced.spec.minReadySeconds = 5;
    s.prepareForUpdate!(replaced as DaemonSet, created as DaemonSet);
    assert.equal(replaced.metadata.annotations[TEMPLATE_GENERATION_ANNOTATION], '1', 'kept when the template is unchanged');

    const bumped = structuredClone(created);
    bumped.metadata.annotations[TEMPLATE_GENERATION_ANNOTATION] = '7';
    s.prepareForUpdate!(bumped as DaemonSet, created as DaemonSet);
    assert.deepEqual(fields(s.validateUpdate!(bumped as DaemonSet, created as DaemonSet)), ['spec.templateGeneration:FieldValueInvalid']);
  });

  it('keeps the selector immutable', () => {
    const old = defaulted(daemonSet());
    const next = defaulted(daemonSet({ selector: { matchLabels: { app: 'agent', x: 'y' } } }));
    assert.deepEqual(fields(s.validateUpdate!(next, old)), ['spec.selector:FieldValueInvalid']);
  });

  it('prints the upstream columns', () => {
    const o = defaulted(daemonSet()) as Obj;
    o.status = { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 };
    assert.deepEqual(
      s.table!.columns.map((c) => c.name),
      ['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age', 'Containers', 'Images', 'Selector'],
    );
    assert.deepEqual(s.table!.row(o as DaemonSet, NOW), ['agent', 3, 3, 2, 3, 2, 'disk=ssd,kubernetes.io/os=linux', '30s', 'agent', 'agent:2', 'app=agent']);
    assert.equal(s.table!.row({ metadata: { name: 'x' } } as DaemonSet, NOW)[6], '<none>');
  });
});
