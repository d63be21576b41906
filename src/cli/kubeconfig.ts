// kubeconfig files for the cluster's users.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigUser {
  name: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function kubeconfigYAML(server: string, caPem: string | undefined, user: KubeconfigUser, clusterName = 'timonel'): string {
  const cluster: Record<string, unknown> = { server };
  if (caPem) cluster['certificate-authority-data'] = b64(caPem);
  else if (server.startsWith('https:')) cluster['insecure-skip-tls-verify'] = true;
  const u: Record<string, unknown> = {};
  if (user.clientCertPem) u['client-certificate-data'] = b64(user.clientCertPem);
  if (user.clientKeyPem) u['client-key-data'] = b64(user.clientKeyPem);
  if (user.token) u.token = user.token;
  const ctx = `${user.name}@${clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster }],
    users: [{ name: user.name, user: u }],
    contexts: [{ name: ctx, context: { cluster: clusterName, user: user.name, namespace: 'default' } }],
    'current-context': ctx,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, yaml: string): void {
  writeFileSync(path, yaml, { mode: 0o600 });
}
