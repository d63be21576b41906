// The routing table of the ingress controller: which Ingresses are ours, and for a request's host and
// path, which backend serves it. Pure functions over Ingress and IngressClass objects.
//
// Kubernetes semantics: a host rule matches the Host exactly, or a wildcard `*.example.com` matches
// exactly one extra DNS label; Prefix paths match element by element on '/', Exact paths match the
// whole path; among matching paths the longest wins, Exact before Prefix on equal length.
// ingress-nginx semantics layered on top (course manifests rely on them): rules without a host and a
// host without a matching path fall back to a defaultBackend, `use-regex` or `rewrite-target` on any
// Ingress of a host turns every non-Exact path of that host into a case-insensitive regex anchored at
// the start, tried longest first.
import type { Ingress, IngressBackend, IngressClass } from 'kubernetes-types/networking/v1.js';

export const INGRESS_CONTROLLER = 'timonel.io/ingress';
export const ANNOTATION_INGRESS_CLASS = 'kubernetes.io/ingress.class';
export const ANNOTATION_IS_DEFAULT_CLASS = 'ingressclass.kubernetes.io/is-default-class';

const NGINX = 'nginx.ingress.kubernetes.io/';
export const ANNOTATION_REWRITE_TARGET = `${NGINX}rewrite-target`;
export const ANNOTATION_USE_REGEX = `${NGINX}use-regex`;
export const ANNOTATION_SSL_REDIRECT = `${NGINX}ssl-redirect`;
export const ANNOTATION_FORCE_SSL_REDIRECT = `${NGINX}force-ssl-redirect`;
export const ANNOTATION_PROXY_BODY_SIZE = `${NGINX}proxy-body-size`;

/** ingress-nginx's default `proxy-body-size` (nginx client_max_body_size). */
export const DEFAULT_PROXY_BODY_SIZE = '1m';

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** A Service port an Ingress points at; `port` is a number or a port name. */
export interface ServiceBackendRef {
  namespace: string;
  service: string;
  port: number | string;
}

/** What a route sends traffic to: a Service port, or why it cannot (resource backends). */
export type RouteBackend = { kind: 'service'; ref: ServiceBackendRef } | { kind: 'unsupported'; reason: string };

export interface Route {
  /** `namespace/name` of the Ingress the path comes from */
  ingress: string;
  path: string;
  pathType: PathType;
  /** set when the host is in regex mode and the path is not Exact */
  regex?: RegExp;
  backend: RouteBackend;
  rewriteTarget?: string;
  sslRedirect: boolean;
  forceSslRedirect: boolean;
  /** bytes; 0 = no limit */
  maxBodyBytes: number;
}

export interface HostRoutes {
  /** in match order */
  routes: Route[];
  /** the defaultBackend of (the oldest) Ingress that has rules for this host */
  fallback?: Route;
  /** some Ingress lists this host under spec.tls */
  tls: boolean;
}

export interface TLSBinding {
  /** exact host or `*.suffix` */
  host: string;
  /** `namespace/name` of the Secret */
  secret: string;
  /** `namespace/name` of the Ingresses that ask for it */
  ingresses: string[];
}

export interface RouteTable {
  exact: Map<string, HostRoutes>;
  /** keyed by the suffix after `*.` */
  wildcard: Map<string, HostRoutes>;
  /** rules without a host */
  any: HostRoutes;
  /** the cluster-wide fallback: the defaultBackend of the oldest Ingress that has one */
  defaultBackend?: Route;
  tls: TLSBinding[];
  /** problems found while building (bad regexes, …), one line each */
  problems: { ingress: string; message: string }[];
}

export interface Match {
  route?: Route;
  /** the host rules that applied (for ssl-redirect) */
  host?: HostRoutes;
  /** values of the regex's capture groups, for rewrite-target */
  groups?: string[];
}

// ---- ownership ----

const truthy = (v: string | undefined) => v?.trim().toLowerCase() === 'true';

export function isDefaultClass(ic: IngressClass): boolean {
  return truthy(ic.metadata?.annotations?.[ANNOTATION_IS_DEFAULT_CLASS]);
}

export interface Ownership {
  /** our IngressClass name */
  className: string;
  /** the controller string our IngressClasses carry */
  controller: string;
  /** class names taken as ours when no IngressClass of that name exists (e.g. `nginx`) */
  aliases: readonly string[];
  classes: Map<string, IngressClass>;
}

/**
 * Is this Ingress ours: spec.ingressClassName (else the deprecated annotation) names an IngressClass
 * of our controller (or, when no such IngressClass exists, our class name or an alias); with neither,
 * when a default IngressClass of our controller exists.
 */
export function ownsIngress(ing: Ingress, o: Ownership): boolean {
  const cls = ing.spec?.ingressClassName ?? ing.metadata?.annotations?.[ANNOTATION_INGRESS_CLASS];
  if (cls) {
    const ic = o.classes.get(cls);
    if (ic) return ic.spec?.controller === o.controller;
    return cls === o.className || o.aliases.includes(cls);
  }
  for (const ic of o.classes.values()) if (ic.spec?.controller === o.controller && isDefaultClass(ic)) return true;
  return false;
}

