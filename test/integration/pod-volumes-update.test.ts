// configMap, secret and downwardAPI volumes of a running pod follow their sources (the kubelet's
// atomic writer layout); a subPath mount keeps the old content; a missing non-optional source holds
// the pod in ContainerCreating with FailedMount until it appears; an optional one gives an empty dir.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnless } from '../helpers/skip.js';
import { LocalNodeHarness, realPodsMissing, TEST_IMAGE as image } from './pod-harness.js';
import { eventually } from './support.js';

const missing = realPodsMissing();

describe('volume updates reach running pods', skipUnless(missing === '', missing), () => {
  const h = new LocalNodeHarness('vu', 194);
  before(() => h.start());
  after(() => h.close());

  let seen = '';
  const lastLine = async (pod: string) => (seen = (await h.logs([pod, '--tail=1'])).trim());
  const untilLine = (what: string, want: string) => eventually(what, async () => (await lastLine('watcher')) === want, 10_000).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}: last line ${JSON.stringify(seen)}`);
  });

  test('configMap, secret and downwardAPI files change in place; subPath does not', async () => {
    await h.cluster!.kubectlOk(['create', 'configmap', 'colors', '--from-literal=color=blue']);
    await h.cluster!.kubectlOk(['create', 'secret', 'generic', 'pw', '--from-literal=password=one']);
    const loop = 'while true; do echo "$(cat /cfg/color) $(cat /pinned) $(cat /sec/password) $(cat /info/labels | tr "\\n" ,) [$(ls /opt)]"; sleep 0.2; done';
    const pod = await h.create({
      metadata: { name: 'watcher', labels: { tier: 'a' } },
      spec: {
        containers: [
          {
            name: 'w',
            image,
            command: ['sh', '-c', loop],
            volumeMounts: [
              { name: 'cfg', mountPath: '/cfg' },
              { name: 'cfg', mountPath: '/pinned', subPath: 'color' },
              { name: 'sec', mountPath: '/sec' },
              { name: 'info', mountPath: '/info' },
              { name: 'opt', mountPath: '/opt' },
            ],
          },
        ],
        volumes: [
          { name: 'cfg', configMap: { name: 'colors' } },
          { name: 'sec', secret: { secretName: 'pw' } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          { name: 'opt', configMap: { name: 'not-there', optional: true } },
        ],
      },
    });
    await h.until('watcher', 'Running', (p) => p.status?.containerStatuses?.[0]?.state?.running !== undefined);
    await untilLine('first content', 'blue blue one tier="a" []');

    const dir = join(h.stateDir, 'pods', pod.metadata!.uid!, 'volumes', 'configmap', 'cfg');
    const data = readlinkSync(join(dir, '..data'));
    assert.match(data, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    assert.equal(readlinkSync(join(dir, 'color')), '..data/color');

    const t0 = Date.now();
    await h.cluster!.kubectlOk(['patch', 'configmap', 'colors', '-p', '{"data":{"color":"red"}}']);
    await h.cluster!.kubectlOk(['patch', 'secret', 'pw', '-p', `{"data":{"password":"${Buffer.from('two').toString('base64')}"}}`]);
    await h.cluster!.kubectlOk(['label', 'pod', 'watcher', 'tier=b', '--overwrite']);
    await untilLine('updated content', 'red blue two tier="b" []');
    assert.ok(Date.now() - t0 < 8000, 'updates arrive within seconds');
    assert.notEqual(readlinkSync(join(dir, '..data')), data, '..data points at a new payload dir');
    assert.deepEqual(readdirSync(dir).filter((e) => e.startsWith('..') && lstatSync(join(dir, e)).isDirectory()).length, 1, 'the old payload dir is gone');
    assert.equal((await h.pods.get('watcher')).status?.containerStatuses?.[0]?.restartCount, 0);
    await h.deleteAndWait('watcher');
  });

  test('a missing non-optional configMap holds the pod in ContainerCreating with FailedMount until it exists', async () => {
    await h.create({ metadata: { name: 'waiter' }, spec: { containers: [{ name: 'w', image, command: ['sleep', '3600'], volumeMounts: [{ name: 'c', mountPath: '/c' }] }], volumes: [{ name: 'c', configMap: { name: 'late' } }] } });
    await eventually('FailedMount event', async () => (await h.eventReasons('waiter')).some((e) => e.startsWith('FailedMount:') && e.includes('configmap "late" not found')), 15_000);
    const p = await h.pods.get('waiter');
    assert.equal(p.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'ContainerCreating');
    await h.cluster!.kubectlOk(['create', 'configmap', 'late', '--from-literal=k=v']);
    await h.until('waiter', 'Running once the configMap exists', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined, 20_000);
    await h.deleteAndWait('waiter');
  });
});
