// resolv.conf both ways: what pods get (ClusterFirst, like the kubelet writes it) and the host's
// nameservers the cluster DNS forwards other names to.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** The kubelet caps the search list (MaxDNSSearchPaths) */
const MAX_SEARCH_PATHS = 32;

/**
 * The resolv.conf of a pod in `namespace` with dnsPolicy ClusterFirst: the cluster DNS as the only
 * nameserver, the namespace's, the svc and the cluster domain first in the search list (then the
 * host's search domains, if given), and ndots:5 so `svc` and `svc.ns` go through the search list.
 */
export function clusterDNSResolvConf(dnsIP: string, namespace: string, zone = 'cluster.local', hostSearch: readonly string[] = []): string {
  const z = zone.replace(/^\.|\.$/g, '');
  const search = [`${namespace}.svc.${z}`, `svc.${z}`, z];
  for (const s of hostSearch) if (s && s !== '.' && !search.includes(s)) search.push(s);
  return `search ${search.slice(0, MAX_SEARCH_PATHS).join(' ')}\nnameserver ${dnsIP}\noptions ndots:5\n`;
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...fields] = line.split(/\s+/);
    if (key === 'nameserver' && fields[0]) out.nameservers.push(fields[0]);
    else if (key === 'search' || key === 'domain') out.search = fields;
    else if (key === 'options') out.options.push(...fields);
  }
  return out;
}

/** The host's nameservers as `address` strings (port 53), or [] when the file cannot be read. */
export function hostNameservers(path = '/etc/resolv.conf'): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return parseResolvConf(text).nameservers.filter((ns) => isIP(ns.replace(/%.*$/, '')) !== 0);
}
