import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LimitRange, ResourceQuota } from 'kubernetes-types/core/v1.js';
import { resourceQuotaKind } from '../../../src/api/kinds/resourcequota.js';
import { limitRangeKind } from '../../../src/api/kinds/limitrange.js';
import type { FieldError } from '../../../src/api/errors.js';

const rq = resourceQuotaKind.strategy;
const lr = limitRangeKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

describe('resource quota', () => {
  it('clears status on create and validates hard limits', () => {
    const q = { metadata: { name: 'q' }, spec: { hard: { pods: '10', 'requests.cpu': '4' } }, status: { used: { pods: '99' } } } as ResourceQuota;
    rq.prepareForCreate!(q);
    assert.deepEqual(q.status, {});
    assert.deepEqual(rq.validate!(q), []);
    const bad = { spec: { hard: { pods: '1.5', widgets: '1', 'requests.memory': '-1Gi' } } } as ResourceQuota;
    assert.deepEqual(fields(rq.validate!(bad)), ['spec.hard[pods]:FieldValueInvalid', 'spec.hard[widgets]:FieldValueInvalid', 'spec.hard[widgets]:FieldValueInvalid', 'spec.hard[requests.memory]:FieldValueInvalid']);
  });

  it('checks scopes and keeps them immutable', () => {
    const conflicting = { spec: { hard: { pods: '1' }, scopes: ['BestEffort', 'NotBestEffort'] } } as ResourceQuota;
    assert.ok(rq.validate!(conflicting).some((e) => e.detail === 'conflicting scopes'));
    const wrong = { spec: { hard: { 'requests.cpu': '1' }, scopes: ['BestEffort'] } } as ResourceQuota;
    assert.ok(rq.validate!(wrong).some((e) => e.detail === 'unsupported scope applied to resource'));
    const old = { spec: { scopes: ['Terminating'] } } as ResourceQuota;
    assert.deepEqual(fields(rq.validateUpdate!({ spec: { scopes: ['NotTerminating'] } } as ResourceQuota, old)), ['spec.scopes:FieldValueInvalid']);
    assert.deepEqual(rq.validateUpdate!({ spec: { scopes: ['Terminating'] } } as ResourceQuota, old), []);
  });

  it('prints REQUEST and LIMIT as used/hard', () => {
    const q = {
      metadata: { name: 'compute', creationTimestamp: '2024-05-01T00:00:00Z' },
      status: { hard: { 'limits.cpu': '4', pods: '10', 'requests.memory': '2Gi' }, used: { pods: '3', 'limits.cpu': '1500m' } },
    } as ResourceQuota;
    assert.deepEqual(rq.table!.row(q, Date.parse('2024-05-01T00:00:05Z')), ['compute', 'pods: 3/10, requests.memory: 0/2Gi', 'limits.cpu: 1500m/4', '5s']);
  });
});

describe('limit range', () => {
  it('defaults container default limits and requests from max/min', () => {
    const l = { spec: { limits: [{ type: 'Container', max: { cpu: '2' }, min: { memory: '64Mi' }, default: { memory: '256Mi' } }, { type: 'Pod', max: { cpu: '4' } }] } } as LimitRange;
    lr.defaults!(l);
    assert.deepEqual(l.spec!.limits[0].default, { memory: '256Mi', cpu: '2' });
    assert.deepEqual(l.spec!.limits[0].defaultRequest, { memory: '256Mi', cpu: '2' });
    assert.equal(l.spec!.limits[1].default, undefined);
    const again = JSON.parse(JSON.stringify(l)) as LimitRange;
    lr.defaults!(again);
    assert.deepEqual(again, l);
    assert.deepEqual(lr.validate!(l), []);
  });

  it('validates types and min/max/default ordering', () => {
    const l = {
      spec: {
        limits: [
          { type: 'Container', min: { cpu: '2' }, max: { cpu: '1' } },
          { type: 'Container' },
          { type: 'Pod', default: { cpu: '1' } },
          { type: 'PersistentVolumeClaim', max: { cpu: '1' } },
          { type: 'Widget' },
        ],
      },
    } as LimitRange;
    const errs = lr.validate!(l);
    const min = errs.find((e) => e.field === 'spec.limits[0].min[cpu]');
    assert.equal(min?.detail, 'min value 2 is greater than max value 1');
    assert.ok(fields(errs).includes('spec.limits[1].type:FieldValueDuplicate'));
    assert.ok(fields(errs).includes('spec.limits[2].default:FieldValueForbidden'));
    assert.ok(fields(errs).includes('spec.limits[3].limits:FieldValueRequired'));
    assert.equal(errs.find((e) => e.field === 'spec.limits[4].type')?.detail, 'must be a standard limit type or fully qualified');
  });

  it('prints the default table (name and creation time)', () => {
    const l = { metadata: { name: 'limits', creationTimestamp: '2024-05-01T00:00:00Z' }, spec: { limits: [] } } as LimitRange;
    assert.deepEqual(lr.table!.row(l, 0), ['limits', '2024-05-01T00:00:00Z']);
    assert.equal(lr.table!.columns[1].type, 'date');
  });
});
