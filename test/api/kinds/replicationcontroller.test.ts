import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReplicationController } from 'kubernetes-types/core/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { builtinScheme } from '../../../src/api/kinds/index.js';
import { mapSelectorString, replicationControllerKind } from '../../../src/api/kinds/replicationcontroller.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form test fixtures
const s = replicationControllerKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-01T12:00:00Z');

function rc(spec: Obj = {}, meta: Obj = {}): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-05-01T11:00:00Z', ...meta },
    spec: {
      template: { metadata: { labels: { app: 'web', tier: 'fe' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25' }] } },
      ...spec,
    },
  } as ReplicationController;
}

const defaulted = (o: ReplicationController): Obj => {
  const c = structuredClone(o);
  s.defaults!(c);
  return c as Obj;
};

describe('ReplicationController discovery info', () => {
  it('matches upstream discovery and is served in core/v1', () => {
    const k = replicationControllerKind;
    assert.deepEqual([k.group, k.version, k.resource, k.singular, k.namespaced], ['', 'v1', 'replicationcontrollers', 'replicationcontroller', true]);
    assert.deepEqual(k.shortNames, ['rc']);
    assert.deepEqual(k.categories, ['all']);
    assert.equal(k.generation, true);
    assert.equal(k.subresources?.status, true);
    assert.equal(k.subresources?.scale?.specReplicasPath, '.spec.replicas');
    assert.equal(k.subresources?.scale?.statusReplicasPath, '.status.replicas');
    assert.ok(builtinScheme().kinds().some((x) => x.group === '' && x.kind === 'ReplicationController'));
  });

  it('gives the Scale a selector string from the label map', () => {
    const sel = replicationControllerKind.subresources!.scale!.selector!;
    assert.equal(sel(rc({ selector: { tier: 'fe', app: 'web' } }) as Obj), 'app=web,tier=fe');
    assert.equal(sel(rc() as Obj), '');
    assert.equal(mapSelectorString({ b: '2', a: '1' }), 'a=1,b=2');
  });
});

describe('ReplicationController defaults', () => {
  it('takes selector and labels from the template labels, replicas 1, and defaults the pod template', () => {
    const d = defaulted(rc());
    assert.deepEqual(d.spec.selector, { app: 'web', tier: 'fe' });
    assert.deepEqual(d.metadata.labels, { app: 'web', tier: 'fe' });
    assert.equal(d.spec.replicas, 1);
    const pod = d.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Always');
    assert.equal(pod.dnsPolicy, 'ClusterFirst');
    assert.equal(pod.terminationGracePeriodSeconds, 30);
    assert.equal(pod.containers[0].imagePullPolicy, 'IfNotPresent');
    assert.equal(pod.containers[0].terminationMessagePath, '/dev/termination-log');
    assert.equal(d.spec.template.metadata.creationTimestamp, null);
    // the copies are not shared with the template
    d.spec.selector.extra = 'x';
    assert.equal(d.spec.template.metadata.labels.extra, undefined);
  });

  it('never overwrites what the user set, and is idempotent', () => {
    const d = defaulted(rc({ selector: { app: 'web' }, replicas: 0 }, { labels: { owner: 'me' } }));
    assert.deepEqual(d.spec.selector, { app: 'web' });
    assert.deepEqual(d.metadata.labels, { owner: 'me' });
    assert.equal(d.spec.replicas, 0);
    const once = defaulted(rc());
    const twice = structuredClone(once);
    s.defaults!(twice as ReplicationController);
    assert.deepEqual(twice, once);
  });

  it('leaves selector and labels alone without template labels', () => {
    const d = defaulted({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'x' }, spec: {} });
    assert.equal(d.spec.selector, undefined);
    assert.equal(d.metadata.labels, undefined);
    assert.equal(d.spec.replicas, 1);
  });

  it('clears the status on create', () => {
    const o = rc() as Obj;
    o.status = { replicas: 7 };
    s.prepareForCreate!(o as ReplicationController);
    assert.deepEqual(o.status, { replicas: 0 });
  });
});

