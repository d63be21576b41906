// CustomResourceDefinitions over HTTP: a CRD is validated, established and served (discovery, CRUD,
// watch, Table, status, scale), its objects are validated, pruned and defaulted, and deleting it
// removes them. Runs one API server (memory store, plain HTTP) in the test process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { builtinScheme } from '../../src/api/kinds/index.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import { listen, newApiServer, type RunningApiServer } from '../../src/apiserver/server.js';
import { MemoryStore } from '../../src/storage/memory.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test bodies

export const CRONTAB_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'crontabs.stable.example.com' },
  spec: {
    group: 'stable.example.com',
    scope: 'Namespaced',
    names: { plural: 'crontabs', singular: 'crontab', kind: 'CronTab', shortNames: ['ct'], categories: ['all'] },
    versions: [
      {
        name: 'v1beta1',
        served: true,
        storage: false,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['cronSpec'],
                properties: {
                  cronSpec: { type: 'string', pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$' },
                  image: { type: 'string' },
                  replicas: { type: 'integer', minimum: 1, maximum: 10, default: 1 },
                  color: { type: 'string', enum: ['red', 'blue'] },
                  port: { 'x-kubernetes-int-or-string': true },
                  extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
                },
              },
              status: {
                type: 'object',
                properties: { replicas: { type: 'integer' }, selector: { type: 'string' }, phase: { type: 'string' } },
              },
            },
          },
        },
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } },
        additionalPrinterColumns: [
          { name: 'Spec', type: 'string', jsonPath: '.spec.cronSpec' },
          { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
      },
    ],
  },
};

interface Reply {
  status: number;
  headers: Headers;
  body: Json;
  text: string;
}

