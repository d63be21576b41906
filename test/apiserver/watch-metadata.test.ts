// Metadata-only watches (Accept: …;as=PartialObjectMetadata, what the garbage collector's and quota
// controller's informers use): each event carries the object's metadata and nothing else, and every such
// watcher of an event gets the same line.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builtinScheme } from '../../src/api/kinds/index.js';
import { inProcessAuthenticator } from '../../src/apiserver/authn.js';
import type { ApiServer } from '../../src/apiserver/handler.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport, type TransportStream } from '../../src/client/transport.js';
import { MemoryStore } from '../../src/storage/memory.js';

const METADATA_JSON = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

interface WatchEvent {
  type: string;
  object: { kind?: string; apiVersion?: string; metadata?: { name?: string; labels?: Record<string, string>; resourceVersion?: string }; data?: unknown };
}

async function take(stream: TransportStream, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for await (const line of stream.lines) {
    out.push(JSON.parse(line) as WatchEvent);
    if (out.length === n) break;
  }
  return out;
}

describe('metadata-only watches', () => {
  let api: ApiServer;
  let transport: Transport;
  before(() => {
    api = newApiServer({ store: new MemoryStore(), scheme: builtinScheme(), authenticate: inProcessAuthenticator(), serverAddress: 'x', serviceAccountAdmission: { requireServiceAccount: false } });
    transport = inProcessTransport(inProcessAcceptor(api.handle), { username: 'admin', groups: ['system:masters'] });
  });
  after(() => transport.close());

  it('send metadata only, the same for every watcher, for ADDED, MODIFIED and DELETED', async () => {
    const rest = new RestClient(transport);
    await rest.resource(RESOURCES.namespaces, '').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    const cms = rest.resource(RESOURCES.configmaps, 'default');
    const rv = (await cms.list()).metadata?.resourceVersion;
    const open = () =>
      transport.stream({ method: 'GET', path: `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`, headers: { Accept: METADATA_JSON } });
    const watchers = [await open(), await open()];
    const plain = await transport.stream({ method: 'GET', path: `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}` });
    try {
      const got = watchers.map((w) => take(w, 3));
      const gotPlain = take(plain, 3);
      await cms.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'm', labels: { a: '1' } }, data: { secret: 'value' } });
      await cms.patch('m', 'merge', { metadata: { labels: { a: '2' } } });
      await cms.delete('m');
      const [a, b] = await Promise.all(got);
      assert.deepEqual(a.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      assert.deepEqual(a, b, 'both metadata watchers get the same events');
      for (const e of a) {
        assert.equal(e.object.kind, 'PartialObjectMetadata');
        assert.equal(e.object.apiVersion, 'meta.k8s.io/v1');
        assert.equal(e.object.metadata?.name, 'm');
        assert.equal(e.object.data, undefined, 'no data in a metadata event');
      }
      assert.deepEqual(a.map((e) => e.object.metadata?.labels?.a), ['1', '2', '2']);
      // the full watcher of the same events still gets the whole objects
      const full = await gotPlain;
      assert.deepEqual(full.map((e) => [e.type, e.object.kind, (e.object.data as Record<string, string> | undefined)?.secret]), [
        ['ADDED', 'ConfigMap', 'value'],
        ['MODIFIED', 'ConfigMap', 'value'],
        ['DELETED', 'ConfigMap', 'value'],
      ]);
      assert.deepEqual(full.map((e) => e.object.metadata?.resourceVersion), a.map((e) => e.object.metadata?.resourceVersion));
    } finally {
      for (const w of [...watchers, plain]) w.close();
    }
  });
});
