// pods/exec, pods/attach and pods/portforward: the upgraded connection (WebSocket channel protocol
// v1–v5, SPDY/3.1, or SPDY tunnelled in a WebSocket for port-forward) joined to what the node agent
// running the pod offers (ApiServer.podStreamers).
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { errBadRequest, errMethodNotAllowed, StatusError } from '../../api/errors.js';
import { upgradedSockets, type ApiServer, type Ctx, type ResourceRequest } from '../handler.js';
import { spdyChannels, webSocketChannels, type CommandChannels } from './channels.js';
import { servePortForwardSpdy, servePortForwardWebSocket } from './portforward.js';
import { spdyServer } from './spdy.js';
import type { PodStreamer, StreamOptions, StreamProcess } from '../../api/streaming.js';
import { acceptWebSocket, CHANNEL_PROTOCOLS, isWebSocketRequest, offeredProtocols, SPDY_TUNNEL_PROTOCOL, webSocketDuplex } from './websocket.js';

export type { PodStreamer, StreamOptions, StreamProcess, TerminalSize } from '../../api/streaming.js';
export { spdyServer } from './spdy.js';

const SPDY_COMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

const installed = new WeakSet<ApiServer>();

/** Serves pods/exec, pods/attach and pods/portforward on `api` (once; later calls do nothing). */
export function installStreaming(api: ApiServer): void {
  if (installed.has(api)) return;
  installed.add(api);
  for (const sub of ['exec', 'attach', 'portforward'] as const) api.subresourceHandlers.set(`/pods/${sub}`, (ctx, r, method) => serveStreaming(api, sub, ctx, r, method));
}

const isTrue = (v: string | null) => v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';

function headerValues(req: IncomingMessage, name: string): string[] {
  const v = req.headersDistinct?.[name] ?? [];
  return v.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
}

function upgradeRequired(): StatusError {
  return errBadRequest('Upgrade request required');
}

/** The container of `pod` the request names (the only one when it names none). */
function chooseContainer(pod: Pod, asked: string): string {
  const name = pod.metadata?.name ?? '';
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const inits = (pod.spec?.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec?.ephemeralContainers ?? []).map((c) => c.name);
  if (!asked) {
    if (containers.length === 1) return containers[0]!;
    let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`;
    if (inits.length) msg += ` or one of the init containers: [${inits.join(' ')}]`;
    throw errBadRequest(msg);
  }
  if (![...containers, ...inits, ...ephemeral].includes(asked)) throw errBadRequest(`container ${asked} is not valid for pod ${name}`);
  return asked;
}

async function serveStreaming(api: ApiServer, sub: 'exec' | 'attach' | 'portforward', ctx: Ctx, r: ResourceRequest, method: string): Promise<void> {
  if (method !== 'GET' && method !== 'POST') throw errMethodNotAllowed();
  const socket = upgradedSockets.get(ctx.req);
  if (!socket || !ctx.req.headers.upgrade) throw upgradeRequired();
  const pod = (await api.registry.get(r.info, r.namespace, r.name!)).obj as Pod;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw errBadRequest(`pod ${pod.metadata?.name} does not have a host assigned`);
  const streamer = api.podStreamers.get(nodeName);
  if (!streamer) throw new StatusError(503, 'ServiceUnavailable', `pod ${pod.metadata?.name} runs on node ${nodeName}, which has no node agent in this server`);
  const ws = isWebSocketRequest(ctx.req);
  if (!ws && String(ctx.req.headers.upgrade).toLowerCase() !== 'spdy/3.1') throw errBadRequest(`unsupported upgrade protocol ${String(ctx.req.headers.upgrade)}`);
  if (sub === 'portforward') return servePortForward(ctx, socket, pod, streamer, ws);
  return serveCommand(ctx, socket, pod, streamer, sub, ws);
}

function negotiate(offered: string[], supported: readonly string[]): string {
  const p = offered.find((o) => supported.includes(o));
  if (p === undefined) throw new StatusError(403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offered)}, server supports ${JSON.stringify(supported)}`);
  return p;
}

function writeSpdySwitch(socket: Duplex, protocol: string): void {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
}

function detach(ctx: Ctx, socket: Duplex): void {
  ctx.res.detachSocket(socket as Socket);
}

