import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Ingress, IngressClass, NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { FieldError } from '../../../src/api/errors.js';
import { ingressClassKind, ingressKind, networkPolicyKind, portNameErrors } from '../../../src/api/kinds/networking.js';
import { formatAge } from '../../../src/api/names.js';
import type { KubeObject } from '../../../src/api/types.js';

type Ing = Ingress & KubeObject;
type IC = IngressClass & KubeObject;
type NP = NetworkPolicy & KubeObject;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

const ing = (spec: Ing['spec'], extra: Partial<Ing> = {}): Ing =>
  ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'default' }, spec, ...extra }) as Ing;
const svc = (name: string, port: { number?: number; name?: string }) => ({ service: { name, port } });

describe('Ingress', () => {
  const s = ingressKind.strategy;

  it('has upstream discovery info', () => {
    assert.deepEqual(ingressKind.shortNames, ['ing']);
    assert.equal(ingressKind.generation, true);
    assert.deepEqual(ingressKind.subresources, { status: true });
  });

  it('accepts rules with wildcard hosts, defaultBackend and TLS', () => {
    const o = ing({
      ingressClassName: 'nginx',
      defaultBackend: svc('fallback', { number: 80 }),
      rules: [
        { host: '*.foo.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svc('web', { name: 'http' }) }] } },
        { host: 'bar.com', http: { paths: [{ pathType: 'ImplementationSpecific', backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'assets' } } }] } },
      ],
      tls: [{ hosts: ['*.foo.com', 'bar.com'], secretName: 'tls-cert' }],
    });
    assert.deepEqual(s.validate!(o), []);
  });

  it('requires rules or a defaultBackend', () => {
    const errs = s.validate!(ing({}));
    assert.deepEqual(errs.map((e) => [e.field, e.detail]), [['spec', 'either `defaultBackend` or `rules` must be specified']]);
  });

  it('validates hosts, paths, pathType and backends with upstream paths', () => {
    const o = ing({
      rules: [
        { host: '10.0.0.1', http: { paths: [{ path: 'api', pathType: 'Prefix', backend: svc('web', { number: 80 }) }] } },
        { host: 'foo.*.com', http: { paths: [{ path: '/a//b', pathType: 'Exact', backend: svc('Web', { number: 70000 }) }] } },
        { host: 'ok.com', http: { paths: [] } },
        {
          http: {
            paths: [
              { path: '/', backend: svc('web', { number: 80 }) },
              { path: '/', pathType: 'Regex', backend: svc('web', { name: 'http', number: 80 }) },
              { path: '/', pathType: 'Prefix', backend: {} },
              { path: '/', pathType: 'Prefix', backend: { ...svc('web', { number: 80 }), resource: { kind: 'K', name: 'n' } } },
              { path: '/', pathType: 'Prefix', backend: svc('web', {}) },
            ],
          },
        },
      ],
    } as Ing['spec']);
    assert.deepEqual(fields(s.validate!(o)), [
      'spec.rules[0].host:FieldValueInvalid', // an IP address (which is a valid DNS subdomain, though)
      'spec.rules[0].http.paths[0].path:FieldValueInvalid',
      'spec.rules[1].host:FieldValueInvalid',
      'spec.rules[1].http.paths[0].path:FieldValueInvalid',
      'spec.rules[1].http.paths[0].backend.service.name:FieldValueInvalid',
      'spec.rules[1].http.paths[0].backend.service.port.number:FieldValueInvalid',
      'spec.rules[2].http.paths:FieldValueRequired',
      'spec.rules[3].http.paths[0].pathType:FieldValueRequired',
      'spec.rules[3].http.paths[1].pathType:FieldValueNotSupported',
      'spec.rules[3].http.paths[1].backend:FieldValueInvalid',
      'spec.rules[3].http.paths[2].backend:FieldValueInvalid',
      'spec.rules[3].http.paths[3].backend:FieldValueInvalid',
      'spec.rules[3].http.paths[4].backend:FieldValueRequired',
    ]);
    const details = s.validate!(o).map((e) => e.detail);
    assert.ok(details.includes('must be a DNS name, not an IP address'));
    assert.ok(details.includes('must be an absolute path'));
    assert.ok(details.includes("must not contain '//'"));
    assert.ok(details.includes('cannot set both port name & port number'));
    assert.ok(details.includes('resource or service backend is required'));
    assert.ok(details.includes('cannot set both resource and service backends'));
    assert.ok(details.includes('port name or number is required'));
  });

  it('validates TLS hosts and secret names, the class name and the class annotation', () => {
    const o = ing(
      { defaultBackend: svc('web', { number: 80 }), tls: [{ hosts: ['Bad_Host'], secretName: 'Not_Valid' }], ingressClassName: 'nginx' },
      { metadata: { name: 'web', namespace: 'default', annotations: { 'kubernetes.io/ingress.class': 'traefik' } } },
    );
    assert.deepEqual(fields(s.validate!(o)), [
      'spec.tls[0].hosts[0]:FieldValueInvalid',
      'spec.tls[0].secretName:FieldValueInvalid',
      'annotations.kubernetes.io/ingress.class:FieldValueInvalid',
    ]);
  });

  it('validates load-balancer status written through /status', () => {
    const o = ing({ defaultBackend: svc('web', { number: 80 }) }, { status: { loadBalancer: { ingress: [{ ip: '1.2.3' }, { hostname: '10.0.0.1' }] } } });
    assert.deepEqual(fields(s.validate!(o)), ['status.loadBalancer.ingress[0].ip:FieldValueInvalid', 'status.loadBalancer.ingress[1].hostname:FieldValueInvalid']);
  });

  it('does not crash on wrongly typed fields', () => {
    const o = ing({ rules: 'x', tls: 5 } as unknown as Ing['spec']);
    assert.deepEqual(fields(s.validate!(o)), ['spec.rules:FieldValueTypeInvalid', 'spec.tls:FieldValueTypeInvalid', 'spec:FieldValueInvalid']);
  });

  it('resets status on create', () => {
    const o = ing({ defaultBackend: svc('web', { number: 80 }) }, { status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } });
    s.prepareForCreate!(o);
    assert.deepEqual(o.status, { loadBalancer: {} });
  });

  it('prints CLASS HOSTS ADDRESS PORTS AGE', () => {
    const now = Date.parse('2024-01-01T00:10:00Z');
    assert.deepEqual(s.table!.columns.map((c) => c.name.toUpperCase()), ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE']);
    const o = ing(
      {
        ingressClassName: 'nginx',
        rules: [{ host: 'a.com' }, {}, { host: 'b.com' }, { host: 'c.com' }, { host: 'd.com' }],
        tls: [{ hosts: ['a.com'] }],
      },
      { status: { loadBalancer: { ingress: [{ ip: '10.0.0.2' }, { hostname: 'lb.example.com' }, { ip: '10.0.0.1' }, { ip: '10.0.0.1' }] } } },
    );
    o.metadata = { ...o.metadata, creationTimestamp: '2024-01-01T00:00:00Z' };
    assert.deepEqual(s.table!.row(o, now), [
      'web',
      'nginx',
      'a.com,b.com,c.com + 2 more...',
      '10.0.0.1,10.0.0.2,lb.example.com',
      '80, 443',
      formatAge('2024-01-01T00:00:00Z', now),
    ]);
    assert.deepEqual(s.table!.row(ing({ defaultBackend: svc('web', { number: 80 }) }), now).slice(1, 5), ['<none>', '*', '', '80']);
  });
});

