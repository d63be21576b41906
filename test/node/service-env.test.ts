// Service environment variables (kubelet envvars): docker-link names, enableServiceLinks, `default/kubernetes` always.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { resolveEnv, serviceEnvironment, serviceLinkVariables, type ObjectSource } from '../../src/node/agent/env.js';

const svc = (namespace: string, name: string, clusterIP: string, ports: ServicePort[]): Service => ({
  metadata: { name, namespace },
  spec: { clusterIP, ports },
});

const kubernetes = svc('default', 'kubernetes', '10.43.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]);
const web = svc('shop', 'web-front', '10.43.7.9', [
  { name: 'http', port: 80, protocol: 'TCP' },
  { name: 'dns-udp', port: 53, protocol: 'UDP' },
]);
const headless = svc('shop', 'db', 'None', [{ name: 'pg', port: 5432 }]);
const otherNs = svc('other', 'cache', '10.43.3.3', [{ port: 6379 }]);

test('the variables of one Service: host, ports by name, docker links per port', () => {
  assert.deepEqual(Object.fromEntries(serviceLinkVariables([kubernetes])), {
    KUBERNETES_SERVICE_HOST: '10.43.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: 'tcp://10.43.0.1:443',
    KUBERNETES_PORT_443_TCP: 'tcp://10.43.0.1:443',
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: '443',
    KUBERNETES_PORT_443_TCP_ADDR: '10.43.0.1',
  });
  const v = serviceLinkVariables([web]);
  assert.equal(v.get('WEB_FRONT_SERVICE_HOST'), '10.43.7.9');
  assert.equal(v.get('WEB_FRONT_SERVICE_PORT'), '80');
  assert.equal(v.get('WEB_FRONT_SERVICE_PORT_HTTP'), '80');
  assert.equal(v.get('WEB_FRONT_SERVICE_PORT_DNS_UDP'), '53');
  assert.equal(v.get('WEB_FRONT_PORT'), 'tcp://10.43.7.9:80');
  assert.equal(v.get('WEB_FRONT_PORT_53_UDP'), 'udp://10.43.7.9:53');
  assert.equal(v.get('WEB_FRONT_PORT_53_UDP_PROTO'), 'udp');
  assert.equal(v.get('WEB_FRONT_PORT_53_UDP_ADDR'), '10.43.7.9');
  assert.equal(serviceLinkVariables([svc('x', 'v6', 'fd00::a', [{ port: 80 }])]).get('V6_PORT'), 'tcp://[fd00::a]:80');
  assert.equal(serviceLinkVariables([headless]).size, 0, 'headless Services have no variables');
});

test('a pod sees its namespace’s Services and default/kubernetes; with enableServiceLinks false only the latter', () => {
  const all = [kubernetes, web, headless, otherNs];
  const on = serviceEnvironment(all, 'shop', true);
  assert.ok(on.has('KUBERNETES_SERVICE_HOST'));
  assert.ok(on.has('WEB_FRONT_SERVICE_HOST'));
  assert.ok(![...on.keys()].some((k) => k.startsWith('CACHE_') || k.startsWith('DB_')));
  const off = serviceEnvironment(all, 'shop', false);
  assert.deepEqual([...off.keys()].filter((k) => !k.startsWith('KUBERNETES_')), []);
  assert.equal(off.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
  // a Service named kubernetes in the pod's own namespace wins over default's
  const own = serviceEnvironment([kubernetes, svc('shop', 'kubernetes', '10.43.9.9', [{ port: 8443 }])], 'shop', true);
  assert.equal(own.get('KUBERNETES_SERVICE_HOST'), '10.43.9.9');
});

test('resolveEnv: service variables come after the container’s, never override them, and feed $(VAR) expansion', async () => {
  const asked: string[] = [];
  const objects: ObjectSource = {
    configMap: async () => undefined,
    secret: async () => undefined,
    services: async (ns) => (asked.push(ns), [kubernetes, web, otherNs].filter((s) => s.metadata?.namespace === ns)),
  };
  const pod: Pod = { metadata: { name: 'p', namespace: 'shop' }, spec: { containers: [] } };
  const container: Container = {
    name: 'c',
    env: [
      { name: 'WEB_FRONT_SERVICE_PORT', value: 'mine' },
      { name: 'API', value: 'https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)' },
    ],
  };
  const env = await resolveEnv({ pod, container, objects, allocatable: {} });
  const names = env.map((e) => e.name);
  assert.deepEqual(names.slice(0, 2), ['WEB_FRONT_SERVICE_PORT', 'API']);
  const get = (n: string) => env.find((e) => e.name === n)?.value;
  assert.equal(get('WEB_FRONT_SERVICE_PORT'), 'mine');
  assert.equal(get('API'), 'https://10.43.0.1:443');
  assert.equal(get('WEB_FRONT_SERVICE_HOST'), '10.43.7.9');
  assert.equal(get('KUBERNETES_PORT_443_TCP_ADDR'), '10.43.0.1');
  assert.equal(names.filter((n) => n === 'WEB_FRONT_SERVICE_PORT').length, 1);
  assert.deepEqual(asked.sort(), ['default', 'shop']);

  const noLinks = await resolveEnv({ pod: { ...pod, spec: { containers: [], enableServiceLinks: false } }, container: { name: 'c' }, objects, allocatable: {} });
  assert.deepEqual(noLinks.map((e) => e.name).filter((n) => !n.startsWith('KUBERNETES_')), []);
  assert.ok(noLinks.some((e) => e.name === 'KUBERNETES_SERVICE_HOST'));

  // an agent without a Service source (tests, older callers) sets none
  const none = await resolveEnv({ pod, container: { name: 'c' }, objects: { configMap: async () => undefined, secret: async () => undefined }, allocatable: {} });
  assert.deepEqual(none, []);
});
