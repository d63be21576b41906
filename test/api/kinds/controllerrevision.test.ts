import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { controllerRevisionKind } from '../../../src/api/kinds/controllerrevision.js';
import { workloadKinds } from '../../../src/api/kinds/workloads-index.js';

const s = controllerRevisionKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-01T12:00:00Z');

const rev = (extra: Partial<ControllerRevision> = {}): ControllerRevision => ({
  apiVersion: 'apps/v1',
  kind: 'ControllerRevision',
  metadata: {
    name: 'web-7b9f5c6d4',
    namespace: 'default',
    creationTimestamp: '2024-05-01T11:00:00Z',
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u1', controller: true }],
  },
  data: { spec: { template: { $patch: 'replace' } } } as ControllerRevision['data'],
  revision: 2,
  ...extra,
});

describe('ControllerRevision kind', () => {
  it('is registered as apps/v1 controllerrevisions, namespaced, without status', () => {
    assert.ok(workloadKinds.includes(controllerRevisionKind as never));
    assert.equal(controllerRevisionKind.resource, 'controllerrevisions');
    assert.equal(controllerRevisionKind.namespaced, true);
    assert.equal(controllerRevisionKind.subresources, undefined);
    assert.equal(controllerRevisionKind.shortNames, undefined);
  });
  it('requires data and a non-negative revision', () => {
    assert.deepEqual(fields(s.validate!(rev())), []);
    const { data: _d, ...noData } = rev();
    assert.deepEqual(fields(s.validate!(noData as ControllerRevision)), ['data:FieldValueRequired']);
    assert.deepEqual(fields(s.validate!(rev({ revision: -1 }))), ['revision:FieldValueInvalid']);
    assert.deepEqual(fields(s.validate!(rev({ revision: 'x' as unknown as number }))), ['revision:FieldValueTypeInvalid']);
  });
  it('keeps data immutable but lets the revision number change', () => {
    assert.deepEqual(fields(s.validateUpdate!(rev({ revision: 5 }), rev())), []);
    const changed = rev({ data: { spec: {} } as ControllerRevision['data'] });
    const errs = s.validateUpdate!(changed, rev());
    assert.deepEqual(fields(errs), ['data:FieldValueInvalid']);
    assert.equal(errs[0].detail, 'field is immutable');
  });
  it('prints NAME, CONTROLLER, REVISION, AGE as upstream', () => {
    assert.deepEqual(s.table!.columns.map((c) => c.name), ['Name', 'Controller', 'Revision', 'Age']);
    assert.deepEqual(s.table!.row(rev(), NOW), ['web-7b9f5c6d4', 'statefulset.apps/web', 2, '60m']);
    const orphan = rev();
    orphan.metadata!.ownerReferences = [];
    assert.equal(s.table!.row(orphan, NOW)[1], '<none>');
  });
});
