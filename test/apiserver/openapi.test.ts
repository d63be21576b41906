import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { Scheme } from '../../src/api/scheme.js';
import { apiVersionOf, type KindInfo } from '../../src/api/types.js';
import { openAPIFor, OpenAPIDocuments } from '../../src/apiserver/openapi.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { rawRequest } from '../helpers/raw.js';
import { skipUnless } from '../helpers/skip.js';

type Doc = Record<string, unknown>;
type SchemaDoc = { type?: string; format?: string; $ref?: string; properties?: Record<string, SchemaDoc>; items?: SchemaDoc; additionalProperties?: SchemaDoc; required?: string[]; [x: string]: unknown };
type Op = { parameters?: { name: string; in: string }[]; requestBody?: { content: Record<string, unknown> }; 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string } };

const gvPath = (k: KindInfo) => (k.group ? `apis/${k.group}/${k.version}` : `api/${k.version}`);
const itemPath = (k: KindInfo) => `/${gvPath(k)}${k.namespaced ? '/namespaces/{namespace}' : ''}/${k.resource}/{name}`;

/** Every `$ref` anywhere in a value. */
function refsIn(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refsIn(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) k === '$ref' && typeof x === 'string' ? out.push(x) : refsIn(x, out);
  return out;
}

/** The length-delimited fields of one protobuf message, by field number (enough to look inside gnostic's Document). */
function protoFields(buf: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let i = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 2) {
      const len = varint();
      out.set(key >>> 3, [...(out.get(key >>> 3) ?? []), buf.subarray(i, i + len)]);
      i += len;
    } else if (wire === 0) varint();
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

