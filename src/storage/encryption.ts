// Encryption at rest, as upstream's EncryptionConfiguration describes it: per resource, an ordered list of
// providers; the first one encrypts every write, all of them are tried on read (by the value's prefix).
// Stored form: `k8s:enc:<provider>:v1:<key name>:` + base64(nonce or IV + ciphertext). AES-GCM binds each
// value to its storage key (additional authenticated data), so a ciphertext moved to another key, or
// altered, fails to decrypt instead of reading as garbage.
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import { StorageError } from './store.js';

export interface EncryptionKey {
  name: string;
  /** base64 of 16, 24 or 32 bytes */
  secret: string;
}

export interface ProviderConfiguration {
  aesgcm?: { keys: EncryptionKey[] };
  aescbc?: { keys: EncryptionKey[] };
  identity?: Record<string, never>;
}

export interface EncryptionConfiguration {
  apiVersion?: string;
  kind?: string;
  resources: { resources: string[]; providers: ProviderConfiguration[] }[];
}

const PREFIX = 'k8s:enc:';

interface Cipher {
  /** `k8s:enc:aesgcm:v1:key1:` */
  prefix: string;
  encrypt(plain: Buffer, key: string): Buffer;
  decrypt(data: Buffer, key: string): Buffer;
}

function keyBytes(provider: string, k: EncryptionKey): Buffer {
  if (!/^[a-zA-Z0-9_.-]+$/.test(k.name ?? '')) throw new Error(`encryption config: ${provider} key name ${JSON.stringify(k.name)} is not valid`);
  const bytes = Buffer.from(k.secret ?? '', 'base64');
  if (![16, 24, 32].includes(bytes.length))
    throw new Error(`encryption config: ${provider} key ${k.name} must be 16, 24 or 32 bytes (base64), not ${bytes.length}`);
  return bytes;
}

function gcm(k: EncryptionKey): Cipher {
  const secret = keyBytes('aesgcm', k);
  const algorithm = `aes-${secret.length * 8}-gcm` as CipherGCMTypes;
  return {
    prefix: `${PREFIX}aesgcm:v1:${k.name}:`,
    encrypt(plain, key) {
      const nonce = randomBytes(12);
      const c = createCipheriv(algorithm, secret, nonce);
      c.setAAD(Buffer.from(key));
      const body = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([nonce, body, c.getAuthTag()]);
    },
    decrypt(data, key) {
      if (data.length < 12 + 16) throw new Error('ciphertext too short');
      const d = createDecipheriv(algorithm, secret, data.subarray(0, 12));
      d.setAAD(Buffer.from(key));
      d.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
    },
  };
}

function cbc(k: EncryptionKey): Cipher {
  const secret = keyBytes('aescbc', k);
  const algorithm = `aes-${secret.length * 8}-cbc` as const;
  return {
    prefix: `${PREFIX}aescbc:v1:${k.name}:`,
    encrypt(plain) {
      const iv = randomBytes(16);
      const c = createCipheriv(algorithm, secret, iv);
      return Buffer.concat([iv, c.update(plain), c.final()]);
    },
    decrypt(data) {
      if (data.length < 32 || data.length % 16 !== 0) throw new Error('ciphertext is not a whole number of blocks');
      const d = createDecipheriv(algorithm, secret, data.subarray(0, 16));
      return Buffer.concat([d.update(data.subarray(16)), d.final()]);
    },
  };
}

/** The storage key prefix of a configured resource name: `secrets` → `/core/secrets/`, `widgets.example.com` → `/example.com/widgets/`. */
function keyPrefix(resource: string): string {
  const dot = resource.indexOf('.');
  return dot < 0 ? `/core/${resource}/` : `/${resource.slice(dot + 1)}/${resource.slice(0, dot)}/`;
}

interface ResourceRule {
  prefix: string;
  /** undefined: identity (plain text) */
  write?: Cipher;
  read: Map<string, Cipher>;
}

/** Turns stored values into plain JSON and back for the keys an EncryptionConfiguration covers. */
export class ValueTransformer {
  private constructor(private readonly rules: ResourceRule[]) {}

