// OCI runtime drivers (crun, runc) over their command lines, with `--root` under the agent's state
// dir so other users' containers are never seen or touched.
//
// create() only records the container; start() runs `<runtime> run` in the foreground as a child
// of this process. That is the only way to learn a container's exit code without a subreaper: after
// a detached `create`, the container's parent is the host's PID 1, which reaps it. The runtime
// removes its own state (and the container's cgroup) when a foreground run ends, so the exit code
// kept here is the record of a stopped container.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Writable } from 'node:stream';
import { join } from 'node:path';
import { CRILogWriter, type LogRotation } from './logs.js';
import { kernelLogShowsOOMKill } from './oom.js';
import { closeChildFds, createStdioFifos, exitFile, openStdioFifos, readExitFile, reopenStdioFifos, SHIM_SCRIPT, type StdioFifos } from './shim.js';

export type RuntimeName = 'crun' | 'runc' | 'fake';
export type ContainerStatus = 'created' | 'running' | 'stopped';

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  /** host PID of the container's init process (0 when not running) */
  pid: number;
  /** known for containers started by this runtime object: 128 + n when killed by signal n */
  exitCode?: number;
  /** the signal that ended the container, when one did */
  exitSignal?: NodeJS.Signals;
  /** the kubelet's terminated reason: `Completed` (exit 0), `OOMKilled` or `Error` */
  reason?: 'Completed' | 'Error' | 'OOMKilled';
  bundle?: string;
  startedAt?: Date;
  finishedAt?: Date;
}

export interface CreateOptions {
  /** where the runtime writes the init PID */
  pidFile: string;
  /** stdout and stderr are appended here in the CRI log format; without it they are discarded */
  logPath?: string;
  /** the runtime's own error messages (default `<bundle>/runtime.log`) */
  runtimeLogPath?: string;
  /** the container's stdin is a pipe kept open (CLIRuntime.stdin) instead of /dev/null */
  stdin?: boolean;
  /** rotation of the log at logPath (containerLogMaxSize, containerLogMaxFiles); none without it */
  logRotation?: LogRotation;
}

export interface OCIRuntime {
  readonly name: RuntimeName;
  create(id: string, bundleDir: string, opts: CreateOptions): Promise<void>;
  /** Resolves once the container's process runs (its PID is known); rejects with the runtime's message. */
  start(id: string): Promise<void>;
  state(id: string): Promise<ContainerState | undefined>;
  /** Resolves when the container has stopped (at once when it already has or is unknown). */
  wait(id: string): Promise<ContainerState | undefined>;
  kill(id: string, signal: NodeJS.Signals): Promise<void>;
  /** Forgets the container; `force` kills it first when it still runs. */
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  list(): Promise<ContainerState[]>;
  /** Takes over a container an earlier agent process started; undefined when nothing is known of it. */
  adopt?(id: string, bundle: string, opts: CreateOptions): Promise<ContainerState | undefined>;
  /** Forgets every container without stopping any (an agent stopping with its containers kept). */
  release?(): void;
}

export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly stderr = '',
  ) {
    super(message);
  }
}

interface Record {
  id: string;
  bundle: string;
  opts: CreateOptions;
  status: ContainerStatus;
  pid: number;
  exitCode?: number;
  exitSignal?: NodeJS.Signals;
  reason?: ContainerState['reason'];
  /** we sent SIGKILL (grace period over, forced delete): a 137 is then not the OOM killer's */
  killedByUs?: boolean;
  child?: ChildProcess;
  stdin?: Writable;
  logs?: CRILogWriter;
  fifos?: StdioFifos;
  /** started by an earlier agent process */
  adopted?: boolean;
  /** handed over by release() */
  released?: boolean;
  stopped?: Promise<void>;
  startedAt?: Date;
  finishedAt?: Date;
}

interface RuntimeStateJSON {
  id: string;
  pid: number;
  status: string;
  bundle?: string;
}

const COMMAND_TIMEOUT_MS = 30_000;
/** pairs of stdio FIFOs made ahead of time, so that starting a container spawns no `mkfifo` */
const SPARE_FIFOS = 8;

/** A crun or runc binary driven through its CLI. */
export class CLIRuntime implements OCIRuntime {
  private readonly containers = new Map<string, Record>();
  private readonly fifoDir: string;
  private spareFifos: string[] = [];
  private fifoSeq = 0;
  private makingFifos = false;
  /** moving a spare into a bundle failed (another filesystem): FIFOs are made in place */
  private noSpareFifos = false;

