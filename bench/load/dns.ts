// Load job of bench/dns.ts (run in its own process): A queries for one name over UDP with dns-packet,
// `inFlight` outstanding at a time, until `count` answers or `timeLimitMs`. A query unanswered after
// `lossMs` counts as lost and its slot asks again.
import { createSocket } from 'node:dgram';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { loadJob } from '../lib/load.js';
import { summarize, type Summary } from '../lib/stats.js';

export interface DnsLoadParams {
  port: number;
  name: string;
  /** the A record every answer must hold */
  expect: string;
  count: number;
  inFlight: number;
  timeLimitMs: number;
  lossMs?: number;
}

export interface DnsLoadResult {
  answers: number;
  wrong: number;
  lost: number;
  seconds: number;
  qps: number;
  latencyMs: Summary;
  /** the first wrong answer, for the report */
  sample?: string;
}

loadJob(async (p: DnsLoadParams): Promise<DnsLoadResult> => {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => socket.connect(p.port, '127.0.0.1', () => r()));
  const query = dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: p.name }] });
  const lossMs = p.lossMs ?? 1000;
  // id → send time (ms), 0 = free
  const sentAt = new Float64Array(65536);
  const latencies = new Float64Array(p.count);
  let nextId = 1;
  let answers = 0;
  let wrong = 0;
  let lost = 0;
  let outstanding = 0;
  let sample: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + p.timeLimitMs;

  return new Promise<DnsLoadResult>((resolve) => {
    const send = () => {
      if (answers + outstanding >= p.count || performance.now() > deadline) return;
      let id = nextId;
      while (sentAt[id] !== 0) id = (id + 1) & 0xffff || 1;
      nextId = (id + 1) & 0xffff || 1;
      // send() copies the bytes later: each query needs its own buffer
      const q = Buffer.from(query);
      q.writeUInt16BE(id, 0);
      sentAt[id] = performance.now();
      outstanding++;
      socket.send(q);
    };
    const finish = () => {
      clearInterval(sweeper);
      socket.close();
      const seconds = (performance.now() - t0) / 1000;
      resolve({ answers, wrong, lost, seconds, qps: answers / seconds, latencyMs: summarize(Array.from(latencies.subarray(0, Math.min(answers, p.count)))), sample });
    };
    const maybeDone = () => {
      if (outstanding === 0 && (answers >= p.count || performance.now() > deadline)) finish();
    };
    socket.on('message', (msg) => {
      const now = performance.now();
      const id = msg.readUInt16BE(0);
      const at = sentAt[id];
      if (at === 0) return; // already counted lost
      sentAt[id] = 0;
      outstanding--;
      if (answers < p.count) latencies[answers] = now - at;
      answers++;
      // dns-packet decodes the rcode too; its typings leave it out
      const r = dnsPacket.decode(msg) as DecodedPacket & { rcode?: string };
      const a = r.answers?.find((x) => x.type === 'A') as { data?: unknown } | undefined;
      if (r.rcode !== 'NOERROR' || !a || a.data !== p.expect) {
        wrong++;
        sample ??= `${r.rcode} ${JSON.stringify(r.answers)}`;
      }
      send();
      maybeDone();
    });
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (let id = 1; id < 65536; id++) {
        if (sentAt[id] !== 0 && now - sentAt[id] > lossMs) {
          sentAt[id] = 0;
          outstanding--;
          lost++;
          send();
        }
      }
      maybeDone();
    }, 100);
    for (let i = 0; i < p.inFlight; i++) send();
  });
});
