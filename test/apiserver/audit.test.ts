// The audit log: audit.k8s.io/v1 Events as JSON lines at the levels of the policy, the Audit-Id header,
// Secrets never logged with their data by default, upstream Policy files, and size-based rotation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_AUDIT_POLICY,
  evaluatePolicy,
  installAudit,
  loadAuditPolicy,
  RotatingLogFile,
  type AuditBackend,
  type AuditEvent,
} from '../../src/apiserver/audit.js';
import { requestAttributes } from '../../src/apiserver/authz/request-info.js';
import type { UserInfo } from '../../src/apiserver/registry.js';
import { removeTempDataDir, startTestCluster, tempDataDir, type TestCluster } from '../helpers/cluster.js';
import { rawRequest, rawWatch, type RawRequestOptions } from '../helpers/raw.js';

const alice: UserInfo = { username: 'alice', groups: ['devs', 'system:authenticated'] };
const level = (method: string, path: string, query = '', user = alice) => evaluatePolicy(DEFAULT_AUDIT_POLICY, requestAttributes(user, method, path, new URLSearchParams(query))).level;

describe('audit policy', () => {
  test('default: Metadata for reads, Request for writes, Metadata for secrets, configmaps and tokenreviews, nothing for health probes', () => {
    assert.equal(level('GET', '/api/v1/namespaces/a/pods/p'), 'Metadata');
    assert.equal(level('GET', '/api/v1/pods'), 'Metadata');
    assert.equal(level('POST', '/api/v1/namespaces/a/pods'), 'Request');
    assert.equal(level('PATCH', '/apis/apps/v1/namespaces/a/deployments/d/scale'), 'Request');
    assert.equal(level('DELETE', '/api/v1/namespaces/a/pods'), 'Request');
    assert.equal(level('POST', '/api/v1/namespaces/a/secrets'), 'Metadata');
    assert.equal(level('PUT', '/api/v1/namespaces/a/configmaps/c'), 'Metadata');
    assert.equal(level('POST', '/apis/authentication.k8s.io/v1/tokenreviews'), 'Metadata');
    assert.equal(level('GET', '/healthz'), 'None');
    assert.equal(level('GET', '/readyz/ping'), 'None');
    assert.equal(level('GET', '/apis'), 'Metadata');
  });

  test('an upstream Policy file: first matching rule wins; users, groups, namespaces, */sub, res/*, nonResourceURLs', () => {
    const dir = tempDataDir();
    try {
      const file = join(dir, 'policy.yaml');
      writeFileSync(
        file,
        `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-proxy]
- level: RequestResponse
  userGroups: [auditors]
  resources: [{group: "", resources: ["*/status"]}]
- level: Request
  namespaces: [prod]
  resources: [{group: apps, resources: ["deployments/*"]}]
- level: Metadata
  nonResourceURLs: ["/apis*"]
`,
      );
      const p = loadAuditPolicy(file);
      const at = (user: UserInfo, method: string, path: string) => evaluatePolicy(p, requestAttributes(user, method, path, new URLSearchParams())).level;
      const auditor: UserInfo = { username: 'bob', groups: ['auditors'] };
      assert.equal(at({ username: 'system:kube-proxy', groups: [] }, 'GET', '/apis'), 'None');
      assert.equal(at(auditor, 'PUT', '/api/v1/nodes/n/status'), 'RequestResponse');
      assert.equal(at(auditor, 'PUT', '/api/v1/nodes/n'), 'None');
      assert.equal(at(alice, 'PUT', '/api/v1/nodes/n/status'), 'None');
      assert.equal(at(alice, 'PUT', '/apis/apps/v1/namespaces/prod/deployments/d/scale'), 'Request');
      assert.equal(at(alice, 'PUT', '/apis/apps/v1/namespaces/dev/deployments/d/scale'), 'None');
      assert.equal(at(alice, 'GET', '/apis/apps/v1'), 'Metadata');
      assert.equal(at(alice, 'GET', '/api'), 'None');
      writeFileSync(file, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Loud}]\n');
      assert.throws(() => loadAuditPolicy(file), /level must be one of/);
    } finally {
      removeTempDataDir(dir);
    }
  });
});

