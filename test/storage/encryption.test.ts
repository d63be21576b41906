import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ValueTransformer, type EncryptionConfiguration } from '../../src/storage/encryption.js';
import { SqliteStore } from '../../src/storage/sqlite.js';
import type { StoreEvent } from '../../src/storage/store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'timonel-enc-'));
  dirs.push(dir);
  return path.join(dir, 'state.db');
}

const key = (name: string) => ({ name, secret: randomBytes(32).toString('base64') });

function config(providers: EncryptionConfiguration['resources'][0]['providers'], resources = ['secrets']): EncryptionConfiguration {
  return { apiVersion: 'apiserver.config.k8s.io/v1', kind: 'EncryptionConfiguration', resources: [{ resources, providers }] };
}

const SECRET_KEY = '/core/secrets/ns/db';
const PLAIN = 'hunter2-correct-horse-battery-staple';

function secret(name: string, value = PLAIN) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' }, stringData: { password: value } };
}

/** every file of the database (main file and WAL) */
function diskBytes(file: string): Buffer {
  return Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
}

describe('ValueTransformer', () => {
  for (const provider of ['aesgcm', 'aescbc'] as const) {
    it(`${provider}: encrypts covered keys with the first key, reads every configured key, leaves other keys plain`, () => {
      const k1 = key('key1');
      const old = ValueTransformer.fromConfiguration(config([{ [provider]: { keys: [k1] } }, { identity: {} }]));
      const stored = old.toStorage(SECRET_KEY, '{"a":1}');
      assert.match(stored, new RegExp(`^k8s:enc:${provider}:v1:key1:`));
      assert.ok(!stored.includes('"a"'));
      assert.equal(old.fromStorage(SECRET_KEY, stored), '{"a":1}');
      assert.equal(old.toStorage('/core/configmaps/ns/x', '{"a":1}'), '{"a":1}');
      // plain values written before encryption was configured stay readable
      assert.equal(old.fromStorage(SECRET_KEY, '{"plain":true}'), '{"plain":true}');
      const rotated = ValueTransformer.fromConfiguration(config([{ [provider]: { keys: [key('key2'), k1] } }]));
      assert.equal(rotated.fromStorage(SECRET_KEY, stored), '{"a":1}');
      assert.match(rotated.toStorage(SECRET_KEY, '{}'), new RegExp(`^k8s:enc:${provider}:v1:key2:`));
      assert.equal(rotated.isStale(SECRET_KEY, stored), true);
    });
  }

  it('aesgcm: a changed byte or a value moved to another key fails to decrypt', () => {
    const t = ValueTransformer.fromConfiguration(config([{ aesgcm: { keys: [key('k')] } }]));
    const stored = t.toStorage(SECRET_KEY, '{"a":1}');
    const body = Buffer.from(stored.slice('k8s:enc:aesgcm:v1:k:'.length), 'base64');
    body[body.length - 20] ^= 1;
    const tampered = 'k8s:enc:aesgcm:v1:k:' + body.toString('base64');
    assert.throws(() => t.fromStorage(SECRET_KEY, tampered), (e: Error & { code?: string }) => e.code === 'Internal' && /failed to decrypt/.test(e.message));
    assert.throws(() => t.fromStorage('/core/secrets/ns/other', stored), /failed to decrypt/);
  });

  it('a value written with a key no longer configured is an error naming the key', () => {
    const a = ValueTransformer.fromConfiguration(config([{ aesgcm: { keys: [key('gone')] } }]));
    const b = ValueTransformer.fromConfiguration(config([{ aesgcm: { keys: [key('other')] } }]));
    assert.throws(() => b.fromStorage(SECRET_KEY, a.toStorage(SECRET_KEY, '{}')), /no key configured to decrypt .*aesgcm:v1:gone:/);
  });

  it('refuses bad configurations', () => {
    assert.throws(() => ValueTransformer.fromConfiguration(config([{ aesgcm: { keys: [{ name: 'k', secret: 'c2hvcnQ=' }] } }])), /16, 24 or 32 bytes/);
    assert.throws(() => ValueTransformer.fromConfiguration(config([])), /at least one provider/);
    assert.throws(() => ValueTransformer.fromConfiguration(config([{ aesgcm: { keys: [] } }])), /at least one key/);
    assert.throws(() => ValueTransformer.fromConfiguration(config([{ identity: {} }], ['*.*'])), /wildcard/);
    assert.throws(() => ValueTransformer.fromConfiguration({ kind: 'Pod', resources: [] } as unknown as EncryptionConfiguration), /not EncryptionConfiguration/);
  });

  it('a generated configuration encrypts Secrets; rotation puts a new key first and keeps the old ones', () => {
    const cfg = ValueTransformer.generateConfiguration();
    const { cfg: next, keyName } = ValueTransformer.rotateConfiguration(cfg);
    assert.equal(keyName, 'key2');
    assert.deepEqual(next.resources[0].providers[0].aesgcm?.keys.map((k) => k.name), ['key2', 'key1']);
    assert.deepEqual(cfg.resources[0].providers[0].aesgcm?.keys.map((k) => k.name), ['key1'], 'the input is not changed');
  });

  it('tells which key ranges may hold encrypted values (identity first still reads older ciphertexts)', () => {
    const secret = randomBytes(32).toString('base64');
    const t = ValueTransformer.fromConfiguration({
      resources: [
        { resources: ['secrets'], providers: [{ aesgcm: { keys: [{ name: 'k', secret }] } }] },
        { resources: ['configmaps'], providers: [{ identity: {} }, { aescbc: { keys: [{ name: 'k', secret }] } }] },
        { resources: ['events'], providers: [{ identity: {} }] },
      ],
    });
    assert.equal(t.mayEncrypt('/core/secrets/'), true);
    assert.equal(t.mayEncrypt('/core/secrets/ns/'), true);
    assert.equal(t.mayEncrypt('/core/configmaps/ns/'), true);
    assert.equal(t.mayEncrypt('/core/events/ns/'), false);
    assert.equal(t.mayEncrypt('/core/pods/ns/'), false);
  });
});

