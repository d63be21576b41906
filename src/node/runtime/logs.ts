// Container stdout/stderr → one file per container in the CRI log format the kubelet reads
// (`<RFC3339Nano> <stream> <P|F> <text>`): lines longer than MAX_LINE are cut into partial (P)
// records ending with a full (F) one, as containerd does. Rotated as the kubelet does
// (containerLogMaxSize, containerLogMaxFiles): the file moves to `<path>.<YYYYMMDD-hhmmss>`, older
// rotated files are gzipped, the oldest removed.
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

export type LogStream = 'stdout' | 'stderr';

const MAX_LINE = 16 * 1024;
const NEWLINE = 0x0a;

/** The kubelet's defaults. */
export const DEFAULT_CONTAINER_LOG_MAX_SIZE = 10 * 1024 * 1024;
export const DEFAULT_CONTAINER_LOG_MAX_FILES = 5;

export interface LogRotation {
  /** rotate once the file reaches this many bytes (containerLogMaxSize) */
  maxSize: number;
  /** the current file and the rotated ones kept, at least 2 (containerLogMaxFiles) */
  maxFiles: number;
}

let lastMs = 0;
let lastNs = 0n;
/** Now as RFC 3339 with nanoseconds (sub-millisecond digits from the monotonic clock). */
export function rfc3339NanoNow(): string {
  const ms = Date.now();
  const ns = process.hrtime.bigint() % 1_000_000n;
  // Sub-millisecond digits must not go backwards within one millisecond.
  const sub = ms === lastMs && ns <= lastNs ? lastNs + 1n : ns;
  lastMs = ms;
  lastNs = sub;
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}${sub.toString().padStart(6, '0')}Z`;
}

/** Formats one CRI log record. */
export function criLogLine(time: string, stream: LogStream, partial: boolean, text: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${time} ${stream} ${partial ? 'P' : 'F'} `), Buffer.from(text), Buffer.from('\n')]);
}

/** `YYYYMMDD-hhmmss` (UTC), the kubelet's suffix for rotated logs. */
function rotationStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** The rotated files of `path`, oldest first. */
export function rotatedLogs(path: string): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && /^\d{8}-\d{6}(-\d+)?(\.gz)?$/.test(n.slice(prefix.length)))
    .sort((a, b) => rotationKey(a.slice(prefix.length)).localeCompare(rotationKey(b.slice(prefix.length))))
    .map((n) => join(dir, n));
}

/** Sortable form of a rotation suffix (`-<n>` for several rotations within one second). */
function rotationKey(suffix: string): string {
  const m = /^(\d{8}-\d{6})(?:-(\d+))?/.exec(suffix)!;
  return `${m[1]}-${(m[2] ?? '0').padStart(6, '0')}`;
}

/** Moves `path` aside, gzips the older rotated files, drops the oldest beyond `maxFiles - 1`. */
export function rotateLog(path: string, maxFiles: number, now = new Date()): string {
  const stamp = `${path}.${rotationStamp(now)}`;
  // within one second: a number above those of the same second still kept, so names sort by age
  let n = -1;
  for (const f of rotatedLogs(path)) {
    if (!f.startsWith(stamp)) continue;
    const m = /^(?:-(\d+))?(?:\.gz)?$/.exec(f.slice(stamp.length));
    if (m) n = Math.max(n, Number(m[1] ?? 0));
  }
  const target = n < 0 ? stamp : `${stamp}-${n + 1}`;
  renameSync(path, target);
  const rotated = rotatedLogs(path);
  for (const f of rotated.slice(0, -1)) {
    if (f.endsWith('.gz')) continue;
    try {
      writeFileSync(`${f}.gz`, gzipSync(readFileSync(f)), { mode: 0o640 });
      rmSync(f);
    } catch {
      // left uncompressed
    }
  }
  const kept = Math.max(1, maxFiles - 1);
  const all = rotatedLogs(path);
  for (const f of all.slice(0, Math.max(0, all.length - kept))) rmSync(f, { force: true });
  return target;
}

