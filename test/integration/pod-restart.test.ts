// `timonel up` with a local node killed with SIGKILL while a pod runs, then started again on the same
// data dir: the container was never stopped (same host PID, restartCount 0), the pod stays Running and
// Ready, `kubectl logs` has the output from before, while down and after, and only one container
// process exists. Uses the default bridge timonel0, cgroup parent /timonel and nftables table `timonel`,
// which are removed afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { ImageStore } from '../../src/node/images/index.js';
import { removeCgroup } from '../../src/node/runtime/index.js';
import { spawnServer, type SpawnedServer } from '../helpers/cluster.js';
import { buildTestImage } from '../helpers/registry.js';
import { skipUnless } from '../helpers/skip.js';
import { realPodsMissing, TEST_IMAGE as image } from './pod-harness.js';
import { eventually } from './support.js';

const linkExists = (name: string) => {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};
const missing = realPodsMissing() || (linkExists('timonel0') ? 'bridge timonel0 exists: another `timonel up` owns the local node network' : '');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ignore = (f: () => unknown) => {
  try {
    f();
  } catch {
    // already gone
  }
};

// a marker in the container's command line, to count its processes on the host
const MARKER = `restart-marker-${process.pid}`;

/** Host PIDs of processes whose command line holds MARKER (the container's sh; not our own). */
function markedProcesses(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmdline.includes(MARKER) && cmdline.startsWith('sh\0')) out.push(Number(d));
  }
  return out;
}

