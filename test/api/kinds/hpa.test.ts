import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { FieldError } from '../../../src/api/errors.js';
import { formatHPAMetrics, horizontalPodAutoscalerKind } from '../../../src/api/kinds/hpa.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form test fixtures
const s = horizontalPodAutoscalerKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-01T12:00:00Z');

function hpa(extra: Obj = {}): HorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-05-01T10:00:00Z' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 10, ...extra },
  } as HorizontalPodAutoscaler;
}

const defaulted = (o: HorizontalPodAutoscaler) => {
  const c = structuredClone(o);
  s.defaults!(c);
  return c;
};

const cpu = (util: number) => ({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: util } } });

describe('HorizontalPodAutoscaler', () => {
  it('matches upstream discovery', () => {
    assert.equal(horizontalPodAutoscalerKind.group, 'autoscaling');
    assert.equal(horizontalPodAutoscalerKind.version, 'v2');
    assert.deepEqual(horizontalPodAutoscalerKind.shortNames, ['hpa']);
    assert.deepEqual(horizontalPodAutoscalerKind.categories, ['all']);
    assert.equal(horizontalPodAutoscalerKind.subresources?.status, true);
    assert.notEqual(horizontalPodAutoscalerKind.generation, true);
  });

  it('defaults minReplicas and 80% CPU, and no behavior unless given', () => {
    const spec = defaulted(hpa()).spec as Obj;
    assert.equal(spec.minReplicas, 1);
    assert.deepEqual(spec.metrics, [cpu(80)]);
    assert.equal(spec.behavior, undefined);
    const own = defaulted(hpa({ minReplicas: 2, metrics: [cpu(50)] })).spec as Obj;
    assert.equal(own.minReplicas, 2);
    assert.deepEqual(own.metrics, [cpu(50)]);
  });

  it('fills a given behavior with the upstream scaling rules, idempotently', () => {
    const once = defaulted(hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } }));
    assert.deepEqual((once.spec as Obj).behavior, {
      scaleDown: { stabilizationWindowSeconds: 60, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      },
    });
    assert.deepEqual(defaulted(once), once);
  });

  it('validates replicas, the target and the metrics', () => {
    const validate = (extra: Obj = {}) => s.validate!(defaulted(hpa(extra)));
    assert.deepEqual(validate(), []);
    assert.deepEqual(fields(validate({ minReplicas: 0 })), ['spec.minReplicas:FieldValueInvalid']);
    const inverted = validate({ minReplicas: 5, maxReplicas: 2 });
    assert.deepEqual(inverted.map((e) => e.detail), ['must be greater than or equal to `minReplicas`']);
    assert.deepEqual(fields(validate({ maxReplicas: 0 })), ['spec.maxReplicas:FieldValueInvalid', 'spec.maxReplicas:FieldValueInvalid']);
    assert.deepEqual(fields(validate({ scaleTargetRef: { name: 'a/b' } })), ['spec.scaleTargetRef.kind:FieldValueRequired', 'spec.scaleTargetRef.name:FieldValueInvalid']);
    assert.deepEqual(fields(validate({ metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } }] })), [
      'spec.metrics[0].resource.target.averageUtilization:FieldValueRequired',
    ]);
    assert.deepEqual(fields(validate({ metrics: [{ type: 'Pods', resource: cpu(5).resource }] })), ['spec.metrics[0].pods:FieldValueRequired']);
    const podsSource = { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } };
    assert.deepEqual(fields(validate({ metrics: [{ type: 'Pods', pods: podsSource, resource: cpu(5).resource }] })), ['spec.metrics[0].resource:FieldValueForbidden']);
    assert.deepEqual(fields(validate({ metrics: [{ type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '-1' } } }] })), [
      'spec.metrics[0].pods.target.averageValue:FieldValueInvalid',
    ]);
    assert.deepEqual(fields(validate({ metrics: [{ type: 'Custom' }] })), ['spec.metrics[0].type:FieldValueNotSupported']);
  });

  it('validates scaling rules', () => {
    const errs = s.validate!(
      defaulted(hpa({ behavior: { scaleUp: { selectPolicy: 'Most', stabilizationWindowSeconds: 4000, policies: [{ type: 'Pods', value: 0, periodSeconds: 3600 }] } } })),
    );
    assert.deepEqual(fields(errs), [
      'spec.behavior.scaleUp.stabilizationWindowSeconds:FieldValueInvalid',
      'spec.behavior.scaleUp.selectPolicy:FieldValueNotSupported',
      'spec.behavior.scaleUp.policies[0].value:FieldValueInvalid',
      'spec.behavior.scaleUp.policies[0].periodSeconds:FieldValueInvalid',
    ]);
    assert.deepEqual(fields(s.validate!(defaulted(hpa({ behavior: { scaleDown: { policies: [] } } })))), ['spec.behavior.scaleDown.policies:FieldValueRequired']);
  });

  it('starts with the status upstream serializes', () => {
    const o = hpa() as Obj;
    s.prepareForCreate!(o as HorizontalPodAutoscaler);
    assert.deepEqual(o.status, { currentMetrics: null, desiredReplicas: 0 });
  });

  it('formats TARGETS as upstream', () => {
    assert.equal(formatHPAMetrics([], []), '<none>');
    assert.equal(formatHPAMetrics([cpu(80)], null), 'cpu: <unknown>/80%');
    assert.equal(formatHPAMetrics([cpu(80)], [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 42 } } }]), 'cpu: 42%/80%');
    const value = { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1024Mi' } } };
    assert.equal(formatHPAMetrics([value], [{ type: 'Resource', resource: { name: 'memory', current: { averageValue: '512Mi' } } }]), 'memory: 512Mi/1Gi');
    const ext = { type: 'External', external: { metric: { name: 'queue' }, target: { type: 'AverageValue', averageValue: '30' } } };
    const pods = { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '1000m' } } };
    assert.equal(formatHPAMetrics([ext, pods, cpu(70)], []), '<unknown>/30 (avg), <unknown>/1 + 1 more...');
  });

  it('prints the upstream columns', () => {
    const o = defaulted(hpa()) as Obj;
    o.status = { currentReplicas: 3, desiredReplicas: 3, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 12 } } }] };
    assert.deepEqual(s.table!.columns.map((c) => c.name), ['Name', 'Reference', 'Targets', 'MinPods', 'MaxPods', 'Replicas', 'Age']);
    assert.deepEqual(s.table!.row(o as HorizontalPodAutoscaler, NOW), ['web', 'Deployment/web', 'cpu: 12%/80%', '1', 10, 3, '120m']);
    assert.deepEqual(s.table!.row(hpa() as HorizontalPodAutoscaler, NOW).slice(2, 6), ['<none>', '<unset>', 10, 0]);
  });
});