describe('audit log of a running server', () => {
  let cluster: TestCluster;
  let audit: AuditBackend;
  let logPath: string;
  const req = (method: string, path: string, opts?: RawRequestOptions) => rawRequest(cluster.kubeconfigPath, method, path, opts);
  const events = async (): Promise<AuditEvent[]> => {
    await audit.flush();
    return readFileSync(logPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditEvent);
  };
  /** The events of one request, once its response has been logged (the server logs it just after the client has it). */
  const eventsOf = async (auditID: string | string[] | undefined) => {
    for (let i = 0; ; i++) {
      const evs = existsSync(logPath) ? (await events()).filter((e) => e.auditID === auditID) : [];
      if (evs.some((e) => e.stage === 'ResponseComplete') || i === 100) return evs;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  before(async () => {
    cluster = await startTestCluster({ controllers: false, audit: false });
    logPath = join(cluster.dataDir, 'audit', 'audit.log');
    audit = installAudit(cluster.api, { path: logPath });
  });
  after(async () => {
    await audit?.close();
    await cluster?.close();
  });

  test('a GET: Metadata event with user, verb, objectRef, response status; its auditID in the Audit-Id header', async () => {
    const r = await req('GET', '/api/v1/namespaces/default/serviceaccounts/nope', { headers: { 'User-Agent': 'audit-test/1.0' } });
    assert.equal(r.status, 404);
    const id = r.headers['audit-id'];
    assert.match(String(id), /^[0-9a-f-]{36}$/);
    const evs = await eventsOf(id);
    assert.equal(evs.length, 1, JSON.stringify(evs));
    const e = evs[0];
    assert.equal(e.kind, 'Event');
    assert.equal(e.apiVersion, 'audit.k8s.io/v1');
    assert.equal(e.level, 'Metadata');
    assert.equal(e.stage, 'ResponseComplete');
    assert.equal(e.verb, 'get');
    assert.equal(e.requestURI, '/api/v1/namespaces/default/serviceaccounts/nope');
    assert.equal(e.user.username, 'admin');
    assert.ok(e.user.groups?.includes('system:masters'));
    assert.deepEqual(e.sourceIPs, ['127.0.0.1']);
    assert.equal(e.userAgent, 'audit-test/1.0');
    assert.deepEqual(e.objectRef, { resource: 'serviceaccounts', namespace: 'default', name: 'nope', apiVersion: 'v1' });
    assert.equal(e.responseStatus?.code, 404);
    assert.equal(e.responseStatus?.status, 'Failure');
    assert.equal(e.responseStatus?.reason, 'NotFound');
    assert.equal(e.requestObject, undefined);
    assert.match(e.requestReceivedTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(e.stageTimestamp >= e.requestReceivedTimestamp);
  });

  test('writes are logged at Request level with the request object; Secrets and ConfigMaps at Metadata, their data nowhere in the log', async () => {
    const sa = await req('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot', labels: { team: 'blue' } } } });
    assert.equal(sa.status, 201, sa.body);
    const [e] = await eventsOf(sa.headers['audit-id']);
    assert.equal(e.level, 'Request');
    assert.equal(e.verb, 'create');
    // the name comes from the request body, as upstream's LogRequestObject completes objectRef
    assert.deepEqual(e.objectRef, { resource: 'serviceaccounts', namespace: 'default', name: 'robot', apiVersion: 'v1' });
    assert.equal(e.responseStatus?.code, 201);
    assert.deepEqual((e.requestObject as { metadata: unknown }).metadata, { name: 'robot', labels: { team: 'blue' } });

    const secret = await req('POST', '/api/v1/namespaces/default/secrets', { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, stringData: { password: 'hunter2-audit' } } });
    assert.equal(secret.status, 201, secret.body);
    const put = await req('PUT', '/api/v1/namespaces/default/secrets/s1', {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, data: { password: Buffer.from('correct-horse-audit').toString('base64') } },
    });
    assert.equal(put.status, 200, put.body);
    const cm = await req('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c1' }, data: { k: 'cm-value-audit' } } });
    assert.equal(cm.status, 201, cm.body);
    for (const r of [secret, put, cm]) {
      const [ev] = await eventsOf(r.headers['audit-id']);
      assert.ok(ev, `no event ${r.headers['audit-id']} in ${JSON.stringify(await events()).slice(-3000)}`);
      assert.equal(ev.level, 'Metadata');
      assert.equal(ev.requestObject, undefined);
      assert.equal(ev.objectRef?.name, r === cm ? 'c1' : 's1');
    }
    const text = readFileSync(logPath, 'utf8');
    for (const secretText of ['hunter2-audit', 'correct-horse-audit', Buffer.from('correct-horse-audit').toString('base64'), 'cm-value-audit'])
      assert.ok(!text.includes(secretText), `${secretText} in the audit log`);
  });

  test('impersonation is logged as impersonatedUser', async () => {
    const r = await req('GET', '/api/v1/namespaces/default/configmaps', { headers: { 'Impersonate-User': 'carol', 'Impersonate-Group': 'system:masters' } });
    assert.equal(r.status, 200);
    const [e] = await eventsOf(r.headers['audit-id']);
    assert.equal(e.user.username, 'admin');
    assert.deepEqual(e.impersonatedUser, { username: 'carol', groups: ['system:masters', 'system:authenticated'] });
    assert.equal(e.verb, 'list');
    assert.equal(e.responseStatus?.code, 200);
  });

  test('failed authentication is logged with 401 and no user', async () => {
    const r = await req('GET', '/api/v1/namespaces', { anonymous: true, headers: { Authorization: 'Bearer not-a-token' } });
    assert.equal(r.status, 401);
    const [e] = await eventsOf(r.headers['audit-id']);
    assert.equal(e.responseStatus?.code, 401);
    assert.equal(e.user.username, undefined);
    assert.equal(e.verb, 'list');
  });

  test('a watch logs ResponseStarted when its stream opens and ResponseComplete when it ends', async () => {
    const w = await rawWatch(cluster.kubeconfigPath, '/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1');
    assert.equal(w.status, 200);
    await w.ended;
    await new Promise((r) => setTimeout(r, 50));
    const evs = (await events()).filter((e) => e.verb === 'watch' && e.objectRef?.resource === 'configmaps');
    const byId = new Map<string, AuditEvent[]>();
    for (const e of evs) byId.set(e.auditID, [...(byId.get(e.auditID) ?? []), e]);
    const stages = [...byId.values()].map((l) => l.map((e) => e.stage));
    assert.deepEqual(stages, [['ResponseStarted', 'ResponseComplete']]);
    const [started, complete] = [...byId.values()][0];
    assert.equal(started.responseStatus?.code, 200);
    assert.ok(Date.parse(complete.stageTimestamp) - Date.parse(started.stageTimestamp) >= 900);
  });

  test('an Audit-ID sent by the client is kept', async () => {
    const r = await req('GET', '/version', { headers: { 'Audit-ID': 'client-chosen-id' } });
    assert.equal(r.headers['audit-id'], 'client-chosen-id');
    assert.equal((await eventsOf('client-chosen-id')).length, 1);
  });
});

