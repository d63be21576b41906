// A registry v2 client (distribution spec): manifests and blobs over node:http/https, Bearer token and Basic auth.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RegistryCredential } from './credentials.js';
import { digestMismatch, ImageError } from './errors.js';
import { formatImageReference, type ImageReference } from './reference.js';
import { MANIFEST_ACCEPT } from './types.js';

const MAX_MANIFEST_BYTES = 4 << 20;
const MAX_REDIRECTS = 5;

export interface RegistryClientOptions {
  /** registries (host[:port]) spoken to over plain HTTP; loopback hosts always are */
  insecureRegistries?: readonly string[];
  /** a socket idle for this long fails the request (default 30 s) */
  timeoutMs?: number;
}

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  body: Buffer;
}

interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? '';
  return { scheme, params };
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function registryErrorMessage(body: string): string {
  try {
    const doc = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    const msgs = (doc.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': '));
    if (msgs.length) return msgs.join('; ');
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.trim().slice(0, 200);
}

async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new ImageError('Registry', `response larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export class RegistryClient {
  private readonly insecure: Set<string>;
  private readonly timeoutMs: number;
  private readonly tokens = new Map<string, { header: string; expires: number }>();
  /** Registries that answered a Basic challenge: credentials go with the first request next time. */
  private readonly basicRegistries = new Set<string>();

  constructor(opts: RegistryClientOptions = {}) {
    this.insecure = new Set(opts.insecureRegistries ?? []);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private baseUrl(domain: string): string {
    const host = domain === 'docker.io' ? 'registry-1.docker.io' : domain;
    const scheme = this.insecure.has(domain) || isLoopback(domain) ? 'http' : 'https';
    return `${scheme}://${host}/v2/`;
  }

  private request(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.get(url, { headers, signal }, resolve);
      req.setTimeout(this.timeoutMs, () => req.destroy(new ImageError('Registry', `${url.host}: no response in ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(e instanceof ImageError ? e : new ImageError('Registry', `${url.origin}: ${(e as Error).message}`)));
    });
  }

  /** GET following redirects; Authorization is not sent to another host. */
  private async get(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
    let current = url;
    let h = headers;
    for (let i = 0; i <= MAX_REDIRECTS; i++) {
      const res = await this.request(current, h, signal);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        const next = new URL(res.headers.location, current);
        if (next.host !== current.host) {
          h = { ...h };
          delete h.Authorization;
        }
        current = next;
        continue;
      }
      return res;
    }
    throw new ImageError('Registry', `${url.href}: too many redirects`);
  }

  private async fetchToken(ch: Challenge, scope: string, cred: RegistryCredential | undefined, signal?: AbortSignal): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new ImageError('Registry', 'registry asked for a Bearer token without a realm');
    const url = new URL(realm);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (cred) headers.Authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    const res = await this.get(url, headers, signal);
    const body = (await readBody(res, 1 << 20)).toString('utf8');
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new ImageError('Unauthorized', `authorization failed: token server ${url.host} answered ${res.statusCode}${cred ? ' for the given credentials' : ' (no credentials)'}`);
    }
    if (res.statusCode !== 200) throw new ImageError('Registry', `token server ${url.host} answered ${res.statusCode}: ${registryErrorMessage(body)}`);
    const doc = JSON.parse(body) as { token?: string; access_token?: string; expires_in?: number };
    const token = doc.token ?? doc.access_token;
    if (!token) throw new ImageError('Registry', `token server ${url.host} returned no token`);
    return token;
  }

  /** An authorized GET of `/v2/<name>/<rest>`: anonymous or cached auth first, then answers a 401 challenge once. */
  private async authorizedGet(ref: ImageReference, rest: string, accept: string, cred: RegistryCredential | undefined, signal?: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(`${ref.path}/${rest}`, this.baseUrl(ref.domain));
    const scope = `repository:${ref.path}:pull`;
    const credKey = cred ? `${cred.username}:${cred.password}` : '';
    const tokenKey = `${ref.domain}|${scope}|${credKey}`;
    const basic = cred ? `Basic ${Buffer.from(credKey).toString('base64')}` : undefined;
    const headers: Record<string, string> = { Accept: accept, 'User-Agent': 'timonel-node' };
    const cached = this.tokens.get(tokenKey);
    if (cached && cached.expires > Date.now()) headers.Authorization = cached.header;
    else if (basic && this.basicRegistries.has(ref.domain)) headers.Authorization = basic;
    let res = await this.get(url, headers, signal);
    if (res.statusCode !== 401) return res;
    const ch = parseChallenge(res.headers['www-authenticate']);
    res.resume();
    if (ch?.scheme === 'bearer') {
      const token = await this.fetchToken(ch, scope, cred, signal);
      headers.Authorization = `Bearer ${token}`;
      this.tokens.set(tokenKey, { header: headers.Authorization, expires: Date.now() + 50_000 });
    } else if (ch?.scheme === 'basic' && basic) {
      headers.Authorization = basic;
      this.basicRegistries.add(ref.domain);
    } else {
      throw new ImageError('Unauthorized', `${formatImageReference(ref)}: the registry requires authentication${cred ? '' : ' and no imagePullSecrets credentials match it'}`);
    }
    res = await this.get(url, headers, signal);
    if (res.statusCode === 401 || res.statusCode === 403) {
      res.resume();
      this.tokens.delete(tokenKey);
      throw new ImageError('Unauthorized', `pull access denied for ${formatImageReference(ref)}: repository does not exist or may require authorization (registry answered ${res.statusCode})`);
    }
    return res;
  }

  /** Fetches a manifest or index by tag or digest; verifies its digest when asked for by digest. */
  async getManifest(ref: ImageReference, reference: string, cred?: RegistryCredential, signal?: AbortSignal): Promise<FetchedManifest> {
    const res = await this.authorizedGet(ref, `manifests/${reference}`, MANIFEST_ACCEPT, cred, signal);
    const body = await readBody(res, MAX_MANIFEST_BYTES);
    const name = `${ref.domain}/${ref.path}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
    if (res.statusCode === 404) throw new ImageError('NotFound', `failed to resolve reference "${name}": ${name}: not found`);
    if (res.statusCode !== 200) throw new ImageError('Registry', `failed to resolve reference "${name}": registry answered ${res.statusCode}: ${registryErrorMessage(body.toString('utf8'))}`);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) throw digestMismatch(`manifest ${name}`, reference, digest);
    const header = res.headers['docker-content-digest'];
    if (!reference.startsWith('sha256:') && typeof header === 'string' && header.startsWith('sha256:') && header !== digest) {
      throw digestMismatch(`manifest ${name}`, header, digest);
    }
    const contentType = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
    let mediaType = contentType;
    try {
      const doc = JSON.parse(body.toString('utf8')) as { mediaType?: string };
      if (doc.mediaType) mediaType = doc.mediaType;
    } catch {
      throw new ImageError('Corrupt', `manifest ${name} is not JSON`);
    }
    return { mediaType, digest, body };
  }

  /**
   * Downloads a blob to `file`, hashing while streaming; on a digest or size mismatch the file is removed and
   * DigestMismatch thrown. `onBytes` gets each chunk's length.
   */
  async fetchBlob(
    ref: ImageReference,
    digest: string,
    size: number,
    file: string,
    opts: { cred?: RegistryCredential; signal?: AbortSignal; onBytes?: (n: number) => void } = {},
  ): Promise<void> {
    const res = await this.authorizedGet(ref, `blobs/${digest}`, '*/*', opts.cred, opts.signal);
    if (res.statusCode !== 200) {
      const body = await readBody(res, 1 << 16).catch(() => Buffer.alloc(0));
      const what = `blob ${digest} of ${ref.domain}/${ref.path}`;
      if (res.statusCode === 404) throw new ImageError('NotFound', `${what}: not found`);
      throw new ImageError('Registry', `${what}: registry answered ${res.statusCode}: ${registryErrorMessage(body.toString('utf8'))}`);
    }
    await writeVerified(res, digest, size, file, `blob ${digest} of ${ref.domain}/${ref.path}`, opts.onBytes);
  }
}

/** Streams `source` into `file` while hashing; removes the file and throws unless sha256 and size match. */
export async function writeVerified(
  source: NodeJS.ReadableStream,
  digest: string,
  size: number | undefined,
  file: string,
  what: string,
  onBytes?: (n: number) => void,
): Promise<void> {
  const hash = createHash('sha256');
  let n = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (size !== undefined && n > size) {
        cb(digestMismatch(what, `${digest} (${size} bytes)`, `more than ${size} bytes`));
        return;
      }
      hash.update(chunk);
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(source, tap, createWriteStream(file, { mode: 0o644 }));
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) throw digestMismatch(what, digest, got);
    if (size !== undefined && n !== size) throw digestMismatch(what, `${digest} (${size} bytes)`, `${n} bytes`);
  } catch (e) {
    await unlink(file).catch(() => {});
    throw e instanceof ImageError ? e : new ImageError('Registry', `${what}: ${(e as Error).message}`);
  }
}