/**
 * Appends the output of a container's stdout and stderr pipes to `path` in the CRI format.
 * `done` resolves when both pipes have ended and the file is closed. Writes are synchronous, so a
 * rotation never leaves a record behind in the renamed file after readers have moved on.
 */
export class CRILogWriter {
  private fd: number;
  private size: number;
  readonly done: Promise<void>;

  constructor(
    readonly path: string,
    streams: { stdout?: Readable | null; stderr?: Readable | null },
    readonly rotation?: LogRotation,
  ) {
    this.fd = openSync(path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
    const pumps = (['stdout', 'stderr'] as const)
      .map((name) => (streams[name] ? this.pump(name, streams[name]) : undefined))
      .filter((p): p is Promise<void> => p !== undefined);
    this.done = Promise.all(pumps).then(() => {
      closeSync(this.fd);
      this.fd = -1;
    });
  }

  private write(record: Buffer): void {
    if (this.fd < 0) return;
    if (this.rotation && this.size > 0 && this.size + record.length > this.rotation.maxSize) this.rotate();
    let off = 0;
    while (off < record.length) off += writeSync(this.fd, record, off);
    this.size += record.length;
  }

  private rotate(): void {
    try {
      rotateLog(this.path, this.rotation!.maxFiles);
    } catch {
      return; // keep appending to the current file
    }
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a', 0o640);
    this.size = 0;
  }

  private pump(stream: LogStream, input: Readable): Promise<void> {
    let pending: Buffer = Buffer.alloc(0);
    const emit = (chunk: Buffer, partial: boolean) => this.write(criLogLine(rfc3339NanoNow(), stream, partial, chunk));
    return new Promise((resolve) => {
      input.on('data', (data: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, data]) : data;
        let start = 0;
        for (;;) {
          const nl = pending.indexOf(NEWLINE, start);
          if (nl < 0) break;
          let line = pending.subarray(start, nl);
          while (line.length > MAX_LINE) {
            emit(line.subarray(0, MAX_LINE), true);
            line = line.subarray(MAX_LINE);
          }
          emit(line, false);
          start = nl + 1;
        }
        pending = pending.subarray(start);
        while (pending.length > MAX_LINE) {
          emit(pending.subarray(0, MAX_LINE), true);
          pending = pending.subarray(MAX_LINE);
        }
      });
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        if (pending.length) emit(pending, false);
        pending = Buffer.alloc(0);
        resolve();
      };
      input.once('end', finish);
      input.once('close', finish);
      input.once('error', finish);
    });
  }
}

/**
 * Reads a container's log file as it grows, across rotations: it keeps the file it has open until
 * that is read to its end and `path` names another file, then goes on in the new one from its start.
 */
export class CRILogFollower {
  private fd = -1;
  private ino = -1;
  private offset = 0;

  /** `fromEnd`: only what is written from now on. */
  constructor(
    readonly path: string,
    fromEnd = false,
  ) {
    this.open();
    if (fromEnd && this.fd >= 0) this.offset = fstatSync(this.fd).size;
  }

  private open(): boolean {
    try {
      this.fd = openSync(this.path, 'r');
    } catch {
      this.fd = -1;
      return false;
    }
    this.ino = fstatSync(this.fd).ino;
    this.offset = 0;
    return true;
  }

  /** The bytes written since the last call (empty when none). */
  read(): Buffer {
    if (this.fd < 0 && !this.open()) return Buffer.alloc(0);
    const parts: Buffer[] = [this.drain()];
    let current: number;
    try {
      current = statSync(this.path).ino;
    } catch {
      return parts[0]!;
    }
    if (current !== this.ino) {
      closeSync(this.fd);
      if (this.open()) parts.push(this.drain());
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private drain(): Buffer {
    const chunks: Buffer[] = [];
    const buf = Buffer.allocUnsafe(256 * 1024);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
