// The WebSocket side of streaming: the upgrade (subprotocol choice, including kubectl's
// `SPDY/3.1+portforward.k8s.io`, whose `/` the ws package's header parser refuses) and a Duplex over
// the binary messages for the SPDY tunnel.
import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export const SPDY_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

export function isWebSocketRequest(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** The subprotocols the client offers, in its order. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  return (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Completes the WebSocket handshake on `socket` with subprotocol `protocol` (one the client offered). */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, protocol: string): Promise<WebSocket> {
  // the ws parser takes only token characters; it sees a stand-in and answers with the real name
  const standIn = 'timonel-selected-protocol';
  req.headers['sec-websocket-protocol'] = standIn;
  return new Promise((resolve) => {
    const server = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 << 20, handleProtocols: () => protocol });
    server.handleUpgrade(req, socket, Buffer.alloc(0), (ws) => resolve(ws));
  });
}

/** A byte stream over the binary messages of `ws` (each write one message). */
export function webSocketDuplex(ws: WebSocket): Duplex {
  const d = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== WebSocket.OPEN) return cb(new Error('websocket closed'));
      ws.send(chunk, { binary: true }, (e) => cb(e ?? null));
    },
    final(cb) {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      cb();
    },
    read() {
      ws.resume?.();
    },
    destroy(err, cb) {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      cb(err);
    },
  });
  ws.on('message', (data: Buffer) => {
    if (!d.push(data)) ws.pause?.();
  });
  ws.on('close', () => d.push(null));
  ws.on('error', (e) => d.destroy(e));
  return d;
}
