// Authorization in the API server: RBAC over watch-fed caches, impersonation, escalation prevention,
// ClusterRole aggregation, the default policy, and the authorization.k8s.io access reviews.
import { RBAC_GROUP } from '../../api/kinds/rbac.js';
import { ensureBootstrapPolicy } from '../bootstrap-policy.js';
import type { ApiServer } from '../handler.js';
import { ClusterRoleAggregator } from './aggregation.js';
import { rbacEscalationCheck } from './escalation.js';
import { authorizationFilter } from './filter.js';
import { NodeAuthorizer, NodeGraph } from './node.js';
import { RBACAuthorizer, RBACCache } from './rbac.js';
import { installAccessReviews } from './reviews.js';

export { forbidden, forbiddenMessage, impersonatedUser } from './filter.js';
export { RBACAuthorizer, RBACCache, SYSTEM_MASTERS } from './rbac.js';
export { requestAttributes } from './request-info.js';
export type { Attributes, Rule } from './rules.js';

export interface AuthorizationOptions {
  /** allow every request (upstream AlwaysAllow; the insecure HTTP test mode); the default policy is still created */
  alwaysAllow?: boolean;
  /** kube-system service accounts of in-process components (default COMPONENT_SERVICE_ACCOUNTS) */
  componentServiceAccounts?: readonly string[];
  log?: (line: string) => void;
}

export interface InstalledAuthorization {
  cache: RBACCache;
  authorizer: RBACAuthorizer;
  aggregator?: ClusterRoleAggregator;
  /** settles once the caches are filled and the default policy is in place */
  ready: Promise<void>;
}

const installed = new WeakMap<ApiServer, InstalledAuthorization>();

/** What installAuthorization set up on `api` (tests, diagnostics). */
export const authorizationOf = (api: ApiServer): InstalledAuthorization | undefined => installed.get(api);

export function installAuthorization(api: ApiServer, o: AuthorizationOptions = {}): InstalledAuthorization {
  const log = o.log ?? (() => {});
  const cache = new RBACCache(api.registry.store);
  const nodeGraph = new NodeGraph(api.registry.store);
  const authorizer = new RBACAuthorizer(cache, new NodeAuthorizer(nodeGraph));
  const enforcing = !o.alwaysAllow;
  api.authorize = authorizationFilter(enforcing ? authorizer : undefined);
  if (enforcing) api.registry.admission.push(rbacEscalationCheck(authorizer));
  installAccessReviews(api, enforcing ? authorizer : undefined);
  const clusterRoles = api.scheme.lookup(RBAC_GROUP, 'v1', 'clusterroles');
  const clusterRoleBindings = api.scheme.lookup(RBAC_GROUP, 'v1', 'clusterrolebindings');
  const aggregator = clusterRoles ? new ClusterRoleAggregator(cache, api.registry, clusterRoles, log) : undefined;
  const previous = api.whenReady;
  const ready = (async () => {
    await previous;
    try {
      await cache.start();
      await nodeGraph.start();
      if (clusterRoles && clusterRoleBindings) await ensureBootstrapPolicy(api.registry, { clusterRoles, clusterRoleBindings }, o.componentServiceAccounts);
      aggregator?.start();
      await aggregator?.sync();
    } catch (e) {
      log(`authorization: could not load the RBAC policy: ${(e as Error).message}`);
    }
  })();
  api.whenReady = ready.then(() => {
    if (api.whenReady === gate) api.whenReady = previous;
  });
  const gate = api.whenReady;
  const out = { cache, authorizer, aggregator, ready };
  installed.set(api, out);
  return out;
}
