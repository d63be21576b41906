// Registry credentials from `imagePullSecrets` (kubernetes.io/dockerconfigjson and the older kubernetes.io/dockercfg).
import type { Secret } from 'kubernetes-types/core/v1.js';
import { DEFAULT_DOMAIN, type ImageReference } from './reference.js';

export interface RegistryCredential {
  username: string;
  password: string;
}

interface DockerConfigEntry {
  username?: string;
  password?: string;
  auth?: string;
}

interface KeyringEntry {
  host: string;
  port: string;
  path: string;
  credential: RegistryCredential;
}

const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

function parseKey(key: string): { host: string; port: string; path: string } {
  const withoutScheme = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = withoutScheme.indexOf('/');
  const hostPort = (slash >= 0 ? withoutScheme.slice(0, slash) : withoutScheme).toLowerCase();
  let path = slash >= 0 ? withoutScheme.slice(slash + 1).replace(/\/+$/, '') : '';
  const m = /^(.*?)(?::(\d+))?$/.exec(hostPort)!;
  let host = m[1]!;
  if (DOCKER_HUB_HOSTS.has(host)) {
    host = DEFAULT_DOMAIN;
    if (path === 'v1' || path === 'v2') path = '';
  }
  return { host, port: m[2] ?? '', path };
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.split('.');
  const h = host.split('.');
  if (p.length !== h.length) return false;
  return p.every((part, i) => part === '*' || new RegExp(`^${part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^.]*')}$`).test(h[i]!));
}

function credentialOf(entry: DockerConfigEntry): RegistryCredential | undefined {
  if (entry.username !== undefined || entry.password !== undefined) return { username: entry.username ?? '', password: entry.password ?? '' };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return undefined;
    return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  return undefined;
}

/** Credentials by registry, matched as the kubelet does: host (with `*` globs), port, then the longest path prefix. */
export class DockerKeyring {
  private entries: KeyringEntry[] = [];

  add(key: string, credential: RegistryCredential): void {
    this.entries.push({ ...parseKey(key), credential });
    this.entries.sort((a, b) => b.host.length + b.path.length - (a.host.length + a.path.length));
  }

  /** Adds the `auths` of a `.docker/config.json` (or the bare map of a `.dockercfg`). Throws on malformed JSON. */
  addDockerConfig(json: string): void {
    const doc = JSON.parse(json) as { auths?: Record<string, DockerConfigEntry> } & Record<string, DockerConfigEntry>;
    const auths = doc.auths && typeof doc.auths === 'object' ? doc.auths : (doc as Record<string, DockerConfigEntry>);
    for (const [key, entry] of Object.entries(auths)) {
      const credential = entry && typeof entry === 'object' ? credentialOf(entry) : undefined;
      if (credential) this.add(key, credential);
    }
  }

  /** Matching credentials, most specific first. */
  lookup(ref: ImageReference): RegistryCredential[] {
    const m = /^(.*?)(?::(\d+))?$/.exec(ref.domain.toLowerCase())!;
    const host = m[1]!;
    const port = m[2] ?? '';
    return this.entries
      .filter((e) => e.port === port && hostMatches(e.host, host) && (e.path === '' || ref.path === e.path || ref.path.startsWith(e.path + '/')))
      .map((e) => e.credential);
  }

  get size(): number {
    return this.entries.length;
  }

  /** A keyring from a pod's pull secrets; secrets of other types or with bad data are skipped (returned in `skipped`). */
  static fromPullSecrets(secrets: readonly Secret[]): { keyring: DockerKeyring; skipped: string[] } {
    const keyring = new DockerKeyring();
    const skipped: string[] = [];
    for (const secret of secrets) {
      const name = secret.metadata?.name ?? '';
      const data = secret.data ?? {};
      const raw = data['.dockerconfigjson'] ?? data['.dockercfg'];
      if (raw === undefined) {
        skipped.push(name);
        continue;
      }
      try {
        keyring.addDockerConfig(Buffer.from(raw, 'base64').toString('utf8'));
      } catch {
        skipped.push(name);
      }
    }
    return { keyring, skipped };
  }
}
