// Real containers through crun and runc (each one that is installed): logs, exit codes,
// securityContext, cgroup limits, graceful stop and cleanup. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Container } from 'kubernetes-types/core/v1.js';
import {
  buildOCISpec,
  cleanupRootfs,
  containerCgroupPath,
  detectRuntime,
  existingCgroupDirs,
  podCgroupPath,
  prepareRootfs,
  removeCgroup,
  stopContainer,
  type ContainerState,
  type OCIRuntime,
} from '../../src/node/runtime/index.js';
import { hostsFile, resolvConf } from '../../src/node/sandbox/files.js';
import { haveBusyboxStatic, tempBusyboxLayer } from '../helpers/rootfs.js';
import { skipUnless } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const runtimes = (['crun', 'runc'] as const).filter((name) => isRoot && detectRuntime({ preferred: name, stateDir: tmpdir(), isRoot }).ok);
const missing = !isRoot
  ? 'not root (real containers need root)'
  : !haveBusyboxStatic()
    ? 'busybox-static not installed (scripts/setup.sh installs it)'
    : runtimes.length === 0
      ? 'neither crun nor runc is installed (scripts/setup.sh installs them)'
      : '';

test('a real OCI runtime is available for the runtime tests', skipUnless(missing === '', missing), () => {
  assert.ok(runtimes.length > 0);
});

