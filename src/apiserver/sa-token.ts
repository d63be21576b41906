// Service account tokens: ES256-signed JWTs as TokenRequest issues them, their verification, the
// authenticator that turns them into `system:serviceaccount:<ns>:<name>`, and the issuer discovery documents.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { KubeObject } from '../api/types.js';
import type { Authenticator } from './authn.js';
import type { UserInfo } from './registry.js';

/** Upstream's default `--service-account-issuer` for clusters with the default DNS domain. */
export const DEFAULT_SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const OPENID_CONFIG_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/openid/v1/jwks';
/** Clock skew tolerated on exp and nbf, as go-jose's default leeway. */
export const TOKEN_LEEWAY_SECONDS = 60;

export interface ObjectRefClaim {
  name: string;
  uid?: string;
}

/** The `kubernetes.io` private claim. */
export interface KubernetesClaim {
  namespace: string;
  serviceaccount: ObjectRefClaim;
  pod?: ObjectRefClaim;
  secret?: ObjectRefClaim;
  node?: ObjectRefClaim;
  warnafter?: number;
}

export interface ServiceAccountTokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti?: string;
  'kubernetes.io': KubernetesClaim;
}

export interface ServiceAccountTokenKeysOptions {
  /** PKCS#8 PEM of a P-256 private key; a fresh one is made when absent (tokens then die with the process) */
  keyPem?: string;
  issuer?: string;
  /** what the API server accepts in `aud`; default: the issuer */
  audiences?: string[];
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** The signing key of one issuer: signs, verifies, and publishes its public half. */
export class ServiceAccountTokenKeys {
  readonly issuer: string;
  readonly audiences: string[];
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly header: string;

