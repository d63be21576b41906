// Baseline for bench/dns.ts: the least a dns-packet UDP server can do — decode the query, look the name
// up in a Map, encode the answer. Usage: node dns-bare.mjs NAME IP (prints a ready line like the others;
// the port in it is the UDP port).
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

const [name, ip] = process.argv.slice(2);
const records = new Map([[name.toLowerCase(), ip]]);
const socket = createSocket('udp4');
socket.on('message', (msg, rinfo) => {
  let q;
  try {
    q = dnsPacket.decode(msg);
  } catch {
    return;
  }
  const question = q.questions?.[0];
  const data = question && question.type === 'A' ? records.get(question.name.toLowerCase()) : undefined;
  const answer = dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (q.flags & dnsPacket.RECURSION_DESIRED) | (data || !question ? 0 : 3),
    questions: q.questions,
    answers: data ? [{ name: question.name, type: 'A', class: 'IN', ttl: 5, data }] : [],
  });
  socket.send(answer, rinfo.port, rinfo.address);
});
socket.bind(0, '127.0.0.1', () => {
  process.stdout.write(`bare dns-packet UDP responder ready at http://127.0.0.1:${socket.address().port} (UDP) in ${Math.round(performance.now())} ms\n`);
});
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
