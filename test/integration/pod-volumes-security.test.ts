// Real pods (crun, root) with the built-in controllers on: an emptyDir shared by two containers, a
// memory-backed emptyDir as a size-limited tmpfs, a local-path claim that outlives its first pod,
// hostNetwork, and securityContext (runAsUser/runAsGroup, readOnlyRootFilesystem). What the
// containers see is read back through kubectl logs. The test image links few applets: others run as
// `busybox <applet>`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { Node, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { RestClient } from '../../src/client/rest.js';
import { skipUnless } from '../helpers/skip.js';
import { LocalNodeHarness, realPodsMissing, TEST_IMAGE as image } from './pod-harness.js';
import { eventually } from './support.js';

const missing = realPodsMissing();
const succeeded = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
const running = (p: Pod) => p.status?.phase === 'Running';

describe('real pods: volumes, hostNetwork and securityContext', skipUnless(missing === '', missing), () => {
  const h = new LocalNodeHarness('vs', 189, {}, { cluster: { controllers: true } });
  before(async () => {
    await h.start();
    // with the controllers on, pods need the namespace's default ServiceAccount
    await eventually('default ServiceAccount', async () => (await h.cluster!.kubectl(['get', 'serviceaccount', 'default'])).code === 0, 20_000);
  });
  after(() => h.close());

  /** A pod run to completion on the harness node; returns its phase. */
  async function runToEnd(p: Pod): Promise<string> {
    await h.create({ ...p, spec: { restartPolicy: 'Never', automountServiceAccountToken: false, ...p.spec! } });
    const done = await h.until(p.metadata!.name!, 'finished', succeeded, 30_000);
    return done.status!.phase!;
  }

  test('an emptyDir is shared by two containers; medium Memory with sizeLimit 8Mi is a tmpfs that refuses 16 MiB', async () => {
    await h.create({
      metadata: { name: 'shared' },
      spec: {
        automountServiceAccountToken: false,
        containers: [
          { name: 'writer', image, command: ['sh', '-c', 'echo from-writer > /data/msg; sleep 3600'], volumeMounts: [{ name: 'scratch', mountPath: '/data' }] },
          {
            name: 'reader',
            image,
            command: ['sh', '-c', 'while [ ! -s /in/msg ]; do sleep 0.1; done; echo "read: $(cat /in/msg)"; sleep 3600'],
            volumeMounts: [{ name: 'scratch', mountPath: '/in' }],
          },
        ],
        volumes: [{ name: 'scratch', emptyDir: {} }],
      },
    });
    await h.until('shared', 'Running', running);
    let out = '';
    await eventually('reader saw the file', async () => (out = await h.logs(['shared', '-c', 'reader'])).includes('read:'), 15_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(out)}`);
    });
    assert.equal(out, 'read: from-writer\n');
    await h.deleteAndWait('shared');

    const script = [
      'busybox grep " /mem " /proc/mounts',
      'busybox dd if=/dev/zero of=/mem/small bs=1M count=4 2>/dev/null && echo small-ok',
      'busybox rm -f /mem/small',
      'if busybox dd if=/dev/zero of=/mem/big bs=1M count=16 2>/dev/null; then echo big-ok; else echo big-failed; fi',
      'echo "kib $(busybox du -k /mem/big | busybox cut -f1)"',
    ].join('; ');
    const phase = await runToEnd({
      metadata: { name: 'memdir' },
      spec: {
        containers: [{ name: 'c', image, command: ['sh', '-c', script], volumeMounts: [{ name: 'mem', mountPath: '/mem' }] }],
        volumes: [{ name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } }],
      },
    });
    assert.equal(phase, 'Succeeded');
    const lines = (await h.logs(['memdir'])).trim().split('\n');
    assert.match(lines[0] ?? '', /^tmpfs \/mem tmpfs rw\b.*\bsize=8192k\b/, lines.join('\n'));
    assert.equal(lines[1], 'small-ok');
    assert.equal(lines[2], 'big-failed');
    const kib = Number(/^kib (\d+)$/.exec(lines[3] ?? '')?.[1]);
    assert.ok(kib > 0 && kib <= 8192, lines.join('\n'));
    await h.deleteAndWait('memdir');
  });

  test('a local-path claim binds when its pod is scheduled; a second pod with the same claim reads what the first wrote', async () => {
    const claims = new RestClient(h.transport!).resource<PersistentVolumeClaim>({ group: '', version: 'v1', resource: 'persistentvolumeclaims', namespaced: true }, 'default');
    await claims.create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'keep' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } } });
    // no nodeName: the scheduler picks the node and the claim's selected-node, as WaitForFirstConsumer wants
    const podWith = (name: string, script: string): Pod => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        automountServiceAccountToken: false,
        containers: [{ name: 'c', image, command: ['sh', '-c', script], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'keep' } }],
      },
    });
    await h.pods.create(podWith('pv-writer', 'echo kept-across-pods > /data/note; cat /data/note'));
    const first = await h.until('pv-writer', 'finished', succeeded, 40_000);
    assert.equal(first.spec?.nodeName, h.nodeName);
    assert.equal(first.status?.phase, 'Succeeded', JSON.stringify(first.status));
    assert.equal(await h.logs(['pv-writer']), 'kept-across-pods\n');

    const claim = await claims.get('keep');
    assert.equal(claim.spec?.storageClassName, 'local-path');
    assert.equal(claim.status?.phase, 'Bound');
    assert.equal(claim.metadata?.annotations?.['volume.kubernetes.io/selected-node'], h.nodeName);
    const pvName = claim.spec?.volumeName ?? '';
    assert.equal(pvName, `pvc-${claim.metadata?.uid}`);
    const pvPath = (await h.cluster!.kubectlOk(['get', 'pv', pvName, '-o', 'jsonpath={.spec.hostPath.path}'])).stdout;
    assert.equal(readFileSync(`${pvPath}/note`, 'utf8'), 'kept-across-pods\n');

    await h.deleteAndWait('pv-writer');
    await h.pods.create(podWith('pv-reader', 'cat /data/note'));
    const second = await h.until('pv-reader', 'finished', succeeded, 30_000);
    assert.equal(second.status?.phase, 'Succeeded', JSON.stringify(second.status));
    assert.equal(await h.logs(['pv-reader']), 'kept-across-pods\n');
    await h.deleteAndWait('pv-reader');

    // reclaim policy Delete: the claim's deletion releases the volume and the provisioner deletes it (the
    // directory stays: this cluster's provisioner was not told that the harness node is its host)
    await claims.delete('keep');
    await eventually('volume deleted', async () => (await h.cluster!.kubectl(['get', 'pv', pvName])).code !== 0, 20_000);
  });

  test('hostNetwork: the pod IP is the node address and the pod sees the host interfaces', async () => {
    // the node bridge exists once a pod-network pod has run (the emptyDir test's)
    assert.ok(existsSync(`/sys/class/net/${h.bridge}`), `bridge ${h.bridge} not on the host`);
    const phase = await runToEnd({
      metadata: { name: 'onhost' },
      spec: { hostNetwork: true, containers: [{ name: 'c', image, command: ['sh', '-c', 'cat /proc/net/dev; busybox ip -o link'] }] },
    });
    assert.equal(phase, 'Succeeded');
    const pod = await h.pods.get('onhost');
    const node = JSON.parse((await h.cluster!.kubectlOk(['get', 'node', h.nodeName, '-o', 'json'])).stdout) as Node;
    const internal = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    assert.ok(internal, JSON.stringify(node.status?.addresses));
    assert.equal(pod.status?.podIP, internal);
    assert.equal(pod.status?.hostIP, internal);
    assert.deepEqual(pod.status?.podIPs, [{ ip: internal }]);
    const out = await h.logs(['onhost']);
    const devs = new Set([...out.matchAll(/^\s*([^\s:]+):\s+\d/gm)].map((m) => m[1]));
    assert.ok(devs.has('lo'), out);
    assert.ok(devs.has(h.bridge), out);
    assert.match(out, new RegExp(`^\\d+: ${h.bridge}: `, 'm'));
    await h.deleteAndWait('onhost');
  });

  test('securityContext: runAsUser/runAsGroup set the ids; readOnlyRootFilesystem refuses writes to / but an emptyDir stays writable', async () => {
    const script = [
      'echo "uid=$(busybox id -u) gid=$(busybox id -g)"',
      'if msg=$( (echo x > /rootfile) 2>&1); then echo root-writable; else echo "root-readonly: $msg"; fi',
      'if echo x > /scratch/f; then echo scratch-writable; else echo scratch-readonly; fi',
      'busybox stat -c "owner=%u:%g" /scratch/f',
    ].join('; ');
    const phase = await runToEnd({
      metadata: { name: 'locked' },
      spec: {
        securityContext: { runAsUser: 1000, runAsGroup: 3000 },
        containers: [{ name: 'c', image, command: ['sh', '-c', script], securityContext: { readOnlyRootFilesystem: true }, volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
        volumes: [{ name: 'scratch', emptyDir: {} }],
      },
    });
    assert.equal(phase, 'Succeeded');
    assert.equal(await h.logs(['locked']), "uid=1000 gid=3000\nroot-readonly: sh: can't create /rootfile: Read-only file system\nscratch-writable\nowner=1000:3000\n");
    await h.deleteAndWait('locked');

    // the container's own runAsUser wins over the pod's; without readOnlyRootFilesystem / is writable (as root)
    assert.equal(
      await runToEnd({
        metadata: { name: 'override' },
        spec: {
          securityContext: { runAsUser: 1000, runAsGroup: 3000 },
          containers: [{ name: 'c', image, command: ['sh', '-c', 'echo "uid=$(busybox id -u) gid=$(busybox id -g)"; echo x > /rootfile && echo root-writable'], securityContext: { runAsUser: 0 } }],
        },
      }),
      'Succeeded',
    );
    assert.equal(await h.logs(['override']), 'uid=0 gid=3000\nroot-writable\n');
    await h.deleteAndWait('override');
  });
});
