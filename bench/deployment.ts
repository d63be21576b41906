// Benchmark 9: a Deployment of 1,000 replicas on `timonel up --simulated-nodes 100`: server-side apply →
// status.availableReplicas == 1,000, then a rolling update (an env var changed, default 25% surge and
// unavailability) → rolled out as `kubectl rollout status` decides; RSS of the whole process.
// The baseline, on another such server in the same run: 1,000 bare pods POSTed by a client (32 in
// flight) → all Running, i.e. the same pods without the Deployment and ReplicaSet controllers.
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { runBench } from './lib/harness.js';
import { Client } from './lib/http.js';
import { countOf, createMany, settledRss, waitForCount, waitUntil, watchStream } from './lib/kube.js';
import { sleep, watchProcess, type ServerProcess } from './lib/proc.js';
import { mib, ms, num, ratio } from './lib/stats.js';

const NODES = 100;
const REPLICAS = 1000;
const NAMESPACE = 'bench-deploy';
const NAME = 'web';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
const deployPath = `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${NAME}`;

const container = (version: string) => ({
  name: 'web',
  image: 'registry.k8s.io/pause:3.10',
  env: [{ name: 'VERSION', value: version }],
  resources: { requests: { cpu: '10m', memory: '16Mi' } },
});

function deployment(version: string): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NAME, namespace: NAMESPACE },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: NAME } },
      template: { metadata: { labels: { app: NAME } }, spec: { containers: [container(version)] } },
    },
  };
}

async function apply(client: Client, version: string): Promise<void> {
  await client.must('PATCH', `${deployPath}?fieldManager=bench&force=true`, JSON.stringify(deployment(version)), [200, 201], 'application/apply-patch+yaml');
}

async function getDeployment(client: Client): Promise<Deployment> {
  return JSON.parse((await client.must('GET', deployPath)).body) as Deployment;
}

/** What `kubectl rollout status` waits for. */
function rolledOut(d: Deployment): boolean {
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
    (s.updatedReplicas ?? 0) >= want &&
    (s.replicas ?? 0) <= (s.updatedReplicas ?? 0) &&
    (s.availableReplicas ?? 0) >= (s.updatedReplicas ?? 0)
  );
}

async function clusterWithNodes(b: Parameters<Parameters<typeof runBench>[3]>[0], tag: string): Promise<{ server: ServerProcess; client: Client; registerMs: number }> {
  const server = await b.timonel({ tag, args: ['--simulated-nodes', String(NODES)] });
  const client = new Client(server.url, 32);
  const registerMs = await waitForCount(client, LEASES, NODES, 60_000);
  await client.ensureNamespace(NAMESPACE);
  return { server, client, registerMs };
}

