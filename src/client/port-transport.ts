// The in-process transport across threads: a component on a worker thread reaches the API server on the
// main thread through a MessagePort. Each HTTP connection is an in-memory socket pair on either side whose
// bytes cross the port; the server end gets the identity the main thread bound to the port, so the worker
// is authenticated, authorized and admitted exactly like a component on the main thread. Watch lines keep
// the in-memory delivery of the in-process transport: the server hands them to a sink that posts them to
// the worker's line queue, and the worker tells back how much it has read (the server cuts off a watcher
// whose backlog grows too large, as it does on one thread).
//
// What one side sends before its microtasks run goes in one postMessage, in order (waiting for the next turn
// of the event loop batched more but made a binding's round trip several times longer).
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  type ConnectionAcceptor,
  httpTransport,
  IN_PROCESS_IDENTITY,
  IN_PROCESS_LINE_SINKS,
  type InProcessIdentity,
  LineQueue,
  type LineSink,
  type LineSinkRegistry,
  type LineSinks,
  memorySocketPair,
  type Transport,
} from './transport.js';

/** What crosses the port, batched: open / data / end / close a connection; watch lines; lines read. */
type Message =
  | readonly ['open', number]
  | readonly ['data', number, Uint8Array]
  | readonly ['end', number]
  | readonly ['close', number]
  | readonly ['lines', string, string[]]
  | readonly ['read', string, number];

/** Collects what one side sends during a turn of the event loop and posts it as one message. */
class Outbox {
  private batch: Message[] = [];
  private transfer: ArrayBuffer[] = [];
  private closed = false;

  constructor(private readonly port: MessagePort) {}

  send(m: Message): void {
    if (this.closed) return;
    if (this.batch.push(m) === 1) queueMicrotask(this.flush);
  }

  /** Bytes, copied out of their (often pooled, shared) buffer: the copy's memory moves to the other thread. */
  data(id: number, d: Buffer): void {
    if (this.closed) return;
    const copy = new Uint8Array(d);
    this.transfer.push(copy.buffer);
    this.send(['data', id, copy]);
  }

  /** A watch line: consecutive lines of one watch travel in one array. */
  line(token: string, line: string): void {
    const last = this.batch[this.batch.length - 1];
    if (last?.[0] === 'lines' && last[1] === token) last[2].push(line);
    else this.send(['lines', token, [line]]);
  }

  /** Characters of a watch's lines read: consecutive counts of one watch add up. */
  read(token: string, chars: number): void {
    const last = this.batch[this.batch.length - 1];
    if (last?.[0] === 'read' && last[1] === token) this.batch[this.batch.length - 1] = ['read', token, last[2] + chars];
    else this.send(['read', token, chars]);
  }

  private readonly flush = (): void => {
    const batch = this.batch;
    const transfer = this.transfer;
    this.batch = [];
    this.transfer = [];
    if (!this.closed && batch.length) this.port.postMessage(batch, transfer);
  };

