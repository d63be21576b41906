// `timonel up` runs the built-in Ingress controller: an Ingress applied with kubectl routes real curl
// requests to a backend (a local HTTP server standing in for pods, reached through an EndpointSlice).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { spawnServer, type SpawnedServer } from '../helpers/cluster.js';
import { poll, waitForLine } from '../helpers/wait.js';

const run = promisify(execFile);

describe('timonel up with the Ingress controller', () => {
  let server: SpawnedServer | undefined;
  let backend: Server | undefined;
  after(async () => {
    await server?.stop();
    backend?.close();
  });

  it('serves an Ingress applied with kubectl, on the ports it prints', async () => {
    backend = createServer((req, res) => res.end(`backend saw ${req.url} for ${req.headers.host}`));
    await new Promise<void>((r) => backend!.listen(0, '127.0.0.1', r));
    const backendPort = (backend.address() as AddressInfo).port;
    server = await spawnServer(['--ingress-http-port', '0', '--ingress-https-port', '0']);
    const [, httpPort] = await waitForLine(() => server!.output(), /ingress controller \(class timonel\) listening on [\d.]+: http (\d+)/, 20_000);
    const manifest = join(server.dataDir, 'app.yaml');
    writeFileSync(
      manifest,
      `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{name: http, port: 80, targetPort: ${backendPort}}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-local, labels: {kubernetes.io/service-name: web}}
addressType: FQDN
endpoints: [{addresses: [backend.localhost], conditions: {ready: true}}]
ports: [{name: http, port: ${backendPort}, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: app.example.test
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`,
    );
    await server.kubectlOk(['apply', '-f', manifest]);
    const cls = await server.kubectlOk(['get', 'ingressclass', 'timonel', '-o', 'jsonpath={.metadata.annotations.ingressclass\\.kubernetes\\.io/is-default-class}']);
    assert.equal(cls.stdout, 'true');
    const curl = async (host: string, path: string) =>
      (await run('curl', ['-s', '-o', '-', '-w', '\\n%{http_code}', '-H', `Host: ${host}`, `http://127.0.0.1:${httpPort}${path}`])).stdout;
    const routed = await poll(async () => {
      const out = await curl('app.example.test', '/api/items');
      return out.endsWith('\n200') ? out : undefined;
    });
    assert.match(routed ?? '', /^backend saw \/api\/items for app\.example\.test\n200$/);
    assert.match(await curl('other.example.test', '/api/items'), /\n404$/);
    const status = await poll(async () => {
      const r = await server!.kubectlOk(['get', 'ingress', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']);
      return r.stdout || undefined;
    });
    assert.equal(status, '127.0.0.1');
  });
});

