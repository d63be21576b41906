// The serving certificate names what pods use to reach the API server; older certificates are reissued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePKI, issueCert, KUBERNETES_SERVICE_NAMES } from '../../src/cli/pki.js';
import { removeTempDataDir, tempDataDir } from '../helpers/cluster.js';

test('the serving certificate names the kubernetes Service, its ClusterIP and the pod gateway; one lacking them is reissued', async () => {
  const dir = tempDataDir();
  try {
    const first = await ensurePKI(dir, ['127.0.0.1']);
    // a certificate from before: loopback only
    const old = await issueCert(first.ca, { commonName: 'timonel-apiserver', dnsNames: ['localhost'], ips: ['127.0.0.1'], server: true });
    writeFileSync(join(dir, 'apiserver.crt'), old.certPem);
    writeFileSync(join(dir, 'apiserver.key'), old.keyPem);
    const pki = await ensurePKI(dir, ['127.0.0.1', '10.43.0.1', '10.42.0.1']);
    assert.notEqual(pki.server.certPem, old.certPem);
    const cert = new X509Certificate(pki.server.certPem);
    for (const name of KUBERNETES_SERVICE_NAMES) assert.equal(cert.checkHost(name), name);
    for (const ip of ['127.0.0.1', '10.43.0.1', '10.42.0.1']) assert.equal(cert.checkIP(ip), ip);
    assert.ok(cert.verify(new X509Certificate(pki.ca.certPem).publicKey));
    const again = await ensurePKI(dir, ['127.0.0.1', '10.43.0.1']);
    assert.equal(again.server.certPem, pki.server.certPem, 'a certificate naming everything is kept');
  } finally {
    removeTempDataDir(dir);
  }
});
