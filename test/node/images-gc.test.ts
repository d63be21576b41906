// Image garbage collection: thresholds over the image filesystem (here a small store measured on its
// own), least recently used first, shared layers kept; and `timonel image prune`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runImageCommand } from '../../src/cli/image.js';
import { clearImagesInUse, diskUsage, ImageGarbageCollector, recordImagesInUse, type FilesystemStats } from '../../src/node/images/gc.js';
import { ImageStore, type ImageRecord } from '../../src/node/images/store.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A plain tar holding one file of `bytes` random bytes. */
function layerTar(work: string, name: string, bytes: number): Buffer {
  const src = join(work, `src-${name}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, name), randomBytes(bytes));
  const tar = join(work, `${name}.tar`);
  execFileSync('tar', ['-cf', tar, '-C', src, '.']);
  return readFileSync(tar);
}

/** An OCI layout with one image `ref` of the given layers. */
function ociLayout(dir: string, ref: string, layers: Buffer[]): string {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    writeFileSync(join(blobs, sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map(sha) }, created: new Date().toISOString(), comment: ref }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...put(l) })),
    }),
  );
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
  return dir;
}

describe('image garbage collection', () => {
  let work = '';
  let store: ImageStore;
  let base: Buffer;
  const layer: Record<string, Buffer> = {};
  const image: Record<string, ImageRecord> = {};

  const importAll = async () => {
    for (const name of ['a', 'b', 'c']) {
      if (store.resolve(`example.com/${name}:1`)) continue;
      [image[name]] = await store.importOCI(ociLayout(join(work, `layout-${name}-${Date.now()}`), `example.com/${name}:1`, [base, layer[name]!]));
    }
  };

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'timonel-imagegc-'));
    base = layerTar(work, 'base', 200_000);
    for (const name of ['a', 'b', 'c']) layer[name] = layerTar(work, name, 100_000);
  });
  after(() => {
    clearImagesInUse(join(work, 'data', 'images'));
    rmSync(work, { recursive: true, force: true });
  });

  /** A filesystem of `capacity` bytes holding only the store. */
  const smallFs = (capacity: () => number) => (): FilesystemStats => ({ capacityBytes: capacity(), availableBytes: capacity() - diskUsage(store.root) });

  test('below the high threshold nothing goes; above it, unused images go, least recently used first, until under the low one', async () => {
    store = new ImageStore(join(work, 'data', 'images'));
    await importAll();
    const full = diskUsage(store.root);
    let capacity = full * 10;
    let inUse = ['example.com/a:1', 'example.com/c:1'];
    const gc = new ImageGarbageCollector(store, { highThresholdPercent: 85, lowThresholdPercent: 80, minAgeMs: 0, fsStats: smallFs(() => capacity), inUse: () => inUse });
    // 10% used: a pass only records that a and c are in use (a used more recently than b)
    const idle = await gc.collect();
    assert.ok(idle.usagePercent > 9 && idle.usagePercent < 11, String(idle.usagePercent));
    assert.deepEqual(idle.removedImages, []);
    assert.equal(store.list().length, 3);

    // now only c runs, and the filesystem is 90% full: b (least recently used) goes first, a is enough to spare
    inUse = ['example.com/c:1'];
    capacity = Math.ceil(full / 0.9);
    const r = await gc.collect();
    assert.ok(r.usagePercent >= 85, String(r.usagePercent));
    assert.deepEqual(r.removedImages.map((i) => i.repoTags[0]), ['example.com/b:1']);
    assert.ok(r.freedBytes > 0);
    assert.ok(diskUsage(store.root) <= capacity * 0.8, `${diskUsage(store.root)} > 80% of ${capacity}`);
    assert.ok(store.resolve('example.com/a:1') && store.resolve('example.com/c:1') && !store.resolve('example.com/b:1'));
    // the shared base layer stays, b's own layer is gone
    assert.ok(existsSync(store.layerPath(sha(base))));
    assert.ok(!existsSync(store.layerPath(sha(layer.b!))));
    assert.ok(existsSync(store.layerPath(sha(layer.a!))));
    assert.ok(existsSync(store.blobPath(image.a!.id)));

    // 99% full with a lower target: every unused image goes, never one in use
    capacity = Math.ceil(diskUsage(store.root) / 0.99);
    const gc2 = new ImageGarbageCollector(store, { highThresholdPercent: 90, lowThresholdPercent: 10, minAgeMs: 0, fsStats: smallFs(() => capacity), inUse: () => inUse });
    const r2 = await gc2.collect();
    assert.deepEqual(r2.removedImages.map((i) => i.repoTags[0]), ['example.com/a:1']);
    assert.deepEqual(store.list().map((i) => i.repoTags[0]), ['example.com/c:1']);
    assert.ok(existsSync(store.layerPath(sha(base))));
    await gc.stop();
    await gc2.stop();
  });

  test('images stored more recently than minAge are kept', async () => {
    await importAll();
    const capacity = Math.ceil(diskUsage(store.root) / 0.95);
    const gc = new ImageGarbageCollector(store, { minAgeMs: 60_000, fsStats: smallFs(() => capacity), inUse: () => [] });
    const r = await gc.collect();
    assert.ok(r.usagePercent >= 85);
    // all three were stored within the last minute
    assert.deepEqual(r.removedImages, []);
    assert.equal(store.list().length, 3);
    await gc.stop();
  });

  test('thresholds out of order are refused', () => {
    assert.throws(() => new ImageGarbageCollector(store, { highThresholdPercent: 70, lowThresholdPercent: 80, inUse: () => [] }), /low 80% must be between 0 and high 70%/);
  });

  test('timonel image prune removes every image no container uses', async () => {
    await importAll();
    assert.equal(store.list().length, 3);
    // another agent process on this store records c as in use (here: this process)
    recordImagesInUse(store.root, ['example.com/c:1']);
    let out = '';
    const code = await runImageCommand(['prune', '--data-dir', join(work, 'data')], { dataDir: '/nonexistent', out: (t) => (out += t), err: (t) => (out += t) });
    assert.equal(code, 0, out);
    assert.match(out, /Untagged: example\.com\/a:1\n/);
    assert.match(out, /Untagged: example\.com\/b:1\n/);
    assert.match(out, /Total reclaimed: \d/);
    assert.doesNotMatch(out, /example\.com\/c:1/);
    assert.deepEqual(store.list().map((i) => i.repoTags[0]), ['example.com/c:1']);
    assert.ok(existsSync(store.layerPath(sha(base))));
    assert.ok(!existsSync(store.layerPath(sha(layer.a!))));
    clearImagesInUse(store.root);
    const again = await runImageCommand(['prune', '--data-dir', join(work, 'data')], { dataDir: '/nonexistent', out: (t) => (out += t), err: (t) => (out += t) });
    assert.equal(again, 0);
    assert.deepEqual(store.list(), []);
  });
});
