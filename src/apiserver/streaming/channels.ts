// The streams of one exec or attach session as the client sees them, over either transport:
// WebSocket channel protocol (channel byte 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; v5 adds
// 255 = "close channel <n>") or SPDY streams named by their `streamType` header.
import { PassThrough, type Readable, Writable } from 'node:stream';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { WebSocket } from 'ws';
import { reply, type SpdyConnection, type SpdyStream } from './spdy.js';
import type { StreamOptions, TerminalSize } from '../../api/streaming.js';

export interface CommandChannels {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  onResize(listener: (size: TerminalSize) => void): void;
  /** the outcome on the error channel: a Status (v4 and later) or its message (older protocols) */
  sendStatus(status: Status): Promise<void>;
  close(): void;
  /** settles when the client goes away */
  readonly gone: Promise<void>;
}

/** `v4.channel.k8s.io` → 4; `channel.k8s.io` → 1. */
export function protocolVersion(p: string): number {
  const m = /^v(\d+)\.channel\.k8s\.io$/.exec(p);
  return m ? Number(m[1]) : 1;
}

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

function statusPayload(status: Status, version: number): Buffer {
  if (version >= 4) return Buffer.from(JSON.stringify(status));
  return Buffer.from(status.status === 'Success' ? '' : (status.message ?? ''));
}

/** Parses the concatenated JSON objects of the resize stream. */
function resizeDecoder(listener: (size: TerminalSize) => void): (chunk: Buffer) => void {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('utf8');
    let m: RegExpExecArray | null;
    while ((m = /\{[^}]*\}/.exec(pending))) {
      pending = pending.slice(m.index + m[0].length);
      try {
        // field names match case-insensitively, as Go's JSON decoding does (client-node sends lowercase)
        const v = Object.fromEntries(Object.entries(JSON.parse(m[0]) as Record<string, unknown>).map(([k, x]) => [k.toLowerCase(), x]));
        if (typeof v.width === 'number' && typeof v.height === 'number' && v.width > 0 && v.height > 0) listener({ width: v.width, height: v.height });
      } catch {
        // not a size; skipped
      }
    }
  };
}

export function webSocketChannels(ws: WebSocket, protocol: string, o: StreamOptions): CommandChannels {
  const version = protocolVersion(protocol);
  const send = (channel: number, data: Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (ws.readyState !== WebSocket.OPEN) return resolve();
      ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true }, () => resolve());
    });
  const out = (channel: number) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        send(channel, chunk).then(() => cb(), cb);
      },
    });
  const stdin = o.stdin ? new PassThrough() : undefined;
  const resizeListeners: Array<(s: TerminalSize) => void> = [];
  const resize = resizeDecoder((s) => resizeListeners.forEach((l) => l(s)));
  let resolveGone!: () => void;
  const gone = new Promise<void>((r) => (resolveGone = r));
  ws.on('message', (data: Buffer) => {
    if (!data.length) return;
    const payload = data.subarray(1);
    switch (data[0]) {
      case STDIN:
        if (stdin && !stdin.writableEnded) stdin.write(payload);
        break;
      case RESIZE:
        resize(payload);
        break;
      case CLOSE:
        if (version >= 5 && payload[0] === STDIN) stdin?.end();
        break;
    }
  });
  ws.on('close', () => {
    stdin?.end();
    resolveGone();
  });
  ws.on('error', () => resolveGone());
  // the client learns the session is up from an empty message on the first channel it reads
  void send(o.stdout ? STDOUT : o.stderr ? STDERR : ERROR, Buffer.alloc(0));
  return {
    stdin,
    stdout: o.stdout ? out(STDOUT) : undefined,
    stderr: o.stderr ? out(STDERR) : undefined,
    onResize: (l) => resizeListeners.push(l),
    sendStatus: (status) => send(ERROR, statusPayload(status, version)),
    close: () => {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    },
    gone,
  };
}

const STREAM_WAIT_MS = 30_000;

/** Waits for the streams the client must open for `o` (error, and stdin/stdout/stderr/resize as asked). */
export function spdyChannels(conn: SpdyConnection, protocol: string, o: StreamOptions): Promise<CommandChannels> {
  const version = protocolVersion(protocol);
  const wanted = new Set(['error']);
  if (o.stdin) wanted.add('stdin');
  if (o.stdout) wanted.add('stdout');
  if (o.stderr) wanted.add('stderr');
  if (o.tty && version >= 3) wanted.add('resize');
  const got = new Map<string, SpdyStream>();
  let resolveGone!: () => void;
  const gone = new Promise<void>((r) => (resolveGone = r));
  conn.on('close', () => resolveGone());
  conn.on('error', () => resolveGone());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for the client to create streams (${[...wanted].filter((w) => !got.has(w)).join(', ')})`)), STREAM_WAIT_MS);
    const replies: Promise<void>[] = [];
    conn.on('stream', (stream) => {
      replies.push(reply(stream));
      stream.on('error', () => {});
      const type = stream.headers.streamtype ?? '';
      if (!wanted.has(type) || got.has(type)) {
        stream.resume();
        stream.end();
        return;
      }
      got.set(type, stream);
      if (type === 'stdout' || type === 'stderr' || type === 'error') stream.resume();
      if (got.size < wanted.size) return;
      clearTimeout(timer);
      const resizeListeners: Array<(s: TerminalSize) => void> = [];
      const r = got.get('resize');
      if (r) r.on('data', resizeDecoder((s) => resizeListeners.forEach((l) => l(s))));
      const errorStream = got.get('error')!;
      const ready = Promise.all(replies);
      void ready.then(() => resolve({
        stdin: got.get('stdin'),
        stdout: got.get('stdout'),
        stderr: got.get('stderr'),
        onResize: (l) => resizeListeners.push(l),
        sendStatus: (status) => new Promise<void>((done) => errorStream.end(statusPayload(status, version), () => done())),
        close: () => conn.end(),
        gone,
      }));
    });
  });
}
