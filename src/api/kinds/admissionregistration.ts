// admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration and MutatingWebhookConfiguration.
import type {
  MutatingWebhook,
  MutatingWebhookConfiguration,
  RuleWithOperations,
  ValidatingWebhook,
  ValidatingWebhookConfiguration,
} from 'kubernetes-types/admissionregistration/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import { type FieldError, duplicate, invalidValue, notSupported, required, typeInvalid } from '../errors.js';
import { validateLabelSelector } from '../labels.js';
import { formatAge } from '../names.js';
import { isPlainObject } from '../object.js';
import type { KindInfo, KubeObject } from '../types.js';
import { dns1035LabelErrors, dns1123LabelErrors, dns1123SubdomainErrors } from '../validation.js';

export const ADMISSION_REGISTRATION_GROUP = 'admissionregistration.k8s.io';

/** kubernetes-types drops the inlined Rule fields of RuleWithOperations. */
export type WebhookRule = RuleWithOperations & { resources?: string[]; scope?: string };
/** A validating or mutating webhook as the admission plugin reads it (reinvocationPolicy only on mutating ones). */
export type Webhook = (ValidatingWebhook | MutatingWebhook) & { rules?: WebhookRule[]; reinvocationPolicy?: string };

type ValidatingWebhookConfigurationObject = ValidatingWebhookConfiguration & KubeObject;
type MutatingWebhookConfigurationObject = MutatingWebhookConfiguration & KubeObject;
type WebhookConfigurationObject = ValidatingWebhookConfigurationObject | MutatingWebhookConfigurationObject;

const absent = (v: unknown) => v === undefined || v === null;

const OPERATIONS = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];
const SCOPES = ['*', 'Cluster', 'Namespaced'];
const FAILURE_POLICIES = ['Fail', 'Ignore'];
const MATCH_POLICIES = ['Equivalent', 'Exact'];
const NO_SIDE_EFFECTS = ['None', 'NoneOnDryRun'];
const REINVOCATION_POLICIES = ['IfNeeded', 'Never'];
const REVIEW_VERSIONS = ['v1', 'v1beta1'];

/** Upstream SetDefaults_ValidatingWebhook / SetDefaults_MutatingWebhook / SetDefaults_Rule / SetDefaults_ServiceReference. */
function defaultWebhooks(cfg: WebhookConfigurationObject, mutating: boolean): void {
  if (!Array.isArray(cfg.webhooks)) return;
  for (const w of cfg.webhooks as unknown[]) {
    if (!isPlainObject(w)) continue;
    w.failurePolicy ??= 'Fail';
    w.matchPolicy ??= 'Equivalent';
    w.namespaceSelector ??= {};
    w.objectSelector ??= {};
    w.timeoutSeconds ??= 10;
    if (mutating) w.reinvocationPolicy ??= 'Never';
    if (Array.isArray(w.rules)) for (const r of w.rules as unknown[]) if (isPlainObject(r)) r.scope ??= '*';
    const svc = isPlainObject(w.clientConfig) ? w.clientConfig.service : undefined;
    if (isPlainObject(svc)) svc.port ??= 443;
  }
}

function stringList(v: unknown, path: string, errs: FieldError[]): string[] | undefined {
  if (absent(v)) return [];
  if (!Array.isArray(v)) return void errs.push(typeInvalid(path, v, 'must be of type array'));
  const bad = v.findIndex((s) => typeof s !== 'string');
  if (bad >= 0) return void errs.push(typeInvalid(`${path}[${bad}]`, v[bad], 'must be of type string'));
  return v as string[];
}

