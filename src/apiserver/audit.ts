// The audit log: one audit.k8s.io/v1 Event per request stage as a JSON line, at the level an audit Policy
// gives the request (upstream's log backend in batch mode: a bounded buffer written in the background,
// rotated by size like lumberjack). Every response carries the event's ID in `Audit-Id`.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, unlinkSync, existsSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname, extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { StatusError } from '../api/errors.js';
import { requestAttributes } from './authz/request-info.js';
import type { Attributes } from './authz/rules.js';
import { isLongRunning } from './flowcontrol.js';
import type { ApiServer, RequestFilter } from './handler.js';
import type { UserInfo } from './registry.js';

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

export interface AuditGroupResources {
  group?: string;
  resources?: string[];
  resourceNames?: string[];
}

/** One rule of an audit.k8s.io/v1 Policy. */
export interface AuditPolicyRule {
  level: AuditLevel;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: AuditGroupResources[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: AuditStage[];
  omitManagedFields?: boolean;
}

/** audit.k8s.io/v1 Policy: the first rule that matches a request gives its level; none matching means None. */
export interface AuditPolicy {
  apiVersion?: string;
  kind?: string;
  rules: AuditPolicyRule[];
  omitStages?: AuditStage[];
  omitManagedFields?: boolean;
}

const LEVELS: readonly AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
const STAGES: readonly AuditStage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];

/**
 * Metadata for everything, the request body of writes too, except where bodies hold credentials or
 * arbitrary payloads (Secrets, ConfigMaps, TokenReviews), as upstream's example policies do; health probes are not logged.
 */
export const DEFAULT_AUDIT_POLICY: AuditPolicy = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [
    { level: 'None', nonResourceURLs: ['/healthz*', '/livez*', '/readyz*'] },
    {
      level: 'Metadata',
      resources: [
        { group: '', resources: ['secrets', 'configmaps', 'serviceaccounts/token'] },
        { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
      ],
    },
    { level: 'Request', verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] },
    { level: 'Metadata' },
  ],
};

const stringList = (v: unknown, what: string): string[] | undefined => {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`audit policy: ${what} must be a list of strings`);
  return v as string[];
};

/** Checks a decoded audit.k8s.io/v1 (or v1beta1) Policy document. */
export function parseAuditPolicy(doc: unknown): AuditPolicy {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('audit policy: not an object');
  const p = doc as Record<string, unknown>;
  if (p.kind !== 'Policy') throw new Error(`audit policy: kind must be Policy, not ${JSON.stringify(p.kind)}`);
  if (typeof p.apiVersion !== 'string' || !/^audit\.k8s\.io\/v1(beta1)?$/.test(p.apiVersion))
    throw new Error(`audit policy: apiVersion must be audit.k8s.io/v1, not ${JSON.stringify(p.apiVersion)}`);
  const stages = (v: unknown, what: string): AuditStage[] | undefined => {
    const l = stringList(v, what);
    for (const s of l ?? []) if (!STAGES.includes(s as AuditStage)) throw new Error(`audit policy: unknown stage ${JSON.stringify(s)} in ${what}`);
    return l as AuditStage[] | undefined;
  };
  if (!Array.isArray(p.rules)) throw new Error('audit policy: rules must be a list');
  const rules = p.rules.map((r: unknown, i: number): AuditPolicyRule => {
    if (!r || typeof r !== 'object') throw new Error(`audit policy: rules[${i}] is not an object`);
    const o = r as Record<string, unknown>;
    if (!LEVELS.includes(o.level as AuditLevel)) throw new Error(`audit policy: rules[${i}].level must be one of ${LEVELS.join(', ')}`);
    const resources = o.resources === undefined || o.resources === null ? undefined : o.resources;
    if (resources !== undefined && !Array.isArray(resources)) throw new Error(`audit policy: rules[${i}].resources must be a list`);
    const rule: AuditPolicyRule = {
      level: o.level as AuditLevel,
      users: stringList(o.users, `rules[${i}].users`),
      userGroups: stringList(o.userGroups, `rules[${i}].userGroups`),
      verbs: stringList(o.verbs, `rules[${i}].verbs`),
      namespaces: stringList(o.namespaces, `rules[${i}].namespaces`),
      nonResourceURLs: stringList(o.nonResourceURLs, `rules[${i}].nonResourceURLs`),
      omitStages: stages(o.omitStages, `rules[${i}].omitStages`),
      resources: (resources as unknown[] | undefined)?.map((g, j) => {
        const gr = (g ?? {}) as Record<string, unknown>;
        if (gr.group !== undefined && typeof gr.group !== 'string') throw new Error(`audit policy: rules[${i}].resources[${j}].group must be a string`);
        return {
          group: (gr.group as string | undefined) ?? '',
          resources: stringList(gr.resources, `rules[${i}].resources[${j}].resources`),
          resourceNames: stringList(gr.resourceNames, `rules[${i}].resources[${j}].resourceNames`),
        };
      }),
    };
    if (typeof o.omitManagedFields === 'boolean') rule.omitManagedFields = o.omitManagedFields;
    if ((rule.resources || rule.namespaces) && rule.nonResourceURLs) throw new Error(`audit policy: rules[${i}] mixes resources or namespaces with nonResourceURLs`);
    return rule;
  });
  return { apiVersion: p.apiVersion, kind: 'Policy', rules, omitStages: stages(p.omitStages, 'omitStages'), omitManagedFields: p.omitManagedFields === true };
}

