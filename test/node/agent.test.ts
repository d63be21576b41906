// The node agent: env resolution, volume files and container IDs (plain unit tests), then with root
// and crun: an agent restart re-adopts running containers, a failing liveness probe restarts a
// container, an exec readiness probe gates Ready, and the pods/log handler's errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap, Pod, Secret } from 'kubernetes-types/core/v1.js';
import { ClientStatusError, RestClient, type ResourceClient } from '../../src/client/rest.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { containerIDOf, parseContainerID, startNodeAgent, type NodeAgent } from '../../src/node/agent/index.js';
import { ContainerConfigError, resolveEnv, resourceFieldValue, type ObjectSource } from '../../src/node/agent/env.js';
import { setUpVolume, VolumeError, type VolumeSource } from '../../src/node/agent/volumes.js';
import { ImageStore } from '../../src/node/images/index.js';
import { detectRuntime, removeCgroup } from '../../src/node/runtime/index.js';
import { PodSandboxes } from '../../src/node/sandbox/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { buildTestImage, imageTestsMissing } from '../helpers/registry.js';
import { skipUnless } from '../helpers/skip.js';
import { eventually } from '../integration/support.js';

const cm: ConfigMap = { metadata: { name: 'settings', namespace: 'ns1' }, data: { color: 'blue', 'bad key': 'x', 'a.txt': 'A' } };
const secret: Secret = { metadata: { name: 'creds', namespace: 'ns1' }, data: { password: Buffer.from('s3cret').toString('base64') } };
const objects: ObjectSource = {
  configMap: async (ns, name) => (ns === 'ns1' && name === 'settings' ? cm : undefined),
  secret: async (ns, name) => (ns === 'ns1' && name === 'creds' ? secret : undefined),
};
const pod: Pod = {
  metadata: { name: 'p', namespace: 'ns1', uid: 'u-1', labels: { app: 'x' } },
  spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i', resources: { limits: { memory: '128Mi' }, requests: { cpu: '250m' } } }] },
};

