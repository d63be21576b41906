// A container outlives the process that started it (the agent's shim and stdio FIFOs): another
// process's runtime adopts it, goes on reading its output into the same CRI log and learns its exit
// code; one that ended while no process watched reports the exit code the shim recorded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOCISpec, CLIRuntime, cleanupRootfs, containerCgroupPath, detectRuntime, prepareRootfs, removeCgroup } from '../../src/node/runtime/index.js';
import { haveBusyboxStatic, tempBusyboxLayer } from '../helpers/rootfs.js';
import { skipUnless } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const detection = isRoot ? detectRuntime({ preferred: 'crun', stateDir: tmpdir() }) : undefined;
const missing = !isRoot ? 'not root (real containers need root)' : !haveBusyboxStatic() ? 'busybox-static (scripts/setup.sh installs it)' : !detection?.ok ? 'crun' : '';
const runtimeIndex = fileURLToPath(new URL('../../src/node/runtime/index.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('containers adopted from another process', skipUnless(missing === '', missing), () => {
  let tmp = '';
  let removeLayer = () => {};
  let layer = '';
  let rootDir = '';
  let binary = '';
  const cgroupParent = `/timonel-test-readopt-${process.pid}`;
  const dirs: string[] = [];
  const ids: string[] = [];

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'timonel-readopt-'));
    const l = tempBusyboxLayer();
    layer = l.layer;
    removeLayer = l.remove;
    rootDir = join(tmp, 'state');
    binary = detection!.ok ? detection!.binary : '';
    mkdirSync(join(tmp, 'sandbox'));
    writeFileSync(join(tmp, 'sandbox', 'hosts'), '127.0.0.1 localhost\n');
    writeFileSync(join(tmp, 'sandbox', 'resolv.conf'), '');
    writeFileSync(join(tmp, 'sandbox', 'hostname'), 'readopt\n');
  });

  after(async () => {
    const rt = new CLIRuntime('crun', binary, rootDir);
    for (const id of ids) await rt.delete(id, { force: true }).catch(() => {});
    for (const d of dirs) await cleanupRootfs(d).catch(() => {});
    removeCgroup(cgroupParent);
    removeLayer();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Prepares a bundle, then starts it from a separate Node process that exits right away. */
  async function startElsewhere(name: string, script: string): Promise<{ id: string; dir: string; logPath: string }> {
    const id = `tmt-${process.pid}-${name}`;
    const dir = join(tmp, 'containers', id);
    mkdirSync(dir, { recursive: true });
    dirs.push(dir);
    ids.push(id);
    const { rootfs } = await prepareRootfs([layer], dir);
    const spec = buildOCISpec({ container: { name, command: ['sh', '-c', script] }, rootfs, sandbox: { hostNetwork: true, hostname: 'readopt', dir: join(tmp, 'sandbox') }, cgroupsPath: containerCgroupPath(cgroupParent, 'pod', id) });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    const logPath = join(dir, 'container.log');
    const code = `import { CLIRuntime } from ${JSON.stringify(runtimeIndex)};
const rt = new CLIRuntime('crun', ${JSON.stringify(binary)}, ${JSON.stringify(rootDir)});
await rt.create(${JSON.stringify(id)}, ${JSON.stringify(dir)}, { pidFile: ${JSON.stringify(join(dir, 'pid'))}, logPath: ${JSON.stringify(logPath)} });
await rt.start(${JSON.stringify(id)});
await new Promise((r) => setTimeout(r, 300));
process.exit(0);`;
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 30_000 }, (err, _o, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve())),
    );
    return { id, dir, logPath };
  }

  const logTexts = (path: string) =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ').slice(3).join(' '));

  test('a running container: output goes on into the same log, wait() gives its exit code', async () => {
    const c = await startElsewhere('runs', 'echo one; sleep 1.5; echo two; exit 7');
    const rt = new CLIRuntime('crun', binary, rootDir);
    const s = await rt.adopt(c.id, c.dir, { pidFile: join(c.dir, 'pid'), logPath: c.logPath });
    assert.equal(s?.status, 'running');
    const end = await rt.wait(c.id);
    assert.equal(end?.exitCode, 7);
    assert.equal(end?.reason, 'Error');
    assert.deepEqual(logTexts(c.logPath), ['one', 'two']);
    await rt.delete(c.id);
  });

  test('a container that ended while no process watched: the recorded exit code', async () => {
    const c = await startElsewhere('ended', 'echo bye; exit 5');
    await sleep(1000);
    const rt = new CLIRuntime('crun', binary, rootDir);
    const s = await rt.adopt(c.id, c.dir, { pidFile: join(c.dir, 'pid'), logPath: c.logPath });
    assert.equal(s?.status, 'stopped');
    assert.equal(s?.exitCode, 5);
    assert.ok(s?.finishedAt instanceof Date);
    assert.equal(await rt.adopt('unknown-container', join(tmp, 'nowhere'), { pidFile: join(tmp, 'nowhere', 'pid') }), undefined);
  });
});