  static fromConfiguration(cfg: EncryptionConfiguration): ValueTransformer {
    if (!cfg || !Array.isArray(cfg.resources)) throw new Error('encryption config: `resources` is required');
    if (cfg.kind !== undefined && cfg.kind !== 'EncryptionConfiguration') throw new Error(`encryption config: kind ${cfg.kind} is not EncryptionConfiguration`);
    const rules: ResourceRule[] = [];
    for (const r of cfg.resources) {
      if (!r.providers?.length) throw new Error('encryption config: every resource entry needs at least one provider');
      const ciphers: (Cipher | undefined)[] = [];
      for (const p of r.providers) {
        const kinds = Object.keys(p);
        if (kinds.length !== 1) throw new Error(`encryption config: a provider names exactly one of aesgcm, aescbc, identity (got ${kinds.join(', ') || 'none'})`);
        if (p.identity) ciphers.push(undefined);
        else if (p.aesgcm) ciphers.push(...requireKeys('aesgcm', p.aesgcm.keys).map(gcm));
        else if (p.aescbc) ciphers.push(...requireKeys('aescbc', p.aescbc.keys).map(cbc));
        else throw new Error(`encryption config: unsupported provider ${kinds[0]}`);
      }
      const read = new Map<string, Cipher>();
      for (const c of ciphers) if (c && !read.has(c.prefix)) read.set(c.prefix, c);
      for (const resource of r.resources ?? []) {
        if (resource.includes('*')) throw new Error(`encryption config: wildcard resources (${resource}) are not supported; name each resource`);
        rules.push({ prefix: keyPrefix(resource), write: ciphers[0], read });
      }
    }
    return new ValueTransformer(rules);
  }

  /** The default for a new data dir: Secrets encrypted with one fresh AES-256-GCM key, plain values still readable. */
  static generateConfiguration(): EncryptionConfiguration {
    return {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'EncryptionConfiguration',
      resources: [{ resources: ['secrets'], providers: [{ aesgcm: { keys: [{ name: 'key1', secret: randomBytes(32).toString('base64') }] } }, { identity: {} }] }],
    };
  }

  /** A copy of `cfg` whose first provider for Secrets writes with a new key; every older key stays readable. */
  static rotateConfiguration(cfg: EncryptionConfiguration): { cfg: EncryptionConfiguration; keyName: string } {
    const out = structuredClone(cfg);
    const entry = out.resources.find((r) => r.resources.includes('secrets'));
    const names = new Set(out.resources.flatMap((r) => r.providers.flatMap((p) => [...(p.aesgcm?.keys ?? []), ...(p.aescbc?.keys ?? [])].map((k) => k.name))));
    let n = names.size + 1;
    while (names.has(`key${n}`)) n++;
    const key = { name: `key${n}`, secret: randomBytes(32).toString('base64') };
    if (!entry) out.resources.push({ resources: ['secrets'], providers: [{ aesgcm: { keys: [key] } }, { identity: {} }] });
    else {
      const first = entry.providers[0];
      if (first?.aesgcm) first.aesgcm.keys.unshift(key);
      else if (first?.aescbc) first.aescbc.keys.unshift(key);
      else entry.providers.unshift({ aesgcm: { keys: [key] } });
    }
    return { cfg: out, keyName: key.name };
  }

  /** Key ranges whose values this transformer may rewrite. */
  prefixes(): string[] {
    return this.rules.map((r) => r.prefix);
  }

  /** Whether values under `prefix` (a storage key prefix, e.g. `/core/secrets/ns/`) may be stored encrypted. */
  mayEncrypt(prefix: string): boolean {
    const r = this.rule(prefix);
    return r !== undefined && (r.write !== undefined || r.read.size > 0);
  }

  private rule(key: string): ResourceRule | undefined {
    for (const r of this.rules) if (key.startsWith(r.prefix)) return r;
    return undefined;
  }

  toStorage(key: string, plain: string): string {
    const write = this.rule(key)?.write;
    if (!write) return plain;
    return write.prefix + write.encrypt(Buffer.from(plain), key).toString('base64');
  }

  fromStorage(key: string, stored: string): string {
    if (!stored.startsWith(PREFIX)) return stored;
    const rule = this.rule(key);
    const end = stored.indexOf(':', stored.indexOf(':', stored.indexOf(':', PREFIX.length) + 1) + 1);
    const cipher = end > 0 ? rule?.read.get(stored.slice(0, end + 1)) : undefined;
    if (!cipher) throw new StorageError('Internal', key, `no key configured to decrypt ${key} (${stored.slice(0, Math.max(end, 0) + 1)})`);
    try {
      return cipher.decrypt(Buffer.from(stored.slice(end + 1), 'base64'), key).toString();
    } catch (e) {
      throw new StorageError('Internal', key, `failed to decrypt ${key}: ${(e as Error).message}`);
    }
  }

  /** Whether `stored` is not written the way this transformer writes now (plain, or an older key). */
  isStale(key: string, stored: string): boolean {
    const write = this.rule(key)?.write;
    if (!write) return stored.startsWith(PREFIX);
    return !stored.startsWith(write.prefix);
  }
}

function requireKeys(provider: string, keys: EncryptionKey[] | undefined): EncryptionKey[] {
  if (!keys?.length) throw new Error(`encryption config: ${provider} needs at least one key`);
  return keys;
}
