// Pod start-up cost in the OCI runtime driver: after the first container, a start spawns no `mkfifo`
// (stdio FIFOs made ahead of time are moved into the bundle) and the output still reaches the log;
// creating a container that exists is still refused. `mkfifo` is counted by a wrapper first on PATH.
// Needs root and crun.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOCISpec, cleanupRootfs, CLIRuntime, containerCgroupPath, prepareRootfs, removeCgroup } from '../../src/node/runtime/index.js';
import { haveBusyboxStatic, tempBusyboxLayer } from '../helpers/rootfs.js';
import { skipUnless } from '../helpers/skip.js';

const isRoot = process.getuid?.() === 0;
const crun = spawnSync('sh', ['-c', 'command -v crun'], { encoding: 'utf8' }).stdout.trim();
const mkfifo = spawnSync('sh', ['-c', 'command -v mkfifo'], { encoding: 'utf8' }).stdout.trim();
const missing = !isRoot ? 'not root (real containers need root)' : !crun ? 'crun not installed' : !haveBusyboxStatic() ? 'busybox-static not installed' : '';

let tmp = '';
let layer = '';
let removeLayer = () => {};
let runtime: CLIRuntime;
let calls = '';
const savedPath = process.env.PATH;
const cgroupParent = `/timonel-test-start-${process.pid}`;
const ids: string[] = [];
const dirs: string[] = [];

before(() => {
  if (missing) return;
  tmp = mkdtempSync(join(tmpdir(), 'timonel-runtime-start-'));
  const l = tempBusyboxLayer();
  layer = l.layer;
  removeLayer = l.remove;
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  calls = join(tmp, 'mkfifo-calls');
  writeFileSync(join(bin, 'mkfifo'), `#!/bin/sh\necho "$*" >> ${calls}\nexec ${mkfifo} "$@"\n`);
  chmodSync(join(bin, 'mkfifo'), 0o755);
  process.env.PATH = `${bin}:${savedPath}`;
  mkdirSync(join(tmp, 'sandbox'));
  for (const f of ['hosts', 'resolv.conf', 'hostname']) writeFileSync(join(tmp, 'sandbox', f), '');
  runtime = new CLIRuntime('crun', crun, join(tmp, 'state', 'crun'));
});

after(async () => {
  process.env.PATH = savedPath;
  if (missing) return;
  for (const id of ids) await runtime.delete(id, { force: true }).catch(() => {});
  for (const d of dirs) await cleanupRootfs(d).catch(() => {});
  removeCgroup(cgroupParent);
  rmSync(tmp, { recursive: true, force: true });
  removeLayer();
});

const mkfifoCalls = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean).length : 0);

async function run(n: number): Promise<string> {
  const id = `tmt-start-${process.pid}-${n}`;
  const dir = join(tmp, 'pods', id);
  mkdirSync(dir, { recursive: true });
  dirs.push(dir);
  const { rootfs } = await prepareRootfs([layer], dir);
  const spec = buildOCISpec({
    container: { name: 'c', image: 'busybox', command: ['sh', '-c', `echo out-${n}; echo err-${n} >&2`] },
    rootfs,
    sandbox: { hostNetwork: true, hostname: 'h', dir: join(tmp, 'sandbox') },
    cgroupsPath: containerCgroupPath(cgroupParent, 'pod', id),
  });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  const logPath = join(dir, 'c.log');
  ids.push(id);
  await runtime.create(id, dir, { pidFile: join(dir, 'pid'), logPath });
  await runtime.start(id);
  const s = await runtime.wait(id);
  assert.equal(s?.exitCode, 0);
  return readFileSync(logPath, 'utf8');
}

test('starts after the first spawn no mkfifo; output reaches the log', skipUnless(missing === '', missing), async () => {
  const first = await run(1);
  assert.match(first, / stdout F out-1\n/);
  assert.match(first, / stderr F err-1\n/);
  const spares = `${runtime.rootDir}-fifos`;
  for (let i = 0; i < 200 && !(existsSync(spares) && readdirSync(spares).length >= 2); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(readdirSync(spares).length >= 2, 'no spare FIFOs were made');
  const before = mkfifoCalls();
  assert.ok(before >= 1);
  for (const n of [2, 3]) {
    const log = await run(n);
    assert.match(log, new RegExp(` stdout F out-${n}\\n`));
    assert.match(log, new RegExp(` stderr F err-${n}\\n`));
  }
  assert.equal(mkfifoCalls(), before, 'a start with spares left spawned mkfifo');
});

test('create refuses an ID the runtime already runs, and ignores a stale state dir', skipUnless(missing === '', missing), async () => {
  const id = `tmt-start-${process.pid}-held`;
  const dir = join(tmp, 'pods', id);
  mkdirSync(dir, { recursive: true });
  dirs.push(dir);
  const { rootfs } = await prepareRootfs([layer], dir);
  const spec = buildOCISpec({
    container: { name: 'c', image: 'busybox', command: ['sleep', '30'] },
    rootfs,
    sandbox: { hostNetwork: true, hostname: 'h', dir: join(tmp, 'sandbox') },
    cgroupsPath: containerCgroupPath(cgroupParent, 'pod', id),
  });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  ids.push(id);
  await runtime.create(id, dir, { pidFile: join(dir, 'pid') });
  await runtime.start(id);
  // another driver on the same root (an agent restarted) does not know it, but crun does
  const other = new CLIRuntime('crun', crun, runtime.rootDir);
  await assert.rejects(other.create(id, dir, { pidFile: join(dir, 'pid2') }), /already exists in crun/);
  mkdirSync(join(runtime.rootDir, 'tmt-stale'), { recursive: true });
  await other.create('tmt-stale', dir, { pidFile: join(dir, 'pid3') });
  await runtime.delete(id, { force: true });
});
