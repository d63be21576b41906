// Pod start-up cost: a pod's sandbox is set up with two `ip` processes and removed with one (a spawn
// costs tens of milliseconds on a busy node), and a failing batch names the failing command. The
// processes are counted by a wrapper `ip` put first on PATH. Network parts need root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipBatch, linkExists, PodSandboxes } from '../../src/node/sandbox/index.js';
import { skipUnless } from '../helpers/skip.js';

const ipPath = spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim();
const isRoot = process.getuid?.() === 0;

test('ipBatch names the failing command and its message', skipUnless(ipPath !== '', 'iproute2 (ip) not installed'), async () => {
  await ipBatch([['link', 'show', 'dev', 'lo']]);
  await assert.rejects(ipBatch([['link', 'show', 'dev', 'lo'], ['link', 'show', 'dev', 'tmno-such-link']]), (e: Error) => {
    assert.match(e.message, /^ip link show dev tmno-such-link: /);
    assert.match(e.message, /does not exist/);
    return true;
  });
  // with force, the commands after a failing one still run
  await assert.rejects(ipBatch([['link', 'show', 'dev', 'tmno-such-link'], ['link', 'show', 'dev', 'tmno-other-link']], undefined, { force: true }), (e: Error) => {
    assert.match(e.message, /^ip link show dev tmno-such-link: /);
    assert.match(e.message, /"tmno-other-link" does not exist/);
    return true;
  });
});

test('linkExists', () => {
  assert.equal(linkExists('lo'), true);
  assert.equal(linkExists('tmno-such-link'), false);
});

describe('sandbox process count', skipUnless(isRoot && ipPath !== '', 'root and iproute2 (ip) needed'), () => {
  const tag = (process.pid % 100_000).toString(36);
  const bridge = `tmsb${tag}`.slice(0, 15);
  const prefix = `tmsb-${tag}-`;
  const uid = `0b0b0b0b-${process.pid}`;
  let tmp = '';
  let calls = '';
  let sandboxes: PodSandboxes;
  const savedPath = process.env.PATH;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'timonel-sandbox-batch-'));
    const bin = join(tmp, 'bin');
    mkdirSync(bin);
    calls = join(tmp, 'calls');
    writeFileSync(join(bin, 'ip'), `#!/bin/sh\necho "$*" >> ${calls}\nexec ${ipPath} "$@"\n`);
    chmodSync(join(bin, 'ip'), 0o755);
    process.env.PATH = `${bin}:${savedPath}`;
    sandboxes = new PodSandboxes({ stateDir: join(tmp, 'state'), podCIDR: `10.198.${process.pid % 250}.0/24`, bridge, netnsPrefix: prefix, hostSysctls: false });
  });

  after(async () => {
    process.env.PATH = savedPath;
    await sandboxes.destroySandbox(uid).catch(() => {});
    await sandboxes.deleteBridge().catch(() => {});
    if (existsSync(`/run/netns/${prefix}${uid}`)) spawnSync(ipPath, ['netns', 'delete', `${prefix}${uid}`]);
    rmSync(tmp, { recursive: true, force: true });
  });

  const spawned = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean) : []);

  test('two ip processes to create, one to destroy', async () => {
    await sandboxes.ensureBridge();
    rmSync(calls, { force: true });
    const s = await sandboxes.createSandbox(uid, { name: 'p', namespace: 'default' });
    assert.deepEqual(spawned(), ['-batch -', `-n ${prefix}${uid} -batch -`]);
    const addr = spawnSync(ipPath, ['-n', s.netnsName!, '-4', '-o', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).stdout;
    assert.match(addr, new RegExp(`inet ${s.ip.replace(/\./g, '\\.')}/24`));
    const route = spawnSync(ipPath, ['-n', s.netnsName!, 'route', 'show', 'default'], { encoding: 'utf8' }).stdout;
    assert.match(route, new RegExp(`via ${sandboxes.gateway.replace(/\./g, '\\.')} dev eth0`));
    const port = spawnSync(ipPath, ['-d', '-o', 'link', 'show', 'dev', s.hostVeth!], { encoding: 'utf8' }).stdout;
    assert.match(port, new RegExp(`master ${bridge}`));
    assert.match(port, /hairpin on/);
    assert.match(port, /state (UP|LOWERLAYERDOWN)|,UP/);

    // idempotent: the netns and veth are there already
    rmSync(calls, { force: true });
    await sandboxes.createSandbox(uid, { name: 'p', namespace: 'default' });
    assert.equal(spawned().length, 2);

    rmSync(calls, { force: true });
    await sandboxes.destroySandbox(uid);
    assert.deepEqual(spawned(), ['-force -batch -']);
    assert.equal(existsSync(`/run/netns/${prefix}${uid}`), false);
    assert.equal(linkExists(s.hostVeth!), false);
  });
});
