// The server of bench/pods.ts: what `timonel up` runs (API server on SQLite, controllers, scheduler) from the
// build, with the real node agent on crun in the same process — but on the benchmark's own bridge, pod
// CIDR, netns prefix and cgroup parent, so nothing of a real node on this machine is touched.
// Plain JavaScript, so that the process's RSS is the build's alone (no TypeScript loader).
// Usage: node pod-node-server.mjs DIST_DIR '{"dataDir":…,"nodeName":…,"podCIDR":…,"bridge":…,"netnsPrefix":…,"cgroupParent":…}'
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, json] = process.argv.slice(2);
if (!dist || !json) throw new Error('usage: pod-node-server.mjs DIST_DIR CONFIG_JSON');
const o = JSON.parse(json);
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { startCluster } = await load('cli/cluster.js');
const { startNodeAgent } = await load('node/agent/index.js');
const { inProcessAcceptor, inProcessTransport } = await load('client/transport.js');

const log = (l) => process.stderr.write(`${l}\n`);
const cluster = await startCluster({ dataDir: o.dataDir, port: 0, bind: '127.0.0.1', storage: 'sqlite', insecureHttp: true, localNode: false, log });
const transport = inProcessTransport(inProcessAcceptor(cluster.api.handle), { username: `system:node:${o.nodeName}`, groups: ['system:masters', 'system:nodes'] });
const agent = await startNodeAgent(transport, {
  nodeName: o.nodeName,
  stateDir: join(o.dataDir, 'node'),
  imagesDir: join(o.dataDir, 'images'),
  runtime: 'crun',
  podCIDR: o.podCIDR,
  bridge: o.bridge,
  netnsPrefix: o.netnsPrefix,
  cgroupParent: o.cgroupParent,
  hostSysctls: false,
  api: cluster.api,
  log,
});
if (typeof agent === 'string') {
  log(`no node: ${agent}`);
  await cluster.close();
  process.exit(3);
}
process.stdout.write(`Timonel API server ready at ${cluster.url} in ${Math.round(performance.now())} ms\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    try {
      await agent.stop({ deleteNode: true, removeBridge: true });
    } catch (e) {
      log(`node agent stop: ${e.message}`);
    }
    transport.close();
    await cluster.close();
    process.exit(0);
  })();
});
