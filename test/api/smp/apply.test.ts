import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../../../src/api/errors.js';
import { applyStrategicMergePatch, smpSchemaFor } from '../../../src/api/smp/index.js';

const deploymentSchema = smpSchemaFor('apps/v1', 'Deployment');
const podSchema = smpSchemaFor('v1', 'Pod');
type Obj = Record<string, unknown>;

const patchDeployment = (live: unknown, patch: unknown) => applyStrategicMergePatch(live, patch, deploymentSchema) as Obj;
const patchPod = (live: unknown, patch: unknown) => applyStrategicMergePatch(live, patch, podSchema) as Obj;

function badRequest(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StatusError, `not a StatusError: ${String(e)}`);
    assert.equal(e.code, 400);
    assert.equal(e.reason, 'BadRequest');
    assert.match(e.message, message);
    return true;
  });
}

const podSpec = (deployment: Obj) => ((deployment.spec as Obj).template as Obj).spec as Obj;
const pod = (spec: Obj): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec });

// The Deployment of the "Update API Objects in Place Using kubectl patch" task page.
function patchDemo(): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'patch-demo' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { labels: { app: 'nginx' } },
        spec: {
          containers: [{ name: 'patch-demo-ctr', image: 'nginx' }],
          tolerations: [{ effect: 'NoSchedule', key: 'dedicated', value: 'test-team' }],
        },
      },
    },
  };
}

describe('kubectl patch task page', () => {
  it('merges containers by name (the page shows redis listed before nginx)', () => {
    const out = patchDeployment(patchDemo(), { spec: { template: { spec: { containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }] } } } });
    assert.deepEqual(podSpec(out).containers, [
      { name: 'patch-demo-ctr-2', image: 'redis' },
      { name: 'patch-demo-ctr', image: 'nginx' },
    ]);
  });

  it('replaces tolerations, which have no patch strategy', () => {
    const out = patchDeployment(patchDemo(), { spec: { template: { spec: { tolerations: [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }] } } } });
    assert.deepEqual(podSpec(out).tolerations, [{ effect: 'NoSchedule', key: 'disktype', value: 'ssd' }]);
  });

  it('keeps rollingUpdate when the strategy type changes without $retainKeys', () => {
    const live = { ...patchDemo(), spec: { ...(patchDemo().spec as Obj), strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '30%' } } } };
    const out = patchDeployment(live, { spec: { strategy: { type: 'Recreate' } } });
    assert.deepEqual((out.spec as Obj).strategy, { type: 'Recreate', rollingUpdate: { maxSurge: '30%' } });
  });

  it('clears rollingUpdate with $retainKeys when switching to Recreate', () => {
    const live = { ...patchDemo(), spec: { ...(patchDemo().spec as Obj), strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '30%' } } } };
    const out = patchDeployment(live, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
    assert.deepEqual((out.spec as Obj).strategy, { type: 'Recreate' });
    assert.equal((out.spec as Obj).replicas, 2);
  });
});