/** Upstream validateResources: `x`, `*`, `x/y`, `x/*`, `*\/y`, `*\/*`. */
function resourcesErrors(resources: string[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (resources.length === 0) errs.push(required(path));
  const withWildcardSub = new Set<string>();
  const subWithWildcardRes = new Set<string>();
  let doubleWildcard = false;
  let singleWildcard = false;
  let withoutSub = false;
  resources.forEach((rs, i) => {
    if (rs === '') return void errs.push(required(`${path}[${i}]`));
    if (rs === '*/*') doubleWildcard = true;
    if (rs === '*') singleWildcard = true;
    const slash = rs.indexOf('/');
    if (slash < 0) {
      withoutSub = rs !== '*';
      return;
    }
    const res = rs.slice(0, slash);
    const sub = rs.slice(slash + 1);
    if (withWildcardSub.has(res)) errs.push(invalidValue(`${path}[${i}]`, rs, `if '${res}/*' is present, must not specify ${rs}`));
    if (subWithWildcardRes.has(sub)) errs.push(invalidValue(`${path}[${i}]`, rs, `if '*/${sub}' is present, must not specify ${rs}`));
    if (sub === '*') withWildcardSub.add(res);
    if (res === '*') subWithWildcardRes.add(sub);
  });
  if (resources.length > 1 && doubleWildcard) errs.push(invalidValue(path, resources, "if '*/*' is present, must not specify other resources"));
  if (singleWildcard && withoutSub) errs.push(invalidValue(path, resources, "if '*' is present, must not specify other resources without subresources"));
  return errs;
}

function ruleErrors(rule: unknown, path: string): FieldError[] {
  if (!isPlainObject(rule)) return [typeInvalid(path, rule, 'must be of type object')];
  const errs: FieldError[] = [];
  const ops = stringList(rule.operations, `${path}.operations`, errs);
  const groups = stringList(rule.apiGroups, `${path}.apiGroups`, errs);
  const versions = stringList(rule.apiVersions, `${path}.apiVersions`, errs);
  const resources = stringList(rule.resources, `${path}.resources`, errs);
  if (!ops || !groups || !versions || !resources) return errs;
  if (ops.length === 0) errs.push(required(`${path}.operations`));
  if (ops.length > 1 && ops.includes('*')) errs.push(invalidValue(`${path}.operations`, ops, "if '*' is present, must not specify other operations"));
  ops.forEach((op, i) => {
    if (!OPERATIONS.includes(op)) errs.push(notSupported(`${path}.operations[${i}]`, op, OPERATIONS));
  });
  if (groups.length === 0) errs.push(required(`${path}.apiGroups`));
  if (groups.length > 1 && groups.includes('*')) errs.push(invalidValue(`${path}.apiGroups`, groups, "if '*' is present, must not specify other API groups"));
  if (versions.length === 0) errs.push(required(`${path}.apiVersions`));
  if (versions.length > 1 && versions.includes('*')) errs.push(invalidValue(`${path}.apiVersions`, versions, "if '*' is present, must not specify other API versions"));
  versions.forEach((v, i) => {
    if (v === '') errs.push(required(`${path}.apiVersions[${i}]`));
  });
  errs.push(...resourcesErrors(resources, `${path}.resources`));
  if (!absent(rule.scope) && (typeof rule.scope !== 'string' || !SCOPES.includes(rule.scope))) errs.push(notSupported(`${path}.scope`, rule.scope, SCOPES));
  return errs;
}

/** Upstream IsFullyQualifiedName: a DNS subdomain of at least three segments. */
function fullyQualifiedNameErrors(name: unknown, path: string): FieldError[] {
  if (absent(name) || name === '') return [required(path)];
  if (typeof name !== 'string') return [typeInvalid(path, name, 'must be of type string')];
  const msgs = dns1123SubdomainErrors(name);
  if (msgs.length) return [invalidValue(path, name, msgs.join(','))];
  if (name.split('.').length < 3) return [invalidValue(path, name, 'should be a domain with at least three segments separated by dots')];
  return [];
}

/** Upstream webhook.ValidateWebhookURL with https forced. */
function urlErrors(raw: unknown, path: string): FieldError[] {
  if (typeof raw !== 'string') return [typeInvalid(path, raw, 'must be of type string')];
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return [invalidValue(path, raw, 'url must be a valid URL')];
  }
  const errs: FieldError[] = [];
  if (u.protocol !== 'https:') errs.push(invalidValue(path, raw, "'https' is the only allowed URL scheme"));
  if (u.hostname === '') errs.push(invalidValue(path, raw, 'host must be specified'));
  if (u.username || u.password) errs.push(invalidValue(path, raw, 'user information is not permitted in the URL'));
  if (raw.includes('#')) errs.push(invalidValue(path, raw, 'fragments are not permitted in the URL'));
  if (raw.includes('?')) errs.push(invalidValue(path, raw, 'query parameters are not permitted in the URL'));
  return errs;
}

