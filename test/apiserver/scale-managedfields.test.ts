// A write through the scale subresource is recorded in managedFields as upstream records it: an Update entry
// with `subresource: scale` owning the replicas field, without a time; the managers that owned the field before
// lose it. Driven with the real kubectl (scale, and patch --subresource=scale with a field manager of its own).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

const REPLICAS = { 'f:spec': { 'f:replicas': {} } };

describe('managedFields of scale writes (kubectl 1.33)', () => {
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster({ controllers: false });
  });
  after(async () => {
    await c?.close();
  });

  const get = async (): Promise<Deployment> => JSON.parse((await c.kubectlOk(['get', 'deployment/web', '-o', 'json', '--show-managed-fields'])).stdout) as Deployment;
  const entries = (d: Deployment): ManagedFieldsEntry[] => d.metadata?.managedFields ?? [];
  const owners = (d: Deployment): string[] =>
    entries(d)
      .filter((e) => (e.fieldsV1 as { 'f:spec'?: Record<string, unknown> } | undefined)?.['f:spec']?.['f:replicas'] !== undefined)
      .map((e) => `${e.manager}/${e.operation}/${e.subresource ?? ''}`);

  it('records kubectl scale under the scale subresource, untimed, taking the field from its creator', async () => {
    await c.kubectlOk(['create', 'deployment', 'web', '--image=registry.k8s.io/pause:3.10', '--replicas=1']);
    const created = await get();
    assert.deepEqual(owners(created), ['kubectl-create/Update/'], 'the create owns spec.replicas');

    await c.kubectlOk(['scale', 'deployment/web', '--replicas=3']);
    const scaled = await get();
    assert.equal(scaled.spec?.replicas, 3);
    assert.equal(scaled.metadata?.generation, 2, 'a scale changes the spec: the generation moves');
    const scale = entries(scaled).filter((e) => e.subresource === 'scale');
    // the manager comes from kubectl's User-Agent, which names the binary (kubectl.1.33 here)
    const manager = scale[0]?.manager ?? '';
    assert.match(manager, /^kubectl/);
    assert.deepEqual(scale, [{ manager, operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: REPLICAS, subresource: 'scale' }]);
    assert.deepEqual(owners(scaled), [`${manager}/Update/scale`], 'kubectl-create lost spec.replicas');
    assert.ok(entries(scaled).some((e) => e.manager === 'kubectl-create' && e.time), 'the creator keeps its other fields and its time');
    assert.equal(entries(scaled)[0].subresource, 'scale', 'an entry without a time sorts first among the updates, as upstream sorts');
  });

  it('hands the field to another manager scaling through the subresource, and a scale to the same count writes nothing', async () => {
    await c.kubectlOk(['patch', 'deployment/web', '--subresource=scale', '--type=merge', '-p', '{"spec":{"replicas":4}}', '--field-manager=autoscaler']);
    const patched = await get();
    assert.equal(patched.spec?.replicas, 4);
    assert.deepEqual(owners(patched), ['autoscaler/Update/scale']);
    assert.deepEqual(
      entries(patched).filter((e) => e.subresource === 'scale').map((e) => e.manager),
      ['autoscaler'],
      "kubectl's scale entry, left with nothing, is gone",
    );
    assert.ok(entries(patched).every((e) => e.subresource !== 'scale' || e.time === undefined));

    await c.kubectlOk(['scale', 'deployment/web', '--replicas=4']);
    const same = await get();
    assert.equal(same.metadata?.resourceVersion, patched.metadata?.resourceVersion, 'no new revision');
    assert.deepEqual(same.metadata?.managedFields, patched.metadata?.managedFields);
  });

  it('keeps recording a write of the object itself without a subresource', async () => {
    await c.kubectlOk(['patch', 'deployment/web', '--type=merge', '-p', '{"spec":{"replicas":2}}', '--field-manager=editor']);
    const d = await get();
    assert.deepEqual(owners(d), ['editor/Update/']);
    assert.ok(entries(d).find((e) => e.manager === 'editor')?.time, 'an ordinary update has its time');
  });
});
