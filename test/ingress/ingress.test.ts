// The built-in Ingress controller against a real API server: Services and EndpointSlices point at HTTP
// servers this test runs on 127.0.0.1, requests go through the controller's listeners with real curl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Event, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';
import { createCA, issueCert, type KeyPair } from '../../src/cli/pki.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport, type Transport } from '../../src/client/transport.js';
import { ensureIngressClass, INGRESSCLASSES, INGRESSES, startIngressController, thinSecret, type RunningIngressController } from '../../src/ingress/controller.js';
import { buildRouteTable, matchRoute, prefixMatches, rewritePath } from '../../src/ingress/routing.js';
import { startTestCluster, tempDataDir, type TestCluster } from '../helpers/cluster.js';

const NS = 'default';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 30));
  }
}

interface Seen {
  backend: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  bodyLength: number;
}

/** An HTTP server that answers with what it received; Upgrade requests get a WebSocket handshake and an echo. */
async function startBackend(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      const body = JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers, bodyLength: n });
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Backend': name });
      res.end(body);
    });
  });
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Backend: ${name}\r\n\r\n`);
    if (head.length) socket.write(head);
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function curl(args: string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-i', '--max-time', '5', ...args], { maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl ${args.join(' ')}: ${stderr || err.message}`));
      let rest = stdout;
      for (;;) {
        const end = rest.indexOf('\r\n\r\n');
        const headBlock = end < 0 ? rest : rest.slice(0, end);
        const body = end < 0 ? '' : rest.slice(end + 4);
        const [statusLine, ...lines] = headBlock.split('\r\n');
        const status = Number(statusLine.split(' ')[1]);
        if (status >= 100 && status < 200 && status !== 101) {
          rest = body;
          continue;
        }
        const headers: Record<string, string> = {};
        for (const l of lines) {
          const i = l.indexOf(':');
          if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        return resolve({ status, headers, body });
      }
    });
  });
}

const seen = (r: CurlResult): Seen => JSON.parse(r.body) as Seen;

function ingress(name: string, spec: Ingress['spec'], annotations?: Record<string, string>): Ingress {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: NS, annotations }, spec };
}

const svcBackend = (name: string, port: number | string = 80) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });

