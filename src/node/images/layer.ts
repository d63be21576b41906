// Unpacking a layer tar (plain, gzip or zstd) into a directory usable as an overlayfs lowerdir.
// GNU tar (always on Debian) does the extraction: it refuses `..` members and defers symlinks that point outside.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { digestMismatch, ImageError } from './errors.js';

export type LayerCompression = 'gzip' | 'zstd' | 'none';

const isRoot = process.getuid?.() === 0;

export async function detectCompression(file: string): Promise<LayerCompression> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    if (bytesRead >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && buffer.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    await fh.close();
  }
}

function collectStderr(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    if (text.length < 4000) text += c;
  });
  return () => text.trim();
}

function exitOf(child: ChildProcess, program: string): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new ImageError('Unsupported', `${program} is not installed${program === 'zstd' ? ': zstd-compressed layers need it (Debian package zstd)' : ''}`)
          : e,
      ),
    );
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Decompressed bytes of a layer blob; `done` settles when the decompressor has finished (zstd is a child process). */
function decompressed(file: string, compression: LayerCompression): { stream: Readable; done: Promise<void> } {
  if (compression === 'zstd') {
    const child = spawn('zstd', ['-d', '-c', '-q', '--', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr = collectStderr(child);
    const done = exitOf(child, 'zstd').then((code) => {
      if (code !== 0) throw new ImageError('Corrupt', `zstd could not decompress the layer: ${stderr() || `exit ${code}`}`);
    });
    return { stream: child.stdout!, done };
  }
  const raw = createReadStream(file);
  if (compression === 'none') return { stream: raw, done: Promise.resolve() };
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return { stream: raw.pipe(gunzip), done: Promise.resolve() };
}

/** Runs GNU tar extracting stdin into `dir`, feeding it `source`; resolves with the sha256 of everything fed. */
async function extractTar(source: Readable, dir: string, extraArgs: string[]): Promise<string> {
  const tar = spawn('tar', ['-x', '-f', '-', '-C', dir, '--numeric-owner', ...extraArgs], { stdio: ['pipe', 'ignore', 'pipe'] });
  const stderr = collectStderr(tar);
  const exited = exitOf(tar, 'tar');
  const hash = createHash('sha256');
  let open = true;
  let pending: (() => void) | undefined;
  const closed = () => {
    open = false;
    const p = pending;
    pending = undefined;
    p?.();
  };
  tar.stdin!.on('error', closed);
  tar.stdin!.on('close', closed);
  let fedBytes = 0;
  // tar may stop at the end-of-archive blocks: the rest is still read, for the digest.
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      fedBytes += chunk.length;
      if (!open) return cb();
      if (tar.stdin!.write(chunk)) return cb();
      pending = () => cb();
      tar.stdin!.once('drain', () => {
        const p = pending;
        pending = undefined;
        p?.();
      });
    },
    final(cb) {
      // Some writers (umoci 0.4.7) end a layer without the last block's padding and the end-of-archive
      // blocks, which GNU tar calls an unexpected EOF; zeros complete it and are ignored after a complete one.
      if (open) tar.stdin!.end(Buffer.alloc(((512 - (fedBytes % 512)) % 512) + 1024));
      cb();
    },
  });
  const fed = pipeline(source, sink);
  const [feedResult, code] = await Promise.allSettled([fed, exited]);
  if (code.status === 'rejected') throw code.reason;
  if (code.value !== 0) throw new ImageError('Corrupt', `tar could not unpack the layer: ${stderr() || `exit ${code.value}`}`);
  if (feedResult.status === 'rejected') {
    const e = feedResult.reason as Error;
    throw e instanceof ImageError ? e : new ImageError('Corrupt', `could not decompress the layer: ${e.message}`);
  }
  return `sha256:${hash.digest('hex')}`;
}

interface Whiteouts {
  /** paths (relative to the layer root) that hide the same path in lower layers */
  removed: string[];
  /** directories whose lower-layer contents are hidden */
  opaque: string[];
  markers: string[];
}

async function findWhiteouts(root: string): Promise<Whiteouts> {
  const found: Whiteouts = { removed: [], opaque: [], markers: [] };
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.name === '.wh..wh..opq') {
        found.opaque.push(rel);
        found.markers.push(path);
      } else if (entry.name.startsWith('.wh.')) {
        found.removed.push(rel === '' ? entry.name.slice(4) : `${rel}/${entry.name.slice(4)}`);
        found.markers.push(path);
      } else if (entry.isDirectory()) {
        await walk(path);
      }
    }
  };
  await walk('');
  return found;
}