  close(): void {
    this.flush();
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/**
 * One side's connections: the `wire` end of each in-memory pair is joined to the port, the other end
 * belongs to node:http (the server on the main thread, the client on the worker).
 */
class Wires {
  private readonly wires = new Map<number, Duplex>();

  constructor(private readonly out: Outbox) {}

  /** Joins `wire` to connection `id`: what is written into the pair crosses the port, and back. */
  join(id: number, wire: Duplex): void {
    if (this.out.isClosed) {
      // nothing is on the other side any more: the connection fails at once rather than waiting forever
      wire.on('error', () => {});
      process.nextTick(() => wire.destroy());
      return;
    }
    this.wires.set(id, wire);
    wire.on('data', (d: Buffer) => this.out.data(id, d));
    wire.on('end', () => this.out.send(['end', id]));
    wire.on('error', () => {});
    wire.on('close', () => {
      if (this.wires.get(id) !== wire) return;
      this.wires.delete(id);
      this.out.send(['close', id]);
    });
  }

  /** A data, end or close message from the other side. */
  receive(m: Message): boolean {
    const [kind, id] = m;
    if (kind !== 'data' && kind !== 'end' && kind !== 'close') return false;
    const wire = this.wires.get(id);
    if (!wire || wire.destroyed) return true;
    if (kind === 'data') wire.write(Buffer.from(m[2].buffer, m[2].byteOffset, m[2].byteLength));
    else if (kind === 'end') wire.end();
    else {
      // the other side is gone: this side must not tell it so again
      this.wires.delete(id);
      wire.destroy();
    }
    return true;
  }

  /** The port is gone: every connection ends with it. */
  destroyAll(): void {
    const all = [...this.wires.values()];
    this.wires.clear();
    for (const w of all) w.destroy();
  }

  get size(): number {
    return this.wires.size;
  }
}

/** A watch's line sink whose reader is on the other thread: its backlog is what was posted and not yet read. */
class PortSink implements LineSink {
  backlog = 0;

  constructor(
    private readonly token: string,
    private readonly out: Outbox,
  ) {}

  push(line: string): void {
    this.backlog += line.length;
    this.out.line(this.token, line);
  }
}

export interface PortEndpoint {
  /** the port to hand to the worker (transfer it): portTransport() on the worker takes it */
  port: MessagePort;
  /** connections open through it */
  readonly connections: number;
  /** ends every connection and closes the port */
  close(): void;
}

/**
 * The main thread's side of a port transport: connections the worker opens go to `acceptor` (the API
 * server's in-process acceptor) with `identity` attached, as inProcessTransport's do.
 */
export function servePort(acceptor: ConnectionAcceptor, identity: InProcessIdentity): PortEndpoint {
  const { port1: port, port2: remote } = new MessageChannel();
  const out = new Outbox(port);
  const wires = new Wires(out);
  const sinks = new Map<string, PortSink>();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    wires.destroyAll();
    sinks.clear();
    out.close();
    port.close();
  };
  port.on('message', (batch: Message[]) => {
    for (const m of batch) {
      if (wires.receive(m)) continue;
      if (m[0] === 'open') {
        const [wire, server] = memorySocketPair();
        const id = m[1];
        // the connection's last watch: node:http's client sends one request at a time on a connection, so a
        // claim means the watch before it is over and its sink can go
        let current: string | undefined;
        const lineSinks: LineSinks = {
          claim: (token) => {
            // a token names one watch of this port's worker; a second claim finds nothing
            if (token === current || sinks.has(token)) return undefined;
            if (current !== undefined) sinks.delete(current);
            current = token;
            const sink = new PortSink(token, out);
            sinks.set(token, sink);
            return sink;
          },
        };
        Object.assign(server, { [IN_PROCESS_IDENTITY]: { ...identity, groups: [...identity.groups] }, [IN_PROCESS_LINE_SINKS]: lineSinks });
        server.on('close', () => {
          if (current !== undefined) sinks.delete(current);
        });
        wires.join(id, wire);
        acceptor.emit('connection', server);
      } else if (m[0] === 'read') {
        const sink = sinks.get(m[1]);
        // the reader counts the lines of a response body too (a watch that failed after its claim): they were never backlog
        if (sink) sink.backlog = Math.max(0, sink.backlog - m[2]);
      }
    }
  });
  port.on('close', close);
  return {
    port: remote,
    get connections() {
      return wires.size;
    },
    close,
  };
}

class PortAgent extends HttpAgent {
  private nextId = 0;

  constructor(
    private readonly out: Outbox,
    private readonly wires: Wires,
  ) {
    super({ keepAlive: true });
  }

  override createConnection(): Duplex {
    const id = ++this.nextId;
    const [client, wire] = memorySocketPair();
    this.out.send(['open', id]);
    this.wires.join(id, wire);
    return client;
  }
}

/**
 * The worker's side: a Transport whose connections cross `port` (from servePort on the main thread).
 * Closing it closes the port.
 */
export function portTransport(port: MessagePort, opts: { userAgent?: string } = {}): Transport {
  const out = new Outbox(port);
  const wires = new Wires(out);
  const sinks: LineSinkRegistry = new Map<string, LineQueue>();
  sinks.newQueue = (token) => new LineQueue((chars) => out.read(token, chars));
  port.on('message', (batch: Message[]) => {
    for (const m of batch) {
      if (wires.receive(m)) continue;
      if (m[0] === 'lines') {
        const q = sinks.get(m[1]);
        if (q) for (const l of m[2]) q.push(l);
      }
    }
  });
  port.on('close', () => {
    out.close();
    wires.destroyAll();
  });
  const agent = new PortAgent(out, wires);
  const t = httpTransport(
    { request: httpRequest, agent, host: 'in-process', port: 80, pathPrefix: '', headers: { 'User-Agent': opts.userAgent ?? 'timonel/component-thread', Accept: 'application/json' } },
    sinks,
  );
  return {
    request: (req) => t.request(req),
    stream: (req) => t.stream(req),
    close() {
      t.close();
      wires.destroyAll();
      out.close();
      port.close();
    },
  };
}