describe('CustomResourceDefinitions over HTTP', () => {
  let store: MemoryStore;
  let api: ApiServer;
  let running: RunningApiServer;
  let base: string;

  const start = async () => {
    api = newApiServer({ store, scheme: builtinScheme(), authenticate: () => undefined, serverAddress: '127.0.0.1:0', anonymousIsAdmin: true });
    running = await listen(api, { port: 0, bind: '127.0.0.1' });
    base = `http://127.0.0.1:${running.port}`;
  };

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const res = await fetch(base + path, {
      method,
      headers: { 'Content-Type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: Json = {};
    try {
      parsed = text ? (JSON.parse(text) as Json) : {};
    } catch {
      parsed = {};
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  const eventually = async <T>(what: string, fn: () => Promise<T | undefined>, ms = 5000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const established = (name: string) =>
    eventually(`${name} established`, async () => {
      const r = await call('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      return r.body.status?.conditions?.some((c: Json) => c.type === 'Established' && c.status === 'True') ? r.body : undefined;
    });

  const CT = '/apis/stable.example.com/v1/namespaces/default/crontabs';

  before(async () => {
    store = new MemoryStore();
    await start();
    assert.equal((await call('POST', '/api/v1/namespaces', { metadata: { name: 'default' } })).status, 201);
  });
  after(async () => {
    await running?.close();
  });

  test('invalid CRDs are refused with 422 Invalid', async () => {
    const badName = structuredClone(CRONTAB_CRD) as Json;
    badName.metadata.name = 'crontab.stable.example.com';
    let r = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', badName);
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.reason, 'Invalid');
    assert.match(r.body.message, /metadata\.name: Invalid value: "crontab\.stable\.example\.com": must be spec\.names\.plural\+"\."\+spec\.group/);

    const twoStorage = structuredClone(CRONTAB_CRD) as Json;
    twoStorage.spec.versions[0].storage = true;
    r = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', twoStorage);
    assert.equal(r.status, 422, r.text);
    assert.match(r.body.message, /spec\.versions: Invalid value: .*must have exactly one version marked as storage version/);

    const untyped = structuredClone(CRONTAB_CRD) as Json;
    delete untyped.spec.versions[1].schema.openAPIV3Schema.properties.spec.properties.image.type;
    untyped.spec.scope = 'Everywhere';
    r = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', untyped);
    assert.equal(r.status, 422, r.text);
    assert.match(r.body.message, /spec\.scope: Unsupported value: "Everywhere": supported values: "Cluster", "Namespaced"/);
    assert.match(r.body.message, /properties\[spec\]\.properties\[image\]\.type: Required value: must not be empty for specified object fields/);
  });

  test('a created CRD is established and listed in discovery', async () => {
    const r = await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', CRONTAB_CRD);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.spec.names.listKind, 'CronTabList');
    assert.deepEqual(r.body.spec.conversion, { strategy: 'None' });
    const crd = await established('crontabs.stable.example.com');
    assert.deepEqual(crd.status.storedVersions, ['v1']);
    assert.equal(crd.status.acceptedNames.kind, 'CronTab');
    const names = crd.status.conditions.find((c: Json) => c.type === 'NamesAccepted');
    assert.deepEqual([names.status, names.reason], ['True', 'NoConflicts']);

    const list = await call('GET', '/apis/stable.example.com/v1');
    assert.equal(list.status, 200);
    const res = list.body.resources as Json[];
    const ct = res.find((x) => x.name === 'crontabs')!;
    assert.deepEqual([ct.kind, ct.namespaced, ct.shortNames, ct.categories, ct.singularName], ['CronTab', true, ['ct'], ['all'], 'crontab']);
    assert.ok(res.some((x) => x.name === 'crontabs/status'));
    assert.equal(res.find((x) => x.name === 'crontabs/scale')!.kind, 'Scale');

    const group = await call('GET', '/apis/stable.example.com');
    assert.equal(group.body.preferredVersion.version, 'v1');
    assert.deepEqual(group.body.versions.map((v: Json) => v.version), ['v1', 'v1beta1']);

    const agg = await call('GET', '/apis', undefined, { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' });
    assert.ok(agg.body.items.some((g: Json) => g.metadata.name === 'stable.example.com'));
    const etag = agg.headers.get('etag')!;
    assert.ok(etag);
    const again = await fetch(`${base}/apis`, { headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', 'If-None-Match': etag } });
    assert.equal(again.status, 304);

    const crdTable = await call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    assert.deepEqual(crdTable.body.columnDefinitions.map((c: Json) => c.name), ['Name', 'Created At']);
    assert.equal(crdTable.body.rows[0].cells[1], crd.metadata.creationTimestamp);
  });

  test('custom resources are validated, pruned and defaulted', async () => {
    const strict = await call('POST', `${CT}?fieldValidation=Strict`, { apiVersion: 'stable.example.com/v1', kind: 'CronTab', metadata: { name: 'a' }, spec: { cronSpec: '* * * * */5', bogus: 1 } });
    assert.equal(strict.status, 400, strict.text);
    assert.match(strict.body.message, /strict decoding error: unknown field "spec\.bogus"/);

    const r = await call('POST', CT, {
      apiVersion: 'stable.example.com/v1',
      kind: 'CronTab',
      metadata: { name: 'a' },
      spec: { cronSpec: '* * * * */5', image: 'img', bogus: 1, port: 'http', extra: { anything: { goes: true } } },
      status: { replicas: 5 },
      topLevel: 'x',
    });
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('warning') ?? '', /unknown field \\"spec\.bogus\\"/);
    assert.equal(r.body.spec.bogus, undefined);
    assert.equal(r.body.topLevel, undefined);
    assert.equal(r.body.spec.replicas, 1, 'default applied');
    assert.deepEqual(r.body.spec.extra, { anything: { goes: true } });
    assert.equal(r.body.status, undefined, 'status is cleared on create with a status subresource');
    assert.equal(r.body.metadata.generation, 1);

    const bad = await call('POST', CT, { metadata: { name: 'b' }, spec: { cronSpec: 'nope', replicas: 'three', color: 'pink', tags: ['a', 'b', 'c'] } });
    assert.equal(bad.status, 422, bad.text);
    assert.equal(bad.body.reason, 'Invalid');
    const msg = bad.body.message as string;
    assert.match(msg, /^CronTab\.stable\.example\.com "b" is invalid: /);
    assert.match(msg, /spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer: "string"/);
    assert.match(msg, /spec\.color: Unsupported value: "pink": supported values: "red", "blue"/);
    assert.match(msg, /spec\.cronSpec: Invalid value: "nope": spec\.cronSpec in body should match/);
    assert.match(msg, /spec\.tags: Too many: 3: must have at most 2 items/);

    const missing = await call('POST', CT, { metadata: { name: 'c' }, spec: { replicas: 11 } });
    assert.equal(missing.status, 422);
    assert.match(missing.body.message, /spec\.cronSpec: Required value/);
    assert.match(missing.body.message, /spec\.replicas: Invalid value: 11: spec\.replicas in body should be less than or equal to 10/);
  });

  test('get, list as a Table, other served versions, watch, update and generation', async () => {
    const got = await call('GET', `${CT}/a`);
    assert.equal(got.body.apiVersion, 'stable.example.com/v1');
    const beta = await call('GET', '/apis/stable.example.com/v1beta1/namespaces/default/crontabs/a');
    assert.equal(beta.status, 200);
    assert.equal(beta.body.apiVersion, 'stable.example.com/v1beta1');
    assert.equal(beta.body.spec.image, 'img');

    const table = await call('GET', CT, undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    assert.deepEqual(table.body.columnDefinitions.map((c: Json) => [c.name, c.type]), [
      ['Name', 'string'],
      ['Spec', 'string'],
      ['Replicas', 'integer'],
      ['Age', 'date'],
    ]);
    assert.deepEqual(table.body.rows[0].cells.slice(0, 3), ['a', '* * * * */5', 1]);
    assert.match(table.body.rows[0].cells[3], /^\d+s$/);

    const ac = new AbortController();
    const watch = await fetch(`${base}${CT}?watch=1&resourceVersion=${got.body.metadata.resourceVersion}`, { signal: ac.signal });
    const reader = watch.body!.getReader();
    const created = await call('POST', '/apis/stable.example.com/v1beta1/namespaces/default/crontabs', { metadata: { name: 'w' }, spec: { cronSpec: '1 2 3 4 5', free: 'kept' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.apiVersion, 'stable.example.com/v1beta1');
    let seen = '';
    while (!seen.includes('\n')) seen += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    const ev = JSON.parse(seen.split('\n')[0]) as Json;
    assert.equal(ev.type, 'ADDED');
    assert.equal(ev.object.metadata.name, 'w');
    assert.equal(ev.object.apiVersion, 'stable.example.com/v1', 'stored and watched under the storage version');

    const upd = await call('PATCH', `${CT}/a`, { spec: { image: 'img2' }, status: { phase: 'ignored' } });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.metadata.generation, 2);
    assert.equal(upd.body.status, undefined, 'status only changes through /status');
    const st = await call('PATCH', `${CT}/a/status`, { status: { replicas: 3, selector: 'app=a', junk: 1 } });
    assert.equal(st.status, 200, st.text);
    assert.deepEqual(st.body.status, { replicas: 3, selector: 'app=a' });
    assert.equal(st.body.metadata.generation, 2);

    const smp = await call('PATCH', `${CT}/a`, { spec: { image: 'x' } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
    assert.equal(smp.status, 415);
  });

  test('the scale subresource maps to the CRD paths', async () => {
    const scale = await call('GET', `${CT}/a/scale`);
    assert.equal(scale.status, 200, scale.text);
    assert.deepEqual([scale.body.kind, scale.body.spec.replicas, scale.body.status.replicas, scale.body.status.selector], ['Scale', 1, 3, 'app=a']);
    const put = await call('PUT', `${CT}/a/scale`, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'a', namespace: 'default' }, spec: { replicas: 4 } });
    assert.equal(put.status, 200, put.text);
    assert.equal((await call('GET', `${CT}/a`)).body.spec.replicas, 4);
  });

  test('CRDs in the store are served again after a restart', async () => {
    await running.close();
    await start();
    const r = await call('GET', `${CT}/a`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.spec.replicas, 4);
  });

  test('deleting the CRD deletes its objects, then the CRD, then stops serving it', async () => {
    const del = await call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com');
    assert.equal(del.status, 200, del.text);
    await eventually('the CRD to go', async () => {
      const r = await call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com');
      return r.status === 404 ? true : undefined;
    });
    assert.equal((await call('GET', CT)).status, 404);
    assert.equal((await call('GET', '/apis/stable.example.com/v1')).status, 404);
    const left = await store.list('/stable.example.com/crontabs/', {});
    assert.equal(left.items.length, 0, 'no custom resources left in storage');
  });
});
