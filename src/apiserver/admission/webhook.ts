// MutatingAdmissionWebhook and ValidatingAdmissionWebhook: each write is sent, as an admission.k8s.io/v1
// AdmissionReview, to the webhooks whose rules and selectors match it. Mutating webhooks may answer with a
// JSON patch; either kind may deny the request. Configurations are read from a watch-fed cache.
import { randomUUID } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { EndpointSubset, Service } from 'kubernetes-types/core/v1.js';
import { ADMISSION_REGISTRATION_GROUP, type Webhook, type WebhookRule } from '../../api/kinds/admissionregistration.js';
import { errBadRequest, errInternal, errInvalid, errNotFound, type FieldError, type Status, StatusError } from '../../api/errors.js';
import { labelSelectorMatches } from '../../api/labels.js';
import { deepClone, deepEqual, isPlainObject } from '../../api/object.js';
import { applyJSONPatch } from '../../api/patch.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import { nameIsDNSSubdomain, validateObjectMeta } from '../../api/validation.js';
import type { AdmissionContext, AdmissionPlugin, Registry, UserInfo } from '../registry.js';

type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
type KindLookup = (group: string, version: string, resource: string) => KindInfo | undefined;

/** Where a webhook behind a Service is reached. */
export interface ServiceEndpoint {
  host: string;
  port: number;
}
export type ServiceResolver = (ref: { namespace: string; name: string; port: number }, reg: Registry) => Promise<ServiceEndpoint>;

export interface WebhookAdmissionOptions {
  /** how `clientConfig.service` becomes an address; default: a ready endpoint of the Service, read through the registry */
  resolveService?: ServiceResolver;
  log?: (line: string) => void;
}

export interface AdmissionReviewRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  requestKind: { group: string; version: string; kind: string };
  requestResource: { group: string; version: string; resource: string };
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo: { username: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  object?: KubeObject;
  oldObject?: KubeObject;
  dryRun: boolean;
  options?: Record<string, unknown>;
}

export interface AdmissionReviewResponse {
  uid: string;
  allowed: boolean;
  status?: Status;
  patch?: string;
  patchType?: string;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

/** The request as webhooks see it; `object` is replaced as mutating webhooks patch it. */
interface Attributes {
  operation: Operation;
  info: KindInfo;
  subresource: string;
  namespace: string;
  name: string;
  object?: KubeObject;
  oldObject?: KubeObject;
  dryRun: boolean;
  user?: UserInfo;
}

const EXEMPT_RESOURCES = new Set([
  'validatingwebhookconfigurations',
  'mutatingwebhookconfigurations',
  'validatingadmissionpolicies',
  'validatingadmissionpolicybindings',
  'mutatingadmissionpolicies',
  'mutatingadmissionpolicybindings',
]);

const OPERATION: Record<'create' | 'update' | 'delete', Operation> = { create: 'CREATE', update: 'UPDATE', delete: 'DELETE' };
const OPTIONS_KIND: Record<Operation, string> = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions', CONNECT: '' };
const DEFAULT_TIMEOUT_SECONDS = 10;
const MAX_TIMEOUT_SECONDS = 30;

// ---- matching ----

const anyOrHas = (list: readonly string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

/** Upstream rules.Matcher: operation, group, version, resource[/subresource] with wildcards, and scope. */
export function ruleMatches(rule: WebhookRule, a: Pick<Attributes, 'operation' | 'info' | 'subresource' | 'namespace'>): boolean {
  if (!anyOrHas(rule.operations, a.operation)) return false;
  if (!anyOrHas(rule.apiGroups, a.info.group)) return false;
  if (!anyOrHas(rule.apiVersions, a.info.version)) return false;
  const resourceMatches = (rule.resources ?? []).some((rs) => {
    const slash = rs.indexOf('/');
    const res = slash < 0 ? rs : rs.slice(0, slash);
    const sub = slash < 0 ? '' : rs.slice(slash + 1);
    return (res === '*' || res === a.info.resource) && (sub === '*' || sub === a.subresource);
  });
  if (!resourceMatches) return false;
  const isNamespace = a.info.group === '' && a.info.resource === 'namespaces';
  switch (rule.scope ?? '*') {
    case 'Namespaced':
      return !isNamespace && a.namespace !== '';
    case 'Cluster':
      return isNamespace || a.namespace === '';
    default:
      return true;
  }
}

const selectsAll = (sel: LabelSelector | undefined) => !sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0);
const labelsOf = (o: KubeObject | undefined) => o?.metadata?.labels as Record<string, string> | undefined;

/** Upstream object matcher: the new or the old object carries matching labels. */
export function objectSelectorMatches(sel: LabelSelector | undefined, a: Pick<Attributes, 'object' | 'oldObject'>): boolean {
  if (selectsAll(sel)) return true;
  return (!!a.object && labelSelectorMatches(sel, labelsOf(a.object) ?? {})) || (!!a.oldObject && labelSelectorMatches(sel, labelsOf(a.oldObject) ?? {}));
}

// ---- configurations ----

interface HookRef {
  configuration: string;
  hook: Webhook;
}

/** Every webhook of one configuration kind, sorted by configuration name as upstream orders them, kept current by a watch. */
class WebhookSource {
  private hooks: HookRef[] = [];
  private byName = new Map<string, KubeObject>();
  private ready?: Promise<void>;