describe('strategic merge patch design doc', () => {
  const containers = [
    { name: 'nginx', image: 'nginx-1.0' },
    { name: 'log-tailer', image: 'log-tailer-1.0' },
  ];

  it('$patch: replace on a map takes the patch literally', () => {
    const out = patchPod(pod({ containers, restartPolicy: 'Always' }), { spec: { $patch: 'replace', containers: [{ name: 'nginx', image: 'nginx-2.0' }] } });
    assert.deepEqual(out.spec, { containers: [{ name: 'nginx', image: 'nginx-2.0' }] });
    assert.deepEqual(out.metadata, { name: 'p' });
  });

  it('$patch: replace as a list element replaces the whole list', () => {
    const out = patchPod(pod({ containers }), { spec: { containers: [{ name: 'nginx', image: 'nginx-1.0' }, { $patch: 'replace' }] } });
    assert.deepEqual((out.spec as Obj).containers, [{ name: 'nginx', image: 'nginx-1.0' }]);
  });

  it('$patch: delete removes every element with that merge key', () => {
    const live = pod({ containers: [...containers, { name: 'log-tailer', image: 'dup' }] });
    const out = patchPod(live, { spec: { containers: [{ name: 'nginx', image: 'nginx-1.0' }, { $patch: 'delete', name: 'log-tailer' }] } });
    assert.deepEqual((out.spec as Obj).containers, [{ name: 'nginx', image: 'nginx-1.0' }]);
  });

  it('$patch: delete on a map empties it (as upstream does); null removes it', () => {
    const live = { ...patchDemo(), spec: { ...(patchDemo().spec as Obj), strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
    const emptied = patchDeployment(live, { spec: { strategy: { rollingUpdate: { $patch: 'delete' } } } });
    assert.deepEqual((emptied.spec as Obj).strategy, { type: 'RollingUpdate', rollingUpdate: {} });
    const removed = patchDeployment(live, { spec: { strategy: { rollingUpdate: null } } });
    assert.deepEqual((removed.spec as Obj).strategy, { type: 'RollingUpdate' });
  });

  it('$deleteFromPrimitiveList removes values from finalizers', () => {
    const out = patchPod({ metadata: { name: 'p', finalizers: ['a', 'b', 'c'] } }, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b', 'c'] } });
    assert.deepEqual((out.metadata as Obj).finalizers, ['a']);
  });

  it('finalizers merge as a set', () => {
    const out = patchPod({ metadata: { finalizers: ['a', 'b'] } }, { metadata: { finalizers: ['b', 'c'] } });
    assert.deepEqual((out.metadata as Obj).finalizers, ['a', 'b', 'c']);
  });

  it('$setElementOrder reorders a primitive list', () => {
    const out = patchPod({ metadata: { finalizers: ['a', 'b', 'c'] } }, { metadata: { '$setElementOrder/finalizers': ['b', 'c', 'a'] } });
    assert.deepEqual((out.metadata as Obj).finalizers, ['b', 'c', 'a']);
  });

  it('$setElementOrder reorders a list of maps by merge key', () => {
    const live = pod({ containers: [{ name: 'a', image: '1' }, { name: 'b', image: '2' }, { name: 'c', image: '3' }] });
    const out = patchPod(live, { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'c' }, { name: 'a' }] } });
    assert.deepEqual((out.spec as Obj).containers, [
      { name: 'b', image: '2' },
      { name: 'c', image: '3' },
      { name: 'a', image: '1' },
    ]);
  });

  it('$retainKeys clears the keys it does not list', () => {
    const out = applyStrategicMergePatch({ union: { foo: 'a', other: 'b' } }, { union: { $retainKeys: ['another', 'bar'], another: 'd', bar: 'c' } }, undefined);
    assert.deepEqual(out, { union: { another: 'd', bar: 'c' } });
  });
});

