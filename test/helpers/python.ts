import { spawnSync } from 'node:child_process';
import { run, type RunOptions, type RunResult } from './exec.js';

/** Debian's python, where python3-kubernetes is installed (not a pyenv shim on PATH). */
export const python3 = '/usr/bin/python3';

let havePython: boolean | undefined;

export function havePythonKubernetes(): boolean {
  havePython ??= spawnSync(python3, ['-c', 'import kubernetes'], { stdio: 'ignore' }).status === 0;
  return havePython;
}

/** Runs a Python script (given as source text, fed on stdin). */
export function runPython(
  script: string,
  env: NodeJS.ProcessEnv = {},
  opts: Omit<RunOptions, 'stdin' | 'env'> = {},
): Promise<RunResult> {
  return run(python3, ['-'], { ...opts, stdin: script, env: { PYTHONDONTWRITEBYTECODE: '1', ...env } });
}