  constructor(private readonly kind: () => KindInfo | undefined) {}

  private started = false;

  async list(reg: Registry): Promise<HookRef[]> {
    await (this.ready ??= this.start(reg).catch((e: unknown) => {
      this.ready = undefined;
      throw e;
    }));
    return this.hooks;
  }

  /** Whether the configurations are known and hold no webhook: most requests need not look further. */
  none(): boolean {
    return this.started && this.hooks.length === 0;
  }

  private async start(reg: Registry): Promise<void> {
    const info = this.kind();
    if (!info) return;
    await reg.watch(info, undefined, { sendInitialEvents: true }, (type, item) => {
      const name = item.obj.metadata.name;
      if (type === 'DELETED') this.byName.delete(name);
      else this.byName.set(name, item.obj);
      this.rebuild();
    });
    this.started = true;
  }

  private rebuild(): void {
    const names = [...this.byName.keys()].sort();
    this.hooks = names.flatMap((configuration) => {
      const hooks = this.byName.get(configuration)?.webhooks;
      return Array.isArray(hooks) ? hooks.filter(isPlainObject).map((hook) => ({ configuration, hook: hook as unknown as Webhook })) : [];
    });
  }

}

// ---- calling ----

/** Upstream ErrCallingWebhook: the webhook could not be asked, or answered nonsense; failurePolicy decides. */
class CallError extends Error {
  constructor(
    readonly webhook: string,
    reason: string,
  ) {
    super(`failed calling webhook "${webhook}": ${reason}`);
  }
}

interface Target {
  url: URL;
  /** where to connect, when not the URL's host (a Service's endpoint) */
  connect?: ServiceEndpoint;
}

function postJSON(target: Target, caPem: string | undefined, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const { url, connect } = target;
  const host = connect?.host ?? url.hostname.replace(/^\[|\]$/g, '');
  const port = connect?.port ?? (url.port ? Number(url.port) : 443);
  const serverName = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host,
        port,
        method: 'POST',
        path: url.pathname + url.search,
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body), host: url.host },
        ...(caPem ? { ca: caPem } : {}),
        ...(isIP(serverName) ? {} : { servername: serverName }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('context deadline exceeded'), { code: 'ETIMEDOUT_WEBHOOK' })), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(body);
  });
}

