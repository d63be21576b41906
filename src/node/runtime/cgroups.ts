// cgroup v1 paths of pods and containers, and their removal. A container's cgroup is
// `<parent>/pod<uid>/<container id>` in every v1 hierarchy; the runtime creates and removes the
// container level, the agent removes the pod level when the pod goes.
import { readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export function podCgroupPath(parent: string, podUID: string): string {
  return `${parent.replace(/\/$/, '')}/pod${podUID}`;
}

export function containerCgroupPath(parent: string, podUID: string, containerID: string): string {
  return `${podCgroupPath(parent, podUID)}/${containerID}`;
}

/** The v1 hierarchies mounted under /sys/fs/cgroup (dirs such as memory, cpu, pids…). */
export function cgroupHierarchies(): string[] {
  const dirs = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post?.startsWith('cgroup ')) continue;
    const mountPoint = pre.split(' ')[4];
    if (mountPoint?.startsWith(`${CGROUP_ROOT}/`)) dirs.add(mountPoint);
  }
  return [...dirs];
}

/** Every existing directory of cgroup `path` (and below it) across the hierarchies. */
export function existingCgroupDirs(path: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    found.push(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const h of cgroupHierarchies()) {
    const dir = join(h, path);
    try {
      if (statSync(dir).isDirectory()) walk(dir);
    } catch {
      // absent in this hierarchy
    }
  }
  return found;
}

/** Removes cgroup `path` and its children in every hierarchy; false when some dir is still busy. */
export function removeCgroup(path: string): boolean {
  let ok = true;
  for (const dir of existingCgroupDirs(path).reverse()) {
    try {
      rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
    }
  }
  return ok;
}