  constructor(
    readonly name: 'crun' | 'runc',
    readonly binary: string,
    /** the runtime's `--root` (container state); created when missing */
    readonly rootDir: string,
  ) {
    mkdirSync(rootDir, { recursive: true, mode: 0o700 });
    this.fifoDir = `${rootDir}-fifos`;
    rmSync(this.fifoDir, { recursive: true, force: true });
  }

  private makeSpareFifos(): void {
    if (this.makingFifos || this.noSpareFifos || this.spareFifos.length > SPARE_FIFOS / 2) return;
    this.makingFifos = true;
    const names = Array.from({ length: SPARE_FIFOS - this.spareFifos.length }, () => `${process.pid}-${this.fifoSeq++}`);
    mkdirSync(this.fifoDir, { recursive: true, mode: 0o700 });
    const paths = names.flatMap((n) => [join(this.fifoDir, `${n}.stdout`), join(this.fifoDir, `${n}.stderr`)]);
    execFile('mkfifo', ['-m', '0600', ...paths], { timeout: COMMAND_TIMEOUT_MS }, (err) => {
      this.makingFifos = false;
      if (err) this.noSpareFifos = true;
      else this.spareFifos.push(...names);
    });
  }

  /** The bundle's stdio FIFOs, opened: spares moved into place when there are, else made there. */
  private async stdioFifos(bundle: string): Promise<StdioFifos> {
    const spare = this.spareFifos.shift();
    this.makeSpareFifos();
    if (spare) {
      try {
        for (const stream of ['stdout', 'stderr']) {
          const to = join(bundle, `${stream}.fifo`);
          rmSync(to, { force: true });
          renameSync(join(this.fifoDir, `${spare}.${stream}`), to);
        }
        return openStdioFifos(bundle);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EXDEV') this.noSpareFifos = true;
      }
    }
    return createStdioFifos(bundle);
  }

  async create(id: string, bundleDir: string, opts: CreateOptions): Promise<void> {
    if (this.containers.has(id)) throw new RuntimeError(`container ${id} already exists`);
    if (!existsSync(join(bundleDir, 'config.json'))) throw new RuntimeError(`no config.json in bundle ${bundleDir}`);
    // crun and runc keep a container's state in `<root>/<id>/`: no directory, no container (and no process to spawn)
    if (existsSync(join(this.rootDir, id)) && (await this.runtimeState(id))) throw new RuntimeError(`container ${id} already exists in ${this.name}`);
    this.containers.set(id, { id, bundle: bundleDir, opts, status: 'created', pid: 0 });
  }

