// A local registry for image tests: Debian's docker-registry on 127.0.0.1 with its own storage dir (optionally
// behind a Bearer token server written here), and a test image built from busybox-static with umoci, pushed
// with skopeo. Nothing is downloaded.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, sign } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA } from '../../src/cli/pki.js';
import { repoRoot, run } from './exec.js';

const BUSYBOX = '/bin/busybox';

function onPath(program: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The docker-registry binary: installed, or unpacked by scripts/setup.sh into .cache/bin. */
export function registryBinary(): string | undefined {
  const cached = join(repoRoot, '.cache', 'bin', 'docker-registry');
  return existsSync(cached) ? cached : onPath('docker-registry');
}

/** True when the ELF file has no program interpreter (a static binary that runs in an empty root). */
function isStaticElf(file: string): boolean {
  if (!existsSync(file)) return false;
  const fd = openSync(file, 'r');
  try {
    const h = Buffer.alloc(64);
    readSync(fd, h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return false;
    const phoff = Number(h.readBigUInt64LE(0x20));
    const phentsize = h.readUInt16LE(0x36);
    const phnum = h.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false;
    return true;
  } finally {
    closeSync(fd);
  }
}

/** Why the image tests cannot run here, or undefined when everything they need is present. */
export function imageTestsMissing(): string | undefined {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) return 'not root (overlayfs whiteouts and umoci need root)';
  if (!isStaticElf(BUSYBOX)) missing.push('a static /bin/busybox (Debian busybox-static)');
  for (const p of ['umoci', 'skopeo', 'tar', 'zstd']) if (!onPath(p)) missing.push(p);
  if (!registryBinary()) missing.push('docker-registry (scripts/setup.sh unpacks it into .cache/bin)');
  return missing.length ? `missing: ${missing.join(', ')}` : undefined;
}

async function must(file: string, args: string[]): Promise<string> {
  const r = await run(file, args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** A Bearer token server as the registry's token auth expects: Basic credentials in, an ES256 JWT with x5c out. */
async function startTokenServer(users: Record<string, string>, service: string, issuer: string, dir: string): Promise<{ server: Server; realm: string; certFile: string; requests: () => number }> {
  const ca = await createCA('timonel-test-registry-token');
  const certFile = join(dir, 'token-cert.pem');
  writeFileSync(certFile, ca.certPem);
  const der = Buffer.from(ca.certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  let count = 0;
  const server = createServer((req, res) => {
    count++;
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? '';
    const decoded = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
    const user = decoded.slice(0, decoded.indexOf(':'));
    if (!decoded.includes(':') || users[user] !== decoded.slice(decoded.indexOf(':') + 1)) {
      res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="token"' });
      res.end('{"details":"incorrect username or password"}');
      return;
    }
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: createHash('sha256').update(String(Math.random())).digest('hex'), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(input), { key: ca.keyPem, dsaEncoding: 'ieee-p1363' });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token: `${input}.${b64url(signature)}`, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, realm: `http://127.0.0.1:${port}/token`, certFile, requests: () => count };
}

export interface LocalRegistry {
  /** `127.0.0.1:<port>`, the image reference's domain */
  host: string;
  storageDir: string;
  pid: number;
  /** requests the token server answered (0 without token auth) */
  tokenRequests(): number;
  /** the file the registry serves a blob from */
  blobDataPath(digest: string): string;
  stop(): Promise<void>;
}

/** Starts docker-registry on a free loopback port; with `users`, behind Bearer token auth granting those users. */
export async function startRegistry(opts: { users?: Record<string, string> } = {}): Promise<LocalRegistry> {
  const bin = registryBinary();
  if (!bin) throw new Error('docker-registry is not available');
  const dir = mkdtempSync(join(tmpdir(), 'timonel-registry-'));
  const storageDir = join(dir, 'storage');
  mkdirSync(storageDir);
  const port = await freePort();
  const token = opts.users ? await startTokenServer(opts.users, 'timonel-test', 'timonel-test-issuer', dir) : undefined;
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storageDir}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: timonel-test-secret',
    ...(token
      ? ['auth:', '  token:', `    realm: ${token.realm}`, '    service: timonel-test', '    issuer: timonel-test-issuer', `    rootcertbundle: ${token.certFile}`]
      : []),
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), config + '\n');
  const child = spawn(bin, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (log = (log + c).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid!, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    }
    if (token) await new Promise((r) => token.server.close(r));
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200 || status === 401) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start on 127.0.0.1:${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    storageDir,
    pid: child.pid!,
    tokenRequests: () => token?.requests() ?? 0,
    blobDataPath: (digest) => {
      const hex = digest.slice('sha256:'.length);
      return join(storageDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    },
    stop,
  };
}

export interface TestImage {
  /** the OCI layout directory */
  layout: string;
  /** its tags: `base` (one manifest), `multi` (an index: linux/arm64 first, then linux/amd64) */
  tags: { base: string; multi: string };
  /** digests of `base`'s manifest and of the `multi` index */
  manifestDigest: string;
  indexDigest: string;
}

interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
}

function putBlob(layout: string, bytes: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(layout, 'blobs', 'sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/**
 * Builds the test image in `workDir`/oci: layer 1 = busybox + links, /etc/keep/a, /etc/gone/b, /etc/removed;
 * layer 2 = a whiteout of /etc/removed; layer 3 = /etc/gone made opaque, holding only c.
 */
export async function buildTestImage(workDir: string): Promise<TestImage> {
  const root = join(workDir, 'rootfs');
  for (const d of ['bin', 'etc/keep', 'etc/gone']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'bin', 'busybox'), readFileSync(BUSYBOX), { mode: 0o755 });
  for (const applet of ['sh', 'ls', 'cat', 'echo', 'sleep', 'httpd']) await must('ln', ['-s', 'busybox', join(root, 'bin', applet)]);
  writeFileSync(join(root, 'etc/keep/a'), 'kept\n');
  writeFileSync(join(root, 'etc/gone/b'), 'hidden by opaque\n');
  writeFileSync(join(root, 'etc/removed'), 'hidden by whiteout\n');
  const opq = join(workDir, 'opq');
  mkdirSync(opq);
  writeFileSync(join(opq, 'c'), 'new\n');
  const layout = join(workDir, 'oci');
  const image = `${layout}:base`;
  await must('umoci', ['init', '--layout', layout]);
  await must('umoci', ['new', '--image', image]);
  await must('umoci', ['insert', '--image', image, root, '/']);
  await must('umoci', ['insert', '--image', image, '--whiteout', '/etc/removed']);
  await must('umoci', ['insert', '--image', image, '--opaque', opq, '/etc/gone']);
  await must('umoci', ['config', '--image', image, '--config.cmd', '/bin/sh', '--config.env', 'PATH=/bin', '--config.workingdir', '/']);
  await must('umoci', ['gc', '--layout', layout]);

  const indexFile = join(layout, 'index.json');
  const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { schemaVersion: number; manifests: OciDescriptor[] };
  const base = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'base')!;
  const blob = (d: string) => readFileSync(join(layout, 'blobs', 'sha256', d.slice('sha256:'.length)));
  const manifest = JSON.parse(blob(base.digest).toString()) as { config: OciDescriptor; layers: OciDescriptor[] };
  const armConfig = { ...JSON.parse(blob(manifest.config.digest).toString()), architecture: 'arm64' };
  const armConfigDesc = { mediaType: manifest.config.mediaType, ...putBlob(layout, Buffer.from(JSON.stringify(armConfig))) };
  const armManifest = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: armConfigDesc, layers: manifest.layers };
  const armDesc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...putBlob(layout, Buffer.from(JSON.stringify(armManifest))) };
  const multi = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { ...armDesc, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: base.mediaType, digest: base.digest, size: base.size, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  };
  const multiDesc = putBlob(layout, Buffer.from(JSON.stringify(multi)));
  index.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', ...multiDesc, annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
  writeFileSync(indexFile, JSON.stringify(index));
  return { layout, tags: { base: 'base', multi: 'multi' }, manifestDigest: base.digest, indexDigest: multiDesc.digest };
}

/** `skopeo copy` from `src` (e.g. `oci:/dir:tag`) to `dest` (e.g. `docker://127.0.0.1:5000/test/busybox:1`). */
export async function skopeoCopy(src: string, dest: string, opts: { creds?: string; all?: boolean; zstd?: boolean } = {}): Promise<void> {
  const args = ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false'];
  if (opts.creds) args.push('--dest-creds', opts.creds);
  if (opts.all) args.push('--all');
  if (opts.zstd) args.push('--dest-compress', '--dest-compress-format', 'zstd');
  await must('skopeo', [...args, src, dest]);
}
