// The node bridge on its own (as `timonel up` makes it before serving pods on its gateway): a test-only
// name and CIDR, idempotent, the gateway address bindable, removed afterwards. Needs root and iproute2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { ensureNodeBridge, linkExists, PodSandboxes } from '../../src/node/sandbox/index.js';
import { skipUnless } from '../helpers/skip.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const haveIp = spawnSync('ip', ['-V'], { stdio: 'ignore' }).status === 0;
const missing = process.getuid?.() !== 0 ? 'not root (bridges need root)' : !haveIp ? 'iproute2 (ip) not installed' : '';

test('ensureNodeBridge makes the bridge with the pod CIDR gateway, idempotently, and services can listen there', skipUnless(missing === '', missing), async () => {
  const tag = (process.pid % 100_000).toString(36);
  const bridge = `tmbr${tag}`.slice(0, 15);
  const cidr = `10.197.${process.pid % 250}.0/24`;
  const tmp = mkdtempSync(join(tmpdir(), 'timonel-bridge-'));
  try {
    const gateway = await ensureNodeBridge({ bridge, podCIDR: cidr, hostSysctls: false });
    assert.equal(gateway, cidr.replace(/0\/24$/, '1'));
    assert.equal(await ensureNodeBridge({ bridge, podCIDR: cidr, hostSysctls: false }), gateway);
    const addrs = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', bridge], { encoding: 'utf8' });
    assert.match(addrs, new RegExp(`inet ${gateway.replace(/\./g, '\\.')}/24 `));
    assert.equal(addrs.trim().split('\n').length, 1, 'one address, not one per call');
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, gateway, () => resolve()));
    await new Promise<void>((r) => server.close(() => r()));
    // a PodSandboxes of the same node takes the bridge as it is
    const sandboxes = new PodSandboxes({ stateDir: tmp, podCIDR: cidr, bridge, hostSysctls: false });
    await sandboxes.ensureBridge();
    assert.equal(sandboxes.gateway, gateway);
  } finally {
    if (await linkExists(bridge)) execFileSync('ip', ['link', 'delete', bridge, 'type', 'bridge']);
    rmSync(tmp, { recursive: true, force: true });
  }
  assert.equal(await linkExists(bridge), false);
});
