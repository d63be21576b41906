#!/usr/bin/env node
// The `timonel` command.
import { availableParallelism, homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
// Each command loads its own modules: `timonel version` or `--help` does not load the API server.

const USAGE = `Usage: timonel <command> [flags]

Commands:
  up        start a cluster in the foreground (API server on embedded SQLite)
  down      after up stopped: stop the local node's containers, remove their network and the service rules
  image     import, list and remove node images (timonel image --help)
  version   print the version
  kubeconfig  print a kubeconfig with a client certificate for a new user
  token     create a bootstrap token for joining nodes (timonel token --help)
  secrets   rotate the key of Secrets encrypted at rest (timonel secrets rotate)

Flags for kubeconfig:
  --user NAME        the user name (certificate CN)
  --group G          a group of the user (certificate O); repeatable
  --data-dir DIR     the cluster's data dir (default ~/.timonel)
  --server URL       API server URL (default: the one in DIR/kubeconfig.yaml)
  --out FILE         write the kubeconfig to FILE (mode 0600) instead of stdout

Flags for up:
  --data-dir DIR     where state, certificates and kubeconfig live (default ~/.timonel)
  --port N           API server port (default 6443; 0 = any free port)
  --bind ADDR        address to listen on (default 127.0.0.1)
  --storage KIND     sqlite (default) or memory
  --insecure-http    plain HTTP without authentication (tests only)
  --authorization-mode MODE  RBAC (default) or AlwaysAllow: HTTPS, but anonymous requests may do anything
                     (benchmarks and tests only)
  --max-requests-inflight N, --max-mutating-requests-inflight N
                     reads / writes served at once before 429 (default 400 / 200; 0 = no limit;
                     system:masters and built-in components are exempt and not counted)
  --per-user-qps R, --per-user-burst N
                     rate limit per user name (token bucket; default off; burst defaults to 2×R);
                     admins (system:masters) and built-in components are exempt
  --simulated-nodes N  register N simulated nodes (pods on them run without containers)
  --simulated-node-capacity R=Q[,R=Q...]
                     their capacity (default cpu=4,memory=16Gi,pods=110), e.g. cpu=8,nvidia.com/gpu=1
  --simulated-node-labels K=V[,K=V...]   labels on each of them
  --simulated-node-taints K[=V]:EFFECT[,...]   taints on each of them (NoSchedule, PreferNoSchedule, NoExecute)
  --simulated-startup-delay D   how long their pods stay ContainerCreating (default 0; e.g. 2s, 500ms)
  --simulated-job-duration D    how long a Job's pod runs before it succeeds (default 1s)
  --component-thread, --no-component-thread
                     run the controllers, scheduler and simulated nodes on a second thread (a second
                     core; 20-30 MB more memory). Default: on with 1,000 or more simulated nodes and 2+ cores
  --dns-port N       cluster DNS port on the bind address (default: any free port, printed at start)
  --dns-ttl S        TTL of its answers in seconds (default 5, 0 to 3600)
  --service-cidr CIDR  IPv4 range of ClusterIPs (default 10.43.0.0/16, /12 to /28; kubernetes gets the first
                     address, kube-dns the tenth); a data dir keeps the range it was made with
  --load-balancer-ips IP[,IP...]
                     addresses \`type: LoadBalancer\` Services get, on this node (default: the node's own address)
  --ingress-http-port N, --ingress-https-port N
                     ports of the built-in Ingress controller (default 80 and 443; 0 = any free port)
  --ingress-address ADDR  its listen address (default: the --bind address)
  --no-ingress       do not run the built-in Ingress controller
  --no-local-node    do not run pods on this machine (by default, as root with crun or runc, it is a node)
  --audit-log        write the audit log to <data-dir>/audit/audit.log (rotated)
  --audit-policy-file FILE  an audit.k8s.io/v1 Policy for it (implies --audit-log)
  --encryption-provider-config FILE
                     EncryptionConfiguration for data at rest (default: <data-dir>/encryption-config.yaml,
                     generated on first start: Secrets encrypted with AES-GCM)

  secrets rotate [--data-dir DIR]   new encryption key; re-encrypt stored Secrets (server stopped)

  down [--data-dir DIR]   \`timonel up\` leaves the containers of running pods, their network and the
                     nftables rules on the machine when it stops, for its next start to take over; down
                     (with up stopped) stops those containers and removes the pods' network namespaces and
                     mounts, the bridge timonel0 and the table ip timonel. Objects stay in the data dir:
                     the next up runs the pods again.
`;

/** From this many simulated nodes on, `up` runs the components on a thread of their own by default. */
const COMPONENT_THREAD_NODES = 1000;

function portFlag(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag}: not a port number: ${v}`);
  return n;
}

/** DNS TTLs are 32-bit; CoreDNS's kubernetes plugin takes 0 to 3600 s */
function ttlFlag(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 3600) throw new Error(`--dns-ttl: seconds from 0 to 3600, not ${JSON.stringify(v)}`);
  return n;
}

function countFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag}: not a count: ${v}`);
  return n;
}

