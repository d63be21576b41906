// authorization.k8s.io/v1 access reviews: SubjectAccessReview, SelfSubjectAccessReview,
// LocalSubjectAccessReview (can this user do that?) and SelfSubjectRulesReview (what may I do here?),
// which `kubectl auth can-i` (and `--list`) ask. Nothing is stored: each POST is answered at once.
import { errBadRequest, errInvalid, errMethodNotAllowed, invalidValue, type FieldError } from '../../api/errors.js';
import { isPlainObject } from '../../api/object.js';
import type { KindInfo } from '../../api/types.js';
import type { ApiServer, Ctx, ResourceRequest } from '../handler.js';
import type { UserInfo } from '../registry.js';
import { type RBACAuthorizer } from './rbac.js';
import type { Attributes, Rule } from './rules.js';

export const AUTHORIZATION_GROUP = 'authorization.k8s.io';

const review = (kind: string, resource: string, namespaced: boolean): KindInfo => ({
  group: AUTHORIZATION_GROUP,
  version: 'v1',
  kind,
  resource,
  singular: resource.replace(/s$/, ''),
  namespaced,
  verbs: ['create'],
  strategy: {},
});

export const accessReviewKinds: KindInfo[] = [
  review('LocalSubjectAccessReview', 'localsubjectaccessreviews', true),
  review('SelfSubjectAccessReview', 'selfsubjectaccessreviews', false),
  review('SelfSubjectRulesReview', 'selfsubjectrulesreviews', false),
  review('SubjectAccessReview', 'subjectaccessreviews', false),
];

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}
interface NonResourceAttributes {
  path?: string;
  verb?: string;
}
interface ReviewSpec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: NonResourceAttributes;
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
  namespace?: string;
}

/** Who answers the questions: RBAC, or everything allowed (AlwaysAllow, insecure test mode). */
export type Decider = (a: Attributes) => { allowed: boolean; reason: string };

const str = (v: unknown) => (typeof v === 'string' ? v : '');

function attributesOf(user: UserInfo, spec: ReviewSpec): Attributes {
  const r = spec.resourceAttributes;
  if (r) {
    return {
      user,
      verb: str(r.verb),
      resourceRequest: true,
      path: '',
      namespace: str(r.namespace),
      apiGroup: str(r.group),
      apiVersion: str(r.version),
      resource: str(r.resource),
      subresource: str(r.subresource),
      name: str(r.name),
    };
  }
  const n = spec.nonResourceAttributes ?? {};
  return { user, verb: str(n.verb), resourceRequest: false, path: str(n.path), namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '' };
}

