import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControllerRevision, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { Informer } from '../../src/client/informer.js';
import { RESOURCES } from '../../src/client/shared.js';
import { statefulSetController } from '../../src/controllers/statefulset/controller.js';
import { controllerRevisionName, fnv32, goJSON, hashControllerRevision, templatePatch } from '../../src/controllers/statefulset/history.js';
import { getOrdinal, isMemberOf, newStatefulSetPod } from '../../src/controllers/statefulset/pods.js';
import { eventsAbout, startWorkloadHarness, waitFor, type WorkloadHarness } from '../helpers/fake-kubelet.js';

const NS = 'default';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stsManifest(name: string, replicas: number, extra: Record<string, unknown> = {}, image = 'nginx:1.25'): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: NS },
    spec: {
      serviceName: name,
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image, volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      ...extra,
    },
  });
}

describe('statefulset history helpers', () => {
  it('encodes revision data as Go does (sorted keys, $patch first, HTML escaped)', () => {
    assert.equal(goJSON({ b: 1, a: ['<x>', { d: null, c: true }] }), '{"a":["\\u003cx\\u003e",{"c":true,"d":null}],"b":1}');
    const patch = templatePatch({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    assert.equal(patch, '{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx","name":"c"}]}}}}');
  });
  it('hashes with FNV-1 and safe-encodes, the collision count changing the hash', () => {
    assert.equal(fnv32(new TextEncoder().encode('')), 0x811c9dc5);
    assert.equal(fnv32(new TextEncoder().encode('a')), 0x050c5d7e);
    const h = hashControllerRevision('{"x":1}');
    assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.notEqual(hashControllerRevision('{"x":1}', 1), h);
    assert.equal(controllerRevisionName('web', h), `web-${h}`);
    assert.ok(controllerRevisionName('x'.repeat(100), h).length <= 63);
  });
  it('builds pods with the ordinal identity and claim volumes', () => {
    const set = JSON.parse(stsManifest('db', 2)) as StatefulSet;
    (set.metadata as { uid?: string }).uid = 'u1';
    const pod = newStatefulSetPod(set, 1, 'db-abc', { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u1', controller: true });
    assert.equal(pod.metadata?.name, 'db-1');
    assert.equal(pod.spec?.hostname, 'db-1');
    assert.equal(pod.spec?.subdomain, 'db');
    assert.deepEqual(pod.metadata?.labels, { app: 'db', 'statefulset.kubernetes.io/pod-name': 'db-1', 'apps.kubernetes.io/pod-index': '1', 'controller-revision-hash': 'db-abc' });
    assert.deepEqual(pod.spec?.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-1' } }]);
    assert.equal(getOrdinal(pod), 1);
    assert.ok(isMemberOf(set, pod));
    assert.ok(!isMemberOf({ metadata: { name: 'd' } }, pod));
  });
});

describe('statefulset controller (through the API and kubectl)', () => {
  let h: WorkloadHarness;
  let holdReady: (p: Pod) => boolean = () => false;

  before(async () => {
    h = await startWorkloadHarness([statefulSetController], { kubelet: { readyAfterMs: 30, shouldRun: (p) => !holdReady(p) } });
  });
  after(async () => {
    await h?.close();
  });

  const pods = () => h.rest.resource<Pod>(RESOURCES.pods, NS);
  const sets = () => h.rest.resource<StatefulSet>(RESOURCES.statefulsets, NS);
  const claims = () => h.rest.resource<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims, NS);
  const revisions = () => h.rest.resource<ControllerRevision>(RESOURCES.controllerrevisions, NS);
  const podNames = async (app: string) =>
    (await pods().list({ labelSelector: `app=${app}` })).items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => p.metadata!.name!)
      .sort();
  const setWhere = (name: string, want: (s: StatefulSet) => boolean, timeoutMs?: number) =>
    waitFor(
      `statefulset ${name}`,
      async () => {
        const s = await sets().get(name);
        return want(s) ? s : undefined;
      },
      timeoutMs,
    );
  const messages = async (name: string, reason: string) => (await eventsAbout(h.rest, NS, name)).filter((e) => e.reason === reason).map((e) => e.message);

  it('creates pods one at a time in ordinal order, each after its claims, waiting for Running and Ready', async () => {
    holdReady = (p) => p.metadata?.name === 'web-1';
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: stsManifest('web', 3) });
    await waitFor('web-1 created', async () => ((await podNames('web')).includes('web-1') ? true : undefined));
    await sleep(300);
    assert.deepEqual(await podNames('web'), ['web-0', 'web-1'], 'web-2 waits for web-1 to be ready');
    const pvcs = (await claims().list()).items.map((c) => c.metadata!.name!).sort();
    assert.deepEqual(pvcs, ['data-web-0', 'data-web-1']);
    const pvc = await claims().get('data-web-0');
    assert.deepEqual(pvc.metadata?.labels, { app: 'web' });
    assert.equal(pvc.spec?.resources?.requests?.storage, '1Gi');

    holdReady = () => false;
    h.kubelet.recheck();
    const s = await setWhere('web', (x) => x.status?.readyReplicas === 3 && x.status?.availableReplicas === 3);
    assert.deepEqual(h.kubelet.started.filter((n) => n.startsWith('web-')), ['web-0', 'web-1', 'web-2']);
    assert.equal(s.status?.replicas, 3);
    assert.equal(s.status?.currentReplicas, 3);
    assert.equal(s.status?.updatedReplicas, 3);
    assert.equal(s.status?.observedGeneration, s.metadata?.generation);
    assert.ok(s.status?.currentRevision && s.status.currentRevision === s.status.updateRevision);
    assert.equal(s.status?.collisionCount, 0);

    const pod = await pods().get('web-2');
    assert.equal(pod.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], 'web-2');
    assert.equal(pod.metadata?.labels?.['apps.kubernetes.io/pod-index'], '2');
    assert.equal(pod.metadata?.labels?.['controller-revision-hash'], s.status?.updateRevision);
    assert.equal(pod.spec?.hostname, 'web-2');
    assert.equal(pod.spec?.subdomain, 'web');
    assert.deepEqual(
      pod.spec?.volumes?.find((v) => v.name === 'data'),
      { name: 'data', persistentVolumeClaim: { claimName: 'data-web-2' } },
    );
    assert.deepEqual(pod.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['StatefulSet', 'web', s.metadata?.uid, true]]);

    const rev = await revisions().get(s.status!.updateRevision!);
    assert.equal(rev.revision, 1);
    assert.equal(rev.metadata?.labels?.app, 'web');
    assert.equal(rev.metadata?.name, `web-${rev.metadata?.labels?.['controller.kubernetes.io/hash']}`);
    assert.equal((rev.data as { spec: { template: { $patch: string } } }).spec.template.$patch, 'replace');

    assert.deepEqual(await messages('web', 'SuccessfulCreate'), [
      'create Claim data-web-0 Pod web-0 in StatefulSet web success',
      'create Pod web-0 in StatefulSet web successful',
      'create Claim data-web-1 Pod web-1 in StatefulSet web success',
      'create Pod web-1 in StatefulSet web successful',
      'create Claim data-web-2 Pod web-2 in StatefulSet web success',
      'create Pod web-2 in StatefulSet web successful',
    ]);
    const table = await h.cluster.kubectlOk(['get', 'controllerrevisions', '--no-headers']);
    assert.match(table.stdout, new RegExp(`^${rev.metadata!.name}\\s+statefulset.apps/web\\s+1\\s`, 'm'));
  });

  it('scales down from the highest ordinal, keeping the claims (whenScaled: Retain)', async () => {
    await h.cluster.kubectlOk(['scale', 'statefulset/web', '--replicas=1']);
    await setWhere('web', (x) => x.status?.replicas === 1 && x.status?.readyReplicas === 1);
    assert.deepEqual(await podNames('web'), ['web-0']);
    const deleted = await messages('web', 'SuccessfulDelete');
    assert.deepEqual(deleted, ['delete Pod web-2 in StatefulSet web successful', 'delete Pod web-1 in StatefulSet web successful']);
    assert.deepEqual((await claims().list()).items.map((c) => c.metadata!.name!).sort(), ['data-web-0', 'data-web-1', 'data-web-2']);
  });

  it('rolls pods to a new revision in reverse ordinal order, honouring the partition, and undoes it', async () => {
    await h.cluster.kubectlOk(['scale', 'statefulset/web', '--replicas=3']);
    await setWhere('web', (x) => x.status?.readyReplicas === 3);
    const deletedOrder: string[] = [];
    const watcher = new Informer<Pod>(pods()).onDelete((p) => {
      if (p.metadata?.labels?.app === 'web') deletedOrder.push(p.metadata.name!);
    });
    watcher.start();
    await watcher.waitForSync();
    await h.cluster.kubectlOk(['patch', 'statefulset/web', '--type=merge', '-p', JSON.stringify({ spec: { updateStrategy: { rollingUpdate: { partition: 1 } } } })]);
    await h.cluster.kubectlOk(['set', 'image', 'statefulset/web', 'c=nginx:1.26']);
    const partial = await setWhere('web', (x) => x.status?.updatedReplicas === 2 && x.status?.readyReplicas === 3);
    assert.notEqual(partial.status?.currentRevision, partial.status?.updateRevision);
    await sleep(200);
    assert.equal((await pods().get('web-0')).spec?.containers[0].image, 'nginx:1.25', 'below the partition stays');
    assert.equal((await pods().get('web-2')).spec?.containers[0].image, 'nginx:1.26');

    await h.cluster.kubectlOk(['patch', 'statefulset/web', '--type=merge', '-p', JSON.stringify({ spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } })]);
    const done = await setWhere('web', (x) => x.status?.updatedReplicas === 3 && x.status?.readyReplicas === 3 && x.status?.currentRevision === x.status?.updateRevision);
    await watcher.stop();
    assert.deepEqual(deletedOrder, ['web-2', 'web-1', 'web-0'], 'one at a time, highest ordinal first');
    const status = await h.cluster.kubectlOk(['rollout', 'status', 'statefulset/web', '--timeout=10s']);
    assert.match(status.stdout, /partitioned roll out complete: 3 new pods have been updated/);

    const history = await h.cluster.kubectlOk(['rollout', 'history', 'statefulset/web']);
    assert.match(history.stdout, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const rev1 = await h.cluster.kubectlOk(['rollout', 'history', 'statefulset/web', '--revision=1']);
    assert.match(rev1.stdout, /Image:\s+nginx:1.25/);

    await h.cluster.kubectlOk(['rollout', 'undo', 'statefulset/web']);
    const undone = await setWhere(
      'web',
      (x) => x.status?.updateRevision !== done.status?.updateRevision && x.status?.currentRevision === x.status?.updateRevision && x.status?.updatedReplicas === 3 && x.status?.readyReplicas === 3,
    );
    assert.equal(undone.spec?.template.spec?.containers[0].image, 'nginx:1.25');
    for (const n of ['web-0', 'web-1', 'web-2']) assert.equal((await pods().get(n)).spec?.containers[0].image, 'nginx:1.25');
    const revs = (await revisions().list({ labelSelector: 'app=web' })).items.map((r) => [r.metadata!.name, r.revision]);
    assert.equal(revs.length, 2, 'the undo renumbers the old revision instead of adding one');
    assert.ok(revs.some(([n, r]) => n === undone.status?.updateRevision && r === 3));
    const skipped = await h.cluster.kubectlOk(['rollout', 'undo', 'statefulset/web', '--to-revision=3']);
    assert.match(skipped.stdout, /skipped rollback \(current template already matches revision 3\)/, 'revision data is byte-identical to kubectl\'s own encoding');
  });

  it('Parallel creates every pod at once; OnDelete replaces a pod only when it is deleted', async () => {
    holdReady = (p) => p.metadata?.labels?.app === 'par';
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: stsManifest('par', 3, { podManagementPolicy: 'Parallel', updateStrategy: { type: 'OnDelete' } }) });
    await waitFor('all par pods', async () => ((await podNames('par')).length === 3 ? true : undefined));
    holdReady = () => false;
    h.kubelet.recheck();
    await setWhere('par', (x) => x.status?.readyReplicas === 3);
    await h.cluster.kubectlOk(['set', 'image', 'statefulset/par', 'c=nginx:1.26']);
    const s = await setWhere('par', (x) => x.status?.currentRevision !== x.status?.updateRevision && x.status?.observedGeneration === x.metadata?.generation);
    await sleep(300);
    for (const n of ['par-0', 'par-1', 'par-2']) assert.equal((await pods().get(n)).spec?.containers[0].image, 'nginx:1.25');
    const uid = (await pods().get('par-1')).metadata?.uid;
    await pods().delete('par-1');
    const repl = await waitFor('par-1 recreated', async () => {
      const p = await pods()
        .get('par-1')
        .catch(() => undefined);
      return p && p.metadata?.uid !== uid ? p : undefined;
    });
    assert.equal(repl.spec?.containers[0].image, 'nginx:1.26');
    assert.equal(repl.metadata?.labels?.['controller-revision-hash'], s.status?.updateRevision);
  });

  it('hands the claims of a condemned pod to it when whenScaled is Delete', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: stsManifest('shrink', 2, { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } }) });
    await setWhere('shrink', (x) => x.status?.readyReplicas === 2);
    const uid = (await pods().get('shrink-1')).metadata?.uid;
    await h.cluster.kubectlOk(['scale', 'statefulset/shrink', '--replicas=1']);
    await setWhere('shrink', (x) => x.status?.replicas === 1);
    const claim = await claims().get('data-shrink-1');
    assert.deepEqual(claim.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid]), [['Pod', 'shrink-1', uid]]);
    assert.equal((await claims().get('data-shrink-0')).metadata?.ownerReferences, undefined);
  });

  it('adopts a matching orphan pod and deletes claims with the set when whenDeleted is Delete', async () => {
    await pods().create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'adopt-0', namespace: NS, labels: { app: 'adopt' } },
      spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] },
    });
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: stsManifest('adopt', 1, { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } }) });
    const s = await setWhere('adopt', (x) => x.status?.readyReplicas === 1);
    const p = await waitFor('adopted', async () => {
      const pod = await pods().get('adopt-0');
      return pod.metadata?.ownerReferences?.length ? pod : undefined;
    });
    assert.equal(p.metadata?.ownerReferences?.[0].uid, s.metadata?.uid);
    // an adopted pod keeps its spec: its identity labels are restored
    const fixed = await waitFor('identity labels', async () => {
      const pod = await pods().get('adopt-0');
      return pod.metadata?.labels?.['statefulset.kubernetes.io/pod-name'] === 'adopt-0' ? pod : undefined;
    });
    assert.equal(fixed.metadata?.labels?.['apps.kubernetes.io/pod-index'], '0');
    const claim = await claims().get('data-adopt-0');
    assert.deepEqual(claim.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid]), [['StatefulSet', 'adopt', s.metadata?.uid]]);
  });
});