async function serveCommand(ctx: Ctx, socket: Duplex, pod: Pod, streamer: PodStreamer, sub: 'exec' | 'attach', ws: boolean): Promise<void> {
  const q = ctx.query;
  const container = chooseContainer(pod, q.get('container') ?? '');
  const o: StreamOptions = { stdin: isTrue(q.get('stdin')), stdout: isTrue(q.get('stdout')), stderr: isTrue(q.get('stderr')), tty: isTrue(q.get('tty')) };
  if (o.tty) o.stderr = false;
  if (!o.stdin && !o.stdout && !o.stderr) throw errBadRequest('you must specify at least 1 of stdin, stdout, stderr');
  const command = q.getAll('command');
  if (sub === 'exec' && command.length === 0) throw errBadRequest('you must specify at least 1 command');
  const protocol = ws ? negotiate(offeredProtocols(ctx.req), CHANNEL_PROTOCOLS) : negotiate(spdyOffered(ctx.req), SPDY_COMMAND_PROTOCOLS);
  const proc = sub === 'exec' ? await streamer.exec(pod, container, command, o) : await streamer.attach(pod, container, o);
  detach(ctx, socket);
  let channels: CommandChannels;
  try {
    if (ws) channels = webSocketChannels(await acceptWebSocket(ctx.req, socket, protocol), protocol, o);
    else {
      writeSpdySwitch(socket, protocol);
      channels = await spdyChannels(spdyServer(socket), protocol, o);
    }
  } catch (e) {
    proc.kill();
    socket.destroy();
    throw e;
  }
  await runSession(proc, channels, sub === 'exec' ? command : undefined);
}

function spdyOffered(req: IncomingMessage): string[] {
  const offered = headerValues(req, 'x-stream-protocol-version');
  return offered.length ? offered : ['channel.k8s.io'];
}

function exitStatus(code: number, message: string | undefined, command: string[] | undefined): Status {
  if (code === 0 && !message) return { metadata: {}, status: 'Success' };
  if (message && code < 0) return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
  const what = command ? `error executing command [${command.join(' ')}], exit code ${code}` : `container exited with code ${code}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: ${what}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

function pump(from: Readable | undefined, to: Writable | undefined): Promise<void> {
  if (!from || from.readableEnded || from.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    if (!to) {
      from.resume();
      from.on('end', resolve);
      from.on('close', resolve);
      return;
    }
    from.pipe(to, { end: false });
    from.on('end', resolve);
    from.on('close', resolve);
    from.on('error', () => resolve());
  });
}

async function runSession(proc: StreamProcess, ch: CommandChannels, command: string[] | undefined): Promise<void> {
  if (ch.stdin && proc.stdin) {
    proc.stdin.on('error', () => {});
    ch.stdin.pipe(proc.stdin);
  } else ch.stdin?.resume();
  ch.onResize((s) => proc.resize?.(s));
  void ch.gone.then(() => proc.kill());
  const [exit] = await Promise.all([proc.exit, pump(proc.stdout, ch.stdout), pump(proc.stderr, ch.stderr)]);
  for (const w of [ch.stdout, ch.stderr]) if (w && !w.writableEnded) w.end();
  try {
    await ch.sendStatus(exitStatus(exit.code, exit.message, command));
  } finally {
    ch.close();
  }
}

async function servePortForward(ctx: Ctx, socket: Duplex, pod: Pod, streamer: PodStreamer, ws: boolean): Promise<void> {
  if (!ws) {
    negotiate(headerValues(ctx.req, 'x-stream-protocol-version'), [PORT_FORWARD_PROTOCOL]);
    detach(ctx, socket);
    writeSpdySwitch(socket, PORT_FORWARD_PROTOCOL);
    return servePortForwardSpdy(spdyServer(socket), pod, streamer);
  }
  const offered = offeredProtocols(ctx.req);
  const protocol = negotiate(offered, [SPDY_TUNNEL_PROTOCOL, ...CHANNEL_PROTOCOLS, PORT_FORWARD_PROTOCOL]);
  let ports: number[] = [];
  if (protocol !== SPDY_TUNNEL_PROTOCOL) {
    ports = ctx.query
      .getAll('ports')
      .flatMap((p) => p.split(','))
      .map((p) => Number(p.trim()));
    if (!ports.length) throw errBadRequest('query parameter "port" is required');
    for (const p of ports) if (!Number.isInteger(p) || p < 1 || p > 65535) throw errBadRequest(`port "${p}" must be > 0 and < 65536`);
  }
  detach(ctx, socket);
  const conn = await acceptWebSocket(ctx.req, socket, protocol);
  if (protocol === SPDY_TUNNEL_PROTOCOL) {
    return servePortForwardSpdy(spdyServer(webSocketDuplex(conn)), pod, streamer);
  }
  servePortForwardWebSocket(conn, pod, ports, streamer);
}
