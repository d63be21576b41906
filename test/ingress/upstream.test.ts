// The raw keep-alive client of the ingress data path against scripted endpoints: response framings,
// connection reuse, and what happens when an endpoint misbehaves.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { UpstreamPool, type UpstreamHead } from '../../src/ingress/upstream.js';

interface Result {
  head?: UpstreamHead;
  body: string;
  error?: NodeJS.ErrnoException & { reused: boolean; answered: boolean };
}

/** An endpoint that answers each request head with the bytes `answer` returns for its path (written in pieces when asked). */
async function endpoint(answer: (path: string, socket: Socket) => string | string[] | undefined): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    let buf = '';
    socket.on('error', () => socket.destroy());
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const path = head.split(' ')[1];
        const out = answer(path, socket);
        if (out === undefined) continue;
        const parts = Array.isArray(out) ? out : [out];
        parts.forEach((p, i) => setTimeout(() => socket.destroyed || socket.write(p, 'latin1'), i * 5));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

function fetchVia(pool: UpstreamPool, port: number, path: string, method = 'GET'): Promise<Result> {
  return new Promise((resolve) => {
    const r: Result = { body: '' };
    pool.request({ host: '127.0.0.1', port }, `${method} ${path} HTTP/1.1\r\nHost: test\r\n\r\n`, method === 'HEAD', {
      onHead: (h) => (r.head = h),
      onData: (c) => (r.body += c.toString('latin1')),
      onEnd: (last) => {
        if (last) r.body += last.toString('latin1');
        resolve(r);
      },
      onError: (e, reused, answered) => resolve({ ...r, error: Object.assign(e, { reused, answered }) }),
    });
  });
}

