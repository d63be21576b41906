import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-types/rbac/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { groupKinds } from '../../../src/api/kinds/groups-index.js';
import { clusterRoleBindingKind, clusterRoleKind, roleBindingKind, roleKind } from '../../../src/api/kinds/rbac.js';
import { formatAge } from '../../../src/api/names.js';
import type { KubeObject } from '../../../src/api/types.js';
import { nameIsPathSegment } from '../../../src/api/validation.js';

type R = Role & KubeObject;
type CR = ClusterRole & KubeObject;
type RB = RoleBinding & KubeObject;
type CRB = ClusterRoleBinding & KubeObject;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

const role = (rules: unknown): R => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace: 'ns' }, rules }) as R;
const clusterRole = (extra: Record<string, unknown>): CR => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cr' }, ...extra }) as CR;
const binding = (extra: Record<string, unknown>): RB =>
  ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'ns' }, ...extra }) as RB;

describe('RBAC discovery info', () => {
  it('serves path-segment names, no short names', () => {
    for (const k of [roleKind, clusterRoleKind, roleBindingKind, clusterRoleBindingKind]) {
      assert.equal(k.group, 'rbac.authorization.k8s.io');
      assert.equal(k.nameValidator, nameIsPathSegment);
      assert.equal(k.shortNames, undefined);
      assert.equal(k.allowCreateOnUpdate, true);
    }
    assert.equal(roleKind.namespaced, true);
    assert.equal(clusterRoleKind.namespaced, false);
    assert.equal(clusterRoleBindingKind.resource, 'clusterrolebindings');
    assert.deepEqual(nameIsPathSegment('system:controller:x', false), []);
    assert.deepEqual(nameIsPathSegment('a/b', false), ["may not contain '/'"]);
  });
});

describe('Role and ClusterRole rules', () => {
  it('accepts resource and non-resource rules where allowed', () => {
    assert.deepEqual(roleKind.strategy.validate!(role([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }])), []);
    assert.deepEqual(clusterRoleKind.strategy.validate!(clusterRole({ rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] })), []);
  });

  it('requires verbs, apiGroups and resources; nonResourceURLs only in ClusterRoles', () => {
    const errs = roleKind.strategy.validate!(role([{ resources: ['pods'] }, { verbs: ['get'], nonResourceURLs: ['/x'], resources: ['pods'] }, { verbs: ['get'], apiGroups: [''] }]));
    assert.deepEqual(
      errs.map((e) => [e.field, e.type, e.detail]),
      [
        ['rules[0].verbs', 'FieldValueRequired', 'verbs must contain at least one value'],
        ['rules[0].apiGroups', 'FieldValueRequired', 'resource rules must supply at least one api group'],
        ['rules[1].nonResourceURLs', 'FieldValueInvalid', 'namespaced rules cannot apply to non-resource URLs'],
        ['rules[1].nonResourceURLs', 'FieldValueInvalid', 'rules cannot apply to both regular resources and non-resource URLs'],
        ['rules[2].resources', 'FieldValueRequired', 'resource rules must supply at least one resource'],
      ],
    );
    assert.deepEqual(fields(roleKind.strategy.validate!(role('all'))), ['rules:FieldValueTypeInvalid']);
    assert.deepEqual(fields(roleKind.strategy.validate!(role([{ verbs: 'get', apiGroups: [''], resources: ['pods'] }]))), ['rules[0].verbs:FieldValueTypeInvalid']);
  });

  it('validates aggregationRule', () => {
    const s = clusterRoleKind.strategy;
    assert.deepEqual(s.validate!(clusterRole({ aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate-to-view': 'true' } }] } })), []);
    assert.deepEqual(
      s.validate!(clusterRole({ aggregationRule: {} })).map((e) => [e.field, e.detail]),
      [['aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil']],
    );
    assert.deepEqual(fields(s.validate!(clusterRole({ aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'bad key!': 'x' } }] } }))).length > 0, true);
  });

  it('prints NAME and CREATED AT (RFC 3339)', () => {
    const t = roleKind.strategy.table!;
    assert.deepEqual(t.columns.map((c) => [c.name, c.type]), [
      ['Name', 'string'],
      ['Created At', 'date'],
    ]);
    const r = role([]);
    r.metadata = { ...r.metadata, creationTimestamp: '2024-03-04T05:06:07Z' };
    assert.deepEqual(t.row(r, Date.now()), ['r', '2024-03-04T05:06:07Z']);
  });
});

