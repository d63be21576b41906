// Node load generators run in their own process (bench/load/*.ts): the parent passes parameters as
// JSON on the command line and reads one `RESULT <json>` line back.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './proc.js';

export type LoadJob = 'preload' | 'list' | 'watch' | 'mixed' | 'dns';

export interface LoadRun<R> {
  result: R;
  /** CPU time the load process used, and its life time: a load process near 100% of its core limits what it measures */
  cpuSeconds: number;
  wallSeconds: number;
}

/** Runs bench/load/<job>.ts in a child process; kills it (by PID) if it outlives `timeoutMs`. */
export function runLoad<R>(job: LoadJob, params: object, timeoutMs: number): Promise<LoadRun<R>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'load', `${job}.ts`), JSON.stringify(params)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      const line = /^RESULT (.*)$/m.exec(out);
      if (code === 0 && line) return resolve(JSON.parse(line[1]) as LoadRun<R>);
      reject(new Error(`load job ${job} failed (${signal ?? `exit code ${code}`})${signal === 'SIGKILL' ? ` after ${timeoutMs} ms` : ''}`));
    });
  });
}

/** The body of a load job: parse parameters, run, print the result line. */
export function loadJob<P, R>(run: (params: P) => Promise<R>): void {
  const params = JSON.parse(process.argv[2] ?? '{}') as P;
  run(params).then(
    (result) => {
      const cpu = process.cpuUsage();
      const run: LoadRun<R> = { result, cpuSeconds: (cpu.user + cpu.system) / 1e6, wallSeconds: process.uptime() };
      process.stdout.write(`RESULT ${JSON.stringify(run)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`load job failed: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
