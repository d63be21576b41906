// The bundled `timonel` (scripts/bundle.ts, what bin/timonel runs), built from the current sources into a
// temp dir: lazy modules stay in chunks, native and lazily required packages stay external, and the bundle
// starts a cluster (first run with certificates, then on the existing data dir) that serves requests.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Metafile } from 'esbuild';
import { bundle, EXTERNAL_PACKAGES, REPO } from '../../scripts/bundle.js';

let dir = '';
let main = '';
let metafile: Metafile;
const children = new Set<ChildProcess>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'timonel-bundle-test-'));
  // the bundle finds its external packages in the node_modules above it, as in dist/bundle/
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  ({ main, metafile } = await bundle({ entry: join(REPO, 'src', 'cli', 'main.ts'), outdir: join(dir, 'bundle') }));
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 20_000 });

interface Started {
  child: ChildProcess;
  readyLine: string;
  stderr: () => string;
}

function startUp(dataDir: string, extra: string[]): Promise<Started> {
  const child = spawn(process.execPath, [main, 'up', '--data-dir', dataDir, '--port', '0', '--bind', '127.0.0.1', '--no-local-node', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 30 s; stderr:\n${err}`)), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ready; stderr:\n${err}`));
    });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => / ready at /.test(l));
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, readyLine: line, stderr: () => err });
    });
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const code = await exited;
  children.delete(child);
  return code;
}

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

/** A GET with the admin's client certificate from the data dir's kubeconfig, as kubectl sends it. */
function get(dataDir: string, path: string, accept = 'application/json'): Promise<{ status: number; type: string; body: Buffer }> {
  const kc = parseYaml(readFileSync(join(dataDir, 'kubeconfig.yaml'), 'utf8')) as Kubeconfig;
  const b64 = (s: string) => Buffer.from(s, 'base64');
  const url = new URL(path, kc.clusters[0].cluster.server);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
      cert: b64(kc.users[0].user['client-certificate-data']),
      key: b64(kc.users[0].user['client-key-data']),
      headers: { accept },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bundle', () => {
  const outputs = () => Object.entries(metafile.outputs).map(([path, o]) => ({ path: relative(join(dir, 'bundle'), path), ...o }));
  const containing = (pkg: string) => outputs().filter((o) => Object.keys(o.inputs).some((i) => i.includes(`node_modules/${pkg}/`)));

  test('native and lazily required packages are not bundled', () => {
    for (const pkg of EXTERNAL_PACKAGES) assert.deepEqual(containing(pkg).map((o) => o.path), [], pkg);
    const importsSqlite = outputs().some((o) => o.imports.some((i) => i.path === 'better-sqlite3' && i.external));
    assert.ok(importsSqlite, 'better-sqlite3 is imported at run time');
  });

  test('lazily imported modules stay in chunks loaded by import()', () => {
    const lazy = (pkg: string) => {
      const chunks = containing(pkg).map((o) => o.path);
      assert.equal(chunks.length, 1, `${pkg} in one chunk: ${chunks.join(', ')}`);
      assert.notEqual(chunks[0], 'timonel.js');
      const importers = outputs().flatMap((o) => o.imports.filter((i) => relative(join(dir, 'bundle'), i.path) === chunks[0] || i.path.endsWith(chunks[0])).map((i) => i.kind));
      assert.ok(importers.length > 0, `${pkg}'s chunk is imported`);
      assert.deepEqual([...new Set(importers)], ['dynamic-import'], `${pkg}'s chunk is only imported by import()`);
    };
    lazy('@peculiar/x509');
    // the API server itself: `timonel version` and `--help` do not load it
    const entry = outputs().find((o) => o.path === 'timonel.js');
    assert.ok(entry);
    assert.ok(!Object.keys(entry.inputs).some((i) => i.endsWith('cli/cluster.ts')), 'cluster.ts is not in the entry file');
  });

  test('commands run from the bundle', () => {
    const version = run('version');
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^timonel \d+\.\d+\.\d+ \(Kubernetes API v1\.\d+\)\n$/);
    const help = run('--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: timonel <command>/);
    const upHelp = run('up', '--help');
    assert.equal(upHelp.status, 0, upHelp.stderr);
    assert.match(upHelp.stdout, /--data-dir DIR/);
    assert.match(help.stdout, /^ {2}down \[--data-dir DIR\]/m);
    const downNowhere = run('down', '--data-dir', join(dir, 'no-cluster-here'));
    assert.equal(downNowhere.status, 1);
    assert.match(downNowhere.stderr, /no-cluster-here holds no cluster/);
    for (const [flag, value, why] of [
      ['--service-cidr', '10.42.0.0/16', /--service-cidr: 10\.42\.0\.0\/16 overlaps the pods' addresses/],
      ['--load-balancer-ips', '198.51.100.7,nope', /--load-balancer-ips: not an IPv4 address: "nope"/],
    ] as const) {
      const r = run('up', '--data-dir', join(dir, 'refused'), flag, value);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, why);
    }
    const bad = run('nonsense');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command "nonsense"/);
  });

  test('up: first run makes certificates, a restart reuses the data dir; both serve kubectl-like requests', async () => {
    const dataDir = join(dir, 'data');
    // ingress on free ports: its fallback certificate comes from the lazily loaded @peculiar/x509 chunk
    const first = await startUp(dataDir, ['--ingress-http-port', '0', '--ingress-https-port', '0']);
    try {
      assert.match(first.readyLine, /^Timonel API server ready at https:\/\/127\.0\.0\.1:\d+ in \d+ ms/);
      const version = await get(dataDir, '/version');
      assert.equal(version.status, 200);
      assert.match((JSON.parse(version.body.toString()) as { gitVersion: string }).gitVersion, /^v1\.\d+/);
      const ns = await get(dataDir, '/api/v1/namespaces/default');
      assert.equal(ns.status, 200, ns.body.toString());
      const obj = JSON.parse(ns.body.toString()) as { kind: string; metadata: { name: string } };
      assert.equal(obj.kind, 'Namespace');
      assert.equal(obj.metadata.name, 'default');
      // protobufjs, required at run time from beside the bundle
      const openapi = await get(dataDir, '/openapi/v2', 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf');
      assert.equal(openapi.status, 200, openapi.body.toString().slice(0, 300));
      assert.match(openapi.type, /protobuf/);
      assert.ok(openapi.body.length > 10_000);
      await waitFor('the ingress controller', () => /ingress controller \(class timonel\) listening/.test(first.stderr()) || /ingress controller not started/.test(first.stderr()));
      assert.doesNotMatch(first.stderr(), /ingress controller not started/);
    } finally {
      assert.equal(await stop(first.child), 0, first.stderr());
    }
    const again = await startUp(dataDir, ['--no-ingress']);
    try {
      assert.match(again.readyLine, / ready at https:/);
      const ns = await get(dataDir, '/api/v1/namespaces/kube-system');
      assert.equal(ns.status, 200, ns.body.toString());
      assert.equal((JSON.parse(ns.body.toString()) as { kind: string }).kind, 'Namespace');
    } finally {
      assert.equal(await stop(again.child), 0, again.stderr());
    }
  });
});
