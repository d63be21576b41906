import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../../src/api/errors.js';
import { builtinSchema, schemaForKind } from '../../src/api/schema/index.js';
import { fieldValidationOf, goFormat, scanJSONStrict, strictErrorText, yamlDuplicateKeys } from '../../src/apiserver/fieldvalidation.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { rawRequest, type RawResponse } from '../helpers/raw.js';
import { skipUnless } from '../helpers/skip.js';

/** A Deployment body with a misspelt field, a field set twice, and a misspelt container field. */
const typoJSON = (name: string) => `{
  "apiVersion": "apps/v1",
  "kind": "Deployment",
  "metadata": {"name": "${name}", "labels": {"app": "fv", "app": "fv"}},
  "spec": {
    "replica": 2,
    "paused": true,
    "paused": false,
    "selector": {"matchLabels": {"app": "fv"}},
    "template": {
      "metadata": {"labels": {"app": "fv"}},
      "spec": {"containers": [{"name": "c", "image": "nginx", "imagePullPolicyy": "Always"}]}
    }
  }
}`;

const typoErrors = [
  'duplicate field "metadata.labels.app"',
  'unknown field "spec.replica"',
  'duplicate field "spec.paused"',
  'unknown field "spec.template.spec.containers[0].imagePullPolicyy"',
];

const validDeployment = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
});