/** Reads an audit Policy file (YAML or JSON), as `--audit-policy-file` does. */
export function loadAuditPolicy(file: string): AuditPolicy {
  return parseAuditPolicy(parseYaml(readFileSync(file, 'utf8')));
}

const has = (l: readonly string[] | undefined, v: string) => !!l && l.includes(v);

function resourceMatches(groups: AuditGroupResources[], a: Attributes): boolean {
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  for (const g of groups) {
    if ((g.group ?? '') !== a.apiGroup) continue;
    if (!g.resources?.length) return true;
    if (g.resourceNames?.length && !g.resourceNames.includes(a.name)) continue;
    for (const r of g.resources) {
      if (r === combined || r === '*') return true;
      if (a.subresource && r.startsWith('*/') && r.slice(2) === a.subresource) return true;
      if (r.endsWith('/*') && r.slice(0, -2) === a.resource) return true;
    }
  }
  return false;
}

function urlMatches(patterns: readonly string[], path: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? path.startsWith(p.slice(0, -1)) : p === path));
}

export function ruleMatches(rule: AuditPolicyRule, a: Attributes): boolean {
  if (rule.verbs?.length && !has(rule.verbs, a.verb)) return false;
  if (rule.users?.length && !has(rule.users, a.user.username)) return false;
  if (rule.userGroups?.length && !a.user.groups.some((g) => has(rule.userGroups, g))) return false;
  if (a.resourceRequest) {
    if (rule.nonResourceURLs?.length) return false;
    if (rule.namespaces?.length && !has(rule.namespaces, a.namespace)) return false;
    if (rule.resources?.length && !resourceMatches(rule.resources, a)) return false;
    return true;
  }
  if (rule.namespaces?.length || rule.resources?.length) return false;
  if (rule.nonResourceURLs?.length && !urlMatches(rule.nonResourceURLs, a.path)) return false;
  return true;
}

export interface AuditDecision {
  level: AuditLevel;
  omitStages: readonly AuditStage[];
  omitManagedFields: boolean;
}

export function evaluatePolicy(policy: AuditPolicy, a: Attributes): AuditDecision {
  for (const rule of policy.rules) {
    if (!ruleMatches(rule, a)) continue;
    const omitStages = [...(policy.omitStages ?? []), ...(rule.omitStages ?? [])];
    return { level: rule.level, omitStages, omitManagedFields: rule.omitManagedFields ?? policy.omitManagedFields ?? false };
  }
  return { level: 'None', omitStages: [], omitManagedFields: false };
}

