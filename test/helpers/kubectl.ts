import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, run, type RunOptions, type RunResult } from './exec.js';

const systemKubectlDir = '/usr/lib/google-cloud-sdk/bin';
const cacheBin = join(repoRoot, '.cache', 'bin');

/**
 * Path of the kubectl binary for a minor version ('1.20', '1.27' … '1.33'), or undefined when absent.
 * 1.27–1.33 come with the machine (google-cloud-sdk); scripts/setup.sh puts 1.20 (and 1.33 when the
 * machine lacks it) in .cache/bin.
 */
export function kubectlPath(version: string): string | undefined {
  const candidates = [join(systemKubectlDir, `kubectl.${version}`), join(cacheBin, `kubectl-${version}`)];
  if (version === '1.20') candidates.shift();
  return candidates.find((p) => existsSync(p));
}

export type KubectlOptions = RunOptions;

let cacheRoot: string | undefined;

/** One discovery cache per kubeconfig (i.e. per test cluster), inside a per-process temp dir. */
function cacheDirFor(kubeconfig: string): string {
  if (cacheRoot === undefined) {
    const root = mkdtempSync(join(tmpdir(), 'timonel-kubectl-cache-'));
    cacheRoot = root;
    process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  const dir = join(cacheRoot, createHash('sha256').update(kubeconfig).digest('hex').slice(0, 16));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs kubectl of the given minor version against `kubeconfig` with a private discovery cache. Resolves with any exit code. */
export async function kubectl(
  version: string,
  kubeconfig: string,
  args: readonly string[],
  opts: KubectlOptions = {},
): Promise<RunResult> {
  const bin = kubectlPath(version);
  if (bin === undefined) throw new Error(`kubectl ${version} is not available (run scripts/setup.sh)`);
  const cacheDir = cacheDirFor(kubeconfig);
  return run(bin, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir}`, ...args], {
    ...opts,
    env: { KUBECONFIG: kubeconfig, ...opts.env },
  });
}

/** Like kubectl(), but throws (with stderr) when kubectl exits non-zero. */
export async function kubectlOk(
  version: string,
  kubeconfig: string,
  args: readonly string[],
  opts: KubectlOptions = {},
): Promise<RunResult> {
  const result = await kubectl(version, kubeconfig, args, opts);
  if (result.code !== 0) {
    throw new Error(`kubectl ${version} ${args.join(' ')} exited ${result.code}\n${result.stderr}${result.stdout}`);
  }
  return result;
}
