// The ingress under test: an in-memory API server with the built-in Ingress controller, one Ingress
// sending every path to a Service whose EndpointSlice points at BACKEND_PORT on this machine. It loads the
// build (DIST_DIR, tsc's output), not the TypeScript sources: tsx would wrap every function for its name.
// Usage: node bench/lib/ingress-server.mjs DIST_DIR BACKEND_PORT (prints a ready line like timonel up).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, port] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(dist ?? '', p)).href);
const { startCluster } = await load('cli/cluster.js');
const { RestClient } = await load('client/rest.js');
const { RESOURCES } = await load('client/shared.js');
const { inProcessAcceptor, inProcessTransport } = await load('client/transport.js');
const { ensureIngressClass, INGRESSES, startIngressController } = await load('ingress/controller.js');

const backendPort = Number(port);
if (!dist || !backendPort) throw new Error('usage: ingress-server.mjs DIST_DIR BACKEND_PORT');
const t0 = performance.now();
const dataDir = mkdtempSync(join(tmpdir(), 'timonel-bench-ingress-'));
const cluster = await startCluster({ port: 0, bind: '127.0.0.1', dataDir, storage: 'memory', insecureHttp: true, controllers: false, log: () => {} });
const transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'bench', groups: ['system:masters'] });
const rest = new RestClient(transport);
await rest.resource(RESOURCES.services, 'default').create({ metadata: { name: 'backend' }, spec: { ports: [{ name: 'http', port: 80 }] } });
await rest.resource(RESOURCES.endpointslices, 'default').create({
  metadata: { name: 'backend-1', labels: { 'kubernetes.io/service-name': 'backend' } },
  addressType: 'FQDN',
  endpoints: [{ addresses: ['backend.localhost'], conditions: { ready: true } }],
  ports: [{ name: 'http', port: backendPort, protocol: 'TCP' }],
});
await ensureIngressClass(rest);
const ctl = await startIngressController(transport, { httpPort: 0, httpsPort: 0, address: '127.0.0.1', log: (l) => process.stderr.write(`${l}\n`) });
await rest.resource(INGRESSES, 'default').create({
  metadata: { name: 'bench' },
  spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'backend', port: { number: 80 } } } }] } }] },
});
await ctl.synced();
process.stdout.write(`ingress ready at http://127.0.0.1:${ctl.httpPort} in ${Math.round(performance.now() - t0)} ms\n`);

process.on('SIGTERM', () => {
  void (async () => {
    await ctl.stop();
    transport.close();
    await cluster.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  })();
});
