// The authorization step of the request chain: impersonation (Impersonate-* headers), then the RBAC
// decision on what the request asks for, refused with upstream's 403 Forbidden Status.
import type { IncomingMessage } from 'node:http';
import { errBadRequest, StatusError } from '../../api/errors.js';
import type { UserInfo } from '../registry.js';
import type { RBACAuthorizer } from './rbac.js';
import type { Attributes } from './rules.js';

const SA_PREFIX = 'system:serviceaccount:';
const STREAMING_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);

/** Upstream's forbiddenMessage: who cannot do what, where. */
export function forbiddenMessage(a: Attributes): string {
  const who = JSON.stringify(a.user.username);
  if (!a.resourceRequest) return `User ${who} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : 'at the cluster scope';
  return `User ${who} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(a.apiGroup)} ${where}`;
}

/** 403 as upstream's responsewriters.Forbidden builds it (apierrors.NewForbidden of the request's resource). */
export function forbidden(a: Attributes, reason: string): StatusError {
  const msg = reason ? `${forbiddenMessage(a)}: ${reason}` : forbiddenMessage(a);
  if (!a.resourceRequest || !a.resource) return new StatusError(403, 'Forbidden', `forbidden: ${msg}`, {});
  const gr = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const message = a.name ? `${gr} ${JSON.stringify(a.name)} is forbidden: ${msg}` : `${gr} is forbidden: ${msg}`;
  return new StatusError(403, 'Forbidden', message, { name: a.name || undefined, group: a.apiGroup || undefined, kind: a.resource });
}

function headerValues(req: IncomingMessage, name: string): string[] {
  const v = req.headersDistinct?.[name];
  if (v) return v;
  const raw = req.headers[name];
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
}

const impersonationAttributes = (user: UserInfo, resource: string, name: string, apiGroup = '', namespace = '', subresource = ''): Attributes => ({
  user,
  verb: 'impersonate',
  resourceRequest: true,
  path: '',
  namespace,
  apiGroup,
  apiVersion: '',
  resource,
  subresource,
  name,
});

/**
 * The user a request acts as: `user` itself, or who the Impersonate-* headers name when `user` may
 * impersonate them. `check` undefined allows every impersonation (AlwaysAllow).
 */
/** Whether any header starts `Impersonate-` (one look at the raw names; almost no request has one). */
function mayImpersonate(req: IncomingMessage): boolean {
  const raw = req.rawHeaders as string[] | undefined;
  if (!Array.isArray(raw)) return true;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i];
    if (n.length > 12 && (n.charCodeAt(0) | 0x20) === 105 && n.slice(0, 12).toLowerCase() === 'impersonate-') return true;
  }
  return false;
}

export function impersonatedUser(req: IncomingMessage, user: UserInfo, check?: (a: Attributes) => { allowed: boolean; reason: string }): UserInfo {
  if (!mayImpersonate(req)) return user;
  const users = headerValues(req, 'impersonate-user');
  const groups = headerValues(req, 'impersonate-group');
  const uids = headerValues(req, 'impersonate-uid');
  const extraHeaders = Object.keys(req.headers).filter((h) => h.startsWith('impersonate-extra-'));
  if (!users.length) {
    if (groups.length || uids.length || extraHeaders.length) throw errBadRequest('requested impersonation of groups, uid or extra without impersonating a user');
    return user;
  }
  const username = users[0];
  const checks: Attributes[] = [];
  let saGroups: string[] = [];
  if (username.startsWith(SA_PREFIX)) {
    const [ns, name] = username.slice(SA_PREFIX.length).split(':');
    checks.push(impersonationAttributes(user, 'serviceaccounts', name ?? '', '', ns ?? ''));
    saGroups = ['system:serviceaccounts', `system:serviceaccounts:${ns}`];
  } else {
    checks.push(impersonationAttributes(user, 'users', username));
  }
  for (const g of groups) checks.push(impersonationAttributes(user, 'groups', g));
  if (uids.length) checks.push(impersonationAttributes(user, 'uids', uids[0], 'authentication.k8s.io'));
  const extra: Record<string, string[]> = {};
  for (const h of extraHeaders) {
    const key = decodeURIComponent(h.slice('impersonate-extra-'.length));
    extra[key] = headerValues(req, h);
    for (const v of extra[key]) checks.push(impersonationAttributes(user, 'userextras', v, 'authentication.k8s.io', '', key));
  }
  if (check) {
    for (const a of checks) {
      const d = check(a);
      if (!d.allowed) throw forbidden(a, d.reason);
    }
  }
  const outGroups = groups.length ? [...groups] : saGroups;
  if (username === 'system:anonymous') {
    if (!outGroups.includes('system:unauthenticated')) outGroups.push('system:unauthenticated');
  } else if (!outGroups.includes('system:authenticated')) outGroups.push('system:authenticated');
  const out: UserInfo = { username, groups: outGroups };
  if (uids.length) out.uid = uids[0];
  if (Object.keys(extra).length) out.extra = extra;
  return out;
}

/** The filter the API server runs once per request after authentication; returns the user it acts as. */
export function authorizationFilter(authz: RBACAuthorizer | undefined) {
  const check = authz ? (a: Attributes) => authz.authorize(a) : undefined;
  return (req: IncomingMessage, attrs: Attributes): UserInfo => {
    const acting = impersonatedUser(req, attrs.user, check);
    const a = acting === attrs.user ? attrs : { ...attrs, user: acting };
    if (authz) {
      const d = authz.authorize(a);
      if (!d.allowed) throw forbidden(a, d.reason);
      // a WebSocket upgrade is a GET, but exec, attach and port-forward also need `create` (upstream AuthorizePodWebsocketUpgradeCreatePermission)
      if (a.verb === 'get' && a.resource === 'pods' && STREAMING_SUBRESOURCES.has(a.subresource) && req.headers.upgrade) {
        const c = { ...a, verb: 'create' };
        const dc = authz.authorize(c);
        if (!dc.allowed) throw forbidden(c, dc.reason);
      }
    }
    return acting;
  };
}
