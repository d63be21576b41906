// With installProtobuf, the API server stores what kubectl 1.33 sends as protobuf.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Role } from 'kubernetes-types/rbac/v1.js';
import { builtinScheme } from '../../../src/api/kinds/index.js';
import { installProtobuf } from '../../../src/apiserver/protobuf.js';
import { listen, newApiServer, type RunningApiServer } from '../../../src/apiserver/server.js';
import { MemoryStore } from '../../../src/storage/memory.js';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { skipUnless } from '../../helpers/skip.js';
import { RecordingServer, writeKubeconfig } from './recorder.js';

function post(port: number, path: string, contentType: string, body: Buffer): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'Content-Type': contentType, 'Content-Length': body.length } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('API server with installProtobuf', skipUnless(kubectlPath('1.33') !== undefined, 'kubectl 1.33'), () => {
  let running: RunningApiServer;
  let store: MemoryStore;
  let dir = '';
  let kubeconfig = '';
  const k = async (...args: string[]) => {
    const r = await kubectl('1.33', kubeconfig, args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const getJSON = async <T>(...args: string[]) => JSON.parse(await k('get', ...args, '-o', 'json')) as T;

  before(async () => {
    store = new MemoryStore();
    const api = newApiServer({ store, scheme: builtinScheme(), authenticate: () => undefined, serverAddress: '127.0.0.1:0', anonymousIsAdmin: true });
    installProtobuf(api);
    running = await listen(api, { port: 0, bind: '127.0.0.1' });
    dir = mkdtempSync(join(tmpdir(), 'timonel-pb-apiserver-'));
    kubeconfig = writeKubeconfig(dir, `http://127.0.0.1:${running.port}`);
    await k('create', 'namespace', 'pb');
  });

  after(async () => {
    await running?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('secret, configmap, deployment, service and role created by kubectl are stored as sent', async () => {
    await k('create', 'secret', 'generic', 's', '-n', 'pb', '--from-literal=a=b');
    await k('create', 'configmap', 'cm', '-n', 'pb', '--from-literal=k=v');
    await k('create', 'deployment', 'web', '-n', 'pb', '--image=nginx', '--replicas=0', '--port=80');
    await k('create', 'service', 'clusterip', 'svc', '-n', 'pb', '--tcp=80:8080');
    await k('create', 'role', 'r', '-n', 'pb', '--verb=get', '--resource=pods');
    const secret = await getJSON<Secret>('secret', 's', '-n', 'pb');
    assert.deepEqual(secret.data, { a: 'Yg==' });
    assert.ok(secret.metadata?.creationTimestamp);
    assert.deepEqual((await getJSON<ConfigMap>('configmap', 'cm', '-n', 'pb')).data, { k: 'v' });
    const deploy = await getJSON<Deployment>('deployment', 'web', '-n', 'pb');
    assert.equal(deploy.spec?.replicas, 0);
    assert.equal(deploy.spec?.template.spec?.containers[0].ports?.[0].containerPort, 80);
    const svc = await getJSON<Service>('service', 'svc', '-n', 'pb');
    assert.equal(svc.spec?.ports?.[0].targetPort, 8080);
    assert.deepEqual((await getJSON<Role>('role', 'r', '-n', 'pb')).rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
  });

  test('a protobuf body of another kind than the URL is 400; malformed is 400', async () => {
    // a real kubectl body for a Secret, sent to the configmaps URL
    const rec = new RecordingServer();
    await rec.start();
    let secretBody: Buffer;
    try {
      const r = await kubectl('1.33', rec.kubeconfig, ['create', 'secret', 'generic', 'x', '--from-literal=a=b']);
      assert.equal(r.code, 0, r.stderr);
      secretBody = rec.writes('POST')[0].body;
    } finally {
      await rec.stop();
    }
    const wrong = await post(running.port, '/api/v1/namespaces/pb/configmaps', 'application/vnd.kubernetes.protobuf', secretBody);
    assert.equal(wrong.code, 400, wrong.body);
    assert.match(JSON.parse(wrong.body).message, /does not match the expected kind \(ConfigMap\)/);
    const bad = await post(running.port, '/api/v1/namespaces/pb/secrets', 'application/vnd.kubernetes.protobuf', secretBody.subarray(0, secretBody.length - 3));
    assert.equal(bad.code, 400, bad.body);
    assert.equal(JSON.parse(bad.body).reason, 'BadRequest');
    const ok = await post(running.port, '/api/v1/namespaces/pb/secrets', 'application/vnd.kubernetes.protobuf', secretBody);
    assert.equal(ok.code, 201, ok.body);
    assert.equal((JSON.parse(ok.body) as Secret).metadata?.name, 'x');
  });
});
