// The processes of a benchmark: the server under test pinned to one core, the orchestrator and its
// load generators (wrk, Node load clients) pinned to the other, all on 127.0.0.1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** the built server; BENCH_DIST points elsewhere (e.g. a private build while dist/ is being rebuilt) */
export const DIST = process.env.BENCH_DIST ? resolve(process.env.BENCH_DIST) : join(REPO, 'dist');
export const SHORT = process.env.BENCH_SHORT === '1';

const SERVER_CPU = '0';
const LOAD_CPU = '1';
const PINNING = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;

/** Pins this process and every child it starts later to the load core. */
export function pinToLoadCore(): void {
  if (PINNING) spawnSync('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
}

export function machineDescription(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const pin = PINNING ? `server pinned to CPU ${SERVER_CPU}, load to CPU ${LOAD_CPU}` : 'no CPU pinning';
  return `${model}, ${availableParallelism()} cores (${pin}), Node ${process.versions.node}, ${process.platform}/${process.arch}`;
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `timonel-bench-${tag}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** from spawn() to the ready line on stdout */
  readonly readyMs: number;
  /** the startup time the server printed itself ("in N ms"), if it did */
  readonly reportedMs?: number;
  /** CPU time (user + system) the process had used when its ready line arrived */
  readonly readyCpuMs: number;
  /** exit code or signal once it has exited */
  exited(): string | undefined;
  stderrTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after 5 s (60 s when profiling); resolves once it has exited */
  stop(): Promise<void>;
}

const READY = /ready at (http\S+)(?: in (\d+) ms)?/;

/**
 * Where a server runs: `true` pinned to the server core; `'all'` on every core (a server with threads of
 * its own, sharing the load core with the load generators); `false` wherever this process may run.
 */
export type ServerPin = boolean | 'all';

/** Starts a server process and resolves when it prints its ready line. */
export function startServerProcess(argv: string[], opts: { timeoutMs?: number; pin?: ServerPin } = {}): Promise<ServerProcess> {
  const pin = opts.pin ?? true;
  // children inherit the load core's affinity from this process (availableParallelism() is 1 here): 'all' gives the server every core back
  const cpuList = !PINNING || pin === false ? undefined : pin === 'all' ? `0-${cpus().length - 1}` : SERVER_CPU;
  const [cmd, ...args] = cpuList ? ['taskset', '-c', cpuList, ...argv] : argv;
  const t0 = performance.now();
  const child: ChildProcess = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  let exitInfo: string | undefined;
  const exitPromise = new Promise<void>((res) => {
    child.on('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      res();
    });
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    stderr.push(...d.split('\n').filter(Boolean));
    if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
  });
  const stop = async () => {
    if (exitInfo === undefined && child.pid !== undefined) {
      child.kill('SIGTERM');
      // writing a CPU profile of a big server takes longer than the usual grace
      const grace = process.env.BENCH_SERVER_NODE_FLAGS?.includes('--cpu-prof') ? 60_000 : 5000;
      const killer = setTimeout(() => child.kill('SIGKILL'), grace);
      await exitPromise;
      clearTimeout(killer);
    }
  };
  return new Promise<ServerProcess>((resolveReady, reject) => {
    let out = '';
    let done = false;
    const timer = setTimeout(() => fail(new Error(`no ready line within ${opts.timeoutMs ?? 30_000} ms`)), opts.timeoutMs ?? 30_000);
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${argv.join(' ')}: ${e.message}\n${stderr.slice(-20).join('\n')}`)));
    };
    child.on('error', fail);
    child.on('exit', () => fail(new Error(`exited before ready (${exitInfo})`)));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      // e.g. BENCH_SERVER_STDOUT=/tmp/server.log with BENCH_SERVER_NODE_FLAGS=--trace-gc
      if (process.env.BENCH_SERVER_STDOUT) appendFileSync(process.env.BENCH_SERVER_STDOUT, d);
      if (done) return;
      out += d;
      const m = READY.exec(out);
      if (!m) return;
      done = true;
      clearTimeout(timer);
      const readyMs = performance.now() - t0;
      let readyCpuMs = NaN;
      try {
        readyCpuMs = cpuSeconds(child.pid!) * 1000;
      } catch {
        // exited meanwhile: its exit is reported through exited()
      }
      resolveReady({
        url: m[1],
        pid: child.pid!,
        readyMs,
        readyCpuMs,
        reportedMs: m[2] !== undefined ? Number(m[2]) : undefined,
        exited: () => exitInfo,
        stderrTail: (n = 20) => stderr.slice(-n).join('\n'),
        stop,
      });
    });
  });
}

export interface TimonelOptions {
  dataDir: string;
  storage?: 'sqlite' | 'memory';
  /** plain HTTP, every request admin (default true: what the load benchmarks need) */
  insecureHttp?: boolean;
  pin?: ServerPin;
  /** more flags for `timonel up`, e.g. ['--simulated-nodes', '5000'] */
  args?: string[];
}

