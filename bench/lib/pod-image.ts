// The image of the pod benchmarks: Debian's static busybox (sh, sleep, httpd) in one layer, built with
// umoci and saved with skopeo as a docker-archive tar that both `timonel image import` and
// `ctr image import` load. Nothing is downloaded.
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

const BUSYBOX = '/bin/busybox';
/** the name both runtimes know the image by once imported */
export const POD_IMAGE = 'docker.io/bench/busybox:1';

function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** Why the image cannot be built here, or undefined. */
export function podImageMissing(): string | undefined {
  const missing: string[] = [];
  // ldd fails on a static binary: a dynamic busybox would not run in a root holding nothing else
  if (!existsSync(BUSYBOX) || spawnSync('ldd', [BUSYBOX], { stdio: 'ignore' }).status === 0) missing.push('a static /bin/busybox (busybox-static)');
  for (const p of ['umoci', 'skopeo']) if (!onPath(p)) missing.push(p);
  return missing.length ? `missing ${missing.join(', ')}` : undefined;
}

function must(file: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60_000 }, (err, _stdout, stderr) => (err ? reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

/** Builds the image under `workDir`; returns the path of its docker-archive tar. */
export async function buildPodImage(workDir: string): Promise<string> {
  const root = join(workDir, 'rootfs');
  for (const d of ['bin', 'tmp', 'www']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  for (const applet of ['sh', 'sleep', 'httpd']) symlinkSync('busybox', join(root, 'bin', applet));
  const layout = join(workDir, 'oci');
  const image = `${layout}:base`;
  await must('chmod', ['755', join(root, 'bin', 'busybox')]);
  await must('umoci', ['init', '--layout', layout]);
  await must('umoci', ['new', '--image', image]);
  await must('umoci', ['insert', '--image', image, root, '/']);
  await must('umoci', ['config', '--image', image, '--config.cmd', '/bin/sh', '--config.env', 'PATH=/bin', '--config.workingdir', '/']);
  const archive = join(workDir, 'image.tar');
  await must('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${image}`, `docker-archive:${archive}:${POD_IMAGE.slice('docker.io/'.length)}`]);
  return archive;
}
