// Discovery documents: /api, /apis, /apis/<group>, and the APIResourceList of each group version.
import { createHash } from 'node:crypto';
import type { Scheme } from '../api/scheme.js';
import { apiVersionOf, type KindInfo } from '../api/types.js';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  storageVersionHash?: string;
}

function storageVersionHash(info: KindInfo): string {
  return createHash('sha256').update(`${info.group}/${info.version}/${info.kind}`).digest('base64').slice(0, 11);
}

export function resourcesOf(infos: readonly KindInfo[]): APIResource[] {
  const out: APIResource[] = [];
  for (const info of infos) {
    const r: APIResource = {
      name: info.resource,
      singularName: info.singular,
      namespaced: info.namespaced,
      kind: info.kind,
      verbs: info.verbs ?? ALL_VERBS,
      storageVersionHash: storageVersionHash(info),
    };
    if (info.shortNames?.length) r.shortNames = info.shortNames;
    if (info.categories?.length) r.categories = info.categories;
    out.push(r);
    const sub = info.subresources;
    if (sub?.status) out.push({ name: `${info.resource}/status`, singularName: '', namespaced: info.namespaced, kind: info.kind, verbs: ['get', 'patch', 'update'] });
    if (sub?.scale)
      out.push({ name: `${info.resource}/scale`, singularName: '', namespaced: info.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    for (const x of sub?.extra ?? []) {
      const e: APIResource = { name: `${info.resource}/${x.name}`, singularName: '', namespaced: info.namespaced, kind: x.kind, verbs: x.verbs };
      if (x.group !== undefined) e.group = x.group;
      if (x.version !== undefined) e.version = x.version;
      out.push(e);
    }
  }
  return out;
}

export function apiResourceList(scheme: Scheme, group: string, version: string) {
  const infos = scheme.kinds().filter((k) => k.group === group && k.version === version);
  if (!infos.length) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources: resourcesOf(infos),
  };
}

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(name: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(scheme: Scheme) {
  const groups = [...scheme.groups()].filter(([g]) => g !== '').map(([g, vs]) => apiGroup(g, vs));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroupDoc(scheme: Scheme, group: string) {
  const vs = scheme.groups().get(group);
  if (!vs || group === '') return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group, vs) };
}

// ---- aggregated discovery (apidiscovery.k8s.io/v2) ----

function discoveryVersion(scheme: Scheme, group: string, version: string) {
  const infos = scheme.kinds().filter((k) => k.group === group && k.version === version);
  return {
    version,
    freshness: 'Current',
    resources: infos.map((info) => {
      const r: Record<string, unknown> = {
        resource: info.resource,
        responseKind: { group, version, kind: info.kind },
        scope: info.namespaced ? 'Namespaced' : 'Cluster',
        singularResource: info.singular,
        verbs: info.verbs ?? ALL_VERBS,
      };
      if (info.shortNames?.length) r.shortNames = info.shortNames;
      if (info.categories?.length) r.categories = info.categories;
      const subs: Record<string, unknown>[] = [];
      if (info.subresources?.status) subs.push({ subresource: 'status', responseKind: { group, version, kind: info.kind }, verbs: ['get', 'patch', 'update'] });
      if (info.subresources?.scale) subs.push({ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] });
      for (const x of info.subresources?.extra ?? [])
        subs.push({ subresource: x.name, responseKind: { group: x.group ?? group, version: x.version ?? version, kind: x.kind }, verbs: x.verbs });
      if (subs.length) r.subresources = subs;
      return r;
    }),
  };
}

/** The aggregated discovery document for `/api` (legacy: true) or `/apis`. */
export function aggregatedDiscovery(scheme: Scheme, legacy: boolean) {
  const items = [...scheme.groups()]
    .filter(([g]) => (legacy ? g === '' : g !== ''))
    .map(([g, vs]) => ({ metadata: { name: g, creationTimestamp: null }, versions: vs.map((v) => discoveryVersion(scheme, g, v)) }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
