// When an admission plugin refuses a write, the plugins that admitted it before undo what they reserved
// (a ClusterIP, a quota charge…): a refusal leaks nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStatusError, StatusError } from '../../src/api/errors.js';
import { builtinScheme } from '../../src/api/kinds/index.js';
import type { AdmissionPlugin } from '../../src/apiserver/registry.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { MemoryStore } from '../../src/storage/memory.js';

describe('admission rollback', () => {
  it('a refusal by a later plugin rolls back the earlier ones; the refusing one and later ones are not asked', async () => {
    const scheme = builtinScheme();
    const api = newApiServer({ store: new MemoryStore(), scheme, authenticate: () => undefined, serverAddress: 'x', anonymousIsAdmin: true });
    // the server's own start-up writes (default namespaces, policy) go through admission too: let them finish
    await api.whenReady;
    const calls: string[] = [];
    let reserved = 0;
    const reserver: AdmissionPlugin = {
      name: 'reserver',
      admit: () => {
        reserved++;
        calls.push('reserver.admit');
      },
      rollback: () => {
        reserved--;
        calls.push('reserver.rollback');
      },
    };
    const refuser: AdmissionPlugin = {
      name: 'refuser',
      admit: (_op, _info, obj) => {
        calls.push('refuser.admit');
        if (obj.metadata?.name === 'refused') throw new StatusError(403, 'Forbidden', 'configmaps "refused" is forbidden: no');
      },
      rollback: () => void calls.push('refuser.rollback'),
    };
    const later: AdmissionPlugin = { name: 'later', admit: () => void calls.push('later.admit'), rollback: () => void calls.push('later.rollback') };
    api.registry.admission.push(reserver, refuser, later);
    const configmaps = scheme.lookup('', 'v1', 'configmaps')!;
    await api.registry.create(scheme.lookup('', 'v1', 'namespaces')!, undefined, { metadata: { name: 'ns' } });
    calls.length = 0;
    reserved = 0;

    await assert.rejects(api.registry.create(configmaps, 'ns', { metadata: { name: 'refused' } }), (e: unknown) => isStatusError(e) && e.code === 403);
    assert.equal(reserved, 0, `what the earlier plugin reserved was given back: ${calls.join(' ')}`);
    assert.deepEqual(calls, ['reserver.admit', 'refuser.admit', 'reserver.rollback']);

    calls.length = 0;
    await api.registry.create(configmaps, 'ns', { metadata: { name: 'fine' } });
    assert.equal(reserved, 1);
    assert.deepEqual(calls, ['reserver.admit', 'refuser.admit', 'later.admit']);
  });
});
