import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PodSpec, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import {
  defaultPodSpec,
  defaultPodTemplateSpec,
  validatePodSpec,
  validatePodTemplateSpec,
  computePodQOS,
  imageTag,
} from '../../../src/api/kinds/podspec.js';
import type { FieldError } from '../../../src/api/errors.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const find = (errs: FieldError[], field: string, type?: string) => errs.find((e) => e.field === field && (!type || e.type === type));

function defaulted(spec: unknown): PodSpec {
  const s = clone(spec) as PodSpec;
  defaultPodSpec(s);
  return s;
}

describe('defaultPodSpec', () => {
  it('sets the upstream pod spec and container defaults', () => {
    const s = defaulted({
      containers: [
        {
          name: 'web',
          image: 'nginx:1.25',
          ports: [{ containerPort: 80 }],
          env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          livenessProbe: { httpGet: { port: 80 } },
          readinessProbe: { grpc: { port: 9090 } },
          lifecycle: { preStop: { httpGet: { port: 8080 } } },
        },
      ],
    });
    assert.equal(s.restartPolicy, 'Always');
    assert.equal(s.dnsPolicy, 'ClusterFirst');
    assert.equal(s.terminationGracePeriodSeconds, 30);
    assert.equal(s.schedulerName, 'default-scheduler');
    assert.deepEqual(s.securityContext, {});
    assert.equal(s.enableServiceLinks, undefined, 'enableServiceLinks is a Pod default, not a PodSpec one');
    const c = s.containers[0];
    assert.equal(c.imagePullPolicy, 'IfNotPresent');
    assert.equal(c.terminationMessagePath, '/dev/termination-log');
    assert.equal(c.terminationMessagePolicy, 'File');
    assert.deepEqual(c.resources, {});
    assert.equal(c.ports![0].protocol, 'TCP');
    assert.equal(c.env![0].valueFrom!.fieldRef!.apiVersion, 'v1');
    assert.deepEqual(c.livenessProbe, {
      httpGet: { port: 80, path: '/', scheme: 'HTTP' },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.equal(c.readinessProbe!.grpc!.service, '');
    assert.deepEqual(c.lifecycle!.preStop!.httpGet, { port: 8080, path: '/', scheme: 'HTTP' });
  });

  it('is idempotent and never overwrites what the user set', () => {
    const input = {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'a', image: 'busybox', imagePullPolicy: 'Never', livenessProbe: { exec: { command: ['true'] }, periodSeconds: 3 } }],
      volumes: [{ name: 'v' }, { name: 'cm', configMap: { name: 'x', defaultMode: 0o600 } }],
    };
    const once = defaulted(input);
    const twice = defaulted(once);
    assert.deepEqual(twice, once);
    assert.equal(once.restartPolicy, 'Never');
    assert.equal(once.terminationGracePeriodSeconds, 0);
    assert.equal(once.containers[0].imagePullPolicy, 'Never');
    assert.equal(once.containers[0].livenessProbe!.periodSeconds, 3);
    assert.equal(once.volumes![1].configMap!.defaultMode, 0o600);
  });

  it('defaults volumes as upstream does', () => {
    const s = defaulted({
      containers: [{ name: 'a', image: 'a' }],
      volumes: [
        { name: 'none' },
        { name: 'hp', hostPath: { path: '/x' } },
        { name: 's', secret: { secretName: 's' } },
        { name: 'd', downwardAPI: { items: [{ path: 'n', fieldRef: { fieldPath: 'metadata.name' } }] } },
        { name: 'p', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
      ],
    });
    const v = s.volumes!;
    assert.deepEqual(v[0].emptyDir, {});
    assert.equal(v[1].hostPath!.type, '');
    assert.equal(v[2].secret!.defaultMode, 420);
    assert.equal(v[3].downwardAPI!.defaultMode, 420);
    assert.equal(v[3].downwardAPI!.items![0].fieldRef!.apiVersion, 'v1');
    assert.equal(v[4].projected!.defaultMode, 420);
    assert.equal(v[4].projected!.sources![0].serviceAccountToken!.expirationSeconds, 3600);
  });

  it('picks the image pull policy from the tag', () => {
    const policy = (image: string) => defaulted({ containers: [{ name: 'a', image }] }).containers[0].imagePullPolicy;
    assert.equal(policy('nginx'), 'Always');
    assert.equal(policy('nginx:latest'), 'Always');
    assert.equal(policy('nginx:1.25'), 'IfNotPresent');
    assert.equal(policy('localhost:5000/app'), 'Always');
    assert.equal(policy('registry.example.com:5000/team/app:v2'), 'IfNotPresent');
    assert.equal(policy(`nginx@sha256:${'a'.repeat(64)}`), 'IfNotPresent');
    assert.equal(policy('Not/A Valid:ref'), 'IfNotPresent');
    assert.equal(imageTag('nginx:latest@sha256:' + 'b'.repeat(64)), 'latest');
  });

  it('writes resource quantities in canonical form, rounded up to thousandths', () => {
    const s = defaulted({
      containers: [{ name: 'a', image: 'a', resources: { limits: { cpu: 0.5, memory: '1024Mi' }, requests: { cpu: '0.0001', memory: 'junk' } } }],
      volumes: [{ name: 'scratch', emptyDir: { sizeLimit: '1.5Gi' } }],
    });
    assert.deepEqual(s.containers[0].resources, { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: '1m', memory: 'junk' } });
    assert.equal(s.volumes![0].emptyDir!.sizeLimit, '1536Mi');
  });

  it('keeps the deprecated serviceAccount equal to serviceAccountName', () => {
    assert.equal(defaulted({ serviceAccountName: 'builder', containers: [] }).serviceAccount, 'builder');
    assert.equal(defaulted({ serviceAccount: 'old', containers: [] }).serviceAccountName, 'old');
  });

  it('does not crash on wrong JSON types', () => {
    assert.doesNotThrow(() => defaulted({ containers: 'nope', volumes: [null, 3, { name: 'x', secret: 'y' }] }));
    assert.doesNotThrow(() => defaultPodSpec(undefined as unknown as PodSpec));
  });

  it('defaultPodTemplateSpec defaults the template spec', () => {
    const t: PodTemplateSpec = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'a', image: 'a:1' }] } };
    defaultPodTemplateSpec(t);
    assert.deepEqual(t.metadata, { labels: { a: 'b' }, creationTimestamp: null });
    assert.equal(t.spec!.restartPolicy, 'Always');
    assert.equal(t.spec!.containers[0].imagePullPolicy, 'IfNotPresent');
  });
});