// ---- the log file ----

export interface AuditLogFileOptions {
  /** rotate when the file would grow past this (default 100 MiB) */
  maxSizeBytes?: number;
  /** rotated files kept (default 5) */
  maxBackups?: number;
  /** events waiting to be written beyond this many bytes are dropped (default 32 MiB) */
  maxBufferedBytes?: number;
  log?: (line: string) => void;
  /** the clock backup names are stamped with (tests) */
  now?: () => number;
}

/** Lines appended in the background to a file rotated by size to `<name>-<UTC time>.<ext>` beside it. */
export class RotatingLogFile {
  readonly path: string;
  private readonly maxSize: number;
  private readonly maxBackups: number;
  private readonly maxBuffered: number;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  /** the stamp of the last backup and its sequence number (0: none) */
  private lastStamp = '';
  private lastSeq = 0;
  private queue: string[] = [];
  private queuedBytes = 0;
  private fh?: FileHandle;
  private size = 0;
  private draining?: Promise<void>;
  private closed = false;
  /** events dropped because the buffer was full or the file could not be written */
  dropped = 0;

  constructor(path: string, o: AuditLogFileOptions = {}) {
    this.path = path;
    this.maxSize = o.maxSizeBytes ?? 100 * 1024 * 1024;
    this.maxBackups = o.maxBackups ?? 5;
    this.maxBuffered = o.maxBufferedBytes ?? 32 * 1024 * 1024;
    this.log = o.log ?? (() => {});
    this.now = o.now ?? Date.now;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }

  /** Queues one line (without its newline); false when it was dropped. */
  write(line: string): boolean {
    if (this.closed || this.queuedBytes + line.length > this.maxBuffered) {
      if (this.dropped++ % 1000 === 0) this.log(`audit: buffer full, dropped ${this.dropped} event(s) so far`);
      return false;
    }
    this.queue.push(line + '\n');
    this.queuedBytes += line.length + 1;
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
    return true;
  }

  /** Settles once everything queued so far is in the file. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.fh?.close();
    this.fh = undefined;
  }

  private async drain(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    while (this.queue.length) {
      const lines = this.queue;
      this.queue = [];
      this.queuedBytes = 0;
      try {
        await this.append(lines);
      } catch (e) {
        this.dropped += lines.length;
        this.log(`audit: could not write ${this.path}: ${(e as Error).message}`);
        await this.fh?.close().catch(() => {});
        this.fh = undefined;
      }
    }
  }

  private async append(lines: string[]): Promise<void> {
    if (!this.fh) {
      this.fh = await open(this.path, 'a', 0o600);
      this.size = (await this.fh.stat()).size;
    }
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    for (const line of lines) {
      const buf = Buffer.from(line, 'utf8');
      if (this.size + chunkBytes + buf.length > this.maxSize && this.size + chunkBytes > 0) {
        if (chunkBytes) await this.fh.write(Buffer.concat(chunk));
        chunk = [];
        chunkBytes = 0;
        await this.rotate();
      }
      chunk.push(buf);
      chunkBytes += buf.length;
    }
    if (chunkBytes) await this.fh.write(Buffer.concat(chunk));
    this.size += chunkBytes;
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
    const ext = extname(this.path);
    const stem = join(dirname(this.path), basename(this.path, ext));
    // lumberjack's backup names: `<stem>-2006-01-02T15-04-05.000<ext>`
    // (rotations within one millisecond number their files on from the last one's: a name taken again after the
    // oldest was pruned would sort as the oldest and be pruned next, with the lines it holds)
    const stamp = new Date(this.now()).toISOString().replace(/:/g, '-').replace(/Z$/, '');
    const name = (n: number) => (n ? `${stem}-${stamp}.${n}${ext}` : `${stem}-${stamp}${ext}`);
    let n = stamp === this.lastStamp ? this.lastSeq + 1 : 0;
    while (existsSync(name(n))) n++;
    this.lastStamp = stamp;
    this.lastSeq = n;
    await rename(this.path, name(n));
    this.fh = await open(this.path, 'a', 0o600);
    this.size = 0;
    this.pruneBackups();
  }

  /** Rotated files, oldest first. */
  backups(): string[] {
    const ext = extname(this.path);
    const prefix = `${basename(this.path, ext)}-`;
    const stamped = /^(\d{4}-\d\d-\d\dT[\d-]+\.\d{3})(?:\.(\d+))?$/;
    return readdirSync(dirname(this.path))
      .filter((f) => f.startsWith(prefix) && f.endsWith(ext))
      .map((f) => ({ f, m: stamped.exec(f.slice(prefix.length, f.length - ext.length)) }))
      .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
      .sort((a, b) => (a.m[1] === b.m[1] ? Number(a.m[2] ?? 0) - Number(b.m[2] ?? 0) : a.m[1] < b.m[1] ? -1 : 1))
      .map((x) => join(dirname(this.path), x.f));
  }

