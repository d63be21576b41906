// Child process for the crash-safety test: writes until killed, printing each acknowledged write. With a third
// argument `leave-open` it ends without closing the store (which must not keep the process alive).
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { SqliteStore } from '../../src/storage/sqlite.js';

function configMap(name: string, data: Record<string, string>): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data };
}

const [file, countArg, leave] = process.argv.slice(2);
const store = SqliteStore.open(file);
const filler = 'x'.repeat(500);
let previous: { key: string; rev: number } | undefined;
for (let i = 0; i < Number(countArg); i++) {
  const key = `/core/configmaps/default/cm-${i}`;
  const created = await store.create(key, configMap(`cm-${i}`, { filler }));
  process.stdout.write(`${key} ${created.rev}\n`);
  if (previous && i % 3 === 0) {
    const name = previous.key.slice(previous.key.lastIndexOf('/') + 1);
    const updated = await store.update(previous.key, configMap(name, { filler, i: String(i) }), previous.rev);
    process.stdout.write(`${updated.key} ${updated.rev}\n`);
  }
  previous = { key, rev: created.rev };
}
if (leave !== 'leave-open') await store.close();
