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

/** Users from verified client certificates. Node has already checked the chain against the CA. */
export function clientCertAuthenticator(): SyncAuthenticator {
  return (req) => {
    const sock = req.socket as TLSSocket;
    if (!sock.encrypted || !sock.authorized) return undefined;
    const cert = sock.getPeerCertificate();
    if (!cert || !cert.subject) return undefined;
    const cn = asList(cert.subject.CN)[0];
    if (!cn) return undefined;
    return { username: cn, groups: [...asList(cert.subject.O), 'system:authenticated'] };
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
