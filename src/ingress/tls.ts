// Serving certificates for the HTTPS listener: key pairs from `kubernetes.io/tls` Secrets, checked
// before use, and a self-signed default for hosts without a usable one.
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Secret } from 'kubernetes-types/core/v1.js';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export type LoadedCertificate = { ok: true; context: SecureContext; notAfter: string } | { ok: false; error: string };

/** Reads and checks tls.crt / tls.key of a Secret: both parse, the key matches the certificate. */
export function loadSecretCertificate(secret: Secret): LoadedCertificate {
  const data = secret.data ?? {};
  const crt = data['tls.crt'];
  const key = data['tls.key'];
  if (!crt) return { ok: false, error: 'the secret has no tls.crt' };
  if (!key) return { ok: false, error: 'the secret has no tls.key' };
  const certPem = Buffer.from(crt, 'base64');
  const keyPem = Buffer.from(key, 'base64');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    return { ok: false, error: `tls.crt is not a valid PEM certificate: ${reason(e)}` };
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return { ok: false, error: 'tls.key does not match the certificate in tls.crt' };
  } catch (e) {
    return { ok: false, error: `tls.key is not a valid PEM private key: ${reason(e)}` };
  }
  try {
    return { ok: true, context: createSecureContext({ cert: certPem, key: keyPem }), notAfter: cert.validTo };
  } catch (e) {
    return { ok: false, error: `the key pair cannot be used: ${reason(e)}` };
  }
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A self-signed certificate for hosts without their own (as ingress-nginx's "Fake Certificate"). */
export async function selfSignedCertificate(commonName = 'Timonel Ingress Controller Fake Certificate'): Promise<KeyPairPem> {
  await import('reflect-metadata');
  const lib = await import('@peculiar/x509');
  lib.cryptoProvider.set(webcrypto as unknown as Crypto);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${commonName}, O=Timonel`,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 365 * 24 * 3600_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyEncipherment, true),
      new lib.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1'], false),
      new lib.SubjectAlternativeNameExtension([{ type: 'dns', value: 'ingress.local' }], false),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem') + '\n', keyPem };
}
