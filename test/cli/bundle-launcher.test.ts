// bin/timonel runs the bundle, and rebuilds first when the bundle is missing or older than the sources or
// scripts/bundle.ts: checked on a copy of the launcher in a fake repo whose setup.sh only records that it ran.
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../../scripts/bundle.js';
import { launcherNodeFlags } from '../../bench/lib/proc.js';

const root = mkdtempSync(join(tmpdir(), 'timonel-launcher-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const BUNDLE = join(root, 'dist', 'bundle', 'timonel.js');
const STAMP = join(root, 'dist', '.build-stamp');
const SETUP_RAN = join(root, 'setup-ran');

/** Sets a file's times to `secondsAgo` in the past (the launcher compares them with -nt and find -newer). */
function age(path: string, secondsAgo: number): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, t, t);
}

function write(path: string, text: string, secondsAgo: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  age(path, secondsAgo);
}

beforeEach(() => {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(join(REPO, 'bin', 'timonel'), join(root, 'bin', 'timonel'));
  mkdirSync(join(root, 'node_modules'));
  write(join(root, 'src', 'cli', 'main.ts'), '', 100);
  write(join(root, 'scripts', 'bundle.ts'), '', 100);
  // the fake build: records that it ran and writes a bundle that prints its arguments
  write(
    join(root, 'scripts', 'setup.sh'),
    `touch "${SETUP_RAN}"; mkdir -p "${join(root, 'dist', 'bundle')}"; echo 'console.log("bundle", process.argv.slice(2).join(" "))' > "${BUNDLE}"; touch "${STAMP}"\n`,
    100,
  );
  write(BUNDLE, 'console.log("bundle", process.argv.slice(2).join(" "))\n', 50);
  write(STAMP, '', 50);
  // find -newer sees directories too
  for (const d of ['src', join('src', 'cli')]) age(join(root, d), 100);
});

function launch(args: string[] = ['version', '--x']): { stdout: string; setupRan: boolean } {
  const r = spawnSync('bash', [join(root, 'bin', 'timonel'), ...args], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, setupRan: existsSync(SETUP_RAN) };
}

describe('bin/timonel', () => {
  test('runs the bundle with the arguments, without building, when it is up to date', () => {
    assert.deepEqual(launch(), { stdout: 'bundle version --x\n', setupRan: false });
  });

  test('starts node with the server flags of its NODE_FLAGS line (the benchmarks read the same line)', () => {
    write(BUNDLE, 'console.log(process.execArgv.join(" "))\n', 50);
    assert.equal(launch().stdout, '--max-semi-space-size=4\n');
  });

  test('a large simulation gets the LARGE_NODE_FLAGS line, as the benchmarks compute it', () => {
    write(BUNDLE, 'console.log(process.execArgv.join(" "))\n', 50);
    const cases: [string[], string][] = [
      [['up', '--simulated-nodes', '999'], '--max-semi-space-size=4'],
      [['up', '--simulated-nodes', '1000'], '--max-semi-space-size=16'],
      [['up', '--port', '0', '--simulated-nodes=5000', '--no-ingress'], '--max-semi-space-size=16'],
      [['up', '--simulated-nodes=x'], '--max-semi-space-size=4'],
      [['up', '--data-dir', '5000'], '--max-semi-space-size=4'],
    ];
    for (const [args, flags] of cases) {
      assert.equal(launch(args).stdout, `${flags}\n`, args.join(' '));
      assert.deepEqual(launcherNodeFlags(args.slice(1)), [flags], args.join(' '));
    }
  });

  test('builds when a source file is newer than the last build', () => {
    write(join(root, 'src', 'cli', 'main.ts'), 'changed', 0);
    assert.deepEqual(launch(), { stdout: 'bundle version --x\n', setupRan: true });
  });

  test('builds when scripts/bundle.ts changed', () => {
    write(join(root, 'scripts', 'bundle.ts'), 'changed', 0);
    assert.equal(launch().setupRan, true);
  });

  test('builds when the bundle is missing', () => {
    rmSync(BUNDLE);
    assert.deepEqual(launch(), { stdout: 'bundle version --x\n', setupRan: true });
  });
});