describe('merge semantics', () => {
  it('merges maps recursively, null deletes, a null for a missing key stores nothing', () => {
    const live = { metadata: { name: 'p', labels: { a: '1', b: '2' } } };
    const out = patchPod(live, { metadata: { labels: { b: null, c: '3', d: null } } });
    assert.deepEqual(out.metadata, { name: 'p', labels: { a: '1', c: '3' } });
  });

  it('does not modify its inputs', () => {
    const live = pod({ containers: [{ name: 'a', image: '1', env: [{ name: 'X', value: '1' }] }] });
    const patch = { spec: { containers: [{ name: 'a', env: [{ name: 'Y', value: '2' }] }] } };
    const liveCopy = structuredClone(live);
    const patchCopy = structuredClone(patch);
    const out = patchPod(live, patch);
    assert.deepEqual(live, liveCopy);
    assert.deepEqual(patch, patchCopy);
    // upstream puts a new element ahead of live elements that come after nothing in the patch
    assert.deepEqual(((out.spec as Obj).containers as Obj[])[0].env, [
      { name: 'Y', value: '2' },
      { name: 'X', value: '1' },
    ]);
  });

  it('merges env by name inside containers merged by name', () => {
    const live = pod({ containers: [{ name: 'app', image: 'x', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }] });
    const out = patchPod(live, { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }] }] } });
    assert.deepEqual((out.spec as Obj).containers, [
      { name: 'app', image: 'x', env: [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }] },
    ]);
  });

  it('merges container ports on containerPort and volumeMounts on mountPath', () => {
    const live = pod({
      containers: [{ name: 'app', ports: [{ containerPort: 80, protocol: 'TCP' }], volumeMounts: [{ name: 'a', mountPath: '/a' }] }],
    });
    const out = patchPod(live, {
      spec: { containers: [{ name: 'app', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }], volumeMounts: [{ name: 'b', mountPath: '/a' }] }] },
    });
    const c = ((out.spec as Obj).containers as Obj[])[0];
    assert.deepEqual(c.ports, [{ containerPort: 80, protocol: 'TCP', name: 'http' }, { containerPort: 443 }]);
    assert.deepEqual(c.volumeMounts, [{ name: 'b', mountPath: '/a' }]);
  });

  it('merges volumes by name and replaces readinessGates', () => {
    const live = pod({ volumes: [{ name: 'a', emptyDir: {} }], readinessGates: [{ conditionType: 'x' }] });
    const out = patchPod(live, { spec: { volumes: [{ name: 'b', configMap: { name: 'cm' } }], readinessGates: [{ conditionType: 'y' }] } });
    assert.deepEqual((out.spec as Obj).volumes, [{ name: 'b', configMap: { name: 'cm' } }, { name: 'a', emptyDir: {} }]);
    assert.deepEqual((out.spec as Obj).readinessGates, [{ conditionType: 'y' }]);
  });

  it('switches a volume source with $retainKeys inside the merged element', () => {
    const live = pod({ volumes: [{ name: 'a', emptyDir: {} }] });
    const out = patchPod(live, { spec: { volumes: [{ name: 'a', $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' } }] } });
    assert.deepEqual((out.spec as Obj).volumes, [{ name: 'a', configMap: { name: 'cm' } }]);
  });

  it('merges status conditions on type, as controllers patch them', () => {
    const live = { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled', status: 'True' }] } };
    const out = patchPod(live, { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }] } });
    assert.deepEqual((out.status as Obj).conditions, [
      { type: 'Ready', status: 'True' },
      { type: 'ContainersReady', status: 'True' },
      { type: 'PodScheduled', status: 'True' },
    ]);
    assert.equal((out.status as Obj).phase, 'Running');
  });

  it('merges ownerReferences on uid', () => {
    const live = { metadata: { ownerReferences: [{ uid: '1', kind: 'ReplicaSet', name: 'a' }] } };
    const out = patchPod(live, { metadata: { ownerReferences: [{ uid: '1', controller: true }, { uid: '2', kind: 'Node', name: 'n' }] } });
    assert.deepEqual((out.metadata as Obj).ownerReferences, [
      { uid: '1', kind: 'ReplicaSet', name: 'a', controller: true },
      { uid: '2', kind: 'Node', name: 'n' },
    ]);
  });

  it('merges Service ports on port', () => {
    const live = { spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } };
    const out = applyStrategicMergePatch(live, { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443, name: 'https' }] } }, smpSchemaFor('v1', 'Service')) as Obj;
    assert.deepEqual((out.spec as Obj).ports, [
      { name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' },
      { port: 443, name: 'https' },
    ]);
  });

  it('replaces a PodDisruptionBudget selector (patchStrategy replace)', () => {
    const live = { spec: { minAvailable: 1, selector: { matchLabels: { app: 'a', tier: 'b' } } } };
    const out = applyStrategicMergePatch(live, { spec: { selector: { matchLabels: { app: 'c' } } } }, smpSchemaFor('policy/v1', 'PodDisruptionBudget')) as Obj;
    assert.deepEqual(out.spec, { minAvailable: 1, selector: { matchLabels: { app: 'c' } } });
  });

  it('treats Node podCIDRs as a set', () => {
    const out = applyStrategicMergePatch({ spec: { podCIDRs: ['10.0.0.0/24'] } }, { spec: { podCIDRs: ['fd00::/64'] } }, smpSchemaFor('v1', 'Node')) as Obj;
    assert.deepEqual((out.spec as Obj).podCIDRs, ['fd00::/64', '10.0.0.0/24']);
  });

  it('places patch elements by their order in the patch and the live list', () => {
    const live = pod({ containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
    const names = (patch: Obj[]) => (((patchPod(live, { spec: { containers: patch } }).spec as Obj).containers as Obj[]).map((c) => c.name));
    assert.deepEqual(names([{ name: 'd' }, { name: 'a', image: 'x' }]), ['d', 'a', 'b', 'c']);
    assert.deepEqual(names([{ name: 'c', image: 'x' }, { name: 'd' }]), ['a', 'b', 'c', 'd']);
    assert.deepEqual(names([{ name: 'c', image: 'x' }, { name: 'a', image: 'y' }]), ['b', 'c', 'a']);
  });

  it('orders a replaced element after live-only elements as upstream does', () => {
    // kubectl apply after renaming container "log" to "metrics" while the server added "istio-proxy"
    const live = pod({ containers: [{ name: 'app' }, { name: 'log' }, { name: 'istio-proxy' }] });
    const out = patchPod(live, {
      spec: {
        '$setElementOrder/containers': [{ name: 'app' }, { name: 'metrics' }],
        containers: [{ name: 'metrics', image: 'm' }, { name: 'log', $patch: 'delete' }],
      },
    });
    assert.deepEqual((out.spec as Obj).containers, [{ name: 'app' }, { name: 'istio-proxy' }, { name: 'metrics', image: 'm' }]);
  });

  it('keeps live-only elements ahead of ordered ones that followed them', () => {
    const live = pod({ containers: [{ name: 'a' }, { name: 'x' }, { name: 'b' }, { name: 'y' }] });
    const out = patchPod(live, { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } });
    assert.deepEqual(((out.spec as Obj).containers as Obj[]).map((c) => c.name), ['x', 'b', 'a', 'y']);
  });

  it('an empty list in the patch leaves a merged list alone', () => {
    const live = pod({ containers: [{ name: 'a' }] });
    assert.deepEqual((patchPod(live, { spec: { containers: [] } }).spec as Obj).containers, [{ name: 'a' }]);
  });

  it('takes a new value as it is, without directives or nulls', () => {
    const out = patchPod(pod({}), {
      spec: {
        containers: [{ name: 'a', env: [{ name: 'X', value: '1' }, { name: 'Y', $patch: 'delete' }], image: null }],
        affinity: { $patch: 'replace', nodeAffinity: { x: 1 } },
        securityContext: { $patch: 'delete' },
      },
    });
    assert.deepEqual(out.spec, { containers: [{ name: 'a', env: [{ name: 'X', value: '1' }] }], affinity: { nodeAffinity: { x: 1 } } });
  });

  it('orders a list added by the patch by its $setElementOrder', () => {
    const out = patchPod(pod({}), {
      spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }], containers: [{ name: 'b' }, { name: 'c', $patch: 'delete' }, { name: 'a', env: null }] },
    });
    assert.deepEqual((out.spec as Obj).containers, [{ name: 'b' }, { name: 'a' }]);
  });

  it('without a schema, lists replace and maps merge (JSON merge patch)', () => {
    const live = { apiVersion: 'example.com/v1', kind: 'Widget', spec: { items: [{ name: 'a' }], size: { w: 1, h: 2 } } };
    const out = applyStrategicMergePatch(live, { spec: { items: [{ name: 'b' }], size: { h: null, d: 3 } } }, undefined);
    assert.deepEqual(out, { apiVersion: 'example.com/v1', kind: 'Widget', spec: { items: [{ name: 'b' }], size: { w: 1, d: 3 } } });
  });

  it('a field of another shape in the live object is replaced', () => {
    const out = applyStrategicMergePatch({ spec: { x: 'text' } }, { spec: { x: { a: 1 } } }, undefined);
    assert.deepEqual(out, { spec: { x: { a: 1 } } });
  });
});

