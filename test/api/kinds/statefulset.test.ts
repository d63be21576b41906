import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { statefulSetKind } from '../../../src/api/kinds/statefulset.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form test fixtures
const s = statefulSetKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-01T12:00:00Z');

function sts(extra: Obj = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default', creationTimestamp: '2024-04-30T12:00:00Z' },
    spec: {
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: { containers: [{ name: 'pg', image: 'postgres:16', volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql' }] }] },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      ...extra,
    },
  } as StatefulSet;
}

const defaulted = (o: StatefulSet): StatefulSet => {
  const c = structuredClone(o);
  s.defaults!(c);
  return c;
};

describe('StatefulSet discovery info', () => {
  it('matches upstream discovery', () => {
    assert.equal(statefulSetKind.resource, 'statefulsets');
    assert.deepEqual(statefulSetKind.shortNames, ['sts']);
    assert.deepEqual(statefulSetKind.categories, ['all']);
    assert.equal(statefulSetKind.generation, true);
    assert.equal(statefulSetKind.subresources?.scale?.statusReplicasPath, '.status.replicas');
  });

  it('names must be DNS labels', () => {
    const v = statefulSetKind.nameValidator!;
    assert.deepEqual(v('db-0', false), []);
    assert.ok(v('db.example', false).length > 0);
  });
});

describe('StatefulSet defaults', () => {
  it('sets upstream v1 defaults, claim templates included', () => {
    const spec = defaulted(sts()).spec as Obj;
    assert.equal(spec.podManagementPolicy, 'OrderedReady');
    assert.deepEqual(spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
    assert.equal(spec.replicas, 1);
    assert.equal(spec.revisionHistoryLimit, 10);
    assert.equal(spec.template.spec.restartPolicy, 'Always');
    assert.deepEqual(spec.volumeClaimTemplates[0], {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem' },
      status: { phase: 'Pending' },
    });
  });

  it('is idempotent and keeps what the user set', () => {
    const once = defaulted(sts({ updateStrategy: { type: 'OnDelete' }, podManagementPolicy: 'Parallel', replicas: 0 }));
    assert.deepEqual(defaulted(once), once);
    const spec = once.spec as Obj;
    assert.deepEqual(spec.updateStrategy, { type: 'OnDelete' });
    assert.equal(spec.podManagementPolicy, 'Parallel');
    assert.equal(spec.replicas, 0);
    // an explicit RollingUpdate without rollingUpdate stays that way, as upstream
    assert.deepEqual((defaulted(sts({ updateStrategy: { type: 'RollingUpdate' } })).spec as Obj).updateStrategy, { type: 'RollingUpdate' });
  });
});

describe('StatefulSet validation', () => {
  const validate = (extra: Obj = {}) => s.validate!(defaulted(sts(extra)));

  it('accepts a well-formed statefulset (mounting a claim template is fine)', () => assert.deepEqual(validate(), []));

  it('checks the selector against the template', () => {
    assert.deepEqual(fields(validate({ selector: { matchLabels: { app: 'x' } } })), ['spec.template.metadata.labels:FieldValueInvalid']);
    assert.deepEqual(fields(validate({ selector: undefined })), ['spec.selector:FieldValueRequired', 'spec.template.metadata.labels:FieldValueInvalid']);
    const empty = validate({ selector: { matchLabels: {} } });
    assert.equal(empty[0].detail, 'empty selector is invalid for statefulset');
  });

  it('checks policies and strategies', () => {
    assert.deepEqual(fields(validate({ podManagementPolicy: 'Random' })), ['spec.podManagementPolicy:FieldValueInvalid']);
    assert.deepEqual(fields(validate({ updateStrategy: { type: 'OnDelete', rollingUpdate: { partition: 1 } } })), ['spec.updateStrategy.rollingUpdate:FieldValueInvalid']);
    assert.deepEqual(fields(validate({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: -1, maxUnavailable: 0 } } })), [
      'spec.updateStrategy.rollingUpdate.partition:FieldValueInvalid',
      'spec.updateStrategy.rollingUpdate.maxUnavailable:FieldValueInvalid',
    ]);
    assert.deepEqual(fields(validate({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Keep' } })), [
      'spec.persistentVolumeClaimRetentionPolicy.whenScaled:FieldValueNotSupported',
    ]);
    assert.deepEqual(fields(validate({ ordinals: { start: -1 } })), ['spec.ordinals.start:FieldValueInvalid']);
  });

  it('requires restartPolicy Always in the template', () => {
    const o = sts();
    (o.spec!.template.spec as Obj).restartPolicy = 'Never';
    assert.deepEqual(fields(s.validate!(defaulted(o))), ['spec.template.spec.restartPolicy:FieldValueNotSupported']);
  });

  it('forbids changing anything but the updatable fields', () => {
    const old = defaulted(sts());
    assert.deepEqual(s.validateUpdate!(defaulted(sts({ replicas: 3, minReadySeconds: 5, revisionHistoryLimit: 1 })), old), []);
    const errs = s.validateUpdate!(defaulted(sts({ serviceName: 'other' })), old);
    assert.deepEqual(fields(errs), ['spec:FieldValueForbidden']);
    assert.match(errs[0].detail!, /^updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template'/);
    assert.deepEqual(fields(s.validateUpdate!(defaulted(sts({ volumeClaimTemplates: [] })), old)), ['spec:FieldValueForbidden']);
  });
});

describe('StatefulSet status and table', () => {
  it('starts with zero replicas', () => {
    const o = sts() as Obj;
    o.status = { replicas: 5 };
    s.prepareForCreate!(o as StatefulSet);
    assert.deepEqual(o.status, { replicas: 0, availableReplicas: 0 });
  });

  it('prints READY and the wide columns', () => {
    const o = defaulted(sts({ replicas: 3 })) as Obj;
    o.status = { replicas: 3, readyReplicas: 1 };
    assert.deepEqual(s.table!.columns.map((c) => `${c.name}:${c.priority}`), ['Name:0', 'Ready:0', 'Age:0', 'Containers:1', 'Images:1']);
    assert.deepEqual(s.table!.row(o as StatefulSet, NOW), ['db', '1/3', '24h', 'pg', 'postgres:16']);
  });
});
