// Terminal sessions and container stdin on real pods (crun + the node agent in process): exec with a
// pty that follows resizes, attach -i into containers with stdin (and stdinOnce), kubectl 1.20 exec
// over SPDY, and `kubectl logs -f` across container log rotations. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { ImageStore } from '../../src/node/images/index.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';
import { LocalNodeHarness, realPodsMissing, kubectlOrDump } from './pod-harness.js';
import { eventually } from './support.js';

const missing = realPodsMissing();

/** An OCI layout of one image `ref` with one small layer. */
function tinyLayout(dir: string, ref: string): string {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(dir, 'src', 'hello'), ref);
  execFileSync('tar', ['-cf', join(dir, 'layer.tar'), '-C', join(dir, 'src'), '.']);
  const put = (b: Buffer) => {
    const hex = createHash('sha256').update(b).digest('hex');
    writeFileSync(join(blobs, hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const layer = put(readFileSync(join(dir, 'layer.tar')));
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } })));
  const manifest = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }] })));
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
  return dir;
}

const LOG_MAX_SIZE = 4096;

describe('terminals, stdin and log rotation on real pods', skipUnless(missing === '', missing), () => {
  /** what the agent's image GC is told of the image filesystem: 95% or 10% used */
  let imageFsFull = false;
  const h = new LocalNodeHarness(
    'es',
    193,
    {
      containerLogMaxSize: LOG_MAX_SIZE,
      containerLogMaxFiles: 3,
      imageGC: { periodMs: 300, minAgeMs: 0, fsStats: () => (imageFsFull ? { capacityBytes: 100, availableBytes: 5 } : { capacityBytes: 100, availableBytes: 90 }) },
    },
    { registry: true, streaming: true, cluster: { insecureHttp: false, controllers: true }, groups: ['system:masters', 'system:nodes'] },
  );

  const podYAML = (name: string, command: string, extra = '', restartPolicy = 'Always') => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  restartPolicy: ${restartPolicy}
  containers:
  - name: main
    image: ${h.image}
    command: [sh, -c, '${command}']
${extra}`;

  const waitRunning = (name: string) => h.until(name, 'running', (p) => p.status?.containerStatuses?.[0]?.state?.running !== undefined, 60_000);

  before(async () => {
    await h.start();
    await kubectl(['apply', '-f', '-'], '1.33', podYAML('box', 'while true; do sleep 1; done'));
    await waitRunning('box');
  });

  after(() => h.close());

  const kubectl = (args: string[], version = '1.33', stdin?: string, timeoutMs?: number) => kubectlOrDump(h.kubeconfig, args, version, stdin, timeoutMs);

  /** kubectl left running; its output accumulates in `out` */
  const background = (args: string[]) => {
    const child = spawn(kubectlPath('1.33')!, [`--kubeconfig=${h.kubeconfig}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const s = { child, out: '', err: '' };
    child.stdout.on('data', (d: Buffer) => (s.out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (s.err += d.toString()));
    child.stdin.on('error', () => {});
    return s;
  };

  test('exec with a terminal gets a pty that follows resizes (client-node, channel 4)', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(h.kubeconfig);
    let out = '';
    const terminal = Object.assign(
      new Writable({
        write(chunk: Buffer, _e, cb) {
          out += chunk.toString();
          cb();
        },
      }),
      { rows: 30, columns: 100 },
    );
    const stdin = new PassThrough();
    const status = new Promise<V1Status>((resolve, reject) => {
      new Exec(kc).exec('default', 'box', 'main', ['sh', '-c', 'read a; stty size; read b; stty size; tty'], terminal, null, stdin, true, resolve).catch(reject);
    });
    await new Promise((r) => setTimeout(r, 500));
    stdin.write('one\n');
    await eventually('the first size', () => /30 100\r\n/.test(out), 10_000).catch((e: Error) => assert.fail(`${e.message}: ${JSON.stringify(out)}`));
    terminal.rows = 50;
    terminal.columns = 132;
    terminal.emit('resize');
    await new Promise((r) => setTimeout(r, 300));
    stdin.write('two\n');
    const s = await status;
    assert.equal(s.status, 'Success', JSON.stringify(s));
    assert.match(out, /one\r\n30 100\r\ntwo\r\n50 132\r\n\/dev\/pts\/\d+\r\n$/, JSON.stringify(out));
  });

  test('exec -t: the command exits with its code and the pty is not the host terminal', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(h.kubeconfig);
    let out = '';
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc)
        .exec('default', 'box', 'main', ['sh', '-c', 'test -t 0 && test -t 1 && echo on-a-tty; exit 4'], new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) }), null, null, true, resolve)
        .catch(reject);
    });
    assert.equal(out, 'on-a-tty\r\n');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.equal(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message, '4');
  });

  test('kubectl attach -i writes to the stdin of a container with stdin: true, which stays open', async () => {
    await kubectl(['apply', '-f', '-'], '1.33', podYAML('reader', 'while read l; do echo got:$l; done; echo stdin-closed', '    stdin: true'));
    await waitRunning('reader');
    for (const word of ['hello', 'again']) {
      const a = background(['attach', '-i', 'reader']);
      try {
        await new Promise((r) => setTimeout(r, 500));
        a.child.stdin.write(`${word}\n`);
        await eventually(`got:${word}`, () => a.out.includes(`got:${word}\n`), 15_000).catch((e: Error) => assert.fail(`${e.message}: ${a.out} ${a.err}`));
      } finally {
        a.child.kill('SIGKILL');
      }
    }
    const logs = await kubectl(['logs', 'reader']);
    assert.equal(logs.stdout, 'got:hello\ngot:again\n');
    assert.equal((await h.pods.get('reader')).status?.containerStatuses?.[0]?.state?.running !== undefined, true);
  });

  test('kubectl attach -i with stdinOnce: the end of the first session closes the container stdin', async () => {
    await kubectl(['apply', '-f', '-'], '1.33', podYAML('once', 'while read l; do echo got:$l; done; echo stdin-closed', '    stdin: true\n    stdinOnce: true', 'Never'));
    await waitRunning('once');
    const a = background(['attach', '-i', 'once']);
    let code: number | null = null;
    const exited = new Promise<void>((r) => a.child.on('exit', (c) => ((code = c), r())));
    try {
      await new Promise((r) => setTimeout(r, 500));
      a.child.stdin.end('first\nsecond\n');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      assert.equal(code, 0, `${a.out}\n${a.err}`);
      assert.equal(a.out, 'got:first\ngot:second\nstdin-closed\n');
    } finally {
      a.child.kill('SIGKILL');
    }
    await eventually('once Succeeded', async () => (await h.pods.get('once')).status?.phase === 'Succeeded', 15_000);
  });

  test('kubectl 1.20 exec over SPDY: output, stderr, exit code and stdin', skipUnless(kubectlPath('1.20') !== undefined, 'kubectl 1.20 (scripts/setup.sh)'), async () => {
    const r = await kubectl(['exec', 'box', '--', 'sh', '-c', 'echo hi; echo err >&2; exit 3'], '1.20');
    assert.equal(r.stdout, 'hi\n');
    assert.match(r.stderr, /^err\n/);
    assert.match(r.stderr, /command terminated with exit code 3/);
    assert.equal(r.code, 3);
    assert.match(h.upgrades.at(-1)!, / exec spdy\/3\.1 v4\.channel\.k8s\.io$/);
    const input = Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const i = await kubectl(['exec', '-i', 'box', '--', 'sh', '-c', 'wc -l; echo done'], '1.20', input);
    assert.equal(i.code, 0, i.stderr);
    assert.equal(i.stdout.trim().split(/\s+/).join(' '), '500 done');
    const ok = await kubectl(['exec', 'box', '--', 'sh', '-c', ':'], '1.20');
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await kubectl(['exec', 'box', '-c', 'nope', '--', 'true'], '1.20');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /container nope is not valid for pod box|container nope not found in pod box/);
  });

  for (const version of ['1.20', '1.33']) {
    test(`kubectl ${version} exec -it on a terminal: the pty takes the terminal's size (SPDY resize stream / WebSocket channel 4)`, skipUnless(kubectlPath(version) !== undefined, `kubectl ${version}`), async () => {
      // `script` gives kubectl a terminal of a known size
      const inner = `stty cols 77 rows 22; ${kubectlPath(version)} --kubeconfig=${h.kubeconfig} exec -it box -- sh -c 'sleep 0.5; stty size'`;
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn('script', ['-q', '-e', '-c', inner, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /^22 77\r?$/m, JSON.stringify(r.out));
    });
  }

  test('the agent removes images no pod uses once the image filesystem passes the high threshold', async () => {
    const store = new ImageStore(join(h.stateDir, 'images'));
    await store.importOCI(tinyLayout(join(h.work, 'unused-layout'), 'example.com/unused:1'));
    assert.ok(store.resolve('example.com/unused:1'));
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(store.resolve('example.com/unused:1'), 'collected below the threshold');
    imageFsFull = true;
    try {
      await eventually('the unused image collected', () => !store.resolve('example.com/unused:1'), 10_000);
    } finally {
      imageFsFull = false;
    }
    assert.ok(store.resolve(h.image), 'the image the pods use was removed');
  });

  test('container logs rotate at containerLogMaxSize; kubectl logs -f follows into the new file', async () => {
    const pad = 'x'.repeat(80);
    await kubectl(['apply', '-f', '-'], '1.33', podYAML('chatty', `i=0; while true; do echo "seq $i ${pad}"; i=$((i+1)); sleep 0.02; done`));
    await waitRunning('chatty');
    const f = background(['logs', '-f', 'chatty']);
    try {
      const pod = await h.pods.get('chatty');
      const logDir = join(h.stateDir, 'logs', `default_chatty_${pod.metadata!.uid}`, 'main');
      // at ~100 bytes a line every 20 ms, a 4 KiB file rotates about every second
      await eventually('three rotations', () => {
        const n = (f.out.match(/^seq \d+ /gm) ?? []).length;
        return n * 100 > LOG_MAX_SIZE * 3.5;
      }, 30_000).catch((e: Error) => assert.fail(`${e.message}: ${f.out.length} bytes: ${f.err}`));
      const files = readdirSync(logDir).sort();
      assert.ok(files.includes('0.log'), files.join(' '));
      assert.ok(files.length <= 3, `more than containerLogMaxFiles: ${files.join(' ')}`);
      assert.ok(files.some((n) => /^0\.log\.\d{8}-\d{6}(-\d+)?(\.gz)?$/.test(n)), files.join(' '));
      const seqs = [...f.out.matchAll(/^seq (\d+) /gm)].map((m) => Number(m[1]));
      assert.equal(seqs[0], 0);
      assert.deepEqual(seqs, seqs.map((_, i) => i), 'kubectl logs -f skipped or repeated lines across a rotation');
      // without -f: what the current file holds
      const now = await kubectl(['logs', 'chatty']);
      const current = [...now.stdout.matchAll(/^seq (\d+) /gm)].map((m) => Number(m[1]));
      assert.ok(current.length > 0 && current.length * 100 <= LOG_MAX_SIZE + 200, `${current.length} lines`);
      assert.ok(current[0]! > 0);
      assert.deepEqual(current, current.map((_, i) => current[0]! + i));
    } finally {
      f.child.kill('SIGKILL');
    }
  });
});
