// Benchmark: requests through the built-in Ingress controller vs through Debian's nginx configured for the
// same route (one worker, keep-alive upstream pool, ingress-nginx's proxy headers) to the same backend
// (the bare node:http server), with the same wrk, connections and duration, runs interleaved.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { runBench } from './lib/harness.js';
import { cpuSeconds, DIST, launcherNodeFlags, REPO, SHORT, sleep, startServerProcess, watchProcess } from './lib/proc.js';
import { ms, num, ratio } from './lib/stats.js';
import { runWrk, wrkProblems, type WrkOptions, type WrkResult } from './lib/wrk.js';

const CONNECTIONS = 50;
const WARM_UP_S = 2;
// the machine is shared: rounds alternate which proxy goes first (ABBA), and the ratio is the median of the
// rounds' paired ratios, so one slow stretch of the machine moves one pair, not the figure
const ROUNDS = SHORT ? 4 : 6;
const ROUND_S = SHORT ? 2 : 4;
const MAX_REQUESTS = 1_000_000;
const PATH = '/bench/item?x=1';
const NGINX = spawnSync('nginx', ['-v']).error && existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const PIN = process.env.BENCH_PIN !== '0' && availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const r = request(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    r.on('error', () => resolve(0));
    r.end();
  });
}