  async start(id: string): Promise<void> {
    const rec = this.containers.get(id);
    if (!rec) throw new RuntimeError(`container ${id} does not exist`);
    if (rec.status !== 'created') throw new RuntimeError(`container ${id} is ${rec.status}, not created`);
    const runtimeLog = rec.opts.runtimeLogPath ?? join(rec.bundle, 'runtime.log');
    rmSync(runtimeLog, { force: true });
    rmSync(rec.opts.pidFile, { force: true });
    rmSync(exitFile(rec.bundle), { force: true });
    const args = [...this.globalArgs(runtimeLog), 'run', '--bundle', rec.bundle, '--pid-file', rec.opts.pidFile, id];
    let fifos: StdioFifos | undefined;
    try {
      if (rec.opts.logPath) fifos = await this.stdioFifos(rec.bundle);
    } catch (e) {
      throw new RuntimeError(`container ${id}: stdio FIFOs: ${e instanceof Error ? e.message : String(e)}`);
    }
    // Own process group: a Ctrl-C at the agent's terminal must not reach the containers.
    const child = spawn('/bin/sh', ['-c', SHIM_SCRIPT, 'timonel-shim', exitFile(rec.bundle), this.binary, ...args], {
      cwd: rec.bundle,
      detached: true,
      stdio: [rec.opts.stdin ? 'pipe' : 'ignore', fifos?.childFds?.[0] ?? 'ignore', fifos?.childFds?.[1] ?? 'ignore'],
    });
    rec.stdin = child.stdin?.on('error', () => {}) ?? undefined;
    if (fifos) closeChildFds(fifos);
    rec.child = child;
    rec.status = 'running';
    rec.startedAt = new Date();
    rec.fifos = fifos;
    if (rec.opts.logPath && fifos) rec.logs = new CRILogWriter(rec.opts.logPath, { stdout: fifos.stdout, stderr: fifos.stderr }, rec.opts.logRotation);
    rec.stopped = new Promise<void>((resolve) => {
      let exited = false;
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        if (exited) return;
        exited = true;
        this.recordExit(rec, code ?? 128 + (signal ? osConstants.signals[signal] : 0), new Date());
        void (rec.logs?.done ?? Promise.resolve()).then(() => {
          rec.status = 'stopped';
          rec.pid = 0;
          rec.child = undefined;
          resolve();
        });
      };
      child.once('exit', onExit);
      child.once('error', () => onExit(127, null));
    });
    return this.waitForPid(rec, runtimeLog);
  }

  private recordExit(rec: Record, exitCode: number, finishedAt: Date): void {
    rec.exitCode = exitCode;
    // The runtime reports a container killed by signal n as exit 128 + n.
    if (exitCode > 128 && exitCode < 128 + 65) rec.exitSignal = signalName(exitCode - 128);
    rec.finishedAt = finishedAt;
    rec.reason = exitCode === 0 ? 'Completed' : exitCode === 137 && this.oomKilled(rec) ? 'OOMKilled' : 'Error';
  }

  /**
   * Takes over a container an earlier agent process started (see shim.ts). Still running: its output
   * is read again (appended to `opts.logPath`) and wait() resolves when it ends, with the exit code the
   * shim records. Ended while no agent ran: its recorded exit. Unknown: undefined.
   */
  async adopt(id: string, bundle: string, opts: CreateOptions): Promise<ContainerState | undefined> {
    const known = this.containers.get(id);
    if (known) return publicState(known);
    const rec: Record = { id, bundle, opts, status: 'running', pid: 0, adopted: true };
    const startedAt = mtimeOf(opts.pidFile);
    if (startedAt) rec.startedAt = startedAt;
    const s = await this.runtimeState(id);
    if (s && s.status !== 'stopped' && s.pid > 0 && existsSync(`/proc/${s.pid}`)) {
      rec.pid = s.pid;
      const fifos = opts.logPath ? reopenStdioFifos(bundle) : undefined;
      if (fifos && opts.logPath) {
        rec.fifos = fifos;
        rec.logs = new CRILogWriter(opts.logPath, { stdout: fifos.stdout, stderr: fifos.stderr }, opts.logRotation);
      }
      this.containers.set(id, rec);
      rec.stopped = this.watchAdopted(rec);
      return publicState(rec);
    }
    const ended = readExitFile(bundle);
    if (!ended) return s ? fromRuntimeJSON(s) : undefined;
    this.recordExit(rec, ended.exitCode, ended.finishedAt);
    rec.status = 'stopped';
    this.containers.set(id, rec);
    return publicState(rec);
  }

  /** Not our child: its init process is watched, then the shim's exit file read. */
  private async watchAdopted(rec: Record): Promise<void> {
    while (!rec.released && existsSync(`/proc/${rec.pid}`)) await sleep(250);
    if (rec.released) return;
    let ended = readExitFile(rec.bundle);
    for (let i = 0; i < 50 && !ended && !rec.released; i++) {
      await sleep(100);
      ended = readExitFile(rec.bundle);
    }
    await Promise.race([rec.logs?.done, sleep(2000)]);
    this.recordExit(rec, ended?.exitCode ?? 255, ended?.finishedAt ?? new Date());
    rec.status = 'stopped';
    rec.pid = 0;
  }

  /** Lets go of every container without stopping any (another agent process takes them over). */
  release(): void {
    for (const rec of this.containers.values()) {
      rec.released = true;
      rec.fifos?.stdout.destroy();
      rec.fifos?.stderr.destroy();
      rec.child?.unref();
    }
    this.containers.clear();
  }

  private oomKilled(rec: Record): boolean {
    let cgroupsPath: string | undefined;
    try {
      cgroupsPath = (JSON.parse(readFileSync(join(rec.bundle, 'config.json'), 'utf8')) as { linux?: { cgroupsPath?: string } }).linux?.cgroupsPath;
    } catch {
      // bundle gone
    }
    const fromKernel = cgroupsPath ? kernelLogShowsOOMKill(cgroupsPath) : undefined;
    return fromKernel ?? !rec.killedByUs;
  }

  private async waitForPid(rec: Record, runtimeLog: string): Promise<void> {
    const deadline = Date.now() + COMMAND_TIMEOUT_MS;
    let delay = 2;
    for (;;) {
      if (existsSync(rec.opts.pidFile)) {
        const pid = Number(readFileSync(rec.opts.pidFile, 'utf8').trim());
        if (pid > 0) {
          if (rec.status === 'running') rec.pid = pid;
          return;
        }
      }
      if (rec.exitCode !== undefined) {
        await rec.stopped;
        throw new RuntimeError(`${this.name} run ${rec.id} failed (exit ${rec.exitCode}): ${readRuntimeLog(runtimeLog)}`);
      }
      if (Date.now() > deadline) throw new RuntimeError(`${this.name} run ${rec.id}: no PID after ${COMMAND_TIMEOUT_MS} ms`);
      // the runtime writes the PID file some tens of milliseconds in: a short poll adds little to that
      await sleep(delay);
      delay = Math.min(delay * 2, 5);
    }
  }

  /** The write end of a running container's stdin pipe (created with `stdin`), until it is closed. */
  stdin(id: string): Writable | undefined {
    const rec = this.containers.get(id);
    const w = rec?.status === 'running' ? rec.stdin : undefined;
    return w && !w.writableEnded && !w.destroyed ? w : undefined;
  }

  async state(id: string): Promise<ContainerState | undefined> {
    const rec = this.containers.get(id);
    if (rec) return publicState(rec);
    const s = await this.runtimeState(id);
    return s ? fromRuntimeJSON(s) : undefined;
  }

  async wait(id: string): Promise<ContainerState | undefined> {
    const rec = this.containers.get(id);
    if (!rec) return this.state(id);
    if (rec.stopped) await rec.stopped;
    return publicState(rec);
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<void> {
    const rec = this.containers.get(id);
    if (rec && rec.status !== 'running') return;
    if (rec && signal === 'SIGKILL') rec.killedByUs = true;
    try {
      await this.exec(['kill', id, signal]);
    } catch (err) {
      // The container may have exited between our check and the signal.
      if (rec && (rec.exitCode !== undefined || !(await this.runtimeState(id)))) return;
      throw err;
    }
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    const rec = this.containers.get(id);
    if (rec?.status === 'running' && !opts.force) throw new RuntimeError(`container ${id} is running; stop it or delete with force`);
    if (rec && opts.force) rec.killedByUs = true;
    if (await this.runtimeState(id)) {
      try {
        await this.exec(['delete', ...(opts.force ? ['--force'] : []), id]);
      } catch (err) {
        if (await this.runtimeState(id)) throw err;
      }
    }
    if (rec?.stopped) await rec.stopped;
    this.containers.delete(id);
  }

  async list(): Promise<ContainerState[]> {
    const out = await this.exec(['list', '--format', 'json']);
    const known = (JSON.parse(out.trim() || '[]') as RuntimeStateJSON[] | null) ?? [];
    const result = new Map<string, ContainerState>();
    for (const s of known) result.set(s.id, fromRuntimeJSON(s));
    for (const rec of this.containers.values()) result.set(rec.id, publicState(rec));
    return [...result.values()];
  }

  private globalArgs(logFile?: string): string[] {
    return ['--root', this.rootDir, ...(logFile ? ['--log', logFile] : [])];
  }

  private async runtimeState(id: string): Promise<RuntimeStateJSON | undefined> {
    try {
      return JSON.parse(await this.exec(['state', id])) as RuntimeStateJSON;
    } catch {
      return undefined;
    }
  }

  private exec(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.binary, [...this.globalArgs(), ...args], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new RuntimeError(`${this.name} ${args.join(' ')}: ${stderr.trim() || err.message}`, stderr));
        else resolve(stdout);
      });
    });
  }
}

