// The port transport and the component thread at their edges: memory held per watch, backlog accounting, stop(),
// ordering of lines and response ends, close races, large bodies, many connections.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startComponentThread } from '../../src/cli/component-thread.js';
import { portTransport, servePort } from '../../src/client/port-transport.js';
import { IN_PROCESS_LINE_SINKS, inProcessAcceptor, LINE_SINK_HEADER, type InProcessIdentity, type LineSink, type LineSinks } from '../../src/client/transport.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const identity: InProcessIdentity = { username: 'system:serviceaccount:kube-system:tester', groups: ['system:serviceaccounts'] };
type Sock = { [IN_PROCESS_LINE_SINKS]?: LineSinks };
const sinksOf = (req: IncomingMessage) => (req.socket as unknown as Sock)[IN_PROCESS_LINE_SINKS];
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of lines) out.push(l);
  return out;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await tick(5);
    gc();
  }
}

/** Fails if `p` has not settled within `ms`. */
async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('port transport: what a watch leaves behind', () => {
  it('a kept-alive connection does not hold the sinks of the watches it carried before', async () => {
    const refs: WeakRef<LineSink>[] = [];
    const acceptor = inProcessAcceptor((req, res) => {
      const sink = sinksOf(req)?.claim(req.headers[LINE_SINK_HEADER] as string);
      assert.ok(sink);
      refs.push(new WeakRef(sink));
      sink.push('{"type":"ADDED"}');
      res.end();
    });
    const e = servePort(acceptor, identity);
    const t = portTransport(e.port);
    try {
      for (let i = 0; i < 30; i++) assert.deepEqual(await collect((await t.stream({ method: 'GET', path: `/watch/${i}` })).lines), ['{"type":"ADDED"}']);
      assert.equal(e.connections, 1, 'one connection carried every watch');
      await settle();
      const alive = refs.filter((r) => r.deref() !== undefined).length;
      assert.ok(alive <= 1, `${alive} of 30 finished watches' sinks are still held by the open connection`);
    } finally {
      t.close();
      e.close();
    }
  });

  it('the tokens of finished watches are not kept for the life of the port', async () => {
    const MiB = 1 << 20;
    let n = 0;
    const acceptor = inProcessAcceptor((req, res) => {
      // a token as long as a megabyte makes what the port keeps of each watch measurable
      const token = Buffer.alloc(MiB, 97 + (n++ % 26)).toString('latin1') + String(n);
      assert.ok(sinksOf(req)?.claim(token));
      res.setHeader('Connection', 'close');
      res.end();
    });
    const e = servePort(acceptor, identity);
    const t = portTransport(e.port);
    try {
      await t.request({ method: 'GET', path: '/warm-up' });
      await settle();
      const used = () => process.memoryUsage().heapUsed + process.memoryUsage().external;
      const before = used();
      for (let i = 0; i < 32; i++) assert.equal((await t.request({ method: 'GET', path: `/w/${i}` })).status, 200);
      for (let i = 0; i < 100 && e.connections > 0; i++) await tick(5);
      assert.equal(e.connections, 0, 'every connection closed');
      await settle();
      const grown = (used() - before) / MiB;
      assert.ok(grown < 8, `the heap grew by ${grown.toFixed(1)} MiB after 32 finished watches on closed connections`);
    } finally {
      t.close();
      e.close();
    }
  });

  it("lines of a response body are not counted off the sink's backlog", async () => {
    let sink: LineSink | undefined;
    const acceptor = inProcessAcceptor((req, res) => {
      // as the API server does when a watch fails after claiming its sink: the Status goes in the body
      sink = sinksOf(req)?.claim(req.headers[LINE_SINK_HEADER] as string);
      sink?.push('{"type":"ADDED"}');
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"kind":"Status","code":400}\n');
    });
    const e = servePort(acceptor, identity);
    const t = portTransport(e.port);
    try {
      const s = await t.stream({ method: 'GET', path: '/watch?labelSelector=~' });
      assert.deepEqual(await collect(s.lines), ['{"type":"ADDED"}', '{"kind":"Status","code":400}']);
      await tick(20);
      assert.ok(sink);
      assert.equal(sink.backlog, 0);
    } finally {
      t.close();
      e.close();
    }
  });
});

describe('component thread: stop', () => {
  it('stop() called twice resolves both times', async () => {
    const logs: string[] = [];
    const ct = await startComponentThread({ acceptor: inProcessAcceptor((_q, r) => r.end()), identity: () => identity, log: (l) => logs.push(l) });
    await within(20_000, ct.started, 'started');
    const first = ct.stop(2_000);
    const second = ct.stop(2_000);
    await within(5_000, second, 'the second stop()');
    await within(5_000, first, 'the first stop()');
    assert.deepEqual(logs, []);
  });

  it('stop() right after the start, before the worker listens, ends it well within the grace period', async () => {
    const logs: string[] = [];
    const ct = await startComponentThread({ acceptor: inProcessAcceptor((_q, r) => r.end()), identity: () => identity, log: (l) => logs.push(l) });
    const t0 = Date.now();
    await within(15_000, ct.stop(30_000), 'stop()');
    assert.ok(Date.now() - t0 < 10_000);
    await within(1_000, ct.stop(), 'stop() after the exit');
    assert.deepEqual(logs, []);
  });
});

