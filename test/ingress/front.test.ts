// The plain-HTTP fast path of the ingress: which heads it takes, and over raw sockets what it answers —
// pipelining, keep-alive, response framings, endpoint trouble — and that whatever it leaves goes to Node's
// server (malformed heads, bodies, pages) on the same connection.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { frontEnd, MAX_HEAD_BYTES, parseSimpleHead, type FrontEnd } from '../../src/ingress/front.js';
import { forwardedHeaders, handleRequest, upstreams, type ProxyContext, type ResolvedBackend, type Upstreams } from '../../src/ingress/proxy.js';
import { buildRouteTable, type RouteTable } from '../../src/ingress/routing.js';

describe('ingress fast path: request heads', () => {
  const ok = 'GET /a?b=1 HTTP/1.1\r\nHost: x.test\r\nUser-Agent: t\r\nContent-Length: 0\r\nConnection: keep-alive';
  it('takes a bodiless HTTP/1.1 request and keeps its headers in order', () => {
    const r = parseSimpleHead(ok);
    assert.deepEqual(r, { method: 'GET', url: '/a?b=1', host: 'x.test', requestId: undefined, lines: 'User-Agent: t\r\nContent-Length: 0\r\n' });
    assert.equal(parseSimpleHead('GET / HTTP/1.1\r\nHost:   y \t')?.host, 'y');
  });
  it('leaves out the headers the proxy writes itself and connection-level ones, keeping the others in order', () => {
    const head = [
      'GET / HTTP/1.1',
      'Accept: */*',
      'X-Forwarded-For: 6.6.6.6',
      'Host: x.test',
      'TE: trailers',
      'X-Request-ID: one',
      'Cookie: a=b',
      'x-forwarded-proto-version: 2',
      'X-Real-IP: 6.6.6.6',
      'Proxy-Authorization: Basic x',
      'Keep-Alive: timeout=5',
      'Trailer: X',
      'Connection: keep-alive',
      'X-Request-ID:  two ',
      'Accept-Encoding: gzip',
      'Proxy-Connection: keep-alive',
      'Content-Type: text/plain',
      'X-Other: 1',
    ].join('\r\n');
    const r = parseSimpleHead(head);
    assert.equal(r?.host, 'x.test');
    assert.equal(r?.requestId, 'two');
    assert.equal(r?.lines, 'Accept: */*\r\nCookie: a=b\r\nAccept-Encoding: gzip\r\nContent-Type: text/plain\r\nX-Other: 1\r\n');
    assert.equal(parseSimpleHead('GET / HTTP/1.1\r\nHost: x\r\n')?.lines, '');
  });
  it('drops the headers the Connection header names, on the fast path and through Node (RFC 9110 7.6.1)', () => {
    const r = parseSimpleHead('GET / HTTP/1.1\r\nX-Secret: 1\r\nHost: x\r\nConnection: keep-alive, X-Secret ,x-other\r\nx-other: 2\r\nAccept: */*\r\nX-Secret-2: 3');
    assert.equal(r?.lines, 'Accept: */*\r\nX-Secret-2: 3\r\n');
    const h = forwardedHeaders(['Host', 'x', 'X-Secret', '1', 'Connection', 'X-Secret', 'Content-Length', '3', 'Accept', '*/*'], '10.0.0.1', 'http', 'x', 80);
    assert.deepEqual(h.slice(0, 6), ['Host', 'x', 'Content-Length', '3', 'Accept', '*/*']);
  });
  it('treats an empty X-Request-ID as none, on the fast path and through Node', () => {
    assert.equal(parseSimpleHead('GET / HTTP/1.1\r\nHost: x\r\nX-Request-ID:  ')?.requestId, undefined);
    assert.equal(parseSimpleHead('GET / HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc')?.requestId, 'abc');
    const id = (raw: string[]) => {
      const h = forwardedHeaders(raw, '10.0.0.1', 'http', 'x', 80);
      return h[h.indexOf('X-Request-ID') + 1];
    };
    assert.match(id(['Host', 'x', 'X-Request-ID', '']), /^[0-9a-f]{32}$/);
    assert.equal(id(['Host', 'x', 'X-Request-ID', 'abc']), 'abc');
  });
  it('leaves everything else to Node', () => {
    const bad: Record<string, string> = {
      'HTTP/1.0': 'GET / HTTP/1.0\r\nHost: x',
      'no Host': 'GET / HTTP/1.1\r\nAccept: */*',
      'two Hosts': 'GET / HTTP/1.1\r\nHost: x\r\nHost: y',
      'a body': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5',
      'two lengths': 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0',
      chunked: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked',
      upgrade: 'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade',
      expect: 'GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue',
      'Connection: close': 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close',
      'bare LF': 'GET / HTTP/1.1\nHost: x',
      'LF in a header': 'GET / HTTP/1.1\r\nHost: x\r\nA: b\nC: d',
      'folded line': 'GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c',
      'space before colon': 'GET / HTTP/1.1\r\nHost : x',
      'no colon': 'GET / HTTP/1.1\r\nHost: x\r\nGarbage',
      'NUL in a value': 'GET / HTTP/1.1\r\nHost: x\r\nA: b\x00c',
      'absolute target': 'GET http://x/ HTTP/1.1\r\nHost: x',
      'space in target': 'GET /a b HTTP/1.1\r\nHost: x',
      'non-ASCII target': 'GET /\xe9 HTTP/1.1\r\nHost: x',
      'bad method': 'G(T / HTTP/1.1\r\nHost: x',
      CONNECT: 'CONNECT x:443 HTTP/1.1\r\nHost: x',
      'no version': 'GET /',
      'HTTP/2 preface': 'PRI * HTTP/2.0',
    };
    for (const [what, head] of Object.entries(bad)) assert.equal(parseSimpleHead(head), undefined, what);
  });
});