describe('RoleBinding and ClusterRoleBinding', () => {
  const s = roleBindingKind.strategy;

  it('defaults roleRef.apiGroup and subject apiGroups, idempotently', () => {
    const o = binding({
      roleRef: { kind: 'Role', name: 'r' },
      subjects: [{ kind: 'User', name: 'alice' }, { kind: 'Group', name: 'devs' }, { kind: 'ServiceAccount', name: 'default', namespace: 'ns' }],
    });
    s.defaults!(o);
    const once = structuredClone(o);
    s.defaults!(o);
    assert.deepEqual(o, once);
    assert.equal(o.roleRef.apiGroup, 'rbac.authorization.k8s.io');
    assert.deepEqual(
      o.subjects!.map((x) => x.apiGroup),
      ['rbac.authorization.k8s.io', 'rbac.authorization.k8s.io', undefined],
    );
    assert.deepEqual(s.validate!(o), []);
  });

  it('validates roleRef and subjects', () => {
    const o = binding({
      roleRef: { kind: 'Pod', name: '' },
      subjects: [{ kind: 'Robot', name: 'x' }, { kind: 'ServiceAccount', name: 'Bad_SA', apiGroup: 'v1' }, { kind: 'User', name: '', apiGroup: 'x' }],
    });
    s.defaults!(o);
    assert.deepEqual(fields(s.validate!(o)), [
      'roleRef.kind:FieldValueNotSupported',
      'roleRef.name:FieldValueRequired',
      'subjects[0].kind:FieldValueNotSupported',
      'subjects[1].name:FieldValueInvalid',
      'subjects[1].apiGroup:FieldValueNotSupported',
      'subjects[2].name:FieldValueRequired',
      'subjects[2].apiGroup:FieldValueNotSupported',
    ]);
    const missing = binding({});
    s.defaults!(missing);
    assert.deepEqual(fields(s.validate!(missing)), ['roleRef.kind:FieldValueNotSupported', 'roleRef.name:FieldValueRequired']);
  });

  it('ClusterRoleBindings only bind ClusterRoles and need service account namespaces', () => {
    const cs = clusterRoleBindingKind.strategy;
    const o = { ...binding({ roleRef: { kind: 'Role', name: 'r' }, subjects: [{ kind: 'ServiceAccount', name: 'sa' }] }), kind: 'ClusterRoleBinding', metadata: { name: 'crb' } } as CRB;
    cs.defaults!(o);
    const errs = cs.validate!(o);
    assert.deepEqual(fields(errs), ['roleRef.kind:FieldValueNotSupported', 'subjects[0].namespace:FieldValueRequired']);
    assert.match(errs[0].detail!, /supported values: "ClusterRole"$/);
  });

  it('keeps roleRef immutable', () => {
    const old = binding({ roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'a' } });
    const same = binding({ roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'a' }, subjects: [{ kind: 'User', name: 'u' }] });
    assert.deepEqual(s.validateUpdate!(same, old), []);
    const changed = binding({ roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'b' } });
    assert.deepEqual(s.validateUpdate!(changed, old).map((e) => [e.field, e.detail]), [['roleRef', 'cannot change roleRef']]);
  });

  it('prints ROLE AGE and wide USERS GROUPS SERVICEACCOUNTS', () => {
    const now = Date.parse('2024-01-01T00:05:00Z');
    const t = s.table!;
    assert.deepEqual(t.columns.map((c) => [c.name.toUpperCase(), c.priority]), [
      ['NAME', 0],
      ['ROLE', 0],
      ['AGE', 0],
      ['USERS', 1],
      ['GROUPS', 1],
      ['SERVICEACCOUNTS', 1],
    ]);
    const o = binding({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [
        { kind: 'User', name: 'alice' },
        { kind: 'User', name: 'bob' },
        { kind: 'Group', name: 'devs' },
        { kind: 'ServiceAccount', name: 'builder', namespace: 'ci' },
      ],
    });
    o.metadata = { ...o.metadata, creationTimestamp: '2024-01-01T00:00:00Z' };
    assert.deepEqual(t.row(o, now), ['rb', 'ClusterRole/view', formatAge('2024-01-01T00:00:00Z', now), 'alice, bob', 'devs', 'ci/builder']);
  });
});

describe('groupKinds', () => {
  it('lists every kind of this group set once', () => {
    const keys = groupKinds.map((k) => `${k.group}/${k.version}/${k.resource}`);
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual(keys.sort(), [
      'admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
      'admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
      'coordination.k8s.io/v1/leases',
      'discovery.k8s.io/v1/endpointslices',
      'events.k8s.io/v1/events',
      'networking.k8s.io/v1/ingressclasses',
      'networking.k8s.io/v1/ingresses',
      'networking.k8s.io/v1/networkpolicies',
      'rbac.authorization.k8s.io/v1/clusterrolebindings',
      'rbac.authorization.k8s.io/v1/clusterroles',
      'rbac.authorization.k8s.io/v1/rolebindings',
      'rbac.authorization.k8s.io/v1/roles',
      'storage.k8s.io/v1/storageclasses',
    ]);
    // every table row has as many cells as columns, even for an empty object
    for (const k of groupKinds) {
      const t = k.strategy.table;
      if (t) assert.equal(t.row({ metadata: {} }, Date.now()).length, t.columns.length, k.kind);
      assert.doesNotThrow(() => k.strategy.validate?.({ metadata: {} }), k.kind);
      assert.doesNotThrow(() => k.strategy.defaults?.({ metadata: {} }), k.kind);
    }
  });
});
