// serviceaccounts/token (TokenRequest), authentication.k8s.io/v1 selfsubjectreviews, and the service
// account issuer discovery documents (/.well-known/openid-configuration, /openid/v1/jwks).
import type { ServerResponse } from 'node:http';
import { errBadRequest, errConflict, errInvalid, errMethodNotAllowed, invalidValue, isStatusError, type FieldError } from '../api/errors.js';
import { isPlainObject } from '../api/object.js';
import type { KindInfo, KubeObject } from '../api/types.js';
import type { ApiServer, Ctx, ResourceRequest } from './handler.js';
import { JWKS_PATH, OPENID_CONFIG_PATH, tokenClaims, type ObjectLookup, type ServiceAccountTokenKeys, type TokenSubject } from './sa-token.js';

const GROUP = 'authentication.k8s.io';
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
/** What kubelets ask for on projected tokens; such pod-bound tokens live a year but warn after it (upstream's safe rollout). */
const WARN_ONLY_EXPIRATION_SECONDS = 3607;
const EXTENDED_EXPIRATION_SECONDS = 365 * 24 * 3600;

/** The kind of a TokenRequest body, for decoding it (protobuf bodies name their kind). */
const tokenRequestInfo: KindInfo = {
  group: GROUP,
  version: 'v1',
  kind: 'TokenRequest',
  resource: 'tokenrequests',
  singular: 'tokenrequest',
  namespaced: true,
  strategy: {},
};
const selfSubjectReviewInfo: KindInfo = { ...tokenRequestInfo, kind: 'SelfSubjectReview', resource: 'selfsubjectreviews', singular: 'selfsubjectreview', namespaced: false };

export interface TokenRequestOptions {
  /** requested expirations above this are shortened to it (upstream `--service-account-max-token-expiration`) */
  maxExpirationSeconds?: number;
  /** upstream `--service-account-extend-token-expiration`, default true */
  extendExpiration?: boolean;
}

interface BoundObjectReference {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

interface TokenRequestBody {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeObject['metadata'];
  spec?: { audiences?: unknown; expirationSeconds?: unknown; boundObjectRef?: unknown };
}

/** Reads core/v1 objects through the registry (same storage the API serves). */
export function registryLookup(api: () => ApiServer): ObjectLookup {
  return async (resource, namespace, name) => {
    const a = api();
    const info = a.scheme.lookup('', 'v1', resource);
    if (!info) return undefined;
    return (await a.registry.getItem(info, namespace, name))?.obj;
  };
}

/** Serves TokenRequest, SelfSubjectReview and issuer discovery on `api`. */
export function installServiceAccountTokens(api: ApiServer, keys: ServiceAccountTokenKeys, serverAddress: string, o: TokenRequestOptions = {}): void {
  api.subresourceHandlers.set('/serviceaccounts/token', (ctx, r, method) => serveTokenRequest(api, keys, o, ctx, r, method));
  api.routes.set(`/apis/${GROUP}/v1/selfsubjectreviews`, (ctx) => serveSelfSubjectReview(api, ctx));
  api.routes.set(OPENID_CONFIG_PATH, (ctx) => {
    if (ctx.req.method !== 'GET') throw errMethodNotAllowed();
    sendJSON(ctx.res, 'application/json', keys.openIDConfiguration(ctx.req.headers.host || serverAddress));
  });
  api.routes.set(JWKS_PATH, (ctx) => {
    if (ctx.req.method !== 'GET') throw errMethodNotAllowed();
    sendJSON(ctx.res, 'application/jwk-set+json', keys.jwks());
  });
}

function sendJSON(res: ServerResponse, contentType: string, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'public, max-age=3600', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const rfc3339 = (sec: number) => new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `v1` → core, `apps/v1` → apps; upstream prints a GroupVersionKind as `group/version, Kind=kind`. */
function parseGVK(apiVersion: string, kind: string): { group: string; text: string } {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return { group, text: `${group}/${version}, Kind=${kind}` };
}

async function getOrThrow(api: ApiServer, resource: string, namespace: string | undefined, name: string): Promise<KubeObject> {
  const info = api.scheme.lookup('', 'v1', resource)!;
  return (await api.registry.get(info, namespace, name)).obj;
}

async function serveTokenRequest(api: ApiServer, keys: ServiceAccountTokenKeys, o: TokenRequestOptions, ctx: Ctx, r: ResourceRequest, method: string): Promise<void> {
  if (method !== 'POST') throw errMethodNotAllowed();
  const x = api.internals;
  const namespace = r.namespace ?? '';
  const name = r.name!;
  const body = (await x.readObject(ctx, tokenRequestInfo)) as TokenRequestBody | undefined;
  if (!isPlainObject(body)) throw errBadRequest('the body of a TokenRequest must be an object');
  if (body.kind !== undefined && body.kind !== 'TokenRequest') throw errBadRequest(`the kind in the data (${body.kind}) does not match the expected kind (TokenRequest)`);
  const meta = isPlainObject(body.metadata) ? { ...body.metadata } : {};
  if (meta.name && meta.name !== name) throw errInvalid(GROUP, 'TokenRequest', name, [invalidValue('metadata.name', meta.name, 'must match the service account name if specified')]);
  if (meta.namespace && meta.namespace !== namespace)
    throw errInvalid(GROUP, 'TokenRequest', name, [invalidValue('metadata.namespace', meta.namespace, 'must match the service account namespace if specified')]);
  const spec = isPlainObject(body.spec) ? body.spec : {};
  const audiences = spec.audiences ?? [];
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== 'string')) throw errBadRequest('spec.audiences must be a list of strings');
  const requested = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (typeof requested !== 'number' || !Number.isInteger(requested)) throw errBadRequest('spec.expirationSeconds must be an integer');
  let expirationSeconds = requested;
  const ref = spec.boundObjectRef;
  if (ref !== undefined && ref !== null && !isPlainObject(ref)) throw errBadRequest('spec.boundObjectRef must be an object');

