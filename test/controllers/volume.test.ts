import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Event, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import { defaultStorageClass } from '../../src/apiserver/admission/default-storageclass.js';
import { storageObjectInUseProtection } from '../../src/apiserver/admission/storage-object-in-use-protection.js';
import { isNotFound, type RestClient, type ResourceClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { newPersistentVolumeBinderController } from '../../src/controllers/volume/controller.js';
import { pvcProtectionController, pvProtectionController } from '../../src/controllers/volume/protection.js';
import { findBestMatchForClaim } from '../../src/controllers/volume/util.js';
import type { TestCluster } from '../helpers/cluster.js';
import { startControllerHarness, type ControllerHarness } from '../helpers/fake-kubelet.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function pv(name: string, size: string, o: { cls?: string; modes?: string[]; policy?: string; labels?: Record<string, string>; claim?: string; phase?: string } = {}): PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: o.labels },
    spec: {
      capacity: { storage: size },
      accessModes: o.modes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: o.policy ?? 'Retain',
      storageClassName: o.cls ?? 'manual',
      hostPath: { path: `/tmp/${name}` },
      ...(o.claim ? { claimRef: { namespace: 'default', name: o.claim } } : {}),
    },
    status: { phase: o.phase ?? 'Available' },
  };
}

function pvc(name: string, size: string, o: { cls?: string | null; modes?: string[]; volumeName?: string; selector?: Record<string, string> } = {}): PersistentVolumeClaim {
  const spec: PersistentVolumeClaim['spec'] = { accessModes: o.modes ?? ['ReadWriteOnce'], resources: { requests: { storage: size } } };
  if (o.cls !== null) spec.storageClassName = o.cls ?? 'manual';
  if (o.volumeName) spec.volumeName = o.volumeName;
  if (o.selector) spec.selector = { matchLabels: o.selector };
  return { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec };
}

