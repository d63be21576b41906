import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventRecorder } from '../../src/client/events.js';
import { RestClient } from '../../src/client/rest.js';
import type { Transport, TransportRequest, TransportResponse } from '../../src/client/transport.js';

interface Sent {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

/** A transport that records every request and answers 201/200 (or `status`), held until `release` when `hold`. */
function fakeTransport(opts: { hold?: boolean; status?: (r: TransportRequest) => number } = {}) {
  const sent: Sent[] = [];
  let held: (() => void)[] = [];
  const t: Transport = {
    async request(r) {
      const body = JSON.parse(String(r.body ?? '{}')) as Record<string, unknown>;
      sent.push({ method: r.method, path: r.path, body });
      if (opts.hold) await new Promise<void>((res) => held.push(res));
      const status = opts.status?.(r) ?? (r.method === 'POST' ? 201 : 200);
      const out = status >= 400 ? { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: status, reason: 'NotFound', message: 'not found' } : body;
      return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(out)) } satisfies TransportResponse;
    },
    stream: () => Promise.reject(new Error('no streams')),
    close() {},
  };
  return {
    transport: t,
    sent,
    release() {
      const h = held;
      held = [];
      for (const r of h) r();
    },
  };
}

const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', uid: `uid-${name}` } });

describe('EventRecorder', () => {
  it('creates an event once, then folds repeats into one count patch', async () => {
    const f = fakeTransport({ hold: true });
    const rec = new EventRecorder(new RestClient(f.transport), { component: 'test' });
    rec.event(pod('a'), 'Normal', 'Pulled', 'pulled');
    await new Promise((r) => setImmediate(r));
    rec.event(pod('a'), 'Normal', 'Pulled', 'pulled');
    rec.event(pod('a'), 'Normal', 'Pulled', 'pulled');
    assert.equal(f.sent.length, 1, 'repeats wait for the create in flight');
    f.release();
    await new Promise((r) => setTimeout(r, 20));
    f.release();
    await rec.flush();
    assert.deepEqual(
      f.sent.map((s) => [s.method, s.path]),
      [
        ['POST', '/api/v1/namespaces/ns/events'],
        ['PATCH', `/api/v1/namespaces/ns/events/${String((f.sent[0].body.metadata as { name: string }).name)}`],
      ],
    );
    assert.equal(f.sent[0].body.count, 1);
    assert.equal(f.sent[1].body.count, 3);
    assert.equal((f.sent[0].body.involvedObject as { uid: string }).uid, 'uid-a');
    assert.equal((f.sent[0].body.source as { component: string }).component, 'test');
  });

  it('lets a source burst 25 events about one object, then drops more (the spam filter)', async () => {
    const f = fakeTransport();
    let now = 1_000_000;
    const rec = new EventRecorder(new RestClient(f.transport), { component: 'test' }, () => {}, { now: () => now });
    for (let i = 0; i < 30; i++) rec.event(pod('b'), 'Warning', 'BackOff', `try ${i}`);
    rec.event(pod('other'), 'Normal', 'Started', 'started');
    await rec.flush();
    assert.equal(f.sent.filter((s) => (s.body.involvedObject as { name: string }).name === 'b').length, 25);
    assert.equal(f.sent.filter((s) => (s.body.involvedObject as { name: string }).name === 'other').length, 1);
    assert.equal(rec.dropped.spam, 5);
    now += 300_000;
    rec.event(pod('b'), 'Warning', 'BackOff', 'later');
    await rec.flush();
    assert.equal(rec.dropped.spam, 5, 'one token back after 5 minutes');
  });

  it('drops events beyond its queue instead of piling them up, and writes the rest', async () => {
    const f = fakeTransport({ hold: true });
    const lines: string[] = [];
    const rec = new EventRecorder(new RestClient(f.transport), { component: 'test' }, (l) => lines.push(l), { maxQueued: 10, writers: 2 });
    for (let i = 0; i < 50; i++) rec.event(pod(`p${i}`), 'Normal', 'Scheduled', 'ok');
    assert.equal(rec.pending, 12);
    assert.equal(rec.dropped.queueFull, 38);
    assert.match(lines[0], /queue of 10 is full/);
    for (let i = 0; i < 10 && rec.pending; i++) {
      f.release();
      await new Promise((r) => setTimeout(r, 5));
    }
    await rec.flush();
    assert.equal(f.sent.length, 12);
  });

  it('records an event afresh when the one it folds into is gone', async () => {
    let gone = false;
    const f = fakeTransport({ status: (r) => (gone && r.method === 'PATCH' ? 404 : r.method === 'POST' ? 201 : 200) });
    const rec = new EventRecorder(new RestClient(f.transport), { component: 'test' });
    rec.event(pod('c'), 'Normal', 'Killing', 'stopping');
    await rec.flush();
    gone = true;
    rec.event(pod('c'), 'Normal', 'Killing', 'stopping');
    await rec.flush();
    assert.deepEqual(
      f.sent.map((s) => s.method),
      ['POST', 'PATCH', 'POST'],
    );
    assert.notEqual((f.sent[2].body.metadata as { name: string }).name, (f.sent[0].body.metadata as { name: string }).name);
    assert.equal(f.sent[2].body.count, 2);
  });
});
