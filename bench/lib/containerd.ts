// The baseline of the pod benchmarks: Debian's containerd with its own root, state and sockets in a
// temporary directory (never the system's), driven with `ctr` in its own namespace, crun as the OCI
// runtime like Timonel's node. stop() leaves nothing: tasks, shims, mounts, cgroups, the directory.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { rssBytes, sleep } from './proc.js';

const PIN = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;

export interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Why containerd cannot run here, or undefined. */
export function containerdMissing(): string | undefined {
  for (const p of ['containerd', 'ctr', 'containerd-shim-runc-v2']) {
    if (spawnSync('sh', ['-c', `command -v ${p}`], { stdio: 'ignore' }).status !== 0) return `${p} is not installed (apt-get install containerd; scripts/bench.sh does it for this benchmark)`;
  }
  return undefined;
}

export class Containerd {
  private readonly started = new Set<string>();

  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly address: string,
    readonly namespace: string,
    private readonly stderrTail: () => string,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  /** containerd on `dir` (created by the caller, removed by stop()), pinned to the server core. */
  static async start(dir: string): Promise<Containerd> {
    const address = join(dir, 'containerd.sock');
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${join(dir, 'root')}"`,
        `state = "${join(dir, 'state')}"`,
        // the CRI plugin would look for CNI configs and start a kubelet-facing service: not measured here
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${address}"`,
        '[ttrpc]',
        `  address = "${address}.ttrpc"`,
        '',
      ].join('\n'),
    );
    const argv = ['containerd', '--config', config, '--log-level', 'warn'];
    const child = spawn(PIN ? 'taskset' : argv[0]!, PIN ? ['-c', '0', ...argv] : argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
    const c = new Containerd(child, dir, address, `timonel-bench-${process.pid}`, () => log);
    const deadline = performance.now() + 15_000;
    while ((await c.ctr(['version'])).code !== 0) {
      if (child.exitCode !== null || performance.now() > deadline) {
        await c.stop();
        throw new Error(`containerd did not start: ${log.trim().split('\n').slice(-5).join('\n')}`);
      }
      await sleep(50);
    }
    return c;
  }

  ctr(args: string[], timeoutMs = 60_000): Promise<CtrResult> {
    return new Promise((resolve) => {
      execFile('ctr', ['--address', this.address, '--namespace', this.namespace, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  async importImage(archive: string): Promise<void> {
    const r = await this.ctr(['image', 'import', archive]);
    if (r.code !== 0) throw new Error(`ctr image import: ${r.stderr.trim()}`);
  }

  /** `ctr run -d`: resolves once the task is running; `netnsPath` joins that network namespace. */
  async run(id: string, image: string, args: string[], netnsPath?: string): Promise<void> {
    const flags = ['run', '-d', '--runc-binary', 'crun'];
    if (netnsPath) flags.push('--with-ns', `network:${netnsPath}`);
    this.started.add(id);
    const r = await this.ctr([...flags, image, id, ...args]);
    if (r.code !== 0) throw new Error(`ctr run ${id}: ${r.stderr.trim()}`);
  }

  /** Kills the task and deletes it and its container. */
  async remove(id: string): Promise<void> {
    await this.ctr(['task', 'kill', '--signal', 'SIGKILL', id]);
    for (let i = 0; i < 50; i++) {
      if ((await this.ctr(['task', 'delete', id])).code === 0) break;
      if (!(await this.ctr(['task', 'ls', '-q'])).stdout.split('\n').includes(id)) break;
      await sleep(100);
    }
    await this.ctr(['container', 'delete', id]);
    this.started.delete(id);
  }

  /** PIDs of the shims this containerd started (one per container). */
  shimPids(): number[] {
    const pids: number[] = [];
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
        if (cmd[0]?.endsWith('containerd-shim-runc-v2') && cmd.includes(this.address)) pids.push(Number(e));
      } catch {
        // exited meanwhile
      }
    }
    return pids;
  }

  /** RSS of the daemon and of all its shims. */
  rss(): { daemon: number; shims: number; shimCount: number } {
    const shims = this.shimPids();
    let total = 0;
    for (const p of shims) {
      try {
        total += rssBytes(p);
      } catch {
        // exited meanwhile
      }
    }
    return { daemon: rssBytes(this.pid), shims: total, shimCount: shims.length };
  }

  stderr(): string {
    return this.stderrTail();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      for (const id of [...this.started]) await this.remove(id).catch(() => {});
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      this.child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    }
    // shims outlive their daemon; so do the containers under them
    for (const p of this.shimPids()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mp = line.split(' ')[4];
      if (mp?.startsWith(this.dir + '/')) spawnSync('umount', ['-l', mp]);
    }
    await killCgroup(`/${this.namespace}`);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every directory of cgroup `path` and below, deepest first, in every v1 hierarchy and the v2 one (hybrid or not). */
function cgroupDirs(path: string): string[] {
  const roots = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    const mp = pre?.split(' ')[4];
    if (mp && (post?.startsWith('cgroup ') || post?.startsWith('cgroup2 ')) && mp.startsWith('/sys/fs/cgroup')) roots.add(mp);
  }
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    found.push(dir);
  };
  for (const root of roots) {
    const dir = join(root, path);
    try {
      if (statSync(dir).isDirectory()) walk(dir);
    } catch {
      // absent in this hierarchy
    }
  }
  return found;
}

/** SIGKILLs every process left in cgroup `path` (all hierarchies), then removes its directories. */
export async function killCgroup(path: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    let left = 0;
    for (const dir of cgroupDirs(path)) {
      let procs: string[] = [];
      try {
        procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
      } catch {
        // removed meanwhile
      }
      for (const p of procs) {
        left++;
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    if (left === 0) break;
    await sleep(100);
  }
  for (const dir of cgroupDirs(path)) {
    try {
      rmdirSync(dir);
    } catch {
      // busy or gone: nothing more to do from here
    }
  }
}
