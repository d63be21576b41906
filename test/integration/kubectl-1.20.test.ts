// kubectl 1.20 (Debian's kubernetes-client), the oldest we support. It sends JSON for imperative
// `create` commands, so those are tested here too (not `create cronjob`: 1.20 posts batch/v1beta1,
// which Kubernetes ≥ 1.25 no longer serves either).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeKubectl } from './kubectl-suite.js';

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
  rules?: unknown[];
  roleRef?: { kind: string; name: string };
}

describeKubectl('1.20', (ctx) => {
  test('version reports the server', async () => {
    const { k } = ctx();
    const { stdout } = await k.ok(['version']);
    assert.match(stdout, /Client Version: .*GitVersion:"v1\.20\./);
    assert.match(stdout, /Server Version: .*Major:"1", Minor:"\d+", GitVersion:"v1\.\d+\.\d+/);
  });

  test('imperative create, run and expose', async () => {
    const { k } = ctx();
    const ns = 'imperative';
    assert.match((await k.ok(['create', 'namespace', ns])).stdout, /namespace\/imperative created/);
    const out = await Promise.all([
      k.ok(['create', 'configmap', 'icm', '-n', ns, '--from-literal=a=1', '--from-literal=b=two']),
      k.ok(['create', 'secret', 'generic', 'isec', '-n', ns, '--from-literal=password=hunter2']),
      k.ok(['create', 'deployment', 'idep', '-n', ns, '--image=nginx:1.27']),
      k.ok(['create', 'serviceaccount', 'isa', '-n', ns]),
      k.ok(['create', 'service', 'clusterip', 'isvc', '-n', ns, '--tcp=80:8080']),
      k.ok(['create', 'job', 'ijob', '-n', ns, '--image=busybox']),
      k.ok(['create', 'role', 'irole', '-n', ns, '--verb=get,list', '--resource=pods']),
      k.ok(['create', 'rolebinding', 'irb', '-n', ns, '--role=irole', '--serviceaccount=imperative:isa']),
      k.ok(['create', 'quota', 'iq', '-n', ns, '--hard=pods=5']),
      k.ok(['run', 'ipod', '-n', ns, '--image=nginx', '--labels=app=ipod']),
    ]);
    const printed = out.map((r) => r.stdout).join('');
    for (const ref of ['configmap/icm', 'secret/isec', 'deployment.apps/idep', 'serviceaccount/isa', 'service/isvc', 'job.batch/ijob', 'role.rbac.authorization.k8s.io/irole', 'rolebinding.rbac.authorization.k8s.io/irb', 'resourcequota/iq', 'pod/ipod'])
      assert.ok(printed.includes(`${ref} created`), `no "${ref} created" in:\n${printed}`);
    assert.match((await k.ok(['expose', 'deployment', 'idep', '-n', ns, '--port=80', '--name=iexp'])).stdout, /service\/iexp exposed/);

    const list = await k.json<{ items: Obj[] }>(['get', 'cm/icm', 'secret/isec', 'deploy/idep', 'svc/isvc', 'svc/iexp', 'rolebinding/irb', 'pod/ipod', '-n', ns]);
    const by = new Map(list.items.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
    assert.deepEqual(by.get('ConfigMap/icm')!.data, { a: '1', b: 'two' });
    assert.deepEqual(by.get('Secret/isec')!.data, { password: Buffer.from('hunter2').toString('base64') });
    const dep = by.get('Deployment/idep')!.spec as { selector: { matchLabels: Record<string, string> }; template: { spec: { containers: { image: string }[] } } };
    assert.deepEqual(dep.selector.matchLabels, { app: 'idep' });
    assert.equal(dep.template.spec.containers[0].image, 'nginx:1.27');
    const svc = by.get('Service/isvc')!.spec as { ports: { port: number; targetPort: number }[] };
    assert.equal(svc.ports[0].port, 80);
    assert.equal(svc.ports[0].targetPort, 8080);
    assert.deepEqual((by.get('Service/iexp')!.spec as { selector: Record<string, string> }).selector, { app: 'idep' });
    assert.deepEqual(by.get('RoleBinding/irb')!.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'irole' });
    assert.deepEqual(by.get('Pod/ipod')!.metadata.labels, { app: 'ipod' });

    const again = await k.run(['create', 'configmap', 'icm', '-n', ns, '--from-literal=a=2']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /AlreadyExists|already exists/);
  });
});
