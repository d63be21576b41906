// `timonel up` runs the cluster DNS server: its address is printed, and real `dig` resolves Services there.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { spawnServer, type SpawnedServer } from '../helpers/cluster.js';
import { poll, waitForLine } from '../helpers/wait.js';
import { skipUnless } from '../helpers/skip.js';

const run = promisify(execFile);
const DIG = '/usr/bin/dig';

describe('timonel up with cluster DNS', () => {
  let server: SpawnedServer | undefined;
  after(async () => {
    await server?.stop();
  });

  it('prints where DNS answers, and dig resolves the kubernetes Service and a new one', skipUnless(existsSync(DIG), 'dig (Debian bind9-dnsutils)'), async () => {
    server = await spawnServer(['--insecure-http']);
    const line = await waitForLine(() => server!.output(), /cluster DNS answering on ([\d.]+):(\d+)/, 15_000);
    const [, address, port] = line;
    const dig = async (name: string, type = 'A') => (await run(DIG, [`@${address}`, '-p', port, '+short', '+time=2', '+tries=2', name, type])).stdout.trim();
    assert.equal(await dig('kubernetes.default.svc.cluster.local'), '10.43.0.1');
    await server.kubectlOk(['create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
    const ip = (await server.kubectlOk(['get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    const answered = await poll(async () => ((await dig('web.default.svc.cluster.local')) === ip ? ip : undefined));
    assert.equal(answered, ip);
    assert.match(await dig('_80-8080._tcp.web.default.svc.cluster.local', 'SRV'), /^0 100 80 web\.default\.svc\.cluster\.local\.$/);
    const nx = await run(DIG, [`@${address}`, '-p', port, '+time=2', 'nothing.default.svc.cluster.local']);
    assert.match(nx.stdout, /status: NXDOMAIN/);
    assert.equal(await ttl(address, port), 5, 'the default TTL');
  });

  it('answers with the TTL of --dns-ttl; a TTL out of range is refused', skipUnless(existsSync(DIG), 'dig (Debian bind9-dnsutils)'), async () => {
    const other = await spawnServer(['--insecure-http', '--no-ingress', '--dns-ttl', '30']);
    try {
      const [, address, port] = await waitForLine(() => other.output(), /cluster DNS answering on ([\d.]+):(\d+)/, 15_000);
      assert.equal(await ttl(address, port), 30);
    } finally {
      await other.stop();
    }
    await assert.rejects(() => spawnServer(['--insecure-http', '--no-ingress', '--dns-ttl', '86400']), /--dns-ttl: seconds from 0 to 3600, not "86400"/);
  });
});

/** The TTL of the kubernetes Service's A record, as dig prints it. */
async function ttl(address: string, port: string): Promise<number> {
  const out = (await run(DIG, [`@${address}`, '-p', port, '+noall', '+answer', '+time=2', 'kubernetes.default.svc.cluster.local'])).stdout;
  const m = /^kubernetes\.default\.svc\.cluster\.local\.\s+(\d+)\s+IN\s+A\s/m.exec(out);
  assert.ok(m, out);
  return Number(m[1]);
}

