// `timonel image import|ls|rm|pull|prune`: the node's image store (<data-dir>/images), as `crictl images` shows it.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ImageError } from '../node/images/errors.js';
import { pruneUnusedImages } from '../node/images/gc.js';
import { InvalidImageNameError } from '../node/images/reference.js';
import { ImageStore, type ImageRecord } from '../node/images/store.js';

const USAGE = `Usage: timonel image <command> [flags]

Commands:
  import PATH [--name NAME]   load an OCI image layout directory or a docker-archive tar (docker save, skopeo)
  ls [-q]                     list images (-q: image IDs only)
  rm IMAGE...                 remove names (the image goes with its last name, or when given by ID)
  pull IMAGE [--creds USER:PASSWORD]  pull through the registry v2 protocol
  prune                       remove every image no container uses (and content only they used)

Flags:
  --data-dir DIR   Timonel's data directory (default ~/.timonel); images live in DIR/images
`;

export interface ImageCommandOptions {
  dataDir: string;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

/** Decimal units with four significant digits, as crictl and docker print sizes. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${units[i]}`;
}

function rows(images: ImageRecord[]): string[][] {
  const out: string[][] = [];
  for (const image of images) {
    const id = image.id.slice('sha256:'.length, 'sha256:'.length + 13);
    const size = humanSize(image.size);
    const names = image.repoTags.map((t) => {
      const i = t.lastIndexOf(':');
      return [t.slice(0, i), t.slice(i + 1)];
    });
    if (names.length === 0) names.push([image.repoDigests[0]?.split('@')[0] ?? '<none>', '<none>']);
    for (const [repo, tag] of names) out.push([repo!, tag!, id, size]);
  }
  return out;
}

function table(header: string[], body: string[][]): string {
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('')).join('\n') + '\n';
}

/** Runs `timonel image …`; resolves with the exit code. */
export async function runImageCommand(args: string[], opts: ImageCommandOptions): Promise<number> {
  const out = opts.out ?? ((t: string) => void process.stdout.write(t));
  const err = opts.err ?? ((t: string) => void process.stderr.write(t));
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'data-dir': { type: 'string' },
        name: { type: 'string' },
        creds: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (e) {
    err(`timonel image: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [cmd, ...operands] = positionals;
  if (values.help || cmd === undefined || cmd === 'help') {
    out(USAGE);
    return 0;
  }
  const store = new ImageStore(join(resolve(values['data-dir'] ?? opts.dataDir), 'images'));
  try {
    switch (cmd) {
      case 'import':
      case 'load': {
        if (operands.length !== 1) throw new UsageError('import takes one PATH');
        const path = resolve(operands[0]!);
        if (!existsSync(path)) throw new UsageError(`${operands[0]}: no such file or directory`);
        const images = statSync(path).isDirectory() ? await store.importOCI(path, { name: values.name }) : await store.importDockerArchive(path, { name: values.name });
        for (const image of images) {
          const names = image.repoTags.length ? image.repoTags : [image.id];
          for (const n of names) out(`Loaded image: ${n}\n`);
        }
        return 0;
      }
      case 'ls':
      case 'list': {
        const images = store.list();
        if (values.quiet) out(images.map((i) => i.id + '\n').join(''));
        else out(table(['IMAGE', 'TAG', 'IMAGE ID', 'SIZE'], rows(images)));
        return 0;
      }
      case 'rm':
      case 'rmi': {
        if (operands.length === 0) throw new UsageError('rm takes at least one IMAGE');
        let code = 0;
        for (const name of operands) {
          try {
            const r = await store.remove(name);
            for (const t of r.untagged) out(`Untagged: ${t}\n`);
            for (const d of r.deleted) out(`Deleted: ${d}\n`);
          } catch (e) {
            if (!(e instanceof ImageError)) throw e;
            err(`timonel image rm: ${e.message}\n`);
            code = 1;
          }
        }
        return code;
      }
      case 'pull': {
        if (operands.length !== 1) throw new UsageError('pull takes one IMAGE');
        const creds = values.creds;
        const i = creds?.indexOf(':') ?? -1;
        if (creds !== undefined && i < 0) throw new UsageError('--creds: USER:PASSWORD');
        const r = await store.pull(operands[0]!, {
          policy: 'Always',
          credentials: creds !== undefined ? [{ username: creds.slice(0, i), password: creds.slice(i + 1) }] : undefined,
        });
        out(`Image is up to date for ${r.imageRef} (${humanSize(r.size)}, ${Math.round(r.durationMs)} ms)\n`);
        return 0;
      }
      case 'prune': {
        if (operands.length) throw new UsageError('prune takes no arguments');
        const removed = await pruneUnusedImages(store);
        for (const image of removed) {
          for (const n of [...image.repoTags, ...image.repoDigests]) out(`Untagged: ${n}\n`);
          out(`Deleted: ${image.id}\n`);
        }
        out(`Total reclaimed: ${humanSize(removed.reduce((n, i) => n + i.size, 0))}\n`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`timonel image: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ImageError || e instanceof InvalidImageNameError) {
      err(`timonel image ${cmd}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

class UsageError extends Error {}