/** The texts of the `Warning: 299 - "…"` headers of a response. */
function warnings(r: RawResponse): string[] {
  const raw = r.headers.warning;
  const joined = Array.isArray(raw) ? raw.join(', ') : (raw ?? '');
  return [...joined.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
}

const message = (r: RawResponse) => (r.json as { message?: string } | undefined)?.message ?? r.body;

describe('fieldValidation: the strict scanners', () => {
  test('JSON: unknown and duplicate fields in document order, an unknown field once even when repeated', () => {
    const schema = builtinSchema();
    const errors = scanJSONStrict(typoJSON('x'), schema, schemaForKind('apps/v1', 'Deployment')).map(strictErrorText);
    assert.deepEqual(errors, typoErrors);
    const repeated = '{"metadata":{"name":"a"},"spec":{"bogus":1,"bogus":2,"template":{"spec":{"containers":[{"name":"a"},{"name":"b","nam":"c"}]}}}}';
    assert.deepEqual(scanJSONStrict(repeated, schema, schemaForKind('apps/v1', 'Deployment')).map(strictErrorText), [
      'unknown field "spec.bogus"',
      'unknown field "spec.template.spec.containers[1].nam"',
    ]);
    // without a schema (a merge patch) only duplicates count, at any depth, keys with escapes decoded
    assert.deepEqual(scanJSONStrict('{"a":{"b\\u0021":[{"c":1,"c":2}],"b!":0}}', schema, undefined).map(strictErrorText), [
      'duplicate field "a.b![0].c"',
      'duplicate field "a.b!"',
    ]);
    // the bytes of free-form fields (managedFields[].fieldsV1) are not looked into
    const fieldsV1 = '{"metadata":{"managedFields":[{"fieldsV1":{"f:a":{},"f:a":{}}}]}}';
    assert.deepEqual(scanJSONStrict(fieldsV1, schema, schemaForKind('v1', 'ConfigMap')), []);
  });

  test('YAML: duplicate keys as Go yaml reports them, with the line of the second one', () => {
    const text = 'a: 1\nb:\n  c: 2\n  d: [1, 2]\n  c: 3\nlist:\n- x: 1\n  x: 2\na: 4\n';
    assert.deepEqual(yamlDuplicateKeys(text), ['line 5: key "c" already set in map', 'line 8: key "x" already set in map', 'line 9: key "a" already set in map']);
    assert.deepEqual(yamlDuplicateKeys('{"a": 1,\n "a": 2}'), ['line 2: key "a" already set in map']);
  });

  test('the directive: absent means Warn, anything unknown is a 422 on the options', () => {
    assert.equal(fieldValidationOf(new URLSearchParams(''), 'CreateOptions'), 'Warn');
    assert.equal(fieldValidationOf(new URLSearchParams('fieldValidation=Ignore'), 'CreateOptions'), 'Ignore');
    assert.equal(fieldValidationOf(new URLSearchParams('fieldValidation=Strict'), 'PatchOptions'), 'Strict');
    assert.throws(
      () => fieldValidationOf(new URLSearchParams('fieldValidation=strict'), 'UpdateOptions'),
      (e: unknown) =>
        e instanceof StatusError &&
        e.code === 422 &&
        e.message === 'UpdateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"',
    );
  });

  test('a patch is shown in errors as Go prints a decoded map', () => {
    assert.equal(goFormat({ spec: { replica: 2, b: [1, 'x', null], a: true } }), 'map[spec:map[a:true b:[1 x <nil>] replica:2]]');
  });
});

describe('fieldValidation over HTTP', () => {
  let cluster: TestCluster;
  const ns = 'default';
  const base = `/apis/apps/v1/namespaces/${ns}/deployments`;
  const req = (method: string, path: string, body?: unknown, contentType = 'application/json') =>
    rawRequest(cluster.kubeconfigPath, method, path, body === undefined ? {} : { body, headers: { 'Content-Type': contentType } });
  const getDeployment = async (name: string) => {
    const r = await req('GET', `${base}/${name}`);
    assert.equal(r.status, 200, r.body);
    return r.json as { spec: Record<string, unknown> & { paused?: boolean; template: { spec: { containers: Record<string, unknown>[] } } } };
  };

  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.close();
  });

  test('POST, Strict: 400 listing every unknown and duplicate field; nothing is stored', async () => {
    const r = await req('POST', `${base}?fieldValidation=Strict`, typoJSON('strict'));
    assert.equal(r.status, 400, r.body);
    assert.equal((r.json as { reason?: string }).reason, 'BadRequest');
    assert.equal(message(r), `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: ${typoErrors.join(', ')}`);
    assert.equal((await req('GET', `${base}/strict`)).status, 404);
  });

  test('POST, Warn (and no directive at all): one warning per field, unknown fields dropped from what is stored', async () => {
    for (const [name, query] of [
      ['warn', '?fieldValidation=Warn'],
      ['default', ''],
    ]) {
      const r = await req('POST', `${base}${query}`, typoJSON(name));
      assert.equal(r.status, 201, r.body);
      assert.deepEqual(warnings(r), typoErrors);
      const stored = await getDeployment(name);
      assert.equal('replica' in stored.spec, false);
      assert.equal(stored.spec.paused, false, 'the last of a duplicate field wins');
      assert.equal('imagePullPolicyy' in stored.spec.template.spec.containers[0], false);
    }
  });

  test('POST, Ignore: no warnings, and the unknown fields are still dropped', async () => {
    const r = await req('POST', `${base}?fieldValidation=Ignore`, typoJSON('ignore'));
    assert.equal(r.status, 201, r.body);
    assert.equal(r.headers.warning, undefined);
    assert.equal('replica' in (await getDeployment('ignore')).spec, false);
  });

  test('POST of YAML, Strict: the YAML decoder words duplicates by line, unknown fields follow sorted', async () => {
    const yaml = ['apiVersion: apps/v1', 'kind: Deployment', 'metadata:', '  name: yaml', 'spec:', '  replica: 1', '  paused: true', '  paused: false', '  selector: {matchLabels: {app: y}}', '  template:', '    metadata: {labels: {app: y}}', '    spec: {containers: [{name: c, image: nginx}]}', '  aaa: 1', ''].join('\n');
    const r = await req('POST', `${base}?fieldValidation=Strict`, yaml, 'application/yaml');
    assert.equal(r.status, 400, r.body);
    assert.equal(
      message(r),
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: yaml: unmarshal errors:\n  line 8: key "paused" already set in map, unknown field "spec.aaa", unknown field "spec.replica"',
    );
  });

  test('PUT, Strict and Warn; an unknown directive is a 422', async () => {
    const created = await req('POST', base, validDeployment('put'));
    assert.equal(created.status, 201, created.body);
    const body = { ...validDeployment('put'), spec: { ...validDeployment('put').spec, replicaz: 3 } };
    const strict = await req('PUT', `${base}/put?fieldValidation=Strict`, body);
    assert.equal(strict.status, 400, strict.body);
    assert.match(message(strict), /cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicaz"$/);
    const warn = await req('PUT', `${base}/put?fieldValidation=Warn`, body);
    assert.equal(warn.status, 200, warn.body);
    assert.deepEqual(warnings(warn), ['unknown field "spec.replicaz"']);
    assert.equal('replicaz' in (await getDeployment('put')).spec, false);
    const bad = await req('PUT', `${base}/put?fieldValidation=Loud`, body);
    assert.equal(bad.status, 422, bad.body);
    assert.match(message(bad), /^UpdateOptions\.meta\.k8s\.io "" is invalid: fieldValidation: Unsupported value: "Loud"/);
  });

  test('merge and strategic merge patches: duplicates of the patch, then unknown fields of the result; 422 under Strict', async () => {
    assert.equal((await req('POST', base, validDeployment('patched'))).status, 201);
    const patch = '{"spec":{"paused":true,"paused":false,"replica":5}}';
    const merge = await req('PATCH', `${base}/patched?fieldValidation=Strict`, patch, 'application/merge-patch+json');
    assert.equal(merge.status, 422, merge.body);
    const mergeMessage = message(merge);
    assert.ok(mergeMessage.startsWith(' "" is invalid: patch: Invalid value: "{'), mergeMessage);
    assert.ok(mergeMessage.endsWith('": strict decoding error: duplicate field "spec.paused", unknown field "spec.replica"'), mergeMessage);
    const cause = (merge.json as { details?: { causes?: { field?: string; reason?: string }[] } }).details?.causes?.[0];
    assert.deepEqual({ field: cause?.field, reason: cause?.reason }, { field: 'patch', reason: 'FieldValueInvalid' });

    const smp = await req('PATCH', `${base}/patched?fieldValidation=Strict`, patch, 'application/strategic-merge-patch+json');
    assert.equal(smp.status, 422, smp.body);
    assert.equal(message(smp), ' "" is invalid: patch: Invalid value: "map[spec:map[paused:false replica:5]]": strict decoding error: duplicate field "spec.paused", unknown field "spec.replica"');
    assert.notEqual((await getDeployment('patched')).spec.paused, false, 'a refused patch changes nothing');

    const warn = await req('PATCH', `${base}/patched?fieldValidation=Warn`, patch, 'application/strategic-merge-patch+json');
    assert.equal(warn.status, 200, warn.body);
    assert.deepEqual(warnings(warn), ['duplicate field "spec.paused"', 'unknown field "spec.replica"']);
    const stored = await getDeployment('patched');
    assert.equal(stored.spec.paused, false);
    assert.equal('replica' in stored.spec, false);
  });

  test('JSON patch: unknown and duplicate fields of its operations, then of the result', async () => {
    assert.equal((await req('POST', base, validDeployment('jsonpatch'))).status, 201);
    const ops = '[{"op":"add","path":"/spec/replica","value":1,"foo":"bar"},{"op":"add","path":"/spec/paused","path":"/spec/paused","value":true}]';
    const strict = await req('PATCH', `${base}/jsonpatch?fieldValidation=Strict`, ops, 'application/json-patch+json');
    assert.equal(strict.status, 422, strict.body);
    assert.ok(message(strict).endsWith('strict decoding error: json patch unknown field "[0].foo", json patch duplicate field "[1].path", unknown field "spec.replica"'), message(strict));
    const ignore = await req('PATCH', `${base}/jsonpatch?fieldValidation=Ignore`, ops, 'application/json-patch+json');
    assert.equal(ignore.status, 200, ignore.body);
    assert.equal(ignore.headers.warning, undefined);
    const stored = await getDeployment('jsonpatch');
    assert.equal(stored.spec.paused, true);
    assert.equal('replica' in stored.spec, false);
  });

  test('server-side apply: undeclared fields are refused whatever the directive; duplicate keys per the directive', async () => {
    const applied = JSON.stringify({ ...validDeployment('ssa'), metadata: { name: 'ssa', namespace: ns }, spec: { ...validDeployment('ssa').spec, replica: 1 } });
    for (const directive of ['Strict', 'Ignore']) {
      const r = await req('PATCH', `${base}/ssa?fieldManager=t&fieldValidation=${directive}`, applied, 'application/apply-patch+yaml');
      assert.equal(r.status, 400, r.body);
      assert.equal(message(r), `failed to create typed patch object (${ns}/ssa; apps/v1, Kind=Deployment): .spec.replica: field not declared in schema`);
    }
    const dupes = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ssa\nspec:\n  paused: true\n  paused: false\n';
    const strict = await req('PATCH', `${base}/ssa?fieldManager=t&fieldValidation=Strict`, dupes, 'application/apply-patch+yaml');
    assert.equal(strict.status, 400, strict.body);
    assert.equal(message(strict), 'error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  line 7: key "paused" already set in map');
  });
});