  constructor(o: ServiceAccountTokenKeysOptions = {}) {
    this.privateKey = o.keyPem ? createPrivateKey(o.keyPem) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    if (this.privateKey.asymmetricKeyType !== 'ec' || this.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new Error('the service account signing key must be an ECDSA P-256 key');
    this.publicKey = createPublicKey(this.privateKey);
    this.issuer = o.issuer ?? DEFAULT_SERVICE_ACCOUNT_ISSUER;
    this.audiences = o.audiences?.length ? [...o.audiences] : [this.issuer];
    // upstream's key id: base64url of the SHA-256 of the DER public key
    this.keyId = b64url(createHash('sha256').update(this.publicKey.export({ type: 'spki', format: 'der' })).digest());
    this.header = b64url(JSON.stringify({ alg: 'ES256', kid: this.keyId }));
  }

  sign(claims: ServiceAccountTokenClaims): string {
    const input = `${this.header}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
  }

  /** The claims of a token signed by this key for this issuer, or why not. Times are not checked here. */
  verifySignature(token: string): { claims: ServiceAccountTokenClaims } | { error: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { error: 'not a JWT' };
    const [h, p, s] = parts;
    let header: { alg?: unknown; kid?: unknown };
    let claims: ServiceAccountTokenClaims;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as ServiceAccountTokenClaims;
    } catch {
      return { error: 'malformed JWT' };
    }
    if (!isObject(header) || !isObject(claims)) return { error: 'malformed JWT' };
    if (claims.iss !== this.issuer) return { error: 'not issued by this issuer' };
    if (header.alg !== 'ES256') return { error: `unsupported signing algorithm ${String(header.alg)}` };
    if (header.kid !== undefined && header.kid !== this.keyId) return { error: 'unknown key id' };
    const sig = Buffer.from(s, 'base64url');
    if (sig.length !== 64 || !verify('sha256', Buffer.from(`${h}.${p}`), { key: this.publicKey, dsaEncoding: 'ieee-p1363' }, sig))
      return { error: 'invalid signature' };
    return { claims };
  }

  /** The JSON Web Key Set served at /openid/v1/jwks. */
  jwks(): { keys: Record<string, string>[] } {
    const jwk = this.publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string; y: string };
    return { keys: [{ use: 'sig', kty: jwk.kty, kid: this.keyId, crv: jwk.crv, alg: 'ES256', x: jwk.x, y: jwk.y }] };
  }

  /** The OpenID provider configuration served at /.well-known/openid-configuration. */
  openIDConfiguration(externalAddress: string): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: `https://${externalAddress}${JWKS_PATH}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const serviceAccountUsername = (namespace: string, name: string) => `system:serviceaccount:${namespace}:${name}`;

export interface TokenSubject {
  serviceAccount: KubeObject;
  pod?: KubeObject;
  secret?: KubeObject;
  /** a Node without uid: the pod's node is named but does not exist (any more) */
  node?: KubeObject;
}

/** The claims of a token for `subject`, valid `expirationSeconds` from `now` (seconds since the epoch). */
export function tokenClaims(
  keys: ServiceAccountTokenKeys,
  subject: TokenSubject,
  audiences: string[],
  expirationSeconds: number,
  now: number,
  warnAfterSeconds?: number,
): ServiceAccountTokenClaims {
  const sa = subject.serviceAccount.metadata ?? {};
  const ref = (o: KubeObject): ObjectRefClaim => ({ name: o.metadata?.name ?? '', ...(o.metadata?.uid ? { uid: o.metadata.uid } : {}) });
  const k: KubernetesClaim = { namespace: sa.namespace ?? '', serviceaccount: ref(subject.serviceAccount) };
  if (subject.pod) k.pod = ref(subject.pod);
  if (subject.secret) k.secret = ref(subject.secret);
  if (subject.node) k.node = ref(subject.node);
  if (warnAfterSeconds) k.warnafter = now + warnAfterSeconds;
  return {
    aud: audiences,
    exp: now + expirationSeconds,
    iat: now,
    iss: keys.issuer,
    jti: randomUUID(),
    'kubernetes.io': k,
    nbf: now,
    sub: serviceAccountUsername(k.namespace, k.serviceaccount.name),
  };
}

/** Reads a live object: `resource` is a core/v1 resource; undefined when absent. */
export type ObjectLookup = (resource: 'serviceaccounts' | 'pods' | 'secrets' | 'nodes', namespace: string | undefined, name: string) => Promise<KubeObject | undefined>;

export type TokenCheck = { user: UserInfo } | { error: string };

/**
 * Verifies a token completely: signature and issuer, times (with leeway), audience, and that the
 * service account and the object the token is bound to still exist with the uids of the claims.
 */
export async function authenticateServiceAccountToken(keys: ServiceAccountTokenKeys, lookup: ObjectLookup, token: string, nowMs = Date.now()): Promise<TokenCheck> {
  const v = keys.verifySignature(token);
  if ('error' in v) return v;
  return checkClaims(keys, lookup, v.claims, nowMs);
}

async function checkClaims(keys: ServiceAccountTokenKeys, lookup: ObjectLookup, c: ServiceAccountTokenClaims, nowMs: number): Promise<TokenCheck> {
  const now = Math.floor(nowMs / 1000);
  if (typeof c.exp !== 'number' || now > c.exp + TOKEN_LEEWAY_SECONDS) return { error: 'service account token has expired' };
  if (typeof c.nbf === 'number' && now < c.nbf - TOKEN_LEEWAY_SECONDS) return { error: 'service account token is not valid yet' };
  const aud = typeof c.aud === 'string' ? [c.aud] : Array.isArray(c.aud) ? c.aud : [];
  if (!aud.some((a) => keys.audiences.includes(a))) return { error: `token audiences ${JSON.stringify(aud)} is invalid for the target audiences ${JSON.stringify(keys.audiences)}` };
  const k = c['kubernetes.io'];
  if (!isObject(k) || typeof k.namespace !== 'string' || !isObject(k.serviceaccount) || typeof k.serviceaccount.name !== 'string')
    return { error: 'service account token lacks the kubernetes.io claim' };
  const ns = k.namespace;
  const deletedLongAgo = (o: KubeObject) => {
    const ts = o.metadata?.deletionTimestamp;
    return !!ts && Date.parse(ts) < nowMs - TOKEN_LEEWAY_SECONDS * 1000;
  };
  const sa = await lookup('serviceaccounts', ns, k.serviceaccount.name);
  if (!sa) return { error: `serviceaccounts "${k.serviceaccount.name}" not found` };
  if (deletedLongAgo(sa)) return { error: `service account ${ns}/${k.serviceaccount.name} has been deleted` };
  if (sa.metadata?.uid !== k.serviceaccount.uid) return { error: `service account UID (${sa.metadata?.uid}) does not match claim (${k.serviceaccount.uid})` };
  const bound = async (resource: 'pods' | 'secrets' | 'nodes', ref: ObjectRefClaim): Promise<string | undefined> => {
    const o = await lookup(resource, resource === 'nodes' ? undefined : ns, ref.name);
    if (!o || deletedLongAgo(o)) return 'service account token has been invalidated';
    if (o.metadata?.uid !== ref.uid) return `${resource.slice(0, -1)} UID (${o.metadata?.uid}) does not match service account ${resource.slice(0, -1)} ref claim (${ref.uid})`;
    return undefined;
  };
  const extra: Record<string, string[]> = {};
  if (isObject(k.secret)) {
    const err = await bound('secrets', k.secret);
    if (err) return { error: err };
  }
  if (isObject(k.pod)) {
    const err = await bound('pods', k.pod);
    if (err) return { error: err };
    extra['authentication.kubernetes.io/pod-name'] = [k.pod.name];
    extra['authentication.kubernetes.io/pod-uid'] = [k.pod.uid ?? ''];
  } else if (isObject(k.node)) {
    // a token bound to the Node itself dies with it; a pod's node is only informative
    const err = await bound('nodes', k.node);
    if (err) return { error: err };
  }
  if (isObject(k.node)) {
    extra['authentication.kubernetes.io/node-name'] = [k.node.name];
    if (k.node.uid) extra['authentication.kubernetes.io/node-uid'] = [k.node.uid];
  }
  if (typeof c.jti === 'string' && c.jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${c.jti}`];
  return {
    user: {
      username: serviceAccountUsername(ns, k.serviceaccount.name),
      uid: k.serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      ...(Object.keys(extra).length ? { extra } : {}),
    },
  };
}

/**
 * Users from `Authorization: Bearer <service account JWT>`. Tokens of other issuers are left to the
 * other authenticators (answered synchronously); tokens of ours that fail a check are refused.
 */
export function serviceAccountTokenAuthenticator(keys: ServiceAccountTokenKeys, lookup: ObjectLookup, log?: (line: string) => void): Authenticator {
  return (req: IncomingMessage) => {
    const h = req.headers.authorization;
    if (!h || !h.startsWith('Bearer ')) return undefined;
    const token = h.slice(7).trim();
    if (token.split('.').length !== 3) return undefined;
    const v = keys.verifySignature(token);
    if ('error' in v) return undefined;
    return checkClaims(keys, lookup, v.claims, Date.now()).then(
      (r) => {
        if ('user' in r) return r.user;
        log?.(`service account token refused: ${r.error}`);
        return undefined;
      },
      (e: unknown) => {
        log?.(`service account token check failed: ${(e as Error)?.message ?? String(e)}`);
        return undefined;
      },
    );
  };
}