for (const runtimeName of runtimes) {
  describe(`OCI runtime: ${runtimeName}`, skipUnless(missing === '', missing), () => {
    let tmp = '';
    let layer = '';
    let removeLayer = () => {};
    let runtime: OCIRuntime;
    const cgroupParent = `/timonel-test-${process.pid}-${runtimeName}`;
    const podUID = 'pod-under-test';
    const containerDirs: string[] = [];
    const ids: string[] = [];
    const pids: number[] = [];
    let seq = 0;

    before(() => {
      tmp = mkdtempSync(join(tmpdir(), `timonel-runtime-${runtimeName}-`));
      const l = tempBusyboxLayer();
      layer = l.layer;
      removeLayer = l.remove;
      const d = detectRuntime({ preferred: runtimeName, stateDir: join(tmp, 'state') });
      assert.ok(d.ok, d.ok ? '' : d.reason);
      runtime = d.runtime;
      const sandboxDir = join(tmp, 'sandbox');
      mkdirSync(sandboxDir);
      writeFileSync(join(sandboxDir, 'hosts'), hostsFile({ ip: '10.199.250.2', hostname: 'test-pod' }));
      writeFileSync(join(sandboxDir, 'resolv.conf'), resolvConf({ nameservers: ['10.96.0.10'], searches: ['default.svc.cluster.local'] }));
      writeFileSync(join(sandboxDir, 'hostname'), 'test-pod\n');
    });

    after(async () => {
      for (const id of ids) await runtime.delete(id, { force: true }).catch(() => {});
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone, as expected
        }
      }
      for (const dir of containerDirs) await cleanupRootfs(dir).catch(() => {});
      removeCgroup(cgroupParent);
      rmSync(tmp, { recursive: true, force: true });
      removeLayer();
    });

    /** Creates and starts a container from the busybox layer; resolves once it runs. */
    async function startContainer(container: Container): Promise<{ id: string; logPath: string; cgroupsPath: string; pid: number }> {
      const id = `tmt-${process.pid}-${runtimeName}-${++seq}`;
      const dir = join(tmp, 'containers', id);
      mkdirSync(dir, { recursive: true });
      containerDirs.push(dir);
      const { rootfs } = await prepareRootfs([layer], dir);
      const cgroupsPath = containerCgroupPath(cgroupParent, podUID, id);
      const spec = buildOCISpec({
        container,
        rootfs,
        sandbox: { hostNetwork: false, hostname: 'test-pod', dir: join(tmp, 'sandbox') },
        cgroupsPath,
        pidsLimit: 64,
      });
      writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
      const logPath = join(dir, 'container.log');
      ids.push(id);
      await runtime.create(id, dir, { pidFile: join(dir, 'pid'), logPath });
      assert.equal((await runtime.state(id))?.status, 'created');
      await runtime.start(id);
      // A short-lived container may already have stopped: its PID is in the pid file.
      const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      assert.ok(pid > 0, `no pid for ${id}`);
      pids.push(pid);
      const state = await runtime.state(id);
      assert.ok(state?.status === 'stopped' || state?.pid === pid, `state: ${JSON.stringify(state)}`);
      return { id, logPath, cgroupsPath, pid };
    }

    async function runToCompletion(container: Container): Promise<{ state: ContainerState; log: string }> {
      const { id, logPath } = await startContainer(container);
      const state = await runtime.wait(id);
      assert.ok(state);
      assert.equal(state.status, 'stopped');
      return { state, log: readFileSync(logPath, 'utf8') };
    }

    test('stdout and stderr go to the log file in the CRI format; the exit code is reported', async () => {
      const { state, log } = await runToCompletion({
        name: 'printer',
        image: 'busybox',
        command: ['sh', '-c'],
        args: ['echo "GREETING=$GREETING"; id; cat /etc/hostname; touch /written && echo wrote; echo oops >&2; exit 3'],
        env: [{ name: 'GREETING', value: 'hello $(WHO)' }, { name: 'WHO', value: 'world' }],
      });
      assert.equal(state.exitCode, 3);
      assert.equal(state.reason, 'Error');
      const lines = log.trimEnd().split('\n');
      const cri = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) (F|P) (.*)$/;
      for (const l of lines) assert.match(l, cri);
      const stdout = lines.filter((l) => l.includes(' stdout F ')).map((l) => cri.exec(l)![4]);
      assert.deepEqual(stdout, ['GREETING=hello $(WHO)', 'uid=0(root) gid=0(root)', 'test-pod', 'wrote']);
      assert.ok(lines.some((l) => / stderr F oops$/.test(l)), log);
    });

    test('an exit code of 0 is Completed; $(VAR) in args expands from the env', async () => {
      const { state, log } = await runToCompletion({
        name: 'ok',
        image: 'busybox',
        command: ['echo'],
        args: ['$(WHO)', '$$(WHO)'],
        env: [{ name: 'WHO', value: 'world' }],
      });
      assert.equal(state.exitCode, 0);
      assert.equal(state.reason, 'Completed');
      assert.match(log, / stdout F world \$\(WHO\)\n$/);
    });

    test('readOnlyRootFilesystem is enforced', async () => {
      const { state, log } = await runToCompletion({
        name: 'ro',
        image: 'busybox',
        command: ['sh', '-c', 'touch /forbidden'],
        securityContext: { readOnlyRootFilesystem: true },
      });
      assert.notEqual(state.exitCode, 0);
      assert.match(log, /Read-only file system/);
    });

    test('runAsUser and runAsGroup show in id; capabilities are filtered', async () => {
      const { state, log } = await runToCompletion({
        name: 'user',
        image: 'busybox',
        command: ['sh', '-c', 'id; grep CapBnd /proc/self/status'],
        securityContext: { runAsUser: 1000, runAsGroup: 1000, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE', 'SYS_RESOURCE'] } },
      });
      assert.equal(state.exitCode, 0, log);
      assert.match(log, / stdout F uid=1000\(app\) gid=1000\(app\)/);
      // CAP_NET_BIND_SERVICE is bit 10; SYS_RESOURCE is asked for but the host (root without it) may not allow it.
      const bnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(log)![1]}`);
      assert.equal(bnd & (1n << 10n), 1n << 10n);
      assert.equal(bnd & ~((1n << 10n) | (1n << 24n)), 0n);
    });

    test('a memory limit of 16Mi and allocating more is OOMKilled', async () => {
      const { state } = await runToCompletion({
        name: 'hog',
        image: 'busybox',
        command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'],
        resources: { limits: { memory: '16Mi', cpu: '500m' } },
      });
      assert.equal(state.exitCode, 137);
      assert.equal(state.reason, 'OOMKilled');
    });

    test('cgroup limits are set from requests and limits', async () => {
      const { id, cgroupsPath } = await startContainer({
        name: 'limited',
        image: 'busybox',
        command: ['sleep', '1000'],
        resources: { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '32Mi' } },
      });
      const read = (ctl: string, file: string) => readFileSync(join('/sys/fs/cgroup', ctl, cgroupsPath, file), 'utf8').trim();
      assert.equal(read('memory', 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
      assert.equal(read('cpu', 'cpu.shares'), '256');
      assert.equal(read('cpu', 'cpu.cfs_quota_us'), '50000');
      assert.equal(read('pids', 'pids.max'), '64');
      await runtime.delete(id, { force: true });
      assert.equal((await runtime.state(id)), undefined);
    });

    test('a PID 1 that ignores SIGTERM is stopped by SIGKILL after the grace period', async () => {
      const { id, pid } = await startContainer({ name: 'stubborn', image: 'busybox', command: ['sleep', '1000'] });
      const t0 = Date.now();
      const state = await stopContainer(runtime, id, 1);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 900, `stopped after ${elapsed} ms, before the grace period`);
      assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
      assert.equal(state?.exitCode, 137);
      assert.equal(state?.reason, 'Error', 'our own SIGKILL is not an OOM kill');
      assert.throws(() => process.kill(pid, 0), /ESRCH/);
    });

    test('a container that exits on SIGTERM stops before the grace period ends', async () => {
      const { id } = await startContainer({
        name: 'polite',
        image: 'busybox',
        command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.05; done'],
      });
      const t0 = Date.now();
      const state = await stopContainer(runtime, id, 30);
      assert.ok(Date.now() - t0 < 5000);
      assert.equal(state?.exitCode, 0);
    });

    test('cleanup leaves no mounts, cgroups or processes', async () => {
      const { id, pid } = await startContainer({ name: 'victim', image: 'busybox', command: ['sleep', '1000'] });
      assert.ok(existingCgroupDirs(podCgroupPath(cgroupParent, podUID)).length > 0);
      for (const c of await runtime.list()) if (c.status === 'running') await runtime.delete(c.id, { force: true });
      for (const c of await runtime.list()) await runtime.delete(c.id);
      assert.deepEqual(await runtime.list(), []);
      for (const dir of containerDirs) await cleanupRootfs(dir);
      assert.ok(removeCgroup(cgroupParent), 'cgroup dirs still busy');
      assert.deepEqual(existingCgroupDirs(cgroupParent), []);
      const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
      assert.ok(!mountinfo.includes(tmp), `mounts left under ${tmp}:\n${mountinfo.split('\n').filter((l) => l.includes(tmp)).join('\n')}`);
      for (const p of [pid, ...pids]) assert.throws(() => process.kill(p, 0), /ESRCH/, `process ${p} still exists`);
      assert.equal(await runtime.state(id), undefined);
    });
  });
}