function attributesErrors(spec: ReviewSpec): FieldError[] {
  const hasR = isPlainObject(spec.resourceAttributes);
  const hasN = isPlainObject(spec.nonResourceAttributes);
  if (hasR && hasN) return [invalidValue('spec.nonResourceAttributes', spec.nonResourceAttributes, 'cannot be specified in combination with resourceAttributes')];
  if (!hasR && !hasN) return [invalidValue('spec.resourceAttributes', spec.resourceAttributes ?? null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified')];
  return [];
}

async function readReview(api: ApiServer, ctx: Ctx, info: KindInfo, method: string): Promise<{ metadata: Record<string, unknown>; spec: ReviewSpec }> {
  if (method !== 'POST') throw errMethodNotAllowed();
  const body = await api.internals.readObject(ctx, info);
  if (!isPlainObject(body)) throw errBadRequest(`the body of a ${info.kind} must be an object`);
  if (body.kind !== undefined && body.kind !== info.kind) throw errBadRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${info.kind})`);
  const spec = (isPlainObject(body.spec) ? body.spec : {}) as ReviewSpec;
  const metadata = (isPlainObject(body.metadata) ? { ...body.metadata } : {}) as Record<string, unknown>;
  metadata.creationTimestamp = null;
  return { metadata, spec };
}

function respond(api: ApiServer, ctx: Ctx, info: KindInfo, metadata: Record<string, unknown>, spec: unknown, status: Record<string, unknown>): void {
  api.internals.sendValue(ctx, 201, { kind: info.kind, apiVersion: `${AUTHORIZATION_GROUP}/v1`, metadata, spec, status });
}

function accessStatus(decide: Decider, a: Attributes): Record<string, unknown> {
  const d = decide(a);
  const status: Record<string, unknown> = { allowed: d.allowed };
  if (d.reason) status.reason = d.reason;
  return status;
}

/** Rules as SelfSubjectRulesReview reports them. */
function rulesStatus(rules: readonly Rule[], errors: readonly string[]) {
  const resourceRules: Record<string, string[]>[] = [];
  const nonResourceRules: Record<string, string[]>[] = [];
  for (const r of rules) {
    if (r.nonResourceURLs?.length) nonResourceRules.push({ verbs: [...r.verbs], nonResourceURLs: [...r.nonResourceURLs] });
    else {
      const rr: Record<string, string[]> = { verbs: [...r.verbs], apiGroups: [...(r.apiGroups ?? [])], resources: [...(r.resources ?? [])] };
      if (r.resourceNames?.length) rr.resourceNames = [...r.resourceNames];
      resourceRules.push(rr);
    }
  }
  const status: Record<string, unknown> = { resourceRules, nonResourceRules, incomplete: errors.length > 0 };
  if (errors.length) status.evaluationError = errors.join(', ');
  return status;
}

/** Serves the four reviews on `api`; `authz` undefined answers every question with yes. */
export function installAccessReviews(api: ApiServer, authz: RBACAuthorizer | undefined): void {
  const decide: Decider = authz ? (a) => authz.authorize(a) : () => ({ allowed: true, reason: '' });
  for (const info of accessReviewKinds) if (!api.scheme.lookup(info.group, info.version, info.resource)) api.scheme.register(info);
  const [local, self, selfRules, subject] = accessReviewKinds;

  api.resourceHandlers.set(`${AUTHORIZATION_GROUP}/selfsubjectaccessreviews`, async (ctx, _r, method) => {
    const { metadata, spec } = await readReview(api, ctx, self, method);
    const errs = attributesErrors(spec);
    if (errs.length) throw errInvalid(AUTHORIZATION_GROUP, self.kind, '', errs);
    respond(api, ctx, self, metadata, spec, accessStatus(decide, attributesOf(ctx.user, spec)));
  });

  const subjectReview = (info: KindInfo) => async (ctx: Ctx, r: ResourceRequest, method: string) => {
    const { metadata, spec } = await readReview(api, ctx, info, method);
    const errs = attributesErrors(spec);
    const groups = Array.isArray(spec.groups) ? spec.groups.filter((g): g is string => typeof g === 'string') : [];
    if (!str(spec.user) && groups.length === 0) errs.push(invalidValue('spec.user', str(spec.user), 'at least one of user or group must be specified'));
    if (info === local) {
      const ns = r.namespace ?? '';
      if (metadata.namespace !== undefined && metadata.namespace !== '' && metadata.namespace !== ns)
        throw errBadRequest('the namespace of the provided object does not match the namespace sent on the request');
      metadata.namespace = ns;
      if (spec.nonResourceAttributes) errs.push(invalidValue('spec.nonResourceAttributes', spec.nonResourceAttributes, 'disallowed on this kind of request'));
      const want = spec.resourceAttributes?.namespace ?? '';
      if (spec.resourceAttributes && want !== ns) errs.push(invalidValue('spec.resourceAttributes.namespace', want, 'must match metadata.namespace'));
    }
    if (errs.length) throw errInvalid(AUTHORIZATION_GROUP, info.kind, '', errs);
    const user: UserInfo = { username: str(spec.user), groups };
    if (spec.uid) user.uid = spec.uid;
    if (isPlainObject(spec.extra)) user.extra = spec.extra;
    respond(api, ctx, info, metadata, spec, accessStatus(decide, attributesOf(user, spec)));
  };
  api.resourceHandlers.set(`${AUTHORIZATION_GROUP}/subjectaccessreviews`, subjectReview(subject));
  api.resourceHandlers.set(`${AUTHORIZATION_GROUP}/localsubjectaccessreviews`, subjectReview(local));

  api.resourceHandlers.set(`${AUTHORIZATION_GROUP}/selfsubjectrulesreviews`, async (ctx, _r, method) => {
    const { metadata, spec } = await readReview(api, ctx, selfRules, method);
    const namespace = str(spec.namespace);
    let status;
    if (!authz) status = rulesStatus([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }], []);
    else {
      const { rules, errors } = authz.rulesFor(ctx.user, namespace);
      status = rulesStatus(rules, errors);
    }
    respond(api, ctx, selfRules, metadata, spec, status);
  });
}