async function up(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      bind: { type: 'string' },
      storage: { type: 'string' },
      'insecure-http': { type: 'boolean' },
      'authorization-mode': { type: 'string' },
      'max-requests-inflight': { type: 'string' },
      'max-mutating-requests-inflight': { type: 'string' },
      'per-user-qps': { type: 'string' },
      'per-user-burst': { type: 'string' },
      'simulated-nodes': { type: 'string' },
      'simulated-node-capacity': { type: 'string' },
      'simulated-node-labels': { type: 'string' },
      'simulated-node-taints': { type: 'string' },
      'simulated-startup-delay': { type: 'string' },
      'simulated-job-duration': { type: 'string' },
      'component-thread': { type: 'boolean' },
      'no-component-thread': { type: 'boolean' },
      'encryption-provider-config': { type: 'string' },
      'audit-policy-file': { type: 'string' },
      'audit-log': { type: 'boolean' },
      'dns-port': { type: 'string' },
      'service-cidr': { type: 'string' },
      'dns-ttl': { type: 'string' },
      'load-balancer-ips': { type: 'string' },
      'ingress-http-port': { type: 'string' },
      'ingress-https-port': { type: 'string' },
      'ingress-address': { type: 'string' },
      'no-ingress': { type: 'boolean' },
      'no-local-node': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const t0 = performance.now();
  const dataDir = resolve(values['data-dir'] ?? join(homedir(), '.timonel'));
  const port = values.port !== undefined ? Number(values.port) : 6443;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${values.port}`);
  const storage = (values.storage ?? 'sqlite') as 'sqlite' | 'memory';
  if (storage !== 'sqlite' && storage !== 'memory') throw new Error(`--storage: sqlite or memory, not ${values.storage}`);
  const perUserQPS = values['per-user-qps'] !== undefined ? Number(values['per-user-qps']) : 0;
  if (!Number.isFinite(perUserQPS) || perUserQPS < 0) throw new Error(`--per-user-qps: not a rate: ${values['per-user-qps']}`);
  const authorizationMode = (values['authorization-mode'] ?? 'RBAC') as 'RBAC' | 'AlwaysAllow';
  if (authorizationMode !== 'RBAC' && authorizationMode !== 'AlwaysAllow') throw new Error(`--authorization-mode: RBAC or AlwaysAllow, not ${values['authorization-mode']}`);
  const simulatedNodes = values['simulated-nodes'] !== undefined ? Number(values['simulated-nodes']) : 0;
  if (!Number.isInteger(simulatedNodes) || simulatedNodes < 0) throw new Error(`--simulated-nodes: not a count: ${values['simulated-nodes']}`);
  if (values['component-thread'] && values['no-component-thread']) throw new Error('--component-thread and --no-component-thread: one or the other');
  const { simulatedNodeFlags } = await import('./simulated-flags.js');
  const simulatedNodeOptions = simulatedNodeFlags(values);
  const loadBalancerIPs = values['load-balancer-ips']?.split(',').map((ip) => ip.trim());
  const { isIPv4 } = await import('node:net');
  for (const ip of loadBalancerIPs ?? []) if (!isIPv4(ip)) throw new Error(`--load-balancer-ips: not an IPv4 address: ${JSON.stringify(ip)}`);
  const componentThread = values['component-thread'] || (!values['no-component-thread'] && simulatedNodes >= COMPONENT_THREAD_NODES && availableParallelism() >= 2);
  const { startCluster } = await import('./cluster.js');
  const cluster = await startCluster({
    simulatedNodes,
    simulatedNodeOptions,
    componentThread,
    serviceCIDR: values['service-cidr'],
    loadBalancerIPs,
    dataDir,
    port,
    bind: values.bind ?? '127.0.0.1',
    storage,
    insecureHttp: values['insecure-http'],
    authorizationMode,
    flowControl: {
      maxRequestsInFlight: countFlag('--max-requests-inflight', values['max-requests-inflight']),
      maxMutatingRequestsInFlight: countFlag('--max-mutating-requests-inflight', values['max-mutating-requests-inflight']),
      perUser: perUserQPS > 0 ? { qps: perUserQPS, burst: countFlag('--per-user-burst', values['per-user-burst']) ?? Math.max(1, Math.ceil(2 * perUserQPS)) } : undefined,
    },
    localNode: !values['no-local-node'],
    ingress: values['no-ingress']
      ? undefined
      : {
          httpPort: portFlag('--ingress-http-port', values['ingress-http-port'] ?? '80'),
          httpsPort: portFlag('--ingress-https-port', values['ingress-https-port'] ?? '443'),
          address: values['ingress-address'],
        },
    dnsPort: values['dns-port'] !== undefined ? portFlag('--dns-port', values['dns-port']) : undefined,
    dnsTTL: values['dns-ttl'] !== undefined ? ttlFlag(values['dns-ttl']) : undefined,
    audit: values['audit-log'] || values['audit-policy-file'] !== undefined,
    auditPolicyFile: values['audit-policy-file'] ? resolve(values['audit-policy-file']) : undefined,
    encryptionConfigFile: values['encryption-provider-config'] ? resolve(values['encryption-provider-config']) : undefined,
    log: (l) => process.stderr.write(l + '\n'),
  });
  const ms = Math.round(performance.now());
  void t0;
  process.stdout.write(`Timonel API server ready at ${cluster.url} in ${ms} ms — export KUBECONFIG=${cluster.kubeconfigPath}\n`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${sig}: shutting down\n`);
    cluster.close().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`shutdown: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/**
 * `timonel down`: starts what `up` runs on the local node (no controllers, DNS, ingress or listener for clients:
 * the API on an ephemeral loopback port), which adopts the containers `up` left, then stops it with teardown.
 */
async function down(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const dataDir = resolve(values['data-dir'] ?? join(homedir(), '.timonel'));
  const { existsSync } = await import('node:fs');
  if (!existsSync(join(dataDir, 'pki'))) throw new Error(`${dataDir} holds no cluster`);
  const { startCluster } = await import('./cluster.js');
  // why there is no node, and what goes wrong while stopping, are worth showing; the rest is start-up chatter
  const log = (l: string) => {
    if (/^no node on this machine|^no service proxy|error|fail|cannot|could not/i.test(l)) process.stderr.write(`${l}\n`);
  };
  let cluster;
  try {
    cluster = await startCluster({ dataDir, port: 0, bind: '127.0.0.1', controllers: false, dnsPort: false, localNode: true, log });
  } catch (e) {
    const m = (e as Error).message;
    if (/database is locked|SQLITE_BUSY/.test(m)) throw new Error(`timonel up is running on ${dataDir}: stop it first (Ctrl-C), then run timonel down`);
    throw e;
  }
  await cluster.close({ teardown: true });
  const ran = cluster.localNodeName() !== undefined;
  process.stdout.write(
    ran ? `timonel down: ${dataDir}: the local node's containers stopped; its pod network and service rules removed\n` : `timonel down: ${dataDir}: no local node here, nothing to stop\n`,
  );
}

