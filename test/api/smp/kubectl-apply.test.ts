// Re-applying a changed manifest with kubectl 1.33: the patches in kubectl-1.33-apply.json are what the real
// kubectl sent (recorded with a stub server), applied here to the live object kubectl had read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyStrategicMergePatch, smpSchemaFor } from '../../../src/api/smp/index.js';

type Obj = Record<string, any>; // deep JSON fixtures, read field by field

interface RecordedApply {
  name: string;
  contentType: string;
  live: Obj;
  patch: Obj;
}

const recorded: { cases: RecordedApply[] } = JSON.parse(readFileSync(new URL('./kubectl-1.33-apply.json', import.meta.url), 'utf8'));

function replay(name: string): { result: Obj; expected: Obj } {
  const c = recorded.cases.find((x) => x.name === name);
  assert.ok(c, `no recorded case ${name}`);
  assert.equal(c.contentType, 'application/strategic-merge-patch+json');
  const result = applyStrategicMergePatch(c.live, c.patch, smpSchemaFor(c.live.apiVersion, c.live.kind)) as Obj;
  const expected = structuredClone(c.live);
  expected.metadata.annotations = c.patch.metadata.annotations;
  return { result, expected };
}

describe('kubectl 1.33 client-side apply patches', () => {
  it('new image, env var removed, port added', () => {
    const { result, expected } = replay('Deployment/web');
    const app = expected.spec.template.spec.containers[0];
    app.image = 'nginx:1.27';
    app.env = [{ name: 'A', value: '1' }];
    app.ports = [
      { containerPort: 8080, name: 'http', protocol: 'TCP' },
      { containerPort: 9090, name: 'metrics' },
    ];
    assert.deepEqual(result, expected);
  });

  it('strategy switched to Recreate ($retainKeys), container removed ($patch: delete), volume added', () => {
    const { result, expected } = replay('Deployment/web2');
    expected.spec.strategy = { type: 'Recreate' };
    const app = expected.spec.template.spec.containers[0];
    app.volumeMounts = [{ mountPath: '/data', name: 'data' }];
    expected.spec.template.spec.containers = [app];
    expected.spec.template.spec.volumes = [{ emptyDir: {}, name: 'data' }];
    assert.deepEqual(result, expected);
  });

  it('finalizers changed ($deleteFromPrimitiveList) and containers reordered ($setElementOrder)', () => {
    const { result, expected } = replay('Deployment/web3');
    expected.metadata.finalizers = ['example.com/b', 'example.com/c'];
    const [a, b, c] = expected.spec.template.spec.containers;
    a.image = 'busybox:1.36';
    expected.spec.template.spec.containers = [c, a, b];
    assert.deepEqual(result, expected);
  });

  it('Service port added (merged on port) and a selector key removed', () => {
    const { result, expected } = replay('Service/svc');
    expected.spec.ports.push({ name: 'https', port: 443, targetPort: 8443 });
    expected.spec.selector = { app: 'web' };
    assert.deepEqual(result, expected);
  });

  it('the same patches as JSON merge patches would lose list entries (the reason SMP exists)', () => {
    const c = recorded.cases.find((x) => x.name === 'Deployment/web')!;
    const merged = applyStrategicMergePatch(c.live, c.patch, undefined) as Obj;
    assert.equal(merged.spec.template.spec.containers.length, 1);
  });
});
