import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Endpoints, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { endpointsKind, formatEndpoints } from '../../../src/api/kinds/endpoints.js';
import { eventKind } from '../../../src/api/kinds/event.js';
import { serviceAccountKind } from '../../../src/api/kinds/serviceaccount.js';
import { configMapKind } from '../../../src/api/kinds/configmap.js';
import { coreKinds } from '../../../src/api/kinds/core-index.js';
import type { FieldError } from '../../../src/api/errors.js';

const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

describe('endpoints', () => {
  const s = endpointsKind.strategy;
  it('defaults port protocols and validates subsets', () => {
    const ep = { metadata: { name: 'web' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] } as Endpoints;
    s.defaults!(ep);
    assert.equal(ep.subsets![0].ports![0].protocol, 'TCP');
    assert.deepEqual(s.validate!(ep), []);
    const bad = { subsets: [{ ports: [{ port: 80, protocol: 'TCP' }, { port: 0, protocol: 'TCP', name: 'b' }] }, { addresses: [{ ip: '127.0.0.1' }, { ip: 'nope' }] }] } as Endpoints;
    const errs = fields(s.validate!(bad));
    assert.ok(errs.includes('subsets[0]:FieldValueRequired'));
    assert.ok(errs.includes('subsets[0].ports[0].name:FieldValueRequired'));
    assert.ok(errs.includes('subsets[0].ports[1].port:FieldValueInvalid'));
    assert.ok(errs.includes('subsets[1].addresses[0].ip:FieldValueInvalid'));
    assert.ok(errs.includes('subsets[1].addresses[1].ip:FieldValueInvalid'));
    assert.equal(endpointsKind.allowCreateOnUpdate, true);
  });

  it('prints up to three endpoints then a count', () => {
    const ep = {
      subsets: [{ addresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) => ({ ip })), ports: [{ port: 8080 }] }],
    } as Endpoints;
    assert.equal(formatEndpoints(ep), '10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more...');
    assert.equal(formatEndpoints({} as Endpoints), '<none>');
    assert.equal(formatEndpoints({ subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 53 }] }] } as Endpoints), '[fd00::1]:53');
  });
});

describe('core event', () => {
  const s = eventKind.strategy;
  it('fills the zero values a server writes and checks the namespace', () => {
    const e = { metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'Started', message: 'ok', type: 'Normal' } as never;
    s.defaults!(e);
    assert.deepEqual(
      { eventTime: (e as Record<string, unknown>).eventTime, reportingComponent: (e as Record<string, unknown>).reportingComponent, source: (e as Record<string, unknown>).source },
      { eventTime: null, reportingComponent: '', source: {} },
    );
    assert.deepEqual(s.validate!(e), []);
    const elsewhere = { metadata: { name: 'e', namespace: 'default' }, involvedObject: { namespace: 'other' } } as never;
    assert.deepEqual(fields(s.validate!(elsewhere)), ['involvedObject.namespace:FieldValueInvalid']);
    const modern = { metadata: { name: 'e', namespace: 'default' }, eventTime: '2024-05-01T00:00:00.000000Z', involvedObject: {} } as never;
    const errs = fields(s.validate!(modern));
    for (const f of ['reportingController:FieldValueRequired', 'reportingInstance:FieldValueRequired', 'action:FieldValueRequired', 'reason:FieldValueRequired'])
      assert.ok(errs.includes(f), f);
  });

  it('exposes involvedObject field selectors and the event table', () => {
    const e = { metadata: { name: 'e' }, involvedObject: { kind: 'Pod', name: 'p', uid: 'u1' }, reason: 'Pulled', source: { component: 'kubelet' }, type: 'Normal', message: ' hi ' } as never;
    const f = s.selectableFields!(e);
    assert.equal(f['involvedObject.uid'], 'u1');
    assert.equal(f.source, 'kubelet');
    const row = s.table!.row(e, 0);
    assert.equal(row[3], 'pod/p');
    assert.equal(row[6], 'hi');
  });
});

describe('service account', () => {
  it('keeps only secret names and prints the secret count', () => {
    const sa = { metadata: { name: 'default', creationTimestamp: '2024-05-01T00:00:00Z' }, secrets: [{ name: 'tok', namespace: 'x', uid: 'u' }] } as ServiceAccount;
    serviceAccountKind.strategy.prepareForCreate!(sa);
    assert.deepEqual(sa.secrets, [{ name: 'tok' }]);
    assert.deepEqual(serviceAccountKind.strategy.table!.row(sa, Date.parse('2024-05-01T00:02:00Z')), ['default', 1, '2m']);
    assert.deepEqual(serviceAccountKind.subresources!.extra, [{ name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] }]);
  });
});

describe('config map', () => {
  const s = configMapKind.strategy;
  it('reports bad keys under data[key] and keeps immutable data fixed', () => {
    const cm = { data: { 'a/b': 'x', '..x': 'y', dup: '1' }, binaryData: { dup: 'AA==', bin: 'not base64' } } as ConfigMap;
    assert.deepEqual(fields(s.validate!(cm)).sort(), ['binaryData[bin]:FieldValueInvalid', 'data[..x]:FieldValueInvalid', 'data[a/b]:FieldValueInvalid', 'data[dup]:FieldValueInvalid']);
    const old = { immutable: true, data: { a: '1' } } as ConfigMap;
    assert.deepEqual(fields(s.validateUpdate!({ immutable: true, data: { a: '2' } } as ConfigMap, old)), ['data:FieldValueForbidden']);
    assert.deepEqual(s.validateUpdate!({ immutable: true, data: { a: '1' } } as ConfigMap, old), []);
  });
});

describe('coreKinds', () => {
  it('lists every core/v1 kind once with upstream discovery names', () => {
    const byResource = Object.fromEntries(coreKinds.map((k) => [k.resource, k]));
    assert.deepEqual(Object.keys(byResource).sort(), [
      'configmaps', 'endpoints', 'events', 'limitranges', 'namespaces', 'nodes', 'persistentvolumeclaims', 'persistentvolumes', 'pods',
      'replicationcontrollers', 'resourcequotas', 'secrets', 'serviceaccounts', 'services',
    ]);
    const short = Object.fromEntries(coreKinds.map((k) => [k.resource, (k.shortNames ?? []).join(',')]));
    assert.deepEqual(short, {
      configmaps: 'cm', endpoints: 'ep', events: 'ev', limitranges: 'limits', namespaces: 'ns', nodes: 'no', persistentvolumeclaims: 'pvc',
      persistentvolumes: 'pv', pods: 'po', replicationcontrollers: 'rc', resourcequotas: 'quota', secrets: '', serviceaccounts: 'sa', services: 'svc',
    });
    for (const k of coreKinds) {
      assert.equal(k.group, '');
      assert.equal(k.version, 'v1');
      assert.equal(k.namespaced, !['namespaces', 'nodes', 'persistentvolumes'].includes(k.resource), k.resource);
    }
    const withStatus = coreKinds.filter((k) => k.subresources?.status).map((k) => k.resource).sort();
    assert.deepEqual(withStatus, ['namespaces', 'nodes', 'persistentvolumeclaims', 'persistentvolumes', 'pods', 'replicationcontrollers', 'resourcequotas', 'services']);
  });
});