/**
 * The file `timonel` runs: the bundle (what bin/timonel starts), or tsc's output in a build without one
 * (a private `tsc --outDir` build, see BENCH_DIST).
 */
export function timonelMain(): string {
  const bundle = join(DIST, 'bundle', 'timonel.js');
  if (existsSync(bundle)) return bundle;
  const main = join(DIST, 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build (or scripts/bench.sh, which builds)`);
  return main;
}

/**
 * The node flags bin/timonel starts `timonel up <args>` with: its `NODE_FLAGS=(...)` line, or
 * `LARGE_NODE_FLAGS=(...)` with `--simulated-nodes` of `LARGE_SIMULATION` or more.
 */
export function launcherNodeFlags(args: readonly string[] = []): string[] {
  const launcher = readFileSync(join(REPO, 'bin', 'timonel'), 'utf8');
  const list = (name: string) => {
    const m = new RegExp(`^${name}=\\(([^)]*)\\)$`, 'm').exec(launcher);
    return m ? m[1].split(/\s+/).filter(Boolean) : undefined;
  };
  const large = Number(/^LARGE_SIMULATION=(\d+)$/m.exec(launcher)?.[1] ?? NaN);
  let count: number | undefined;
  args.forEach((a, i) => {
    if (a.startsWith('--simulated-nodes=')) count = Number(a.slice('--simulated-nodes='.length));
    else if (args[i - 1] === '--simulated-nodes') count = Number(a);
  });
  if (count !== undefined && count >= large) return list('LARGE_NODE_FLAGS') ?? [];
  return list('NODE_FLAGS') ?? [];
}

/** `timonel up` from the build, exactly as a user starts it (bin/timonel's node flags included). */
export function timonelUp(o: TimonelOptions): Promise<ServerProcess> {
  const main = timonelMain();
  // e.g. BENCH_SERVER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under test
  const nodeFlags = [...launcherNodeFlags(o.args), ...(process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
  const argv = [process.execPath, ...nodeFlags, main, 'up', '--data-dir', o.dataDir, '--port', '0', '--bind', '127.0.0.1', '--storage', o.storage ?? 'sqlite'];
  if (o.insecureHttp !== false) argv.push('--insecure-http');
  // the API benchmarks measure the control plane alone, never a real node on the benchmark machine
  argv.push('--no-local-node');
  argv.push(...(o.args ?? []));
  return startServerProcess(argv, { pin: o.pin });
}

/** The baseline: a bare node:http server answering every request with the bytes of `bodyFile`. */
export function bareServer(bodyFile: string, opts: { pin?: ServerPin } = {}): Promise<ServerProcess> {
  return startServerProcess([process.execPath, join(REPO, 'bench', 'lib', 'bare-server.mjs'), bodyFile], opts);
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout?.trim()) || 100;
  }
  return clockTicks;
}

/** Resident set size of a process, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU time (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name (which may hold spaces) start at field 3; utime is 14, stime 15
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

export const sleep = (msec: number) => new Promise<void>((r) => setTimeout(r, msec));

/** Busy and total jiffies of all CPUs together, or of one (`cpu0`). */
function cpuTimes(which = 'cpu'): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`${which} `)) ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** How busy the whole machine is over `msec` (0..1 of all cores), measured while the benchmark is idle. */
export async function machineBusy(msec = 1000): Promise<number> {
  const a = cpuTimes();
  await sleep(msec);
  const b = cpuTimes();
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
}

export interface ProcessSample {
  peakRss: number;
  cpuSeconds: number;
  /** share of the server's core (0..1) other processes used meanwhile; NaN without pinning */
  othersOnCore: number;
}

/**
 * Samples a process's RSS every `everyMs` until stopped; also the CPU time it used meanwhile, and how much
 * of its core went to other processes than it and `companions` (e.g. a baseline server on the same core).
 */
export function watchProcess(pid: number, companions: number[] = [], everyMs = 250): { stop(): ProcessSample } {
  let peakRss = 0;
  const cpu0 = cpuSeconds(pid);
  const companionCpu = () => companions.reduce((sum, p) => sum + cpuSeconds(p), 0);
  const companions0 = companionCpu();
  const core0 = cpuTimes(`cpu${SERVER_CPU}`);
  const sample = () => {
    try {
      peakRss = Math.max(peakRss, rssBytes(pid));
    } catch {
      // gone: the caller notices through the server's exit
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      let cpu = NaN;
      try {
        cpu = cpuSeconds(pid) - cpu0;
      } catch {
        // gone
      }
      const core = cpuTimes(`cpu${SERVER_CPU}`);
      const coreSeconds = (core.total - core0.total) / ticksPerSecond();
      const ours = cpu + companionCpu() - companions0;
      const othersOnCore = PINNING && coreSeconds > 0 ? Math.max(0, ((core.busy - core0.busy) / ticksPerSecond() - ours) / coreSeconds) : NaN;
      return { peakRss, cpuSeconds: cpu, othersOnCore };
    },
  };
}
