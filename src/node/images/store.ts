// The node's image store: pulls through the registry v2 protocol, keeps content by digest, unpacks layers once
// (shared by every image and pod that uses them) and tracks which names point at which image.
//
// <root>/images.json            name → image index (written atomically, under <root>/lock)
// <root>/blobs/sha256/<hex>     manifests, indexes and configs, verified
// <root>/layers/sha256/<hex>    unpacked layers by uncompressed digest (diff_id), overlayfs lowerdirs
// <root>/tmp/                   downloads and unpacks in progress (<pid>-…), removed on failure
// <root>/leases/<pid>.<n>       digests a pull in progress is storing, kept from gc
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { spawn } from 'node:child_process';
import type { RegistryCredential } from './credentials.js';
import { DockerKeyring } from './credentials.js';
import { digestMismatch, ImageError } from './errors.js';
import { overlayLowerdir, unpackLayer } from './layer.js';
import {
  defaultPullPolicy,
  formatImageReference,
  parseImageReference,
  repositoryName,
  type ImageReference,
  type PullPolicy,
} from './reference.js';
import { RegistryClient, type RegistryClientOptions } from './registry.js';
import { isIndex, MediaType, pickPlatform, platformsOf, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from './types.js';

export interface LayerRecord {
  /** digest of the layer as distributed (compressed) */
  digest: string;
  /** digest of the uncompressed tar: the unpacked directory's name */
  diffId: string;
  mediaType: string;
  size: number;
}

export interface ImageRecord {
  /** the config digest, as CRI runtimes name images */
  id: string;
  /** `docker.io/library/busybox:1.36` */
  repoTags: string[];
  /** `docker.io/library/busybox@sha256:…` (the digest a tag resolved to); what a pod's status.imageID shows */
  repoDigests: string[];
  /** manifest and index digests kept for this image */
  manifests: string[];
  layers: LayerRecord[];
  /** bytes as distributed: config plus compressed layers */
  size: number;
  created?: string;
  /** when it was last pulled or imported (ISO time) */
  storedAt: string;
}

interface IndexFile {
  version: 1;
  images: ImageRecord[];
}

export interface PullProgress {
  image: string;
  phase: 'resolving' | 'downloading' | 'unpacking' | 'done';
  bytesDownloaded: number;
  bytesTotal: number;
  layersDone: number;
  layersTotal: number;
  elapsedMs: number;
}

export interface PullOptions {
  /** default: as the API server defaults `imagePullPolicy` (Always for `:latest`, else IfNotPresent) */
  policy?: PullPolicy;
  /** from `imagePullSecrets` (DockerKeyring.fromPullSecrets) or given directly; tried in order, then none */
  credentials?: DockerKeyring | readonly RegistryCredential[];
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

export interface PullResult {
  image: ImageRecord;
  /** false when the image was already present and the policy allowed using it without asking the registry */
  pulled: boolean;
  bytesDownloaded: number;
  durationMs: number;
  /** the image's size in bytes (as distributed), for the `Pulled` event */
  size: number;
  /** what a pod's containerStatuses[].imageID shows: a repo digest when known, else the image ID */
  imageRef: string;
}

export interface GcResult {
  removedImages: ImageRecord[];
  removedBlobs: number;
  removedLayers: number;
}

export interface ImageStoreOptions extends RegistryClientOptions {
  /** layers downloaded at once per pull (default 3) */
  maxConcurrentDownloads?: number;
}

const HEX = /^[0-9a-f]{64}$/;
const hexOf = (digest: string) => {
  const hex = digest.slice('sha256:'.length);
  if (!digest.startsWith('sha256:') || !HEX.test(hex)) throw new ImageError('Unsupported', `unsupported digest: ${digest}`);
  return hex;
};

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function sha256File(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

function parseJSON<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new ImageError('Corrupt', `${what} is not valid JSON`);
  }
}

function checkManifest(m: ImageManifest, what: string): void {
  if ((m.mediaType ?? '').includes('prettyjws') || m.schemaVersion === 1) {
    throw new ImageError('Unsupported', `${what}: Docker image manifest schema 1 is not supported`);
  }
  if (!m.config?.digest || !Array.isArray(m.layers)) throw new ImageError('Corrupt', `${what}: not an image manifest`);
  for (const l of m.layers) {
    if (l.mediaType?.includes('encrypted')) throw new ImageError('Unsupported', `${what}: encrypted layers are not supported`);
    hexOf(l.digest);
  }
  hexOf(m.config.digest);
}

function checkConfig(config: ImageConfig, layerCount: number, what: string): void {
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== layerCount) {
    throw new ImageError('Corrupt', `${what}: config lists ${Array.isArray(diffIds) ? diffIds.length : 0} layers (rootfs.diff_ids), the manifest ${layerCount}`);
  }
  for (const d of diffIds) hexOf(d);
}

