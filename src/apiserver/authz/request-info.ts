// What a request asks for, in authorizer terms (upstream RequestInfoFactory): the verb from the method and
// the URL (`list`/`watch`/`deletecollection` for collections), group, version, namespace, resource,
// subresource and name; everything outside `/api/v1/...` and `/apis/<g>/<v>/...` is a non-resource path.
import type { UserInfo } from '../registry.js';
import type { Attributes } from './rules.js';

const METHOD_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function isTrue(v: string | null): boolean {
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

/** `metadata.name=x` in a field selector names the one object a list or watch is about. */
function nameFromFieldSelector(fs: string | null): string {
  if (!fs) return '';
  for (const term of fs.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*([^\s,]+)\s*$/.exec(term);
    if (m && m[1] !== '.' && m[1] !== '..' && !/[/%]/.test(m[1])) return m[1];
  }
  return '';
}

export function requestAttributes(user: UserInfo, method: string, path: string, query: URLSearchParams): Attributes {
  const base: Attributes = { user, verb: method.toLowerCase(), resourceRequest: false, path, namespace: '', apiGroup: '', apiVersion: '', resource: '', subresource: '', name: '' };
  let parts = path.split('/').filter(Boolean);
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return base;
  const grouped = parts[0] === 'apis';
  parts = parts.slice(1);
  let apiGroup = '';
  if (grouped) {
    if (parts.length < 3) return base;
    apiGroup = parts[0];
    parts = parts.slice(1);
  }
  const apiVersion = parts[0];
  parts = parts.slice(1);
  let verb = METHOD_VERBS[method.toUpperCase()] ?? '';
  if (parts[0] === 'watch' || parts[0] === 'proxy') {
    if (parts.length < 2) return base;
    verb = parts[0];
    parts = parts.slice(1);
  }
  let namespace = '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1];
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2])) parts = parts.slice(2);
  }
  const [resource = '', name0 = '', subresource = ''] = parts;
  let name = name0;
  const watchParam = isTrue(query.get('watch'));
  if (!name && verb === 'get') {
    verb = watchParam ? 'watch' : 'list';
    name = nameFromFieldSelector(query.get('fieldSelector'));
  } else if (name && verb === 'get' && watchParam && !subresource) {
    verb = 'watch';
  } else if (verb === 'watch' && !name) {
    name = nameFromFieldSelector(query.get('fieldSelector'));
  }
  if (!name0 && verb === 'delete') verb = 'deletecollection';
  return { user, verb, resourceRequest: true, path, namespace, apiGroup, apiVersion, resource, subresource, name };
}