describe('OpenAPI documents of the built-in kinds', () => {
  const scheme = builtinScheme();
  const docs = new OpenAPIDocuments(scheme.kinds(), 'v1.33.0+test');

  test('v2: a definition with its group-version-kind for every served kind, and a PATCH that takes fieldValidation', () => {
    const v2 = docs.v2() as { swagger: string; definitions: Record<string, SchemaDoc>; paths: Record<string, Record<string, Op>> };
    assert.equal(v2.swagger, '2.0');
    const gvks = Object.values(v2.definitions).flatMap((d) => (d['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined) ?? []);
    for (const k of scheme.kinds()) {
      assert.ok(gvks.some((g) => g.group === k.group && g.version === k.version && g.kind === k.kind), `no definition for ${apiVersionOf(k)} ${k.kind}`);
      const patch = v2.paths[itemPath(k)]?.patch;
      assert.ok(patch, `no PATCH at ${itemPath(k)}`);
      assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: k.group, version: k.version, kind: k.kind });
      for (const p of ['dryRun', 'fieldManager', 'fieldValidation', 'force']) assert.ok(patch.parameters?.some((x) => x.name === p && x.in === 'query'), `${itemPath(k)} PATCH lacks ${p}`);
    }
    for (const ref of refsIn(v2)) assert.ok(v2.definitions[ref.replace('#/definitions/', '')], `dangling ${ref}`);
  });

  test('v2: types, formats, required fields and patch strategies as upstream publishes them', () => {
    const d = (docs.v2() as { definitions: Record<string, SchemaDoc> }).definitions;
    assert.deepEqual(d['io.k8s.apimachinery.pkg.util.intstr.IntOrString'], { type: 'string', format: 'int-or-string' });
    assert.deepEqual(d['io.k8s.apimachinery.pkg.apis.meta.v1.Time'], { type: 'string', format: 'date-time' });
    assert.deepEqual(d['io.k8s.apimachinery.pkg.api.resource.Quantity'], { type: 'string' });
    assert.deepEqual(d['io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1'], { type: 'object' });
    const spec = d['io.k8s.api.apps.v1.DeploymentSpec'];
    assert.deepEqual(spec.required, ['selector', 'template']);
    assert.deepEqual(spec.properties?.replicas, { type: 'integer' });
    assert.deepEqual(spec.properties?.template, { $ref: '#/definitions/io.k8s.api.core.v1.PodTemplateSpec' });
    assert.deepEqual(spec.properties?.strategy?.['x-kubernetes-patch-strategy'], 'retainKeys');
    const containers = d['io.k8s.api.core.v1.PodSpec'].properties?.containers;
    assert.deepEqual(containers?.items, { $ref: '#/definitions/io.k8s.api.core.v1.Container' });
    assert.equal(containers?.['x-kubernetes-patch-strategy'], 'merge');
    assert.equal(containers?.['x-kubernetes-patch-merge-key'], 'name');
    assert.deepEqual(d['io.k8s.api.core.v1.ResourceRequirements'].properties?.limits, { type: 'object', additionalProperties: { $ref: '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity' } });
    assert.ok(!JSON.stringify(d).includes('"description":"'.concat('Standard')), 'no upstream prose');
  });

  test('v2 as protobuf: gnostic Document with swagger, info and every definition', () => {
    const top = protoFields(docs.v2Protobuf().body);
    assert.equal(top.get(1)?.[0].toString(), '2.0');
    const definitions = protoFields(top.get(9)![0]).get(1) ?? [];
    const names = definitions.map((named) => protoFields(named).get(1)![0].toString());
    assert.deepEqual(names, Object.keys((docs.v2() as { definitions: object }).definitions));
    assert.ok((top.get(8)?.[0].length ?? 0) > 0, 'paths are encoded');
  });

  test('v3: one document per served group version, listed in the root with its hash', () => {
    const root = JSON.parse(docs.v3Root().json.toString()) as { paths: Record<string, { serverRelativeURL: string }> };
    const served = [...new Set(scheme.kinds().map(gvPath))].sort();
    assert.deepEqual(Object.keys(root.paths).sort(), served);
    for (const [key, doc] of docs.v3GroupVersions()) {
      assert.equal(doc.hash, createHash('sha512').update(doc.json).digest('hex').toUpperCase());
      assert.equal(root.paths[key].serverRelativeURL, `/openapi/v3/${key}?hash=${doc.hash}`);
      const v3 = JSON.parse(doc.json.toString()) as { openapi: string; paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, SchemaDoc> } };
      assert.equal(v3.openapi, '3.0.0');
      for (const ref of refsIn(v3)) assert.ok(v3.components.schemas[ref.replace('#/components/schemas/', '')], `${key}: dangling ${ref}`);
      for (const k of scheme.kinds().filter((x) => gvPath(x) === key)) {
        const patch = v3.paths[itemPath(k)]?.patch;
        assert.ok(patch?.parameters?.some((p) => p.name === 'fieldValidation' && p.in === 'query'), `${itemPath(k)}: PATCH lacks fieldValidation`);
        assert.ok(patch?.requestBody?.content['application/strategic-merge-patch+json'], `${itemPath(k)}: PATCH does not take a strategic merge patch`);
        const kinds = Object.values(v3.components.schemas).flatMap((s) => (s['x-kubernetes-group-version-kind'] as { kind: string }[] | undefined) ?? []);
        assert.ok(kinds.some((g) => g.kind === k.kind), `${key}: no schema for ${k.kind}`);
      }
    }
  });

  test('documents are built once per scheme and rebuilt when its kinds change', () => {
    const s = builtinScheme();
    const a = openAPIFor(s, 'v1');
    assert.equal(openAPIFor(s, 'v1'), a);
    s.unregister('', 'v1', 'configmaps');
    const b = openAPIFor(s, 'v1');
    assert.notEqual(b, a);
    assert.equal(Object.keys((b.v2() as { paths: object }).paths).some((p) => p.includes('/configmaps')), false);
    assert.equal(openAPIFor(new Scheme(), 'v1').v3GroupVersions().size, 0);
  });
});

