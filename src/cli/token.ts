// `timonel token create [--ttl 24h]`: a bootstrap token (`<id>.<secret>`), stored as the Secret
// `bootstrap-token-<id>` of type bootstrap.kubernetes.io/token in kube-system, as `kubeadm token create` makes
// one; a bearer of it authenticates as `system:bootstrap:<id>` in `system:bootstrappers`.
import { randomInt } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Secret } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/types.js';
import { BOOTSTRAP_TOKEN_SECRET_PREFIX, BOOTSTRAP_TOKEN_SECRET_TYPE } from '../apiserver/authn.js';
import { RestClient } from '../client/rest.js';
import { RESOURCES } from '../client/shared.js';
import { kubeconfigTransport, loadKubeconfig } from '../client/transport.js';

const USAGE = `Usage: timonel token create [flags]

Creates a bootstrap token and prints it (<id>.<secret>).

Flags:
  --ttl DURATION     lifetime, e.g. 30m, 24h, 0 for none (default 24h)
  --description TEXT stored with the token
  --groups G,G       extra groups (each system:bootstrappers:<name>)
  --kubeconfig FILE  the admin kubeconfig (default <data-dir>/kubeconfig.yaml)
  --data-dir DIR     the cluster's data dir (default ~/.timonel)
`;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomString = (n: number) => Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

/** `1h30m`, `45s`, `24h`, `500ms`, `0` → milliseconds (Go's time.ParseDuration for h, m, s, ms). */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/gy;
  let ms = 0;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(s))) {
    ms += Number(m[1]) * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : m[2] === 'ms' ? 1 : 1000);
    at = re.lastIndex;
  }
  if (!s || at !== s.length) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  return ms;
}

export interface BootstrapTokenOptions {
  ttlMs?: number;
  description?: string;
  groups?: string[];
  nowMs?: number;
}

/** A new token and its Secret. */
export function bootstrapTokenSecret(o: BootstrapTokenOptions = {}): { token: string; secret: Secret } {
  const id = randomString(6);
  const tokenSecret = randomString(16);
  const data: Record<string, string> = {
    'token-id': id,
    'token-secret': tokenSecret,
    'usage-bootstrap-authentication': 'true',
    'usage-bootstrap-signing': 'true',
  };
  const ttl = o.ttlMs ?? 24 * 3_600_000;
  if (ttl > 0) data.expiration = new Date((o.nowMs ?? Date.now()) + ttl).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (o.description) data.description = o.description;
  if (o.groups?.length) data['auth-extra-groups'] = o.groups.join(',');
  return {
    token: `${id}.${tokenSecret}`,
    secret: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${BOOTSTRAP_TOKEN_SECRET_PREFIX}${id}`, namespace: 'kube-system' },
      type: BOOTSTRAP_TOKEN_SECRET_TYPE,
      stringData: data,
    },
  };
}

/** Creates the token's Secret through `client`; returns the token. */
export async function createBootstrapToken(client: RestClient, o: BootstrapTokenOptions = {}): Promise<string> {
  const { token, secret } = bootstrapTokenSecret(o);
  await client.resource(RESOURCES.secrets, 'kube-system').create(secret as KubeObject);
  return token;
}

export async function runTokenCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'create') {
    process.stdout.write(USAGE);
    if (sub !== undefined && sub !== 'help' && sub !== '--help' && sub !== '-h') process.exitCode = 2;
    return;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      ttl: { type: 'string' },
      description: { type: 'string' },
      groups: { type: 'string' },
      kubeconfig: { type: 'string' },
      'data-dir': { type: 'string' },
    },
    strict: true,
  });
  const dataDir = resolve(values['data-dir'] ?? join(homedir(), '.timonel'));
  const transport = kubeconfigTransport(loadKubeconfig(values.kubeconfig ?? join(dataDir, 'kubeconfig.yaml')));
  const token = await createBootstrapToken(new RestClient(transport), {
    ttlMs: values.ttl === undefined ? undefined : parseDuration(values.ttl),
    description: values.description,
    groups: values.groups?.split(',').filter(Boolean),
  });
  process.stdout.write(`${token}\n`);
}
