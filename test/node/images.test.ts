import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, readSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { runImageCommand } from '../../src/cli/image.js';
import {
  defaultPullPolicy,
  DockerKeyring,
  formatDuration,
  ImageError,
  ImageStore,
  InvalidImageNameError,
  overlayLowerdir,
  parseImageReference,
  pulledMessage,
  type PullProgress,
} from '../../src/node/images/index.js';
import { run } from '../helpers/exec.js';
import { buildTestImage, imageTestsMissing, skopeoCopy, startRegistry, type LocalRegistry, type TestImage } from '../helpers/registry.js';
import { skipUnless } from '../helpers/skip.js';

describe('image references', () => {
  test('normalize as docker does', () => {
    assert.deepEqual(parseImageReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest', digest: undefined });
    assert.deepEqual(parseImageReference('user/app:1.2'), { domain: 'docker.io', path: 'user/app', tag: '1.2', digest: undefined });
    assert.deepEqual(parseImageReference('index.docker.io/nginx:1'), { domain: 'docker.io', path: 'library/nginx', tag: '1', digest: undefined });
    assert.deepEqual(parseImageReference('localhost/app'), { domain: 'localhost', path: 'app', tag: 'latest', digest: undefined });
    assert.deepEqual(parseImageReference('127.0.0.1:5000/a/b:v'), { domain: '127.0.0.1:5000', path: 'a/b', tag: 'v', digest: undefined });
    const d = 'sha256:' + 'a'.repeat(64);
    assert.deepEqual(parseImageReference(`quay.io/x/y@${d}`), { domain: 'quay.io', path: 'x/y', tag: undefined, digest: d });
    assert.deepEqual(parseImageReference(`x:1@${d}`), { domain: 'docker.io', path: 'library/x', tag: '1', digest: d });
    for (const bad of ['', 'UPPER', 'a:b:c', 'x@sha256:123', 'a//b', 'x:-bad']) assert.throws(() => parseImageReference(bad), InvalidImageNameError, bad);
  });

  test('default pull policy: Always for :latest or no tag, IfNotPresent otherwise', () => {
    assert.equal(defaultPullPolicy('busybox'), 'Always');
    assert.equal(defaultPullPolicy('busybox:latest'), 'Always');
    assert.equal(defaultPullPolicy('busybox:1.36'), 'IfNotPresent');
    assert.equal(defaultPullPolicy(`busybox@sha256:${'b'.repeat(64)}`), 'IfNotPresent');
  });

  test('keyring matches imagePullSecrets like the kubelet', () => {
    const config = { auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') }, '*.example.com:5000/team': { username: 'u', password: 'p' } } };
    const secret: Secret = { metadata: { name: 's' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') } };
    const { keyring, skipped } = DockerKeyring.fromPullSecrets([secret, { metadata: { name: 'opaque' }, data: {} }]);
    assert.deepEqual(skipped, ['opaque']);
    assert.deepEqual(keyring.lookup(parseImageReference('busybox')), [{ username: 'hub', password: 'pw' }]);
    assert.deepEqual(keyring.lookup(parseImageReference('r.example.com:5000/team/app')), [{ username: 'u', password: 'p' }]);
    assert.deepEqual(keyring.lookup(parseImageReference('r.example.com:5000/other/app')), []);
    assert.deepEqual(keyring.lookup(parseImageReference('r.example.com/team/app')), []);
  });

  test('event messages read like the kubelet', () => {
    assert.equal(formatDuration(512.7), '512ms');
    assert.equal(formatDuration(15981), '15.981s');
    assert.equal(formatDuration(62500), '1m2.5s');
    assert.equal(pulledMessage('busybox', 1500, 2000, 42), 'Successfully pulled image "busybox" in 1.5s (2s including waiting). Image size: 42 bytes.');
    assert.equal(overlayLowerdir(['/l/1', '/l/2', '/l/3']), '/l/3:/l/2:/l/1');
  });
});

const missing = imageTestsMissing();

describe('image store against a local registry', skipUnless(missing === undefined, `image tests: ${missing}`), () => {
  let work: string;
  let image: TestImage;
  let registry: LocalRegistry;
  let authRegistry: LocalRegistry;
  let repo: string;
  const stores: string[] = [];
  const newStore = () => {
    const dir = mkdtempSync(join(tmpdir(), 'timonel-images-'));
    stores.push(dir);
    return new ImageStore(dir);
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'timonel-image-build-'));
    image = await buildTestImage(work);
    registry = await startRegistry();
    repo = `${registry.host}/test/busybox`;
    await skopeoCopy(`oci:${image.layout}:base`, `docker://${repo}:1`);
    await skopeoCopy(`oci:${image.layout}:multi`, `docker://${repo}:multi`, { all: true });
    await skopeoCopy(`oci:${image.layout}:base`, `oci:${join(work, 'zstd')}:base`, { zstd: true });
    await skopeoCopy(`oci:${join(work, 'zstd')}:base`, `docker://${registry.host}/test/busybox-zstd:1`);
    authRegistry = await startRegistry({ users: { alice: 's3cret' } });
    await skopeoCopy(`oci:${image.layout}:base`, `docker://${authRegistry.host}/private/busybox:1`, { creds: 'alice:s3cret' });
  });

  after(async () => {
    await registry?.stop();
    await authRegistry?.stop();
    for (const d of [work, ...stores]) if (d) rmSync(d, { recursive: true, force: true });
  });

  test('pull by tag: verified layers unpacked with overlayfs whiteouts, config, progress', async () => {
    const store = newStore();
    const progress: PullProgress[] = [];
    const r = await store.pull(`${repo}:1`, { onProgress: (p) => progress.push(p) });
    assert.equal(r.pulled, true);
    assert.equal(r.imageRef, `${repo}@${image.manifestDigest}`);
    assert.ok(r.size > 1_000_000 && r.bytesDownloaded === r.size, `size ${r.size}, downloaded ${r.bytesDownloaded}`);
    assert.deepEqual(r.image.repoTags, [`${repo}:1`]);
    assert.equal(progress[0]!.phase, 'resolving');
    assert.equal(progress.at(-1)!.phase, 'done');
    assert.equal(progress.at(-1)!.layersDone, 3);
    assert.equal(progress.at(-1)!.bytesDownloaded, r.size);
    assert.ok(progress.some((p) => p.phase === 'downloading'));

    const layers = store.layers(r.image.id);
    assert.equal(layers.length, 3);
    assert.deepEqual(readFileSync(join(layers[0]!, 'bin/busybox')), readFileSync('/bin/busybox'));
    assert.ok(lstatSync(join(layers[0]!, 'bin/sh')).isSymbolicLink());
    const whiteout = lstatSync(join(layers[1]!, 'etc/removed'));
    assert.ok(whiteout.isCharacterDevice() && whiteout.rdev === 0, 'whiteout is a 0:0 char device');
    assert.ok(!readdirSync(join(layers[1]!, 'etc')).some((n) => n.startsWith('.wh.')));
    assert.deepEqual(readdirSync(join(layers[2]!, 'etc/gone')), ['c']);
    assert.deepEqual(store.config(`${repo}:1`).config?.Cmd, ['/bin/sh']);
    assert.equal(store.resolve(r.image.id)?.id, r.image.id);
    assert.equal(store.resolve(r.image.id.slice(7, 19))?.id, r.image.id);
  });

  test('an index picks linux/amd64; pulls by digest; zstd layers; layers shared between images', async () => {
    const store = newStore();
    const byTag = await store.pull(`${repo}:1`);
    const multi = await store.pull(`${repo}:multi`);
    assert.equal(multi.image.id, byTag.image.id, 'the amd64 entry, not the arm64 one listed first');
    assert.equal(multi.imageRef, `${repo}@${image.indexDigest}`);
    const byIndexDigest = await store.pull(`${repo}@${image.indexDigest}`, { policy: 'Always' });
    assert.equal(byIndexDigest.image.id, byTag.image.id);
    const byDigest = await store.pull(`${repo}@${image.manifestDigest}`, { policy: 'Always' });
    assert.equal(byDigest.imageRef, `${repo}@${image.manifestDigest}`);
    await assert.rejects(store.pull(`${repo}@sha256:${'0'.repeat(64)}`), (e: ImageError) => e.code === 'NotFound');

    const zstd = await store.pull(`${registry.host}/test/busybox-zstd:1`);
    assert.ok(zstd.image.layers.every((l) => l.mediaType.endsWith('+zstd')), JSON.stringify(zstd.image.layers));
    assert.equal(zstd.image.id, byTag.image.id, 'same config, so the same image');
    assert.deepEqual(store.layers(`${registry.host}/test/busybox-zstd:1`), store.layers(`${repo}:1`));
    assert.equal(readdirSync(join(store.root, 'layers/sha256')).length, 3, 'each layer unpacked once');
  });

  test('IfNotPresent and Never use the stored image without the registry; Never refuses a missing one', async () => {
    const own = await startRegistry();
    const store = newStore();
    const ref = `${own.host}/test/busybox:2`;
    try {
      await skopeoCopy(`oci:${image.layout}:base`, `docker://${ref}`);
      await assert.rejects(store.pull(ref, { policy: 'Never' }), (e: ImageError) => {
        assert.equal(e.code, 'NeverPull');
        assert.equal(e.reason, 'ErrImageNeverPull');
        assert.equal(e.message, `Container image "${ref}" is not present with pull policy of Never`);
        return true;
      });
      assert.equal((await store.pull(ref, { policy: 'IfNotPresent' })).pulled, true);
    } finally {
      await own.stop();
    }
    const again = await store.pull(ref, { policy: 'IfNotPresent' });
    assert.equal(again.pulled, false);
    assert.equal(again.bytesDownloaded, 0);
    assert.equal((await store.pull(ref, { policy: 'Never' })).pulled, false);
    await assert.rejects(store.pull(ref, { policy: 'Always' }), (e: ImageError) => e.code === 'Registry' && e.reason === 'ErrImagePull');
  });

  test('an image that does not exist: a clear not-found error', async () => {
    const store = newStore();
    await assert.rejects(store.pull(`${registry.host}/test/nope:1`), (e: ImageError) => {
      assert.equal(e.code, 'NotFound');
      assert.equal(e.reason, 'ErrImagePull');
      assert.match(e.message, new RegExp(`failed to resolve reference "${registry.host}/test/nope:1": .*not found`));
      return true;
    });
    await assert.rejects(store.pull(`${repo}:no-such-tag`), /not found/);
    await assert.rejects(store.pull('Busybox:1'), InvalidImageNameError);
    assert.deepEqual(store.list(), []);
  });

  test('a corrupt layer in the registry is refused with a digest mismatch and nothing is half-stored', async () => {
    const own = await startRegistry();
    const store = newStore();
    try {
      const ref = `${own.host}/test/busybox:bad`;
      await skopeoCopy(`oci:${image.layout}:base`, `docker://${ref}`);
      const manifest = JSON.parse(readFileSync(join(image.layout, 'blobs/sha256', image.manifestDigest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
      const big = manifest.layers[0]!.digest;
      const data = own.blobDataPath(big);
      const fd = openSync(data, 'r+');
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, 5000);
      b[0] = b[0]! ^ 0xff;
      writeSync(fd, b, 0, 1, 5000);
      closeSync(fd);
      await assert.rejects(store.pull(ref), (e: ImageError) => {
        assert.equal(e.code, 'DigestMismatch');
        assert.match(e.message, new RegExp(`blob ${big}.*digest mismatch: expected ${big}, got sha256:`));
        return true;
      });
      assert.deepEqual(store.list(), []);
      assert.ok(!existsSync(store.blobPath(big)));
      assert.deepEqual(readdirSync(join(store.root, 'tmp')), [], 'no partial downloads left');
      const config = JSON.parse(readFileSync(join(image.layout, 'blobs/sha256', (JSON.parse(readFileSync(join(image.layout, 'blobs/sha256', image.manifestDigest.slice(7)), 'utf8')) as { config: { digest: string } }).config.digest.slice(7)), 'utf8')) as { rootfs: { diff_ids: string[] } };
      assert.ok(!existsSync(store.layerPath(config.rootfs.diff_ids[0]!)), 'the corrupt layer was never unpacked');
    } finally {
      await own.stop();
    }
  });

  test('Bearer token auth: credentials from imagePullSecrets, refused without or with wrong ones', async () => {
    const store = newStore();
    const ref = `${authRegistry.host}/private/busybox:1`;
    await assert.rejects(store.pull(ref), (e: ImageError) => e.code === 'Unauthorized' && /authorization failed/.test(e.message));
    await assert.rejects(store.pull(ref, { credentials: [{ username: 'alice', password: 'wrong' }] }), (e: ImageError) => e.code === 'Unauthorized');
    const dockerconfig = { auths: { [authRegistry.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } };
    const { keyring } = DockerKeyring.fromPullSecrets([
      { metadata: { name: 'pull' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(JSON.stringify(dockerconfig)).toString('base64') } },
    ]);
    const before = authRegistry.tokenRequests();
    const r = await store.pull(ref, { credentials: keyring });
    assert.equal(r.pulled, true);
    assert.ok(authRegistry.tokenRequests() > before);
    assert.equal(store.layers(ref).length, 3);
  });

  test('import an OCI layout and a docker archive; ls, rm and gc', async () => {
    const store = newStore();
    const fromOci = await store.importOCI(image.layout, { name: 'example.com/imported/busybox' });
    assert.equal(fromOci.length, 2, 'base and multi');
    assert.equal(fromOci[0]!.id, fromOci[1]!.id);
    assert.deepEqual(store.resolve('example.com/imported/busybox:multi')?.repoTags.sort(), ['example.com/imported/busybox:base', 'example.com/imported/busybox:multi']);
    const archive = join(work, 'busybox.tar');
    await skopeoCopy(`oci:${image.layout}:base`, `docker-archive:${archive}:archived/busybox:2`);
    const fromArchive = await store.importDockerArchive(archive);
    assert.equal(fromArchive.length, 1);
    assert.equal(fromArchive[0]!.id, fromOci[0]!.id);
    assert.ok(fromArchive[0]!.repoTags.includes('docker.io/archived/busybox:2'));
    assert.deepEqual(readFileSync(join(store.layers('archived/busybox:2')[0]!, 'bin/busybox')), readFileSync('/bin/busybox'));

    const zstdRecords = await store.importOCI(join(work, 'zstd'), { name: 'zstd/busybox' });
    assert.equal(zstdRecords[0]!.id, fromOci[0]!.id);
    assert.equal(store.list().length, 1);

    const untag = await store.remove('example.com/imported/busybox:base');
    assert.deepEqual(untag, { untagged: ['example.com/imported/busybox:base'], deleted: [] });
    assert.equal(store.resolve('example.com/imported/busybox:base'), undefined);
    await assert.rejects(store.remove('nothing/here:1'), /No such image: nothing\/here:1/);

    const kept = await store.gc(new Set(['archived/busybox:2']));
    assert.deepEqual(kept.removedImages, []);
    assert.equal(readdirSync(join(store.root, 'layers/sha256')).length, 3);
    const young = await store.gc(new Set(), { minAgeMs: 3_600_000 });
    assert.deepEqual(young.removedImages, []);
    const gone = await store.gc(new Set());
    assert.equal(gone.removedImages.length, 1);
    assert.equal(gone.removedLayers, 3);
    assert.deepEqual(store.list(), []);
    assert.deepEqual(readdirSync(join(store.root, 'layers/sha256')), []);
    assert.deepEqual(readdirSync(join(store.root, 'blobs/sha256')), []);

    await store.importOCI(image.layout, { name: 'again/busybox' });
    const id = store.list()[0]!.id;
    const removed = await store.remove(id);
    assert.deepEqual(removed.deleted, [id]);
    assert.deepEqual(readdirSync(join(store.root, 'layers/sha256')), []);
  });

  test('a corrupt blob in an OCI layout is refused on import', async () => {
    const dir = join(work, 'corrupt-oci');
    await run('cp', ['-a', image.layout, dir]);
    const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', image.manifestDigest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
    const file = join(dir, 'blobs/sha256', manifest.layers[2]!.digest.slice(7));
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(file, bytes);
    const store = newStore();
    await assert.rejects(store.importOCI(dir, { name: 'corrupt/busybox' }), (e: ImageError) => e.code === 'DigestMismatch');
    assert.deepEqual(store.list(), []);
  });

  test('unpacked layers work as overlayfs lowerdirs', async () => {
    const store = newStore();
    await store.pull(`${repo}:1`);
    const mnt = mkdtempSync(join(tmpdir(), 'timonel-overlay-'));
    const [upper, workdir, merged] = ['upper', 'work', 'merged'].map((d) => join(mnt, d));
    for (const d of [upper!, workdir!, merged!]) mkdirSync(d);
    const mount = await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${store.lowerdir(`${repo}:1`)},upperdir=${upper},workdir=${workdir}`, merged!]);
    assert.equal(mount.code, 0, mount.stderr);
    try {
      assert.deepEqual(readFileSync(join(merged!, 'bin/busybox')), readFileSync('/bin/busybox'));
      assert.ok(!existsSync(join(merged!, 'etc/removed')), 'whiteout hides the lower file');
      assert.deepEqual(readdirSync(join(merged!, 'etc/gone')), ['c'], 'opaque directory hides lower entries');
      assert.equal(readFileSync(join(merged!, 'etc/keep/a'), 'utf8'), 'kept\n');
      const sh = await run('chroot', [merged!, '/bin/sh', '-c', 'echo hello > /tmp-file; cat /etc/keep/a /tmp-file; ls /etc/gone']);
      assert.equal(sh.code, 0, sh.stderr);
      assert.equal(sh.stdout, 'kept\nhello\nc\n');
      assert.ok(existsSync(join(upper!, 'tmp-file')), 'writes go to the upper dir');
    } finally {
      await run('umount', [merged!]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  test('timonel image import | ls | rm', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'timonel-data-'));
    stores.push(dataDir);
    let out = '';
    let err = '';
    const io = { dataDir, out: (t: string) => void (out += t), err: (t: string) => void (err += t) };
    assert.equal(await runImageCommand(['import', image.layout, '--name', 'cli/busybox'], io), 0, err);
    assert.match(out, /Loaded image: docker\.io\/cli\/busybox:base/);
    out = '';
    assert.equal(await runImageCommand(['ls'], io), 0);
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
    assert.match(lines[1]!, /^docker\.io\/cli\/busybox\s+base\s+[0-9a-f]{13}\s+1\.\d+MB$/);
    assert.equal(lines.length, 3);
    assert.ok(statSync(join(dataDir, 'images', 'images.json')).isFile());
    out = '';
    assert.equal(await runImageCommand(['rm', 'cli/busybox:base', 'cli/busybox:multi', 'cli/busybox:nope'], io), 1);
    assert.match(out, /Untagged: docker\.io\/cli\/busybox:base\n/);
    assert.match(out, /Deleted: sha256:[0-9a-f]{64}\n/);
    assert.match(err, /No such image: cli\/busybox:nope/);
    out = '';
    assert.equal(await runImageCommand(['ls', '-q'], io), 0);
    assert.equal(out, '');
    assert.equal(await runImageCommand(['frobnicate'], io), 2);
  });
});