/** Upstream webhook.ValidateWebhookService. */
function serviceErrors(svc: unknown, path: string): FieldError[] {
  if (!isPlainObject(svc)) return [typeInvalid(path, svc, 'must be of type object')];
  const errs: FieldError[] = [];
  if (absent(svc.name) || svc.name === '') errs.push(required(`${path}.name`, 'service name is required'));
  else if (typeof svc.name !== 'string') errs.push(typeInvalid(`${path}.name`, svc.name, 'must be of type string'));
  if (absent(svc.namespace) || svc.namespace === '') errs.push(required(`${path}.namespace`, 'service namespace is required'));
  else if (typeof svc.namespace !== 'string') errs.push(typeInvalid(`${path}.namespace`, svc.namespace, 'must be of type string'));
  const port = svc.port;
  if (!absent(port) && (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535))
    errs.push(invalidValue(`${path}.port`, port, 'port is not valid: must be between 1 and 65535, inclusive'));
  const p = svc.path;
  if (absent(p) || p === '') return errs;
  if (typeof p !== 'string') return [...errs, typeInvalid(`${path}.path`, p, 'must be of type string')];
  if (!p.startsWith('/')) errs.push(invalidValue(`${path}.path`, p, "must start with a '/'"));
  else if (p !== '/') {
    const segs = (p.endsWith('/') ? p.slice(1, -1) : p.slice(1)).split('/');
    segs.forEach((seg, i) => {
      if (seg === '') errs.push(invalidValue(`${path}.path`, p, `segment[${i}] may not be empty`));
      else for (const m of dns1123LabelErrors(seg)) errs.push(invalidValue(`${path}.path`, p, `segment[${i}]: ${m}`));
    });
  }
  return errs;
}

function oneOf(v: unknown, path: string, supported: string[]): FieldError[] {
  if (absent(v)) return [];
  return typeof v === 'string' && supported.includes(v) ? [] : [notSupported(path, v, supported)];
}

function selectorErrors(sel: unknown, path: string): FieldError[] {
  if (absent(sel)) return [];
  if (!isPlainObject(sel)) return [typeInvalid(path, sel, 'must be of type object')];
  return validateLabelSelector(sel as LabelSelector, path);
}

function reviewVersionErrors(v: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const versions = stringList(v, path, errs);
  if (!versions) return errs;
  if (versions.length === 0) return [required(path, `must specify one of ${REVIEW_VERSIONS.join(', ')}`)];
  const seen = new Set<string>();
  versions.forEach((ver, i) => {
    if (seen.has(ver)) return void errs.push(invalidValue(`${path}[${i}]`, ver, 'duplicate version'));
    seen.add(ver);
    for (const m of dns1035LabelErrors(ver)) errs.push(invalidValue(`${path}[${i}]`, ver, m));
  });
  if (!versions.some((x) => REVIEW_VERSIONS.includes(x)))
    errs.push(invalidValue(path, versions, `must include at least one of ${REVIEW_VERSIONS.join(', ')}`));
  return errs;
}

