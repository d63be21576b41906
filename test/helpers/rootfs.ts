// A root filesystem for test containers: Debian's busybox-static (one static binary) plus its
// applet links and the dirs a container needs. Built once per process into a temp dir.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';

/** Whether /bin/busybox is the static build (a dynamic one would not run inside an empty rootfs). */
export function haveBusyboxStatic(): boolean {
  if (!existsSync(BUSYBOX)) return false;
  try {
    execFileSync('ldd', [BUSYBOX], { stdio: 'pipe' });
    return false;
  } catch {
    return true; // ldd fails on a static binary ("not a dynamic executable")
  }
}

/** Builds a busybox rootfs at `dir` (created); returns `dir`. */
export function buildBusyboxRootfs(dir: string): string {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'var/www', 'root']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  execFileSync('chmod', ['755', join(dir, 'bin/busybox')]);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox' && !existsSync(join(dir, 'bin', a))) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1000:app:/tmp:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n');
  execFileSync('chmod', ['1777', join(dir, 'tmp')]);
  return dir;
}

/** A fresh temp dir holding a busybox rootfs (one image layer); remove it with rmSync when done. */
export function tempBusyboxLayer(): { dir: string; layer: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'timonel-rootfs-'));
  const layer = buildBusyboxRootfs(join(dir, 'layer'));
  return { dir, layer, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
