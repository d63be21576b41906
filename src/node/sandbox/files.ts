// The files a pod's containers see as /etc/hosts, /etc/resolv.conf and /etc/hostname.
import { readFileSync } from 'node:fs';
import type { HostAlias } from 'kubernetes-types/core/v1.js';

export interface HostsFileOptions {
  ip?: string;
  hostname: string;
  /** `<hostname>.<subdomain>.<namespace>.svc.<cluster domain>` when the pod has a subdomain */
  fqdn?: string;
  hostAliases?: HostAlias[];
  hostNetwork?: boolean;
}

/** The kubelet's managed hosts file. */
export function hostsFile(opts: HostsFileOptions): string {
  let text: string;
  if (opts.hostNetwork) {
    let host = '';
    try {
      host = readFileSync('/etc/hosts', 'utf8');
    } catch {
      host = '127.0.0.1\tlocalhost\n';
    }
    text = `# Kubernetes-managed hosts file (host network).\n${host.endsWith('\n') || host === '' ? host : `${host}\n`}`;
  } else {
    text =
      '# Kubernetes-managed hosts file.\n' +
      '127.0.0.1\tlocalhost\n' +
      '::1\tlocalhost ip6-localhost ip6-loopback\n' +
      'fe00::0\tip6-localnet\n' +
      'fe00::0\tip6-mcastprefix\n' +
      'fe00::1\tip6-allnodes\n' +
      'fe00::2\tip6-allrouters\n';
    if (opts.ip) text += opts.fqdn ? `${opts.ip}\t${opts.fqdn}\t${opts.hostname}\n` : `${opts.ip}\t${opts.hostname}\n`;
  }
  if (opts.hostAliases?.length) {
    text += '\n# Entries added by HostAliases.\n';
    for (const a of opts.hostAliases) if (a.ip && a.hostnames?.length) text += `${a.ip}\t${a.hostnames.join('\t')}\n`;
  }
  return text;
}

export interface ResolvConfOptions {
  /** cluster DNS (or the pod's dnsConfig nameservers); without any, the host's resolv.conf is used */
  nameservers?: string[];
  searches?: string[];
  /** e.g. `ndots:5` (the default with nameservers) */
  options?: string[];
}

export function resolvConf(opts: ResolvConfOptions): string {
  if (!opts.nameservers?.length) {
    try {
      return readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      return '';
    }
  }
  let text = opts.nameservers.map((ns) => `nameserver ${ns}\n`).join('');
  if (opts.searches?.length) text += `search ${opts.searches.join(' ')}\n`;
  const options = opts.options ?? ['ndots:5'];
  if (options.length) text += `options ${options.join(' ')}\n`;
  return text;
}
