// In-process watches: the API server hands event lines to the client's queue instead of the HTTP body.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { inProcessAuthenticator } from '../../src/apiserver/authn.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { Informer } from '../../src/client/informer.js';
import { RestClient, type ResourceRef } from '../../src/client/rest.js';
import {
  IN_PROCESS_LINE_SINKS,
  inProcessAcceptor,
  inProcessTransport,
  LINE_SINK_HEADER,
  LineQueue,
  memorySocketPair,
  type LineSinks,
  type Transport,
} from '../../src/client/transport.js';
import { openStore, type Store } from '../../src/storage/index.js';

const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', resource: 'configmaps', namespaced: true };
const NAMESPACES: ResourceRef = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };

type SinkSocket = Duplex & { [IN_PROCESS_LINE_SINKS]?: LineSinks };

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('LineQueue', () => {
  it('yields lines in order, counts unread bytes, ends after what is queued', async () => {
    const q = new LineQueue();
    q.push('ab');
    q.push('cde');
    assert.equal(q.backlog, 5);
    const it = q.lines();
    assert.deepEqual(await it.next(), { value: 'ab', done: false });
    assert.equal(q.backlog, 3);
    const later = it.next();
    q.push('f');
    q.end();
    q.push('dropped');
    assert.deepEqual(await later, { value: 'cde', done: false });
    assert.deepEqual(await it.next(), { value: 'f', done: false });
    assert.equal((await it.next()).done, true);
  });

  it('wakes a waiting reader, passes an error on, and discards on demand', async () => {
    const q = new LineQueue();
    const it = q.lines();
    const waiting = it.next();
    q.push('x');
    assert.deepEqual(await waiting, { value: 'x', done: false });
    const failing = it.next();
    q.end(new Error('boom'));
    await assert.rejects(failing, /boom/);

    const d = new LineQueue();
    d.push('a');
    d.end(undefined, true);
    assert.equal(d.backlog, 0);
    assert.equal((await d.lines().next()).done, true);
  });
});

describe('in-process line sinks', () => {
  const claims: string[] = [];
  let transport: Transport;
  const server = inProcessAcceptor((req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const token = req.headers[LINE_SINK_HEADER];
    const sinks = (req.socket as SinkSocket)[IN_PROCESS_LINE_SINKS];
    const sink = typeof token === 'string' ? sinks?.claim(token) : undefined;
    claims.push(sink ? 'claimed' : 'none');
    if (typeof token === 'string') assert.equal(sinks?.claim(token), undefined, 'a sink is claimed once');
    if (sink) {
      sink.push('{"n":1}');
      sink.push('{"n":2}');
      setTimeout(() => res.end(), 5);
    } else {
      res.end('{"n":"body"}\n');
    }
  });

  before(() => {
    transport = inProcessTransport(server, { username: 'sink-test', groups: [] });
  });
  after(() => transport.close());

  it('hands lines to the stream without the HTTP body, and ends with the response', async () => {
    const s = await transport.stream({ method: 'GET', path: '/w' });
    const lines: string[] = [];
    for await (const l of s.lines) lines.push(l);
    assert.deepEqual(lines, ['{"n":1}', '{"n":2}']);
    assert.deepEqual(claims.splice(0), ['claimed']);
  });

  it('a socket from elsewhere carries no sinks: the header finds nothing and lines come in the body', async () => {
    const [client, serverEnd] = memorySocketPair();
    server.emit('connection', serverEnd);
    let text = '';
    const done = new Promise<void>((resolve) => {
      client.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('0\r\n\r\n')) resolve();
      });
    });
    client.write(`GET /w HTTP/1.1\r\nHost: x\r\n${LINE_SINK_HEADER}: 1\r\nConnection: close\r\n\r\n`);
    await done;
    client.destroy();
    assert.deepEqual(claims.splice(0), ['none']);
    assert.match(text, /\{"n":"body"\}/);
  });
});