describe('IngressClass', () => {
  const s = ingressClassKind.strategy;
  const ic = (spec: IC['spec']): IC => ({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec }) as IC;

  it('defaults parameters.scope to Cluster', () => {
    const o = ic({ controller: 'k8s.io/ingress-nginx', parameters: { kind: 'Config', name: 'c' } });
    s.defaults!(o);
    s.defaults!(o);
    assert.equal(o.spec!.parameters!.scope, 'Cluster');
    assert.deepEqual(s.validate!(o), []);
    const none = ic({ controller: 'k8s.io/ingress-nginx' });
    s.defaults!(none);
    assert.equal(none.spec!.parameters, undefined);
  });

  it('requires a domain-prefixed controller and valid parameters', () => {
    assert.deepEqual(fields(s.validate!(ic({}))), ['spec.controller:FieldValueRequired']);
    const bad = s.validate!(ic({ controller: 'nginx' }));
    assert.deepEqual(bad.map((e) => e.detail), ['must be a domain-prefixed path (such as "acme.io/foo")']);
    assert.deepEqual(fields(s.validate!(ic({ controller: 'example.com/a b' }))), ['spec.controller:FieldValueInvalid']);
    assert.deepEqual(fields(s.validate!(ic({ controller: `example.com/${'x'.repeat(250)}` }))), ['spec.controller:FieldValueTooLong']);
    const params = ic({ controller: 'example.com/c', parameters: { kind: '', name: 'a/b', scope: 'Namespace' } });
    assert.deepEqual(fields(s.validate!(params)), [
      'spec.parameters.kind:FieldValueRequired',
      'spec.parameters.name:FieldValueInvalid',
      'spec.parameters.namespace:FieldValueRequired',
    ]);
    const cluster = ic({ controller: 'example.com/c', parameters: { kind: 'K', name: 'n', scope: 'Cluster', namespace: 'x' } });
    assert.deepEqual(fields(s.validate!(cluster)), ['spec.parameters.namespace:FieldValueForbidden']);
  });

  it('keeps the controller immutable and prints CONTROLLER PARAMETERS', () => {
    const old = ic({ controller: 'example.com/a' });
    assert.deepEqual(fields(s.validateUpdate!(ic({ controller: 'example.com/b' }), old)), ['spec.controller:FieldValueInvalid']);
    assert.deepEqual(s.validateUpdate!(ic({ controller: 'example.com/a', parameters: { kind: 'K', name: 'n' } }), old), []);
    const now = Date.now();
    const o = ic({ controller: 'example.com/a', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p', scope: 'Cluster' } });
    assert.deepEqual(s.table!.row(o, now).slice(0, 3), ['nginx', 'example.com/a', 'IngressParameters.k8s.example.com/p']);
    assert.equal(s.table!.row(old, now)[2], '<none>');
  });
});

describe('NetworkPolicy', () => {
  const s = networkPolicyKind.strategy;
  const np = (spec: NP['spec']): NP => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'default' }, spec }) as NP;

  it('has upstream discovery info', () => {
    assert.deepEqual(networkPolicyKind.shortNames, ['netpol']);
    assert.equal(networkPolicyKind.generation, true);
  });

  it('defaults policyTypes as upstream: Ingress always, Egress when egress rules exist', () => {
    const a = np({ podSelector: {} });
    s.defaults!(a);
    assert.deepEqual(a.spec!.policyTypes, ['Ingress']);
    const b = np({ podSelector: {}, egress: [{ ports: [{ port: 53 }] }] });
    s.defaults!(b);
    const once = structuredClone(b);
    s.defaults!(b);
    assert.deepEqual(b, once);
    assert.deepEqual(b.spec!.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(b.spec!.egress![0].ports, [{ port: 53, protocol: 'TCP' }]);
    const c = np({ podSelector: {}, policyTypes: ['Egress'], egress: [{}] });
    s.defaults!(c);
    assert.deepEqual(c.spec!.policyTypes, ['Egress']);
    const bare = np(undefined);
    s.defaults!(bare);
    assert.deepEqual(bare.spec, { podSelector: {}, policyTypes: ['Ingress'] });
  });

  it('accepts a typical policy', () => {
    const o = np({
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'fe' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 'http' }, { port: 8000, endPort: 9000 }] }],
    });
    s.defaults!(o);
    assert.deepEqual(s.validate!(o), []);
  });

  it('validates peers, ports, ipBlocks and policyTypes', () => {
    const o = np({
      podSelector: {},
      ingress: [
        {
          from: [{}, { ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }, { ipBlock: { cidr: 'nope' } }, { ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.0.0/8', '11.0.0.0/24', '10.0.0.0/16'] } }],
          ports: [{ protocol: 'ICMP' as 'TCP', port: 0 }, { port: 'http', endPort: 90 }, { endPort: 90 }, { port: 100, endPort: 90 }, { port: 'Bad--Name' }],
        },
      ],
      policyTypes: ['Ingress', 'Sideways' as 'Ingress'],
    });
    assert.deepEqual(fields(s.validate!(o)), [
      'spec.ingress[0].ports[0].protocol:FieldValueNotSupported',
      'spec.ingress[0].ports[0].port:FieldValueInvalid',
      'spec.ingress[0].ports[1].endPort:FieldValueInvalid',
      'spec.ingress[0].ports[2].endPort:FieldValueInvalid',
      'spec.ingress[0].ports[3].endPort:FieldValueInvalid',
      'spec.ingress[0].ports[4].port:FieldValueInvalid',
      'spec.ingress[0].ports[4].port:FieldValueInvalid',
      'spec.ingress[0].from[0]:FieldValueRequired',
      'spec.ingress[0].from[1]:FieldValueForbidden',
      'spec.ingress[0].from[2].ipBlock.cidr:FieldValueInvalid',
      'spec.ingress[0].from[3].ipBlock.except[0]:FieldValueInvalid',
      'spec.ingress[0].from[3].ipBlock.except[1]:FieldValueInvalid',
      'spec.ingress[0].from[3].ipBlock.except[2]:FieldValueInvalid',
      'spec.policyTypes[1]:FieldValueNotSupported',
    ]);
    const tooMany = np({ podSelector: {}, policyTypes: ['Ingress', 'Egress', 'Ingress'] });
    assert.deepEqual(fields(s.validate!(tooMany)), ['spec.policyTypes:FieldValueInvalid']);
  });

  it('checks port names like upstream IsValidPortName', () => {
    assert.deepEqual(portNameErrors('http'), []);
    assert.deepEqual(portNameErrors('-a--b-'), ['must not contain consecutive hyphens', 'must not begin or end with a hyphen']);
    assert.deepEqual(portNameErrors('8080'), ['must contain at least one letter (a-z)']);
  });

  it('prints POD-SELECTOR', () => {
    const now = Date.now();
    assert.deepEqual(s.table!.columns.map((c) => c.name.toUpperCase()), ['NAME', 'POD-SELECTOR', 'AGE']);
    assert.equal(s.table!.row(np({ podSelector: { matchLabels: { app: 'web' } } }), now)[1], 'app=web');
    assert.equal(s.table!.row(np({ podSelector: {} }), now)[1], '<none>');
  });
});