describe('port transport: ordering, bodies, failures', () => {
  it('lines always precede the end of their response, over many short watches on one connection', async () => {
    const acceptor = inProcessAcceptor((req, res) => {
      const sink = sinksOf(req)?.claim(req.headers[LINE_SINK_HEADER] as string);
      res.writeHead(200);
      res.flushHeaders();
      for (let i = 0; i < 50; i++) sink?.push(`{"i":${i}}`);
      res.end();
    });
    const e = servePort(acceptor, identity);
    const t = portTransport(e.port);
    try {
      for (let w = 0; w < 100; w++) assert.equal((await collect((await t.stream({ method: 'GET', path: '/w' })).lines)).length, 50);
      assert.equal(e.connections, 1);
    } finally {
      t.close();
      e.close();
    }
  });

  it('large bodies both ways, Connection: close answers, and many connections at once', async () => {
    const acceptor = inProcessAcceptor((req: IncomingMessage, res: ServerResponse) => {
      void (async () => {
        const chunks: Buffer[] = [];
        for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
        const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? 0);
        const body = Buffer.alloc(n, 0x61);
        if (req.url?.includes('close')) res.setHeader('Connection', 'close');
        res.setHeader('x-got', String(Buffer.concat(chunks).length));
        res.end(body);
      })();
    });
    const e = servePort(acceptor, identity);
    const t = portTransport(e.port);
    try {
      const big = await t.request({ method: 'POST', path: '/?n=5000000', body: Buffer.alloc(4_000_000, 1) });
      assert.equal(big.body.length, 5_000_000);
      assert.equal(big.headers['x-got'], '4000000');
      for (let i = 0; i < 20; i++) assert.equal((await t.request({ method: 'GET', path: `/close?n=${70_000 + i}` })).body.length, 70_000 + i);
      const many = await Promise.all(Array.from({ length: 300 }, (_, i) => t.request({ method: 'GET', path: `/?n=${i * 100}` })));
      many.forEach((r, i) => assert.equal(r.body.length, i * 100));
    } finally {
      t.close();
      e.close();
    }
  });

  it('a server that destroys the socket mid-response, and a transport closed with requests in flight, fail rather than hang', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const acceptor = inProcessAcceptor((req, res) => {
      if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('x'.repeat(10), () => req.socket.destroy());
        return;
      }
      if (req.url === '/hang') return;
      const sink = sinksOf(req)?.claim(req.headers[LINE_SINK_HEADER] as string);
      res.writeHead(200);
      res.flushHeaders();
      sink?.push('{"a":1}');
    });
    const e = servePort(acceptor, identity);
    const t = portTransport(e.port);
    const alive = setTimeout(() => {}, 10_000);
    try {
      await within(2_000, assert.rejects(() => t.request({ method: 'GET', path: '/cut' })), 'the cut request');
      const hanging = t.request({ method: 'GET', path: '/hang' });
      const s = await t.stream({ method: 'GET', path: '/watch' });
      const it = s.lines[Symbol.asyncIterator]();
      assert.deepEqual(await it.next(), { value: '{"a":1}', done: false });
      t.close();
      await within(2_000, assert.rejects(hanging), 'the request in flight');
      await within(2_000, assert.rejects(() => it.next()), 'the watch in flight');
      for (let i = 0; i < 100 && e.connections > 0; i++) await tick(5);
      assert.equal(e.connections, 0);
      await tick(20);
      assert.deepEqual(unhandled, []);
    } finally {
      clearTimeout(alive);
      process.off('unhandledRejection', onUnhandled);
      t.close();
      e.close();
    }
  });
});

describe('component thread: restarts', () => {
  it('a crashed worker starts again after a delay that doubles with each crash in a row; stop() cancels a pending restart', async () => {
    const logs: string[] = [];
    const ct = await startComponentThread({ acceptor: inProcessAcceptor((_q, r) => r.end()), identity: () => identity, log: (l) => logs.push(l), restartDelayMs: 200 });
    try {
      await within(20_000, ct.started, 'started');
      await ct.crashForTest();
      assert.deepEqual(logs, ['component thread: exited (code 1); the controllers start again in 0.2 s']);
      for (let i = 0; i < 200 && ct.restarts < 1; i++) await tick(20);
      assert.equal(ct.restarts, 1);
      await ct.crashForTest();
      // (ended while it may still be loading: its exit code is then 0)
      assert.match(logs[1], /^component thread: exited \(code \d\); the controllers start again in 0\.4 s$/, 'the second crash in a row waits twice as long');
      // stopped while the restart waits: no worker starts again, and stop() ends at once
      await within(2_000, ct.stop(), 'stop() while a restart waits');
      await tick(600);
      assert.equal(ct.restarts, 1);
      assert.equal(logs.length, 2);
    } finally {
      await ct.stop();
    }
  });
});

describe('component thread: start', () => {
  it('a worker that cannot start leaves no port open behind it', async () => {
    const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const before = ports();
    // a function cannot be cloned into workerData: the Worker constructor throws
    const notCloneable = (() => '') as unknown as string;
    await assert.rejects(
      () => startComponentThread({ acceptor: inProcessAcceptor((_q, r) => r.end()), identity: () => identity, controllerManager: { localPathBaseDir: '/nonexistent', caPem: notCloneable }, log: () => {} }),
      /could not be cloned|DataCloneError/,
    );
    await tick(10);
    assert.equal(ports(), before);
  });
});