  private pruneBackups(): void {
    const all = this.backups();
    for (const f of all.slice(0, Math.max(0, all.length - this.maxBackups))) {
      try {
        unlinkSync(f);
      } catch {
        // already gone
      }
    }
  }
}

// ---- events ----

interface AuditUser {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

interface ObjectReference {
  resource?: string;
  namespace?: string;
  name?: string;
  apiGroup?: string;
  apiVersion?: string;
  subresource?: string;
}

interface ResponseStatus {
  metadata: Record<string, never>;
  status?: string;
  message?: string;
  reason?: string;
  code: number;
}

/** audit.k8s.io/v1 Event. */
export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: AuditLevel;
  auditID: string;
  stage: AuditStage;
  requestURI: string;
  verb: string;
  user: AuditUser;
  impersonatedUser?: AuditUser;
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: ObjectReference;
  responseStatus?: ResponseStatus;
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

/** metav1.MicroTime as upstream prints it: microseconds, UTC. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

function auditUser(u: UserInfo): AuditUser {
  const out: AuditUser = {};
  if (u.username) out.username = u.username;
  if (u.uid) out.uid = u.uid;
  if (u.groups.length) out.groups = u.groups;
  if (u.extra && Object.keys(u.extra).length) out.extra = u.extra;
  return out;
}

/** X-Forwarded-For, then X-Real-Ip, then the peer address, as upstream's SourceIPs. */
function sourceIPs(req: IncomingMessage): string[] | undefined {
  const ips: string[] = [];
  const fwd = req.headers['x-forwarded-for'];
  if (typeof fwd === 'string') for (const p of fwd.split(',')) if (p.trim()) ips.push(p.trim());
  const real = req.headers['x-real-ip'];
  if (!ips.length && typeof real === 'string' && real.trim()) ips.push(real.trim());
  const peer = req.socket?.remoteAddress?.replace(/^::ffff:/, '');
  if (peer && !ips.includes(peer)) ips.push(peer);
  return ips.length ? ips : undefined;
}

function stripManagedFields(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as { metadata?: Record<string, unknown>; items?: unknown[] };
  const out: Record<string, unknown> = { ...o };
  if (o.metadata && typeof o.metadata === 'object' && 'managedFields' in o.metadata) {
    const { managedFields: _m, ...rest } = o.metadata;
    out.metadata = rest;
  }
  if (Array.isArray(o.items)) out.items = o.items.map(stripManagedFields);
  return out;
}

/** A JSON or YAML body as an object; undefined for anything else (protobuf, garbage). */
function decodeLogged(body: Buffer | string, contentType: string | undefined): unknown {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (!text.trim()) return undefined;
  try {
    if (/yaml/i.test(contentType ?? '')) return parseYaml(text, { maxAliasCount: 100 });
    if (contentType === undefined || /json/i.test(contentType)) return JSON.parse(text);
  } catch {
    // (includes a RangeError from nesting deeper than the stack)
    // not decodable: logged without it
  }
  return undefined;
}

/** metadata.name and metadata.namespace of a JSON or YAML request body. */
function objectMetaRef(body: Buffer, contentType: string | undefined): { name?: string; namespace?: string } | undefined {
  const obj = decodeLogged(body, contentType);
  if (!obj || typeof obj !== 'object') return undefined;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (!meta || typeof meta !== 'object') return undefined;
  const { name, namespace } = meta as { name?: unknown; namespace?: unknown };
  return { name: typeof name === 'string' ? name : undefined, namespace: typeof namespace === 'string' ? namespace : undefined };
}

const MAX_LOGGED_RESPONSE = 1024 * 1024;

interface RequestAudit {
  id: string;
  received: number;
  decision?: AuditDecision;
  attrs?: Attributes;
  impersonated?: UserInfo;
  body?: Buffer;
  /** name and namespace of the request's object (upstream LogRequestObject completes objectRef with them) */
  bodyRef?: { name?: string; namespace?: string };
  failure?: StatusError;
  response?: string | Buffer;
  longRunning: boolean;
}

export interface AuditOptions extends AuditLogFileOptions {
  /** the log file, conventionally `<data-dir>/audit/audit.log` */
  path: string;
  /** a Policy, or the path of a Policy file (YAML or JSON); default DEFAULT_AUDIT_POLICY */
  policy?: AuditPolicy | string;
}

export interface AuditBackend {
  file: RotatingLogFile;
  policy: AuditPolicy;
  /** settles once every event of a finished request is in the file */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const ANONYMOUS_ATTRS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

/** Audits every request the API server serves; install before flow control so refused requests are logged too. */
export function installAudit(api: ApiServer, o: AuditOptions): AuditBackend {
  const policy = o.policy === undefined ? DEFAULT_AUDIT_POLICY : typeof o.policy === 'string' ? loadAuditPolicy(o.policy) : parseAuditPolicy(o.policy);
  const file = new RotatingLogFile(o.path, o);
  const requests = new WeakMap<IncomingMessage, RequestAudit>();

  const emit = (req: IncomingMessage, res: ServerResponse, r: RequestAudit, stage: AuditStage): void => {
    const d = r.decision!;
    if (d.level === 'None' || d.omitStages.includes(stage)) return;
    const a = r.attrs!;
    const ev: AuditEvent = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: d.level,
      auditID: r.id,
      stage,
      requestURI: req.url ?? '/',
      verb: a.verb,
      user: auditUser(a.user),
      requestReceivedTimestamp: microTime(r.received),
      stageTimestamp: microTime(Date.now()),
    };
    if (r.impersonated) ev.impersonatedUser = auditUser(r.impersonated);
    const ips = sourceIPs(req);
    if (ips) ev.sourceIPs = ips;
    if (req.headers['user-agent']) ev.userAgent = req.headers['user-agent'];
    if (a.resourceRequest) {
      const ref: ObjectReference = { resource: a.resource };
      const namespace = a.namespace || (stage === 'RequestReceived' ? '' : (r.bodyRef?.namespace ?? ''));
      const name = a.name || (stage === 'RequestReceived' ? '' : (r.bodyRef?.name ?? ''));
      if (namespace) ref.namespace = namespace;
      if (name) ref.name = name;
      if (a.apiGroup) ref.apiGroup = a.apiGroup;
      if (a.apiVersion) ref.apiVersion = a.apiVersion;
      if (a.subresource) ref.subresource = a.subresource;
      ev.objectRef = ref;
    }
    if (stage !== 'RequestReceived') {
      const status: ResponseStatus = { metadata: {}, code: r.failure?.code ?? res.statusCode };
      if (r.failure) {
        const s = r.failure.toStatus();
        status.status = s.status;
        if (s.message) status.message = s.message;
        if (s.reason) status.reason = s.reason;
      }
      ev.responseStatus = status;
    }
    if (d.level !== 'Metadata' && r.body?.length) {
      const obj = decodeLogged(r.body, req.headers['content-type']);
      if (obj !== undefined) ev.requestObject = d.omitManagedFields ? stripManagedFields(obj) : obj;
    }
    if (d.level === 'RequestResponse' && stage === 'ResponseComplete' && r.response !== undefined) {
      const obj = decodeLogged(r.response, String(res.getHeader('content-type') ?? ''));
      if (obj !== undefined) ev.responseObject = d.omitManagedFields ? stripManagedFields(obj) : obj;
    }
    let line: string;
    try {
      line = JSON.stringify(ev);
    } catch {
      // a body that decodes to something JSON cannot write (YAML aliases making a cycle, nesting deeper than the
      // stack): the event is logged without it, never lost and never thrown out of the request
      delete ev.requestObject;
      delete ev.responseObject;
      line = JSON.stringify(ev);
    }
    file.write(line);
  };