function webhookErrors(w: unknown, path: string, mutating: boolean): FieldError[] {
  if (!isPlainObject(w)) return [typeInvalid(path, w, 'must be of type object')];
  const errs: FieldError[] = [...fullyQualifiedNameErrors(w.name, `${path}.name`)];
  if (!absent(w.rules) && !Array.isArray(w.rules)) errs.push(typeInvalid(`${path}.rules`, w.rules, 'must be of type array'));
  else ((w.rules ?? []) as unknown[]).forEach((r, i) => errs.push(...ruleErrors(r, `${path}.rules[${i}]`)));
  errs.push(...oneOf(w.failurePolicy, `${path}.failurePolicy`, FAILURE_POLICIES));
  errs.push(...oneOf(w.matchPolicy, `${path}.matchPolicy`, MATCH_POLICIES));
  if (absent(w.sideEffects)) errs.push(required(`${path}.sideEffects`, `must specify one of ${NO_SIDE_EFFECTS.join(', ')}`));
  else errs.push(...oneOf(w.sideEffects, `${path}.sideEffects`, NO_SIDE_EFFECTS));
  const t = w.timeoutSeconds;
  if (!absent(t)) {
    if (!Number.isInteger(t)) errs.push(typeInvalid(`${path}.timeoutSeconds`, t, 'must be of type integer'));
    else if ((t as number) > 30 || (t as number) < 1) errs.push(invalidValue(`${path}.timeoutSeconds`, t, 'the timeout value must be between 1 and 30 seconds'));
  }
  errs.push(...selectorErrors(w.namespaceSelector, `${path}.namespaceSelector`));
  errs.push(...selectorErrors(w.objectSelector, `${path}.objectSelector`));
  if (mutating) errs.push(...oneOf(w.reinvocationPolicy, `${path}.reinvocationPolicy`, REINVOCATION_POLICIES));
  const cc = w.clientConfig;
  if (!isPlainObject(cc)) errs.push(absent(cc) ? required(`${path}.clientConfig`, 'exactly one of url or service is required') : typeInvalid(`${path}.clientConfig`, cc, 'must be of type object'));
  else if (absent(cc.url) === absent(cc.service)) errs.push(required(`${path}.clientConfig`, 'exactly one of url or service is required'));
  else if (!absent(cc.url)) errs.push(...urlErrors(cc.url, `${path}.clientConfig.url`));
  else errs.push(...serviceErrors(cc.service, `${path}.clientConfig.service`));
  if (isPlainObject(cc) && !absent(cc.caBundle) && (typeof cc.caBundle !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(cc.caBundle)))
    errs.push(typeInvalid(`${path}.clientConfig.caBundle`, cc.caBundle, 'must be base64 encoded bytes'));
  // CEL match conditions cannot be evaluated here: refusing them beats calling a webhook more widely than asked.
  if (Array.isArray(w.matchConditions) && w.matchConditions.length > 0)
    errs.push({ field: `${path}.matchConditions`, type: 'FieldValueForbidden', detail: 'match conditions are not supported by this server' });
  errs.push(...reviewVersionErrors(w.admissionReviewVersions, `${path}.admissionReviewVersions`));
  return errs;
}

/**
 * Upstream relaxes the side-effect, review-version and unique-name rules on update when the stored object
 * already breaks them; objects created here never do, so the create rules serve both.
 */
function configurationErrors(cfg: WebhookConfigurationObject, mutating: boolean): FieldError[] {
  const hooks = cfg.webhooks as unknown;
  if (absent(hooks)) return [];
  if (!Array.isArray(hooks)) return [typeInvalid('webhooks', hooks, 'must be of type array')];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  hooks.forEach((w: unknown, i) => {
    errs.push(...webhookErrors(w, `webhooks[${i}]`, mutating));
    const name = isPlainObject(w) && typeof w.name === 'string' ? w.name : '';
    if (name) {
      if (names.has(name)) errs.push(duplicate(`webhooks[${i}].name`, name));
      names.add(name);
    }
  });
  return errs;
}

function webhookConfigurationKind<T extends WebhookConfigurationObject>(kind: string, resource: string, mutating: boolean): KindInfo<T> {
  return {
    group: ADMISSION_REGISTRATION_GROUP,
    version: 'v1',
    kind,
    resource,
    singular: resource.slice(0, -1),
    namespaced: false,
    categories: ['api-extensions'],
    generation: true,
    strategy: {
      defaults: (cfg) => defaultWebhooks(cfg, mutating),
      validate: (cfg) => configurationErrors(cfg, mutating),
      table: {
        columns: [
          { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
          { name: 'Webhooks', type: 'integer', description: 'Webhooks indicates the number of webhooks in the configuration.', priority: 0 },
          { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 },
        ],
        row: (cfg, now) => [cfg.metadata?.name ?? '', Array.isArray(cfg.webhooks) ? cfg.webhooks.length : 0, formatAge(cfg.metadata?.creationTimestamp, now)],
      },
    },
  };
}

export const validatingWebhookConfigurationKind = webhookConfigurationKind<ValidatingWebhookConfigurationObject>(
  'ValidatingWebhookConfiguration',
  'validatingwebhookconfigurations',
  false,
);

export const mutatingWebhookConfigurationKind = webhookConfigurationKind<MutatingWebhookConfigurationObject>(
  'MutatingWebhookConfiguration',
  'mutatingwebhookconfigurations',
  true,
);
