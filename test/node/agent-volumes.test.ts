// The kubelet's atomic-writer layout for configMap/secret/downwardAPI/projected volumes, and the
// service-account token reuse of projected volumes across refreshes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { projectedVolumeFiles, writeAtomically, type VolumeSource } from '../../src/node/agent/volumes.js';

const payloadDirs = (dir: string) => readdirSync(dir).filter((e) => /^\.\.\d{4}_/.test(e));

test('writeAtomically: timestamped payload dir, ..data symlink, visible names link into ..data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'timonel-atomic-'));
  try {
    assert.equal(writeAtomically(dir, [{ path: 'a', data: Buffer.from('1') }, { path: 'sub/b', data: Buffer.from('2'), mode: 0o600 }], 0o644), true);
    const first = readlinkSync(join(dir, '..data'));
    assert.match(first, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+$/);
    assert.equal(readlinkSync(join(dir, 'a')), '..data/a');
    assert.equal(readlinkSync(join(dir, 'sub')), '..data/sub');
    assert.equal(readFileSync(join(dir, 'sub/b'), 'utf8'), '2');
    assert.equal(statSync(join(dir, 'sub/b')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o644);

    assert.equal(writeAtomically(dir, [{ path: 'sub/b', data: Buffer.from('2'), mode: 0o600 }, { path: 'a', data: Buffer.from('1') }], 0o644), false, 'same content: nothing written');
    assert.equal(readlinkSync(join(dir, '..data')), first);

    assert.equal(writeAtomically(dir, [{ path: 'a', data: Buffer.from('changed') }, { path: 'c', data: Buffer.from('3') }], 0o644), true);
    assert.notEqual(readlinkSync(join(dir, '..data')), first);
    assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'changed');
    assert.equal(readFileSync(join(dir, 'c'), 'utf8'), '3');
    assert.equal(existsSync(join(dir, 'sub')), false, 'a key gone from the source is gone from the volume');
    assert.deepEqual(payloadDirs(dir).length, 1, 'the old payload dir is removed');
    assert.equal(existsSync(join(dir, '..data_tmp')), false);

    assert.equal(writeAtomically(dir, [{ path: 'a', data: Buffer.from('x'), mode: 0o400 }], 0o644), true, 'a mode change alone is an update');
    assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o400);
    assert.throws(() => writeAtomically(dir, [{ path: '../escape', data: Buffer.from('') }], 0o644), /invalid path/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeAtomically replaces plain files an older agent wrote', () => {
  const dir = mkdtempSync(join(tmpdir(), 'timonel-atomic-'));
  try {
    writeAtomically(dir, [], 0o644);
    rmSync(join(dir, '..data'));
    for (const e of payloadDirs(dir)) rmSync(join(dir, e), { recursive: true });
    writeFileSync(join(dir, 'a'), 'old');
    writeAtomically(dir, [{ path: 'a', data: Buffer.from('new') }], 0o644);
    assert.ok(lstatSync(join(dir, 'a')).isSymbolicLink());
    assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'new');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});


test('projected service-account tokens are reused across refreshes until 80 % of their lifetime', async () => {
  let requests = 0;
  const source = {
    configMap: async () => undefined,
    secret: async () => undefined,
    serviceAccountToken: async () => `token-${++requests}`,
  } as unknown as VolumeSource;
  const pod: Pod = { metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec: { containers: [{ name: 'c' }] } };
  const tokens = new Map<string, { token: string; until: number }>();
  const ctx = { pod, podDir: '/nonexistent', source, allocatable: {}, tokens };
  const v = { name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }] } };
  const a = await projectedVolumeFiles(ctx, v);
  const b = await projectedVolumeFiles(ctx, v);
  assert.equal(requests, 1);
  assert.equal(a?.files[0]?.data.toString(), 'token-1');
  assert.equal(b?.files[0]?.data.toString(), 'token-1');
  for (const t of tokens.values()) t.until = Date.now() - 1;
  const c = await projectedVolumeFiles(ctx, v);
  assert.equal(c?.files[0]?.data.toString(), 'token-2');
});
