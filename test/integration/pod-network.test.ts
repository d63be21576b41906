// `timonel up` with its local node (root, crun): a busybox pod resolves Services through kube-dns
// (short and full names), fetches from a Service's pods by name, reaches https://kubernetes.default.svc
// with its service account token, and gets the Service environment variables. The node uses the
// default bridge timonel0 and nftables table `timonel`; everything is removed afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { createCA } from '../../src/cli/pki.js';
import { ImageStore } from '../../src/node/images/index.js';
import { detectRuntime, removeCgroup } from '../../src/node/runtime/index.js';
import { spawnServer, type SpawnedServer } from '../helpers/cluster.js';
import { run } from '../helpers/exec.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { buildBusyboxRootfs, haveBusyboxStatic } from '../helpers/rootfs.js';
import { skipUnless } from '../helpers/skip.js';
import { waitForLine } from '../helpers/wait.js';
import { eventually } from './support.js';

const isRoot = process.getuid?.() === 0;
const onPath = (p: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${p}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};
const detection = isRoot ? detectRuntime({ stateDir: tmpdir(), preferred: 'crun' }) : undefined;
const linkExists = (name: string) => {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};
const missing = !isRoot
  ? 'not root (real containers need root)'
  : !detection?.ok
    ? `crun: ${detection && !detection.ok ? detection.reason : ''}`
    : !haveBusyboxStatic()
      ? 'busybox-static'
      : !onPath('umoci') || !onPath('nft')
        ? 'umoci and nft'
        : !onPath('gcc') || !existsSync('/usr/include/openssl/ssl.h')
          ? 'gcc and libssl-dev (the static test client)'
        : !kubectlPath('1.33')
          ? 'kubectl 1.33 (scripts/setup.sh installs it)'
          : linkExists('timonel0')
            ? 'bridge timonel0 exists: another `timonel up` owns the local node network'
            : '';

const NS = 'podnet';
/** the web pod's NodePort Service, reached from the client pod at its node's address */
const NODE_PORT = 31080;
/** the pool of `--load-balancer-ips` (TEST-NET-2: no traffic is sent to it, the test reads status and rules) */
const LB_IP = '198.51.100.7';
const IMAGE = 'timonel.test/podnet/busybox:1';

