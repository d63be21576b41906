import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startCluster, type ClusterOptions, type RunningCluster } from '../../src/cli/cluster.js';
import { repoRoot, type RunResult } from './exec.js';
import { kubectl, kubectlOk, type KubectlOptions } from './kubectl.js';

/** Server logs go to stderr when TIMONEL_TEST_LOG=1; otherwise they are only kept in memory. */
const echoLogs = process.env.TIMONEL_TEST_LOG === '1';

const tempDirs = new Set<string>();
const liveChildren = new Set<number>();
process.on('exit', () => {
  for (const pid of liveChildren) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A temp dir under os.tmpdir(), removed at process exit at the latest. */
export function tempDataDir(prefix = 'timonel-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export interface TestKubectlOptions extends KubectlOptions {
  /** kubectl minor version, default '1.33' */
  version?: string;
}

/** kubectl bound to one kubeconfig. */
export interface KubectlFor {
  kubectl(args: readonly string[], opts?: TestKubectlOptions): Promise<RunResult>;
  /** throws with stderr on a non-zero exit */
  kubectlOk(args: readonly string[], opts?: TestKubectlOptions): Promise<RunResult>;
}

function kubectlFor(kubeconfigPath: string): KubectlFor {
  return {
    kubectl: (args, { version = '1.33', ...opts } = {}) => kubectl(version, kubeconfigPath, args, opts),
    kubectlOk: (args, { version = '1.33', ...opts } = {}) => kubectlOk(version, kubeconfigPath, args, opts),
  };
}

export interface TestCluster extends RunningCluster, KubectlFor {
  /** the server's log lines so far */
  logs: string[];
}

/** Starts an in-process cluster on an ephemeral loopback port; close() also removes its temp data dir. */
export async function startTestCluster(opts: Partial<ClusterOptions> = {}): Promise<TestCluster> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? tempDataDir();
  const logs: string[] = [];
  const log =
    opts.log ??
    ((line: string) => {
      logs.push(line);
      if (echoLogs) process.stderr.write(`${line}\n`);
    });
  let cluster: RunningCluster;
  try {
    cluster = await startCluster({ port: 0, bind: '127.0.0.1', ...opts, dataDir, log });
  } catch (err) {
    if (ownDir) removeTempDataDir(dataDir);
    throw err;
  }
  const closeCluster = cluster.close.bind(cluster);
  return Object.assign(cluster, {
    logs,
    ...kubectlFor(cluster.kubeconfigPath),
    async close() {
      try {
        await closeCluster();
      } finally {
        if (ownDir) removeTempDataDir(dataDir);
      }
    },
  });
}

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedServer extends KubectlFor {
  pid: number;
  url: string;
  port: number;
  kubeconfigPath: string;
  dataDir: string;
  /** everything the server printed so far (stdout and stderr interleaved) */
  output(): string;
  kill(signal?: NodeJS.Signals): void;
  waitExit(): Promise<ServerExit>;
  /** SIGTERM, wait for the exit, and remove the data dir when spawnServer made it */
  stop(): Promise<void>;
}

export interface SpawnServerOptions {
  env?: NodeJS.ProcessEnv;
  /** let `timonel up` run a real node on this machine (default: --no-local-node) */
  localNode?: boolean;
  /** default 30 s */
  readyTimeoutMs?: number;
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
  }
  return undefined;
}

/**
 * Runs `timonel up` from source in a child process and waits for its `ready` line. Defaults added
 * when absent: `--data-dir <temp dir>` (removed at process exit), `--port 0`, `--bind 127.0.0.1`.
 * Pass the same `--data-dir` (and `--port`) again to restart a server on its data.
 */
export async function spawnServer(args: readonly string[] = [], opts: SpawnServerOptions = {}): Promise<SpawnedServer> {
  const fullArgs = [...args];
  let dataDir = flagValue(args, '--data-dir');
  const ownDataDir = dataDir === undefined;
  if (dataDir === undefined) {
    dataDir = tempDataDir();
    fullArgs.push('--data-dir', dataDir);
  }
  if (flagValue(args, '--port') === undefined) fullArgs.push('--port', '0');
  if (flagValue(args, '--bind') === undefined) fullArgs.push('--bind', '127.0.0.1');
  // a real node (bridge, cgroups, containers) only where a test asks for one
  if (!opts.localNode && !args.includes('--no-local-node')) fullArgs.push('--no-local-node');

  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'up', ...fullArgs], {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not spawn the server');
  const pid = child.pid;
  liveChildren.add(pid);

  let output = '';
  const exited = new Promise<ServerExit>((resolve) => {
    child.on('exit', (code, signal) => {
      liveChildren.delete(pid);
      resolve({ code, signal });
    });
  });

  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  await new Promise<void>((resolve, reject) => {
    let pending = '';
    let ready = false;
    const onOutput = (chunk: string) => {
      output += chunk;
      if (echoLogs) process.stderr.write(chunk);
    };
    // Only stdout carries the ready line; stderr is the server's log.
    const onStdout = (chunk: string) => {
      onOutput(chunk);
      if (ready) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      if (lines.some((line) => /\bready\b/i.test(line))) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.setEncoding('utf8').on('data', onStdout);
    child.stderr.setEncoding('utf8').on('data', onOutput);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server not ready after ${readyTimeoutMs} ms; output:\n${output}`));
    }, readyTimeoutMs);
    void exited.then(({ code, signal }) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`server exited (${signal ?? code}) before ready; output:\n${output}`));
    });
  });

  const kubeconfigPath = join(dataDir, 'kubeconfig.yaml');
  const url = kubeconfigServer(kubeconfigPath);
  return {
    pid,
    url,
    port: Number(new URL(url).port),
    kubeconfigPath,
    dataDir,
    ...kubectlFor(kubeconfigPath),
    output: () => output,
    kill: (signal = 'SIGTERM') => {
      if (liveChildren.has(pid)) process.kill(pid, signal);
    },
    waitExit: () => exited,
    async stop() {
      if (liveChildren.has(pid)) process.kill(pid, 'SIGTERM');
      await exited;
      if (ownDataDir) removeTempDataDir(dataDir);
    },
  };
}

interface KubeconfigFile {
  clusters?: { cluster?: { server?: string } }[];
}

function kubeconfigServer(path: string): string {
  const config = parseYaml(readFileSync(path, 'utf8')) as KubeconfigFile;
  const server = config.clusters?.[0]?.cluster?.server;
  if (!server) throw new Error(`no clusters[0].cluster.server in ${path}`);
  return server;
}
