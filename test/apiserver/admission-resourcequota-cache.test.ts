// ResourceQuota admission reads quotas from a watch-fed cache: writes to a namespace without quotas do not
// list them from storage, and a quota (or its status) written just before a create already limits it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configMapKind } from '../../src/api/kinds/configmap.js';
import { resourceQuotaKind } from '../../src/api/kinds/resourcequota.js';
import type { KindInfo } from '../../src/api/types.js';
import { resourceQuotaAdmission } from '../../src/apiserver/admission/resourcequota.js';
import { Registry } from '../../src/apiserver/registry.js';
import { MemoryStore } from '../../src/storage/memory.js';

const cm = (name: string) => ({ metadata: { name }, data: { k: 'v' } });

describe('ResourceQuota admission cache', () => {
  it('lists quotas from storage once, not per write', async () => {
    const store = new MemoryStore();
    const listed: string[] = [];
    const list = store.list.bind(store);
    store.list = (prefix, opts) => {
      listed.push(prefix);
      return list(prefix, opts);
    };
    const reg = new Registry(store);
    reg.admission.push(resourceQuotaAdmission(() => resourceQuotaKind as KindInfo));
    for (let i = 0; i < 5; i++) await reg.create(configMapKind as KindInfo, 'a', cm(`cm-${i}`));
    assert.deepEqual(
      listed.filter((p) => p.startsWith('/core/resourcequotas/')),
      ['/core/resourcequotas/'],
    );
    await store.close();
  });

  it('enforces a quota written just before the create, and frees what a deleted quota limited', async () => {
    const store = new MemoryStore();
    const reg = new Registry(store);
    reg.admission.push(resourceQuotaAdmission(() => resourceQuotaKind as KindInfo));
    const rq = resourceQuotaKind as KindInfo;
    const cms = configMapKind as KindInfo;
    await reg.create(cms, 'a', cm('before'));
    await reg.create(rq, 'a', { metadata: { name: 'q' }, spec: { hard: { 'count/configmaps': '2' } } });
    await reg.update(rq, 'a', 'q', { metadata: { name: 'q' }, spec: { hard: { 'count/configmaps': '2' } }, status: { hard: { 'count/configmaps': '2' }, used: { 'count/configmaps': '1' } } }, { subresource: 'status' });
    await reg.create(cms, 'a', cm('second'));
    await assert.rejects(reg.create(cms, 'a', cm('third')), (e: Error & { code?: number }) => {
      assert.equal(e.code, 403);
      assert.match(e.message, /exceeded quota: q, requested: count\/configmaps=1, used: count\/configmaps=2, limited: count\/configmaps=2/);
      return true;
    });
    // another namespace is not limited
    await reg.create(cms, 'b', cm('third'));
    await reg.delete(rq, 'a', 'q');
    await reg.create(cms, 'a', cm('third'));
    const used = (await reg.list(cms, 'a', {})).items.length;
    assert.equal(used, 3);
    await store.close();
  });
});