describe('audit at RequestResponse level from a policy', () => {
  test('logs request and response objects without managedFields', async () => {
    const cluster = await startTestCluster({ controllers: false, audit: false });
    const logPath = join(cluster.dataDir, 'audit', 'audit.log');
    const audit = installAudit(cluster.api, {
      path: logPath,
      policy: { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitManagedFields: true, rules: [{ level: 'RequestResponse', resources: [{ group: '', resources: ['serviceaccounts'] }] }] },
    });
    try {
      const r = await rawRequest(cluster.kubeconfigPath, 'POST', '/api/v1/namespaces/default/serviceaccounts?fieldManager=me', {
        body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'rr' } },
      });
      assert.equal(r.status, 201, r.body);
      const ns = await rawRequest(cluster.kubeconfigPath, 'GET', '/api/v1/namespaces/default');
      await new Promise((res) => setTimeout(res, 100));
      await audit.flush();
      const evs = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
      assert.ok(!evs.some((e) => e.auditID === ns.headers['audit-id']), 'namespaces are not in the policy');
      assert.deepEqual(
        evs.filter((x) => x.auditID === r.headers['audit-id']).map((x) => x.stage),
        ['RequestReceived', 'ResponseComplete'],
      );
      const e = evs.find((x) => x.auditID === r.headers['audit-id'] && x.stage === 'ResponseComplete');
      assert.ok(e);
      assert.equal(e.level, 'RequestResponse');
      const resp = e.responseObject as { metadata: { name: string; uid: string; managedFields?: unknown } };
      assert.equal(resp.metadata.name, 'rr');
      assert.ok(resp.metadata.uid);
      assert.equal(resp.metadata.managedFields, undefined);
      assert.deepEqual(e.requestObject, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'rr' } });
    } finally {
      await audit.close();
      await cluster.close();
    }
  });
});