describe('findBestMatchForClaim', () => {
  it('takes the smallest volume that fits', () => {
    const vols = [pv('a', '10Gi'), pv('b', '2Gi'), pv('c', '1Gi'), pv('d', '5Gi')];
    assert.equal(findBestMatchForClaim(pvc('x', '1500Mi'), vols, false)?.metadata?.name, 'b');
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi'), vols, false)?.metadata?.name, 'c');
    assert.equal(findBestMatchForClaim(pvc('x', '11Gi'), vols, false), undefined);
  });

  it('needs the same class, every access mode, the selector and the volume mode', () => {
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi', { cls: 'fast' }), [pv('a', '1Gi')], false), undefined);
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi', { modes: ['ReadWriteMany'] }), [pv('a', '1Gi')], false), undefined);
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi', { selector: { tier: 'gold' } }), [pv('a', '1Gi', { labels: { tier: 'silver' } })], false), undefined);
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi', { selector: { tier: 'gold' } }), [pv('a', '1Gi', { labels: { tier: 'gold' } })], false)?.metadata?.name, 'a');
    const block = { ...pv('a', '1Gi'), spec: { ...pv('a', '1Gi').spec, volumeMode: 'Block' } };
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi'), [block], false), undefined);
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi'), [pv('a', '1Gi', { phase: 'Released' })], false), undefined);
  });

  it('prefers the narrowest set of access modes that holds the claim', () => {
    const vols = [pv('wide', '1Gi', { modes: ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany'] }), pv('narrow', '5Gi')];
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi'), vols, false)?.metadata?.name, 'narrow');
  });

  it('returns a volume pre-bound to the claim even when binding is delayed', () => {
    const vols = [pv('small', '1Gi'), pv('reserved', '5Gi', { claim: 'x', phase: 'Available' }), pv('other', '1Gi', { claim: 'y' })];
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi'), vols, false)?.metadata?.name, 'reserved');
    assert.equal(findBestMatchForClaim(pvc('x', '1Gi'), vols, true)?.metadata?.name, 'reserved');
    assert.equal(findBestMatchForClaim(pvc('z', '1Gi'), vols, true), undefined);
    assert.equal(findBestMatchForClaim(pvc('z', '1Gi'), vols, false)?.metadata?.name, 'small');
  });
});

describe('persistentvolume binder', () => {
  let h: ControllerHarness | undefined;
  let cluster: TestCluster;
  let rest: RestClient;
  let pvs: ResourceClient<PersistentVolume>;
  let pvcs: ResourceClient<PersistentVolumeClaim>;

  const getPV = async (name: string) => {
    try {
      return await pvs.get(name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const getPVC = async (name: string) => {
    try {
      return await pvcs.get(name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  const claimPhase = (name: string, phase: string) => waitFor(`claim ${name} ${phase}`, async () => ((await getPVC(name))?.status?.phase === phase ? getPVC(name) : undefined));
  const volumePhase = (name: string, phase: string) => waitFor(`volume ${name} ${phase}`, async () => ((await getPV(name))?.status?.phase === phase ? getPV(name) : undefined));
  const eventFor = (name: string, reason: string) =>
    waitFor(`${reason} event for ${name}`, async () => {
      const list = await rest.resource<Event>(RESOURCES.events, 'default').list();
      return list.items.find((e) => e.involvedObject.name === name && e.reason === reason);
    });

  before(async () => {
    h = await startControllerHarness([newPersistentVolumeBinderController({ resyncPeriodMs: 500 }), pvcProtectionController, pvProtectionController], {
      controllerUser: 'system:serviceaccount:kube-system:persistent-volume-binder',
      async beforeStart(parts) {
        parts.cluster.api.registry.admission.push(
          defaultStorageClass(() => parts.cluster.api.scheme.lookup('storage.k8s.io', 'v1', 'storageclasses')),
          storageObjectInUseProtection(),
        );
      },
    });
    ({ cluster, rest } = h);
    pvs = rest.resource<PersistentVolume>(RESOURCES.persistentvolumes);
    pvcs = rest.resource<PersistentVolumeClaim>(RESOURCES.persistentvolumeclaims, 'default');
  });
  after(() => h?.close());

  it('binds a claim to the smallest matching Available volume, both ways', async () => {
    await pvs.create(pv('small', '1Gi'));
    await pvs.create(pv('medium', '5Gi'));
    await pvs.create(pv('large', '10Gi'));
    await volumePhase('medium', 'Available');
    await pvcs.create(pvc('data', '3Gi'));
    const claim = await claimPhase('data', 'Bound');
    assert.equal(claim.spec?.volumeName, 'medium');
    assert.equal(claim.metadata?.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
    assert.equal(claim.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.deepEqual(claim.status?.capacity, { storage: '5Gi' });
    assert.deepEqual(claim.status?.accessModes, ['ReadWriteOnce']);
    assert.deepEqual(claim.metadata?.finalizers, ['kubernetes.io/pvc-protection']);
    const vol = await volumePhase('medium', 'Bound');
    assert.equal(vol.spec?.claimRef?.name, 'data');
    assert.equal(vol.spec?.claimRef?.uid, claim.metadata?.uid);
    assert.equal(vol.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.deepEqual(vol.metadata?.finalizers, ['kubernetes.io/pv-protection']);
    assert.equal((await getPV('small'))?.status?.phase, 'Available');
    assert.equal((await getPV('large'))?.status?.phase, 'Available');
  });

  it('leaves a claim of another class Pending', async () => {
    await pvcs.create(pvc('other-class', '1Gi', { cls: 'gold' }));
    const ev = await eventFor('other-class', 'ProvisioningFailed');
    assert.equal(ev.message, 'storageclass.storage.k8s.io "gold" not found');
    assert.equal((await getPVC('other-class'))?.status?.phase, 'Pending');
    assert.equal((await getPVC('other-class'))?.spec?.volumeName, undefined);

    await pvcs.create(pvc('no-class', '100Gi', { cls: '' }));
    const ev2 = await eventFor('no-class', 'FailedBinding');
    assert.equal(ev2.message, 'no persistent volumes available for this claim and no storage class is set');
    assert.equal((await getPVC('no-class'))?.status?.phase, 'Pending');
  });

  it('honours pre-binding from either side', async () => {
    await pvs.create(pv('wanted', '20Gi'));
    await pvcs.create(pvc('picky', '1Gi', { volumeName: 'wanted' }));
    const picky = await claimPhase('picky', 'Bound');
    assert.equal(picky.spec?.volumeName, 'wanted');
    // a user's binding is not marked as the controller's
    assert.equal(picky.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
    const wanted = await volumePhase('wanted', 'Bound');
    assert.equal(wanted.spec?.claimRef?.uid, picky.metadata?.uid);

    await pvs.create(pv('reserved', '2Gi', { claim: 'reserver' }));
    await pvs.create(pv('tiny', '1Gi'));
    await pvcs.create(pvc('reserver', '1Gi'));
    const reserver = await claimPhase('reserver', 'Bound');
    assert.equal(reserver.spec?.volumeName, 'reserved');
    assert.equal((await getPV('reserved'))?.metadata?.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined);
  });

  it('Retain: a released volume stays, Released; Delete: it is removed', async () => {
    await pvs.create(pv('keep-me', '1Gi', { cls: 'retain' }));
    await pvs.create(pv('drop-me', '1Gi', { cls: 'delete', policy: 'Delete' }));
    await pvcs.create(pvc('keeper', '1Gi', { cls: 'retain' }));
    await pvcs.create(pvc('dropper', '1Gi', { cls: 'delete' }));
    await claimPhase('keeper', 'Bound');
    await claimPhase('dropper', 'Bound');
    await pvcs.delete('keeper');
    await pvcs.delete('dropper');
    const kept = await volumePhase('keep-me', 'Released');
    assert.equal(kept.spec?.claimRef?.name, 'keeper');
    await waitFor('drop-me deleted', async () => ((await getPV('drop-me')) ? undefined : true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await getPV('keep-me'))?.status?.phase, 'Released');
  });

  it('keeps a claim while a scheduled pod uses it', async () => {
    await pvs.create(pv('in-use', '1Gi', { cls: 'protect' }));
    await pvcs.create(pvc('used', '1Gi', { cls: 'protect' }));
    await claimPhase('used', 'Bound');
    const pods = rest.resource<Pod>(RESOURCES.pods, 'default');
    await pods.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'user', namespace: 'default' },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'used' } }] },
    });
    await pvcs.delete('used');
    await new Promise((r) => setTimeout(r, 300));
    const held = await getPVC('used');
    assert.ok(held?.metadata?.deletionTimestamp, 'the claim is terminating');
    assert.deepEqual(held?.metadata?.finalizers, ['kubernetes.io/pvc-protection']);
    assert.equal((await getPV('in-use'))?.status?.phase, 'Bound');
    await pods.delete('user', { gracePeriodSeconds: 0 });
    await waitFor('claim gone', async () => ((await getPVC('used')) ? undefined : true));
    await volumePhase('in-use', 'Released');
  });

  it('gives a claim without a class the default class, at admission or later', async () => {
    // start without a default class: the cluster's bootstrap made local-path one
    await rest.resource<StorageClass>(RESOURCES.storageclasses).delete('local-path');
    await pvcs.create(pvc('before-default', '1Gi', { cls: null }));
    assert.equal((await getPVC('before-default'))?.spec?.storageClassName, undefined);
    const sc: StorageClass = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'std', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'example.com/external',
      volumeBindingMode: 'Immediate',
    };
    await rest.resource<StorageClass>(RESOURCES.storageclasses).create(sc);
    const late = await waitFor('class assigned', async () => ((await getPVC('before-default'))?.spec?.storageClassName === 'std' ? getPVC('before-default') : undefined));
    assert.equal(late?.spec?.storageClassName, 'std');
    await pvcs.create(pvc('after-default', '1Gi', { cls: null }));
    assert.equal((await getPVC('after-default'))?.spec?.storageClassName, 'std');
    await pvcs.create(pvc('explicit-none', '1Gi', { cls: '' }));
    assert.equal((await getPVC('explicit-none'))?.spec?.storageClassName, '');
    // an external provisioner is asked through annotations
    const asked = await waitFor('provisioner annotation', async () => {
      const c = await getPVC('after-default');
      return c?.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'] ? c : undefined;
    });
    assert.equal(asked.metadata?.annotations?.['volume.kubernetes.io/storage-provisioner'], 'example.com/external');
    assert.equal(asked.metadata?.annotations?.['volume.beta.kubernetes.io/storage-provisioner'], 'example.com/external');
    const ev = await eventFor('after-default', 'ExternalProvisioning');
    assert.match(ev.message ?? '', /external provisioner 'example.com\/external'/);
  });
});
