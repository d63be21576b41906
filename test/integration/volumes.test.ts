// PersistentVolume binding and the built-in local-path provisioner, driven by kubectl 1.33 against
// simulated nodes and the real scheduler.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defaultStorageClass } from '../../src/apiserver/admission/default-storageclass.js';
import { storageObjectInUseProtection } from '../../src/apiserver/admission/storage-object-in-use-protection.js';
import { RestClient } from '../../src/client/rest.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { ensureDefaultStorageClass, localPathProvisionerController } from '../../src/controllers/localpath/provisioner.js';
import { ControllerManager } from '../../src/controllers/manager.js';
import { persistentVolumeBinderController } from '../../src/controllers/volume/controller.js';
import { pvcProtectionController, pvProtectionController } from '../../src/controllers/volume/protection.js';
import { schedulerController } from '../../src/scheduler/index.js';
import { removeTempDataDir, startTestCluster, tempDataDir, type TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;
let manager: ControllerManager;
let transport: Transport;
let baseDir: string;
const NODE = 'sim-node-1';

before(async () => {
  baseDir = tempDataDir('timonel-local-path-');
  // only the namespace controller built in: the components under test run in their own manager
  cluster = await startTestCluster({ simulatedNodes: 2, controllers: ['namespace'] });
  const admission = cluster.api.registry.admission;
  if (!admission.some((p) => p.name === 'DefaultStorageClass')) admission.push(defaultStorageClass(() => cluster.api.scheme.lookup('storage.k8s.io', 'v1', 'storageclasses')));
  if (!admission.some((p) => p.name === 'StorageObjectInUseProtection')) admission.push(storageObjectInUseProtection());
  transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:volumes-test', groups: ['system:masters'] });
  // the cluster's bootstrap made the default class already
  assert.equal(await ensureDefaultStorageClass(new RestClient(transport)), false);
  manager = new ControllerManager(transport, [
    schedulerController,
    persistentVolumeBinderController,
    pvcProtectionController,
    pvProtectionController,
    localPathProvisionerController({ baseDir, localNodeName: NODE }),
  ], { log: (line) => cluster.logs.push(line) });
  await manager.start();
});
after(async () => {
  await manager?.stop();
  transport?.close();
  await cluster?.close();
  if (baseDir) removeTempDataDir(baseDir);
});

const k = (args: string[]) => cluster.kubectlOk(args, { timeoutMs: 60_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const CLAIM = `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 2Gi
`;

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: writer
spec:
  nodeSelector:
    kubernetes.io/hostname: ${NODE}
  containers:
  - name: app
    image: busybox
    command: [sleep, "3600"]
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: data
`;

test('a local-path claim waits for its pod, gets a volume on the pod node, and goes away with it', async () => {
  await until('two Ready nodes', async () => (await k(['get', 'nodes', '--no-headers'])).stdout.split('\n').filter((l) => /\sReady\s/.test(l)).length === 2);

  const sc = (await k(['get', 'storageclass'])).stdout;
  assert.match(sc, /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE$/m);
  assert.match(sc, /^local-path \(default\)\s+timonel\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+/m);

  await cluster.kubectlOk(['apply', '-f', '-'], { stdin: CLAIM, timeoutMs: 60_000 });
  assert.equal((await k(['get', 'pvc', 'data', '-o', 'jsonpath={.spec.storageClassName}'])).stdout, 'local-path');
  await until('WaitForFirstConsumer event', async () =>
    (await k(['get', 'events', '--field-selector', 'involvedObject.name=data,reason=WaitForFirstConsumer', '-o', 'jsonpath={.items[*].message}'])).stdout.includes(
      'waiting for first consumer to be created before binding',
    ),
  );
  await sleep(300);
  assert.equal((await k(['get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}'])).stdout, 'Pending');
  assert.equal((await k(['get', 'pv', '-o', 'name'])).stdout.trim(), '');

  await cluster.kubectlOk(['apply', '-f', '-'], { stdin: POD, timeoutMs: 60_000 });
  await k(['wait', '--for=condition=Ready', 'pod/writer', '--timeout=30s']);
  assert.equal((await k(['get', 'pod', 'writer', '-o', 'jsonpath={.spec.nodeName}'])).stdout, NODE);

  const uid = (await k(['get', 'pvc', 'data', '-o', 'jsonpath={.metadata.uid}'])).stdout;
  const pvName = `pvc-${uid}`;
  await until('claim Bound', async () => (await k(['get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}'])).stdout === 'Bound');
  assert.equal((await k(['get', 'pvc', 'data', '-o', 'jsonpath={.metadata.annotations.volume\\.kubernetes\\.io/selected-node}'])).stdout, NODE);
  assert.equal((await k(['get', 'pvc', 'data', '-o', 'jsonpath={.metadata.annotations.volume\\.kubernetes\\.io/storage-provisioner}'])).stdout, 'timonel.io/local-path');
  const dir = join(baseDir, `pvc-${uid}_default_data`);
  assert.equal(
    (await k(['get', 'pv', pvName, '-o', 'jsonpath={.spec.hostPath.path} {.spec.hostPath.type} {.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].key} {.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.spec.claimRef.uid}'])).stdout,
    `${dir} DirectoryOrCreate kubernetes.io/hostname ${NODE} ${uid}`,
  );
  assert.ok(statSync(dir).isDirectory(), 'the provisioner made the directory on its own node');

  const table = (await k(['get', 'pv,pvc'])).stdout;
  assert.match(table, /^NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE$/m);
  assert.match(table, new RegExp(`^persistentvolume/${pvName}\\s+2Gi\\s+RWO\\s+Delete\\s+Bound\\s+default/data\\s+local-path\\s+<unset>\\s+\\S+$`, 'm'));
  assert.match(table, /^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE$/m);
  assert.match(table, new RegExp(`^persistentvolumeclaim/data\\s+Bound\\s+${pvName}\\s+2Gi\\s+RWO\\s+local-path\\s+<unset>\\s+\\S+$`, 'm'));

  const described = (await k(['describe', 'pvc', 'data'])).stdout;
  for (const reason of ['WaitForFirstConsumer', 'ExternalProvisioning', 'Provisioning', 'ProvisioningSucceeded']) assert.match(described, new RegExp(`\\b${reason}\\b`), described);
  assert.match(described, /Finalizers:\s+\[kubernetes\.io\/pvc-protection\]/);

  // the claim outlives its delete while the pod holds it
  await k(['delete', 'pvc', 'data', '--wait=false']);
  await sleep(300);
  assert.match((await k(['get', 'pvc', 'data', '--no-headers'])).stdout, /^data\s+Terminating\s/);
  assert.equal((await k(['get', 'pv', pvName, '-o', 'jsonpath={.status.phase}'])).stdout, 'Bound');

  await k(['delete', 'pod', 'writer', '--wait=true']);
  await until('claim and volume gone', async () => (await k(['get', 'pv,pvc', '-o', 'name'])).stdout.trim() === '');
  assert.equal(existsSync(dir), false, 'the volume directory is removed');
  assert.deepEqual(cluster.logs.filter((l) => /error syncing/.test(l) && !/conflict|modified/i.test(l)), []);
});