describe('timonel up killed with SIGKILL and started again keeps its pods running', skipUnless(missing === '', missing), () => {
  let work = '';
  let dataDir = '';
  let server: SpawnedServer | undefined;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'timonel-podrestart-'));
    dataDir = join(work, 'data');
    const built = await buildTestImage(join(work, 'build'));
    await new ImageStore(join(dataDir, 'images')).importOCI(built.layout, { name: 'test/busybox' });
  });

  after(async () => {
    if (server) {
      await server.kubectl(['delete', 'pod', 'survivor', '--wait=true', '--timeout=30s']).catch(() => {});
      server.kill('SIGTERM');
      await server.waitExit();
    }
    // `timonel up` leaves containers and rules for its next start: take them down here
    const runtimeRoot = join(dataDir, 'node', 'runtime', 'crun');
    if (existsSync(runtimeRoot)) {
      ignore(() => {
        const list = JSON.parse(execFileSync('crun', ['--root', runtimeRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') as { id: string }[];
        for (const c of list) ignore(() => execFileSync('crun', ['--root', runtimeRoot, 'delete', '-f', c.id], { stdio: 'pipe' }));
      });
    }
    for (const pid of markedProcesses()) ignore(() => process.kill(pid, 'SIGKILL'));
    const sandboxes = join(dataDir, 'node', 'network', 'sandboxes');
    for (const uid of existsSync(sandboxes) ? readdirSync(sandboxes) : []) ignore(() => execFileSync('ip', ['netns', 'delete', `timonel-${uid}`], { stdio: 'pipe' }));
    ignore(() => execFileSync('nft', ['delete', 'table', 'ip', 'timonel'], { stdio: 'pipe' }));
    ignore(() => execFileSync('ip', ['link', 'delete', 'timonel0', 'type', 'bridge'], { stdio: 'pipe' }));
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mp = line.split(' ')[4];
      if (mp && work && mp.startsWith(work)) ignore(() => execFileSync('umount', ['-l', mp], { stdio: 'pipe' }));
    }
    removeCgroup('/timonel');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const start = () => spawnServer(['--data-dir', dataDir], { localNode: true, readyTimeoutMs: 60_000 });
  const getPod = async (): Promise<Pod> => JSON.parse((await server!.kubectlOk(['get', 'pod', 'survivor', '-o', 'json'])).stdout) as Pod;
  const ready = (p: Pod) => p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const counters = (logs: string) => logs.split('\n').filter((l) => l.startsWith('n=')).map((l) => Number(l.slice(2)));

  test('the container is neither stopped nor started twice; logs span the restart', async () => {
    server = await start();
    await eventually('the local node is Ready', async () => {
      const r = await server!.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}']);
      return r.code === 0 && r.stdout === 'True';
    }, 60_000);
    await server.kubectlOk(['apply', '-f', '-'], {
      stdin: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'survivor' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'c',
              image,
              command: ['sh', '-c', `echo start; i=0; while true; do i=$((i+1)); echo n=$i; sleep 0.5; done # ${MARKER}`],
              readinessProbe: { exec: { command: ['sh', '-c', 'exit 0'] }, periodSeconds: 1 },
            },
          ],
        },
      }),
    });
    let before: Pod | undefined;
    await eventually('survivor Running and Ready', async () => ready((before = await getPod())), 60_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(before?.status)}\n${server!.output().slice(-3000)}`);
    });
    const uid = before!.metadata!.uid!;
    const cs = before!.status!.containerStatuses![0]!;
    const pidFile = join(dataDir, 'node', 'pods', uid, 'containers', 'c_0', 'pid');
    const hostPID = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(hostPID > 1);
    assert.deepEqual(markedProcesses(), [hostPID]);
    await eventually('a few lines logged', async () => counters((await server!.kubectlOk(['logs', 'survivor'])).stdout).length >= 3, 10_000);
    const lastBefore = Math.max(...counters((await server.kubectlOk(['logs', 'survivor'])).stdout));

    server.kill('SIGKILL');
    assert.equal((await server.waitExit()).signal, 'SIGKILL');
    await sleep(1500);
    assert.ok(existsSync(`/proc/${hostPID}`), 'the container outlived its agent');

    server = await start();
    let after: Pod | undefined;
    let sawNotReady = false;
    await eventually('the restarted server reports survivor Running and Ready', async () => {
      after = await getPod();
      if (!ready(after)) sawNotReady = true;
      return ready(after) && after.status?.containerStatuses?.[0]?.ready === true && (await server!.kubectl(['logs', 'survivor'])).code === 0;
    }, 60_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(after?.status)}\n${server!.output().slice(-3000)}`);
    });
    const acs = after!.status!.containerStatuses![0]!;
    assert.equal(acs.containerID, cs.containerID);
    assert.equal(acs.restartCount, 0);
    assert.equal(acs.state?.running?.startedAt, cs.state?.running?.startedAt);
    assert.deepEqual(acs.lastState, {});
    assert.equal(after!.metadata!.uid, uid);
    assert.equal(Number(readFileSync(pidFile, 'utf8')), hostPID);
    // Ready never went False (a flip would have moved its lastTransitionTime), as KEP-4781 asks of the kubelet
    assert.equal(sawNotReady, false, 'the pod was seen not Ready after the restart');
    const readySince = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.lastTransitionTime;
    assert.equal(readySince(after!, 'Ready'), readySince(before!, 'Ready'));
    assert.equal(readySince(after!, 'ContainersReady'), readySince(before!, 'ContainersReady'));

    // output from before the kill, while down, and after the new server came up
    const upAt = Date.now();
    let logs = '';
    await eventually('output after the restart', async () => {
      logs = (await server!.kubectlOk(['logs', 'survivor', '--timestamps'])).stdout;
      const last = logs.trim().split('\n').pop() ?? '';
      return Date.parse(last.split(' ')[0]!) > upAt;
    }, 10_000);
    const plain = (await server.kubectlOk(['logs', 'survivor'])).stdout;
    assert.ok(plain.startsWith('start\nn=1\n'), plain.slice(0, 200));
    const n = counters(plain);
    assert.ok(Math.max(...n) > lastBefore + 3, `counter went on: ${lastBefore} → ${Math.max(...n)}`);
    assert.deepEqual(n, n.map((_, i) => i + 1), 'every line once, in order');

    // one container: one runtime record, one process, and no new run dir
    const list = JSON.parse(execFileSync('crun', ['--root', join(dataDir, 'node', 'runtime', 'crun'), 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') as { id: string }[];
    assert.deepEqual(list.map((c) => c.id).filter((id) => id.startsWith(uid)), [`${uid}_c_0`]);
    assert.deepEqual(markedProcesses(), [hostPID]);
    assert.deepEqual(readdirSync(join(dataDir, 'node', 'pods', uid, 'containers')), ['c_0']);
    const events = (await server.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=survivor', '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}'])).stdout.split('\n').filter(Boolean);
    assert.equal(events.filter((r) => r === 'Started').length, 1, events.join(' '));
    assert.equal(events.filter((r) => r === 'Killing').length, 0, events.join(' '));

    await server.kubectlOk(['delete', 'pod', 'survivor', '--wait=true', '--timeout=30s']);
    await eventually('the container process is gone', async () => !existsSync(`/proc/${hostPID}`), 10_000);
    assert.deepEqual(markedProcesses(), []);
    assert.equal(existsSync(join(dataDir, 'node', 'pods', uid)), false);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(uid), 'no mount of the pod is left');
    assert.equal(existsSync(`/run/netns/timonel-${uid}`), false);
  });
});
