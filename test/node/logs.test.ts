// CRI container log files: the writer's rotation (containerLogMaxSize / containerLogMaxFiles, as the
// kubelet names and compresses rotated files) and a follower that reads on across rotations.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CRILogFollower, CRILogWriter, rotatedLogs, rotateLog } from '../../src/node/runtime/logs.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'timonel-logs-'));
  dirs.push(d);
  return d;
}

/** The text of the full records in a CRI log buffer. */
function texts(buf: Buffer): string[] {
  return buf
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^\S+ (stdout|stderr) F (.*)$/.exec(l);
      assert.ok(m, `not a CRI record: ${l}`);
      return m[2]!;
    });
}

const nextTick = () => new Promise((r) => setImmediate(r));

describe('CRI log rotation', () => {
  test('the file rotates at maxSize; older rotated files are gzipped; at most maxFiles are kept', async () => {
    const dir = tempDir();
    const path = join(dir, '0.log');
    const stdout = new PassThrough();
    const writer = new CRILogWriter(path, { stdout }, { maxSize: 1000, maxFiles: 3 });
    const follower = new CRILogFollower(path);
    const seen: string[] = [];
    for (let i = 0; i < 200; i++) {
      stdout.write(`line ${String(i).padStart(4, '0')} ${'x'.repeat(20)}\n`);
      await nextTick();
      seen.push(...texts(follower.read()));
    }
    stdout.end();
    await writer.done;
    seen.push(...texts(follower.read()));
    follower.close();
    // every record, once, in order, although the file was rotated many times under the reader
    assert.deepEqual(
      seen.map((t) => t.slice(0, 9)),
      Array.from({ length: 200 }, (_, i) => `line ${String(i).padStart(4, '0')}`),
    );
    const files = readdirSync(dir).sort();
    const rotated = rotatedLogs(path);
    assert.equal(rotated.length, 2, files.join(' '));
    assert.equal(files.length, 3, files.join(' '));
    assert.match(rotated[0]!, /\/0\.log\.\d{8}-\d{6}(-\d+)?\.gz$/);
    assert.match(rotated[1]!, /\/0\.log\.\d{8}-\d{6}(-\d+)?$/);
    for (const f of [path, rotated[1]!]) assert.ok(readFileSync(f).length <= 1000, `${f} is over maxSize`);
    // the three files hold the newest records, contiguous
    const kept = [...texts(gunzipSync(readFileSync(rotated[0]!))), ...texts(readFileSync(rotated[1]!)), ...texts(readFileSync(path))];
    assert.equal(kept.at(-1)!.slice(0, 9), 'line 0199');
    const first = Number(kept[0]!.slice(5, 9));
    assert.deepEqual(
      kept.map((t) => Number(t.slice(5, 9))),
      Array.from({ length: kept.length }, (_, i) => first + i),
    );
  });

  test('without rotation options the file only grows', async () => {
    const dir = tempDir();
    const path = join(dir, '0.log');
    const stdout = new PassThrough();
    const writer = new CRILogWriter(path, { stdout });
    stdout.end('a\n'.repeat(5000));
    await writer.done;
    assert.deepEqual(readdirSync(dir), ['0.log']);
    assert.equal(texts(readFileSync(path)).length, 5000);
  });

  test('a follower from the end sees only new records, then those of the file after a rotation', async () => {
    const dir = tempDir();
    const path = join(dir, '1.log');
    const stdout = new PassThrough();
    const writer = new CRILogWriter(path, { stdout });
    stdout.write('old\n');
    await nextTick();
    const follower = new CRILogFollower(path, true);
    assert.equal(follower.read().length, 0);
    stdout.write('new 1\n');
    await nextTick();
    rotateLog(path, 5);
    const after = new CRILogWriter(path, { stdout: new PassThrough().end('new 2\n') });
    await after.done;
    assert.deepEqual(texts(follower.read()), ['new 1', 'new 2']);
    follower.close();
    stdout.end();
    await writer.done;
  });

  test('several rotations within a second get distinct names, ordered', () => {
    const dir = tempDir();
    const path = join(dir, '0.log');
    const when = new Date('2026-01-02T03:04:05Z');
    const names: string[] = [];
    for (let i = 0; i < 3; i++) {
      writeFileSync(path, `gen ${i}\n`);
      names.push(rotateLog(path, 10, when));
    }
    assert.deepEqual(
      names.map((n) => n.slice(dir.length + 1)),
      ['0.log.20260102-030405', '0.log.20260102-030405-1', '0.log.20260102-030405-2'],
    );
    assert.deepEqual(
      rotatedLogs(path).map((n) => n.slice(dir.length + 1)),
      ['0.log.20260102-030405.gz', '0.log.20260102-030405-1.gz', '0.log.20260102-030405-2'],
    );
  });
});