describe('OpenAPI over HTTP', () => {
  let cluster: TestCluster;
  const get = (path: string, headers: Record<string, string> = {}) => rawRequest(cluster.kubeconfigPath, 'GET', path, { headers });
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.close();
  });

  test('/openapi/v3 and its group versions: immutable under their hash, redirected from a stale one, 304 on a match', async () => {
    const root = await get('/openapi/v3');
    assert.equal(root.status, 200);
    const url = (root.json as { paths: Record<string, { serverRelativeURL: string }> }).paths['apis/apps/v1'].serverRelativeURL;
    const doc = await get(url);
    assert.equal(doc.status, 200);
    assert.equal(doc.headers['cache-control'], 'public, immutable');
    assert.ok(doc.headers.expires);
    const hash = new URL(url, 'https://x').searchParams.get('hash');
    assert.equal(doc.headers.etag, `"${hash}"`);
    assert.ok(Object.keys((doc.json as { components: { schemas: object } }).components.schemas).includes('io.k8s.api.apps.v1.Deployment'));
    const stale = await get('/openapi/v3/apis/apps/v1?hash=0123');
    assert.equal(stale.status, 301);
    assert.equal(stale.headers.location, url);
    const cached = await get(url, { 'If-None-Match': `"${hash}"` });
    assert.equal(cached.status, 304);
    assert.equal((await get('/openapi/v3/apis/example.com/v1')).status, 404);
  });

  test('/openapi/v2: JSON or gnostic protobuf as asked, gzip when accepted, 406 otherwise', async () => {
    const json = await get('/openapi/v2', { Accept: 'application/json' });
    assert.equal(json.status, 200);
    assert.equal(json.headers['content-type'], 'application/json');
    assert.ok((json.json as { definitions: object }).definitions);
    const proto = await get('/openapi/v2', { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
    assert.equal(proto.status, 200);
    assert.equal(proto.headers['content-type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    assert.ok(Number(proto.headers['content-length']) > 1000);
    const gz = await get('/openapi/v2', { Accept: 'application/json', 'Accept-Encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(Number(gz.headers['content-length']) < Number(json.headers['content-length']));
    assert.equal((await get('/openapi/v2', { Accept: 'text/html' })).status, 406);
  });

  test('kubectl 1.33 explain reads the v3 schemas', skipUnless(kubectlPath('1.33') !== undefined, 'kubectl 1.33 not found'), async () => {
    const fields = await cluster.kubectlOk(['explain', 'deployment.spec.template.spec.containers']);
    assert.match(fields.stdout, /^KIND:\s+Deployment$/m);
    assert.match(fields.stdout, /^FIELD: containers <\[\]Container>$/m);
    assert.match(fields.stdout, /^\s+image\s+<string>$/m);
    assert.match(fields.stdout, /^\s+name\s+<string> -required-$/m);
    assert.match(fields.stdout, /^\s+env\s+<\[\]EnvVar>$/m);
    const recursive = await cluster.kubectlOk(['explain', 'pods', '--recursive']);
    assert.match(recursive.stdout, /^ {4}containers\s+<\[\]Container> -required-$/m);
    assert.match(recursive.stdout, /^ {6}imagePullPolicy\s+<string>$/m);
    const replicas = await cluster.kubectlOk(['explain', 'deployment.spec.replicas']);
    assert.match(replicas.stdout, /FIELD: replicas <integer>/);
  });

  test('kubectl 1.20 explain reads the v2 protobuf, and its server dry-run finds dryRun in the PATCH operations', skipUnless(kubectlPath('1.20') !== undefined, 'kubectl 1.20 not found (scripts/setup.sh fetches it)'), async () => {
    const fields = await cluster.kubectlOk(['explain', 'deployment.spec.template.spec.containers'], { version: '1.20' });
    assert.match(fields.stdout, /^RESOURCE: containers <\[\]Object>$/m);
    assert.match(fields.stdout, /^\s+image\s+<string>$/m);
    assert.match(fields.stdout, /^\s+name\s+<string> -required-$/m);
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry, namespace: default}\ndata: {a: b}\n';
    const dry = await cluster.kubectlOk(['apply', '--dry-run=server', '-f', '-'], { version: '1.20', stdin: cm });
    assert.match(dry.stdout, /configmap\/dry created \(server dry run\)/);
    assert.notEqual((await cluster.kubectl(['get', 'configmap', 'dry', '-n', 'default'], { version: '1.20' })).code, 0);
  });
});