  const judge = (r: RequestAudit, attrs: Attributes) => {
    r.attrs = attrs;
    r.decision = evaluatePolicy(policy, attrs);
    r.longRunning = isLongRunning(attrs);
  };
  const decide = (r: RequestAudit, user: UserInfo, req: IncomingMessage, path: string, query: URLSearchParams) => judge(r, requestAttributes(user, req.method ?? 'GET', path, query));

  const filter: RequestFilter = {
    received(req, res) {
      const given = req.headers['audit-id'];
      const r: RequestAudit = { id: typeof given === 'string' && given && given.length <= 128 ? given : randomUUID(), received: Date.now(), longRunning: false };
      requests.set(req, r);
      res.setHeader('Audit-Id', r.id);
      res.once('close', () => {
        if (!r.decision) {
          // refused before authentication finished (401): judged as the anonymous user
          let url: URL;
          try {
            url = new URL(req.url ?? '/', 'http://localhost');
          } catch {
            url = new URL('http://localhost/');
          }
          decide(r, ANONYMOUS_ATTRS, req, url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname, url.searchParams);
          r.attrs!.user = { username: '', groups: [] };
        }
        emit(req, res, r, 'ResponseComplete');
      });
    },
    authenticated(req, res, attrs) {
      const r = requests.get(req);
      if (!r) return;
      judge(r, attrs);
      const d = r.decision!;
      if (d.level === 'None') return;
      emit(req, res, r, 'RequestReceived');
      if (r.longRunning && !d.omitStages.includes('ResponseStarted')) {
        const writeHead = res.writeHead;
        let started = false;
        res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
          const out = writeHead.apply(this, args);
          if (!started) {
            started = true;
            emit(req, res, r, 'ResponseStarted');
          }
          return out;
        } as ServerResponse['writeHead'];
      }
      if (d.level === 'RequestResponse' && !r.longRunning) {
        const end = res.end;
        res.end = function (this: ServerResponse, ...args: unknown[]) {
          const chunk = args[0];
          if ((typeof chunk === 'string' || Buffer.isBuffer(chunk)) && chunk.length <= MAX_LOGGED_RESPONSE && !res.getHeader('content-encoding')) r.response = chunk;
          return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
        } as ServerResponse['end'];
      }
    },
    authorized(req, acting) {
      const r = requests.get(req);
      if (r?.attrs && acting !== r.attrs.user) r.impersonated = acting;
    },
    body(req, body) {
      const r = requests.get(req);
      if (!r?.decision || r.decision.level === 'None') return;
      if (r.decision.level !== 'Metadata') r.body = body;
      if (r.attrs?.resourceRequest && !r.attrs.name && body.length) r.bodyRef = objectMetaRef(body, req.headers['content-type']);
    },
    failed(req, err) {
      const r = requests.get(req);
      if (r) r.failure = err;
    },
  };
  api.filters.push(filter);
  return {
    file,
    policy,
    flush: () => file.flush(),
    close: async () => {
      const i = api.filters.indexOf(filter);
      if (i >= 0) api.filters.splice(i, 1);
      await file.close();
    },
  };
}