await runBench('deployment', 9, `Deployment of ${num(REPLICAS)} replicas on ${NODES} simulated nodes`, async (b) => {
  const r = b.report;
  r.log(`timonel up --simulated-nodes ${NODES} (SQLite); a Deployment of ${num(REPLICAS)} replicas (one container, 10m CPU / 16Mi) applied server-side, then an env var changed`);

  // ---- baseline: 1,000 bare pods → all Running ----
  const base = await clusterWithNodes(b, 'deploy-base');
  const podsPath = `/api/v1/namespaces/${NAMESPACE}/pods`;
  const running = new Set<string>();
  const watchErrors: string[] = [];
  const rv = (JSON.parse((await base.client.must('GET', `${podsPath}?limit=1`)).body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const watch = watchStream<Pod>(
    base.client.base,
    `${podsPath}?watch=1&resourceVersion=${rv}`,
    (e) => {
      if (e.object.status?.phase === 'Running' && e.object.metadata?.name) running.add(e.object.metadata.name);
    },
    (e) => watchErrors.push(e.message),
  );
  await watch.ready;
  let t0 = performance.now();
  const created = await createMany(
    base.client,
    podsPath,
    REPLICAS,
    32,
    (i): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `bare-${i}`, labels: { app: 'bare' } }, spec: { containers: [container('1')] } }),
    60_000,
  );
  if (created.failed) r.problem(`baseline creates: ${created.failed} failed (first: ${created.firstError})`);
  const baseRunningMs = await waitUntil('all bare pods Running', async () => running.size >= created.created, 120_000, 20).then(() => performance.now() - t0);
  watch.close();
  for (const e of watchErrors) r.problem(`baseline watch: ${e}`);
  r.log(`  baseline: ${num(created.created)} bare pods created in ${ms(created.elapsedMs)}, all Running after ${ms(baseRunningMs)}`);
  b.alive(base.server, 'the baseline');
  base.client.close();
  await base.server.stop();

  // ---- the Deployment ----
  const { server, client, registerMs } = await clusterWithNodes(b, 'deploy');
  r.log(`  ${NODES} nodes registered ${ms(registerMs)} after the ready line`);
  await sleep(2000);
  const rssBefore = await settledRss(server.pid, 3);
  let sampler = watchProcess(server.pid);
  t0 = performance.now();
  await apply(client, '1');
  const availableMs = await waitUntil('1,000 replicas available', async () => {
    if (server.exited() !== undefined) throw new Error('the server exited');
    const d = await getDeployment(client);
    return (d.status?.availableReplicas ?? 0) >= REPLICAS && rolledOut(d);
  }, 300_000);
  let usage = sampler.stop();
  b.contention(usage, 'the scale-up');
  const rssAvailable = await settledRss(server.pid, 3);
  r.log(`  apply → ${num(REPLICAS)} available: ${ms(availableMs)}; server CPU ${num((usage.cpuSeconds / (availableMs / 1000)) * 100)}% of a core, peak RSS ${mib(usage.peakRss)}`);

  sampler = watchProcess(server.pid);
  t0 = performance.now();
  await apply(client, '2');
  const rolloutMs = await waitUntil('the rolling update', async () => {
    if (server.exited() !== undefined) throw new Error('the server exited');
    const d = await getDeployment(client);
    return (d.metadata?.generation ?? 0) >= 2 && rolledOut(d);
  }, 600_000);
  usage = sampler.stop();
  b.contention(usage, 'the rolling update');
  const podsLeft = await waitUntil('old pods gone', async () => (await countOf(client, podsPath)) <= REPLICAS, 120_000).then(
    () => true,
    () => false,
  );
  if (!podsLeft) r.problem(`more than ${REPLICAS} pods remain after the rollout`);
  const rssAfter = await settledRss(server.pid, 3);
  r.log(`  rolling update → complete: ${ms(rolloutMs)}; server CPU ${num((usage.cpuSeconds / (rolloutMs / 1000)) * 100)}% of a core, peak RSS ${mib(usage.peakRss)}`);
  r.log(`  RSS: before ${mib(rssBefore)}, with ${num(REPLICAS)} pods ${mib(rssAvailable)}, after the update ${mib(rssAfter)}`);
  b.alive(server, 'the deployment');
  client.close();

  r.row({
    metric: `Deployment ${num(REPLICAS)} replicas / ${NODES} nodes: apply → all available`,
    value: ms(availableMs),
    baseline: `${ms(baseRunningMs)} (${num(REPLICAS)} bare pods POSTed → Running)`,
    ratio: ratio(availableMs / baseRunningMs),
  });
  r.row({ metric: 'Rolling update of it (env var changed) → rolled out', value: ms(rolloutMs), baseline: `${ms(availableMs)} (the scale-up)`, ratio: ratio(rolloutMs / availableMs) });
  r.row({ metric: `RSS with the ${num(REPLICAS)}-pod Deployment (whole process)`, value: `${mib(rssAfter)} (peak ${mib(usage.peakRss)})`, baseline: `${mib(rssBefore)} (before the apply)`, ratio: ratio(rssAfter / rssBefore) });
});
