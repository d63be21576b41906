// The cluster's certificates: a CA, the API server's serving certificate, and client certificates.
// ECDSA P-256 keys: fast to make (tens of ms) and accepted by Go, Python and Node clients.
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

async function x509() {
  await import('reflect-metadata');
  const lib = await import('@peculiar/x509');
  lib.cryptoProvider.set(webcrypto as unknown as Crypto);
  return lib;
}

function keyToPem(pkcs8: ArrayBuffer): string {
  const b64 = Buffer.from(pkcs8).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64.trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']) as Promise<CryptoKey>;
}

const randomSerial = () => Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');

export async function createCA(commonName: string): Promise<KeyPair> {
  const lib = await x509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(Date.now() - 3600 * 1000),
    notAfter: new Date(Date.now() + 3650 * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new lib.BasicConstraintsExtension(true, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign | lib.KeyUsageFlags.digitalSignature, true),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: keyToPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

export interface LeafOptions {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ips?: string[];
  server?: boolean;
  client?: boolean;
  days?: number;
}

export async function issueCert(ca: KeyPair, o: LeafOptions): Promise<KeyPair> {
  const lib = await x509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const caCert = new lib.X509Certificate(ca.certPem);
  const caKey = await importPrivateKey(ca.keyPem);
  const esc = (s: string) => s.replace(/([,+"\\<>;=])/g, '\\$1');
  const subject = [`CN=${esc(o.commonName)}`, ...(o.organizations ?? []).map((org) => `O=${esc(org)}`)].join(', ');
  const eku: string[] = [];
  if (o.server) eku.push('1.3.6.1.5.5.7.3.1');
  if (o.client) eku.push('1.3.6.1.5.5.7.3.2');
  const extensions: InstanceType<typeof lib.Extension>[] = [
    new lib.BasicConstraintsExtension(false, undefined, true),
    new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyEncipherment, true),
    new lib.ExtendedKeyUsageExtension(eku, false),
    await lib.AuthorityKeyIdentifierExtension.create(caCert, false),
  ];
  const names = [...(o.dnsNames ?? []).map((v) => ({ type: 'dns' as const, value: v })), ...(o.ips ?? []).map((v) => ({ type: 'ip' as const, value: v }))];
  if (names.length) extensions.push(new lib.SubjectAlternativeNameExtension(names, false));
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 3600 * 1000),
    notAfter: new Date(Date.now() + (o.days ?? 365) * DAY),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions,
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: keyToPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

export interface ClusterPKI {
  ca: KeyPair;
  server: KeyPair;
  admin: KeyPair;
  /** PKCS#8 PEM of the key that signs service account tokens (sa.key; its public half in sa.pub) */
  serviceAccountKeyPem: string;
}

function readPair(dir: string, name: string): KeyPair | undefined {
  const c = join(dir, `${name}.crt`);
  const k = join(dir, `${name}.key`);
  if (!existsSync(c) || !existsSync(k)) return undefined;
  return { certPem: readFileSync(c, 'utf8'), keyPem: readFileSync(k, 'utf8') };
}

function writePair(dir: string, name: string, p: KeyPair): void {
  writeFileSync(join(dir, `${name}.crt`), p.certPem, { mode: 0o644 });
  writeFileSync(join(dir, `${name}.key`), p.keyPem, { mode: 0o600 });
}

/** A certificate that is still valid for a while and names every host we serve. */
function usable(p: KeyPair, hosts: string[]): boolean {
  try {
    const c = new NodeX509(p.certPem);
    if (Date.parse(c.validTo) - Date.now() < 30 * DAY) return false;
    return hosts.every((h) => (isIP(h) ? c.checkIP(h) !== undefined : c.checkHost(h) !== undefined));
  } catch {
    return false;
  }
}

export const KUBERNETES_SERVICE_NAMES = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];

/**
 * Loads the PKI from `dir`, creating (or renewing) what is missing. Reused across restarts; the
 * serving certificate is reissued when it does not name every one of `serveHosts`.
 */
export async function ensurePKI(dir: string, serveHosts: string[]): Promise<ClusterPKI> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let ca = readPair(dir, 'ca');
  let fresh = false;
  if (!ca) {
    ca = await createCA(`timonel-ca@${Math.floor(Date.now() / 1000)}`);
    writePair(dir, 'ca', ca);
    fresh = true;
  }
  // pods reach the API server as the `kubernetes` Service: its names, its ClusterIP and the pod gateway are in serveHosts
  const hosts = [...new Set(['localhost', '127.0.0.1', ...KUBERNETES_SERVICE_NAMES, ...serveHosts.filter((h) => h && h !== '0.0.0.0' && h !== '::')])];
  let server = fresh ? undefined : readPair(dir, 'apiserver');
  if (!server || !usable(server, hosts)) {
    const dnsNames = [...new Set(['localhost', hostname(), ...hosts.filter((h) => !isIP(h))])];
    const ips = [...new Set(['127.0.0.1', '::1', ...hosts.filter((h) => isIP(h))])];
    server = await issueCert(ca, { commonName: 'timonel-apiserver', dnsNames, ips, server: true, days: 365 });
    writePair(dir, 'apiserver', server);
  }
  let admin = fresh ? undefined : readPair(dir, 'admin');
  if (!admin || !usable(admin, [])) {
    admin = await issueCert(ca, { commonName: 'admin', organizations: ['system:masters'], client: true, days: 365 });
    writePair(dir, 'admin', admin);
  }
  let serviceAccountKeyPem = existsSync(join(dir, 'sa.key')) ? readFileSync(join(dir, 'sa.key'), 'utf8') : undefined;
  if (!serviceAccountKeyPem) {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    serviceAccountKeyPem = keyToPem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey)).toString('base64').replace(/(.{64})/g, '$1\n');
    writeFileSync(join(dir, 'sa.key'), serviceAccountKeyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'sa.pub'), `-----BEGIN PUBLIC KEY-----\n${spki.trimEnd()}\n-----END PUBLIC KEY-----\n`, { mode: 0o644 });
  }
  return { ca, server, admin, serviceAccountKeyPem };
}