  const serviceAccount = await getOrThrow(api, 'serviceaccounts', namespace, name);
  const tokenAudiences = audiences.length ? (audiences as string[]) : keys.audiences;
  const now = Math.floor(Date.now() / 1000);

  const errs: FieldError[] = [];
  if (expirationSeconds < MIN_EXPIRATION_SECONDS) errs.push(invalidValue('spec.expirationSeconds', expirationSeconds, 'may not specify a duration less than 10 minutes'));
  if (expirationSeconds > MAX_EXPIRATION_SECONDS) errs.push(invalidValue('spec.expirationSeconds', expirationSeconds, 'may not specify a duration larger than 2^32 seconds'));
  if (errs.length) throw errInvalid(GROUP, 'TokenRequest', '', errs);

  const subject: TokenSubject = { serviceAccount };
  if (isPlainObject(ref)) await bindTo(api, subject, ref as BoundObjectReference, namespace, name);

  if (o.maxExpirationSeconds && o.maxExpirationSeconds > 0 && expirationSeconds > o.maxExpirationSeconds) {
    ctx.res.setHeader('Warning', `299 - "requested expiration of ${expirationSeconds} seconds shortened to ${o.maxExpirationSeconds} seconds"`);
    expirationSeconds = o.maxExpirationSeconds;
  }
  let exp = expirationSeconds;
  let warnAfter: number | undefined;
  if ((o.extendExpiration ?? true) && subject.pod && expirationSeconds === WARN_ONLY_EXPIRATION_SECONDS && tokenAudiences.every((a) => keys.audiences.includes(a))) {
    warnAfter = exp;
    exp = EXTENDED_EXPIRATION_SECONDS;
  }
  const token = keys.sign(tokenClaims(keys, subject, tokenAudiences, exp, now, warnAfter));
  return x.sendValue(ctx, 201, {
    kind: 'TokenRequest',
    apiVersion: `${GROUP}/v1`,
    metadata: { ...meta, name, namespace, creationTimestamp: rfc3339(now) },
    spec: { audiences: tokenAudiences, expirationSeconds, ...(isPlainObject(ref) ? { boundObjectRef: ref } : {}) },
    status: { token, expirationTimestamp: rfc3339(now + expirationSeconds) },
  });
}

/** Fills the bound object (and a pod's node) into `subject`, refusing what upstream refuses. */
async function bindTo(api: ApiServer, subject: TokenSubject, ref: BoundObjectReference, namespace: string, saName: string): Promise<void> {
  const kind = typeof ref.kind === 'string' ? ref.kind : '';
  const gvk = parseGVK(typeof ref.apiVersion === 'string' ? ref.apiVersion : '', kind);
  const refName = typeof ref.name === 'string' ? ref.name : '';
  let uid: string | undefined;
  if (gvk.group === '' && kind === 'Pod') {
    const pod = await getOrThrow(api, 'pods', namespace, refName);
    const podSA = (pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName || 'default';
    if (podSA !== saName) throw errBadRequest(`cannot bind token for serviceaccount "${saName}" to pod running with different serviceaccount name.`);
    subject.pod = pod;
    uid = pod.metadata?.uid;
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    if (nodeName) {
      try {
        subject.node = await getOrThrow(api, 'nodes', undefined, nodeName);
      } catch (e) {
        if (!(isStatusError(e) && e.code === 404)) throw e;
        // a node that does not exist is still named, without uid
        subject.node = { metadata: { name: nodeName } };
      }
    }
  } else if (gvk.group === '' && kind === 'Node') {
    subject.node = await getOrThrow(api, 'nodes', undefined, refName);
    uid = subject.node.metadata?.uid;
  } else if (gvk.group === '' && kind === 'Secret') {
    subject.secret = await getOrThrow(api, 'secrets', namespace, refName);
    uid = subject.secret.metadata?.uid;
  } else {
    throw errBadRequest(`cannot bind token to object of type ${gvk.text}`);
  }
  if (ref.uid && ref.uid !== uid)
    throw errConflict(
      { group: '', resource: kind },
      refName,
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
}

/** POST authentication.k8s.io/v1 selfsubjectreviews: who the server thinks the caller is (`kubectl auth whoami`). */
async function serveSelfSubjectReview(api: ApiServer, ctx: Ctx): Promise<void> {
  if (ctx.req.method !== 'POST') throw errMethodNotAllowed();
  const x = api.internals;
  const body = await x.readObject(ctx, selfSubjectReviewInfo);
  if (body !== undefined && body !== null && !isPlainObject(body)) throw errBadRequest('the body of a SelfSubjectReview must be an object');
  const u = ctx.user;
  const userInfo: Record<string, unknown> = { username: u.username };
  if (u.uid) userInfo.uid = u.uid;
  if (u.groups.length) userInfo.groups = u.groups;
  if (u.extra && Object.keys(u.extra).length) userInfo.extra = u.extra;
  return x.sendValue(ctx, 201, {
    kind: 'SelfSubjectReview',
    apiVersion: `${GROUP}/v1`,
    metadata: { creationTimestamp: rfc3339(Math.floor(Date.now() / 1000)) },
    status: { userInfo },
  });
}