/** Node's socket errors in the words of Go's net/http, which clients and docs quote. */
function callFailure(e: unknown, host: string, port: number): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ETIMEDOUT_WEBHOOK':
      return 'context deadline exceeded';
    case 'ECONNREFUSED':
      return `dial tcp ${host}:${port}: connect: connection refused`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${host}: no such host`;
    default:
      return err.message;
  }
}

function decodeCABundle(b64: unknown): string | undefined {
  if (typeof b64 !== 'string' || b64 === '') return undefined;
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** Upstream's endpoint resolver: a ready address of the Service's endpoints, on the target port of `port`. */
export function registryServiceResolver(lookup: KindLookup): ServiceResolver {
  return async (ref, reg) => {
    const services = lookup('', 'v1', 'services');
    const endpoints = lookup('', 'v1', 'endpoints');
    if (!services || !endpoints) throw new Error('services are not served');
    const svc = (await reg.getItem(services, ref.namespace, ref.name))?.obj as Service | undefined;
    if (!svc) throw errNotFound({ group: '', resource: 'services' }, ref.name);
    if (svc.spec?.type === 'ExternalName' && svc.spec.externalName) return { host: svc.spec.externalName, port: ref.port };
    const svcPort = (svc.spec?.ports ?? []).find((p) => p.port === ref.port);
    if (!svcPort) throw new Error(`no service port ${ref.port} found for service "${ref.name}"`);
    const eps = (await reg.getItem(endpoints, ref.namespace, ref.name))?.obj;
    if (!eps) throw errNotFound({ group: '', resource: 'endpoints' }, ref.name);
    for (const subset of (eps.subsets ?? []) as EndpointSubset[]) {
      const port = (subset.ports ?? []).find((p) => (p.name ?? '') === (svcPort.name ?? ''));
      const addrs = subset.addresses ?? [];
      if (port && addrs.length) return { host: addrs[Math.floor(Math.random() * addrs.length)].ip, port: port.port };
    }
    throw new Error(`no endpoints available for service "${ref.name}"`);
  };
}

function reviewRequest(a: Attributes): AdmissionReviewRequest {
  const { info } = a;
  const kind = { group: info.group, version: info.version, kind: info.kind };
  const resource = { group: info.group, version: info.version, resource: info.resource };
  const user = a.user;
  const req: AdmissionReviewRequest = {
    uid: randomUUID(),
    kind,
    resource,
    requestKind: kind,
    requestResource: resource,
    name: a.name || undefined,
    namespace: a.namespace || undefined,
    operation: a.operation,
    userInfo: user ? { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups, ...(user.extra ? { extra: user.extra } : {}) } : { username: '' },
    object: a.object,
    oldObject: a.oldObject,
    dryRun: a.dryRun,
    options: { kind: OPTIONS_KIND[a.operation], apiVersion: 'meta.k8s.io/v1', ...(a.dryRun ? { dryRun: ['All'] } : {}) },
  };
  if (a.subresource) {
    req.subResource = a.subresource;
    req.requestSubResource = a.subresource;
  }
  return req;
}

/** Upstream VerifyAdmissionResponse for admission.k8s.io/v1. */
function verifyResponse(uid: string, mutating: boolean, body: unknown): AdmissionReviewResponse {
  if (!isPlainObject(body)) throw new Error('received invalid webhook response: the response is not a JSON object');
  if (body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview')
    throw new Error(`received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${String(body.apiVersion ?? '')}, Kind=${String(body.kind ?? '')}`);
  const r = body.response;
  if (!isPlainObject(r)) throw new Error('received invalid webhook response: webhook response was absent');
  if (r.uid !== uid) throw new Error(`received invalid webhook response: expected response.uid="${uid}", got "${String(r.uid ?? '')}"`);
  const hasPatch = typeof r.patch === 'string' && r.patch !== '';
  if (!mutating && hasPatch) throw new Error('received invalid webhook response: validating webhook may not return response.patch');
  if (!mutating && r.patchType) throw new Error('received invalid webhook response: validating webhook may not return response.patchType');
  if (hasPatch && !r.patchType) throw new Error('received invalid webhook response: webhook returned response.patch but not response.patchType');
  return r as unknown as AdmissionReviewResponse;
}

/** Upstream webhookerrors.ToStatusErr: the webhook's code (403 when none), reason and details, our message. */
function denial(webhook: string, a: Attributes, result: Status | undefined): StatusError {
  const code = typeof result?.code === 'number' && result.code >= 400 ? result.code : 403;
  const deniedBy = `admission webhook "${webhook}" denied the request`;
  const message = result?.message ? `${deniedBy}: ${result.message}` : result?.reason ? `${deniedBy}: ${result.reason}` : `${deniedBy} without explanation`;
  const reason = result?.reason || (code === 500 ? 'InternalError' : 'Forbidden');
  const details = result?.details ?? (code === 500 ? { causes: [{ message }] } : { group: a.info.group || undefined, kind: a.info.resource, name: a.name || 'Unknown' });
  return new StatusError(code, reason, message, details);
}

interface CallOutcome {
  response: AdmissionReviewResponse;
}

async function callWebhook(hook: Webhook, a: Attributes, mutating: boolean, reg: Registry, resolve: ServiceResolver): Promise<CallOutcome> {
  const name = hook.name;
  const cc = hook.clientConfig ?? {};
  const timeoutSeconds = Math.min(Math.max(hook.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS, 1), MAX_TIMEOUT_SECONDS);
  let target: Target;
  try {
    if (cc.url) {
      target = { url: new URL(cc.url) };
    } else if (cc.service) {
      const s = cc.service;
      const port = s.port ?? 443;
      const url = new URL(`https://${s.name}.${s.namespace}.svc:${port}${s.path ?? ''}`);
      target = { url, connect: await resolve({ namespace: s.namespace, name: s.name, port }, reg) };
    } else throw new Error('neither url nor service is set');
  } catch (e) {
    throw new CallError(name, `failed to call webhook: ${(e as Error).message}`);
  }
  target.url.searchParams.set('timeout', `${timeoutSeconds}s`);
  const request = reviewRequest(a);
  const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
  let res: { status: number; body: string };
  try {
    res = await postJSON(target, decodeCABundle(cc.caBundle), body, timeoutSeconds * 1000);
  } catch (e) {
    const host = target.connect?.host ?? target.url.hostname;
    const port = target.connect?.port ?? Number(target.url.port || 443);
    throw new CallError(name, `failed to call webhook: Post "${target.url.href}": ${callFailure(e, host, port)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    parsed = undefined;
  }
  if (res.status < 200 || res.status > 299) {
    const msg = isPlainObject(parsed) && parsed.kind === 'Status' && typeof parsed.message === 'string' ? parsed.message : `an error on the server ("${res.body.slice(0, 200)}") has prevented the request from succeeding`;
    throw new CallError(name, `failed to call webhook: ${msg}`);
  }
  try {
    return { response: verifyResponse(request.uid, mutating, parsed) };
  } catch (e) {
    throw new CallError(name, (e as Error).message);
  }
}

// ---- the plugins ----

function attributesOf(op: 'create' | 'update' | 'delete', info: KindInfo, obj: KubeObject, old: KubeObject | undefined, ctx: AdmissionContext = {}): Attributes {
  const meta = obj.metadata ?? {};
  const isNamespace = info.group === '' && info.resource === 'namespaces';
  return {
    operation: OPERATION[op],
    info,
    subresource: ctx.subresource ?? '',
    namespace: isNamespace ? (meta.name ?? '') : (meta.namespace ?? ''),
    name: meta.name ?? '',
    object: op === 'delete' ? undefined : obj,
    oldObject: op === 'delete' ? obj : old,
    dryRun: !!ctx.dryRun,
    user: ctx.user,
  };
}

const exempt = (info: KindInfo) => info.group === ADMISSION_REGISTRATION_GROUP && EXEMPT_RESOURCES.has(info.resource);

interface Dispatcher {
  sources: WebhookSource;
  lookup: KindLookup;
  resolve: ServiceResolver;
  log: (line: string) => void;
}

/** The webhooks this request goes to, in order: rules, then the object selector, then the namespace selector (a read). */
async function matchingHooks(d: Dispatcher, a: Attributes, reg: Registry): Promise<Webhook[]> {
  const all = await d.sources.list(reg);
  if (all.length === 0) return [];
  const out: Webhook[] = [];
  let nsLabels: Record<string, string> | undefined | null = null;
  for (const { hook } of all) {
    if (!(hook.rules ?? []).some((r) => ruleMatches(r as WebhookRule, a))) continue;
    if (!objectSelectorMatches(hook.objectSelector, a)) continue;
    if (!selectsAll(hook.namespaceSelector) && (a.namespace !== '' || a.info.resource === 'namespaces')) {
      if (nsLabels === null) nsLabels = await namespaceLabels(d, a, reg);
      if (!labelSelectorMatches(hook.namespaceSelector, nsLabels ?? {})) continue;
    }
    out.push(hook);
  }
  return out;
}

/** Upstream GetNamespaceLabels: a namespace being written is judged by its own (new) labels. */
async function namespaceLabels(d: Dispatcher, a: Attributes, reg: Registry): Promise<Record<string, string> | undefined> {
  if (a.info.group === '' && a.info.resource === 'namespaces' && !a.subresource && (a.operation === 'CREATE' || a.operation === 'UPDATE')) return labelsOf(a.object);
  const nsInfo = d.lookup('', 'v1', 'namespaces');
  if (!nsInfo) return undefined;
  const ns = await reg.getItem(nsInfo, undefined, a.namespace);
  if (!ns) throw errNotFound({ group: '', resource: 'namespaces' }, a.namespace);
  return labelsOf(ns.obj);
}

const noSideEffects = (hook: Webhook) => hook.sideEffects === 'None' || hook.sideEffects === 'NoneOnDryRun';

/**
 * One call with the failure policy applied: the response when the webhook answered, undefined when a call
 * failure is ignored. Denials and failing-closed calls throw the Status the client gets.
 */
async function invoke(d: Dispatcher, hook: Webhook, a: Attributes, mutating: boolean, reg: Registry, warn?: (t: string) => void): Promise<AdmissionReviewResponse | undefined> {
  if (a.dryRun && !noSideEffects(hook)) throw errBadRequest(`admission webhook "${hook.name}" does not support dry run`);
  let out: CallOutcome;
  try {
    out = await callWebhook(hook, a, mutating, reg, d.resolve);
  } catch (e) {
    if (!(e instanceof CallError)) throw e;
    if (hook.failurePolicy === 'Ignore') {
      d.log(`Failed calling webhook, failing open ${hook.name}: ${e.message}`);
      return undefined;
    }
    d.log(`Failed calling webhook, failing closed ${hook.name}: ${e.message}`);
    throw errInternal(e.message);
  }
  for (const w of out.response.warnings ?? []) if (typeof w === 'string' && w) warn?.(w);
  if (!out.response.allowed) throw denial(hook.name, a, out.response.status);
  return out.response;
}

/** Server-owned metadata a webhook's patch may not change. */
const SERVER_META = ['uid', 'creationTimestamp', 'resourceVersion', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'name', 'namespace'] as const;

/**
 * The object after a webhook's patch, defaulted and kept within what this request may change, as upstream
 * decodes and defaults a patched object before validation.
 */
function patched(hook: Webhook, a: Attributes, patchB64: string): KubeObject {
  let ops: unknown;
  try {
    ops = JSON.parse(Buffer.from(patchB64, 'base64').toString('utf8'));
  } catch (e) {
    throw new CallError(hook.name, `received undecodable patch in webhook response: ${(e as Error).message}`);
  }
  if (!a.object) throw errInternal(`admission webhook "${hook.name}" attempted to modify the object, which is not supported for this operation`);
  let next: KubeObject;
  try {
    next = applyJSONPatch(a.object, ops) as KubeObject;
  } catch (e) {
    throw errInternal((e as Error).message);
  }
  if (!isPlainObject(next) || !isPlainObject(next.metadata)) throw errInternal(`admission webhook "${hook.name}" returned a patch that does not leave an object`);
  const before = a.object;
  next.apiVersion = before.apiVersion;
  next.kind = before.kind;
  const meta = next.metadata as Record<string, unknown>;
  const was = (before.metadata ?? {}) as Record<string, unknown>;
  for (const f of SERVER_META) {
    if (was[f] === undefined) delete meta[f];
    else meta[f] = was[f];
  }
  const { info } = a;
  if (info.subresources?.status) {
    // a write to the main resource keeps status, a status write keeps everything else
    if (a.subresource === '') {
      if (before.status === undefined) delete next.status;
      else next.status = deepClone(before.status);
    } else if (a.subresource === 'status') {
      const status = next.status;
      next = { ...deepClone(before), metadata: next.metadata };
      if (status === undefined) delete next.status;
      else next.status = status;
    }
  }
  info.strategy.defaults?.(next);
  return next;
}

/** The registry validated the object before admission; a webhook's changes are validated again. */
function validatePatched(a: Attributes, obj: KubeObject): void {
  const { info } = a;
  const s = info.strategy;
  const errs: FieldError[] = validateObjectMeta(obj.metadata, { namespaced: info.namespaced, nameValidator: info.nameValidator ?? nameIsDNSSubdomain });
  const old = a.oldObject;
  if (old && a.subresource === 'status' && s.validateStatusUpdate) errs.push(...s.validateStatusUpdate(obj, old));
  else {
    errs.push(...(s.validate?.(obj) ?? []));
    if (old && (a.subresource === '' || a.subresource === 'status')) errs.push(...(s.validateUpdate?.(obj, old) ?? []));
  }
  if (errs.length) throw errInvalid(info.group, info.kind, String(obj.metadata?.name ?? ''), errs);
}

/** Replaces the contents of `target` (the registry's object, which other plugins key on) with `next`. */
function replaceInPlace(target: KubeObject, next: KubeObject): void {
  for (const k of Object.keys(target)) delete target[k];
  Object.assign(target, next);
}

const specPart = (o: KubeObject) => {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
};

export function mutatingAdmissionWebhook(lookup: KindLookup, opts: WebhookAdmissionOptions = {}): AdmissionPlugin {
  const d: Dispatcher = {
    sources: new WebhookSource(() => lookup(ADMISSION_REGISTRATION_GROUP, 'v1', 'mutatingwebhookconfigurations')),
    lookup,
    resolve: opts.resolveService ?? registryServiceResolver(lookup),
    log: opts.log ?? (() => {}),
  };
  return {
    name: 'MutatingAdmissionWebhook',
    async admit(op, info, obj, old, reg, ctx = {}) {
      if (exempt(info) || d.sources.none()) return;
      const a = attributesOf(op, info, obj, old, ctx);
      const hooks = await matchingHooks(d, a, reg);
      if (hooks.length === 0) return;
      const original = a.object ? deepClone(a.object) : undefined;
      // IfNeeded webhooks called before a later webhook changed the object are called once more.
      const reinvocable: Webhook[] = [];
      const reinvoke = new Set<Webhook>();
      const runOne = async (hook: Webhook) => {
        const res = await invoke(d, hook, a, true, reg, ctx.warn);
        let changed = false;
        if (res?.patch) {
          let next: KubeObject;
          try {
            if (res.patchType !== 'JSONPatch') throw new CallError(hook.name, `unsupported patch type "${String(res.patchType)}"`);
            next = patched(hook, a, res.patch);
          } catch (e) {
            if (!(e instanceof CallError)) throw e;
            if (hook.failurePolicy === 'Ignore') return false;
            throw errInternal(e.message);
          }
          changed = !deepEqual(next, a.object);
          a.object = next;
        }
        return changed;
      };
      for (const hook of hooks) {
        if (await runOne(hook)) for (const h of reinvocable) reinvoke.add(h);
        if (hook.reinvocationPolicy === 'IfNeeded') reinvocable.push(hook);
      }
      for (const hook of hooks) if (reinvoke.has(hook)) await runOne(hook);
      if (!a.object || !original || deepEqual(a.object, original)) return;
      validatePatched(a, a.object);
      if (info.generation && old && a.object.metadata && a.object.metadata.generation === old.metadata?.generation && !deepEqual(specPart(a.object), specPart(old)))
        a.object.metadata.generation = (old.metadata?.generation ?? 0) + 1;
      replaceInPlace(obj, a.object);
    },
  };
}

export function validatingAdmissionWebhook(lookup: KindLookup, opts: WebhookAdmissionOptions = {}): AdmissionPlugin {
  const d: Dispatcher = {
    sources: new WebhookSource(() => lookup(ADMISSION_REGISTRATION_GROUP, 'v1', 'validatingwebhookconfigurations')),
    lookup,
    resolve: opts.resolveService ?? registryServiceResolver(lookup),
    log: opts.log ?? (() => {}),
  };
  return {
    name: 'ValidatingAdmissionWebhook',
    async admit(op, info, obj, old, reg, ctx = {}) {
      if (exempt(info) || d.sources.none()) return;
      const a = attributesOf(op, info, obj, old, ctx);
      const hooks = await matchingHooks(d, a, reg);
      if (hooks.length === 0) return;
      // Validating webhooks are called in parallel; the first failure in configuration order is reported.
      const results = await Promise.allSettled(hooks.map((h) => invoke(d, h, a, false, reg, ctx.warn)));
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    },
  };
}

