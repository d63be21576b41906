// Re-adoption across an agent restart with real containers: output written while no agent ran reaches
// `kubectl logs`, containers that ended while it was down report their exit code and are restarted
// per policy with the right restartCount, and nothing is started twice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { skipUnless } from '../helpers/skip.js';
import { LocalNodeHarness, realPodsMissing, TEST_IMAGE as image } from './pod-harness.js';
import { eventually } from './support.js';

const missing = realPodsMissing();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pods re-adopted across a node agent restart', skipUnless(missing === '', missing), () => {
  const h = new LocalNodeHarness('ra', 195);
  before(() => h.start());
  after(() => h.close());

  test('logs, exit codes and restart counts survive the agent being down', async () => {
    await h.create({ metadata: { name: 'talker' }, spec: { containers: [{ name: 't', image, command: ['sh', '-c', 'echo before; sleep 2; echo while-down; sleep 3600'] }] } });
    await h.create({ metadata: { name: 'quitter' }, spec: { restartPolicy: 'Never', containers: [{ name: 'q', image, command: ['sh', '-c', 'echo quitting; sleep 2; exit 3'] }] } });
    await h.create({ metadata: { name: 'crasher' }, spec: { containers: [{ name: 'c', image, command: ['sh', '-c', 'echo crash-run; sleep 2; exit 4'] }] } });
    const running = (p: import('kubernetes-types/core/v1.js').Pod) => p.status?.containerStatuses?.[0]?.state?.running !== undefined;
    const talker = await h.until('talker', 'Running', running);
    await h.until('quitter', 'Running', running);
    await h.until('crasher', 'Running', running);
    await eventually('talker said before', async () => (await h.logs(['talker'])).includes('before'));

    await h.agent!.stop({ keepContainers: true });
    await sleep(3500);
    h.agent = await h.startAgent();

    await eventually('talker output written while no agent ran shows in kubectl logs', async () => (await h.logs(['talker'])) === 'before\nwhile-down\n', 10_000);
    const t = (await h.pods.get('talker')).status!.containerStatuses![0]!;
    assert.equal(t.containerID, talker.status!.containerStatuses![0]!.containerID);
    assert.equal(t.restartCount, 0);
    assert.ok(t.state?.running);

    const q = await h.until('quitter', 'Failed', (p) => p.status?.phase === 'Failed');
    const qs = q.status!.containerStatuses![0]!;
    assert.equal(qs.state?.terminated?.exitCode, 3);
    assert.equal(qs.state?.terminated?.reason, 'Error');
    assert.equal(qs.restartCount, 0);
    assert.equal(await h.logs(['quitter']), 'quitting\n');

    const c = await h.until('crasher', 'restarted once', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
    const cs = c.status!.containerStatuses![0]!;
    assert.equal(cs.lastState?.terminated?.exitCode, 4);
    assert.equal(await h.logs(['crasher', '--previous']), 'crash-run\n');

    const uid = talker.metadata!.uid!;
    const list = JSON.parse(execFileSync('crun', ['--root', join(h.stateDir, 'runtime', 'crun'), 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') as { id: string }[];
    assert.deepEqual(list.filter((x) => x.id.startsWith(uid)).map((x) => x.id), [`${uid}_t_0`], 'one container for talker');

    for (const name of ['talker', 'quitter', 'crasher']) await h.deleteAndWait(name);
  });
});