async function kubeconfig(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      user: { type: 'string' },
      group: { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      server: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (!values.user) throw new Error('kubeconfig: --user NAME is required');
  const { userKubeconfig } = await import('./user-kubeconfig.js');
  const yaml = await userKubeconfig({ dataDir: resolve(values['data-dir'] ?? join(homedir(), '.timonel')), user: values.user, groups: values.group ?? [], server: values.server });
  if (values.out) (await import('./kubeconfig.js')).writeKubeconfig(values.out, yaml);
  else process.stdout.write(yaml);
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'up':
      return up(rest);
    case 'down':
      return down(rest);
    case 'secrets':
      return (await import('./encryption.js')).runSecretsCommand(rest, join(homedir(), '.timonel'));
    case 'image':
      process.exitCode = await (await import('./image.js')).runImageCommand(rest, { dataDir: join(homedir(), '.timonel') });
      return;
    case 'kubeconfig':
      return kubeconfig(rest);
    case 'token':
      return (await import('./token.js')).runTokenCommand(rest);
    case 'version':
    case '--version':
      process.stdout.write('timonel 0.1.0 (Kubernetes API v1.33)\n');
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`timonel: unknown command "${cmd}"\n\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((e) => {
  process.stderr.write(`timonel: ${(e as Error).message}\n`);
  process.exit(1);
});
