// SPDY/3.1 server side of kubectl's streaming connections (exec, attach, port-forward) over the npm
// spdy-transport, on a socket that already answered 101 (or a WebSocket tunnel). kubectl opens every
// stream itself (SYN_STREAM with `streamType`, and `port`/`requestID` for port-forward) and waits for
// the SYN_REPLY.
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';

/** One stream kubectl opened: a Duplex with the headers it sent (names lower case). */
export interface SpdyStream extends Duplex {
  headers: Record<string, string>;
  respond(status: number, headers: Record<string, string>, callback?: (err?: Error | null) => void): void;
  abort(): void;
}

export interface SpdyConnection {
  on(event: 'stream', listener: (stream: SpdyStream) => void): this;
  on(event: 'error' | 'close', listener: (e?: Error) => void): this;
  /** GOAWAY, then closes the socket once the streams are done */
  end(callback?: () => void): void;
  destroyStreams(): void;
}

interface SpdyParser {
  parseKVs(buffer: unknown, cb: (err: Error | null, headers?: Record<string, string>) => void): void;
}
interface WindowSide {
  current: number;
  max: number;
}
interface SpdyTransport {
  connection: {
    create(
      socket: Duplex,
      o: Record<string, unknown>,
    ): SpdyConnection & {
      start(version: number): void;
      _setDefaultWindow(settings: unknown): void;
      _spdyState: { parser: SpdyParser; window: { send: WindowSide }; streamWindow: { send: WindowSide } };
    };
  };
}

const require = createRequire(import.meta.url);
// loaded on the first SPDY connection: most servers never see one, and it costs start-up time
let transport: SpdyTransport | undefined;
const spdyTransport = () => (transport ??= require('spdy-transport') as SpdyTransport);

/**
 * Serves SPDY on `socket`. kubectl's SYN_STREAM frames carry no `:method`/`:path`, which the parser
 * refuses; they get placeholders before it checks.
 */
/**
 * Sends the SYN_REPLY; resolves once it is framed. Header frames are compressed asynchronously, so data
 * written earlier on another stream could overtake it, and kubectl (spdystream) stalls when data for one
 * stream arrives while it still waits for the reply to another.
 */
export function reply(stream: SpdyStream): Promise<void> {
  return new Promise((resolve) => stream.respond(200, {}, () => resolve()));
}

export function spdyServer(socket: Duplex): SpdyConnection {
  const conn = spdyTransport().connection.create(socket, { protocol: 'spdy', isServer: true, windowSize: 1 << 24 });
  const parser = conn._spdyState.parser;
  const parseKVs = parser.parseKVs.bind(parser);
  parser.parseKVs = (buffer, cb) =>
    parseKVs(buffer, (err, headers) => {
      if (headers && headers[':method'] === undefined) {
        headers[':method'] = 'POST';
        headers[':path'] = '/';
      }
      cb(err, headers);
    });
  // kubectl's spdystream never sends WINDOW_UPDATE (nor does the kubelet wait for one): no send-side flow control
  const st = conn._spdyState;
  for (const side of [st.window.send, st.streamWindow.send]) side.current = side.max = 1 << 30;
  conn._setDefaultWindow = () => {};
  conn.start(3.1);
  return conn;
}
