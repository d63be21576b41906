// Layers import only downward (ARCHITECTURE.md): this test fails when a file imports a layer above it
// or a sibling component.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, dirname } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');

const COMPONENTS = ['controllers', 'scheduler', 'node', 'proxy', 'dns', 'ingress'];

/** What each top-level folder of src/ may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  api: [],
  storage: ['api'],
  apiserver: ['api', 'storage'],
  client: ['api'],
  controllers: ['api', 'client'],
  scheduler: ['api', 'client'],
  node: ['api', 'client'],
  proxy: ['api', 'client'],
  dns: ['api', 'client'],
  ingress: ['api', 'client'],
  cli: ['api', 'storage', 'apiserver', 'client', ...COMPONENTS],
};

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function layerViolations(src: string): string[] {
  const bad: string[] = [];
  for (const file of tsFiles(src)) {
    const layer = relative(src, file).split('/')[0];
    if (!(layer in ALLOWED)) {
      bad.push(`${relative(src, file)}: folder ${layer} is not a known layer`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      const target = relative(src, resolve(dirname(file), spec)).split('/')[0];
      if (target === layer || target.startsWith('..')) continue;
      // a component may not import another component either
      if (!ALLOWED[layer].includes(target)) bad.push(`${relative(src, file)} imports ${spec} (layer ${layer} may not import ${target})`);
    }
  }
  return bad;
}

test('every import in src/ points down the layer table', () => {
  assert.deepEqual(layerViolations(src), []);
});

test('the check notices upward and sideways imports', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'timonel-layers-'));
  try {
    for (const d of ['api', 'storage', 'apiserver', 'controllers/x', 'scheduler']) mkdirSync(join(tmp, d), { recursive: true });
    writeFileSync(join(tmp, 'api/a.ts'), "import { s } from '../storage/s.js';\n");
    writeFileSync(join(tmp, 'storage/s.ts'), "import type { A } from '../api/a.js';\nexport const s = 1;\n");
    writeFileSync(join(tmp, 'controllers/x/c.ts'), "import { q } from '../../scheduler/q.js';\nimport { h } from '../../apiserver/h.js';\n");
    writeFileSync(join(tmp, 'scheduler/q.ts'), "export const q = await import('../storage/s.js');\n");
    const bad = layerViolations(tmp);
    assert.equal(bad.length, 4, bad.join('\n'));
    assert.ok(bad.some((b) => b.startsWith('api/a.ts') && b.includes('may not import storage')));
    assert.ok(bad.some((b) => b.includes('controllers/x/c.ts') && b.includes('may not import scheduler')));
    assert.ok(bad.some((b) => b.includes('controllers/x/c.ts') && b.includes('may not import apiserver')));
    assert.ok(bad.some((b) => b.includes('scheduler/q.ts') && b.includes('may not import storage')));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