describe('rotation', () => {
  test('the file rotates by size, keeps maxBackups files, loses no line of those kept', async () => {
    const dir = tempDataDir();
    try {
      const path = join(dir, 'audit', 'audit.log');
      const f = new RotatingLogFile(path, { maxSizeBytes: 1000, maxBackups: 3 });
      const lines = Array.from({ length: 200 }, (_, i) => JSON.stringify({ n: i, pad: 'x'.repeat(40) }));
      for (const l of lines) assert.ok(f.write(l));
      await f.close();
      const backups = f.backups();
      assert.equal(backups.length, 3);
      for (const b of [...backups, path]) assert.ok(statSync(b).size <= 1000, `${b} is ${statSync(b).size} bytes`);
      const kept = [...backups, path].flatMap((b) => readFileSync(b, 'utf8').split('\n').filter(Boolean));
      const ns = kept.map((l) => (JSON.parse(l) as { n: number }).n);
      assert.deepEqual(ns, Array.from({ length: ns.length }, (_, i) => 200 - ns.length + i), 'the newest lines, in order, without gaps');
      assert.ok(ns.length >= 3 * 15, `only ${ns.length} lines kept`);
      assert.equal(ns.at(-1), 199);
    } finally {
      removeTempDataDir(dir);
    }
  });

  test('rotations within one millisecond keep their order: no backup is taken for the oldest and pruned', async () => {
    const dir = tempDataDir();
    try {
      const path = join(dir, 'audit.log');
      // every rotation gets the same stamp
      const f = new RotatingLogFile(path, { maxSizeBytes: 200, maxBackups: 2, now: () => Date.UTC(2026, 0, 1) });
      for (let i = 0; i < 60; i++) assert.ok(f.write(JSON.stringify({ n: i, pad: 'x'.repeat(20) })));
      await f.close();
      const backups = f.backups();
      assert.equal(backups.length, 2);
      const ns = [...backups, path].flatMap((b) => readFileSync(b, 'utf8').split('\n').filter(Boolean)).map((l) => (JSON.parse(l) as { n: number }).n);
      assert.deepEqual(ns, Array.from({ length: ns.length }, (_, i) => 60 - ns.length + i), 'the newest lines, in order, without gaps');
      assert.ok(ns.length >= 10, `only ${ns.length} lines kept`);
    } finally {
      removeTempDataDir(dir);
    }
  });

  test('a full buffer drops events instead of growing without bound', async () => {
    const dir = tempDataDir();
    try {
      const f = new RotatingLogFile(join(dir, 'a.log'), { maxBufferedBytes: 100 });
      assert.equal(f.write('x'.repeat(60)), true);
      assert.equal(f.write('y'.repeat(60)), false);
      assert.equal(f.dropped, 1);
      await f.close();
      assert.equal(readFileSync(join(dir, 'a.log'), 'utf8'), 'x'.repeat(60) + '\n');
    } finally {
      removeTempDataDir(dir);
    }
  });
});