describe('in-process watches of the API server', () => {
  let store: Store;
  let api: ApiServer;
  let transport: Transport;
  let rest: RestClient;
  const serverSockets: SinkSocket[] = [];
  let bytesFromServer = 0;

  before(async () => {
    store = openStore('memory');
    api = newApiServer({ store, scheme: builtinScheme(), authenticate: inProcessAuthenticator(), serverAddress: 'in-process' });
    const acceptor = inProcessAcceptor(api.handle);
    acceptor.on('connection', (s: SinkSocket) => {
      serverSockets.push(s);
      const write = s.write.bind(s) as (chunk: Buffer | string, ...rest: unknown[]) => boolean;
      s.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
        bytesFromServer += Buffer.byteLength(chunk);
        return write(chunk, ...rest);
      }) as typeof s.write;
    });
    transport = inProcessTransport(acceptor, { username: 'sink-watch-test', groups: ['system:masters'] });
    rest = new RestClient(transport);
    await rest.resource<Namespace>(NAMESPACES).create({ metadata: { name: 'sink' } });
  });
  after(async () => {
    api.closeWatches();
    transport.close();
    await store.close();
  });

  it('an informer gets every event, and the event bytes never cross the in-memory socket', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'sink');
    const inf = new Informer<ConfigMap>(cms, { labelSelector: 'app=sink' });
    const seen: string[] = [];
    inf.addEventHandler({
      onAdd: (o) => seen.push(`add ${o.metadata?.name} ${o.data?.v}`),
      onUpdate: (_a, o) => seen.push(`update ${o.metadata?.name} ${o.data?.v}`),
      onDelete: (o) => seen.push(`delete ${o.metadata?.name}`),
    });
    inf.start();
    try {
      await inf.waitForSync();
      // let the watch request reach the server
      await new Promise((r) => setTimeout(r, 50));
      const big = 'x'.repeat(200_000);
      const before = bytesFromServer;
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 5; i++) writes.push(cms.create({ metadata: { name: `cm-${i}`, labels: { app: 'sink' } }, data: { v: String(i), big } }));
      await Promise.all(writes);
      await cms.patch('cm-0', 'merge', { data: { v: 'changed' } });
      await cms.delete('cm-1');
      // a label change takes it out of the selection: the watch says DELETED
      await cms.patch('cm-2', 'merge', { metadata: { labels: { app: 'other' } } });
      await waitFor('all events', () => seen.length === 8);
      assert.deepEqual(seen.slice(0, 5).sort(), [0, 1, 2, 3, 4].map((i) => `add cm-${i} ${i}`));
      assert.deepEqual(seen.slice(5), ['update cm-0 changed', 'delete cm-1', 'delete cm-2']);
      // the create/patch answers carry the objects (5 × 200 kB and more); the watch's five ADDED events
      // of the same size would double that if they travelled over the socket
      const sent = bytesFromServer - before;
      assert.ok(sent > 5 * 200_000, `the responses went over the socket (${sent} bytes)`);
      assert.ok(sent < 8 * 200_000, `the watch events did not (${sent} bytes)`);
      assert.deepEqual(inf.keys().sort(), ['sink/cm-0', 'sink/cm-3', 'sink/cm-4']);
    } finally {
      await inf.stop();
    }
  });

  it('a watch refused before it starts (bad selector) still fails with the server Status', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'sink');
    await assert.rejects(cms.watch({ fieldSelector: 'spec.nope=1' }), (e: Error & { code?: number }) => e.code === 400 && /field label not supported/.test(e.message));
  });

  it('closing a watch ends its lines and the server lets go of it', async () => {
    const cms = rest.resource<ConfigMap>(CONFIGMAPS, 'sink');
    const w = await cms.watch({ resourceVersion: String(store.currentRevision()) });
    const got: string[] = [];
    const reading = (async () => {
      for await (const ev of w.events) got.push(`${ev.type} ${(ev.object as ConfigMap).metadata?.name}`);
    })();
    await cms.create({ metadata: { name: 'closing' }, data: { v: '1' } });
    await waitFor('the event', () => got.length === 1);
    w.close();
    await reading;
    assert.deepEqual(got, ['ADDED closing']);
    await cms.create({ metadata: { name: 'after-close' } });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ['ADDED closing']);
  });
});
