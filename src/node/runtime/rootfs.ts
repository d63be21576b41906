// A container's root filesystem: overlayfs with the image's unpacked layers read-only below and
// one writable upper dir per container.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PreparedRootfs {
  /** the merged dir: the bundle's `root.path` */
  rootfs: string;
  upperDir: string;
  workDir: string;
}

/** Whether `path` is a mount point (per /proc/self/mountinfo). */
export function isMountPoint(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => unescapeMountPath(l.split(' ')[4] ?? '') === path);
}

const unescapeMountPath = (p: string) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * Mounts `<containerDir>/rootfs` as overlayfs over `lowerDirs` (image layers in manifest order,
 * base first) with `<containerDir>/upper` and `<containerDir>/work`. Idempotent.
 */
export async function prepareRootfs(lowerDirs: readonly string[], containerDir: string): Promise<PreparedRootfs> {
  if (lowerDirs.length === 0) throw new Error('prepareRootfs: an image has at least one layer');
  const rootfs = join(containerDir, 'rootfs');
  const upperDir = join(containerDir, 'upper');
  const workDir = join(containerDir, 'work');
  for (const d of [rootfs, upperDir, workDir]) mkdirSync(d, { recursive: true, mode: 0o755 });
  if (isMountPoint(rootfs)) return { rootfs, upperDir, workDir };
  // overlayfs lists the topmost layer first.
  const lower = [...lowerDirs].reverse().join(':');
  const options = `lowerdir=${lower},upperdir=${upperDir},workdir=${workDir}`;
  await run('mount', ['-t', 'overlay', 'overlay', '-o', options, rootfs]);
  return { rootfs, upperDir, workDir };
}

/** Unmounts the overlay (lazily if it is still busy) and removes the container's upper, work and rootfs dirs. */
export async function cleanupRootfs(containerDir: string): Promise<void> {
  const rootfs = join(containerDir, 'rootfs');
  if (isMountPoint(rootfs)) {
    try {
      await run('umount', [rootfs]);
    } catch {
      await run('umount', ['-l', rootfs]);
    }
  }
  for (const d of ['rootfs', 'upper', 'work']) rmSync(join(containerDir, d), { recursive: true, force: true });
}