// A minimal tar writer for the overlayfs whiteout entries: char devices 0:0 and directories with xattrs.
function paxRecords(records: Record<string, string>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    const b = Buffer.byteLength(body);
    let len = b + String(b).length;
    if (String(len).length > String(b).length) len = b + String(len).length;
    out += `${len}${body}`;
  }
  return Buffer.from(out, 'utf8');
}

function tarHeader(name: string, type: string, size: number, mode: number, uid: number, gid: number, mtime: number): Buffer {
  const h = Buffer.alloc(512);
  const octal = (v: number, width: number, at: number) => h.write(v.toString(8).padStart(width - 1, '0') + '\0', at, 'ascii');
  h.write(name.slice(0, 99), 0, 'utf8');
  octal(mode & 0o7777, 8, 100);
  octal(uid, 8, 108);
  octal(gid, 8, 116);
  octal(size, 12, 124);
  octal(Math.max(0, Math.floor(mtime)), 12, 136);
  h.write(type, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  octal(0, 8, 329);
  octal(0, 8, 337);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

function tarEntry(path: string, type: '3' | '5', xattrs: Record<string, string>, mode: number, uid: number, gid: number, mtime: number): Buffer[] {
  const records: Record<string, string> = { path };
  for (const [k, v] of Object.entries(xattrs)) records[`SCHILY.xattr.${k}`] = v;
  const pax = paxRecords(records);
  const pad = Buffer.alloc((512 - (pax.length % 512)) % 512);
  return [tarHeader('PaxHeader', 'x', pax.length, 0o644, 0, 0, mtime), pax, pad, tarHeader(path.slice(0, 99) || '.', type, 0, mode, uid, gid, mtime)];
}

/** Turns OCI whiteout files into overlayfs form: `.wh.x` → char device 0:0 `x`; `.wh..wh..opq` → trusted.overlay.opaque=y. */
async function convertWhiteouts(root: string, what: string): Promise<number> {
  const w = await findWhiteouts(root);
  if (w.markers.length === 0) return 0;
  if (!isRoot) throw new ImageError('Unsupported', `${what} has whiteouts; making overlayfs whiteouts (device nodes, trusted.* xattrs) needs root`);
  for (const m of w.markers) await rm(join(root, m), { recursive: true, force: true });
  const parts: Buffer[] = [];
  for (const dir of w.opaque) {
    const st = await lstat(join(root, dir));
    parts.push(...tarEntry(dir === '' ? '.' : dir, '5', { 'trusted.overlay.opaque': 'y' }, st.mode, st.uid, st.gid, st.mtimeMs / 1000));
  }
  for (const path of w.removed) {
    const exists = await lstat(join(root, path)).then(
      () => true,
      () => false,
    );
    if (!exists) parts.push(...tarEntry(path, '3', {}, 0, 0, 0, 0));
  }
  parts.push(Buffer.alloc(1024));
  await extractTar(Readable.from([Buffer.concat(parts)]), root, ['--xattrs', '--xattrs-include=trusted.overlay.opaque']);
  return w.markers.length;
}

export interface UnpackResult {
  diffId: string;
  whiteouts: number;
}

/**
 * Unpacks a verified layer blob into `dest` (which must not exist yet), checking the uncompressed digest
 * against `diffId` when given. Works in a temporary directory under `workDir`; `dest` appears only when complete.
 */
export async function unpackLayer(blob: string, dest: string, opts: { diffId?: string; workDir: string; what: string }): Promise<UnpackResult> {
  const compression = await detectCompression(blob);
  await mkdir(opts.workDir, { recursive: true });
  const tmp = await mkdtemp(join(opts.workDir, `${process.pid}-unpack-`));
  try {
    const fs = join(tmp, 'fs');
    await mkdir(fs, { mode: 0o755 });
    const { stream, done } = decompressed(blob, compression);
    const extraArgs = isRoot ? ['--xattrs', '--xattrs-include=security.capability'] : ['--no-same-owner', '--no-same-permissions'];
    const [diffId] = await Promise.all([extractTar(stream, fs, extraArgs), done]);
    if (opts.diffId !== undefined && diffId !== opts.diffId) throw digestMismatch(`${opts.what} (uncompressed)`, opts.diffId, diffId);
    const whiteouts = await convertWhiteouts(fs, opts.what);
    try {
      await rename(fs, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
    return { diffId, whiteouts };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The overlayfs `lowerdir=` value for layer directories given lowest first (overlayfs lists the top one first). */
export function overlayLowerdir(layerDirs: readonly string[]): string {
  return [...layerDirs].reverse().join(':');
}