function publicState(rec: Record): ContainerState {
  const s: ContainerState = { id: rec.id, status: rec.status, pid: rec.pid, bundle: rec.bundle };
  if (rec.exitCode !== undefined && rec.status === 'stopped') s.exitCode = rec.exitCode;
  if (rec.exitSignal && rec.status === 'stopped') s.exitSignal = rec.exitSignal;
  if (rec.reason && rec.status === 'stopped') s.reason = rec.reason;
  if (rec.startedAt) s.startedAt = rec.startedAt;
  if (rec.finishedAt && rec.status === 'stopped') s.finishedAt = rec.finishedAt;
  return s;
}

function fromRuntimeJSON(s: RuntimeStateJSON): ContainerState {
  const status: ContainerStatus = s.status === 'created' || s.status === 'creating' ? 'created' : s.status === 'stopped' ? 'stopped' : 'running';
  return { id: s.id, status, pid: status === 'stopped' ? 0 : s.pid, bundle: s.bundle };
}

function signalName(n: number): NodeJS.Signals | undefined {
  for (const [name, num] of Object.entries(osConstants.signals)) if (num === n) return name as NodeJS.Signals;
  return undefined;
}

function readRuntimeLog(path: string): string {
  try {
    const text = readFileSync(path, 'utf8').trim();
    // runc logs JSON lines ({"level":"error","msg":…}); crun logs plain lines.
    const lines = text.split('\n').map((l) => {
      try {
        const j = JSON.parse(l) as { msg?: string };
        return j.msg ?? l;
      } catch {
        return l;
      }
    });
    return lines.slice(-3).join('; ') || '(no message)';
  } catch {
    return '(no runtime log)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mtimeOf(path: string): Date | undefined {
  try {
    return statSync(path).mtime;
  } catch {
    return undefined;
  }
}
