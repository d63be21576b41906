// Which OCI runtime this node can use: crun, else runc, else none with a one-line reason
// (`timonel up` prints it and does not register the node).
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CLIRuntime } from './oci.js';

export type RuntimeDetection =
  | { ok: true; name: 'crun' | 'runc'; binary: string; runtime: CLIRuntime }
  | { ok: false; reason: string };

const SEARCH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The absolute path of an executable named `name` on PATH (or the usual sbin/bin dirs). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SEARCH_DIRS];
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface DetectOptions {
  /** `crun` or `runc` (from a flag); only that one is tried */
  preferred?: 'crun' | 'runc';
  /** the agent's state dir; each runtime keeps its containers under `<stateDir>/<name>` */
  stateDir: string;
  /** tests: pretend to be (or not be) root */
  isRoot?: boolean;
}

export function detectRuntime(opts: DetectOptions): RuntimeDetection {
  const isRoot = opts.isRoot ?? process.getuid?.() === 0;
  if (!isRoot) return { ok: false, reason: 'running pods needs root (the node agent runs as uid ' + String(process.getuid?.()) + ')' };
  const candidates: Array<'crun' | 'runc'> = opts.preferred ? [opts.preferred] : ['crun', 'runc'];
  for (const name of candidates) {
    const binary = findExecutable(name);
    if (!binary) continue;
    if (name === 'crun') ensureHugetlbMount();
    return { ok: true, name, binary, runtime: new CLIRuntime(name, binary, join(opts.stateDir, name)) };
  }
  const missing = candidates.join(' or ');
  return { ok: false, reason: `no OCI runtime: ${missing} not found (install the Debian package ${candidates[0]})` };
}

const HUGETLB_DIR = '/sys/fs/cgroup/hugetlb';

/**
 * On hybrid cgroups (v1 controllers, cgroup2 holding only hugetlb) crun refuses to run unless
 * hugetlb is also mounted as a v1 hierarchy. Idempotent; returns what it did.
 */
export function ensureHugetlbMount(): 'mounted' | 'present' | 'not-needed' | 'failed' {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  const lines = mounts.split('\n');
  if (lines.some((l) => l.split(' ')[4] === HUGETLB_DIR)) return 'present';
  const hybrid = lines.some((l) => / - cgroup2 /.test(l)) && lines.some((l) => / - cgroup /.test(l));
  if (!hybrid || !existsSync('/proc/self/cgroup')) return 'not-needed';
  if (!readFileSync('/proc/cgroups', 'utf8').split('\n').some((l) => l.startsWith('hugetlb\t'))) return 'not-needed';
  try {
    mkdirSync(HUGETLB_DIR, { recursive: true });
    execFileSync('mount', ['-t', 'cgroup', '-o', 'hugetlb', 'cgroup', HUGETLB_DIR], { stdio: 'pipe' });
    return 'mounted';
  } catch {
    return 'failed';
  }
}
