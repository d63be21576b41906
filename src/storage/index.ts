// Opens a storage backend by name; the rest of the server only sees `Store`.
import { MemoryStore } from './memory.js';
import type { StoreOptions } from './retention.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export * from './store.js';
export { MemoryStore } from './memory.js';
export { SqliteStore } from './sqlite.js';
export type { StoreOptions } from './retention.js';

export type StoreKind = 'sqlite' | 'memory';

export function openStore(kind: StoreKind, path?: string, opts?: StoreOptions): Store {
  switch (kind) {
    case 'memory':
      return new MemoryStore(opts);
    case 'sqlite':
      if (!path) throw new Error('storage: the sqlite backend needs a database file path');
      return SqliteStore.open(path, opts);
  }
}