/** An endpoint speaking raw HTTP: each request head gets what `answer` returns for its path. */
async function endpoint(answer: (path: string, head: string) => string | undefined): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let buf = '';
    socket.on('error', () => socket.destroy());
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const out = answer(head.split(' ')[1], head);
        if (out !== undefined) socket.write(out, 'latin1');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Sends `data` and half-closes; resolves with everything read once the peer closes. */
function halfClose(port: number, data: string): Promise<{ got: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => reject(new Error(`timed out; got ${got}`)), 5000);
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ got });
    });
    s.end(data);
  });
}

/** Sends `data` on a new connection; resolves with everything read until `done` says so or the peer closes. */
function exchange(port: number, data: string, done: (got: string) => boolean): Promise<{ got: string; closed: boolean; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`timed out; got: ${JSON.stringify(got)}`));
    }, 5000);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (done(got)) {
        clearTimeout(timer);
        resolve({ got, closed: false, socket: s });
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ got, closed: true, socket: s });
    });
    s.on('error', () => {});
    s.write(data, 'latin1');
  });
}

const count = (s: string, part: string) => s.split(part).length - 1;

/** One Ingress: every path of x.test to Service ns/s. */
const ING: Ingress = {
  metadata: { name: 'i', namespace: 'ns', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { ingressClassName: 'timonel', rules: [{ host: 'x.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }] } }] },
};

const ING_TABLE = buildRouteTable([ING]);

/** A context routing ING's table (or `table()`) to the endpoints `resolve()` returns. */
function context(resolve: () => ResolvedBackend, table: () => RouteTable = () => ING_TABLE): ProxyContext {
  return { table, resolve, httpsPort: () => undefined, log: () => {} };
}

interface Rig {
  port: number;
  front: FrontEnd;
  up: Upstreams;
  close(): Promise<void>;
}

/** The fast path on a loopback listener, with Node's server behind it for the connections it hands off. */
async function rig(ctx: ProxyContext, opts: { keepAliveTimeoutMs: number; headTimeoutMs?: number; onHandOff?: (req: IncomingMessage) => void }): Promise<Rig> {
  const up = upstreams();
  const node = createHttpServer({ keepAliveTimeout: opts.keepAliveTimeoutMs });
  let port = 0;
  node.on('request', (req, res) => {
    opts.onHandOff?.(req);
    handleRequest(ctx, up, 'http', port, req, res);
  });
  node.on('clientError', (_e, socket) => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'));
  const front = frontEnd({ ctx, up, listenerPort: () => port, keepAliveTimeoutMs: opts.keepAliveTimeoutMs, headTimeoutMs: opts.headTimeoutMs, handOff: (s) => node.emit('connection', s) });
  const listener = createServer({ noDelay: true, allowHalfOpen: true }, (s) => front.accept(s));
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as AddressInfo).port;
  return {
    port,
    front,
    up,
    async close() {
      front.destroyAll();
      node.closeAllConnections();
      await new Promise((r) => listener.close(r));
      up.pool.destroy();
      up.agent.destroy();
    },
  };
}

describe('ingress fast path: proxying', () => {
  let backend: { server: Server; port: number };
  let r: Rig;
  let port: number;
  let front: FrontEnd;
  const handedOff: string[] = [];
  // random bytes: a piece overwritten by a later read cannot go unnoticed
  const bigBody = randomBytes(16 * 1024 * 1024).toString('latin1');

  before(async () => {
    backend = await endpoint((path, head) => {
      if (path.startsWith('/chunked')) return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
      if (path.startsWith('/evil')) return 'HTTP/1.1 200 OK\r\nX-A: b\nSet-Cookie: injected\r\nContent-Length: 0\r\n\r\n';
      if (path.startsWith('/big')) return `HTTP/1.1 200 OK\r\nContent-Length: ${bigBody.length}\r\n\r\n${bigBody}`;
      if (path.startsWith('/none')) return 'HTTP/1.1 204 No Content\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n';
      // both framings: passing either on would let the client read the next answer as part of this one
      if (path.startsWith('/tecl')) return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 60\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
      // more bytes than the answer's length, shaped like an answer: they must not become the next request's
      if (path.startsWith('/two-lengths')) return 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok';
      if (path.startsWith('/echo')) return `HTTP/1.1 200 OK\r\nContent-Length: ${head.length + 2}\r\n\r\n${head}\r\n`;
      // the same head bytes for GET and HEAD (no body for HEAD): the framing is the request's
      if (path.startsWith('/same-head')) return `HTTP/1.1 200 OK\r\nX-U: 1\r\nTransfer-Encoding: chunked\r\n\r\n${head.startsWith('HEAD ') ? '' : '3\r\nabc\r\n0\r\n\r\n'}`;
      if (path.startsWith('/overlong')) return 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nX-Injected: 1\r\nContent-Length: 4\r\n\r\nevil';

      const body = JSON.stringify({ path, xff: /X-Forwarded-For: ([^\r]*)/.exec(head)?.[1], host: /\r\nHost: ([^\r]*)/.exec(head)?.[1] });
      return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    });
    r = await rig(
      context(() => ({ ok: true, endpoints: [{ host: '127.0.0.1', port: backend.port }], rr: { next: 0 } })),
      { keepAliveTimeoutMs: 5000, onHandOff: (req) => handedOff.push(`${req.method} ${req.url}`) },
    );
    ({ port, front } = r);
  });

  after(async () => {
    await r.close();
    backend.server.close();
  });

  it('answers pipelined requests in order on one kept-alive connection, with X-Forwarded-For', async () => {
    handedOff.length = 0;
    const req = (p: string) => `GET ${p} HTTP/1.1\r\nHost: x.test\r\n\r\n`;
    const { got, closed, socket } = await exchange(port, req('/one') + req('/two') + req('/three'), (g) => count(g, '"path"') === 3);
    socket.destroy();
    assert.equal(closed, false);
    assert.equal(count(got, 'HTTP/1.1 200 OK\r\n'), 3);
    assert.ok(got.indexOf('"/one"') < got.indexOf('"/two"') && got.indexOf('"/two"') < got.indexOf('"/three"'), got);
    assert.match(got, /"xff":"127\.0\.0\.1"/);
    assert.match(got, /"host":"x\.test"/);
    assert.match(got, /\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n/);
    assert.match(got, /\r\nDate: /);
    assert.deepEqual(handedOff, [], 'served without Node');
  });

  it('serves a head repeated on a connection as the first: a new X-Request-ID each time, a changed head read anew', async () => {
    handedOff.length = 0;
    const a = 'GET /echo HTTP/1.1\r\nHost: x.test\r\nX-A: 1\r\n\r\n';
    const withId = 'GET /echo HTTP/1.1\r\nHost: x.test\r\nX-Request-ID: client-1\r\n\r\n';
    const longer = 'GET /echo HTTP/1.1\r\nHost: x.test\r\nX-A: 1\r\nX-B: 2\r\n\r\n';
    const sent = [a, a, a, withId, withId, a, longer, a];
    const { got, socket } = await exchange(port, sent.join(''), (g) => count(g, 'HTTP/1.1 200 OK\r\n') === sent.length && g.endsWith('Scheme: http\r\n'));
    socket.destroy();
    const heads = got.split('HTTP/1.1 200 OK\r\n').slice(1).map((answer) => answer.slice(answer.indexOf('\r\n\r\n') + 4));
    assert.equal(heads.length, sent.length);
    const ids = heads.map((h) => [...h.matchAll(/\r\nX-Request-ID: ([^\r]*)/g)].map((m) => m[1]));
    for (const i of [0, 1, 2, 5, 6, 7]) assert.match(ids[i].join(), /^[0-9a-f]{32}$/, heads[i]);
    assert.equal(new Set([0, 1, 2, 5, 6, 7].map((i) => ids[i][0])).size, 6, 'a new ID per request');
    assert.deepEqual([ids[3], ids[4]], [['client-1'], ['client-1']]);
    for (const i of [0, 1, 2, 5, 7]) assert.match(heads[i], /^GET \/echo HTTP\/1\.1\r\nHost: x\.test\r\nX-A: 1\r\nX-Request-ID: [0-9a-f]{32}\r\nX-Real-IP: 127\.0\.0\.1\r\n/);
    assert.match(heads[6], /\r\nX-A: 1\r\nX-B: 2\r\nX-Request-ID: /);
    assert.deepEqual(handedOff, []);
  });

  it('gives a request with an empty X-Request-ID a new one', async () => {
    handedOff.length = 0;
    const empty = 'GET /echo HTTP/1.1\r\nHost: x.test\r\nX-Request-ID: \r\n\r\n';
    const { got, socket } = await exchange(port, empty + empty, (g) => count(g, 'HTTP/1.1 200 OK\r\n') === 2 && g.endsWith('Scheme: http\r\n'));
    socket.destroy();
    const ids = [...got.matchAll(/\r\nX-Request-ID: ([^\r]*)/g)].map((m) => m[1]);
    assert.equal(ids.length, 2, got);
    for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
    assert.notEqual(ids[0], ids[1]);
    assert.deepEqual(handedOff, []);
  });

  it('serves a repeated head bigger than the kept 4 KiB the same way, built anew each time', async () => {
    handedOff.length = 0;
    const big = 'GET /echo HTTP/1.1\r\nHost: x.test\r\nX-Big: ' + 'b'.repeat(5000) + '\r\n\r\n';
    const sent = [big, big, big];
    const { got, socket } = await exchange(port, sent.join(''), (g) => count(g, 'HTTP/1.1 200 OK\r\n') === sent.length && g.endsWith('Scheme: http\r\n'));
    socket.destroy();
    const heads = got.split('HTTP/1.1 200 OK\r\n').slice(1).map((answer) => answer.slice(answer.indexOf('\r\n\r\n') + 4));
    assert.equal(heads.length, 3);
    for (const h of heads) assert.match(h, /^GET \/echo HTTP\/1\.1\r\nHost: x\.test\r\nX-Big: b{5000}\r\nX-Request-ID: [0-9a-f]{32}\r\n/);
    const ids = heads.map((h) => /X-Request-ID: ([0-9a-f]{32})/.exec(h)?.[1]);
    assert.equal(new Set(ids).size, 3, 'a new ID per request');
    assert.deepEqual(handedOff, []);
  });

  it('frames an endpoint head it saw before by the request at hand (HEAD, then GET, then HEAD)', async () => {
    const head = 'HEAD /same-head HTTP/1.1\r\nHost: x.test\r\n\r\n';
    const get = 'GET /same-head HTTP/1.1\r\nHost: x.test\r\n\r\n';
    const { got, socket } = await exchange(port, head + get + head + get, (g) => count(g, 'HTTP/1.1 200 OK\r\n') === 4 && g.endsWith('0\r\n\r\n'));
    socket.destroy();
    const answers = got.split('HTTP/1.1 200 OK\r\n').slice(1);
    for (const i of [0, 2]) {
      assert.doesNotMatch(answers[i], /Transfer-Encoding/, answers[i]);
      assert.ok(answers[i].endsWith('\r\n\r\n'), answers[i]);
    }
    for (const i of [1, 3]) assert.match(answers[i], /^X-U: 1\r\nDate: [^\r]+\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n3\r\nabc\r\n0\r\n\r\n$/);
  });

  it('passes a chunked answer on chunked, and a 204 without a body', async () => {
    const { got, socket } = await exchange(port, 'GET /chunked HTTP/1.1\r\nHost: x.test\r\n\r\n', (g) => g.endsWith('0\r\n\r\n'));
    socket.destroy();
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(got, /\r\nTransfer-Encoding: chunked\r\n/);
    assert.ok(got.endsWith('\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n'), JSON.stringify(got));
    const none = await exchange(port, 'GET /none HTTP/1.1\r\nHost: x.test\r\n\r\nGET /after HTTP/1.1\r\nHost: x.test\r\n\r\n', (g) => g.includes('"/after"'));
    none.socket.destroy();
    assert.match(none.got, /^HTTP\/1\.1 204 No Content\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nHTTP\/1\.1 200 OK/);
  });

  it('answers 502 rather than pass on a header with a bare LF', async () => {
    const { got, socket } = await exchange(port, 'GET /evil HTTP/1.1\r\nHost: x.test\r\n\r\n', (g) => g.includes('</html>'));
    socket.destroy();
    assert.match(got, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.doesNotMatch(got, /Set-Cookie/);
  });

  it('hands malformed and oversized heads to Node, which answers 400 / 431', async () => {
    const malformed = await exchange(port, 'GET / HTTP/1.1\r\nHost: x.test\r\nNo colon here\r\n\r\n', () => false);
    assert.match(malformed.got, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.equal(malformed.closed, true);
    const big = await exchange(port, `GET / HTTP/1.1\r\nHost: x.test\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES + 10)}\r\n\r\n`, () => false);
    assert.match(big.got, /^HTTP\/1\.1 (431|400) /);
    // a head that never ends is not buffered without bound either
    const endless = await exchange(port, `GET / HTTP/1.1\r\nHost: x.test\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES * 2)}`, () => false);
    assert.match(endless.got, /^HTTP\/1\.1 (431|400) /);
  });

  it('hands the connection over for a request with a body and for pages, after serving what came before', async () => {
    handedOff.length = 0;
    const data = 'GET /first HTTP/1.1\r\nHost: x.test\r\n\r\n' + 'POST /form HTTP/1.1\r\nHost: x.test\r\nContent-Length: 3\r\n\r\nabc' + 'GET /nope HTTP/1.1\r\nHost: other.test\r\n\r\n';
    const { got, socket } = await exchange(port, data, (g) => g.includes('<title>404'));
    socket.destroy();
    assert.ok(got.indexOf('"/first"') >= 0 && got.indexOf('"/first"') < got.indexOf('"/form"'), got);
    assert.match(got, /HTTP\/1\.1 404 Not Found\r\n/);
    assert.deepEqual(handedOff, ['POST /form', 'GET /nope']);
  });

  it('refuses an answer with both Content-Length and chunked framing (502), and the next request is answered alone', async () => {
    const req = (p: string) => `GET ${p} HTTP/1.1\r\nHost: x.test\r\n\r\n`;
    const { got, socket } = await exchange(port, req('/tecl') + req('/one'), (g) => g.includes('"/one"'));
    socket.destroy();
    assert.match(got, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.doesNotMatch(got, /Content-Length: 60/);
    assert.equal(count(got, 'HTTP/1.1 '), 2, got);
  });

  it('passes an answer with a repeated Content-Length on with one, on the fast path and through Node', async () => {
    for (const version of ['1.1', '1.0']) {
      const { got, socket } = await exchange(port, `GET /two-lengths HTTP/${version}\r\nHost: x.test\r\n\r\n`, (g) => g.endsWith('\r\n\r\nok'));
      socket.destroy();
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n/, version);
      assert.equal(count(got.toLowerCase(), 'content-length:'), 1, got);
    }
  });

  it('drops an endpoint connection that sent more than its answer; the next request gets its own answer', async () => {
    const req = (p: string) => `GET ${p} HTTP/1.1\r\nHost: x.test\r\n\r\n`;
    const { got, socket } = await exchange(port, req('/overlong') + req('/one'), (g) => g.includes('"/one"'));
    socket.destroy();
    assert.doesNotMatch(got, /X-Injected|evil/);
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n(?:[^\r]+\r\n)*\r\nokHTTP\/1\.1 200 OK\r\n/);
    assert.match(got, /"path":"\/one"/);
  });

  it('reads no further pipelined requests while a client does not read its answers', async () => {
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.pause();
    const many = 'GET /big HTTP/1.1\r\nHost: x.test\r\n\r\n'.repeat(20);
    s.write(many);
    await new Promise((r) => setTimeout(r, 1500));
    // what the proxy took on for this client stays near one answer (16 MiB), not twenty
    const server = [...front.connections].find((c) => c.remotePort === s.localPort);
    assert.ok(server, 'the proxy holds the connection');
    assert.ok(server.writableLength < 3 * bigBody.length, `buffered ${server.writableLength} bytes for a client that reads nothing`);
    s.destroy();
  });

  it('a client that half-closes behind a request only Node serves gets the answers before it, then the end', async () => {
    handedOff.length = 0;
    const r = await halfClose(port, 'GET /before HTTP/1.1\r\nHost: x.test\r\n\r\n' + 'POST /after-end HTTP/1.1\r\nHost: x.test\r\nContent-Length: 3\r\n\r\nabc');
    assert.match(r.got, /"\/before"/);
    // as Node's server does on its own half-closed connections, the later request gets no answer
    assert.equal(count(r.got, 'HTTP/1.1 '), 1, r.got);
    assert.deepEqual(handedOff, []);
  });

  it('answers a client that half-closes after its request, then closes', async () => {
    const r = await halfClose(port, 'GET /half HTTP/1.1\r\nHost: x.test\r\n\r\n');
    assert.match(r.got, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(r.got, /"\/half"/);
  });

  it('passes large bodies on intact to slow readers, on the fast path and through Node', async () => {
    // the endpoint pool reads every connection into one buffer: what waits in a client's queue must be a copy
    const fetchSlowly = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const s = connect(port, '127.0.0.1');
        const parts: Buffer[] = [];
        let size = 0;
        let headLength = -1;
        const timer = setTimeout(() => {
          s.destroy();
          reject(new Error(`timed out after ${size} bytes`));
        }, 10_000);
        s.on('data', (d: Buffer) => {
          parts.push(d);
          size += d.length;
          if (headLength < 0) {
            const at = Buffer.concat(parts).indexOf('\r\n\r\n');
            if (at >= 0) headLength = at + 4;
          }
          if (headLength >= 0 && size - headLength >= bigBody.length) {
            clearTimeout(timer);
            s.destroy();
            resolve(Buffer.concat(parts).toString('latin1'));
          }
        });
        s.on('error', () => {});
        s.write(request);
        s.pause();
        setTimeout(() => s.resume(), 300);
      });
    handedOff.length = 0;
    const got = await Promise.all([
      fetchSlowly('GET /big/1 HTTP/1.1\r\nHost: x.test\r\n\r\n'),
      fetchSlowly('GET /big/2 HTTP/1.1\r\nHost: x.test\r\n\r\n'),
      fetchSlowly('GET /big/3 HTTP/1.0\r\nHost: x.test\r\n\r\n'),
    ]);
    assert.deepEqual(handedOff, ['GET /big/3']);
    for (const g of got) {
      assert.match(g, /^HTTP\/1\.1 200 OK\r\n/);
      const body = g.slice(g.indexOf('\r\n\r\n') + 4);
      assert.equal(body.length, bigBody.length);
      assert.ok(body === bigBody, 'the body arrived changed');
    }
  });

  it('closes its connections on destroyAll and forgets closed ones', async () => {
    const { socket } = await exchange(port, 'GET /x HTTP/1.1\r\nHost: x.test\r\n\r\n', (g) => g.includes('"/x"'));
    assert.ok(front.connections.size >= 1);
    const closed = new Promise((r) => socket.once('close', r));
    front.destroyAll();
    await closed;
    assert.equal(front.connections.size, 0);
  });
});

describe('ingress fast path: timeouts', () => {
  let backend: { server: Server; port: number };
  let r: Rig;
  let port: number;
  const KEEP_ALIVE_MS = 200;
  const HEAD_MS = 300;

  before(async () => {
    backend = await endpoint((path) => {
      const answer = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
      if (path === '/slow') return undefined;
      return answer;
    });
    // /slow: answered after 3 keep-alive timeouts
    backend.server.on('connection', (s: Socket) =>
      s.on('data', (d) => {
        if (d.toString('latin1').startsWith('GET /slow ')) setTimeout(() => s.destroyed || s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow'), 3 * KEEP_ALIVE_MS);
      }),
    );
    r = await rig(context(() => ({ ok: true, endpoints: [{ host: '127.0.0.1', port: backend.port }], rr: { next: 0 } })), { keepAliveTimeoutMs: KEEP_ALIVE_MS, headTimeoutMs: HEAD_MS });
    port = r.port;
  });

  after(async () => {
    await r.close();
    backend.server.close();
  });

  it('closes a kept-alive connection idle for the keep-alive timeout, not before', async () => {
    const { socket } = await exchange(port, 'GET /a HTTP/1.1\r\nHost: x.test\r\n\r\n', (g) => g.endsWith('ok'));
    const t0 = Date.now();
    const closedAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('still open after 3 s')), 3000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(Date.now());
      });
    });
    assert.ok(closedAt - t0 >= KEEP_ALIVE_MS - 20, `closed after ${closedAt - t0} ms`);
  });

  it('keeps a connection whose answer takes longer than the keep-alive timeout', async () => {
    const { got, closed, socket } = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: x.test\r\n\r\n', (g) => g.endsWith('slow'));
    socket.destroy();
    assert.equal(closed, false);
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
  });

  it('answers 408 to a head not complete within the head timeout, and closes', async () => {
    const t0 = Date.now();
    // the pieces keep the connection from being idle; the head never ends
    const s = connect(port, '127.0.0.1');
    const trickle = setInterval(() => s.write('X-A: b\r\n'), 50);
    try {
      const got = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error(`no answer in 3 s: ${buf}`)), 3000);
        s.on('data', (d) => (buf += d.toString('latin1')));
        s.on('error', () => {});
        s.on('close', () => {
          clearTimeout(timer);
          resolve(buf);
        });
        s.write('GET /a HTTP/1.1\r\nHost: x.test\r\n');
      });
      assert.match(got, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.ok(Date.now() - t0 >= HEAD_MS - 20, `answered after ${Date.now() - t0} ms`);
    } finally {
      clearInterval(trickle);
      s.destroy();
    }
  });
});

