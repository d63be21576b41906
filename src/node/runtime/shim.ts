// What lets a container outlive the node agent's process with its output and exit code kept:
// `<runtime> run` runs under a tiny `sh` that writes the exit code to `<bundle>/exit` when the run
// ends, and the container's stdout/stderr are FIFOs in the bundle opened read-write on the
// container's side, so a write never fails for want of a reader while no agent runs (it blocks once
// the pipe buffer is full). A restarted agent opens the FIFOs again and goes on reading.
import { execFile } from 'node:child_process';
import { closeSync, constants as fsConstants, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `sh -c SHIM_SCRIPT shim <exit file> <runtime> <args…>` */
export const SHIM_SCRIPT = 'f=$1; shift; "$@"; rc=$?; echo "$rc" > "$f.tmp"; mv -f "$f.tmp" "$f"; exit $rc';

export const exitFile = (bundle: string) => join(bundle, 'exit');
const fifoPath = (bundle: string, stream: 'stdout' | 'stderr') => join(bundle, `${stream}.fifo`);

export interface StdioFifos {
  stdout: Socket;
  stderr: Socket;
  /** read-write descriptors for the child's stdout and stderr; close them once the child is spawned */
  childFds?: [number, number];
}

function openReader(path: string): Socket {
  const fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

/** Makes fresh FIFOs in the bundle and opens both ends (the reader before any writer can close). */
export async function createStdioFifos(bundle: string): Promise<StdioFifos> {
  const paths = [fifoPath(bundle, 'stdout'), fifoPath(bundle, 'stderr')] as const;
  for (const p of paths) rmSync(p, { force: true });
  await run('mkfifo', ['-m', '0600', ...paths]);
  return openStdioFifos(bundle);
}

/** Opens both ends of the bundle's FIFOs (made by createStdioFifos or moved into place). */
export function openStdioFifos(bundle: string): StdioFifos {
  const paths = [fifoPath(bundle, 'stdout'), fifoPath(bundle, 'stderr')] as const;
  const readFds = paths.map((p) => openSync(p, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK));
  const childFds: [number, number] = [openSync(paths[0], fsConstants.O_RDWR), openSync(paths[1], fsConstants.O_RDWR)];
  return {
    stdout: new Socket({ fd: readFds[0]!, readable: true, writable: false }),
    stderr: new Socket({ fd: readFds[1]!, readable: true, writable: false }),
    childFds,
  };
}

/** Opens the FIFOs of a container started by an earlier agent, when they are there. */
export function reopenStdioFifos(bundle: string): StdioFifos | undefined {
  const out = fifoPath(bundle, 'stdout');
  const err = fifoPath(bundle, 'stderr');
  if (!existsSync(out) || !existsSync(err)) return undefined;
  return { stdout: openReader(out), stderr: openReader(err) };
}

export function closeChildFds(f: StdioFifos): void {
  for (const fd of f.childFds ?? []) closeSync(fd);
  f.childFds = undefined;
}

/** The exit code the shim recorded, and when. */
export function readExitFile(bundle: string): { exitCode: number; finishedAt: Date } | undefined {
  const path = exitFile(bundle);
  try {
    const code = Number(readFileSync(path, 'utf8').trim());
    if (!Number.isInteger(code)) return undefined;
    return { exitCode: code, finishedAt: statSync(path).mtime };
  } catch {
    return undefined;
  }
}
