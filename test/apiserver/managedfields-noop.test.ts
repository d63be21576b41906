// A write that changes nothing but the times in managedFields is a no-op (upstream's
// IgnoreManagedFieldsTimestampsTransformer): same resourceVersion, the stored times kept; any other change is not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinScheme } from '../../src/api/kinds/index.js';
import type { KubeObject } from '../../src/api/types.js';
import { newApiServer } from '../../src/apiserver/server.js';
import { MemoryStore } from '../../src/storage/memory.js';

const OTHER_TIME = '2001-01-01T00:00:00Z';

function withOtherTimes(o: KubeObject): KubeObject {
  const copy = JSON.parse(JSON.stringify(o)) as KubeObject;
  for (const e of (copy.metadata!.managedFields ?? []) as { time?: string }[]) e.time = OTHER_TIME;
  return copy;
}

describe('managedFields times alone', () => {
  const scheme = builtinScheme();
  const api = newApiServer({ store: new MemoryStore(), scheme, authenticate: () => undefined, serverAddress: 'x', serviceAccountAdmission: { requireServiceAccount: false } });
  const reg = api.registry;
  const ready = reg.create(scheme.lookup('', 'v1', 'namespaces')!, undefined, { metadata: { name: 'default' } });
  const kinds: [string, KubeObject, (o: KubeObject) => void][] = [
    ['a ConfigMap (no spec, no status)', { metadata: { name: 'cm' }, data: { a: '1' } }, (o) => ((o.data as Record<string, string>).a = '2')],
    [
      'a Pod (spec and status)',
      { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      (o) => ((o.metadata!.labels ??= {}).x = 'y'),
    ],
  ];
  for (const [what, body, change] of kinds) {
    it(`make no write on ${what}; a change with them does`, async () => {
      await ready;
      const info = scheme.lookup('', 'v1', body.spec ? 'pods' : 'configmaps')!;
      const created = (await reg.create(info, 'default', body, { fieldManager: 'tester' })).obj;
      assert.ok(created.metadata.managedFields?.length, 'the create recorded its manager');
      const same = await reg.update(info, 'default', body.metadata!.name!, withOtherTimes(created), { fieldManager: 'tester' });
      assert.equal(same.item.obj.metadata.resourceVersion, created.metadata.resourceVersion, 'no new revision');
      assert.deepEqual(same.item.obj.metadata.managedFields, created.metadata.managedFields, 'the stored times stay');
      const changedBody = withOtherTimes(created);
      change(changedBody);
      const changed = await reg.update(info, 'default', body.metadata!.name!, changedBody, { fieldManager: 'tester' });
      assert.notEqual(changed.item.obj.metadata.resourceVersion, created.metadata.resourceVersion, 'a real change is written');
    });
  }
});
