// The ingress under test: an in-memory API server with the built-in Ingress controller, one Ingress
// sending every path to a Service whose EndpointSlice points at BACKEND_PORT on this machine.
// Usage: node --import tsx bench/lib/ingress-server.ts BACKEND_PORT (prints a ready line like timonel up).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { startCluster } from '../../src/cli/cluster.js';
import { RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import { inProcessAcceptor, inProcessTransport } from '../../src/client/transport.js';
import { ensureIngressClass, INGRESSES, startIngressController } from '../../src/ingress/controller.js';

const backendPort = Number(process.argv[2]);
if (!backendPort) throw new Error('usage: ingress-server.ts BACKEND_PORT');
const t0 = performance.now();
const dataDir = mkdtempSync(join(tmpdir(), 'timonel-bench-ingress-'));
const cluster = await startCluster({ port: 0, bind: '127.0.0.1', dataDir, storage: 'memory', insecureHttp: true, controllers: false, log: () => {} });
const transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: 'bench', groups: ['system:masters'] });
const rest = new RestClient(transport);
await rest.resource<Service>(RESOURCES.services, 'default').create({ metadata: { name: 'backend' }, spec: { ports: [{ name: 'http', port: 80 }] } });
await rest.resource<EndpointSlice>(RESOURCES.endpointslices, 'default').create({
  metadata: { name: 'backend-1', labels: { 'kubernetes.io/service-name': 'backend' } },
  addressType: 'FQDN',
  endpoints: [{ addresses: ['backend.localhost'], conditions: { ready: true } }],
  ports: [{ name: 'http', port: backendPort, protocol: 'TCP' }],
});
await ensureIngressClass(rest);
const ctl = await startIngressController(transport, { httpPort: 0, httpsPort: 0, address: '127.0.0.1', log: (l) => process.stderr.write(`${l}\n`) });
await rest.resource<Ingress>(INGRESSES, 'default').create({
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