// ---- annotation values ----

/** nginx sizes: `1024`, `8k`, `1m`, `2g`; `0` = no limit. Undefined when not a size. */
export function parseNginxSize(v: string): number | undefined {
  const m = /^\s*(\d+)\s*([kKmMgG]?)\s*$/.exec(v);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * mult;
}

function boolAnnotation(ann: Record<string, string>, key: string, dflt: boolean): boolean {
  const v = ann[key]?.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  return dflt;
}

// ---- matching ----

/** The host of a Host header: no port, lower case, no trailing dot. */
export function normalizeHost(hostHeader: string | undefined): string {
  let h = (hostHeader ?? '').trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(1, end) : h;
  } else {
    const colon = h.lastIndexOf(':');
    if (colon >= 0 && h.indexOf(':') === colon) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** Prefix match element by element: `/foo` matches `/foo`, `/foo/`, `/foo/bar`, not `/foobar`. */
export function prefixMatches(prefix: string, path: string): boolean {
  const p = prefix.length > 1 && prefix.endsWith('/') ? prefix.replace(/\/+$/, '') : prefix;
  if (p === '/' || p === '') return true;
  return path === p || (path.startsWith(p) && path.charCodeAt(p.length) === 47 /* / */);
}

function routeMatches(r: Route, path: string): string[] | undefined | false {
  if (r.pathType === 'Exact') return path === r.path ? undefined : false;
  if (r.regex) {
    const m = r.regex.exec(path);
    return m ? m.slice(1).map((g) => g ?? '') : false;
  }
  return prefixMatches(r.path, path) ? undefined : false;
}

function hostRoutesFor(table: RouteTable, host: string): HostRoutes | undefined {
  const exact = table.exact.get(host);
  if (exact) return exact;
  const dot = host.indexOf('.');
  if (dot > 0) {
    const wild = table.wildcard.get(host.slice(dot + 1));
    if (wild) return wild;
  }
  return undefined;
}

/** The route for a request: host rules (exact, then wildcard, then rules without host), then fallbacks. */
export function matchRoute(table: RouteTable, host: string, path: string): Match {
  const byHost = hostRoutesFor(table, host);
  const hr = byHost ?? table.any;
  for (const r of hr.routes) {
    const m = routeMatches(r, path);
    if (m === false) continue;
    return { route: r, host: hr, groups: m };
  }
  return { route: hr.fallback ?? table.defaultBackend, host: byHost };
}

/** The request target after an nginx `rewrite <regex> <target> break`: the whole path is replaced. */
export function rewritePath(target: string, groups: string[] | undefined, query: string): string {
  let out = target.replace(/\$(\d)/g, (_, d: string) => groups?.[Number(d) - 1] ?? '');
  if (!out.startsWith('/')) out = '/' + out;
  if (!query) return out;
  return out.includes('?') ? `${out}&${query}` : `${out}?${query}`;
}

// ---- building ----

function key(ing: Ingress): string {
  return `${ing.metadata?.namespace ?? ''}/${ing.metadata?.name ?? ''}`;
}

/** Oldest first, then by namespace/name: who wins when two Ingresses claim the same host and path. */
function olderFirst(a: Ingress, b: Ingress): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = key(a);
  const kb = key(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function backendOf(ing: Ingress, b: IngressBackend): RouteBackend {
  if (b.service?.name) {
    const port = b.service.port?.number ?? b.service.port?.name ?? 0;
    return { kind: 'service', ref: { namespace: ing.metadata?.namespace ?? 'default', service: b.service.name, port } };
  }
  const r = b.resource;
  return { kind: 'unsupported', reason: r ? `resource backend ${r.kind}/${r.name} is not supported` : 'the backend names no service' };
}

interface IngressSettings {
  rewriteTarget?: string;
  regex: boolean;
  sslRedirect: boolean;
  forceSslRedirect: boolean;
  maxBodyBytes: number;
}

function settingsOf(ing: Ingress, defaultBodySize: number): IngressSettings {
  const ann = ing.metadata?.annotations ?? {};
  const rewriteTarget = ann[ANNOTATION_REWRITE_TARGET] || undefined;
  const size = ann[ANNOTATION_PROXY_BODY_SIZE] !== undefined ? parseNginxSize(ann[ANNOTATION_PROXY_BODY_SIZE]) : undefined;
  return {
    rewriteTarget,
    regex: rewriteTarget !== undefined || boolAnnotation(ann, ANNOTATION_USE_REGEX, false),
    sslRedirect: boolAnnotation(ann, ANNOTATION_SSL_REDIRECT, true),
    forceSslRedirect: boolAnnotation(ann, ANNOTATION_FORCE_SSL_REDIRECT, false),
    maxBodyBytes: size ?? defaultBodySize,
  };
}

function routeFor(ing: Ingress, s: IngressSettings, path: string, pathType: PathType, backend: IngressBackend): Route {
  return {
    ingress: key(ing),
    path,
    pathType,
    backend: backendOf(ing, backend),
    rewriteTarget: s.rewriteTarget,
    sslRedirect: s.sslRedirect,
    forceSslRedirect: s.forceSslRedirect,
    maxBodyBytes: s.maxBodyBytes,
  };
}

function tlsCovers(tlsHosts: Set<string>, host: string): boolean {
  if (tlsHosts.has(host)) return true;
  const dot = host.indexOf('.');
  return dot > 0 && !host.startsWith('*.') && tlsHosts.has(`*.${host.slice(dot + 1)}`);
}

export interface BuildOptions {
  /** bytes allowed in a request body when an Ingress does not say (default 1m, as ingress-nginx) */
  defaultMaxBodyBytes?: number;
}

/** Builds the routing table from the Ingresses we own. */
export function buildRouteTable(owned: Ingress[], opts: BuildOptions = {}): RouteTable {
  const defaultBody = opts.defaultMaxBodyBytes ?? parseNginxSize(DEFAULT_PROXY_BODY_SIZE)!;
  const ingresses = [...owned].sort(olderFirst);
  const problems: RouteTable['problems'] = [];
  // host ('' = no host) → routes in Ingress age order, whether regex mode is on, the first fallback
  const hosts = new Map<string, { routes: Route[]; regex: boolean; fallback?: Route }>();
  const tlsByHost = new Map<string, TLSBinding>();
  const tlsHosts = new Set<string>();
  let defaultBackend: Route | undefined;

  for (const ing of ingresses) {
    const spec = ing.spec ?? {};
    const s = settingsOf(ing, defaultBody);
    const fallback = spec.defaultBackend ? routeFor(ing, s, '/', 'Prefix', spec.defaultBackend) : undefined;
    if (fallback && !defaultBackend) defaultBackend = fallback;
    const ruleHosts: string[] = [];
    for (const rule of spec.rules ?? []) {
      const host = (rule.host ?? '').toLowerCase();
      ruleHosts.push(host);
      let h = hosts.get(host);
      if (!h) hosts.set(host, (h = { routes: [], regex: false }));
      if (s.regex) h.regex = true;
      if (fallback && !h.fallback && host) h.fallback = fallback;
      for (const p of rule.http?.paths ?? []) {
        const pathType = (p.pathType ?? 'ImplementationSpecific') as PathType;
        h.routes.push(routeFor(ing, s, p.path || '/', pathType, p.backend));
      }
    }
    for (const t of spec.tls ?? []) {
      const covered = t.hosts?.length ? t.hosts : ruleHosts.filter((h) => h);
      for (const raw of covered) {
        const host = raw.toLowerCase();
        tlsHosts.add(host);
        if (!t.secretName) continue;
        const secret = `${ing.metadata?.namespace ?? ''}/${t.secretName}`;
        const b = tlsByHost.get(host);
        if (!b) tlsByHost.set(host, { host, secret, ingresses: [key(ing)] });
        else if (b.secret === secret && !b.ingresses.includes(key(ing))) b.ingresses.push(key(ing));
      }
    }
  }

  const finish = (host: string, h: { routes: Route[]; regex: boolean; fallback?: Route }): HostRoutes => {
    const routes: Route[] = [];
    for (const r of h.routes) {
      if (h.regex && r.pathType !== 'Exact') {
        try {
          r.regex = new RegExp(`^${r.path}`, 'i');
        } catch (e) {
          problems.push({ ingress: r.ingress, message: `path ${JSON.stringify(r.path)} is not a valid regular expression: ${(e as Error).message}` });
          continue;
        }
      }
      routes.push(r);
    }
    // stable sort: equal keys keep Ingress age order, so the oldest Ingress wins a tie
    routes.sort((a, b) => {
      if (h.regex && (a.pathType === 'Exact') !== (b.pathType === 'Exact')) return a.pathType === 'Exact' ? -1 : 1;
      const la = a.path.length;
      const lb = b.path.length;
      if (la !== lb) return lb - la;
      if ((a.pathType === 'Exact') !== (b.pathType === 'Exact')) return a.pathType === 'Exact' ? -1 : 1;
      return 0;
    });
    return { routes, fallback: h.fallback, tls: host !== '' && tlsCovers(tlsHosts, host) };
  };

  const table: RouteTable = { exact: new Map(), wildcard: new Map(), any: { routes: [], tls: false }, defaultBackend, tls: [...tlsByHost.values()], problems };
  for (const [host, h] of hosts) {
    const hr = finish(host, h);
    if (host === '') table.any = hr;
    else if (host.startsWith('*.')) table.wildcard.set(host.slice(2), hr);
    else table.exact.set(host, hr);
  }
  return table;
}

/** The TLS binding for an SNI server name: exact host, then a wildcard one label up. */
export function tlsBindingFor(bindings: Map<string, TLSBinding>, serverName: string): TLSBinding | undefined {
  const host = serverName.toLowerCase();
  const exact = bindings.get(host);
  if (exact) return exact;
  const dot = host.indexOf('.');
  return dot > 0 ? bindings.get(`*.${host.slice(dot + 1)}`) : undefined;
}