describe('ingress fast path: routing changes on a kept-alive connection', () => {
  let a: { server: Server; port: number };
  let b: { server: Server; port: number };
  let r: Rig;
  let port: number;
  let table = buildRouteTable([ING]);
  let resolved: ResolvedBackend;

  before(async () => {
    a = await endpoint(() => 'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nfrom-a\n');
    b = await endpoint(() => 'HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nfrom-b\n');
    resolved = { ok: true, endpoints: [{ host: '127.0.0.1', port: a.port }], rr: { next: 0 } };
    r = await rig(context(() => resolved, () => table), { keepAliveTimeoutMs: 5000 });
    port = r.port;
  });

  after(async () => {
    await r.close();
    a.server.close();
    b.server.close();
  });

  it('sends the next request where the new endpoints and routes say', async () => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => {});
    const ask = async (until: string) => {
      got = '';
      s.write('GET /x HTTP/1.1\r\nHost: x.test\r\n\r\n');
      for (const t0 = Date.now(); !got.includes(until); ) {
        if (Date.now() - t0 > 3000) throw new Error(`no ${until} in ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return got;
    };
    try {
      assert.match(await ask('from-'), /from-a/);
      assert.match(await ask('from-'), /from-a/);
      resolved = { ok: true, endpoints: [{ host: '127.0.0.1', port: b.port }], rr: { next: 0 } };
      assert.match(await ask('from-'), /from-b/);
      table = buildRouteTable([]);
      assert.match(await ask('</html>'), /^HTTP\/1\.1 404 Not Found\r\n/);
    } finally {
      s.destroy();
    }
  });
});
