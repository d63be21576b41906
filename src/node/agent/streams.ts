// The node side of exec, attach and port-forward (the API server's streaming handlers call it in this
// process): exec runs `<runtime> exec` with pipes, or inside `script` for a terminal; attach follows
// the container's CRI log from its end (the agent keeps no stdin pipe to containers); port-forward
// connects to 127.0.0.1:<port> inside the pod's network namespace through a small relay run under
// `nsenter --net`.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { Duplex, PassThrough, type Readable, type Writable } from 'node:stream';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../../api/errors.js';
import { CLIRuntime, type OCIRuntime } from '../runtime/index.js';
import type { ContainerRun } from './worker.js';

export interface TerminalSize {
  width: number;
  height: number;
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface StreamProcess {
  stdin?: Writable;
  stdout?: Readable;
  stderr?: Readable;
  exit: Promise<{ code: number; message?: string }>;
  resize?(size: TerminalSize): void;
  kill(): void;
}

/** What the agent tells the streamer about one of its pods. */
export interface StreamPodInfo {
  run?: ContainerRun;
  /** the container name is one of the pod's */
  known: boolean;
  sandbox?: { netnsPath?: string; ip?: string; hostNetwork: boolean };
}

export interface PodStreamerHost {
  runtime: OCIRuntime;
  lookup(pod: Pod, container: string): StreamPodInfo | undefined;
}

const badRequest = (m: string) => new StatusError(400, 'BadRequest', m);

function runningContainer(host: PodStreamerHost, pod: Pod, container: string): ContainerRun {
  const info = host.lookup(pod, container);
  const name = pod.metadata?.name ?? '';
  if (!info || !info.known) throw badRequest(`container ${container} is not valid for pod ${name}`);
  if (!info.run?.running) throw badRequest(`container ${container} is not running in pod ${name} (it has ${info.run ? 'exited' : 'not started'})`);
  return info.run;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function childExit(child: ChildProcess): Promise<{ code: number; message?: string }> {
  return new Promise((resolve) => {
    child.on('error', (e) => resolve({ code: -1, message: e.message }));
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 + signalNumber(signal) : 1) }));
  });
}

/**
 * The output of a child, kept until read: once a child exits, Node drains (and drops) stdio pipes nobody
 * listens to, and the client's streams may not be set up yet.
 */
function held(r: Readable | null): Readable | undefined {
  if (!r) return undefined;
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  r.pipe(out);
  return out;
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

export function podStreamer(host: PodStreamerHost) {
  return {
    async exec(pod: Pod, container: string, command: string[], o: StreamOptions): Promise<StreamProcess> {
      const run = runningContainer(host, pod, container);
      const rt = host.runtime;
      if (!(rt instanceof CLIRuntime)) throw badRequest(`exec is not supported by the ${rt.name} runtime`);
      const args = ['--root', rt.rootDir, 'exec', run.id, ...command];
      let child: ChildProcess;
      if (o.tty) {
        // `script` gives the command a pseudo-terminal (of a fixed size: resize messages are not applied)
        const inner = [rt.binary, ...args].map(shellQuote).join(' ');
        child = spawn('script', ['-q', '-e', '-c', inner, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm' } });
      } else {
        child = spawn(rt.binary, args, { stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      }
      if (!o.stdin) child.stdin?.end();
      return {
        stdin: o.stdin ? (child.stdin ?? undefined) : undefined,
        stdout: held(child.stdout),
        stderr: o.tty ? undefined : held(child.stderr),
        exit: childExit(child),
        kill: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        },
      };
    },

    async attach(pod: Pod, container: string, o: StreamOptions): Promise<StreamProcess> {
      const run = runningContainer(host, pod, container);
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let offset = 0;
      try {
        offset = statSync(run.logPath).size;
      } catch {
        offset = 0;
      }
      let stopped = false;
      let pending = Buffer.alloc(0);
      const exit = (async () => {
        while (!stopped) {
          const more = readFrom(run.logPath, offset);
          offset += more.length;
          pending = Buffer.concat([pending, more]);
          let nl: number;
          while ((nl = pending.indexOf(0x0a)) >= 0) {
            const line = pending.subarray(0, nl);
            pending = pending.subarray(nl + 1);
            const m = /^\S+ (stdout|stderr) ([PF]) /.exec(line.subarray(0, 64).toString('latin1'));
            if (!m) continue;
            const text = line.subarray(m[0].length);
            const out = m[1] === 'stderr' ? stderr : stdout;
            out.write(m[2] === 'F' ? Buffer.concat([text, Buffer.from('\n')]) : text);
          }
          if (!run.running && !more.length) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        stdout.end();
        stderr.end();
        return { code: stopped ? 0 : (run.exitCode ?? 0) };
      })();
      return {
        stdin: o.stdin ? new PassThrough().resume() : undefined,
        stdout: o.stdout ? stdout : stdout.resume(),
        stderr: o.stderr ? stderr : stderr.resume(),
        exit,
        kill: () => {
          stopped = true;
        },
      };
    },

    async portForward(pod: Pod, port: number): Promise<Duplex> {
      const info = host.lookup(pod, '');
      const sb = info?.sandbox;
      if (!sb) throw badRequest(`pod ${pod.metadata?.name} has no network sandbox on this node`);
      const where = `failed to connect to localhost:${port} inside namespace "${pod.metadata?.uid ?? ''}"`;
      if (sb.hostNetwork || !sb.netnsPath) return tcpConnect('127.0.0.1', port, where);
      return relayInNetns(sb.netnsPath, port, where);
    },
  };
}

function readFrom(file: string, offset: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = statSync(file).size;
    if (size <= offset) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function tcpConnect(host: string, port: number, where: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once('connect', () => resolve(s));
    s.once('error', (e) => reject(new Error(`${where}, IPv4: dial tcp4 ${host}:${port}: ${e.message}`)));
  });
}

// Runs in the pod's network namespace: connects, says `K` on stderr, then relays stdin/stdout.
const RELAY = `
const s = require('node:net').connect({ host: '127.0.0.1', port: Number(process.argv[1]) });
s.on('connect', () => { process.stderr.write('K'); process.stdin.pipe(s); s.pipe(process.stdout); });
s.on('error', (e) => { process.stderr.write(e.message); process.exit(1); });
s.on('close', () => process.exit(0));
process.stdin.on('end', () => s.end());
`;

function relayInNetns(netnsPath: string, port: number, where: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, '-e', RELAY, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    let connected = false;
    child.stderr.on('data', (d: Buffer) => {
      if (!connected && d[0] === 0x4b) {
        connected = true;
        const duplex = Duplex.from({ readable: child.stdout, writable: child.stdin });
        duplex.on('close', () => {
          if (child.exitCode === null) child.kill('SIGKILL');
        });
        child.on('exit', () => duplex.destroy());
        resolve(duplex);
        d = d.subarray(1);
      }
      err += d.toString();
    });
    child.on('error', (e) => reject(new Error(`${where}: ${e.message}`)));
    child.on('exit', () => {
      if (!connected) reject(new Error(`${where}, IPv4: dial tcp4 127.0.0.1:${port}: ${err.trim() || 'the relay exited'}`));
    });
  });
}
