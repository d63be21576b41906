// Container stdout/stderr → one file per container in the CRI log format the kubelet reads
// (`<RFC3339Nano> <stream> <P|F> <text>`): lines longer than MAX_LINE are cut into partial (P)
// records ending with a full (F) one, as containerd does.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';

export type LogStream = 'stdout' | 'stderr';

const MAX_LINE = 16 * 1024;
const NEWLINE = 0x0a;

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

/**
 * Appends the output of a container's stdout and stderr pipes to `path` in the CRI format.
 * `done` resolves when both pipes have ended and the file is flushed.
 */
export class CRILogWriter {
  private readonly file: WriteStream;
  readonly done: Promise<void>;

  constructor(
    readonly path: string,
    streams: { stdout?: Readable | null; stderr?: Readable | null },
  ) {
    this.file = createWriteStream(path, { flags: 'a', mode: 0o640 });
    const pumps = (['stdout', 'stderr'] as const)
      .map((name) => (streams[name] ? this.pump(name, streams[name]) : undefined))
      .filter((p): p is Promise<void> => p !== undefined);
    this.done = Promise.all(pumps).then(
      () => new Promise<void>((resolve) => this.file.end(() => resolve())),
    );
  }

  private pump(stream: LogStream, input: Readable): Promise<void> {
    let pending: Buffer = Buffer.alloc(0);
    const emit = (chunk: Buffer, partial: boolean) => this.file.write(criLogLine(rfc3339NanoNow(), stream, partial, chunk));
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