function nginxConfig(dir: string, port: number, backendPort: number): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  upstream backend {
    server 127.0.0.1:${backendPort};
    keepalive 320;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port} default_server;
    server_name _;
    client_max_body_size 1m;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-ID $request_id;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Scheme $scheme;
    }
  }
}
`;
}

interface Totals {
  requests: number;
  seconds: number;
  p50: number[];
  p99: number[];
  cpuSeconds: number;
}

/** A process and its children (nginx's master and its worker). */
function withChildren(pid: number): number[] {
  try {
    return [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)];
  } catch {
    return [pid];
  }
}

function cpuOf(pids: number[]): number {
  let sum = 0;
  for (const p of pids) {
    try {
      sum += cpuSeconds(p);
    } catch {
      // exited
    }
  }
  return sum;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

await runBench('ingress', 12, 'Ingress: Timonel vs Debian nginx, same route and backend', async (b) => {
  const r = b.report;
  if (spawnSync(NGINX, ['-v']).error) {
    r.problem('nginx is not installed (scripts/bench.sh installs it with apt-get when running this benchmark)');
    return;
  }
  const body = JSON.stringify({ kind: 'Item', data: 'x'.repeat(1000) });
  // the backend shares the proxies' core (pinned like a server): both proxies see the same backend
  const backend = await b.bare(body);
  const backendPort = Number(new URL(backend.url).port);
  // the launcher's node flags as `timonel up` has them; BENCH_SERVER_NODE_FLAGS (e.g. --cpu-prof) on top
  const nodeFlags = [...launcherNodeFlags(), ...(process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
  const ours = await startServerProcess([process.execPath, ...nodeFlags, join(REPO, 'bench', 'lib', 'ingress-server.mjs'), DIST, String(backendPort)], { timeoutMs: 60_000 });
  let nginx: ChildProcess | undefined;
  try {
    const dir = b.dir('nginx');
    const nginxPort = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, nginxPort, backendPort));
    const argv = [NGINX, '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'];
    nginx = spawn(PIN ? 'taskset' : argv[0], PIN ? ['-c', '0', ...argv] : argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let nginxErr = '';
    nginx.stderr!.setEncoding('utf8').on('data', (d: string) => (nginxErr += d));
    const nginxUrl = `http://127.0.0.1:${nginxPort}`;
    for (let i = 0; (await get(nginxUrl + PATH)) !== 200; i++) {
      if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${nginxErr}`);
      await sleep(50);
    }
    const oursStatus = await get(ours.url + PATH);
    if (oursStatus !== 200) throw new Error(`the ingress answered ${oursStatus}: ${ours.stderrTail()}`);
    r.log(`a ${body.length}-byte JSON answer from a bare node:http backend; wrk -t1 -c${CONNECTIONS}; proxies pinned to one core, one nginx worker;`);
    r.log(`${WARM_UP_S} s warm-up each, then ${ROUNDS} rounds of ${ROUND_S} s per proxy, the two proxies' order alternating (Timonel's ingress runs from the build, as timonel up does);`);
    r.log(`req/s columns: all rounds together; ratio: the median of the rounds' paired ratios`);

    const run = (url: string, script: WrkOptions['script'], durationS: number): Promise<WrkResult> => runWrk({ url, script, connections: CONNECTIONS, durationS, maxRequests: MAX_REQUESTS });
    const measure = async (script: WrkOptions['script'], label: string) => {
      const targets = [
        { name: 'timonel ingress', url: ours.url + PATH, pids: [ours.pid], totals: { requests: 0, seconds: 0, p50: [], p99: [], cpuSeconds: 0 } as Totals },
        { name: 'nginx', url: nginxUrl + PATH, pids: withChildren(nginx!.pid!), totals: { requests: 0, seconds: 0, p50: [], p99: [], cpuSeconds: 0 } as Totals },
      ];
      for (const t of targets) await run(t.url, script, WARM_UP_S);
      const paired: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const rps: number[] = [];
        for (const t of round % 2 ? [targets[1], targets[0]] : targets) {
          const sampler = t === targets[0] ? watchProcess(ours.pid, [backend.pid]) : undefined;
          const cpu0 = cpuOf(t.pids);
          const w = await run(t.url, script, ROUND_S);
          const cpu = cpuOf(t.pids) - cpu0;
          if (sampler) b.contention(sampler.stop(), `round ${round + 1} through the ingress (${label})`);
          const trouble = wrkProblems(w);
          if (trouble) r.problem(`${t.name}: ${trouble}`);
          if (w.countBoundHit) r.note(`${t.name}: stopped by the count bound (${MAX_REQUESTS}); its rate is a lower bound`);
          r.log(`  ${label}: ${t.name} round ${round + 1}: ${num(w.rps)} req/s, p50 ${ms(w.p50Ms)}, p99 ${ms(w.p99Ms)}, ${num((cpu / w.requests) * 1e6)} µs of proxy CPU per request`);
          t.totals.cpuSeconds += cpu;
          t.totals.requests += w.requests;
          t.totals.seconds += w.durationS;
          t.totals.p50.push(w.p50Ms);
          t.totals.p99.push(w.p99Ms);
          rps[targets.indexOf(t)] = w.rps;
        }
        paired.push(rps[0] / rps[1]);
      }
      b.alive(ours, 'the ingress load');
      const [o, n] = targets.map((t) => ({ rps: t.totals.requests / t.totals.seconds, p50: mean(t.totals.p50), p99: mean(t.totals.p99) }));
      const [oc, nc] = targets.map((t) => (t.totals.cpuSeconds / t.totals.requests) * 1e6);
      r.log(`  ${label}: p50 timonel ${ms(o.p50)}, nginx ${ms(n.p50)}; proxy CPU per request: timonel ${num(oc)} µs, nginx ${num(nc)} µs (${ratio(oc / nc)})`);
      const sorted = [...paired].sort((a, b) => a - b);
      r.log(`  ${label}: req/s ratio per round ${paired.map((x) => ratio(x)).join(', ')} (median ${ratio(median(paired))}, lowest ${ratio(sorted[0])}); over all rounds ${ratio(o.rps / n.rps)}`);
      return { o, n, throughput: median(paired) };
    };
    // the same request over and over (wrk's usual load), then a different URL on every request: the fast path
    // reuses the parse of a request head its connection already sent, which the second load never does
    const same = await measure('get.lua', 'same request');
    r.row({ metric: 'proxied GET through the ingress, req/s (ratio: median of paired rounds)', value: num(same.o.rps), baseline: `${num(same.n.rps)} (nginx)`, ratio: ratio(same.throughput), goal: '≥ 0.8× nginx', met: same.throughput >= 0.8 });
    r.row({ metric: 'proxied GET through the ingress, p99 latency', value: ms(same.o.p99), baseline: ms(same.n.p99), ratio: ratio(same.o.p99 / same.n.p99) });
    const varied = await measure('get-varied.lua', 'a new URL each request');
    r.row({ metric: 'proxied GET through the ingress, a different URL on every request, req/s', value: num(varied.o.rps), baseline: `${num(varied.n.rps)} (nginx)`, ratio: ratio(varied.throughput) });
  } finally {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((res) => nginx!.once('exit', res));
      nginx.kill('SIGQUIT');
      await Promise.race([exited, sleep(5000)]);
      if (nginx.exitCode === null) nginx.kill('SIGKILL');
    }
    await ours.stop();
  }
});
