// Benchmark 6: wall time of `kubectl apply -f` of one file with 200 objects (ConfigMaps, Secrets,
// Services, Deployments in equal parts) on SQLite and, as the baseline, on the memory backend; then the
// same apply again, where nothing changes.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlPath } from '../test/helpers/kubectl.js';
import { runBench } from './lib/harness.js';
import { Client } from './lib/http.js';
import { SHORT, watchProcess } from './lib/proc.js';
import { median, ms, num, ratio } from './lib/stats.js';

const KUBECTL_VERSION = '1.33';
const PER_KIND = 50;
const ROUNDS = SHORT ? 1 : 3;
const TIMEOUT_MS = 180_000;

const b64 = (s: string) => Buffer.from(s).toString('base64');

function manifest(ns: string): string {
  const docs: string[] = [];
  for (let i = 0; i < PER_KIND; i++) {
    const n = String(i).padStart(3, '0');
    docs.push(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-${n}, namespace: ${ns}, labels: {app: app-${n}}}\ndata: {greeting: hello, index: "${i}", config.yaml: "a: 1\\nb: 2\\n"}`,
      // data, not stringData: kubectl's three-way patch always re-sends stringData, so such a Secret is never "unchanged"
      `apiVersion: v1\nkind: Secret\nmetadata: {name: secret-${n}, namespace: ${ns}, labels: {app: app-${n}}}\ntype: Opaque\ndata: {password: ${b64(`pw-${n}`)}, token: ${b64(`tok-${n}`)}}`,
      `apiVersion: v1\nkind: Service\nmetadata: {name: svc-${n}, namespace: ${ns}, labels: {app: app-${n}}}\nspec:\n  selector: {app: app-${n}}\n  ports: [{name: http, port: 80, targetPort: 8080}]`,
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-${n}, namespace: ${ns}, labels: {app: app-${n}}}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: app-${n}}}\n  template:\n    metadata: {labels: {app: app-${n}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        ports: [{containerPort: 8080}]\n        envFrom: [{configMapRef: {name: cm-${n}}}]\n        resources: {requests: {cpu: 10m, memory: 16Mi}}`,
    );
  }
  return `${docs.join('\n---\n')}\n`;
}

interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs kubectl to completion (asynchronously, so the server sampler keeps ticking); kills it by PID after TIMEOUT_MS. */
function timedKubectl(bin: string, kubeconfig: string, cacheDir: string, args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(bin, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(guard);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ ms: performance.now() - t0, code, stdout, stderr });
    });
  });
}

interface BackendResult {
  create: number[];
  reapply: number[];
  /** server CPU seconds over both applies of a round */
  serverCpu: number[];
}

await runBench('apply', 6, `kubectl apply -f of ${4 * PER_KIND} objects`, async (b) => {
  const r = b.report;
  const bin = kubectlPath(KUBECTL_VERSION);
  if (bin === undefined) {
    r.problem(`kubectl ${KUBECTL_VERSION} not found (scripts/setup.sh fetches it)`);
    return;
  }
  r.log(`kubectl ${KUBECTL_VERSION} apply -f of one file: ${PER_KIND} each of ConfigMap, Secret, Service, Deployment (replicas 1, no nodes)`);
  r.log(`${ROUNDS} rounds per backend, each into a fresh namespace, then the same file again (every object unchanged); medians`);
  const results: Partial<Record<'sqlite' | 'memory', BackendResult>> = {};

  for (const storage of ['sqlite', 'memory'] as const) {
    const server = await b.timonel({ tag: `apply-${storage}`, storage });
    const work = b.dir(`apply-kubectl-${storage}`);
    const kubeconfig = join(work, 'kubeconfig.yaml');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1\nkind: Config\nclusters: [{name: bench, cluster: {server: "${server.url}"}}]\nusers: [{name: bench, user: {}}]\n` +
        `contexts: [{name: bench, context: {cluster: bench, user: bench}}]\ncurrent-context: bench\n`,
    );
    const cacheDir = join(work, 'cache');
    const client = new Client(server.url);
    // discovery and the OpenAPI documents land in kubectl's cache before the first measured run
    await client.ensureNamespace('warm');
    const warmFile = writeManifest(work, 'warm', 'warm');
    for (let i = 0; i < 2; i++) {
      const warm = await timedKubectl(bin, kubeconfig, cacheDir, ['apply', '-f', warmFile]);
      if (warm.code !== 0) r.problem(`warm-up apply on ${storage} exited ${warm.code}: ${warm.stderr.slice(0, 300)}`);
    }
    const result: BackendResult = { create: [], reapply: [], serverCpu: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const ns = `apply-${round}`;
      await client.ensureNamespace(ns);
      const file = writeManifest(work, ns, ns);
      const sampler = watchProcess(server.pid);
      const created = await timedKubectl(bin, kubeconfig, cacheDir, ['apply', '-f', file]);
      const again = await timedKubectl(bin, kubeconfig, cacheDir, ['apply', '-f', file]);
      const usage = sampler.stop();
      b.contention(usage, `apply round ${round + 1} on ${storage}`);
      result.serverCpu.push(usage.cpuSeconds);
      const createdLines = created.stdout.split('\n').filter((l) => / created$/.test(l)).length;
      const unchangedLines = again.stdout.split('\n').filter((l) => / unchanged$/.test(l)).length;
      if (created.code !== 0 || createdLines !== 4 * PER_KIND)
        r.problem(`apply on ${storage} (round ${round + 1}): exit ${created.code}, ${createdLines} created; ${created.stderr.slice(0, 300)}`);
      if (again.code !== 0 || unchangedLines !== 4 * PER_KIND)
        r.problem(`re-apply on ${storage} (round ${round + 1}): exit ${again.code}, ${unchangedLines} unchanged; ${again.stderr.slice(0, 300)}`);
      result.create.push(created.ms);
      result.reapply.push(again.ms);
      if (!b.alive(server, `apply on ${storage}`)) break;
    }
    client.close();
    r.log(
      `  ${storage}: apply ${result.create.map(ms).join(', ')} (median ${ms(median(result.create))}); ` +
        `re-apply ${result.reapply.map(ms).join(', ')} (median ${ms(median(result.reapply))}); ` +
        `server CPU per round (both applies) ${result.serverCpu.map((c) => `${num(c, 2)} s`).join(', ')}: the rest of the wall time is kubectl's own`,
    );
    results[storage] = result;
    await server.stop();
  }

  const sq = results.sqlite;
  const mem = results.memory;
  if (!sq || sq.create.length === 0) return;
  const n = 4 * PER_KIND;
  r.row({
    metric: `kubectl apply -f of ${n} objects (create), SQLite`,
    value: `${ms(median(sq.create))} (${num((n / median(sq.create)) * 1000)} objects/s)`,
    baseline: mem ? `${ms(median(mem.create))} (memory backend)` : undefined,
    ratio: mem ? ratio(median(sq.create) / median(mem.create)) : undefined,
  });
  r.row({
    metric: `kubectl apply -f of ${n} objects again (all unchanged), SQLite`,
    value: ms(median(sq.reapply)),
    baseline: mem ? `${ms(median(mem.reapply))} (memory backend)` : undefined,
    ratio: mem ? ratio(median(sq.reapply) / median(mem.reapply)) : undefined,
  });
});

function writeManifest(dir: string, tag: string, ns: string): string {
  const path = join(dir, `${tag}.yaml`);
  writeFileSync(path, manifest(ns));
  return path;
}