/** Runs `fn` over `items` with at most `limit` running at once. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}

export class ImageStore {
  readonly root: string;
  private readonly client: RegistryClient;
  private readonly maxDownloads: number;
  private readonly inflightPulls = new Map<string, Promise<PullResult>>();
  private readonly inflightLayers = new Map<string, Promise<void>>();
  private lockChain: Promise<unknown> = Promise.resolve();
  private leaseCounter = 0;

  constructor(root: string, opts: ImageStoreOptions = {}) {
    this.root = root;
    this.client = new RegistryClient(opts);
    this.maxDownloads = opts.maxConcurrentDownloads ?? 3;
  }

  private get blobsDir() {
    return join(this.root, 'blobs', 'sha256');
  }
  private get layersDir() {
    return join(this.root, 'layers', 'sha256');
  }
  private get tmpDir() {
    return join(this.root, 'tmp');
  }
  private get leasesDir() {
    return join(this.root, 'leases');
  }
  blobPath(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }
  layerPath(diffId: string): string {
    return join(this.layersDir, hexOf(diffId));
  }

  private async ensureDirs(): Promise<void> {
    for (const d of [this.blobsDir, this.layersDir, this.tmpDir, this.leasesDir]) await mkdir(d, { recursive: true, mode: 0o700 });
  }

  private tmpFile(kind: string): string {
    return join(this.tmpDir, `${process.pid}-${kind}-${randomBytes(6).toString('hex')}`);
  }

  // ---- the index ----

  private readIndex(): IndexFile {
    const file = join(this.root, 'images.json');
    if (!existsSync(file)) return { version: 1, images: [] };
    const doc = JSON.parse(readFileSync(file, 'utf8')) as IndexFile;
    return { version: 1, images: Array.isArray(doc.images) ? doc.images : [] };
  }

  private async writeIndex(index: IndexFile): Promise<void> {
    const file = join(this.root, 'images.json');
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(index, null, 1) + '\n', { mode: 0o600 });
    await rename(tmp, file);
  }

  /** Serializes index changes in this process and, through a lock directory, with other processes. */
  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      await mkdir(this.root, { recursive: true });
      const lock = join(this.root, 'lock');
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await mkdir(lock);
          await writeFile(join(lock, 'pid'), String(process.pid));
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          const holder = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => 'NaN'));
          if (Number.isInteger(holder) && !pidAlive(holder)) {
            await rm(lock, { recursive: true, force: true });
            continue;
          }
          if (Date.now() > deadline) throw new ImageError('Registry', `image store ${this.root} stays locked by process ${holder}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      try {
        return await fn();
      } finally {
        await rm(lock, { recursive: true, force: true });
      }
    };
    const result = this.lockChain.then(run, run);
    this.lockChain = result.catch(() => {});
    return result;
  }

  /** Marks digests as in use by work in progress, so gc (here or in another process) keeps them. */
  private async lease(digests: string[]): Promise<() => Promise<void>> {
    await this.ensureDirs();
    const file = join(this.leasesDir, `${process.pid}.${++this.leaseCounter}`);
    await writeFile(file, JSON.stringify(digests));
    return () => unlink(file).catch(() => {});
  }

  // ---- queries ----

  list(): ImageRecord[] {
    return this.readIndex().images;
  }

  /** The stored image a reference, an image ID (`sha256:…`) or a unique ID prefix names, or undefined. */
  resolve(image: string): ImageRecord | undefined {
    const images = this.readIndex().images;
    let ref: ImageReference | undefined;
    try {
      ref = parseImageReference(image);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const repo = repositoryName(ref);
      const found = ref.digest
        ? images.find((i) => i.repoDigests.includes(`${repo}@${ref.digest}`)) ??
          images.find((i) => i.manifests.includes(ref.digest!) && [...i.repoTags, ...i.repoDigests].some((n) => n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`)))
        : images.find((i) => i.repoTags.includes(`${repo}:${ref.tag}`));
      if (found) return found;
    }
    const m = /^(?:sha256:)?([0-9a-f]{4,64})$/.exec(image);
    if (m) {
      const matches = images.filter((i) => i.id.slice('sha256:'.length).startsWith(m[1]!));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }

  /** The unpacked layer directories of an image, lowest first. */
  layers(imageId: string): string[] {
    const image = this.mustResolve(imageId);
    return image.layers.map((l) => this.layerPath(l.diffId));
  }

  /** The overlayfs `lowerdir=` option value for an image (top layer first). */
  lowerdir(imageId: string): string {
    return overlayLowerdir(this.layers(imageId));
  }

  config(imageId: string): ImageConfig {
    const image = this.mustResolve(imageId);
    return JSON.parse(readFileSync(this.blobPath(image.id), 'utf8')) as ImageConfig;
  }

  private mustResolve(image: string): ImageRecord {
    const found = this.resolve(image);
    if (!found) throw new ImageError('NotFound', `image "${image}" is not present on this node`);
    return found;
  }

  private isComplete(image: ImageRecord): boolean {
    return existsSync(this.blobPath(image.id)) && image.layers.every((l) => existsSync(this.layerPath(l.diffId)));
  }

  // ---- pulling ----

  /** Makes an image present according to the pull policy; throws ImageError (or InvalidImageNameError). */
  async pull(image: string, opts: PullOptions = {}): Promise<PullResult> {
    const ref = parseImageReference(image);
    const policy = opts.policy ?? defaultPullPolicy(image);
    const t0 = performance.now();
    const local = this.resolve(formatImageReference(ref));
    const present = local !== undefined && this.isComplete(local);
    if (policy === 'Never' || (policy === 'IfNotPresent' && present)) {
      if (!present) throw new ImageError('NeverPull', `Container image "${image}" is not present with pull policy of Never`);
      return { image: local, pulled: false, bytesDownloaded: 0, durationMs: performance.now() - t0, size: local.size, imageRef: imageRefOf(local) };
    }
    const key = formatImageReference(ref);
    const running = this.inflightPulls.get(key);
    if (running) return running;
    const p = this.pullFromRegistry(ref, image, opts).finally(() => this.inflightPulls.delete(key));
    this.inflightPulls.set(key, p);
    return p;
  }

  private async pullFromRegistry(ref: ImageReference, image: string, opts: PullOptions): Promise<PullResult> {
    const creds = opts.credentials instanceof DockerKeyring ? opts.credentials.lookup(ref) : [...(opts.credentials ?? [])];
    const attempts: (RegistryCredential | undefined)[] = creds.length ? creds : [undefined];
    let lastError: unknown;
    for (const cred of attempts) {
      try {
        return await this.pullWith(ref, image, cred, opts);
      } catch (e) {
        lastError = e;
        if (!(e instanceof ImageError && e.code === 'Unauthorized')) break;
      }
    }
    throw lastError;
  }

  private async pullWith(ref: ImageReference, image: string, cred: RegistryCredential | undefined, opts: PullOptions): Promise<PullResult> {
    const t0 = performance.now();
    const signal = opts.signal;
    const progress: PullProgress = { image, phase: 'resolving', bytesDownloaded: 0, bytesTotal: 0, layersDone: 0, layersTotal: 0, elapsedMs: 0 };
    let lastEmit = 0;
    const emit = (force: boolean) => {
      const now = performance.now();
      if (!opts.onProgress || (!force && now - lastEmit < 100)) return;
      lastEmit = now;
      opts.onProgress({ ...progress, elapsedMs: Math.round(now - t0) });
    };
    emit(true);
    const name = formatImageReference(ref);
    const top = await this.client.getManifest(ref, ref.digest ?? ref.tag!, cred, signal);
    const manifestBlobs = [top];
    let manifestBytes = top.body;
    let manifestDigest = top.digest;
    const topDoc = parseJSON<ImageManifest & ImageIndex>(top.body, `manifest of ${name}`);
    if (isIndex(top.mediaType, topDoc)) {
      if (!Array.isArray(topDoc.manifests)) throw new ImageError('Corrupt', `index of ${name} lists no manifests`);
      const desc = pickPlatform(topDoc);
      if (!desc) throw new ImageError('NotFound', `no image for platform linux/amd64 in ${name} (it has: ${platformsOf(topDoc) || 'none'})`);
      const m = await this.client.getManifest(ref, desc.digest, cred, signal);
      manifestBlobs.push(m);
      manifestBytes = m.body;
      manifestDigest = m.digest;
    }
    const manifest = parseJSON<ImageManifest>(manifestBytes, `manifest ${manifestDigest} of ${name}`);
    checkManifest(manifest, `manifest ${manifestDigest} of ${name}`);

    const release = await this.lease([manifest.config.digest, ...manifestBlobs.map((m) => m.digest)]);
    try {
      const layerSizes = manifest.layers.reduce((n, l) => n + l.size, 0);
      const size = manifest.config.size + layerSizes;
      const existing = this.list().find((i) => i.id === manifest.config.digest);
      let config: ImageConfig;
      let layers: LayerRecord[];
      if (existing && this.isComplete(existing)) {
        config = JSON.parse(await readFile(this.blobPath(existing.id), 'utf8')) as ImageConfig;
      } else {
        progress.phase = 'downloading';
        progress.layersTotal = manifest.layers.length;
        progress.bytesTotal = size;
        emit(true);
        const configFile = this.tmpFile('config');
        await this.ensureDirs();
        await this.client.fetchBlob(ref, manifest.config.digest, manifest.config.size, configFile, { cred, signal, onBytes: (n) => ((progress.bytesDownloaded += n), emit(false)) });
        config = parseJSON<ImageConfig>(await readFile(configFile), `config of ${name}`);
        checkConfig(config, manifest.layers.length, `image ${name}`);
        await rename(configFile, this.blobPath(manifest.config.digest));
      }
      layers = manifest.layers.map((l, i) => ({ digest: l.digest, diffId: config.rootfs.diff_ids[i]!, mediaType: l.mediaType, size: l.size }));
      const releaseLayers = await this.lease(layers.map((l) => l.diffId));
      try {
        await eachLimited(layers, this.maxDownloads, async (layer) => {
          await this.ensureLayer(layer.diffId, async (what) => {
            const file = this.tmpFile('layer');
            await this.client.fetchBlob(ref, layer.digest, layer.size, file, { cred, signal, onBytes: (n) => ((progress.bytesDownloaded += n), emit(false)) });
            progress.phase = 'unpacking';
            emit(true);
            return { file, cleanup: () => rm(file, { force: true }), what: `${what} (${layer.digest}) of ${name}` };
          });
          progress.layersDone++;
          emit(true);
        });
        const record = await this.commit({
          config,
          configDigest: manifest.config.digest,
          layers,
          size,
          manifests: manifestBlobs.map((m) => ({ digest: m.digest, bytes: m.body })),
          tags: ref.tag !== undefined ? [`${repositoryName(ref)}:${ref.tag}`] : [],
          repoDigests: [`${repositoryName(ref)}@${top.digest}`],
        });
        progress.phase = 'done';
        emit(true);
        return { image: record, pulled: true, bytesDownloaded: progress.bytesDownloaded, durationMs: performance.now() - t0, size, imageRef: imageRefOf(record, top.digest) };
      } finally {
        await releaseLayers();
      }
    } finally {
      await release();
    }
  }

  /** Unpacks a layer once, whoever asks for it; `obtain` gives its (verified) blob as a file. */
  private async ensureLayer(
    diffId: string,
    obtain: (what: string) => Promise<{ file: string; cleanup: () => Promise<void>; what: string }>,
  ): Promise<void> {
    const dest = this.layerPath(diffId);
    if (existsSync(dest)) return;
    const running = this.inflightLayers.get(diffId);
    if (running) return running;
    const p = (async () => {
      await this.ensureDirs();
      const blob = await obtain(`layer ${diffId}`);
      try {
        await unpackLayer(blob.file, dest, { diffId, workDir: this.tmpDir, what: blob.what });
      } finally {
        await blob.cleanup();
      }
    })().finally(() => this.inflightLayers.delete(diffId));
    this.inflightLayers.set(diffId, p);
    return p;
  }

  private async commit(c: {
    config: ImageConfig;
    configDigest: string;
    layers: LayerRecord[];
    size: number;
    manifests: { digest: string; bytes: Buffer }[];
    tags: string[];
    repoDigests: string[];
  }): Promise<ImageRecord> {
    for (const m of c.manifests) {
      const path = this.blobPath(m.digest);
      if (existsSync(path)) continue;
      const tmp = this.tmpFile('manifest');
      await writeFile(tmp, m.bytes, { mode: 0o644 });
      await rename(tmp, path);
    }
    return this.withLock(async () => {
      const index = this.readIndex();
      for (const other of index.images) other.repoTags = other.repoTags.filter((t) => !c.tags.includes(t));
      let record = index.images.find((i) => i.id === c.configDigest);
      if (!record) {
        record = { id: c.configDigest, repoTags: [], repoDigests: [], manifests: [], layers: c.layers, size: c.size, created: c.config.created, storedAt: '' };
        index.images.push(record);
      }
      record.layers = c.layers;
      record.size = c.size;
      record.storedAt = new Date().toISOString();
      const union = (a: string[], b: string[]) => [...new Set([...a, ...b])];
      record.repoTags = union(record.repoTags, c.tags);
      record.repoDigests = union(record.repoDigests, c.repoDigests);
      record.manifests = union(record.manifests, c.manifests.map((m) => m.digest));
      await this.writeIndex(index);
      return record;
    });
  }

  // ---- removing ----

  /**
   * Removes a name; the image itself goes when no name is left or when it was named by ID.
   * Content no image uses any more is deleted. Returns the names untagged and the image IDs deleted.
   */
  async remove(image: string): Promise<{ untagged: string[]; deleted: string[] }> {
    const result = await this.withLock(async () => {
      const index = this.readIndex();
      const found = this.resolve(image);
      if (!found) throw new ImageError('NotFound', `No such image: ${image}`);
      const record = index.images.find((i) => i.id === found.id)!;
      let tag: string | undefined;
      try {
        const ref = parseImageReference(image);
        if (!ref.digest) tag = `${repositoryName(ref)}:${ref.tag}`;
      } catch {
        tag = undefined;
      }
      if (tag !== undefined && record.repoTags.includes(tag) && record.repoTags.length > 1) {
        record.repoTags = record.repoTags.filter((t) => t !== tag);
        await this.writeIndex(index);
        return { untagged: [tag], deleted: [] };
      }
      index.images = index.images.filter((i) => i !== record);
      await this.writeIndex(index);
      return { untagged: [...record.repoTags, ...record.repoDigests], deleted: [record.id] };
    });
    if (result.deleted.length) await this.pruneContent();
    return result;
  }

  /**
   * Removes every image not named in `inUse` (image IDs or references as containers give them), then all
   * content no remaining image uses. Images stored less than `minAgeMs` ago are kept.
   */
  async gc(inUse: ReadonlySet<string>, opts: { minAgeMs?: number } = {}): Promise<GcResult> {
    const keep = new Set<string>();
    for (const name of inUse) {
      const found = this.resolve(name);
      if (found) keep.add(found.id);
    }
    const minAge = opts.minAgeMs ?? 0;
    const removedImages = await this.withLock(async () => {
      const index = this.readIndex();
      const now = Date.now();
      const removed = index.images.filter((i) => !keep.has(i.id) && now - Date.parse(i.storedAt) >= minAge);
      if (removed.length) {
        index.images = index.images.filter((i) => !removed.includes(i));
        await this.writeIndex(index);
      }
      return removed;
    });
    const pruned = await this.pruneContent();
    return { removedImages, ...pruned };
  }

  /** Deletes blobs and layer directories no image references and no live pull leases, and dead processes' temp files. */
  private async pruneContent(): Promise<{ removedBlobs: number; removedLayers: number }> {
    return this.withLock(async () => {
      await this.ensureDirs();
      const used = new Set<string>();
      for (const i of this.readIndex().images) {
        used.add(hexOf(i.id));
        for (const m of i.manifests) used.add(hexOf(m));
        for (const l of i.layers) used.add(hexOf(l.diffId));
      }
      for (const f of await readdir(this.leasesDir)) {
        const pid = Number(f.split('.')[0]);
        if (!pidAlive(pid)) {
          await rm(join(this.leasesDir, f), { force: true });
          continue;
        }
        const digests = JSON.parse(await readFile(join(this.leasesDir, f), 'utf8').catch(() => '[]')) as string[];
        for (const d of digests) used.add(d.slice('sha256:'.length));
      }
      for (const f of await readdir(this.tmpDir)) {
        if (!pidAlive(Number(f.split('-')[0]))) await rm(join(this.tmpDir, f), { recursive: true, force: true });
      }
      let removedBlobs = 0;
      let removedLayers = 0;
      for (const f of await readdir(this.blobsDir)) {
        if (used.has(f)) continue;
        await rm(join(this.blobsDir, f), { force: true });
        removedBlobs++;
      }
      for (const f of await readdir(this.layersDir)) {
        if (used.has(f)) continue;
        // Renamed aside first: a half-deleted directory must never look like a complete layer.
        const aside = this.tmpFile('gc');
        await rename(join(this.layersDir, f), aside);
        await rm(aside, { recursive: true, force: true });
        removedLayers++;
      }
      return { removedBlobs, removedLayers };
    });
  }

  // ---- importing ----

  /**
   * Imports the images of an OCI image layout directory. Each is named by its `org.opencontainers.image.ref.name`
   * annotation: a full reference as is, a bare tag under `name` (default: the directory's name).
   */
  async importOCI(dir: string, opts: { name?: string } = {}): Promise<ImageRecord[]> {
    if (!existsSync(join(dir, 'oci-layout')) || !existsSync(join(dir, 'index.json'))) {
      throw new ImageError('Corrupt', `${dir} is not an OCI image layout (no oci-layout and index.json)`);
    }
    const readBlob = async (d: Descriptor): Promise<Buffer> => {
      const bytes = await readFile(join(dir, 'blobs', 'sha256', hexOf(d.digest)));
      const got = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (got !== d.digest) throw digestMismatch(`blob ${d.digest} in ${dir}`, d.digest, got);
      return bytes;
    };
    const index = parseJSON<ImageIndex>(await readFile(join(dir, 'index.json')), `${dir}/index.json`);
    const imported: ImageRecord[] = [];
    for (const top of index.manifests ?? []) {
      const topBytes = await readBlob(top);
      const manifests = [{ digest: top.digest, bytes: topBytes }];
      let desc = top;
      let bytes = topBytes;
      const doc = parseJSON<ImageManifest & ImageIndex>(topBytes, `manifest ${top.digest} in ${dir}`);
      if (isIndex(top.mediaType, doc)) {
        const picked = pickPlatform(doc);
        if (!picked) throw new ImageError('NotFound', `no image for platform linux/amd64 in ${dir} (it has: ${platformsOf(doc) || 'none'})`);
        desc = picked;
        bytes = await readBlob(desc);
        manifests.push({ digest: desc.digest, bytes });
      }
      const manifest = parseJSON<ImageManifest>(bytes, `manifest ${desc.digest} in ${dir}`);
      checkManifest(manifest, `manifest ${desc.digest} in ${dir}`);
      const names = this.importNames(top.annotations ?? {}, opts.name, dir);
      const configBytes = await readBlob(manifest.config);
      imported.push(
        await this.storeLocalImage({
          configBytes,
          configDigest: manifest.config.digest,
          layers: manifest.layers.map((l) => ({ desc: l, file: join(dir, 'blobs', 'sha256', hexOf(l.digest)) })),
          manifests,
          names,
          repoDigestOf: top.digest,
          what: dir,
        }),
      );
    }
    return imported;
  }

  private importNames(annotations: Record<string, string>, name: string | undefined, dir: string): ImageReference[] {
    const full = annotations['io.containerd.image.name'];
    const refName = annotations['org.opencontainers.image.ref.name'];
    if (name !== undefined) {
      const ref = parseImageReference(name);
      if (!/:[\w][\w.-]*$/.test(name.split('/').pop()!) && refName && /^[\w][\w.-]{0,127}$/.test(refName)) ref.tag = refName;
      return [ref];
    }
    if (full) return [parseImageReference(full)];
    if (!refName) return [];
    if (/^[\w][\w.-]{0,127}$/.test(refName) && !refName.includes('/')) {
      const repo = basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'imported';
      return [parseImageReference(`${repo}:${refName}`)];
    }
    return [parseImageReference(refName)];
  }

  /** Imports a `docker save` / skopeo docker-archive tar (its manifest.json), or an OCI layout packed in a tar. */
  async importDockerArchive(file: string, opts: { name?: string } = {}): Promise<ImageRecord[]> {
    await this.ensureDirs();
    const tmp = await mkdtemp(join(this.tmpDir, `${process.pid}-archive-`));
    try {
      await new Promise<void>((resolve, reject) => {
        const tar = spawn('tar', ['-x', '-f', file, '-C', tmp, '--no-same-owner', '--no-same-permissions'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        tar.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
        tar.on('error', reject);
        tar.on('close', (code) => (code === 0 ? resolve() : reject(new ImageError('Corrupt', `${file}: not a readable tar archive: ${err.trim()}`))));
      });
      if (!existsSync(join(tmp, 'manifest.json'))) {
        if (existsSync(join(tmp, 'oci-layout'))) return await this.importOCI(tmp, { name: opts.name ?? basename(file).replace(/\.tar$/, '') });
        throw new ImageError('Corrupt', `${file} is not a docker archive (no manifest.json)`);
      }
      const entries = parseJSON<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(await readFile(join(tmp, 'manifest.json')), `${file}: manifest.json`);
      const inside = (p: string) => {
        const full = join(tmp, p);
        if (!full.startsWith(tmp + '/')) throw new ImageError('Corrupt', `${file}: path outside the archive: ${p}`);
        return full;
      };
      const imported: ImageRecord[] = [];
      for (const entry of entries) {
        const configBytes = await readFile(inside(entry.Config));
        const configDigest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
        const layers: { desc: Descriptor; file: string }[] = [];
        for (const l of entry.Layers) {
          const path = inside(l);
          const { digest, size } = await sha256File(path);
          layers.push({ desc: { mediaType: MediaType.ociLayer, digest, size }, file: path });
        }
        const manifest: ImageManifest = {
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
          layers: layers.map((l) => l.desc),
        };
        const manifestBytes = Buffer.from(JSON.stringify(manifest));
        const manifestDigest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
        const names = opts.name !== undefined ? [parseImageReference(opts.name)] : (entry.RepoTags ?? []).map((t) => parseImageReference(t));
        imported.push(
          await this.storeLocalImage({ configBytes, configDigest, layers, manifests: [{ digest: manifestDigest, bytes: manifestBytes }], names, what: file }),
        );
      }
      return imported;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async storeLocalImage(s: {
    configBytes: Buffer;
    configDigest: string;
    layers: { desc: Descriptor; file: string }[];
    manifests: { digest: string; bytes: Buffer }[];
    names: ImageReference[];
    repoDigestOf?: string;
    what: string;
  }): Promise<ImageRecord> {
    const config = parseJSON<ImageConfig>(s.configBytes, `config ${s.configDigest} in ${s.what}`);
    checkConfig(config, s.layers.length, s.what);
    await this.ensureDirs();
    const release = await this.lease([s.configDigest, ...s.manifests.map((m) => m.digest), ...config.rootfs.diff_ids]);
    try {
      const layers: LayerRecord[] = s.layers.map((l, i) => ({ digest: l.desc.digest, diffId: config.rootfs.diff_ids[i]!, mediaType: l.desc.mediaType, size: l.desc.size }));
      for (const [i, l] of s.layers.entries()) {
        await this.ensureLayer(layers[i]!.diffId, async (what) => {
          const { digest, size } = await sha256File(l.file);
          if (digest !== l.desc.digest) throw digestMismatch(`${what} in ${s.what}`, l.desc.digest, digest);
          if (size !== l.desc.size) throw digestMismatch(`${what} in ${s.what}`, `${l.desc.size} bytes`, `${size} bytes`);
          return { file: l.file, cleanup: async () => {}, what: `${what} in ${s.what}` };
        });
      }
      const configPath = this.blobPath(s.configDigest);
      if (!existsSync(configPath)) {
        const tmp = this.tmpFile('config');
        await writeFile(tmp, s.configBytes);
        await rename(tmp, configPath);
      }
      return await this.commit({
        config,
        configDigest: s.configDigest,
        layers,
        size: s.configBytes.length + layers.reduce((n, l) => n + l.size, 0),
        manifests: s.manifests,
        tags: s.names.filter((n) => n.tag !== undefined).map((n) => `${repositoryName(n)}:${n.tag}`),
        repoDigests: s.repoDigestOf ? s.names.map((n) => `${repositoryName(n)}@${s.repoDigestOf}`) : [],
      });
    } finally {
      await release();
    }
  }

  /** Total bytes on disk of stored blobs (not unpacked layers). */
  blobBytes(): number {
    if (!existsSync(this.blobsDir)) return 0;
    return readdirSync(this.blobsDir).reduce((n, f) => n + statSync(join(this.blobsDir, f)).size, 0);
  }
}

/** A repo digest for the image (the one just pulled, when given), else its ID: a pod's `imageID`. */
export function imageRefOf(image: ImageRecord, digest?: string): string {
  if (digest) {
    const match = image.repoDigests.find((d) => d.endsWith(`@${digest}`));
    if (match) return match;
  }
  return image.repoDigests[0] ?? image.id;
}