describe('SqliteStore with encryption at rest', () => {
  it('keeps Secret plaintext out of the database file and its WAL, and serves plaintext to readers and watchers', async () => {
    const file = tempFile();
    const t = ValueTransformer.fromConfiguration(ValueTransformer.generateConfiguration());
    const store = SqliteStore.open(file, { valueTransformer: t });
    try {
      const seen: StoreEvent[] = [];
      store.watch('/core/secrets/', { afterRev: 0, onEvent: (ev) => seen.push(ev) });
      await store.create(SECRET_KEY, secret('db'));
      const first = (await store.get(SECRET_KEY))!;
      await store.update(SECRET_KEY, secret('db', `${PLAIN}-2`), first.rev);
      await store.create('/core/configmaps/ns/cfg', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { visible: 'plain-configmap-value' } });
      assert.match((await store.get(SECRET_KEY))!.value, new RegExp(`${PLAIN}-2`));
      assert.equal((await store.list('/core/secrets/')).items.length, 1);
      assert.match((await store.list('/core/secrets/', { revision: first.rev })).items[0].value, new RegExp(`"${PLAIN}"`));
      assert.deepEqual(seen.map((e) => e.type), ['ADDED', 'MODIFIED']);
      assert.match(seen[1].prevValue!, new RegExp(`"${PLAIN}"`));
      // a watch replayed from history reads encrypted events back
      const replay: StoreEvent[] = [];
      store.watch('/core/secrets/', { afterRev: 0, onEvent: (ev) => replay.push(ev) }).stop();
      assert.equal(replay.length, 2);
      assert.ok(replay.every((e) => e.value.includes(PLAIN)));
      const disk = diskBytes(file);
      assert.equal(disk.includes(PLAIN), false, 'the secret value is not on disk');
      assert.equal(disk.includes('plain-configmap-value'), true, 'values not covered stay plain (the check can see plaintext)');
      await store.delete(SECRET_KEY);
      assert.equal(diskBytes(file).includes(PLAIN), false);
    } finally {
      await store.close();
    }
  });

  it('a tampered stored Secret is an error on read, not garbage; other keys still read', async () => {
    const file = tempFile();
    const t = ValueTransformer.fromConfiguration(ValueTransformer.generateConfiguration());
    let store = SqliteStore.open(file, { valueTransformer: t });
    await store.create(SECRET_KEY, secret('db'));
    await store.create('/core/secrets/ns/ok', secret('ok'));
    await store.close();
    const db = new Database(file);
    const stored = db.prepare('SELECT value FROM objects WHERE key = ?').pluck().get(SECRET_KEY) as string;
    const i = stored.length - 10;
    db.prepare('UPDATE objects SET value = ? WHERE key = ?').run(stored.slice(0, i) + (stored[i] === 'A' ? 'B' : 'A') + stored.slice(i + 1), SECRET_KEY);
    db.close();
    store = SqliteStore.open(file, { valueTransformer: t });
    try {
      await assert.rejects(store.get(SECRET_KEY), /failed to decrypt/);
      assert.match((await store.get('/core/secrets/ns/ok'))!.value, /"ok"/);
    } finally {
      await store.close();
    }
  });

  it('reencrypt rewrites objects and history with the new key, in place', async () => {
    const file = tempFile();
    const cfg = ValueTransformer.generateConfiguration();
    const t1 = ValueTransformer.fromConfiguration(cfg);
    // written before encryption existed: plain
    let store = SqliteStore.open(file);
    await store.create('/core/secrets/ns/legacy', secret('legacy', 'legacy-plain-value'));
    await store.close();
    assert.equal(diskBytes(file).includes('legacy-plain-value'), true);
    store = SqliteStore.open(file, { valueTransformer: t1 });
    await store.create(SECRET_KEY, secret('db'));
    const rev = store.currentRevision();
    const t2 = ValueTransformer.fromConfiguration(ValueTransformer.rotateConfiguration(cfg).cfg);
    const n = store.reencrypt(t2, t2.prefixes());
    assert.equal(n, 4, 'two objects and their two events: one pair plain, one pair under key1');
    await store.close();
    store = SqliteStore.open(file, { valueTransformer: t2 });
    try {
      assert.equal(store.currentRevision(), rev, 'no new revision');
      // a fresh store has no events in memory: this replay reads (and decrypts) the history table
      const replay: StoreEvent[] = [];
      store.watch('/core/secrets/', { afterRev: 0, onEvent: (ev) => replay.push(ev) }).stop();
      assert.deepEqual(replay.map((e) => e.key), ['/core/secrets/ns/legacy', SECRET_KEY]);
      assert.match(replay[1].value, new RegExp(PLAIN));
      assert.match((await store.get('/core/secrets/ns/legacy'))!.value, /legacy-plain-value/);
      assert.match((await store.get(SECRET_KEY))!.value, new RegExp(PLAIN));
      const db = new Database(file, { readonly: true });
      const values = db.prepare("SELECT value FROM objects WHERE key LIKE '/core/secrets/%' UNION ALL SELECT value FROM events WHERE key LIKE '/core/secrets/%'").pluck().all() as string[];
      db.close();
      assert.ok(values.length >= 4);
      assert.ok(values.every((v) => v.startsWith('k8s:enc:aesgcm:v1:key2:')), values.map((v) => v.slice(0, 24)).join(', '));
      assert.equal(diskBytes(file).includes('legacy-plain-value'), false, 'VACUUM left no plain copy');
    } finally {
      await store.close();
    }
  });
});
