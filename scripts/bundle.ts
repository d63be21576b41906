// Bundles the `timonel` command into dist/bundle/timonel.js (run by `npm run build` after tsc): loading one
// file instead of a few hundred ES modules saves most of the start-up time. Dynamic imports become chunks
// beside it (dist/bundle/chunks/), so what the code loads lazily stays lazy.
//
//   node --import tsx scripts/bundle.ts                      dist/cli/main.js → dist/bundle/
//   node --import tsx scripts/bundle.ts --entry src/cli/main.ts --outdir DIR
//
// The bundle resolves its external packages from the node_modules above it: keep it inside the repo (or
// give its directory a node_modules link).
import { build, type Metafile } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BUNDLE_ENTRY = join(REPO, 'dist', 'cli', 'main.js');
export const BUNDLE_DIR = join(REPO, 'dist', 'bundle');
/** the file bin/timonel and the benchmarks run */
export const BUNDLE_MAIN = 'timonel.js';

/**
 * Left to node_modules at run time:
 * - better-sqlite3: a native addon (it finds its .node file through `bindings` and the package's path);
 * - protobufjs and spdy-transport: the code loads them with createRequire() on first use; bundling them
 *   would not make them lazier, and protobufjs requires its optional modules by name through eval.
 */
export const EXTERNAL_PACKAGES = ['better-sqlite3', 'protobufjs', 'spdy-transport'];

// Bundled CommonJS packages (ws, yaml, dns-packet, …) require node built-ins: an ES module has no
// `require` of its own, so every output file gets one.
const REQUIRE_BANNER = "import { createRequire as __timonelCreateRequire } from 'node:module';\nconst require = __timonelCreateRequire(import.meta.url);";

export interface BundleOptions {
  entry?: string;
  outdir?: string;
}

export interface BundleResult {
  main: string;
  metafile: Metafile;
}

export async function bundle(o: BundleOptions = {}): Promise<BundleResult> {
  const outdir = resolve(o.outdir ?? BUNDLE_DIR);
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { timonel: resolve(o.entry ?? BUNDLE_ENTRY) },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunks/[name]-[hash]',
    // ES builds first: a dynamic import() of a CommonJS package split into a chunk would only have a default
    // export (@peculiar/x509's named exports were undefined)
    mainFields: ['module', 'main'],
    external: EXTERNAL_PACKAGES,
    banner: { js: REQUIRE_BANNER },
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  if (result.errors.length) throw new Error(`esbuild: ${result.errors.map((e) => e.text).join('; ')}`);
  // ES modules wherever the directory is copied (the chunks' import statements need it)
  writeFileSync(join(outdir, 'package.json'), '{ "type": "module" }\n');
  return { main: join(outdir, BUNDLE_MAIN), metafile: result.metafile };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { entry: { type: 'string' }, outdir: { type: 'string' } }, strict: true });
  const { main } = await bundle({ entry: values.entry, outdir: values.outdir });
  process.stdout.write(`bundle: ${main}\n`);
}
