// pods/portforward: over SPDY (kubectl; also tunnelled in a WebSocket by kubectl 1.31+) a data and an
// error stream per forwarded connection, paired by their `requestID` header; over the WebSocket
// channel protocol (client libraries) two channels per `ports` entry, each starting with the port.
import type { Duplex } from 'node:stream';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { WebSocket } from 'ws';
import { reply, type SpdyConnection, type SpdyStream } from './spdy.js';
import type { PodStreamer } from '../../api/streaming.js';

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function forwardError(pod: Pod, port: number, e: unknown): string {
  return `error forwarding port ${port} to pod ${pod.metadata?.uid ?? ''}, uid : ${errText(e)}`;
}

/** Joins `a` and `b` until either side ends. */
function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
}

export function servePortForwardSpdy(conn: SpdyConnection, pod: Pod, streamer: PodStreamer): void {
  const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream }>();
  conn.on('error', () => {});
  conn.on('stream', (stream) => {
    const replied = reply(stream);
    stream.on('error', () => {});
    const h = stream.headers;
    const id = h.requestid ?? '';
    const port = Number(h.port);
    const p = pairs.get(id) ?? {};
    pairs.set(id, p);
    if (h.streamtype === 'error') {
      p.error = stream;
      stream.resume();
      return;
    }
    if (h.streamtype !== 'data') {
      stream.end();
      return;
    }
    p.data = stream;
    const fail = (e: unknown) => {
      pairs.delete(id);
      const msg = forwardError(pod, port, e);
      if (p.error) p.error.end(msg);
      stream.end();
    };
    if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(new Error(`invalid port ${h.port}`));
    Promise.all([streamer.portForward(pod, port), replied]).then(([socket]) => {
      splice(stream, socket);
      stream.on('close', () => {
        pairs.delete(id);
        p.error?.end();
      });
    }, fail);
  });
}

/** WebSocket channel protocol: channel 2i carries data for ports[i], 2i+1 its errors. */
export function servePortForwardWebSocket(ws: WebSocket, pod: Pod, ports: number[], streamer: PodStreamer): void {
  const send = (ch: number, data: Buffer) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), data]), { binary: true });
  };
  const portBytes = (p: number) => Buffer.from([p & 0xff, p >> 8]);
  const sockets: Array<Duplex | undefined> = [];
  const early: Buffer[][] = ports.map(() => []);
  ports.forEach((port, i) => {
    send(2 * i, portBytes(port));
    send(2 * i + 1, portBytes(port));
    streamer.portForward(pod, port).then(
      (socket) => {
        sockets[i] = socket;
        for (const b of early[i]) socket.write(b);
        socket.on('data', (d: Buffer) => send(2 * i, d));
        socket.on('error', (e) => send(2 * i + 1, Buffer.from(forwardError(pod, port, e))));
        socket.on('close', () => ws.close(1000));
      },
      (e) => {
        send(2 * i + 1, Buffer.from(forwardError(pod, port, e)));
        ws.close(1000);
      },
    );
  });
  ws.on('message', (data: Buffer) => {
    if (!data.length || data[0] % 2 !== 0) return;
    const i = data[0] / 2;
    if (i >= ports.length) return;
    const payload = data.subarray(1);
    const socket = sockets[i];
    if (socket) socket.write(payload);
    else early[i].push(payload);
  });
  ws.on('close', () => sockets.forEach((s) => s?.destroy()));
}
