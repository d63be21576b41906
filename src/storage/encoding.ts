// Helpers shared by the storage backends: stamping revisions into objects, key ranges, errors.
import { StorageError, prefixEnd, type StampedObject, type StorableObject, type StoredValue } from './store.js';

/** Sets `metadata.resourceVersion` to `rev` and serializes the object (the one JSON.stringify of a write). */
export function stampResourceVersion(o: StorableObject, rev: number): string {
  const obj = o as StampedObject;
  const metadata = obj.metadata ?? (obj.metadata = {});
  metadata.resourceVersion = String(rev);
  return JSON.stringify(obj);
}

/** Runs `write` (which stamps `obj`); puts the caller's resourceVersion back if the write fails. */
export function restoreOnFailure<T>(o: StorableObject, write: () => T): T {
  const obj = o as StampedObject;
  const had = obj.metadata !== undefined;
  const previous = obj.metadata?.resourceVersion;
  try {
    return write();
  } catch (err) {
    if (!had) delete obj.metadata;
    else if (obj.metadata) {
      if (previous === undefined) delete obj.metadata.resourceVersion;
      else obj.metadata.resourceVersion = previous;
    }
    throw err;
  }
}

/** The stored JSON of a deleted object, re-serialized with the delete's revision. */
export function restampValue(value: string, rev: number): string {
  return stampResourceVersion(JSON.parse(value) as StorableObject, rev);
}

// Sorts after every key made of BMP characters; keys are ASCII paths.
const ALL_KEYS_END = '\u{10FFFF}';

/** Keys starting with `prefix` are exactly those in [lo, hi). */
export interface KeyRange {
  lo: string;
  hi: string;
}

export function keyRange(prefix: string): KeyRange {
  return { lo: prefix, hi: prefix === '' ? ALL_KEYS_END : prefixEnd(prefix) };
}

export function closedError(): StorageError {
  return new StorageError('Closed', '', 'storage is closed');
}

export function keyExistsError(key: string): StorageError {
  return new StorageError('KeyExists', key, `key ${key} already exists`);
}

export function notFoundError(key: string): StorageError {
  return new StorageError('NotFound', key, `key ${key} not found`);
}

export function conflictError(key: string, expectedRev: number, current: StoredValue): StorageError {
  return new StorageError(
    'Conflict',
    key,
    `key ${key} is at revision ${current.rev}, not at the expected revision ${expectedRev}`,
    current,
  );
}

export function listCompactedError(prefix: string, revision: number, compactedRev: number): StorageError {
  return new StorageError(
    'Compacted',
    prefix,
    `required revision ${revision} has been compacted (compacted revision ${compactedRev})`,
    undefined,
    compactedRev,
  );
}

export function watchCompactedError(prefix: string, afterRev: number, compactedRev: number): StorageError {
  return new StorageError(
    'Compacted',
    prefix,
    `too old resource version: ${afterRev} (${compactedRev})`,
    undefined,
    compactedRev,
  );
}
