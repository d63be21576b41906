// Admission seen through real kubectl 1.33: `kubectl describe quota` Used/Hard, an over-quota create's
// error, LimitRange defaults in `get -o yaml`, a restricted namespace refusing a privileged pod and
// warning on a Deployment.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { resourceQuotaController } from '../../src/controllers/resourcequota/controller.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

describe('admission with kubectl 1.33', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let manager: ControllerManager;

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    // the API server registers these admission plugins itself (src/apiserver/server.ts)
    for (const name of ['LimitRanger', 'ResourceQuota', 'PodSecurity']) assert.ok(cluster.api.registry.admission.some((a) => a.name === name), name);
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:resourcequota-controller', groups: ['system:masters'] });
    manager = new ControllerManager(transport, [resourceQuotaController], { log: () => {} });
    await manager.start();
  });
  after(async () => {
    await manager?.stop();
    transport?.close();
    await cluster?.close();
  });

  const ok = async (args: string[], input?: string) => {
    const r = await cluster.kubectl(args, input === undefined ? {} : { stdin: input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r;
  };

  it('shows quota usage and refuses a create over it', async () => {
    await ok(['create', 'quota', 'compute', '--hard=pods=1,configmaps=5']);
    let described = '';
    for (let i = 0; i < 100 && !/pods\s+0\s+1/.test(described); i++) {
      described = (await ok(['describe', 'quota', 'compute'])).stdout;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(described, /Resource\s+Used\s+Hard/);
    assert.match(described, /pods\s+0\s+1/);
    await ok(['run', 'one', '--image=busybox', '--restart=Never']);
    assert.match((await ok(['describe', 'quota', 'compute'])).stdout, /pods\s+1\s+1/);
    const r = await cluster.kubectl(['run', 'two', '--image=busybox', '--restart=Never']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(Forbidden\): pods "two" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=1, limited: pods=1/);
  });

  it('applies LimitRange defaults visible in get -o yaml', async () => {
    await ok(['create', 'namespace', 'limited']);
    await ok(['apply', '-n', 'limited', '-f', '-'], 'apiVersion: v1\nkind: LimitRange\nmetadata: {name: lr}\nspec:\n  limits:\n  - type: Container\n    default: {memory: 256Mi}\n    defaultRequest: {memory: 128Mi}\n');
    await ok(['run', 'p', '-n', 'limited', '--image=busybox', '--restart=Never']);
    const yaml = (await ok(['get', 'pod', 'p', '-n', 'limited', '-o', 'yaml'])).stdout;
    // the YAML folds the long annotation
    assert.match(yaml.replace(/\n\s+/g, ' '), /kubernetes\.io\/limit-ranger: 'LimitRanger plugin set: memory request for container p; memory limit for container p'/);
    assert.match(yaml, /limits:\n\s+memory: 256Mi\n\s+requests:\n\s+memory: 128Mi/);
  });

  it('refuses a privileged pod in a restricted namespace and warns on a Deployment', async () => {
    await ok(['create', 'namespace', 'locked']);
    await ok(['label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=restricted']);
    const r = await cluster.kubectl(['run', 'priv', '-n', 'locked', '--image=busybox', '--restart=Never', '--privileged']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Error from server \(Forbidden\): pods "priv" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "priv" must set securityContext.allowPrivilegeEscalation=false\), unrestricted capabilities .*privileged \(container "priv" must not set securityContext.privileged=true\)/,
    );
    const d = await ok(['create', 'deployment', 'web', '-n', 'locked', '--image=nginx']);
    assert.match(d.stderr, /Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "nginx" must set securityContext.allowPrivilegeEscalation=false\)/);
    assert.match(d.stdout, /deployment.apps\/web created/);
  });
});