describe('validatePodSpec', () => {
  const good = () => defaulted({ containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80, name: 'http' }] }] });

  it('accepts a defaulted spec', () => {
    assert.deepEqual(validatePodSpec(good(), 'spec'), []);
  });

  it('requires containers', () => {
    const errs = validatePodSpec(defaulted({ containers: [] }), 'spec');
    assert.ok(find(errs, 'spec.containers', 'FieldValueRequired'));
  });

  it('checks container names, images and uniqueness across init and regular containers', () => {
    const s = defaulted({
      initContainers: [{ name: 'web', image: 'busybox' }],
      containers: [
        { name: 'web', image: 'nginx' },
        { name: 'Bad_Name', image: '' },
        { name: 'web', image: 'nginx' },
      ],
    });
    const errs = validatePodSpec(s, 'spec');
    assert.ok(find(errs, 'spec.containers[1].name', 'FieldValueInvalid'));
    assert.ok(find(errs, 'spec.containers[1].image', 'FieldValueRequired'));
    assert.ok(find(errs, 'spec.containers[2].name', 'FieldValueDuplicate'));
    assert.ok(find(errs, 'spec.initContainers[0].name', 'FieldValueDuplicate'));
  });

  it('checks ports', () => {
    const s = good();
    s.containers[0].ports = [
      { containerPort: 0, protocol: 'TCP' },
      { containerPort: 70000, protocol: 'TCP' },
      { containerPort: 81, protocol: 'ICMP', name: 'http' },
      { containerPort: 82, protocol: 'TCP', name: 'http' },
    ];
    const errs = validatePodSpec(s, 'spec');
    assert.ok(find(errs, 'spec.containers[0].ports[0].containerPort', 'FieldValueRequired'));
    const range = find(errs, 'spec.containers[0].ports[1].containerPort', 'FieldValueInvalid');
    assert.equal(range?.detail, 'must be between 1 and 65535, inclusive');
    const proto = find(errs, 'spec.containers[0].ports[2].protocol', 'FieldValueNotSupported');
    assert.equal(proto?.detail, 'supported values: "SCTP", "TCP", "UDP"');
    assert.ok(find(errs, 'spec.containers[0].ports[3].name', 'FieldValueDuplicate'));
  });

  it('checks restartPolicy and dnsPolicy values', () => {
    const s = good();
    s.restartPolicy = 'Sometimes';
    s.dnsPolicy = 'Weird';
    const errs = validatePodSpec(s, 'spec');
    assert.equal(find(errs, 'spec.restartPolicy')?.type, 'FieldValueNotSupported');
    assert.equal(find(errs, 'spec.dnsPolicy')?.type, 'FieldValueNotSupported');
  });

  it('checks volumes and volume mounts', () => {
    const s = defaulted({
      containers: [{ name: 'a', image: 'a', volumeMounts: [{ name: 'missing', mountPath: '/m' }, { name: 'data', mountPath: '' }] }],
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'data', emptyDir: {} },
        { name: 'two', emptyDir: {}, configMap: { name: 'x' } },
        { name: 'cm', configMap: {} },
      ],
    });
    const errs = validatePodSpec(s, 'spec');
    assert.ok(find(errs, 'spec.volumes[1].name', 'FieldValueDuplicate'));
    assert.equal(find(errs, 'spec.volumes[2].configMap', 'FieldValueForbidden')?.detail, 'may not specify more than 1 volume type');
    assert.ok(find(errs, 'spec.volumes[3].configMap.name', 'FieldValueRequired'));
    assert.ok(find(errs, 'spec.containers[0].volumeMounts[0].name', 'FieldValueNotFound'));
    assert.ok(find(errs, 'spec.containers[0].volumeMounts[1].mountPath', 'FieldValueRequired'));
  });

  it('reports a volume without a source', () => {
    const s = good();
    s.volumes = [{ name: 'x' }];
    const errs = validatePodSpec(s, 'spec');
    assert.equal(find(errs, 'spec.volumes[0]', 'FieldValueRequired')?.detail, 'must specify a volume type');
  });

  it('checks env names and valueFrom', () => {
    const s = good();
    s.containers[0].env = [{ name: '1BAD' }, { name: '' }, { name: 'X', value: 'v', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }];
    const errs = validatePodSpec(s, 'spec');
    assert.ok(find(errs, 'spec.containers[0].env[0].name', 'FieldValueInvalid'));
    assert.ok(find(errs, 'spec.containers[0].env[1].name', 'FieldValueRequired'));
    assert.equal(find(errs, 'spec.containers[0].env[2].valueFrom')?.detail, 'may not be specified when `value` is not empty');
  });

  it('checks resource names, quantities and requests <= limits', () => {
    const s = good();
    s.containers[0].resources = { limits: { cpu: '1', memory: 'lots' }, requests: { cpu: '1500m', foo: '1' } };
    const errs = validatePodSpec(s, 'spec');
    const cmp = find(errs, 'spec.containers[0].resources.requests', 'FieldValueInvalid');
    assert.equal(cmp?.detail, 'must be less than or equal to cpu limit of 1');
    assert.equal(cmp?.value, '1500m');
    assert.ok(find(errs, 'spec.containers[0].resources.limits[memory]', 'FieldValueInvalid'));
    assert.ok(errs.some((e) => e.field === 'spec.containers[0].resources.requests[foo]' && e.detail === 'must be a standard resource for containers'));
  });

  it('requires exactly one probe handler', () => {
    const s = good();
    s.containers[0].livenessProbe = { exec: { command: ['x'] }, tcpSocket: { port: 80 }, successThreshold: 1 };
    s.containers[0].readinessProbe = { periodSeconds: 10 };
    const errs = validatePodSpec(s, 'spec');
    assert.equal(find(errs, 'spec.containers[0].livenessProbe.tcpSocket', 'FieldValueForbidden')?.detail, 'may not specify more than 1 handler type');
    assert.equal(find(errs, 'spec.containers[0].readinessProbe', 'FieldValueRequired')?.detail, 'must specify a handler type');
  });

  it('checks nodeSelector labels and tolerations', () => {
    const s = good();
    s.nodeSelector = { 'bad key!': 'v' };
    s.tolerations = [{ key: 'k', operator: 'Maybe' }, { operator: 'Equal', value: 'x' }, { key: 'k', effect: 'Sometimes' }];
    const errs = validatePodSpec(s, 'spec');
    assert.ok(find(errs, 'spec.nodeSelector', 'FieldValueInvalid'));
    assert.equal(find(errs, 'spec.tolerations[0].operator')?.type, 'FieldValueNotSupported');
    assert.ok(find(errs, 'spec.tolerations[1].operator', 'FieldValueInvalid'));
    assert.equal(find(errs, 'spec.tolerations[2].effect')?.type, 'FieldValueNotSupported');
  });

  it('reports wrong JSON types instead of throwing', () => {
    const errs = validatePodSpec({ containers: 'nope', restartPolicy: 5 } as unknown as PodSpec, 'spec');
    assert.ok(find(errs, 'spec.containers', 'FieldValueTypeInvalid'));
    assert.ok(find(errs, 'spec.restartPolicy', 'FieldValueTypeInvalid'));
    const errs2 = validatePodSpec({ containers: [{ name: 'a', image: 'a', ports: '80' }] } as unknown as PodSpec, 'spec');
    assert.ok(find(errs2, 'spec.containers[0].ports', 'FieldValueTypeInvalid'));
  });

  it('forbids probes on init containers unless they are sidecars', () => {
    const s = defaulted({
      containers: [{ name: 'a', image: 'a' }],
      initContainers: [
        { name: 'i', image: 'i', readinessProbe: { exec: { command: ['x'] } } },
        { name: 'sidecar', image: 's', restartPolicy: 'Always', readinessProbe: { exec: { command: ['x'] } } },
      ],
    });
    const errs = validatePodSpec(s, 'spec');
    assert.equal(find(errs, 'spec.initContainers[0].readinessProbe')?.detail, 'may not be set for init containers without restartPolicy=Always');
    assert.equal(find(errs, 'spec.initContainers[1].readinessProbe'), undefined);
  });
});