describe('malformed patches are 400 BadRequest', () => {
  const live = pod({ containers: [{ name: 'a', image: '1' }] });

  it('rejects a patch that is not an object', () => {
    badRequest(() => applyStrategicMergePatch(live, [], podSchema), /must be a JSON object/);
    badRequest(() => applyStrategicMergePatch(live, 'x', podSchema), /must be a JSON object/);
  });

  it('rejects unknown $patch values on maps and list elements', () => {
    badRequest(() => patchPod(live, { spec: { $patch: 'bogus' } }), /unknown patch type: bogus/);
    badRequest(() => patchPod(live, { spec: { $patch: 'merge' } }), /unknown patch type: merge/);
    badRequest(() => patchPod(live, { spec: { containers: [{ name: 'a', $patch: 'bogus' }] } }), /unknown patch type: bogus/);
    badRequest(() => patchPod(live, { spec: { containers: [{ name: 'a', $patch: 'merge' }] } }), /merging lists cannot yet be specified/);
    badRequest(() => patchPod(pod({}), { spec: { containers: [{ name: 'a', $patch: 'bogus' }] } }), /unknown patch type: bogus/);
  });

  it('rejects unknown directives', () => {
    badRequest(() => patchPod(live, { spec: { $foo: 1 } }), /unknown strategic merge patch directive "\$foo"/);
    badRequest(() => patchPod(live, { metadata: { $setElementOrder: [] } }), /invalid patch format of setElementOrder list/);
    badRequest(() => patchPod(live, { metadata: { '$deleteFromPrimitiveList/': [] } }), /invalid patch format of primitive list/);
  });

  it('rejects list elements without their merge key', () => {
    badRequest(() => patchPod(live, { spec: { containers: [{ image: 'x' }] } }), /spec\.containers: .*does not contain declared merge key: name/);
    badRequest(() => patchPod(live, { spec: { containers: [{ $patch: 'delete' }] } }), /does not contain declared merge key: name/);
    badRequest(() => patchPod(live, { spec: { containers: ['a'] } }), /expected a map/);
  });

  it('rejects values of the wrong shape for known fields', () => {
    badRequest(() => patchPod(live, { spec: { containers: { name: 'a' } } }), /spec\.containers: expected a list, but received a map/);
    badRequest(() => patchPod(live, { metadata: [] }), /metadata: expected a map, but received a list/);
    badRequest(() => patchPod(live, { spec: 'x' }), /spec: expected a map, but received a string/);
    badRequest(() => patchPod(live, { metadata: { labels: ['a'] } }), /expected a map/);
    badRequest(() => patchPod({ metadata: { finalizers: ['a'] } }, { metadata: { finalizers: [{ a: 1 }] } }), /expected primitives/);
  });

  it('rejects malformed $retainKeys', () => {
    const d = { spec: { strategy: { type: 'RollingUpdate' } } };
    badRequest(() => patchDeployment(d, { spec: { strategy: { $retainKeys: 'type', type: 'Recreate' } } }), /invalid patch format of retainKeys/);
    badRequest(() => patchDeployment(d, { spec: { strategy: { $retainKeys: [], type: 'Recreate' } } }), /invalid patch format of retainKeys/);
  });

  it('rejects malformed $setElementOrder and $deleteFromPrimitiveList', () => {
    badRequest(() => patchPod(live, { spec: { '$setElementOrder/containers': 'a' } }), /invalid patch format of setElementOrder list/);
    badRequest(() => patchPod(live, { spec: { '$setElementOrder/containers': [{ image: 'x' }] } }), /does not contain declared merge key/);
    badRequest(
      () => patchPod(live, { spec: { '$setElementOrder/containers': [{ name: 'a' }], containers: [{ name: 'b' }] } }),
      /doesn't match \$setElementOrder list/,
    );
    badRequest(() => patchPod(live, { metadata: { '$deleteFromPrimitiveList/finalizers': 'a' } }), /invalid patch format of primitive list/);
  });
});
