// Pod sandboxes on a test-only bridge and CIDR (never timonel0): distinct IPs, pod-to-pod and
// host-to-pod traffic over the bridge, IPAM that survives reopening, and full cleanup. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOCISpec, cleanupRootfs, detectRuntime, prepareRootfs, removeCgroup, type OCIRuntime } from '../../src/node/runtime/index.js';
import { linkExists, PodIPAM, PodSandboxes, type PodSandbox } from '../../src/node/sandbox/index.js';
import { haveBusyboxStatic, tempBusyboxLayer } from '../helpers/rootfs.js';
import { skipUnless } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const haveIp = spawnSync('ip', ['-V'], { stdio: 'ignore' }).status === 0;
const detection = isRoot ? detectRuntime({ stateDir: tmpdir() }) : undefined;
const missing = !isRoot
  ? 'not root (network namespaces and bridges need root)'
  : !haveIp
    ? 'iproute2 (ip) not installed'
    : !haveBusyboxStatic()
      ? 'busybox-static not installed (scripts/setup.sh installs it)'
      : !detection?.ok
        ? `no OCI runtime: ${detection && !detection.ok ? detection.reason : ''}`
        : '';

describe('pod sandboxes', skipUnless(missing === '', missing), () => {
  const tag = (process.pid % 100_000).toString(36);
  const bridge = `tmtest${tag}`.slice(0, 15);
  const cidr = `10.199.${process.pid % 250}.0/24`;
  const prefix = `tmtest-${tag}-`;
  let tmp = '';
  let sandboxes: PodSandboxes;
  let runtime: OCIRuntime;
  let removeLayer = () => {};
  let layer = '';
  const made: string[] = [];
  let a: PodSandbox;
  let b: PodSandbox;
  const containerID = `tmt-net-${process.pid}`;
  const cgroupParent = `/timonel-test-net-${process.pid}`;
  let containerDir = '';

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'timonel-sandbox-'));
    sandboxes = new PodSandboxes({ stateDir: join(tmp, 'state'), podCIDR: cidr, bridge, netnsPrefix: prefix, hostSysctls: false });
    const l = tempBusyboxLayer();
    layer = l.layer;
    removeLayer = l.remove;
    const d = detectRuntime({ stateDir: join(tmp, 'runtime') });
    assert.ok(d.ok, d.ok ? '' : d.reason);
    runtime = d.runtime;
  });

  after(async () => {
    await runtime?.delete(containerID, { force: true }).catch(() => {});
    if (containerDir) await cleanupRootfs(containerDir).catch(() => {});
    removeCgroup(cgroupParent);
    for (const uid of made) await sandboxes.destroySandbox(uid).catch(() => {});
    await sandboxes.deleteBridge().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
    removeLayer();
  });

  test('two sandboxes get distinct IPs from the CIDR, with the pod files', async () => {
    made.push('uid-a', 'uid-b');
    a = await sandboxes.createSandbox('uid-a', { name: 'pod-a', namespace: 'default', dnsServers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] });
    b = await sandboxes.createSandbox('uid-b', { name: 'pod-b', namespace: 'default' });
    assert.notEqual(a.ip, b.ip);
    const net = cidr.split('.').slice(0, 3).join('.');
    assert.ok(a.ip.startsWith(`${net}.`) && b.ip.startsWith(`${net}.`));
    assert.notEqual(a.ip, `${net}.1`);
    assert.ok(existsSync(a.netnsPath!));
    assert.match(readFileSync(join(a.dir, 'hosts'), 'utf8'), new RegExp(`^${a.ip.replace(/\./g, '\\.')}\tpod-a$`, 'm'));
    assert.equal(readFileSync(join(a.dir, 'resolv.conf'), 'utf8'), 'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    assert.equal(readFileSync(join(a.dir, 'hostname'), 'utf8'), 'pod-a\n');
    const addr = execFileSync('ip', ['-n', a.netnsName!, '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
    assert.match(addr, new RegExp(`inet ${a.ip.replace(/\./g, '\\.')}/24`));
    assert.equal((await sandboxes.createSandbox('uid-a', { name: 'pod-a', namespace: 'default' })).ip, a.ip, 'creating again is idempotent');
  });

  test('an HTTP server in sandbox A is reachable by pod IP from sandbox B and from the host', async () => {
    containerDir = join(tmp, 'containers', containerID);
    mkdirSync(containerDir, { recursive: true });
    writeFileSync(join(layer, 'var/www/index.html'), 'hello from pod-a\n');
    const { rootfs } = await prepareRootfs([layer], containerDir);
    const spec = buildOCISpec({
      container: { name: 'web', image: 'busybox', command: ['httpd', '-f', '-p', '8080', '-h', '/var/www'] },
      rootfs,
      sandbox: { hostNetwork: false, netnsPath: a.netnsPath, hostname: a.hostname, dir: a.dir },
      cgroupsPath: `${cgroupParent}/${containerID}`,
    });
    writeFileSync(join(containerDir, 'config.json'), JSON.stringify(spec));
    await runtime.create(containerID, containerDir, { pidFile: join(containerDir, 'pid'), logPath: join(containerDir, 'log') });
    await runtime.start(containerID);
    const wget = async (args: string[]) => {
      for (let i = 0; ; i++) {
        try {
          return execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
        } catch (err) {
          if (i >= 50) {
            const log = existsSync(join(containerDir, 'log')) ? readFileSync(join(containerDir, 'log'), 'utf8') : '';
            throw new Error(`${(err as Error).message}\nstatus: ${String((err as { status?: number }).status)} signal: ${String((err as { signal?: string }).signal)} stderr: ${String((err as { stderr?: string }).stderr)}\nstate: ${JSON.stringify(await runtime.state(containerID))}\nlog: ${log}`);
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const fromB = await wget(['ip', 'netns', 'exec', b.netnsName!, '/bin/busybox', 'wget', '-q', '-O', '-', `http://${a.ip}:8080/index.html`]);
    assert.equal(fromB, 'hello from pod-a\n');
    const fromHost = await wget(['/bin/busybox', 'wget', '-q', '-O', '-', `http://${a.ip}:8080/index.html`]);
    assert.equal(fromHost, 'hello from pod-a\n');
    // busybox httpd listens on a dual-stack socket, listed in tcp6.
    const inside = execFileSync('ip', ['netns', 'exec', a.netnsName!, 'cat', '/proc/net/tcp', '/proc/net/tcp6'], { encoding: 'utf8' });
    assert.match(inside, /:1F90 /, 'httpd listens on 8080 inside the pod netns');
    await runtime.delete(containerID, { force: true });
    await cleanupRootfs(containerDir);
  });

  test('IPAM allocations survive reopening and an address is not reused while held', () => {
    const reopened = new PodIPAM(join(tmp, 'state', 'ipam.json'), cidr);
    assert.equal(reopened.ipOf('uid-a'), a.ip);
    assert.equal(reopened.ipOf('uid-b'), b.ip);
    const c = reopened.allocate('uid-c');
    assert.ok(![a.ip, b.ip].includes(c));
    reopened.release('uid-c');
    assert.throws(() => new PodIPAM(join(tmp, 'state', 'ipam.json'), '10.198.0.0/24'), /holds allocations/);
    const small = new PodIPAM(join(tmp, 'small.json'), '10.199.251.0/30');
    assert.equal(small.allocate('x'), '10.199.251.2');
    assert.throws(() => small.allocate('y'), /no free pod IP/);
  });

  test('destroying a sandbox removes its netns, veth and allocation', async () => {
    for (const s of [a, b]) {
      await sandboxes.destroySandbox(s.podUID);
      assert.ok(!existsSync(s.netnsPath!), `${s.netnsPath} still exists`);
      assert.ok(!(await linkExists(s.hostVeth!)), `${s.hostVeth} still exists`);
      assert.equal(sandboxes.ipam.ipOf(s.podUID), undefined);
      assert.ok(!existsSync(s.dir));
    }
    const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.ok(!netns.includes(prefix), netns);
    const links = execFileSync('ip', ['-o', 'link', 'show', 'master', bridge], { encoding: 'utf8' });
    assert.equal(links.trim(), '');
  });
});
