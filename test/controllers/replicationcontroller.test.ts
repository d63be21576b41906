// The ReplicationController controller: the ReplicaSet controller's code driven through the RC kind adapter.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod, ReplicationController } from 'kubernetes-types/core/v1.js';
import type { Scale } from 'kubernetes-types/autoscaling/v1.js';
import { RESOURCES } from '../../src/client/shared.js';
import { mapSelectorRequirements, replicaSetController, replicationControllerController } from '../../src/controllers/replicaset/controller.js';
import { eventsAbout, startWorkloadHarness, waitFor, type WorkloadHarness } from '../helpers/fake-kubelet.js';

const NS = 'default';

function rcManifest(name: string, replicas: number, labels: Record<string, string> = { app: name }, selector?: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      ...(selector ? { selector } : {}),
      template: { metadata: { labels, annotations: { note: 'copied' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } },
    },
  });
}

describe('replication controller (through the API and kubectl)', () => {
  let h: WorkloadHarness;

  before(async () => {
    // both controllers in one manager: they share the pods informer and must not trip over each other
    h = await startWorkloadHarness([replicaSetController, replicationControllerController], { kubelet: { readyAfterMs: 30 } });
  });
  after(async () => {
    await h?.close();
  });

  const pods = () => h.rest.resource<Pod>(RESOURCES.pods, NS);
  const rcs = () => h.rest.resource<ReplicationController>(RESOURCES.replicationcontrollers, NS);
  const podsOf = async (selector: string) => (await pods().list({ labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const rcStatus = (name: string, want: (rc: ReplicationController) => boolean) =>
    waitFor(`replicationcontroller ${name} status`, async () => {
      const rc = await rcs().get(name);
      return want(rc) ? rc : undefined;
    });

  it('creates pods owned by the RC, reports the status and records events as replication-controller', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: rcManifest('web', 3) });
    const rc = await rcStatus('web', (r) => r.status?.readyReplicas === 3 && r.status?.availableReplicas === 3);
    assert.equal(rc.status?.replicas, 3);
    assert.equal(rc.status?.fullyLabeledReplicas, 3);
    assert.equal(rc.status?.observedGeneration, rc.metadata?.generation);
    // defaulted from the template labels
    assert.deepEqual(rc.spec?.selector, { app: 'web' });
    assert.deepEqual(rc.metadata?.labels, { app: 'web' });
    const list = await podsOf('app=web');
    assert.equal(list.length, 3);
    for (const p of list) {
      assert.equal(p.metadata?.generateName, 'web-');
      assert.equal(p.metadata?.annotations?.note, 'copied');
      assert.deepEqual(p.metadata?.ownerReferences, [
        { apiVersion: 'v1', kind: 'ReplicationController', name: 'web', uid: rc.metadata?.uid, controller: true, blockOwnerDeletion: true },
      ]);
    }
    await waitFor('SuccessfulCreate events', async () => ((await eventsAbout(h.rest, NS, 'web')).filter((e) => e.reason === 'SuccessfulCreate').length === 3 ? true : undefined));
    const created = (await eventsAbout(h.rest, NS, 'web')).filter((e) => e.reason === 'SuccessfulCreate');
    assert.deepEqual(created.map((e) => e.message).sort(), list.map((p) => `Created pod: ${p.metadata!.name}`).sort());
    for (const e of created) {
      assert.equal(e.source?.component, 'replication-controller');
      assert.deepEqual([e.involvedObject.kind, e.involvedObject.apiVersion, e.involvedObject.uid], ['ReplicationController', 'v1', rc.metadata?.uid]);
    }
    const got = await h.cluster.kubectlOk(['get', 'rc', 'web', '--no-headers', '-o', 'wide']);
    assert.match(got.stdout, /^web\s+3\s+3\s+3\s+\S+\s+c\s+nginx:1\.25\s+app=web\s*$/);
  });

  it('replaces a deleted pod', async () => {
    const before = await podsOf('app=web');
    const victim = before[0].metadata!.name!;
    await pods().delete(victim);
    const after = await waitFor('a replacement pod', async () => {
      const now = await podsOf('app=web');
      return now.length === 3 && !now.some((p) => p.metadata?.name === victim) ? now : undefined;
    });
    assert.equal(after.filter((p) => before.some((b) => b.metadata?.name === p.metadata?.name)).length, 2);
  });

  it('scales through the scale subresource, whose selector comes from the label map', async () => {
    await h.cluster.kubectlOk(['scale', 'rc', 'web', '--replicas=5']);
    await rcStatus('web', (r) => r.status?.readyReplicas === 5);
    assert.equal((await podsOf('app=web')).length, 5);
    const scale = await h.rest.call<Scale>('GET', `/api/v1/namespaces/${NS}/replicationcontrollers/web/scale`);
    assert.deepEqual([scale.kind, scale.spec?.replicas, scale.status?.replicas, scale.status?.selector], ['Scale', 5, 5, 'app=web']);
    await h.cluster.kubectlOk(['scale', 'rc', 'web', '--replicas=2']);
    await waitFor('2 pods', async () => ((await podsOf('app=web')).length === 2 ? true : undefined));
    await rcStatus('web', (r) => r.status?.replicas === 2 && r.status?.readyReplicas === 2);
  });

  it('adopts a matching orphan, and releases pods when the (mutable) selector moves away', async () => {
    await pods().create({ metadata: { name: 'stray', namespace: NS, labels: { app: 'adopt', v: '1' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } });
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: rcManifest('adopt', 1, { app: 'adopt', v: '1' }, { app: 'adopt' }) });
    const rc = await rcStatus('adopt', (r) => r.status?.replicas === 1 && r.status?.readyReplicas === 1);
    const stray = await pods().get('stray');
    assert.deepEqual(stray.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid]), [['ReplicationController', 'adopt', rc.metadata?.uid]]);
    assert.deepEqual((await podsOf('app=adopt')).map((p) => p.metadata?.name), ['stray']);

    // a new selector and template: the old pod is orphaned, a new one is made
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: rcManifest('adopt', 1, { app: 'adopt', v: '2' }, { app: 'adopt', v: '2' }) });
    const released = await waitFor('the old pod to be released', async () => {
      const p = await pods().get('stray');
      return p.metadata?.ownerReferences?.length ? undefined : p;
    });
    assert.equal(released.metadata?.labels?.v, '1');
    const fresh = await waitFor('a pod for the new selector', async () => {
      const now = await podsOf('app=adopt,v=2');
      return now.length === 1 ? now[0] : undefined;
    });
    assert.match(fresh.metadata!.name!, /^adopt-/);
  });

  it('runs next to the ReplicaSet controller without either touching the other kind', async () => {
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'side', namespace: NS },
      spec: { replicas: 2, selector: { matchLabels: { app: 'side' } }, template: { metadata: { labels: { app: 'side' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } },
    };
    await h.rest.resource<ReplicaSet>(RESOURCES.replicasets, NS).create(rs);
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: rcManifest('side-rc', 2, { app: 'side-rc' }) });
    await rcStatus('side-rc', (r) => r.status?.readyReplicas === 2);
    await waitFor('the ReplicaSet', async () => ((await h.rest.resource<ReplicaSet>(RESOURCES.replicasets, NS).get('side')).status?.readyReplicas === 2 ? true : undefined));
    const kinds = (await podsOf('app in (side,side-rc)')).map((p) => `${p.metadata?.labels?.app}:${p.metadata?.ownerReferences?.[0]?.kind}`).sort();
    assert.deepEqual(kinds, ['side-rc:ReplicationController', 'side-rc:ReplicationController', 'side:ReplicaSet', 'side:ReplicaSet']);
  });

  it('rejects an RC whose selector does not match its template', async () => {
    const r = await h.cluster.kubectl(['apply', '-f', '-'], { stdin: rcManifest('bad', 1, { app: 'bad' }, { app: 'other' }) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/);
  });
});

describe('mapSelectorRequirements', () => {
  it('reads the label map as equality requirements, and nothing from an empty one', () => {
    assert.deepEqual(
      mapSelectorRequirements({ spec: { selector: { app: 'a', tier: 'b' } } })?.map((r) => [r.key, r.operator, r.values]),
      [
        ['app', 'Equals', ['a']],
        ['tier', 'Equals', ['b']],
      ],
    );
    assert.equal(mapSelectorRequirements({ spec: { selector: {} } }), undefined);
    assert.equal(mapSelectorRequirements({ spec: {} }), undefined);
  });
});