async function must(file: string, args: string[]): Promise<string> {
  const r = await run(file, args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

// A static client for the pod: busybox-static's wget resolves names through glibc NSS, which crashes
// without shared libraries; this one resolves through resolv.conf alone and verifies TLS with a CA.
const KGET_C = String.raw`/* kget URL [CAFILE [TOKENFILE]]: GET over http or https (CA verified, host name checked), the host resolved
   through resolv.conf (search list, ndots) with res_search, so a static binary needs no NSS. Prints the body. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int resolve(const char *host, struct in_addr *out) {
  if (inet_pton(AF_INET, host, out) == 1) return 0;
  unsigned char answer[4096];
  res_init();
  int len = res_search(host, ns_c_in, ns_t_a, answer, sizeof answer);
  if (len < 0) return -1;
  ns_msg msg;
  if (ns_initparse(answer, len, &msg) < 0) return -1;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) == 0 && ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
      memcpy(out, ns_rr_rdata(rr), 4);
      return 0;
    }
  }
  return -1;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  static char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = 0;
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: kget URL [CAFILE [TOKENFILE]]\n"); return 2; }
  const char *url = argv[1];
  int tls = strncmp(url, "https://", 8) == 0;
  const char *rest = url + (tls ? 8 : 7);
  char host[256] = {0}, path[1024] = "/";
  int port = tls ? 443 : 80;
  const char *slash = strchr(rest, '/');
  size_t hl = slash ? (size_t)(slash - rest) : strlen(rest);
  if (hl >= sizeof host) return 2;
  memcpy(host, rest, hl);
  if (slash) snprintf(path, sizeof path, "%s", slash);
  char *colon = strchr(host, ':');
  if (colon) { *colon = 0; port = atoi(colon + 1); }
  struct in_addr addr;
  if (resolve(host, &addr) != 0) { fprintf(stderr, "kget: cannot resolve %s\n", host); return 3; }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = addr};
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("kget: connect"); return 4; }
  char req[10240];
  const char *token = argc > 3 ? slurp(argv[3]) : NULL;
  char auth[9000] = "";
  if (token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n%sConnection: close\r\n\r\n", path, host, auth);
  SSL *ssl = NULL;
  if (tls) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (argc < 3 || SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1) { fprintf(stderr, "kget: no CA\n"); return 5; }
    ssl = SSL_new(ctx);
    SSL_set_tlsext_host_name(ssl, host);
    SSL_set1_host(ssl, host);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) { fprintf(stderr, "kget: TLS: "); ERR_print_errors_fp(stderr); fprintf(stderr, "verify result %ld\n", SSL_get_verify_result(ssl)); return 6; }
    SSL_write(ssl, req, n);
  } else if (write(fd, req, n) != n) return 4;
  static char resp[1 << 20];
  size_t got = 0;
  for (;;) {
    int r = ssl ? SSL_read(ssl, resp + got, sizeof resp - 1 - got) : (int)read(fd, resp + got, sizeof resp - 1 - got);
    if (r <= 0) break;
    got += r;
  }
  resp[got] = 0;
  char *body = strstr(resp, "\r\n\r\n");
  int status = 0;
  sscanf(resp, "HTTP/%*s %d", &status);
  fputs(body ? body + 4 : "", stdout);
  return status >= 200 && status < 300 ? 0 : 7;
}
`;

/** An image of busybox (every applet) plus /bin/kget, built with umoci. */
async function buildImage(work: string): Promise<string> {
  const root = buildBusyboxRootfs(join(work, 'rootfs'));
  writeFileSync(join(work, 'kget.c'), KGET_C);
  const cc = await run('gcc', ['-static', '-O2', '-o', join(root, 'bin', 'kget'), join(work, 'kget.c'), '-lssl', '-lcrypto', '-lresolv'], { timeoutMs: 120_000 });
  if (cc.code !== 0) throw new Error(`building kget: ${cc.stderr}`);
  // a CA that did not sign the API server's certificate
  writeFileSync(join(root, 'etc', 'other-ca.crt'), (await createCA('not-the-cluster-ca')).certPem);
  const layout = join(work, 'oci');
  await must('umoci', ['init', '--layout', layout]);
  await must('umoci', ['new', '--image', `${layout}:1`]);
  await must('umoci', ['insert', '--image', `${layout}:1`, root, '/']);
  await must('umoci', ['config', '--image', `${layout}:1`, '--config.cmd', '/bin/sh', '--config.env', 'PATH=/bin', '--config.workingdir', '/']);
  return layout;
}

// The client's script: each finding on a line of its own, `KEY:value`, so the test reads its log.
const CLIENT_SCRIPT = `
for i in $(seq 1 40); do out=$(kget http://web/ 2>&1) && break; sleep 0.5; done
echo "SHORT:$out"
echo "FQDN:$(kget http://web.${NS}.svc.cluster.local/ 2>&1)"
echo "LOOKUP:$(nslookup web.${NS}.svc.cluster.local 2>&1 | tr '\\n' ' ')"
echo "HEADLESS:$(nslookup web-headless.${NS}.svc.cluster.local 2>&1 | tr '\\n' ' ')"
echo "EXTERNAL:$(nslookup ext.${NS}.svc.cluster.local 2>&1 | tr '\\n' ' ')"
echo "NODEPORT:$(kget http://$HOST_IP:${NODE_PORT}/ 2>&1)"
echo "RESOLV:$(cat /etc/resolv.conf | tr '\\n' ';')"
env | sort | sed 's/^/ENV:/'
SA=/var/run/secrets/kubernetes.io/serviceaccount
echo "CA:$(base64 $SA/ca.crt | tr -d '\\n')"
echo "NAMESPACE:$(cat $SA/namespace)"
echo "API:$(kget https://kubernetes.default.svc/api $SA/ca.crt $SA/token 2>&1 | tr '\\n' ' ')"
echo "APIFQDN:$(kget https://kubernetes.default.svc.cluster.local/version $SA/ca.crt $SA/token 2>&1 | tr '\\n' ' ')"
kget https://kubernetes.default.svc/api $SA/ca.crt >/dev/null 2>&1; echo "ANONRC:$?"
kget https://kubernetes.default.svc/api /etc/other-ca.crt $SA/token >/dev/null 2>&1; echo "WRONGCA:$?"
echo DONE
`;

describe('pods reach cluster DNS and the API server (timonel up with a local node)', skipUnless(missing === '', missing), () => {
  let work = '';
  let dataDir = '';
  let server: SpawnedServer | undefined;
  let clientLog = '';

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'timonel-podnet-'));
    dataDir = join(work, 'data');
    const layout = await buildImage(work);
    await new ImageStore(join(dataDir, 'images')).importOCI(layout, { name: IMAGE });
    server = await spawnServer(['--data-dir', dataDir, '--load-balancer-ips', LB_IP], { localNode: true, readyTimeoutMs: 60_000 });
    await waitForLine(() => server!.output(), /pods resolve names through kube-dns/, 60_000);
  });

  after(async () => {
    if (server) {
      await server.kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=60s']).catch(() => {});
      server.kill('SIGTERM');
      await server.waitExit();
    }
    // `timonel up` leaves containers and rules for its next start: take them down here
    const runtimeRoot = join(dataDir, 'node', 'runtime', 'crun');
    if (existsSync(runtimeRoot)) {
      try {
        const list = JSON.parse(execFileSync('crun', ['--root', runtimeRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') as { id: string }[];
        for (const c of list) execFileSync('crun', ['--root', runtimeRoot, 'delete', '-f', c.id], { stdio: 'pipe' });
      } catch {
        // no containers
      }
    }
    const uids = existsSync(join(dataDir, 'node', 'network', 'sandboxes')) ? readdirSync(join(dataDir, 'node', 'network', 'sandboxes')) : [];
    for (const uid of uids) {
      try {
        execFileSync('ip', ['netns', 'delete', `timonel-${uid}`], { stdio: 'pipe' });
      } catch {
        // gone with its pod
      }
    }
    for (const cmd of [
      ['nft', 'delete', 'table', 'ip', 'timonel'],
      ['ip', 'link', 'delete', 'timonel0', 'type', 'bridge'],
    ]) {
      try {
        execFileSync(cmd[0], cmd.slice(1), { stdio: 'pipe' });
      } catch {
        // not there
      }
    }
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n').reverse()) {
      const mp = line.split(' ')[4];
      if (mp && work && mp.startsWith(work)) {
        try {
          execFileSync('umount', ['-l', mp]);
        } catch {
          // already gone
        }
      }
    }
    removeCgroup('/timonel');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const getJSON = async <T,>(args: string[]): Promise<T> => JSON.parse((await server!.kubectlOk([...args, '-o', 'json'])).stdout) as T;

  test('kube-dns and kubernetes Services have endpoints on the node gateway', async () => {
    const dns = await getJSON<Service>(['get', 'service', '-n', 'kube-system', 'kube-dns']);
    assert.equal(dns.spec?.clusterIP, '10.43.0.10');
    assert.equal(dns.metadata?.labels?.['k8s-app'], 'kube-dns');
    assert.deepEqual(dns.spec?.ports?.map((p) => [p.name, p.port, p.protocol]), [['dns', 53, 'UDP'], ['dns-tcp', 53, 'TCP']]);
    const dnsSlice = await getJSON<EndpointSlice>(['get', 'endpointslice', '-n', 'kube-system', 'kube-dns']);
    assert.deepEqual(dnsSlice.endpoints?.map((e) => e.addresses[0]), ['10.42.0.1']);
    const api = await getJSON<EndpointSlice>(['get', 'endpointslice', 'kubernetes']);
    assert.deepEqual(api.endpoints?.map((e) => e.addresses[0]), ['10.42.0.1']);
    assert.equal(api.ports?.[0]?.port, server!.port);
    const ep = (await server!.kubectlOk(['get', 'endpoints', 'kubernetes', '-o', 'jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}'])).stdout;
    assert.equal(ep, `10.42.0.1:${server!.port}`);
  });

  test('a busybox pod resolves and fetches a Service by name, reaches the API server with its token, and has the Service variables', async () => {
    await server!.kubectlOk(['create', 'namespace', NS]);
    await server!.kubectlOk(['apply', '-n', NS, '-f', '-'], {
      stdin: `
apiVersion: v1
kind: Pod
metadata: { name: web, labels: { app: web } }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: ${IMAGE}
    imagePullPolicy: Never
    command: [sh, -c, 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www']
    ports: [{ containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: web-headless }
spec:
  clusterIP: None
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: ext }
spec:
  type: ExternalName
  externalName: web.${NS}.svc.cluster.local
---
apiVersion: v1
kind: Service
metadata: { name: web-np }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080, nodePort: ${NODE_PORT} }]
---
apiVersion: v1
kind: Service
metadata: { name: web-lb }
spec:
  type: LoadBalancer
  selector: { app: web }
  ports: [{ name: http, port: 8081, targetPort: 8080 }]
`,
    });
    await eventually('the web pod is Running', async () => (await getJSON<Pod>(['get', 'pod', '-n', NS, 'web'])).status?.phase === 'Running', 60_000);
    const webIP = (await getJSON<Service>(['get', 'service', '-n', NS, 'web'])).spec?.clusterIP ?? '';
    await server!.kubectlOk(['apply', '-n', NS, '-f', '-'], {
      stdin: `
apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: ${IMAGE}
    imagePullPolicy: Never
    command: [sh, -c, ${JSON.stringify(CLIENT_SCRIPT)}]
    env: [{ name: HOST_IP, valueFrom: { fieldRef: { fieldPath: status.hostIP } } }]
`,
    });
    await eventually(
      'the client pod finishes',
      async () => ['Succeeded', 'Failed'].includes((await getJSON<Pod>(['get', 'pod', '-n', NS, 'client'])).status?.phase ?? ''),
      90_000,
    );
    clientLog = (await server!.kubectlOk(['logs', '-n', NS, 'client'])).stdout;
    const field = (key: string) => clientLog.split('\n').find((l) => l.startsWith(`${key}:`))?.slice(key.length + 1) ?? '';
    const env = new Map(clientLog.split('\n').filter((l) => l.startsWith('ENV:')).map((l) => [l.slice(4, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.match(clientLog, /^DONE$/m, clientLog);

    assert.equal(field('RESOLV'), `nameserver 10.43.0.10;search ${NS}.svc.cluster.local svc.cluster.local cluster.local;options ndots:5;`, clientLog);
    assert.equal(field('SHORT'), 'hello-from-web', clientLog);
    assert.equal(field('FQDN'), 'hello-from-web', clientLog);
    assert.match(field('LOOKUP'), new RegExp(`Address:? ${webIP.replace(/\./g, '\\.')}`), clientLog);
    // from inside the pod too: a headless Service resolves to the pod, an ExternalName to its CNAME, a NodePort
    // answers on the node's address
    const podIP = (await getJSON<Pod>(['get', 'pod', '-n', NS, 'web'])).status?.podIP ?? '';
    assert.match(field('HEADLESS'), new RegExp(`Address:? ${podIP.replace(/\./g, '\\.')}`), clientLog);
    assert.match(field('EXTERNAL'), new RegExp(`ext\\.${NS}\\.svc\\.cluster\\.local\\s+canonical name = web\\.${NS}\\.svc\\.cluster\\.local`), clientLog);
    assert.equal(field('NODEPORT'), 'hello-from-web', clientLog);

    assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
    assert.equal(env.get('KUBERNETES_SERVICE_PORT'), '443');
    assert.equal(env.get('KUBERNETES_SERVICE_PORT_HTTPS'), '443');
    assert.equal(env.get('KUBERNETES_PORT'), 'tcp://10.43.0.1:443');
    assert.equal(env.get('WEB_SERVICE_HOST'), webIP);
    assert.equal(env.get('WEB_SERVICE_PORT_HTTP'), '80');
    assert.equal(env.get('WEB_PORT_80_TCP'), `tcp://${webIP}:80`);
    assert.equal(env.get('WEB_PORT_80_TCP_ADDR'), webIP);

    // TLS verified with the pod's CA as kubernetes.default.svc, and the token authenticates; without it
    // the request is refused, and with a wrong CA the handshake fails
    assert.match(field('API'), /"kind":\s*"APIVersions"/, clientLog);
    assert.match(field('APIFQDN'), /"gitVersion"/, clientLog);
    assert.notEqual(field('ANONRC'), '0', clientLog);
    assert.equal(field('WRONGCA'), '6', clientLog);
    assert.equal(field('NAMESPACE'), NS);
  });

  test('the pod’s CA verifies the API server as kubernetes.default.svc through the ClusterIP', async () => {
    const line = clientLog.split('\n').find((l) => l.startsWith('CA:'));
    assert.ok(line, `no CA line in the client log:\n${clientLog}`);
    const ca = Buffer.from(line.slice(3), 'base64').toString('utf8');
    assert.equal(ca, readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8'));
    for (const servername of ['kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'kubernetes']) {
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const s = connect({ host: '10.43.0.1', port: 443, servername, ca, timeout: 5000 }, () => {
          resolve(s.authorized);
          s.destroy();
        });
        s.on('error', reject);
        s.on('timeout', () => reject(new Error('timeout connecting to 10.43.0.1:443')));
      });
      assert.equal(authorized, true, servername);
    }
  });

  test('a LoadBalancer Service gets its address from --load-balancer-ips, in its status and in the rules', async () => {
    let ingress = '';
    await eventually('the load balancer address', async () => {
      ingress = (await server!.kubectlOk(['get', 'service', '-n', NS, 'web-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[*].ip}'])).stdout;
      return ingress !== '';
    });
    assert.equal(ingress, LB_IP);
    const rules = execFileSync('nft', ['list', 'table', 'ip', 'timonel'], { encoding: 'utf8' });
    assert.ok(
      rules.split('\n').some((l) => l.includes(LB_IP) && l.includes('8081')),
      `no rule for ${LB_IP} port 8081 in:\n${rules}`,
    );
  });

  test('timonel down refuses while up runs; after up stopped, it stops the pods’ containers and removes their network, the bridge and the table', async () => {
    const runtimeRoot = join(dataDir, 'node', 'runtime', 'crun');
    const running = () =>
      (JSON.parse(execFileSync('crun', ['--root', runtimeRoot, 'list', '--format', 'json'], { encoding: 'utf8' }) || '[]') as { id: string; status: string }[]).filter(
        (c) => c.status === 'running',
      );
    const down = () => run(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src/cli/main.ts'), 'down', '--data-dir', dataDir], { timeoutMs: 120_000 });
    const refused = await down();
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /timonel up is running on .*: stop it first/);

    // the web pod runs; up stops and leaves it running, with its network and the rules, for its next start
    assert.ok(running().length >= 1, 'a container runs');
    server!.kill('SIGTERM');
    await server!.waitExit();
    server = undefined;
    const left = running();
    assert.ok(left.length >= 1, 'up leaves the containers running');
    const netns = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('timonel-'));
    assert.ok(netns().length >= 1);
    assert.ok(linkExists('timonel0'));
    assert.match(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }), /^table ip timonel$/m);

    const r = await down();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /the local node's containers stopped; its pod network and service rules removed/);
    assert.deepEqual(running(), []);
    assert.deepEqual(netns(), []);
    assert.ok(!linkExists('timonel0'), 'the bridge is gone');
    assert.doesNotMatch(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }), /^table ip timonel$/m);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dataDir));
    assert.deepEqual(mounts, []);
  });
});
