import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.js';
import { serviceKind } from '../../../src/api/kinds/service.js';
import type { FieldError } from '../../../src/api/errors.js';

const s = serviceKind.strategy;
const NOW = Date.parse('2024-05-01T12:00:00Z');
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

function svc(spec: unknown, extra: Partial<Service> = {}): Service {
  const v = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-05-01T11:00:00Z' }, spec, ...extra } as Service;
  s.defaults!(v);
  s.prepareForCreate!(v);
  return v;
}

describe('service defaults', () => {
  it('sets upstream defaults for a ClusterIP service', () => {
    const v = svc({ selector: { app: 'web' }, ports: [{ port: 80 }] });
    assert.deepEqual(v.spec, {
      selector: { app: 'web' },
      ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      sessionAffinity: 'None',
      type: 'ClusterIP',
      internalTrafficPolicy: 'Cluster',
    });
    assert.deepEqual(v.status, { loadBalancer: {} });
  });

  it('defaults NodePort/LoadBalancer traffic policies and ClientIP affinity, idempotently', () => {
    const v = svc({ type: 'LoadBalancer', sessionAffinity: 'ClientIP', ports: [{ port: 443, targetPort: 'https' }] });
    assert.equal(v.spec!.externalTrafficPolicy, 'Cluster');
    assert.equal(v.spec!.allocateLoadBalancerNodePorts, true);
    assert.deepEqual(v.spec!.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
    assert.equal(v.spec!.ports![0].targetPort, 'https');
    const again = JSON.parse(JSON.stringify(v)) as Service;
    s.defaults!(again);
    assert.deepEqual(again, v);
  });

  it('copies clusterIP into clusterIPs on create', () => {
    assert.deepEqual(svc({ clusterIP: 'None', ports: [] }).spec!.clusterIPs, ['None']);
  });
});

describe('service validation', () => {
  it('accepts defaulted services', () => {
    assert.deepEqual(s.validate!(svc({ ports: [{ port: 80 }] })), []);
    assert.deepEqual(s.validate!(svc({ clusterIP: 'None' })), []);
    assert.deepEqual(s.validate!(svc({ type: 'ExternalName', externalName: 'example.com.' })), []);
  });

  it('requires ports, port names when several, valid ranges', () => {
    assert.ok(fields(s.validate!(svc({}))).includes('spec.ports:FieldValueRequired'));
    const errs = s.validate!(svc({ ports: [{ port: 80 }, { port: 70000, name: 'b' }] }));
    assert.ok(fields(errs).includes('spec.ports[0].name:FieldValueRequired'));
    assert.ok(fields(errs).includes('spec.ports[1].port:FieldValueInvalid'));
  });

  it('forbids nodePort on ClusterIP and requires externalName for ExternalName', () => {
    assert.ok(fields(s.validate!(svc({ ports: [{ port: 80, nodePort: 30080 }] }))).includes('spec.ports[0].nodePort:FieldValueForbidden'));
    assert.ok(fields(s.validate!(svc({ type: 'ExternalName' }))).includes('spec.externalName:FieldValueRequired'));
    assert.ok(fields(s.validate!(svc({ type: 'ExternalName', externalName: 'Not_Valid' }))).includes('spec.externalName:FieldValueInvalid'));
    assert.equal(s.validate!(svc({ type: 'Magic', ports: [{ port: 1 }] })).find((e) => e.field === 'spec.type')?.type, 'FieldValueNotSupported');
  });

  it('uses DNS-1035 labels for names', () => {
    assert.deepEqual(serviceKind.nameValidator('web-1', false), []);
    assert.equal(serviceKind.nameValidator('1web', false).length, 1);
  });
});

describe('service update', () => {
  it('keeps allocated values a client omitted and forbids changing clusterIP', () => {
    const old = svc({ type: 'NodePort', ports: [{ name: 'http', port: 80 }] });
    old.spec!.clusterIP = '10.96.0.10';
    old.spec!.clusterIPs = ['10.96.0.10'];
    old.spec!.ports![0].nodePort = 30080;
    const next = svc({ type: 'NodePort', ports: [{ name: 'http', port: 80 }] });
    s.prepareForUpdate!(next, old);
    assert.equal(next.spec!.clusterIP, '10.96.0.10');
    assert.deepEqual(next.spec!.clusterIPs, ['10.96.0.10']);
    assert.equal(next.spec!.ports![0].nodePort, 30080);
    assert.deepEqual(s.validateUpdate!(next, old), []);

    const moved = JSON.parse(JSON.stringify(old)) as Service;
    moved.spec!.clusterIP = '10.96.0.11';
    s.prepareForUpdate!(moved, old);
    const errs = s.validateUpdate!(moved, old);
    assert.deepEqual(fields(errs), ['spec.clusterIPs[0]:FieldValueInvalid']);
    assert.equal(errs[0].detail, 'may not change once set');
  });

  it('drops node ports and clusterIP when moving to ExternalName', () => {
    const old = svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] });
    old.spec!.clusterIP = '10.96.0.10';
    old.spec!.clusterIPs = ['10.96.0.10'];
    const next = JSON.parse(JSON.stringify(old)) as Service;
    next.spec!.type = 'ExternalName';
    next.spec!.externalName = 'db.example.com';
    s.defaults!(next);
    s.prepareForUpdate!(next, old);
    assert.equal(next.spec!.clusterIP, undefined);
    assert.equal(next.spec!.ports![0].nodePort, undefined);
    assert.equal(next.spec!.externalTrafficPolicy, undefined);
    assert.deepEqual(s.validate!(next), []);
  });
});

describe('service table', () => {
  it('prints TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE, SELECTOR', () => {
    const v = svc({ type: 'NodePort', selector: { b: '2', a: '1' }, ports: [{ port: 80, nodePort: 30080, name: 'h' }, { port: 53, protocol: 'UDP', name: 'd' }] });
    v.spec!.clusterIPs = ['10.96.0.10'];
    assert.deepEqual(s.table!.row(v, NOW), ['web', 'NodePort', '10.96.0.10', '<none>', '80:30080/TCP,53/UDP', '60m', 'a=1,b=2']);
    const lb = svc({ type: 'LoadBalancer', ports: [{ port: 80 }] });
    assert.equal(s.table!.row(lb, NOW)[3], '<pending>');
    assert.equal(s.table!.row(lb, NOW)[2], '<none>');
    Object.assign(lb, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } });
    assert.equal(s.table!.row(lb, NOW)[3], '203.0.113.9');
    assert.equal(s.table!.row(svc({ type: 'ExternalName', externalName: 'x.io' }), NOW)[4], '<none>');
  });
});
