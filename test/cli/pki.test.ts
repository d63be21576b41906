import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePKI } from '../../src/cli/pki.js';
import { removeTempDataDir, tempDataDir } from '../helpers/cluster.js';

test('the service account signing key is made once, kept private, and its public half published', async () => {
  const dir = tempDataDir();
  try {
    const first = await ensurePKI(dir, ['127.0.0.1']);
    const key = createPrivateKey(first.serviceAccountKeyPem);
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(statSync(join(dir, 'sa.key')).mode & 0o777, 0o600);
    const pub = createPublicKey(readFileSync(join(dir, 'sa.pub'), 'utf8'));
    assert.ok(pub.equals(createPublicKey(key)));
    const again = await ensurePKI(dir, ['127.0.0.1']);
    assert.equal(again.serviceAccountKeyPem, first.serviceAccountKeyPem);
  } finally {
    removeTempDataDir(dir);
  }
});
