// The node side of exec, attach and port-forward (the API server's streaming handlers call it in this
// process): exec runs `<runtime> exec` with pipes, or for a terminal `<runtime> exec --tty` whose pty
// master comes back over a console socket to a small python3 relay (Node cannot receive file
// descriptors) that also applies resizes; attach follows the container's CRI log from its end and
// writes to the container's stdin when it has one; port-forward connects to 127.0.0.1:<port> inside
// the pod's network namespace through a small relay run under `nsenter --net`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { Duplex, PassThrough, Writable, type Readable } from 'node:stream';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../../api/errors.js';
import type { PodStreamer, StreamOptions, StreamProcess, TerminalSize } from '../../api/streaming.js';
import { CLIRuntime, type OCIRuntime } from '../runtime/index.js';
import { CRILogFollower } from '../runtime/logs.js';
import type { ContainerRun } from './worker.js';

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

function python3(): string | undefined {
  return ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));
}

// argv: <runtime command before the container id> -- <container id> <command…>. Listens on a console
// socket, runs the runtime with `--console-socket`, receives the pty master and relays it to stdin /
// stdout; fd 3 carries `<columns> <rows>` lines applied with TIOCSWINSZ. Runtime errors go to stdout
// (the terminal). Exits with the runtime's exit code.
const PTY_RELAY = String.raw`
import fcntl, os, select, shutil, socket, struct, subprocess, sys, tempfile, termios
args = sys.argv[1:]
cut = args.index('--')
d = tempfile.mkdtemp(prefix='timonel-console-')
path = os.path.join(d, 'console.sock')
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
p = subprocess.Popen(args[:cut] + ['--console-socket', path] + args[cut + 1:], stdin=subprocess.DEVNULL, stdout=1, stderr=1)
master = None
while master is None:
    r, _, _ = select.select([srv], [], [], 0.05)
    if r:
        conn, _ = srv.accept()
        _, fds, _, _ = socket.recv_fds(conn, 1024, 4)
        conn.close()
        if fds:
            master = fds[0]
    elif p.poll() is not None:
        break
srv.close()
shutil.rmtree(d, ignore_errors=True)
def code():
    c = p.wait()
    return 128 - c if c < 0 else c
if master is None:
    sys.exit(code())
sizes = b''
def apply_sizes():
    global sizes
    try:
        chunk = os.read(3, 4096)
    except BlockingIOError:
        return True
    if not chunk:
        return False
    sizes += chunk
    *lines, sizes = sizes.split(b'\n')
    for line in lines:
        cols, rows = (int(x) for x in line.split())
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    return True
os.set_blocking(3, False)
inputs = [master, 0, 3]
def out(data):
    while data:
        n = os.write(1, data)
        data = data[n:]
pending = b''
os.set_blocking(master, False)
while True:
    r, w, _ = select.select([f for f in inputs if f != 0 or not pending], [master] if pending else [], [], 0.05)
    if 3 in r and not apply_sizes():
        inputs.remove(3)
    if 0 in r:
        pending = os.read(0, 65536)
        if not pending:
            inputs.remove(0)
    if pending and (master in w or 0 in r):
        try:
            pending = pending[os.write(master, pending):]
        except BlockingIOError:
            pass
        except OSError:
            pending = b''
    if master in r:
        try:
            data = os.read(master, 65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b''
        if not data:
            break
        out(data)
    elif p.poll() is not None:
        try:
            while True:
                data = os.read(master, 65536)
                if not data:
                    break
                out(data)
        except OSError:
            pass
        break
sys.exit(code())
`;

export function podStreamer(host: PodStreamerHost): PodStreamer {
  return {
    async exec(pod: Pod, container: string, command: string[], o: StreamOptions): Promise<StreamProcess> {
      const run = runningContainer(host, pod, container);
      const rt = host.runtime;
      if (!(rt instanceof CLIRuntime)) throw badRequest(`exec is not supported by the ${rt.name} runtime`);
      const args = ['--root', rt.rootDir, 'exec', run.id, ...command];
      let child: ChildProcess;
      let resize: ((size: TerminalSize) => void) | undefined;
      const python = o.tty ? python3() : undefined;
      if (o.tty && python) {
        child = spawn(python, ['-c', PTY_RELAY, rt.binary, '--root', rt.rootDir, 'exec', '--tty', '--', run.id, ...command], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
        const sizes = child.stdio[3] as Writable;
        sizes.on('error', () => {});
        resize = (s) => {
          if (!sizes.writableEnded) sizes.write(`${Math.floor(s.width)} ${Math.floor(s.height)}\n`);
        };
      } else if (o.tty) {
        // without python3: `script` gives the command a pseudo-terminal of a fixed size
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
        resize,
        kill: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        },
      };
    },

    async attach(pod: Pod, container: string, o: StreamOptions): Promise<StreamProcess> {
      const run = runningContainer(host, pod, container);
      const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === container);
      const rt = host.runtime;
      const target = o.stdin && rt instanceof CLIRuntime ? rt.stdin(run.id) : undefined;
      // stdinOnce: the container's stdin closes when the first attach session ends
      const sessionEnded = () => {
        if (spec?.stdinOnce && target && !target.writableEnded) target.end();
      };
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const follower = new CRILogFollower(run.logPath, true);
      let stopped = false;
      let pending: Buffer = Buffer.alloc(0);
      const exit = (async () => {
        while (!stopped) {
          const more = follower.read();
          pending = pending.length ? Buffer.concat([pending, more]) : more;
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
        follower.close();
        stdout.end();
        stderr.end();
        sessionEnded();
        return { code: stopped ? 0 : (run.exitCode ?? 0) };
      })();
      let stdin: Writable | undefined;
      if (o.stdin && target) {
        stdin = new Writable({
          write(chunk: Buffer, _enc, cb) {
            if (target.writableEnded || target.destroyed) return cb();
            target.write(chunk, () => cb());
          },
          final(cb) {
            sessionEnded();
            cb();
          },
        });
      } else if (o.stdin) stdin = new PassThrough().resume();
      return {
        stdin,
        stdout: o.stdout ? stdout : stdout.resume(),
        stderr: o.stderr ? stderr : stderr.resume(),
        exit,
        kill: () => {
          stopped = true;
          sessionEnded();
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