describe('node agent pieces', () => {
  test('env: envFrom with prefix (invalid names skipped), then env in order with $(VAR), valueFrom', async () => {
    const env = await resolveEnv({
      pod,
      container: {
        name: 'c',
        resources: { limits: { memory: '128Mi' } },
        envFrom: [{ prefix: 'CM_', configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' } }],
        env: [
          { name: 'A', value: 'one' },
          { name: 'B', value: '$(A)-two-$(NOPE)-$$(A)' },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'settings', key: 'color' } } },
          { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k', optional: true } } },
          { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        ],
      },
      objects,
      podIP: '10.0.0.7',
      allocatable: { cpu: '2', memory: '1Gi' },
    });
    assert.deepEqual(env, [
      { name: 'CM_color', value: 'blue' },
      { name: 'CM_a.txt', value: 'A' },
      { name: 'password', value: 's3cret' },
      { name: 'A', value: 'one' },
      { name: 'B', value: 'one-two-$(NOPE)-$(A)' },
      { name: 'NODE', value: 'n1' },
      { name: 'IP', value: '10.0.0.7' },
      { name: 'APP', value: 'x' },
      { name: 'COLOR', value: 'blue' },
      { name: 'MEM', value: '128' },
    ]);
    await assert.rejects(resolveEnv({ pod, container: { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope' } } }] }, objects, allocatable: {} }), (e: unknown) => {
      assert.ok(e instanceof ContainerConfigError);
      assert.equal(e.message, "couldn't find key nope in Secret ns1/creds");
      return true;
    });
    await assert.rejects(resolveEnv({ pod, container: { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k' } } }] }, objects, allocatable: {} }), /configmap "gone" not found/);
  });

  test('resourceFieldRef: limits default to the node allocatable; cpu rounds up in divisor units', () => {
    const c = pod.spec!.containers[0]!;
    assert.equal(resourceFieldValue(pod, c, { resource: 'limits.cpu' }, { cpu: '2' }), '2');
    assert.equal(resourceFieldValue(pod, c, { resource: 'requests.cpu', divisor: '1m' }, { cpu: '2' }), '250');
    assert.equal(resourceFieldValue(pod, c, { resource: 'requests.cpu' }, { cpu: '2' }), '1');
  });

  test('volumes: configMap items and modes, secret decoded, downwardAPI labels, missing configMap refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'timonel-agent-vol-'));
    try {
      const source = { ...objects } as VolumeSource;
      const ctx = { pod, podDir: dir, source, allocatable: {} };
      const a = await setUpVolume(ctx, { name: 'cfg', configMap: { name: 'settings', items: [{ key: 'color', path: 'sub/c.txt', mode: 0o600 }] } });
      assert.equal(readFileSync(join(a.hostPath, 'sub/c.txt'), 'utf8'), 'blue');
      assert.equal(statSync(join(a.hostPath, 'sub/c.txt')).mode & 0o777, 0o600);
      const s = await setUpVolume(ctx, { name: 'sec', secret: { secretName: 'creds' } });
      assert.equal(readFileSync(join(s.hostPath, 'password'), 'utf8'), 's3cret');
      const d = await setUpVolume(ctx, { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } });
      assert.equal(readFileSync(join(d.hostPath, 'labels'), 'utf8'), 'app="x"');
      assert.equal(readFileSync(join(d.hostPath, 'name'), 'utf8'), 'p');
      await assert.rejects(setUpVolume(ctx, { name: 'x', configMap: { name: 'absent' } }), (e: unknown) => e instanceof VolumeError && /configmap "absent" not found/.test(e.message));
      const opt = await setUpVolume(ctx, { name: 'y', configMap: { name: 'absent', optional: true } });
      assert.ok(statSync(opt.hostPath).isDirectory());
      await assert.rejects(setUpVolume(ctx, { name: 'h', hostPath: { path: join(dir, 'nope'), type: 'Directory' } }), /hostPath type check failed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('container IDs carry the pod UID, container name and attempt', () => {
    const uid = '0b5a6f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
    assert.deepEqual(parseContainerID(containerIDOf(uid, 'web-server', 3)), { podUID: uid, name: 'web-server', attempt: 3 });
    assert.equal(parseContainerID('somebody-else'), undefined);
  });
});

const isRoot = process.getuid?.() === 0;
const detection = isRoot ? detectRuntime({ stateDir: tmpdir(), preferred: 'crun' }) : undefined;
const missing = !isRoot ? 'not root (real containers need root)' : !detection?.ok ? `crun: ${detection && !detection.ok ? detection.reason : ''}` : (imageTestsMissing() ?? '');

describe('node agent with crun', skipUnless(missing === '', missing), () => {
  const tag = (process.pid % 100_000).toString(36);
  const bridge = `tmag${tag}`.slice(0, 15);
  const cidr = `10.197.${process.pid % 250}.0/24`;
  const netnsPrefix = `tmag-${tag}-`;
  const cgroupParent = `/timonel-test-agent-${process.pid}`;
  const nodeName = `tmt-agent-${process.pid}`;
  const image = 'test/busybox:base';
  let work = '';
  let stateDir = '';
  let cluster: TestCluster | undefined;
  let transport: Transport | undefined;
  let agent: NodeAgent | undefined;
  let pods: ResourceClient<Pod>;
  const uids: string[] = [];

  const startAgent = async () => {
    const r = await startNodeAgent(transport!, { nodeName, stateDir, runtime: 'crun', podCIDR: cidr, bridge, netnsPrefix, cgroupParent, hostSysctls: false, api: cluster!.api, log: (l) => cluster!.logs.push(l) });
    assert.notEqual(typeof r, 'string', String(r));
    return r as NodeAgent;
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'timonel-agent-'));
    stateDir = join(work, 'node');
    const built = await buildTestImage(join(work, 'build'));
    await new ImageStore(join(stateDir, 'images')).importOCI(built.layout, { name: 'test/busybox' });
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:node:test', groups: ['system:masters'] });
    pods = new RestClient(transport).resource<Pod>({ group: '', version: 'v1', resource: 'pods', namespaced: true }, 'default');
    agent = await startAgent();
  });

  after(async () => {
    await agent?.stop({ deleteNode: true, removeBridge: true }).catch(() => {});
    transport?.close();
    await cluster?.close().catch(() => {});
    const sandboxes = new PodSandboxes({ stateDir: join(stateDir, 'network'), podCIDR: cidr, bridge, netnsPrefix, hostSysctls: false });
    for (const uid of uids) await sandboxes.destroySandbox(uid).catch(() => {});
    await sandboxes.deleteBridge().catch(() => {});
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4];
      if (mp && work && mp.startsWith(work))
        try {
          execFileSync('umount', ['-l', mp]);
        } catch {
          // gone
        }
    }
    removeCgroup(cgroupParent);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const create = async (p: Pod) => {
    const made = await pods.create({ apiVersion: 'v1', kind: 'Pod', ...p, spec: { nodeName, terminationGracePeriodSeconds: 1, ...p.spec! } });
    uids.push(made.metadata!.uid!);
    return made;
  };
  const until = async (name: string, what: string, cond: (p: Pod) => boolean, ms = 20_000) => {
    let last: Pod | undefined;
    await eventually(`${name}: ${what}`, async () => cond((last = await pods.get(name))), ms).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; status: ${JSON.stringify(last?.status)}`);
    });
    return last!;
  };
  const deleteAndWait = async (name: string) => {
    await pods.delete(name);
    await eventually(`${name} deleted`, async () => (await pods.list()).items.every((p) => p.metadata?.name !== name), 20_000);
  };

  test('an agent restart re-adopts running containers: same container, same process, nothing started twice', async () => {
    await create({ metadata: { name: 'keeper' }, spec: { containers: [{ name: 'k', image, command: ['sleep', '3600'] }] } });
    const before = await until('keeper', 'Running', (p) => p.status?.containerStatuses?.[0]?.state?.running !== undefined);
    const uid = before.metadata!.uid!;
    const pidFile = join(stateDir, 'pods', uid, 'containers', 'k_0', 'pid');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await agent!.stop({ keepContainers: true });
    assert.ok(statSync(`/proc/${pid}`), 'the container keeps running while no agent runs');
    agent = await startAgent();
    await new Promise((r) => setTimeout(r, 1500));
    const after = await pods.get('keeper');
    const cs = after.status?.containerStatuses?.[0];
    assert.equal(cs?.containerID, before.status?.containerStatuses?.[0]?.containerID);
    assert.equal(cs?.restartCount, 0);
    assert.ok(cs?.state?.running);
    assert.equal(Number(readFileSync(pidFile, 'utf8')), pid);
    const running = JSON.parse(execFileSync('crun', ['--root', join(stateDir, 'runtime', 'crun'), 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') as { id: string; status: string }[];
    assert.deepEqual(running.filter((c) => c.id.startsWith(uid)).map((c) => c.id), [containerIDOf(uid, 'k', 0)]);
    await deleteAndWait('keeper');
    assert.throws(() => statSync(`/proc/${pid}`), 'the re-adopted container is stopped at deletion');
  });

  test('a failing liveness probe restarts the container', async () => {
    await create({
      metadata: { name: 'unlively' },
      spec: { containers: [{ name: 'u', image, command: ['sleep', '3600'], livenessProbe: { tcpSocket: { port: 9 }, periodSeconds: 1, failureThreshold: 2 } }] },
    });
    const p = await until('unlively', 'restarted', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
    assert.ok(p.status?.containerStatuses?.[0]?.lastState?.terminated, JSON.stringify(p.status?.containerStatuses));
    assert.match(p.status!.containerStatuses![0]!.lastState!.terminated!.message ?? '', /failed liveness probe, will be restarted/);
    await deleteAndWait('unlively');
  });

  test('an exec readiness probe (through crun exec) gates Ready', async () => {
    await create({
      metadata: { name: 'slowready' },
      spec: { containers: [{ name: 's', image, command: ['sh', '-c', 'sleep 2; echo > /ready; exec sleep 3600'], readinessProbe: { exec: { command: ['sh', '-c', 'test -e /ready'] }, periodSeconds: 1 } }] },
    });
    const running = await until('slowready', 'Running', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined);
    assert.equal(running.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
    const ready = await until('slowready', 'Ready', (x) => x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
    assert.equal(ready.status?.containerStatuses?.[0]?.ready, true);
    await deleteAndWait('slowready');
  });

  test('pods/log answers 400 for an unknown container and a waiting one, 404 for another node', async () => {
    await create({ metadata: { name: 'never' }, spec: { containers: [{ name: 'n', image: 'test/busybox:absent', imagePullPolicy: 'Never' }] } });
    await until('never', 'ErrImageNeverPull', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull');
    const rest = new RestClient(transport!);
    const get = (path: string) => rest.call('GET', path).then(
      () => undefined,
      (e: unknown) => (e as ClientStatusError).status,
    );
    const waiting = await get('/api/v1/namespaces/default/pods/never/log');
    assert.equal(waiting?.code, 400);
    assert.equal(waiting?.message, 'container "n" in pod "never" is waiting to start: ErrImageNeverPull');
    const unknown = await get('/api/v1/namespaces/default/pods/never/log?container=zzz');
    assert.equal(unknown?.code, 400);
    assert.equal(unknown?.message, 'container zzz is not valid for pod never');
    await pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'elsewhere' }, spec: { nodeName: 'some-other-node', containers: [{ name: 'e', image }] } });
    const other = await get('/api/v1/namespaces/default/pods/elsewhere/log');
    assert.equal(other?.code, 404);
    assert.match(other?.message ?? '', /runs on node some-other-node/);
    await pods.delete('elsewhere', { gracePeriodSeconds: 0 });
    await deleteAndWait('never');
  });
});
