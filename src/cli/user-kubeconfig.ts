// `timonel kubeconfig --user NAME [--group G]...`: a kubeconfig whose client certificate, signed by the
// cluster CA, names the user (CN) and their groups (O), as kubeadm's `kubeconfig user` makes one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { kubeconfigYAML } from './kubeconfig.js';
import { issueCert } from './pki.js';

export interface UserKubeconfigOptions {
  /** the cluster's data dir (holds pki/ca.crt, pki/ca.key and the admin kubeconfig.yaml) */
  dataDir: string;
  user: string;
  groups?: string[];
  /** API server URL (default: the one in the data dir's kubeconfig.yaml) */
  server?: string;
  /** certificate lifetime (default 365) */
  days?: number;
}

function serverOf(kubeconfigPath: string): string | undefined {
  if (!existsSync(kubeconfigPath)) return undefined;
  const cfg = parseYaml(readFileSync(kubeconfigPath, 'utf8')) as { clusters?: { cluster?: { server?: string } }[] } | null;
  return cfg?.clusters?.[0]?.cluster?.server;
}

/** The kubeconfig YAML for a new user of the cluster in `o.dataDir`. */
export async function userKubeconfig(o: UserKubeconfigOptions): Promise<string> {
  if (!o.user) throw new Error('--user: a user name is required');
  const pki = join(o.dataDir, 'pki');
  const caCrt = join(pki, 'ca.crt');
  const caKey = join(pki, 'ca.key');
  if (!existsSync(caCrt) || !existsSync(caKey)) throw new Error(`no cluster CA in ${pki} (start the cluster with \`timonel up --data-dir ${o.dataDir}\` first)`);
  const server = o.server ?? serverOf(join(o.dataDir, 'kubeconfig.yaml'));
  if (!server) throw new Error(`no server address: ${join(o.dataDir, 'kubeconfig.yaml')} is missing; pass --server`);
  const ca = { certPem: readFileSync(caCrt, 'utf8'), keyPem: readFileSync(caKey, 'utf8') };
  const cert = await issueCert(ca, { commonName: o.user, organizations: o.groups ?? [], client: true, days: o.days ?? 365 });
  return kubeconfigYAML(server, ca.certPem, { name: o.user, clientCertPem: cert.certPem, clientKeyPem: cert.keyPem });
}