describe('ingress upstream pool', () => {
  let ep: Awaited<ReturnType<typeof endpoint>>;
  const pool = new UpstreamPool();

  before(async () => {
    ep = await endpoint((path, socket) => {
      switch (path) {
        case '/length':
          return ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello', ' world'];
        case '/chunked':
          return ['HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n', '6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'];
        case '/early-hints':
          return 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
        case '/head':
          return 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n';
        case '/ok':
          return 'HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok';
        // the head of /ok, then no body (an answer to HEAD)
        case '/ok-head':
          return 'HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n';
        case '/ok-close':
          return 'HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok';
        case '/no-content':
          return 'HTTP/1.1 204 No Content\r\n\r\n';
        case '/until-close':
          setTimeout(() => socket.end(), 20);
          return 'HTTP/1.1 200 OK\r\n\r\nstream of bytes';
        case '/close-early':
          setTimeout(() => socket.destroy(), 20);
          return 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial';
        case '/connection-close':
          return 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok';
        case '/garbage':
          return 'SSH-2.0-OpenSSH\r\n\r\n';
        case '/no-reason':
          return 'HTTP/1.1 299\r\nContent-Length: 2\r\n\r\nok';
        case '/long-reason':
          return 'HTTP/1.1 200 All Fine: here\r\nContent-Length: 2\r\n\r\nok';
        case '/four-digits':
          return 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n';
        case '/http10':
          return 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok';
        case '/bare-cr':
          return 'HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n';
        case '/listed-close':
          return 'HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 2\r\n\r\nok';
        case '/te-gzip-chunked':
          return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n';
        case '/te-chunked-gzip':
          return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nok';
        case '/te-twice':
          return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n';
        case '/te-gzip-length':
          return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nok';
        case '/two-lengths':
          return 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\ncontent-length:2\r\n\r\nok';
        case '/endless-chunk-size':
          return ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', '0'.repeat(40_000), '0'.repeat(40_000)];
        case '/endless-trailer':
          return ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ', 'a'.repeat(40_000), 'a'.repeat(40_000)];
        case '/chunk-without-crlf':
          return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n';
        case '/silent':
          return undefined;
        case '/trickle':
          // a piece every 100 ms, 300 ms in all
          for (const [i, piece] of ['ab', 'cd', 'ef'].entries()) setTimeout(() => socket.destroyed || socket.write(piece), 100 * (i + 1));
          return 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n';
        default:
          return 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n';
      }
    });
  });
  after(() => {
    pool.destroy();
    ep.server.close();
    ep.server.unref();
  });

  it('reads Content-Length bodies and reuses the connection', async () => {
    const before = ep.connections();
    for (let i = 0; i < 3; i++) {
      const r = await fetchVia(pool, ep.port, '/length');
      assert.equal(r.error, undefined);
      assert.equal(r.head?.status, 200);
      assert.equal(r.head?.reason, 'OK');
      assert.deepEqual(r.head?.headers, ['Content-Type', 'text/plain', 'Content-Length', '11']);
      assert.equal(r.body, 'hello world');
    }
    assert.ok(ep.connections() - before <= 1, `opened ${ep.connections() - before} connections for 3 sequential requests`);
    assert.ok(pool.idleCount >= 1);
  });

  it('decodes chunked bodies split across packets, dropping extensions and trailers', async () => {
    const r = await fetchVia(pool, ep.port, '/chunked');
    assert.equal(r.head?.status, 201);
    assert.equal(r.body, 'hello world');
    const again = await fetchVia(pool, ep.port, '/length');
    assert.equal(again.body, 'hello world');
  });

  it('skips 1xx interim answers', async () => {
    const r = await fetchVia(pool, ep.port, '/early-hints');
    assert.equal(r.head?.status, 200);
    assert.equal(r.body, 'ok');
  });

  it('reads no body for HEAD and 204', async () => {
    const h = await fetchVia(pool, ep.port, '/head', 'HEAD');
    assert.equal(h.head?.status, 200);
    assert.equal(h.body, '');
    const n = await fetchVia(pool, ep.port, '/no-content');
    assert.equal(n.head?.status, 204);
    assert.equal(n.body, '');
    assert.equal((await fetchVia(pool, ep.port, '/length')).body, 'hello world');
  });

  it('hands out one head object for the same head bytes, framing each answer by its own request', async () => {
    const before = ep.connections();
    const a = await fetchVia(pool, ep.port, '/ok');
    const b = await fetchVia(pool, ep.port, '/ok');
    assert.equal(b.head, a.head);
    assert.deepEqual([a.body, b.body], ['ok', 'ok']);
    const h = await fetchVia(pool, ep.port, '/ok-head', 'HEAD');
    assert.equal(h.head, a.head);
    assert.equal(h.error, undefined);
    assert.equal(h.body, '');
    assert.equal((await fetchVia(pool, ep.port, '/ok')).body, 'ok');
    assert.ok(ep.connections() - before <= 1, 'the HEAD answer left the connection reusable');
    const c = await fetchVia(pool, ep.port, '/ok-close');
    assert.notEqual(c.head, a.head);
    assert.deepEqual(c.head?.headers, ['X-A', '1', 'Content-Length', '2']);
    assert.equal(c.body, 'ok');
  });

  it('reads a body without framing until the endpoint closes', async () => {
    const r = await fetchVia(pool, ep.port, '/until-close');
    assert.equal(r.error, undefined);
    assert.equal(r.body, 'stream of bytes');
  });

  it('does not reuse a connection the endpoint marked close', async () => {
    const before = ep.connections();
    assert.equal((await fetchVia(pool, ep.port, '/connection-close')).body, 'ok');
    assert.equal((await fetchVia(pool, ep.port, '/connection-close')).body, 'ok');
    assert.ok(ep.connections() - before >= 1);
  });

  it('reports a body cut short as an error after the head', async () => {
    const r = await fetchVia(pool, ep.port, '/close-early');
    assert.equal(r.head?.status, 200);
    assert.equal(r.body, 'partial');
    assert.equal(r.error?.code, 'ECONNRESET');
    assert.equal(r.error?.answered, true);
  });

  it('rejects a response that is not HTTP/1.x', async () => {
    const r = await fetchVia(pool, ep.port, '/garbage');
    assert.equal(r.error?.code, 'EPROTO');
    assert.equal(r.error?.answered, false);
    for (const path of ['/four-digits', '/bare-cr']) assert.equal((await fetchVia(pool, ep.port, path)).error?.code, 'EPROTO', path);
  });

  it('reads status lines without a reason or with spaces in it, and keeps HTTP/1.0 and listed `close` answers off the pool', async () => {
    const bare = await fetchVia(pool, ep.port, '/no-reason');
    assert.deepEqual([bare.head?.status, bare.head?.reason, bare.body], [299, '', 'ok']);
    const long = await fetchVia(pool, ep.port, '/long-reason');
    assert.deepEqual([long.head?.status, long.head?.reason], [200, 'All Fine: here']);
    const p = new UpstreamPool();
    try {
      for (const path of ['/http10', '/listed-close']) {
        const r = await fetchVia(p, ep.port, path);
        assert.equal(r.body, 'ok', path);
        assert.equal(p.idleCount, 0, path);
      }
      await fetchVia(p, ep.port, '/long-reason');
      assert.equal(p.idleCount, 1);
    } finally {
      p.destroy();
    }
  });

  it('refuses transfer codings other than a single `chunked` and Transfer-Encoding with Content-Length, as nginx does', async () => {
    // the client gets the body re-framed with the proxy's own framing: a coding left in it would go unannounced
    for (const path of ['/te-gzip-chunked', '/te-chunked-gzip', '/te-twice', '/te-gzip-length']) {
      const r = await fetchVia(pool, ep.port, path);
      assert.equal(r.error?.code, 'EPROTO', path);
      assert.equal(r.head, undefined, path);
    }
  });

  it('passes one Content-Length line on when the answer repeats it with the same value', async () => {
    // Node's client (llhttp) refuses an answer with two Content-Length lines
    const r = await fetchVia(pool, ep.port, '/two-lengths');
    assert.equal(r.error, undefined);
    assert.deepEqual(r.head?.headers, ['Content-Length', '2', 'X-A', 'b']);
    assert.equal(r.head?.lines, 'Content-Length: 2\r\nX-A: b\r\n');
    assert.equal(r.body, 'ok');
  });

  it('refuses chunk-size and trailer lines that never end, and chunk data not followed by CRLF', async () => {
    const p = new UpstreamPool({ timeoutMs: 3000 });
    try {
      for (const path of ['/endless-chunk-size', '/endless-trailer', '/chunk-without-crlf']) assert.equal((await fetchVia(p, ep.port, path)).error?.code, 'EPROTO', path);
    } finally {
      p.destroy();
    }
  });

  it('reports a refused connection as not reused, not answered', async () => {
    const closed = await endpoint(() => undefined);
    const port = closed.port;
    await new Promise<void>((r) => closed.server.close(() => r()));
    const r = await fetchVia(pool, port, '/x');
    assert.equal(r.error?.code, 'ECONNREFUSED');
    assert.equal(r.error?.reused, false);
    assert.equal(r.error?.answered, false);
  });

  it('times out a silent endpoint', async () => {
    const quick = new UpstreamPool({ timeoutMs: 100 });
    try {
      const r = await fetchVia(quick, ep.port, '/silent');
      assert.equal(r.error?.code, 'ETIMEDOUT');
    } finally {
      quick.destroy();
    }
  });

  it('keeps no entry for an endpoint once its connections closed', async () => {
    const quick = new UpstreamPool({ timeoutMs: 150 });
    try {
      assert.equal((await fetchVia(quick, ep.port, '/length')).body, 'hello world');
      assert.equal(quick.idleEndpoints, 1);
      // a connection in use when it closes (the endpoint went away mid-answer) leaves nothing behind either
      const cut = await fetchVia(quick, ep.port, '/close-early');
      assert.ok(cut.error);
      const t0 = Date.now();
      while ((quick.idleCount > 0 || quick.idleEndpoints > 0) && Date.now() - t0 < 2000) await new Promise((res) => setTimeout(res, 20));
      assert.equal(quick.idleCount, 0);
      assert.equal(quick.idleEndpoints, 0, 'an empty idle list stays for an endpoint nothing uses');
    } finally {
      quick.destroy();
    }
  });

  it('closes an idle connection after the timeout; traffic keeps one open', async () => {
    const quick = new UpstreamPool({ timeoutMs: 150 });
    try {
      const before = ep.connections();
      const r = await fetchVia(quick, ep.port, '/length');
      assert.equal(r.body, 'hello world');
      assert.equal(quick.idleCount, 1);
      await new Promise((res) => setTimeout(res, 60));
      assert.equal(quick.idleCount, 1, 'closed before the timeout');
      const t0 = Date.now();
      while (quick.idleCount > 0 && Date.now() - t0 < 2000) await new Promise((res) => setTimeout(res, 20));
      assert.equal(quick.idleCount, 0, 'the idle connection is still open');
      // an answer arriving in pieces over longer than the timeout is not cut off: each piece is traffic
      const slow = await fetchVia(quick, ep.port, '/trickle');
      assert.equal(slow.error, undefined);
      assert.equal(slow.body, 'abcdef');
      assert.equal(ep.connections() - before, 2);
    } finally {
      quick.destroy();
    }
  });

  it('abort of a finished exchange leaves the reused connection alone', async () => {
    const p = new UpstreamPool();
    try {
      let firstHandle: { abort(): void } | undefined;
      await new Promise<void>((resolve, reject) => {
        firstHandle = p.request({ host: '127.0.0.1', port: ep.port }, 'GET /length HTTP/1.1\r\nHost: t\r\n\r\n', false, {
          onHead() {},
          onData() {},
          onEnd: () => resolve(),
          onError: reject,
        });
      });
      const second = new Promise<Result>((resolve) => {
        const r: Result = { body: '' };
        p.request({ host: '127.0.0.1', port: ep.port }, 'GET /length HTTP/1.1\r\nHost: t\r\n\r\n', false, {
          onHead: (h) => (r.head = h),
          onData: (c) => (r.body += c.toString()),
          onEnd: (last) => resolve({ ...r, body: r.body + (last?.toString() ?? '') }),
          onError: (e) => resolve({ ...r, error: Object.assign(e, { reused: true, answered: false }) }),
        });
      });
      firstHandle!.abort();
      const r = await second;
      assert.equal(r.error, undefined);
      assert.equal(r.body, 'hello world');
    } finally {
      p.destroy();
    }
  });
});