describe('ingress controller', () => {
  let cluster: TestCluster;
  let transport: Transport;
  let rest: RestClient;
  let ctl: RunningIngressController;
  let http: string;
  let dir: string;
  let ca: KeyPair;
  const logs: string[] = [];
  const backends = new Map<string, { server: Server; port: number }>();

  const ingresses = () => rest.resource<Ingress>(INGRESSES, NS);
  const secrets = () => rest.resource<Secret>(RESOURCES.secrets, NS);

  async function service(name: string, endpointPorts: number[]): Promise<void> {
    await rest.resource<Service>(RESOURCES.services, NS).create({ metadata: { name }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    if (!endpointPorts.length) return;
    // one slice per endpoint, as the backends differ by port only; an FQDN slice because validation
    // (as upstream) refuses loopback IPs: `*.localhost` names are loopback (RFC 6761)
    for (const [i, port] of endpointPorts.entries()) {
      await rest.resource<EndpointSlice>(RESOURCES.endpointslices, NS).create({
        metadata: { name: `${name}-${i}`, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'FQDN',
        endpoints: [{ addresses: ['backend.localhost'], conditions: { ready: true } }],
        ports: [{ name: 'http', port, protocol: 'TCP' }],
      });
    }
  }

  const get = (host: string, path: string, extra: string[] = []) => curl(['-H', `Host: ${host}`, ...extra, `${http}${path}`]);
  const until = (what: string, host: string, path: string, ok: (r: CurlResult) => boolean, extra: string[] = []) =>
    waitFor(what, async () => {
      const r = await get(host, path, extra);
      return ok(r) ? r : undefined;
    });
  const https = (host: string, path: string, cacert: string, extra: string[] = []) =>
    curl(['--cacert', cacert, '--resolve', `${host}:${ctl.httpsPort}:127.0.0.1`, ...extra, `https://${host}:${ctl.httpsPort}${path}`]);

  async function tlsSecret(name: string, pair: { certPem: string; keyPem: string }): Promise<void> {
    const data = { 'tls.crt': Buffer.from(pair.certPem).toString('base64'), 'tls.key': Buffer.from(pair.keyPem).toString('base64') };
    try {
      const cur = await secrets().get(name);
      await secrets().update({ ...cur, data });
    } catch {
      await secrets().create({ metadata: { name }, type: 'kubernetes.io/tls', data });
    }
  }

  before(async () => {
    cluster = await startTestCluster({ insecureHttp: true, storage: 'memory', controllers: false });
    transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'system:serviceaccount:kube-system:ingress', groups: ['system:masters'] });
    rest = new RestClient(transport);
    dir = tempDataDir('timonel-ingress-');
    ca = await createCA('ingress-test-ca');
    writeFileSync(join(dir, 'ca.crt'), ca.certPem);
    for (const n of ['a', 'b', 'c', 'd', 'e']) backends.set(n, await startBackend(n));
    await service('svc-a', [backends.get('a')!.port]);
    await service('svc-b', [backends.get('b')!.port]);
    await service('svc-c', [backends.get('c')!.port]);
    await service('svc-de', [backends.get('d')!.port, backends.get('e')!.port]);
    await service('svc-empty', []);
    await ensureIngressClass(rest);
    ctl = await startIngressController(transport, { httpPort: 0, httpsPort: 0, address: '127.0.0.1', statusAddress: '127.0.0.1', log: (l) => logs.push(l) });
    assert.ok(ctl.httpPort && ctl.httpsPort, `listeners: ${logs.join('\n')}`);
    http = `http://127.0.0.1:${ctl.httpPort}`;
  });

  after(async () => {
    await ctl?.stop();
    transport?.close();
    for (const b of backends.values()) b.server.closeAllConnections(), b.server.close();
    await cluster?.close();
  });

  it('creates the default IngressClass timonel', async () => {
    const ic = await rest.resource<IngressClass>(INGRESSCLASSES).get('timonel');
    assert.equal(ic.spec?.controller, 'timonel.io/ingress');
    assert.equal(ic.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
    await ensureIngressClass(rest); // idempotent
  });

  it('routes by host and path, with X-Forwarded-* headers', async () => {
    await ingresses().create(
      ingress('web', {
        rules: [
          {
            host: 'web.test',
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: svcBackend('svc-a') },
                { path: '/api', pathType: 'Prefix', backend: svcBackend('svc-b', 'http') },
                { path: '/api/v2', pathType: 'Prefix', backend: svcBackend('svc-c') },
              ],
            },
          },
        ],
      }),
    );
    const r = await until('web.test routed', 'web.test', '/api/x?q=1', (r) => r.status === 200);
    const s = seen(r);
    assert.equal(s.backend, 'b');
    assert.equal(s.url, '/api/x?q=1');
    assert.equal(s.headers.host, 'web.test');
    assert.equal(s.headers['x-forwarded-host'], 'web.test');
    assert.equal(s.headers['x-forwarded-proto'], 'http');
    assert.equal(s.headers['x-forwarded-port'], String(ctl.httpPort));
    assert.equal(s.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(s.headers['x-real-ip'], '127.0.0.1');
    assert.match(s.headers['x-request-id'], /^[0-9a-f]{32}$/);
    assert.equal(seen(await get('web.test', '/api')).backend, 'b');
    assert.equal(seen(await get('web.test', '/apix')).backend, 'a', 'Prefix matches whole path elements');
    assert.equal(seen(await get('web.test', '/api/v2/z')).backend, 'c', 'the longest prefix wins');
    assert.equal(seen(await get('web.test', '/')).backend, 'a');
    // the same through --resolve, as a browser would send it
    const viaResolve = await curl(['--resolve', `web.test:${ctl.httpPort}:127.0.0.1`, `http://web.test:${ctl.httpPort}/api`]);
    assert.equal(seen(viaResolve).backend, 'b');
    assert.equal(seen(viaResolve).headers.host, `web.test:${ctl.httpPort}`);
    // an unknown host has no rule and no default backend
    const nf = await get('nothing.test', '/');
    assert.equal(nf.status, 404);
    assert.match(nf.body, /404 Not Found/);
  });

  it('gives Exact precedence over Prefix for the same path', async () => {
    await ingresses().create(
      ingress('exact', {
        rules: [
          {
            host: 'exact.test',
            http: {
              paths: [
                { path: '/p', pathType: 'Prefix', backend: svcBackend('svc-a') },
                { path: '/p', pathType: 'Exact', backend: svcBackend('svc-b') },
                { path: '/only', pathType: 'Exact', backend: svcBackend('svc-c') },
              ],
            },
          },
        ],
      }),
    );
    await until('exact.test routed', 'exact.test', '/p', (r) => r.status === 200);
    assert.equal(seen(await get('exact.test', '/p')).backend, 'b');
    assert.equal(seen(await get('exact.test', '/p/q')).backend, 'a');
    assert.equal(seen(await get('exact.test', '/only')).backend, 'c');
    assert.equal((await get('exact.test', '/only/more')).status, 404, 'Exact does not match below it');
  });

  it('matches a wildcard host on exactly one label', async () => {
    await ingresses().create(ingress('wild', { rules: [{ host: '*.wild.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svcBackend('svc-c') }] } }] }));
    const r = await until('wildcard routed', 'x.wild.test', '/', (r) => r.status === 200);
    assert.equal(seen(r).backend, 'c');
    assert.equal((await get('a.b.wild.test', '/')).status, 404);
    assert.equal((await get('wild.test', '/')).status, 404);
  });

  it('sends unmatched requests to a defaultBackend', async () => {
    await ingresses().create(ingress('fallback', { defaultBackend: svcBackend('svc-c') }));
    const r = await until('default backend', 'unknown.test', '/anything', (r) => r.status === 200);
    assert.equal(seen(r).backend, 'c');
    assert.equal(seen(r).url, '/anything');
    await ingresses().delete('fallback');
    await until('default backend gone', 'unknown.test', '/anything', (r) => r.status === 404);
  });

  it('ignores Ingresses of another IngressClass', async () => {
    await rest.resource<IngressClass>(INGRESSCLASSES).create({ metadata: { name: 'other' }, spec: { controller: 'example.com/other' } });
    await ingresses().create(ingress('foreign', { ingressClassName: 'other', rules: [{ host: 'foreign.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svcBackend('svc-a') }] } }] }));
    await ingresses().create(
      ingress('nginx-class', { rules: [{ host: 'nginx.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svcBackend('svc-a') }] } }] }, { 'kubernetes.io/ingress.class': 'nginx' }),
    );
    await until('nginx class alias served', 'nginx.test', '/', (r) => r.status === 200);
    await ctl.synced();
    assert.equal((await get('foreign.test', '/')).status, 404);
  });

  it('serves TLS by SNI, reloads a changed certificate and redirects HTTP with 308', async () => {
    const one = await issueCert(ca, { commonName: 'one.tls.test', dnsNames: ['one.tls.test'], server: true });
    const two = await issueCert(ca, { commonName: 'two.tls.test', dnsNames: ['two.tls.test'], server: true });
    await tlsSecret('one-tls', one);
    await tlsSecret('two-tls', two);
    const rules = (host: string) => ({ host, http: { paths: [{ path: '/', pathType: 'Prefix' as const, backend: svcBackend('svc-b') }] } });
    await ingresses().create(
      ingress('tls', {
        tls: [
          { hosts: ['one.tls.test'], secretName: 'one-tls' },
          { hosts: ['two.tls.test'], secretName: 'two-tls' },
        ],
        rules: [rules('one.tls.test'), rules('two.tls.test')],
      }),
    );
    const cacert = join(dir, 'ca.crt');
    const r1 = await waitFor('one.tls.test over TLS', async () => {
      const r = await https('one.tls.test', '/x', cacert);
      return r.status === 200 ? r : undefined;
    });
    assert.equal(seen(r1).backend, 'b');
    assert.equal(seen(r1).headers['x-forwarded-proto'], 'https');
    assert.equal(seen(r1).headers['x-forwarded-port'], String(ctl.httpsPort));
    // curl verified the chain and the name: each host got its own certificate
    assert.equal((await https('two.tls.test', '/', cacert)).status, 200);

    const redirect = await get('one.tls.test', '/path?q=1');
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.location, `https://one.tls.test:${ctl.httpsPort}/path?q=1`);

    // a new certificate from another CA replaces the old one without a restart
    const ca2 = await createCA('ingress-test-ca-2');
    writeFileSync(join(dir, 'ca2.crt'), ca2.certPem);
    await tlsSecret('two-tls', await issueCert(ca2, { commonName: 'two.tls.test', dnsNames: ['two.tls.test'], server: true }));
    await waitFor('two.tls.test with the new certificate', async () => {
      const r = await https('two.tls.test', '/', join(dir, 'ca2.crt'));
      return r.status === 200 ? r : undefined;
    });
    await assert.rejects(https('two.tls.test', '/', cacert), /certificate/i);
  });

  it('does not redirect when ssl-redirect is "false"', async () => {
    const three = await issueCert(ca, { commonName: 'three.tls.test', dnsNames: ['three.tls.test'], server: true });
    await tlsSecret('three-tls', three);
    await ingresses().create(
      ingress(
        'tls-noredirect',
        { tls: [{ hosts: ['three.tls.test'], secretName: 'three-tls' }], rules: [{ host: 'three.tls.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svcBackend('svc-a') }] } }] },
        { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
      ),
    );
    const r = await until('three.tls.test over HTTP', 'three.tls.test', '/', (r) => r.status === 200);
    assert.equal(seen(r).backend, 'a');
  });

  it('warns on a malformed certificate Secret and keeps serving the other hosts', async () => {
    await secrets().create({
      metadata: { name: 'broken-tls' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': Buffer.from('-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n').toString('base64'), 'tls.key': Buffer.from('garbage').toString('base64') },
    });
    const good = await issueCert(ca, { commonName: 'good.tls.test', dnsNames: ['good.tls.test'], server: true });
    await tlsSecret('good-tls', good);
    const rule = (host: string) => ({ host, http: { paths: [{ path: '/', pathType: 'Prefix' as const, backend: svcBackend('svc-c') }] } });
    await ingresses().create(
      ingress('broken', {
        tls: [
          { hosts: ['bad.tls.test'], secretName: 'broken-tls' },
          { hosts: ['good.tls.test'], secretName: 'good-tls' },
        ],
        rules: [rule('bad.tls.test'), rule('good.tls.test')],
      }),
    );
    const ev = await waitFor('a Warning event on the Ingress', async () => {
      const list = await rest.resource<Event>(RESOURCES.events, NS).list();
      return list.items.find((e) => e.involvedObject.kind === 'Ingress' && e.involvedObject.name === 'broken' && e.type === 'Warning');
    });
    assert.equal(ev.reason, 'InvalidTLSSecret');
    assert.match(ev.message ?? '', /default\/broken-tls/);
    const cacert = join(dir, 'ca.crt');
    const ok = await waitFor('good.tls.test over TLS', async () => {
      const r = await https('good.tls.test', '/', cacert);
      return r.status === 200 ? r : undefined;
    });
    assert.equal(seen(ok).backend, 'c');
    // the broken host still answers, with the self-signed default certificate
    const insecure = await https('bad.tls.test', '/', cacert, ['-k', '-w', '%{ssl_verify_result}']);
    assert.equal(insecure.status, 200);
    await assert.rejects(https('bad.tls.test', '/', cacert), /certificate/i);
    assert.ok(logs.some((l) => l.includes('broken-tls')));
  });

  it('holds the data of certificate Secrets only, and picks up one created after its Ingress', async () => {
    const creates: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++)
      creates.push(secrets().create({ metadata: { name: `plain-${i}`, labels: { bulk: 'yes' } }, stringData: { password: 'x'.repeat(512) } } as Secret));
    await Promise.all(creates);
    await rest.resource<Secret>(RESOURCES.secrets, 'kube-system').create({ metadata: { name: 'other-ns' }, stringData: { token: 'y' } } as Secret);
    const late = await issueCert(ca, { commonName: 'late.tls.test', dnsNames: ['late.tls.test'], server: true });
    await ingresses().create(
      ingress('late', { tls: [{ hosts: ['late.tls.test'], secretName: 'late-tls' }], rules: [{ host: 'late.tls.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svcBackend('svc-a') }] } }] }),
    );
    const cacert = join(dir, 'ca.crt');
    // no Secret yet: the default certificate
    const before = await waitFor('late.tls.test with the default certificate', async () => {
      const r = await https('late.tls.test', '/', cacert, ['-k']);
      return r.status === 200 ? r : undefined;
    });
    assert.equal(seen(before).backend, 'a');
    await assert.rejects(https('late.tls.test', '/', cacert), /certificate/i);
    // an Opaque Secret with tls.crt / tls.key serves too, as with ingress-nginx
    await secrets().create({
      metadata: { name: 'late-tls' },
      type: 'Opaque',
      data: { 'tls.crt': Buffer.from(late.certPem).toString('base64'), 'tls.key': Buffer.from(late.keyPem).toString('base64'), 'ca.crt': Buffer.from(ca.certPem).toString('base64') },
    });
    const r = await waitFor('late.tls.test with its own certificate', async () => {
      const r = await https('late.tls.test', '/', cacert).catch(() => undefined);
      return r?.status === 200 ? r : undefined;
    });
    assert.equal(seen(r).backend, 'a');
    const { count, withData: held } = ctl.cachedSecrets();
    assert.ok(count > 1000, `${count} Secrets cached`);
    assert.ok(held.includes(`${NS}/late-tls`), held.join(' '));
    assert.ok(held.includes(`${NS}/one-tls`), held.join(' '));
    assert.ok(!held.some((k) => k.includes('plain-') || k.includes('other-ns')), held.join(' '));
    assert.ok(held.length < 20, `${held.length} Secrets held with data`);
  });

  it('rewrites the path with rewrite-target capture groups', async () => {
    await ingresses().create(
      ingress(
        'rewrite',
        { rules: [{ host: 'rw.test', http: { paths: [{ path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific', backend: svcBackend('svc-a') }] } }] },
        { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' },
      ),
    );
    const r = await until('rw.test routed', 'rw.test', '/something/new/x?q=1', (r) => r.status === 200);
    assert.equal(seen(r).url, '/new/x?q=1');
    assert.equal(seen(await get('rw.test', '/something')).url, '/');
    assert.equal(seen(await get('rw.test', '/SOMETHING/up')).url, '/up', 'regex paths are case-insensitive, as in ingress-nginx');
    assert.equal((await get('rw.test', '/other')).status, 404);
  });

  it('answers 413 above proxy-body-size', async () => {
    await ingresses().create(
      ingress('small', { rules: [{ host: 'small.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svcBackend('svc-b') }] } }] }, { 'nginx.ingress.kubernetes.io/proxy-body-size': '1k' }),
    );
    await until('small.test routed', 'small.test', '/', (r) => r.status === 200);
    const okPost = await get('small.test', '/up', ['--data-binary', 'x'.repeat(1000)]);
    assert.equal(okPost.status, 200);
    assert.equal(seen(okPost).bodyLength, 1000);
    assert.equal(seen(okPost).method, 'POST');
    const big = await get('small.test', '/up', ['--data-binary', 'x'.repeat(2048)]);
    assert.equal(big.status, 413);
    const chunked = await get('small.test', '/up', ['-H', 'Transfer-Encoding: chunked', '--data-binary', 'y'.repeat(4096)]);
    assert.equal(chunked.status, 413);
  });

  it('passes a WebSocket upgrade through', async () => {
    await ingresses().create(ingress('ws', { rules: [{ host: 'ws.test', http: { paths: [{ path: '/ws', pathType: 'Prefix', backend: svcBackend('svc-a') }] } }] }));
    await until('ws.test routed', 'ws.test', '/ws', (r) => r.status === 200);
    const key = Buffer.from('0123456789abcdef').toString('base64');
    const { res, socket, head } = await new Promise<{ res: { statusCode?: number; headers: Record<string, string | string[] | undefined> }; socket: Socket; head: Buffer }>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: ctl.httpPort,
        path: '/ws/chat',
        headers: { Host: 'ws.test', Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
      });
      req.on('upgrade', (res, socket, head) => resolve({ res, socket, head }));
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    try {
      assert.equal(res.statusCode, 101);
      assert.equal(res.headers['x-backend'], 'a');
      assert.equal(res.headers['sec-websocket-accept'], createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'));
      const echoed = await new Promise<string>((resolve) => {
        let got = head.toString();
        socket.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.length >= 11) resolve(got);
        });
        socket.write('hello world');
      });
      assert.equal(echoed, 'hello world');
    } finally {
      socket.destroy();
    }
  });

  it('spreads requests over the ready endpoints', async () => {
    await ingresses().create(ingress('spread', { rules: [{ host: 'spread.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: svcBackend('svc-de') }] } }] }));
    await until('spread.test routed', 'spread.test', '/', (r) => r.status === 200);
    const counts = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const b = seen(await get('spread.test', '/')).backend;
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), ['d', 'e']);
    assert.equal(counts.get('d'), 5, 'round-robin');
    // an endpoint that turns not-ready leaves the rotation
    const slice = await rest.resource<EndpointSlice>(RESOURCES.endpointslices, NS).get('svc-de-1');
    await rest.resource<EndpointSlice>(RESOURCES.endpointslices, NS).update({ ...slice, endpoints: [{ addresses: ['backend.localhost'], conditions: { ready: false } }] });
    await waitFor('e out of rotation', async () => {
      for (let i = 0; i < 4; i++) if (seen(await get('spread.test', '/')).backend !== 'd') return undefined;
      return true;
    });
  });

  it('answers 503 naming the Service when it has no endpoints or does not exist', async () => {
    await ingresses().create(
      ingress('missing', {
        rules: [
          {
            host: 'missing.test',
            http: {
              paths: [
                { path: '/gone', pathType: 'Prefix', backend: svcBackend('nosuch') },
                { path: '/empty', pathType: 'Prefix', backend: svcBackend('svc-empty') },
              ],
            },
          },
        ],
      }),
    );
    const r = await until('missing.test routed', 'missing.test', '/gone', (r) => r.status === 503);
    assert.match(r.body, /503 Service Temporarily Unavailable/);
    assert.match(r.body, /Service default\/nosuch does not exist/);
    const e = await get('missing.test', '/empty');
    assert.equal(e.status, 503);
    assert.match(e.body, /default\/svc-empty .*no ready endpoints/);
  });

  it('fills status.loadBalancer of its Ingresses', async () => {
    const ing = await waitFor('status of web', async () => {
      const i = await ingresses().get('web');
      return i.status?.loadBalancer?.ingress?.length ? i : undefined;
    });
    assert.deepEqual(ing.status?.loadBalancer?.ingress, [{ ip: '127.0.0.1' }]);
    await ctl.synced();
    const foreign = await ingresses().get('foreign');
    assert.ok(!foreign.status?.loadBalancer?.ingress?.length, 'an Ingress of another class is left alone');
  });

  it('says so in one line and keeps running when a port is taken', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    const lines: string[] = [];
    const second = await startIngressController(transport, { httpPort: port, httpsPort: 0, address: '127.0.0.1', statusAddress: '', log: (l) => lines.push(l) });
    try {
      assert.equal(second.httpPort, undefined);
      assert.ok(second.httpsPort);
      const inUse = lines.filter((l) => l.includes('in use'));
      assert.equal(inUse.length, 1, lines.join('\n'));
      assert.match(inUse[0], new RegExp(`127\\.0\\.0\\.1:${port} is in use`));
      const cacert = join(dir, 'ca.crt');
      const r = await waitFor('the second controller serves HTTPS', async () => {
        const r = await curl(['--cacert', cacert, '--resolve', `one.tls.test:${second.httpsPort}:127.0.0.1`, `https://one.tls.test:${second.httpsPort}/`]);
        return r.status === 200 ? r : undefined;
      });
      assert.equal(seen(r).backend, 'b');
    } finally {
      await second.stop();
      busy.close();
    }
  });
});

describe('ingress Secret cache', () => {
  it('keeps identity, and tls.crt / tls.key only when the Secret has them', () => {
    const plain: Secret = { metadata: { name: 'p', namespace: 'n', resourceVersion: '7', uid: 'u', labels: { a: 'b' }, managedFields: [{ manager: 'm' }] }, type: 'Opaque', data: { password: 'eA==' } };
    thinSecret(plain);
    assert.deepEqual(plain, { metadata: { name: 'p', namespace: 'n', resourceVersion: '7' }, type: 'Opaque' });
    const tls: Secret = { metadata: { name: 't', namespace: 'n', resourceVersion: '8' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'Yw==', 'tls.key': 'aw==', 'ca.crt': 'eA==' } };
    thinSecret(tls);
    assert.deepEqual(tls.data, { 'tls.crt': 'Yw==', 'tls.key': 'aw==' });
    // half a pair is kept, so the controller can say which half is missing
    const half: Secret = { metadata: { name: 'h' }, data: { 'tls.key': 'aw==' } };
    thinSecret(half);
    assert.deepEqual(half.data, { 'tls.key': 'aw==' });
  });
});

describe('ingress routing rules', () => {
  it('matches Prefix paths element by element', () => {
    assert.ok(prefixMatches('/foo', '/foo'));
    assert.ok(prefixMatches('/foo', '/foo/'));
    assert.ok(prefixMatches('/foo/', '/foo'));
    assert.ok(prefixMatches('/foo', '/foo/bar'));
    assert.ok(!prefixMatches('/foo', '/foobar'));
    assert.ok(!prefixMatches('/foo/bar', '/foo/baz'));
    assert.ok(prefixMatches('/', '/anything'));
  });

  it('prefers the oldest Ingress for the same host and path', () => {
    const mk = (name: string, ts: string, svc: string): Ingress => ({
      metadata: { name, namespace: 'ns', creationTimestamp: ts },
      spec: { rules: [{ host: 'h', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: svc, port: { number: 80 } } } }] } }] },
    });
    const t = buildRouteTable([mk('new', '2024-01-02T00:00:00Z', 'young'), mk('old', '2024-01-01T00:00:00Z', 'elder')]);
    const m = matchRoute(t, 'h', '/x');
    assert.equal(m.route?.backend.kind === 'service' && m.route.backend.ref.service, 'elder');
  });

  it('rewrites like nginx: the whole path, groups substituted, query kept', () => {
    assert.equal(rewritePath('/$2', ['/', 'a/b'], ''), '/a/b');
    assert.equal(rewritePath('/', undefined, 'x=1'), '/?x=1');
    assert.equal(rewritePath('/v?y=2', [], 'x=1'), '/v?y=2&x=1');
  });
});
