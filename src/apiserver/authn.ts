// Authentication: who is making a request. x509 client certificates signed by the cluster CA
// (CN = user, O = groups), static bearer tokens and service account tokens (sa-token.ts);
// everything else is anonymous.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { timingSafeEqual } from 'node:crypto';
import type { UserInfo } from './registry.js';

/** Answers synchronously when it can; a Promise only when it must look something up. */
export type Authenticator = (req: IncomingMessage) => UserInfo | undefined | Promise<UserInfo | undefined>;
export type SyncAuthenticator = (req: IncomingMessage) => UserInfo | undefined;

export const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

function asList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * Users from verified client certificates. Node has already checked the chain against the CA. A connection
 * keeps its certificate, so the user is read from it once per connection, not once per request.
 */
export function clientCertAuthenticator(): SyncAuthenticator {
  const users = new WeakMap<TLSSocket, UserInfo | null>();
  const fromCertificate = (sock: TLSSocket): UserInfo | null => {
    const cert = sock.getPeerCertificate();
    if (!cert || !cert.subject) return null;
    const cn = asList(cert.subject.CN)[0];
    if (!cn) return null;
    return { username: cn, groups: [...asList(cert.subject.O), 'system:authenticated'] };
  };
  return (req) => {
    const sock = req.socket as TLSSocket;
    if (!sock.encrypted || !sock.authorized) return undefined;
    let user = users.get(sock);
    if (user === undefined) users.set(sock, (user = fromCertificate(sock)));
    // a copy: what a request does with its user stays with that request
    return user ? { username: user.username, groups: [...user.groups] } : undefined;
  };
}

export interface StaticToken {
  token: string;
  user: UserInfo;
}

/** Users from `Authorization: Bearer <token>` matched against a static list. */
export function tokenAuthenticator(tokens: StaticToken[]): SyncAuthenticator {
  const entries = tokens.map((t) => ({ buf: Buffer.from(t.token), user: t.user }));
  return (req) => {
    const h = req.headers.authorization;
    if (!h || !h.startsWith('Bearer ')) return undefined;
    const got = Buffer.from(h.slice(7).trim());
    for (const e of entries) {
      if (e.buf.length === got.length && timingSafeEqual(e.buf, got)) return { ...e.user, groups: [...e.user.groups, 'system:authenticated'] };
    }
    return undefined;
  };
}

/** The first authenticator that recognizes the request wins. */
export function unionAuthenticator(...as: Authenticator[]): Authenticator {
  const from = (req: IncomingMessage, i: number): UserInfo | undefined | Promise<UserInfo | undefined> => {
    for (; i < as.length; i++) {
      const u = as[i](req);
      if (u instanceof Promise) {
        const next = i + 1;
        return u.then((v) => v ?? from(req, next));
      }
      if (u) return u;
    }
    return undefined;
  };
  return (req) => from(req, 0);
}

/** True when the request carries credentials that were not accepted (→ 401 rather than anonymous). */
export function presentedCredentials(req: IncomingMessage): boolean {
  return typeof req.headers.authorization === 'string' && req.headers.authorization.length > 0;
}

/**
 * Users of in-process transports: the client put the caller's identity on its in-memory socket under
 * a global symbol (src/client/transport.ts); sockets from the network never carry it.
 */
export function inProcessAuthenticator(): SyncAuthenticator {
  const key = Symbol.for('timonel.inProcessIdentity');
  return (req) => {
    const id = (req.socket as unknown as Record<symbol, UserInfo | undefined>)[key];
    if (!id || typeof id.username !== 'string' || !id.username) return undefined;
    const groups = Array.isArray(id.groups) ? id.groups.filter((g) => typeof g === 'string') : [];
    if (!groups.includes('system:authenticated')) groups.push('system:authenticated');
    return { username: id.username, groups, ...(id.uid ? { uid: id.uid } : {}) };
  };
}

export const BOOTSTRAP_TOKEN_SECRET_TYPE = 'bootstrap.kubernetes.io/token';
export const BOOTSTRAP_TOKEN_SECRET_PREFIX = 'bootstrap-token-';
export const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
export const BOOTSTRAP_USER_PREFIX = 'system:bootstrap:';
const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const BOOTSTRAP_GROUP = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;

/** The fields of a Secret a bootstrap token needs (kubernetes-types' Secret, without importing src/api). */
export interface BootstrapTokenSecret {
  type?: string;
  metadata?: { deletionTimestamp?: string };
  data?: Record<string, string>;
}

const secretString = (s: BootstrapTokenSecret, key: string) => (s.data?.[key] === undefined ? undefined : Buffer.from(s.data[key], 'base64').toString('utf8'));

/**
 * Why a Secret does not make `<id>.<secret>` a valid bootstrap token at `nowMs` (upstream's bootstrap token
 * authenticator), or the user it authenticates as.
 */
export function checkBootstrapToken(secret: BootstrapTokenSecret, id: string, tokenSecret: string, nowMs = Date.now()): UserInfo | { error: string } {
  if (secret.metadata?.deletionTimestamp) return { error: 'secret is being deleted' };
  if (secret.type !== BOOTSTRAP_TOKEN_SECRET_TYPE) return { error: `secret has invalid type ${JSON.stringify(secret.type ?? '')}` };
  const same = (a: string | undefined, b: string) => a !== undefined && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  if (!same(secretString(secret, 'token-secret'), tokenSecret)) return { error: 'token secret does not match' };
  if (!same(secretString(secret, 'token-id'), id)) return { error: 'token id does not match' };
  const expiration = secretString(secret, 'expiration');
  if (expiration !== undefined) {
    const at = Date.parse(expiration);
    if (Number.isNaN(at) || at <= nowMs) return { error: 'token has expired' };
  }
  if (secretString(secret, 'usage-bootstrap-authentication') !== 'true') return { error: 'token is not usable for authentication' };
  const extra = (secretString(secret, 'auth-extra-groups') ?? '').split(',').map((g) => g.trim()).filter(Boolean);
  const bad = extra.find((g) => !BOOTSTRAP_GROUP.test(g));
  if (bad) return { error: `invalid extra group ${JSON.stringify(bad)}` };
  return { username: `${BOOTSTRAP_USER_PREFIX}${id}`, groups: [...new Set([BOOTSTRAPPERS_GROUP, ...extra]), 'system:authenticated'] };
}

/**
 * Users from `Authorization: Bearer <id>.<secret>` bootstrap tokens: the Secret `bootstrap-token-<id>` in
 * kube-system, read through `getSecret`.
 */
export function bootstrapTokenAuthenticator(getSecret: (namespace: string, name: string) => Promise<BootstrapTokenSecret | undefined>, log?: (line: string) => void): Authenticator {
  return (req) => {
    const h = req.headers.authorization;
    if (!h || !h.startsWith('Bearer ')) return undefined;
    const m = BOOTSTRAP_TOKEN.exec(h.slice(7).trim());
    if (!m) return undefined;
    const [, id, tokenSecret] = m;
    return getSecret('kube-system', `${BOOTSTRAP_TOKEN_SECRET_PREFIX}${id}`).then(
      (secret) => {
        if (!secret) return undefined;
        const r = checkBootstrapToken(secret, id, tokenSecret);
        if ('error' in r) {
          log?.(`bootstrap token ${id} refused: ${r.error}`);
          return undefined;
        }
        return r;
      },
      () => undefined,
    );
  };
}
