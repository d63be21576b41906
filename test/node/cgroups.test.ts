// Pod cgroup removal across every cgroup hierarchy of the machine: v1 controllers, the cgroup2
// mount of a hybrid layout (/sys/fs/cgroup/unified) and pure cgroup v2. Needs root.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildOCISpec,
  cgroupHierarchies,
  cleanupRootfs,
  containerCgroupPath,
  detectRuntime,
  existingCgroupDirs,
  podCgroupPath,
  prepareRootfs,
  removeCgroup,
} from '../../src/node/runtime/index.js';
import { haveBusyboxStatic, tempBusyboxLayer } from '../helpers/rootfs.js';
import { skipUnless } from '../helpers/skip.js';

/** cgroup mount points as util-linux sees them, independently of the code under test. */
function mountedHierarchies(): string[] {
  return execFileSync('findmnt', ['-rn', '-t', 'cgroup,cgroup2', '-o', 'TARGET'], { encoding: 'utf8' })
    .split('\n')
    .filter((m) => m === '/sys/fs/cgroup' || m.startsWith('/sys/fs/cgroup/'));
}

function cgroupsWritable(): string {
  if (process.getuid?.() !== 0) return 'not root (creating cgroups needs root)';
  const hierarchies = mountedHierarchies();
  if (hierarchies.length === 0) return 'no cgroup hierarchy mounted under /sys/fs/cgroup';
  const probe = join(hierarchies[0], `timonel-test-cg-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
    return '';
  } catch (err) {
    return `cgroups not writable: ${(err as Error).message}`;
  }
}

const missing = cgroupsWritable();

/** Leftovers of cgroup `path`: its directory in each hierarchy where it exists. */
const leftovers = (path: string) => mountedHierarchies().map((h) => join(h, path)).filter((d) => existsSync(d));

/** Makes `path` in a hierarchy the way runtimes do: each level created, cpuset levels given their parent's cpus and mems. */
function makeCgroup(hierarchy: string, path: string): string {
  let dir = hierarchy;
  for (const part of path.split('/').filter(Boolean)) {
    const parent = dir;
    dir = join(dir, part);
    if (!existsSync(dir)) mkdirSync(dir);
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(join(dir, f)) && readFileSync(join(dir, f), 'utf8').trim() === '') writeFileSync(join(dir, f), readFileSync(join(parent, f), 'utf8').trim());
    }
  }
  return dir;
}

describe('removing pod cgroups', skipUnless(missing === '', missing), () => {
  const parent = `/timonel-test-cg-${process.pid}`;
  const children: ChildProcess[] = [];

  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    removeCgroup(parent);
  });

  test('cgroupHierarchies lists every cgroup v1 and cgroup2 mount under /sys/fs/cgroup', () => {
    assert.deepEqual([...cgroupHierarchies()].sort(), [...mountedHierarchies()].sort());
  });

  test('a pod cgroup with container levels and a leftover process goes from every hierarchy', async () => {
    const pod = podCgroupPath(parent, 'aaaa-1111');
    const containers = [containerCgroupPath(parent, 'aaaa-1111', 'c1'), containerCgroupPath(parent, 'aaaa-1111', 'c2')];
    const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
    children.push(sleeper);
    const died = new Promise<NodeJS.Signals | null>((resolve) => sleeper.on('exit', (_code, signal) => resolve(signal)));
    const hierarchies = mountedHierarchies();
    for (const h of hierarchies) {
      for (const c of containers) makeCgroup(h, c);
      writeFileSync(join(h, containers[0], 'cgroup.procs'), String(sleeper.pid));
    }
    assert.equal(leftovers(containers[1]).length, hierarchies.length);
    assert.ok(removeCgroup(pod), `busy: ${leftovers(pod).join(', ')}`);
    assert.deepEqual(leftovers(pod), []);
    assert.equal(await died, 'SIGKILL');
    assert.equal(leftovers(parent).length, hierarchies.length, 'the parent is not the pod’s to remove');
    assert.ok(removeCgroup(parent));
    assert.deepEqual(leftovers(parent), []);
  });

  test('a process outside the pod cgroup is left alone', async () => {
    const outsider = spawn('sleep', ['1000'], { stdio: 'ignore' });
    children.push(outsider);
    const pod = podCgroupPath(parent, 'bbbb-2222');
    for (const h of mountedHierarchies()) {
      makeCgroup(h, containerCgroupPath(parent, 'bbbb-2222', 'c1'));
      writeFileSync(join(h, parent, 'cgroup.procs'), String(outsider.pid));
    }
    assert.ok(removeCgroup(pod));
    assert.deepEqual(leftovers(pod), []);
    assert.doesNotThrow(() => process.kill(outsider.pid!, 0), 'a process in the parent cgroup was killed');
    // a parent (not a pod's own cgroup) with a process in it stays, and so does the process
    assert.equal(removeCgroup(parent), false);
    assert.doesNotThrow(() => process.kill(outsider.pid!, 0), 'removing the parent killed a process');
    outsider.kill('SIGKILL');
    await new Promise((r) => outsider.on('exit', r));
    assert.ok(removeCgroup(parent));
    assert.deepEqual(leftovers(parent), []);
  });

  test('paths that name a hierarchy root find nothing to remove', () => {
    for (const p of ['/', '', '//', '/..', 'x/../..', '/a/../']) assert.deepEqual(existingCgroupDirs(p), [], JSON.stringify(p));
  });

  const runtime = missing === '' ? detectRuntime({ stateDir: join(tmpdir(), `timonel-cg-state-${process.pid}`), preferred: 'crun' }) : undefined;
  const crunMissing = !haveBusyboxStatic() ? 'busybox-static not installed' : runtime?.ok ? '' : 'crun not installed';
  test('a container crun ran in a pod cgroup leaves no directory in any hierarchy', skipUnless(crunMissing === '', crunMissing), async () => {
    assert.ok(runtime?.ok);
    const tmp = mkdtempSync(join(tmpdir(), 'timonel-cgroups-'));
    const layer = tempBusyboxLayer();
    const id = `tmt-cg-${process.pid}`;
    const bundle = join(tmp, id);
    const pod = podCgroupPath(parent, 'cccc-3333');
    try {
      mkdirSync(join(tmp, 'sandbox'), { recursive: true });
      for (const f of ['hosts', 'resolv.conf', 'hostname']) writeFileSync(join(tmp, 'sandbox', f), '');
      mkdirSync(bundle);
      const { rootfs } = await prepareRootfs([layer.layer], bundle);
      const spec = buildOCISpec({
        container: { name: 'c', image: 'busybox', command: ['sleep', '1000'] },
        rootfs,
        sandbox: { hostNetwork: false, hostname: 'cg', dir: join(tmp, 'sandbox') },
        cgroupsPath: containerCgroupPath(parent, 'cccc-3333', id),
      });
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      await runtime.runtime.create(id, bundle, { pidFile: join(bundle, 'pid'), logPath: join(bundle, 'log') });
      await runtime.runtime.start(id);
      assert.equal(leftovers(containerCgroupPath(parent, 'cccc-3333', id)).length, cgroupHierarchies().length, 'crun created the container cgroup in every hierarchy');
      await runtime.runtime.delete(id, { force: true });
      assert.ok(removeCgroup(pod), `busy: ${leftovers(pod).join(', ')}`);
      assert.deepEqual(leftovers(pod), []);
    } finally {
      await runtime.runtime.delete(id, { force: true }).catch(() => {});
      await cleanupRootfs(bundle).catch(() => {});
      layer.remove();
      rmSync(tmp, { recursive: true, force: true });
      rmSync(join(tmpdir(), `timonel-cg-state-${process.pid}`), { recursive: true, force: true });
    }
  });
});
