// kubectl exec / cp / attach / port-forward and client-node Exec against real pods (crun + the node
// agent in process), over WebSocket (kubectl 1.33, client-node) and SPDY (kubectl 1.27). Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { run } from '../helpers/exec.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { skipUnless } from '../helpers/skip.js';
import { LocalNodeHarness, realPodsMissing, kubectlOrDump } from './pod-harness.js';
import { eventually } from './support.js';

const missing = realPodsMissing() || (kubectlPath('1.27') ? '' : 'kubectl 1.27');

describe('exec, cp, attach and port-forward into real pods', skipUnless(missing === '', missing), () => {
  const h = new LocalNodeHarness('ex', 197, {}, { registry: true, streaming: true, cluster: { insecureHttp: false, controllers: true }, groups: ['system:masters', 'system:nodes'] });

  before(async () => {
    await h.start();
    await kubectl(['apply', '-f', '-'], '1.33', `
apiVersion: v1
kind: Pod
metadata: {name: box}
spec:
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  containers:
  - name: main
    image: ${h.image}
    command: [sh, -c, 'for a in tar true; do ln -s busybox /bin/$a || exit 1; done; mkdir -p /tmp /www && echo served-by-box > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done']
`);
    await h.until('box', 'running', (p) => p.status?.containerStatuses?.[0]?.state?.running !== undefined, 60_000);
  });

  after(() => h.close());

  const kubectl = (args: string[], version = '1.33', stdin?: string) => kubectlOrDump(h.kubeconfig, args, version, stdin);

  for (const version of ['1.33', '1.27']) {
    test(`kubectl ${version} exec splits stdout and stderr and returns the exit code`, async () => {
      const r = await kubectl(['exec', 'box', '--', 'sh', '-c', 'echo hi; echo err >&2; exit 3'], version);
      assert.equal(r.stdout, 'hi\n');
      assert.match(r.stderr, /^err\n/);
      assert.match(r.stderr, /command terminated with exit code 3/);
      assert.equal(r.code, 3);
      assert.equal(h.upgrades.at(-1), version === '1.33' ? 'kubectl.1.33 exec websocket v5.channel.k8s.io' : 'kubectl.1.27 exec spdy/3.1 v4.channel.k8s.io');
      const ok = await kubectl(['exec', 'box', '-c', 'main', '--', 'cat', '/www/index.html'], version);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, 'served-by-box\n');
    });

    test(`kubectl ${version} exec -i passes stdin through to its end`, async () => {
      const input = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n') + '\n';
      const r = await kubectl(['exec', '-i', 'box', '--', 'sh', '-c', 'wc -l; echo done'], version, input);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split(/\s+/).join(' '), '2000 done');
    });
  }

  test('kubectl cp copies a file into the pod and back out (tar over exec)', async () => {
    const src = join(h.work, 'payload.bin');
    const data = randomBytes(300_000);
    writeFileSync(src, data);
    for (const version of ['1.33', '1.27']) {
      const into = await kubectl(['cp', src, `default/box:/tmp/payload-${version}.bin`], version);
      assert.equal(into.code, 0, into.stderr);
      const back = join(h.work, `back-${version}.bin`);
      const out = await kubectl(['cp', `default/box:/tmp/payload-${version}.bin`, back], version);
      assert.equal(out.code, 0, out.stderr);
      assert.ok(readFileSync(back).equals(data), `kubectl ${version}: the copy differs`);
    }
  });

  for (const version of ['1.33', '1.27']) {
    test(`kubectl ${version} port-forward reaches a server on the pod's loopback`, async () => {
      const bin = kubectlPath(version)!;
      const child = spawn(bin, [`--kubeconfig=${h.kubeconfig}`, 'port-forward', 'pod/box', ':8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        await eventually('port-forward listening', () => /Forwarding from 127\.0\.0\.1:\d+/.test(out), 15_000);
        const port = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)![1];
        const upgradesBefore = h.upgrades.length;
        for (let i = 0; i < 2; i++) {
          const r = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${port}/`]);
          assert.equal(r.stdout, 'served-by-box\n', `${r.stderr}\n${out}`);
        }
        // 1.33 tunnels SPDY in a WebSocket; 1.27 speaks SPDY
        const used = h.upgrades.slice(upgradesBefore - 1).filter((u) => u.includes('portforward'));
        assert.deepEqual(used, [version === '1.33' ? 'kubectl.1.33 portforward websocket SPDY/3.1+portforward.k8s.io' : 'kubectl.1.27 portforward spdy/3.1 portforward.k8s.io']);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }

  test('kubectl attach streams the container output', async () => {
    const bin = kubectlPath('1.33')!;
    const child = spawn(bin, [`--kubeconfig=${h.kubeconfig}`, 'attach', 'box'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      await eventually('two ticks through attach', () => (out.match(/tick \d+\n/g) ?? []).length >= 2, 15_000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('client-node Exec over WebSocket reports output and the exit status', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(h.kubeconfig);
    let stdout = '';
    let stderr = '';
    const sink = (f: (s: string) => void) =>
      new Writable({
        write(chunk: Buffer, _e, cb) {
          f(chunk.toString());
          cb();
        },
      });
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc)
        .exec('default', 'box', 'main', ['sh', '-c', 'echo out; echo bad >&2; exit 7'], sink((s) => (stdout += s)), sink((s) => (stderr += s)), null, false, resolve)
        .catch(reject);
    });
    assert.equal(stdout, 'out\n');
    assert.equal(stderr, 'bad\n');
    assert.equal(status.status, 'Failure');
    assert.equal(status.reason, 'NonZeroExitCode');
    assert.equal(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message, '7');
  });

  test('client-node Exec with a terminal runs the command on a tty', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(h.kubeconfig);
    let stdout = '';
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc)
        .exec(
          'default',
          'box',
          'main',
          ['sh', '-c', 'test -t 0 && test -t 1 && echo on-a-tty'],
          new Writable({
            write(chunk: Buffer, _e, cb) {
              stdout += chunk.toString();
              cb();
            },
          }),
          null,
          null,
          true,
          resolve,
        )
        .catch(reject);
    });
    assert.equal(status.status, 'Success', JSON.stringify(status));
    assert.equal(stdout, 'on-a-tty\r\n');
  });

  test('exec needs create on pods/exec (RBAC), for WebSocket and SPDY alike', async () => {
    await kubectl(['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods', '--resource=pods/exec']);
    await kubectl(['create', 'rolebinding', 'alice-reads', '--role=pod-reader', '--user=alice']);
    for (const version of ['1.33', '1.27']) {
      const r = await kubectl(['exec', '--as=alice', 'box', '--', 'true'], version);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /forbidden: User "alice" cannot create resource "pods\/exec" in API group "" in the namespace "default"/, `${version}: ${r.stderr}`);
    }
    await kubectl(['create', 'role', 'pod-exec', '--verb=create', '--resource=pods/exec']);
    await kubectl(['create', 'rolebinding', 'alice-execs', '--role=pod-exec', '--user=alice']);
    let last = '';
    await eventually(
      'alice may exec',
      async () => {
        const r = await kubectl(['exec', '--as=alice', 'box', '--', 'true']);
        last = r.stderr;
        return r.code === 0;
      },
      10_000,
    ).catch((e: Error) => assert.fail(`${e.message}: ${last}`));
  });

  test('exec into a container the pod does not have fails with a clear error', async () => {
    for (const version of ['1.33', '1.27']) {
      const r = await kubectl(['exec', 'box', '-c', 'nope', '--', 'true'], version);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /container nope is not valid for pod box|container nope not found in pod box/, `${version}: ${r.stderr}`);
    }
  });
});
