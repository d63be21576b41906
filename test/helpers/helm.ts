import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, run, type RunOptions, type RunResult } from './exec.js';

/** Path of Helm 3 (3.17) or Helm 4 (4.1) as fetched by scripts/setup.sh, or undefined when absent. */
export function helmPath(major: '3' | '4'): string | undefined {
  const p = join(repoRoot, '.cache', 'bin', `helm-${major}`);
  return existsSync(p) ? p : undefined;
}

let helmHome: string | undefined;

/** Helm's cache/config/data dirs, private to this process so runs never touch ~/.config/helm. */
function helmHomeDir(): string {
  if (helmHome === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'timonel-helm-home-'));
    helmHome = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return helmHome;
}

/** Runs Helm against `kubeconfig`. Resolves with any exit code. */
export async function helm(
  major: '3' | '4',
  kubeconfig: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const bin = helmPath(major);
  if (bin === undefined) throw new Error(`helm ${major} is not available (run scripts/setup.sh)`);
  const home = helmHomeDir();
  return run(bin, [`--kubeconfig=${kubeconfig}`, ...args], {
    ...opts,
    env: {
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      ...opts.env,
    },
  });
}
