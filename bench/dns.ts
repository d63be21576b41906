// Benchmark: A queries for a Service name against the cluster DNS server of `timonel up` (in the API
// server's process, as users run it) vs a bare dns-packet UDP responder answering the same name from a
// Map, both pinned to the server core; the load is a dns-packet UDP loop in a child process on the other.
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import type { Service } from 'kubernetes-types/core/v1.js';
import { runBench } from './lib/harness.js';
import type { DnsLoadParams, DnsLoadResult } from './load/dns.js';
import { Client } from './lib/http.js';
import { runLoad } from './lib/load.js';
import { REPO, SHORT, sleep, startServerProcess, watchProcess, type ServerProcess } from './lib/proc.js';
import { ms, num, ratio } from './lib/stats.js';

const NAME = 'kubernetes.default.svc.cluster.local';
const IN_FLIGHT = 32;
const COUNT = SHORT ? 100_000 : 300_000;
const TIME_LIMIT_MS = SHORT ? 5_000 : 10_000;
const ROUNDS = 2;

/** One A query; the address answered, or undefined (no answer within 500 ms, or not NOERROR). */
function lookup(port: number, name: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      s.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), 500);
    s.on('message', (m) => {
      const r = dnsPacket.decode(m) as DecodedPacket & { rcode?: string };
      const a = r.answers?.find((x) => x.type === 'A') as { data?: unknown } | undefined;
      done(r.rcode === 'NOERROR' && a ? String(a.data) : undefined);
    });
    s.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), port, '127.0.0.1');
  });
}

await runBench('dns', 15, 'Cluster DNS: A queries for a Service name', async (b) => {
  const r = b.report;
  const server = await b.timonel({ storage: 'memory' });
  let dnsPort = 0;
  for (let i = 0; !dnsPort; i++) {
    const m = /cluster DNS answering on 127\.0\.0\.1:(\d+)/.exec(server.stderrTail(200));
    if (m) dnsPort = Number(m[1]);
    else if (i > 300 || !b.alive(server, 'startup')) throw new Error(`no cluster DNS line in the log:\n${server.stderrTail()}`);
    else await sleep(50);
  }
  const api = new Client(server.url, 1);
  const svc = JSON.parse((await api.request('GET', '/api/v1/namespaces/default/services/kubernetes')).body) as Service;
  api.agent.destroy();
  const ip = svc.spec?.clusterIP;
  if (!ip) throw new Error('the kubernetes Service has no clusterIP');
  // the caches fill after the ready line
  for (let i = 0; (await lookup(dnsPort, NAME)) !== ip; i++) if (i > 100) throw new Error(`${NAME} does not resolve to ${ip} on port ${dnsPort}`);
  const bare: ServerProcess = await startServerProcess([process.execPath, join(REPO, 'bench', 'lib', 'dns-bare.mjs'), NAME, ip]);
  try {
    const barePort = Number(new URL(bare.url).port);
    r.log(`${NAME} (A ${ip}); ${IN_FLIGHT} queries in flight over UDP from one dns-packet client process; up to ${num(COUNT)} answers or ${TIME_LIMIT_MS / 1000} s per run;`);
    r.log(`${ROUNDS} interleaved rounds; the bare responder decodes, looks up a Map, encodes (dns-packet)`);
    const targets = [
      { name: 'timonel DNS', port: dnsPort, pid: server.pid, runs: [] as DnsLoadResult[] },
      { name: 'bare responder', port: barePort, pid: bare.pid, runs: [] as DnsLoadResult[] },
    ];
    const params = (port: number, count: number): DnsLoadParams => ({ port, name: NAME, expect: ip, count, inFlight: IN_FLIGHT, timeLimitMs: TIME_LIMIT_MS });
    for (const t of targets) await runLoad<DnsLoadResult>('dns', params(t.port, 5000), 30_000);
    for (let round = 0; round < ROUNDS; round++) {
      for (const t of targets) {
        const sampler = watchProcess(t.pid);
        const run = await runLoad<DnsLoadResult>('dns', params(t.port, COUNT), TIME_LIMIT_MS + 30_000);
        b.contention(sampler.stop(), `round ${round + 1} of ${t.name}`);
        const res = run.result;
        if (res.wrong) r.problem(`${t.name}: ${res.wrong} wrong answers, e.g. ${res.sample}`);
        if (res.lost) r.note(`${t.name} round ${round + 1}: ${res.lost} queries unanswered within 1 s (counted lost)`);
        if (run.cpuSeconds / run.wallSeconds > 0.9) r.note(`${t.name} round ${round + 1}: the load process used ${num((100 * run.cpuSeconds) / run.wallSeconds)}% of its core: the rate is a lower bound`);
        r.log(`  ${t.name} round ${round + 1}: ${num(res.qps)} queries/s, p50 ${ms(res.latencyMs.p50)}, p99 ${ms(res.latencyMs.p99)} (${num(res.answers)} answers in ${num(res.seconds, 1)} s)`);
        t.runs.push(res);
      }
    }
    b.alive(server, 'the DNS load');
    const [o, n] = targets.map((t) => {
      const answers = t.runs.reduce((a, x) => a + x.answers, 0);
      const seconds = t.runs.reduce((a, x) => a + x.seconds, 0);
      return { qps: answers / seconds, p99: t.runs.reduce((a, x) => a + x.latencyMs.p99, 0) / t.runs.length };
    });
    r.row({ metric: `DNS A queries/s for a Service name (${IN_FLIGHT} in flight)`, value: num(o.qps), baseline: `${num(n.qps)} (bare dns-packet)`, ratio: ratio(o.qps / n.qps) });
    r.row({ metric: 'DNS query p99 latency', value: ms(o.p99), baseline: ms(n.p99), ratio: ratio(o.p99 / n.p99) });
  } finally {
    await bare.stop();
  }
});