describe('fieldValidation with kubectl 1.33', skipUnless(kubectlPath('1.33') !== undefined, 'kubectl 1.33 not found'), () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster();
  });
  after(async () => {
    await cluster?.close();
  });
  const manifest = (name: string) =>
    ['apiVersion: apps/v1', 'kind: Deployment', `metadata: {name: ${name}, namespace: default}`, 'spec:', '  replica: 2', `  selector: {matchLabels: {app: ${name}}}`, '  template:', `    metadata: {labels: {app: ${name}}}`, '    spec:', '      containers:', '      - {name: c, image: nginx, imagePullPolicyy: Always}', ''].join('\n');

  test('apply of a misspelt field fails with the server-side strict decoding message', async () => {
    const r = await cluster.kubectl(['apply', '-f', '-'], { stdin: manifest('typo') });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Error from server \(BadRequest\): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec\.replica", unknown field "spec\.template\.spec\.containers\[0\]\.imagePullPolicyy"/,
    );
    const get = await cluster.kubectl(['get', 'deployment', 'typo', '-n', 'default']);
    assert.notEqual(get.code, 0, 'nothing was created');
  });

  test('--validate=warn prints the warnings; --validate=false stores the object without the unknown fields', async () => {
    const warn = await cluster.kubectlOk(['apply', '--validate=warn', '-f', '-'], { stdin: manifest('warned') });
    assert.match(warn.stderr, /Warning: unknown field "spec\.replica"/);
    await cluster.kubectlOk(['apply', '--validate=false', '-f', '-'], { stdin: manifest('lenient') });
    const got = await cluster.kubectlOk(['get', 'deployment', 'lenient', '-n', 'default', '-o', 'json']);
    const obj = JSON.parse(got.stdout) as { spec: Record<string, unknown> & { template: { spec: { containers: Record<string, unknown>[] } } } };
    assert.equal('replica' in obj.spec, false);
    assert.equal(obj.spec.template.spec.containers[0].image, 'nginx');
    assert.equal('imagePullPolicyy' in obj.spec.template.spec.containers[0], false);
  });

  test('apply --server-side of a misspelt field is refused by the typed conversion', async () => {
    const r = await cluster.kubectl(['apply', '--server-side', '-f', '-'], { stdin: manifest('ssa') });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /failed to create typed patch object \(default\/ssa; apps\/v1, Kind=Deployment\): errors:\n {2}\.spec\.replica: field not declared in schema\n {2}\.spec\.template\.spec\.containers\[name="c"\]\.imagePullPolicyy: field not declared in schema/);
  });
});
