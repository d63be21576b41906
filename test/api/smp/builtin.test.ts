import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScheme } from '../../../src/api/kinds/index.js';
import { apiVersionOf, type KindInfo, type KubeObject } from '../../../src/api/types.js';
import { smpSchemaFor, type SMPField, type SMPType } from '../../../src/api/smp/index.js';
import { installStrategicMerge } from '../../../src/apiserver/smp.js';
import type { ApiServer } from '../../../src/apiserver/handler.js';

function fieldAt(schema: SMPType | undefined, path: string): SMPField | undefined {
  let type = schema;
  let field: SMPField | undefined;
  for (const seg of path.split('.')) {
    field = type?.fields[seg];
    type = field?.kind === 'object' ? field.type : field?.kind === 'list' ? field.elem : undefined;
  }
  return field;
}

describe('smpSchemaFor', () => {
  it('covers every built-in kind the server serves', () => {
    const missing = builtinScheme()
      .kinds()
      .filter((k) => !smpSchemaFor(apiVersionOf(k), k.kind))
      .map((k) => `${apiVersionOf(k)}/${k.kind}`);
    assert.deepEqual(missing, []);
    assert.ok(smpSchemaFor('autoscaling/v1', 'Scale'));
  });

  it('knows nothing of custom resources', () => {
    assert.equal(smpSchemaFor('example.com/v1', 'Widget'), undefined);
    assert.equal(smpSchemaFor('v1', 'Deployment'), undefined);
  });

  it('states upstream merge keys and strategies', () => {
    const pod = smpSchemaFor('v1', 'Pod');
    const deployment = smpSchemaFor('apps/v1', 'Deployment');
    assert.deepEqual(fieldAt(pod, 'metadata.finalizers'), { kind: 'set' });
    assert.deepEqual(fieldAt(smpSchemaFor('v1', 'Node'), 'spec.podCIDRs'), { kind: 'set' });
    assert.deepEqual(fieldAt(pod, 'metadata.labels'), { kind: 'map' });
    assert.deepEqual(fieldAt(pod, 'spec.nodeSelector'), { kind: 'map' });

    const mergeKeys: [SMPType | undefined, string, string | undefined][] = [
      [pod, 'metadata.ownerReferences', 'uid'],
      [pod, 'spec.containers', 'name'],
      [pod, 'spec.initContainers', 'name'],
      [pod, 'spec.ephemeralContainers', 'name'],
      [pod, 'spec.ephemeralContainers.env', 'name'],
      [pod, 'spec.containers.env', 'name'],
      [pod, 'spec.containers.envFrom', undefined],
      [pod, 'spec.containers.volumeMounts', 'mountPath'],
      [pod, 'spec.containers.volumeDevices', 'devicePath'],
      [pod, 'spec.volumes', 'name'],
      [pod, 'spec.imagePullSecrets', 'name'],
      [pod, 'spec.hostAliases', 'ip'],
      [pod, 'spec.readinessGates', undefined],
      [pod, 'spec.topologySpreadConstraints', 'topologyKey'],
      [pod, 'spec.schedulingGates', 'name'],
      [pod, 'spec.resourceClaims', 'name'],
      [pod, 'status.conditions', 'type'],
      [pod, 'status.podIPs', 'ip'],
      [pod, 'status.containerStatuses', undefined],
      [deployment, 'spec.template.spec.containers', 'name'],
      [deployment, 'status.conditions', 'type'],
      [smpSchemaFor('batch/v1', 'CronJob'), 'spec.jobTemplate.spec.template.spec.containers.ports', 'containerPort'],
      [smpSchemaFor('v1', 'Service'), 'spec.ports', 'port'],
      [smpSchemaFor('v1', 'Endpoints'), 'subsets', undefined],
      [smpSchemaFor('v1', 'ServiceAccount'), 'secrets', 'name'],
      [smpSchemaFor('v1', 'ServiceAccount'), 'imagePullSecrets', undefined],
      [smpSchemaFor('v1', 'Node'), 'status.addresses', 'type'],
      [smpSchemaFor('v1', 'Node'), 'spec.taints', undefined],
      [smpSchemaFor('apps/v1', 'StatefulSet'), 'spec.volumeClaimTemplates', undefined],
      [smpSchemaFor('rbac.authorization.k8s.io/v1', 'Role'), 'rules', undefined],
    ];
    for (const [schema, path, key] of mergeKeys) {
      const f = fieldAt(schema, path);
      assert.equal(f?.kind, 'list', path);
      assert.equal(f.kind === 'list' ? f.mergeKey : 'not a list', key, path);
    }
    assert.equal((fieldAt(pod, 'spec.volumes') as { retainKeys?: boolean }).retainKeys, true);
    assert.deepEqual(
      [fieldAt(deployment, 'spec.strategy'), fieldAt(smpSchemaFor('policy/v1', 'PodDisruptionBudget'), 'spec.selector')].map((f) => f?.kind === 'object' && f.strategy),
      ['retainKeys', 'replace'],
    );
  });
});

describe('installStrategicMerge', () => {
  it('makes the API server merge by the kind of the URL', () => {
    const api = { strategicMerge: undefined } as unknown as ApiServer;
    installStrategicMerge(api);
    const info = builtinScheme().lookupKind('apps/v1', 'Deployment') as KindInfo;
    const live: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: { spec: { containers: [{ name: 'a', image: '1' }] } } } };
    const out = api.strategicMerge(info, live, { spec: { template: { spec: { containers: [{ name: 'a', image: '2' }] } } } });
    assert.deepEqual(out, { ...live, spec: { template: { spec: { containers: [{ name: 'a', image: '2' }] } } } });
    const crd = { ...info, group: 'example.com', kind: 'Widget' } as KindInfo;
    const replaced = api.strategicMerge(crd, live, { spec: { template: { spec: { containers: [{ name: 'b' }] } } } });
    assert.deepEqual(replaced, { ...live, spec: { template: { spec: { containers: [{ name: 'b' }] } } } });
  });
});
