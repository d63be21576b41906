// The port transport: HTTP connections and watch lines across a MessagePort, the identity bound on the serving side.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { type PortEndpoint, portTransport, servePort } from '../../src/client/port-transport.js';
import {
  type ConnectionAcceptor,
  IN_PROCESS_IDENTITY,
  IN_PROCESS_LINE_SINKS,
  inProcessAcceptor,
  LINE_SINK_HEADER,
  type InProcessIdentity,
  type LineSink,
  type LineSinks,
  type Transport,
} from '../../src/client/transport.js';

const identity: InProcessIdentity = { username: 'system:serviceaccount:kube-system:tester', groups: ['system:serviceaccounts'] };

type Sock = { [IN_PROCESS_IDENTITY]?: InProcessIdentity; [IN_PROCESS_LINE_SINKS]?: LineSinks };

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A server that answers who asked and what they sent; /lines?n=N streams N lines through the sink when it can. */
function testServer(state: { sinks: LineSink[]; release?: () => void }) {
  return inProcessAcceptor((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const sock = req.socket as unknown as Sock;
      if (url.pathname === '/lines') {
        const n = Number(url.searchParams.get('n'));
        const token = req.headers[LINE_SINK_HEADER];
        const sink = typeof token === 'string' && url.searchParams.get('body') !== '1' ? sock[IN_PROCESS_LINE_SINKS]?.claim(token) : undefined;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        for (let i = 0; i < n; i++) {
          const line = JSON.stringify({ i, pad: 'x'.repeat(i % 50) });
          if (sink) sink.push(line);
          else res.write(`${line}\n`);
        }
        if (sink) state.sinks.push(sink);
        if (url.searchParams.get('hold') === '1') await new Promise<void>((r) => (state.release = r));
        res.end();
        return;
      }
      const sent = await body(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ who: sock[IN_PROCESS_IDENTITY], method: req.method, path: req.url, length: sent.length, sum: sent.reduce((a, b) => (a + b) % 65521, 0) }));
    })();
  });
}

/** Runs `fn` with a port transport served by `acceptor`; both ends are closed afterwards. */
async function overPort(acceptor: ConnectionAcceptor, fn: (t: Transport, e: PortEndpoint) => Promise<void>): Promise<void> {
  const e = servePort(acceptor, identity);
  const t = portTransport(e.port);
  try {
    await fn(t, e);
  } finally {
    t.close();
    e.close();
  }
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of lines) out.push(l);
  return out;
}