describe('validatePodTemplateSpec', () => {
  it('validates labels and the spec under the template path', () => {
    const t: PodTemplateSpec = { metadata: { labels: { 'a b': 'c' } }, spec: { containers: [{ name: 'x', image: '' }] } };
    defaultPodTemplateSpec(t);
    const errs = validatePodTemplateSpec(t, 'spec.template');
    assert.ok(find(errs, 'spec.template.labels', 'FieldValueInvalid'));
    assert.ok(find(errs, 'spec.template.spec.containers[0].image', 'FieldValueRequired'));
  });

  it('requires a template', () => {
    assert.equal(validatePodTemplateSpec(undefined as unknown as PodTemplateSpec, 'spec.template')[0].type, 'FieldValueRequired');
  });
});

describe('computePodQOS', () => {
  it('classifies as upstream does', () => {
    assert.equal(computePodQOS({ containers: [{ name: 'a' }] }), 'BestEffort');
    assert.equal(computePodQOS({ containers: [{ resources: { requests: { cpu: '100m' } } }] }), 'Burstable');
    assert.equal(
      computePodQOS({ containers: [{ resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1000m', memory: '1024Mi' } } }] }),
      'Guaranteed',
    );
    assert.equal(
      computePodQOS({ containers: [{ resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } } }] }),
      'Burstable',
    );
  });
});
