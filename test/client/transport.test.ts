import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { inProcessAuthenticator } from '../../src/apiserver/authn.js';
import type { UserInfo } from '../../src/apiserver/registry.js';
import {
  IN_PROCESS_IDENTITY,
  inProcessAcceptor,
  inProcessTransport,
  kubeconfigTransport,
  memorySocketPair,
  type Transport,
} from '../../src/client/transport.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A tiny server: /echo returns the body, /lines streams three lines split across chunks, /who names the in-process user. */
function testHandler(seen: { users: (UserInfo | undefined)[] }) {
  const authn = inProcessAuthenticator();
  return (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      if (req.url === '/echo') {
        const body = await readBody(req);
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
        res.end(body);
        return;
      }
      if (req.url === '/lines') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.write('{"n":1}\n{"n"');
        setTimeout(() => res.write(':2}\n'), 5);
        setTimeout(() => res.write('{"n":3}\n'), 10);
        // then stays open, like a watch
        return;
      }
      if (req.url === '/who') {
        const u = authn(req);
        seen.users.push(u);
        const body = JSON.stringify(u ?? null);
        res.writeHead(u ? 200 : 401, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      res.writeHead(404, { 'Content-Length': 0 });
      res.end();
    })();
  };
}

describe('memorySocketPair', () => {
  it('carries bytes both ways and closes both ends together', async () => {
    const [a, b] = memorySocketPair();
    const got: string[] = [];
    b.on('data', (c: Buffer) => got.push(c.toString()));
    a.write('hello ');
    a.write('world');
    await new Promise((r) => setImmediate(r));
    assert.equal(got.join(''), 'hello world');
    const back = new Promise<string>((resolve) => a.once('data', (c: Buffer) => resolve(c.toString())));
    b.write('pong');
    assert.equal(await back, 'pong');
    const closed = new Promise<void>((resolve) => b.once('close', () => resolve()));
    a.destroy();
    await closed;
    assert.equal(b.destroyed, true);
  });

  it('times out after inactivity, and traffic either way puts the timeout off', async () => {
    const [a, b] = memorySocketPair();
    b.on('data', () => {});
    a.on('data', () => {});
    const sock = b as Duplex & { setTimeout(ms: number, cb?: () => void): unknown };
    // the socket's timer does not hold the process open (as net.Socket's does not)
    const keepAlive = setTimeout(() => {}, 5000);
    const t0 = performance.now();
    let firedAt = 0;
    const fired = new Promise<void>((resolve) => sock.setTimeout(400, () => ((firedAt = performance.now()), resolve())));
    // writes from the other end for 300 ms keep it alive
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 50));
      a.write('x');
    }
    assert.equal(firedAt, 0, 'timed out while traffic flowed');
    await fired;
    assert.ok(firedAt - t0 >= 300 + 400 - 20, `fired after ${Math.round(firedAt - t0)} ms`);
    clearTimeout(keepAlive);
    a.destroy();
  });
});

describe('inProcessTransport', () => {
  let server: Server;
  let connections = 0;
  const seen = { users: [] as (UserInfo | undefined)[] };
  let transport: Transport;

  before(() => {
    server = inProcessAcceptor(testHandler(seen));
    server.on('connection', () => connections++);
    transport = inProcessTransport(server, { username: 'system:kube-controller-manager', groups: ['system:controllers'] });
  });
  after(() => transport.close());

  it('speaks HTTP/1.1 to a server that never listens, reusing connections', async () => {
    const before = connections;
    for (let i = 0; i < 5; i++) {
      const res = await transport.request({ method: 'POST', path: '/echo', body: `n=${i}` });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), `n=${i}`);
    }
    assert.equal(connections - before, 1, 'sequential requests share one pooled connection');
    const res = await transport.request({ method: 'GET', path: '/nope' });
    assert.equal(res.status, 404);
  });

  it('moves large bodies and parallel requests intact', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const results = await Promise.all([1, 2, 3, 4].map(() => transport.request({ method: 'POST', path: '/echo', body: big })));
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(big));
    }
  });

  it('streams newline-delimited lines across chunk boundaries, and close() ends them', async () => {
    const s = await transport.stream({ method: 'GET', path: '/lines' });
    assert.equal(s.status, 200);
    const lines: string[] = [];
    for await (const line of s.lines) {
      lines.push(line);
      if (lines.length === 3) s.close();
    }
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { n: number }).n), [1, 2, 3]);
  });

  it('tells the server who is calling, with nothing on the wire', async () => {
    const res = await transport.request({ method: 'GET', path: '/who' });
    assert.equal(res.status, 200);
    const user = JSON.parse(res.body.toString()) as UserInfo;
    assert.equal(user.username, 'system:kube-controller-manager');
    assert.deepEqual(user.groups, ['system:controllers', 'system:authenticated']);
  });

  it('the in-process authenticator ignores sockets that carry no identity', async () => {
    // a socket from elsewhere (here: a raw socket pair handed to the same server) is anonymous
    const [client, serverEnd] = memorySocketPair();
    assert.equal((serverEnd as Duplex & { [IN_PROCESS_IDENTITY]?: unknown })[IN_PROCESS_IDENTITY], undefined);
    server.emit('connection', serverEnd);
    const response = new Promise<string>((resolve) => {
      let text = '';
      client.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\r\n\r\n')) resolve(text);
      });
    });
    client.write('GET /who HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer forged\r\nConnection: close\r\n\r\n');
    assert.match(await response, /^HTTP\/1\.1 401/);
    client.destroy();
    assert.equal(seen.users.at(-1), undefined);
  });
});

describe('kubeconfigTransport', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startTestCluster({ storage: 'memory' });
  });
  after(async () => {
    await cluster?.close();
  });

  it('reaches an HTTPS cluster with the kubeconfig CA and client certificate', async () => {
    const t = kubeconfigTransport(cluster.kubeconfigPath);
    try {
      const res = await t.request({ method: 'GET', path: '/api/v1/namespaces' });
      assert.equal(res.status, 200, res.body.toString());
      const list = JSON.parse(res.body.toString()) as { kind: string; items: { metadata: { name: string } }[] };
      assert.equal(list.kind, 'NamespaceList');
      assert.ok(list.items.some((n) => n.metadata.name === 'default'));
    } finally {
      t.close();
    }
  });

  it('is refused without the client certificate', async () => {
    const t = kubeconfigTransport({
      clusters: [{ name: 'c', cluster: { server: cluster.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    });
    try {
      const res = await t.request({ method: 'GET', path: '/api/v1/namespaces' });
      assert.equal(res.status, 401);
    } finally {
      t.close();
    }
  });

  it('talks plain HTTP to an http:// server', async () => {
    const seen = { users: [] as (UserInfo | undefined)[] };
    const plain = createServer(testHandler(seen));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const port = (plain.address() as { port: number }).port;
    const t = kubeconfigTransport({
      clusters: [{ name: 'c', cluster: { server: `http://127.0.0.1:${port}` } }],
      contexts: [{ name: 'x', context: { cluster: 'c' } }],
      'current-context': 'x',
    });
    try {
      const res = await t.request({ method: 'POST', path: '/echo', body: 'abc' });
      assert.equal(res.body.toString(), 'abc');
    } finally {
      t.close();
      plain.closeAllConnections();
      await new Promise((r) => plain.close(r));
    }
  });
});
