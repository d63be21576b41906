// Secrets encrypted on disk by default: a real server, real kubectl, the database files read byte by byte,
// and `timonel secrets rotate` run as a user runs it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import { removeTempDataDir, spawnServer, tempDataDir, type SpawnedServer } from '../helpers/cluster.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const run = promisify(execFile);
const VALUE = 'top-secret-9f3c1e77-course-password';

function onDisk(dataDir: string, needle: string): boolean {
  const files = ['state.db', 'state.db-wal'].map((f) => join(dataDir, f)).filter((f) => existsSync(f));
  return files.some((f) => readFileSync(f).includes(needle));
}

describe('Secrets at rest', () => {
  const dataDir = tempDataDir('timonel-secrets-');
  let server: SpawnedServer | undefined;
  after(async () => {
    if (server) {
      server.kill('SIGTERM');
      await server.waitExit();
    }
    removeTempDataDir(dataDir);
  });

  it('keeps Secret values off the disk, serves them to kubectl, survives key rotation, refuses tampering', async () => {
    server = await spawnServer(['--data-dir', dataDir]);
    const cfgFile = join(dataDir, 'encryption-config.yaml');
    assert.equal(statSync(cfgFile).mode & 0o777, 0o600, 'the key file is private');
    assert.deepEqual((parse(readFileSync(cfgFile, 'utf8')) as { resources: { resources: string[] }[] }).resources[0].resources, ['secrets']);

    await server.kubectlOk(['create', 'secret', 'generic', 'db', `--from-literal=password=${VALUE}`]);
    await server.kubectlOk(['create', 'configmap', 'visible', '--from-literal=note=plain-configmap-text']);
    const got = await server.kubectlOk(['get', 'secret', 'db', '-o', 'jsonpath={.data.password}']);
    assert.equal(Buffer.from(got.stdout, 'base64').toString(), VALUE);
    const b64 = Buffer.from(VALUE).toString('base64');
    assert.equal(onDisk(dataDir, VALUE), false, 'plaintext value not on disk');
    assert.equal(onDisk(dataDir, b64), false, 'base64 value not on disk');
    assert.equal(onDisk(dataDir, 'plain-configmap-text'), true, 'the same check finds values that are not encrypted');

    server.kill('SIGTERM');
    await server.waitExit();
    server = undefined;

    const rotated = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'secrets', 'rotate', '--data-dir', dataDir], { cwd: repoRoot });
    assert.match(rotated.stdout, /encrypted with key2: [1-9]\d* stored values rewritten/);
    const cfg = parse(readFileSync(cfgFile, 'utf8')) as { resources: { providers: { aesgcm?: { keys: { name: string }[] } }[] }[] };
    assert.deepEqual(cfg.resources[0].providers[0].aesgcm?.keys.map((k) => k.name), ['key2', 'key1']);
    const db = new Database(join(dataDir, 'state.db'), { readonly: true });
    const stored = db.prepare("SELECT value FROM objects WHERE key LIKE '/core/secrets/%'").pluck().all() as string[];
    db.close();
    assert.ok(stored.length >= 1 && stored.every((v) => v.startsWith('k8s:enc:aesgcm:v1:key2:')));

    server = await spawnServer(['--data-dir', dataDir]);
    const again = await server.kubectlOk(['get', 'secret', 'db', '-o', 'jsonpath={.data.password}']);
    assert.equal(Buffer.from(again.stdout, 'base64').toString(), VALUE);
    server.kill('SIGTERM');
    await server.waitExit();
    server = undefined;

    // flip one character of the stored ciphertext: reading it is an error, not garbage
    const rw = new Database(join(dataDir, 'state.db'));
    const key = '/core/secrets/default/db';
    const v = rw.prepare('SELECT value FROM objects WHERE key = ?').pluck().get(key) as string;
    const i = v.length - 12;
    rw.prepare('UPDATE objects SET value = ? WHERE key = ?').run(v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1), key);
    rw.close();
    server = await spawnServer(['--data-dir', dataDir]);
    const bad = await server.kubectl(['get', 'secret', 'db', '-o', 'json']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /InternalError|Internal error occurred: .*failed to decrypt/);
    assert.doesNotMatch(bad.stdout, new RegExp(b64));
    // the server keeps serving everything else
    const cm = await server.kubectlOk(['get', 'configmap', 'visible', '-o', 'jsonpath={.data.note}']);
    assert.equal(cm.stdout, 'plain-configmap-text');
  });

  it('a broken encryption config stops `timonel up` with a clear message', async () => {
    const dir = tempDataDir('timonel-badenc-');
    try {
      const file = join(dir, 'enc.yaml');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, 'kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}\n');
      await assert.rejects(spawnServer(['--data-dir', dir, '--encryption-provider-config', file], { readyTimeoutMs: 20_000 }), /enc\.yaml: encryption config: aesgcm key k must be 16, 24 or 32 bytes/);
    } finally {
      removeTempDataDir(dir);
    }
  });
});