describe('port transport', () => {
  it('carries requests and answers, with the identity bound to the port', async () => {
    const state = { sinks: [] as LineSink[] };
    await overPort(testServer(state), async (t) => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    const res = await t.request({ method: 'PUT', path: '/api/v1/things?x=1', body: big });
    assert.equal(res.status, 200);
    const got = JSON.parse(res.body.toString()) as { who: InProcessIdentity; method: string; path: string; length: number; sum: number };
    assert.deepEqual(got.who, identity);
    assert.equal(got.method, 'PUT');
    assert.equal(got.path, '/api/v1/things?x=1');
    assert.equal(got.length, big.length);
    assert.equal(got.sum, big.reduce((a, b) => (a + b) % 65521, 0));
    // many at once, each answered with its own request
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => t.request({ method: 'POST', path: `/n/${i}`, body: 'y'.repeat(i) })));
    many.forEach((r, i) => {
      const b = JSON.parse(r.body.toString()) as { path: string; length: number };
      assert.equal(b.path, `/n/${i}`);
      assert.equal(b.length, i);
    });
    });
  });

  it('delivers watch lines through the sink in order, and counts back what the reader took', async () => {
    const state = { sinks: [] as LineSink[], release: undefined as (() => void) | undefined };
    await overPort(testServer(state), async (t) => {
    const s = await t.stream({ method: 'GET', path: '/lines?n=2000&hold=1' });
    assert.equal(s.status, 200);
    const it = s.lines[Symbol.asyncIterator]();
    const got: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const r = await it.next();
      assert.equal(r.done, false);
      got.push(r.value as string);
    }
    assert.deepEqual(
      got.map((l) => (JSON.parse(l) as { i: number }).i),
      Array.from({ length: 2000 }, (_, i) => i),
    );
    // every line was read: the serving side's backlog comes back to zero
    const sink = state.sinks[0];
    assert.ok(sink, 'the server claimed the sink');
    for (let i = 0; i < 100 && sink.backlog !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(sink.backlog, 0);
    state.release?.();
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    });
  });

  it('a sink holds what the reader has not taken as backlog', async () => {
    const state = { sinks: [] as LineSink[], release: undefined as (() => void) | undefined };
    await overPort(testServer(state), async (t) => {
    const s = await t.stream({ method: 'GET', path: '/lines?n=500&hold=1' });
    for (let i = 0; i < 100 && !state.sinks.length; i++) await new Promise((r) => setTimeout(r, 10));
    // nothing read yet: all of it is backlog, however long we wait
    await new Promise((r) => setTimeout(r, 50));
    const expected = Array.from({ length: 500 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(i % 50) }).length).reduce((a, b) => a + b, 0);
    assert.equal(state.sinks[0].backlog, expected);
    state.release?.();
    assert.equal((await collect(s.lines)).length, 500);
    });
  });

  it('lines in the response body (no sink claimed) arrive as lines too', async () => {
    await overPort(testServer({ sinks: [] }), async (t) => {
    const s = await t.stream({ method: 'GET', path: '/lines?n=300&body=1' });
    const lines = await collect(s.lines);
    assert.equal(lines.length, 300);
    assert.equal((JSON.parse(lines[299]) as { i: number }).i, 299);
    });
  });

  it('a token is claimed once: a second claim on the port finds nothing', async () => {
    let second: LineSink | undefined | 'unset' = 'unset';
    const acceptor = inProcessAcceptor((req, res) => {
      const sinks = (req.socket as unknown as Sock)[IN_PROCESS_LINE_SINKS];
      const token = req.headers[LINE_SINK_HEADER] as string;
      const first = sinks?.claim(token);
      second = sinks?.claim(token);
      first?.push('only');
      res.end();
    });
    await overPort(acceptor, async (t) => {
    const s = await t.stream({ method: 'GET', path: '/w' });
    assert.deepEqual(await collect(s.lines), ['only']);
    assert.equal(second, undefined);
    });
  });

  it('closing the serving side ends open watches with an error and fails requests rather than hanging', async () => {
    const state = { sinks: [] as LineSink[], release: undefined as (() => void) | undefined };
    const e = servePort(testServer(state), identity);
    const t = portTransport(e.port);
    try {
      const s = await t.stream({ method: 'GET', path: '/lines?n=3&hold=1' });
      const it = s.lines[Symbol.asyncIterator]();
      for (let i = 0; i < 3; i++) assert.equal((await it.next()).done, false);
      // the port's close reaches the other side as an event: keep the loop alive for it
      const alive = setTimeout(() => {}, 5000);
      e.close();
      await assert.rejects(() => it.next());
      clearTimeout(alive);
      await assert.rejects(() => t.request({ method: 'GET', path: '/after' }));
      assert.equal(e.connections, 0);
    } finally {
      t.close();
      state.release?.();
    }
  });

  it('works across threads: a worker reaches a server on this thread', async () => {
    const e = servePort(testServer({ sinks: [] }), identity);
    const moduleUrl = new URL('../../src/client/port-transport.ts', import.meta.url).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(tsx)}).then(async (m) => {
        m.register();
        const { portTransport } = await import(${JSON.stringify(moduleUrl)});
        const t = portTransport(workerData.port);
        const r = await t.request({ method: 'POST', path: '/from-worker', body: 'hello' });
        const s = await t.stream({ method: 'GET', path: '/lines?n=1000' });
        let n = 0;
        for await (const _ of s.lines) n++;
        parentPort.postMessage({ answer: JSON.parse(r.body.toString()), lines: n });
        t.close();
      });`;
    const w = new Worker(code, { eval: true, workerData: { port: e.port }, transferList: [e.port] });
    try {
      const m = await new Promise<{ answer: { who: InProcessIdentity; path: string; length: number }; lines: number }>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      assert.deepEqual(m.answer.who, identity);
      assert.equal(m.answer.path, '/from-worker');
      assert.equal(m.answer.length, 5);
      assert.equal(m.lines, 1000);
    } finally {
      await w.terminate();
      e.close();
    }
  });
});