describe('ReplicationController validation', () => {
  const valid = () => defaulted(rc()) as ReplicationController;

  it('accepts a defaulted controller', () => {
    assert.deepEqual(s.validate!(valid()), []);
  });

  it('requires a non-empty selector and a template', () => {
    const o = valid() as Obj;
    o.spec.selector = {};
    delete o.spec.template;
    assert.deepEqual(fields(s.validate!(o as ReplicationController)), ['spec.selector:FieldValueRequired', 'spec.template:FieldValueRequired']);
  });

  it('requires the template labels to match the selector', () => {
    const o = valid() as Obj;
    o.spec.selector = { app: 'other' };
    const errs = s.validate!(o as ReplicationController);
    assert.deepEqual(fields(errs), ['spec.template.metadata.labels:FieldValueInvalid']);
    assert.equal(errs[0].detail, '`selector` does not match template `labels`');
  });

  it('rejects negative replicas and minReadySeconds, and wrong JSON types without throwing', () => {
    const o = valid() as Obj;
    o.spec.replicas = -1;
    o.spec.minReadySeconds = -2;
    assert.deepEqual(fields(s.validate!(o as ReplicationController)), ['spec.minReadySeconds:FieldValueInvalid', 'spec.replicas:FieldValueInvalid']);
    const bad = valid() as Obj;
    bad.spec.replicas = 'three';
    bad.spec.selector = { app: 5 };
    assert.deepEqual(fields(s.validate!(bad as ReplicationController)), [
      'spec.selector[app]:FieldValueTypeInvalid',
      'spec.selector:FieldValueRequired',
      'spec.replicas:FieldValueTypeInvalid',
    ]);
    const notMap = valid() as Obj;
    notMap.spec.selector = 'app=web';
    assert.ok(fields(s.validate!(notMap as ReplicationController)).includes('spec.selector:FieldValueTypeInvalid'));
  });

  it('wants restartPolicy Always, no activeDeadlineSeconds, and read-only GCE disks when replicated', () => {
    const o = valid() as Obj;
    o.spec.replicas = 2;
    o.spec.template.spec.restartPolicy = 'OnFailure';
    o.spec.template.spec.activeDeadlineSeconds = 30;
    o.spec.template.spec.volumes = [{ name: 'pd', gcePersistentDisk: { pdName: 'disk' } }];
    const errs = s.validate!(o as ReplicationController);
    const byField = new Map(errs.map((e) => [e.field, e]));
    assert.equal(byField.get('spec.template.spec.restartPolicy')?.type, 'FieldValueNotSupported');
    assert.equal(byField.get('spec.template.spec.activeDeadlineSeconds')?.detail, 'must not be specified');
    assert.match(byField.get('spec.template.spec.volumes[0].gcePersistentDisk.readOnly')?.detail ?? '', /^must be true for replicated pods > 1/);
  });

  it('validates the pod template', () => {
    const o = valid() as Obj;
    o.spec.template.spec.containers[0].image = '';
    assert.ok(fields(s.validate!(o as ReplicationController)).includes('spec.template.spec.containers[0].image:FieldValueRequired'));
  });

  it('lets the selector change on update (unlike apps/v1 kinds)', () => {
    const old = valid();
    const next = structuredClone(old) as Obj;
    next.spec.selector = { app: 'web' };
    assert.deepEqual(s.validateUpdate?.(next as ReplicationController, old) ?? [], []);
    assert.deepEqual(s.validate!(next as ReplicationController), []);
  });

  it('offers status.replicas as a field selector', () => {
    const o = valid() as Obj;
    o.status = { replicas: 3 };
    assert.deepEqual(s.selectableFields!(o as ReplicationController), { 'status.replicas': '3' });
  });
});

describe('ReplicationController table', () => {
  it('has the upstream columns', () => {
    assert.deepEqual(
      s.table!.columns.map((c) => [c.name, c.type, c.priority]),
      [
        ['Name', 'string', 0],
        ['Desired', 'integer', 0],
        ['Current', 'integer', 0],
        ['Ready', 'integer', 0],
        ['Age', 'string', 0],
        ['Containers', 'string', 1],
        ['Images', 'string', 1],
        ['Selector', 'string', 1],
      ],
    );
  });

  it('prints desired, current, ready, age, containers, images and the selector', () => {
    const o = defaulted(rc({ replicas: 3 })) as Obj;
    o.status = { replicas: 2, readyReplicas: 1 };
    o.spec.template.spec.containers.push({ name: 'side', image: 'busybox' });
    assert.deepEqual(s.table!.row(o as ReplicationController, NOW), ['web', 3, 2, 1, '60m', 'nginx,side', 'nginx:1.25,busybox', 'app=web,tier=fe']);
  });

  it('copes with missing fields', () => {
    const row = s.table!.row({ metadata: { name: 'bare' } } as ReplicationController, NOW);
    assert.deepEqual(row.slice(0, 4), ['bare', 0, 0, 0]);
    assert.deepEqual(row.slice(5), ['', '', '<none>']);
  });
});
