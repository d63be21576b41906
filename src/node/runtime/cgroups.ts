// cgroup paths of pods and containers, and their removal. A container's cgroup is
// `<parent>/pod<uid>/<container id>` in every hierarchy the runtime uses: each v1 controller, the
// cgroup2 mount of a hybrid layout (/sys/fs/cgroup/unified) and, on pure cgroup v2, /sys/fs/cgroup
// itself. The runtime creates and removes the container level, the agent removes the pod level
// when the pod goes.
import { readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export function podCgroupPath(parent: string, podUID: string): string {
  return `${parent.replace(/\/$/, '')}/pod${podUID}`;
}

export function containerCgroupPath(parent: string, podUID: string, containerID: string): string {
  return `${podCgroupPath(parent, podUID)}/${containerID}`;
}

/** The mount points of cgroup v1 hierarchies and cgroup2 at or under /sys/fs/cgroup. */
export function cgroupHierarchies(): string[] {
  const dirs = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    const fsType = post?.split(' ')[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const mountPoint = pre.split(' ')[4];
    if (mountPoint === CGROUP_ROOT || mountPoint?.startsWith(`${CGROUP_ROOT}/`)) dirs.add(mountPoint);
  }
  return [...dirs];
}

/** Every existing directory of cgroup `path` (and below it) across the hierarchies, parents first. */
export function existingCgroupDirs(path: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    found.push(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  const relative = posix.normalize(`/${path}`).replace(/\/+$/, '');
  // '' would be each hierarchy's root: the whole machine
  if (relative === '') return found;
  for (const h of cgroupHierarchies()) {
    const dir = `${h}${relative}`;
    try {
      if (statSync(dir).isDirectory()) walk(dir);
    } catch {
      // absent in this hierarchy
    }
  }
  return found;
}

/** PIDs in cgroup directory `dir` itself (not its children). */
function cgroupProcs(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Kills with SIGKILL what still runs in `dirs` (thawing them first); true when some process was signalled. */
function killCgroupProcesses(dirs: string[]): boolean {
  let signalled = false;
  for (const dir of dirs) {
    const pids = cgroupProcs(dir).filter((pid) => pid !== process.pid && pid > 1);
    if (pids.length === 0) continue;
    // a frozen process does not die of SIGKILL until thawed
    for (const [file, value] of [['freezer.state', 'THAWED'], ['cgroup.freeze', '0']]) {
      try {
        writeFileSync(join(dir, file), value);
      } catch {
        // not a freezer hierarchy
      }
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        signalled = true;
      } catch {
        // already gone
      }
    }
  }
  return signalled;
}

function rmdirDeepestFirst(dirs: string[]): string[] {
  const busy: string[] = [];
  for (const dir of [...dirs].reverse()) {
    try {
      rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') busy.push(dir);
    }
  }
  return busy;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Removes cgroup `path` and everything below it in every hierarchy, deepest first. Processes still in
 * those cgroups are the pod's own (escaped or left by a runtime): they are killed, as the kubelet
 * does before removing a pod's cgroup. False when some directory is still busy.
 */
export function removeCgroup(path: string): boolean {
  const dirs = existingCgroupDirs(path);
  if (dirs.length === 0) return true;
  let busy = rmdirDeepestFirst(dirs);
  // only a pod's own cgroup (`<parent>/pod<uid>` or deeper) has processes worth killing, never a parent
  const depth = posix.normalize(`/${path}`).split('/').filter(Boolean).length;
  if (busy.length === 0 || depth < 2 || !killCgroupProcesses(existingCgroupDirs(path))) return busy.length === 0;
  // killed processes leave their cgroups as the kernel finishes their exit
  for (let i = 0; i < 50 && busy.length > 0; i++) {
    Atomics.wait(pause, 0, 0, 10);
    busy = rmdirDeepestFirst(existingCgroupDirs(path));
  }
  return busy.length === 0;
}
