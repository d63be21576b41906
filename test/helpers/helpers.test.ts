import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from './exec.js';
import { helm, helmPath } from './helm.js';
import { kubectl, kubectlOk, kubectlPath } from './kubectl.js';
import { havePythonKubernetes, runPython } from './python.js';
import { skipUnless } from './skip.js';

const scratch = mkdtempSync(join(tmpdir(), 'timonel-helpers-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// Points at a port nothing listens on, so commands that reach the network fail fast.
const deadKubeconfig = join(scratch, 'kubeconfig.yaml');
writeFileSync(
  deadKubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: dead, user: u}}]
current-context: c
`,
);

describe('kubectl binaries', () => {
  for (const [version, gitVersion] of [
    ['1.33', /v1\.33\.\d+/],
    ['1.20', /v1\.20\.\d+/],
  ] as const) {
    test(`kubectl ${version} runs version --client`, skipUnless(kubectlPath(version) !== undefined, `kubectl ${version} not found (scripts/setup.sh fetches it)`), async () => {
      const { stdout } = await kubectlOk(version, deadKubeconfig, ['version', '--client']);
      assert.match(stdout, gitVersion);
    });
  }

  test('kubectl reads the given kubeconfig', async () => {
    const { stdout } = await kubectlOk('1.33', deadKubeconfig, ['config', 'view', '-o', 'jsonpath={.clusters[0].cluster.server}']);
    assert.equal(stdout, 'https://127.0.0.1:1');
  });

  test('kubectlOk throws with stderr when kubectl fails', async () => {
    const failed = await kubectl('1.33', deadKubeconfig, ['get', 'pods', '--request-timeout=5s']);
    assert.notEqual(failed.code, 0);
    await assert.rejects(kubectlOk('1.33', deadKubeconfig, ['get', 'pods', '--request-timeout=5s']), /exited \d+\n.*127\.0\.0\.1:1/s);
  });

  test('unknown kubectl versions are absent', () => {
    assert.equal(kubectlPath('1.2'), undefined);
  });
});

describe('helm binaries', () => {
  for (const [major, version] of [
    ['3', /^v3\.17\./],
    ['4', /^v4\./],
  ] as const) {
    test(`helm ${major} runs version`, skipUnless(helmPath(major) !== undefined, `helm ${major} not found (scripts/setup.sh fetches it)`), async () => {
      const { code, stdout, stderr } = await helm(major, deadKubeconfig, ['version', '--short']);
      assert.equal(code, 0, stderr);
      assert.match(stdout.trim(), version);
    });
  }
});

describe('python client', () => {
  test('python3-kubernetes imports', skipUnless(havePythonKubernetes(), 'python3-kubernetes not installed (apt)'), async () => {
    const { code, stdout, stderr } = await runPython('import kubernetes, sys\nprint(kubernetes.__version__)\nsys.exit(3)\n');
    assert.equal(code, 3, stderr);
    assert.match(stdout, /^22\./);
  });

  test('runPython passes the environment', async () => {
    const { stdout } = await runPython('import os\nprint(os.environ["TIMONEL_PROBE"])\n', { TIMONEL_PROBE: 'yes' });
    assert.equal(stdout.trim(), 'yes');
  });
});

const haveCluster = existsSync(join(repoRoot, 'src/cli/cluster.ts')) && existsSync(join(repoRoot, 'src/cli/main.ts'));

describe('cluster helpers', () => {
  test('startTestCluster serves kubectl and removes its data dir on close', skipUnless(haveCluster, 'src/cli/cluster.ts or main.ts not written yet'), async () => {
    const { startTestCluster } = await import('./cluster.js');
    const cluster = await startTestCluster();
    try {
      assert.ok(existsSync(cluster.kubeconfigPath));
      const { stdout } = await cluster.kubectlOk(['get', '--raw', '/version']);
      assert.match((JSON.parse(stdout) as { gitVersion: string }).gitVersion, /^v1\.\d+\.\d+/);
    } finally {
      await cluster.close();
    }
    assert.equal(existsSync(cluster.dataDir), false);
  });

  test('spawnServer survives kill -9 and restarts on the same data dir', skipUnless(haveCluster, 'src/cli/cluster.ts or main.ts not written yet'), async () => {
    const { spawnServer } = await import('./cluster.js');
    const first = await spawnServer();
    try {
      await first.kubectlOk(['get', '--raw', '/version']);
    } finally {
      first.kill('SIGKILL');
    }
    assert.equal((await first.waitExit()).signal, 'SIGKILL');

    const second = await spawnServer(['--data-dir', first.dataDir, '--port', String(first.port)]);
    try {
      assert.equal(second.url, first.url);
      await second.kubectlOk(['get', '--raw', '/version']);
    } finally {
      second.kill('SIGTERM');
      await second.waitExit();
    }
  });
});
