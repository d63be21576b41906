// Prints the results the benchmarks saved in BENCH_OUT (or the directory given) as one markdown table.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineDescription, SHORT } from './lib/proc.js';
import type { BenchResult } from './lib/report.js';

const dir = process.argv[2] ?? process.env.BENCH_OUT;
if (!dir || !existsSync(dir)) {
  console.error('usage: summary.ts RESULTS_DIR (or BENCH_OUT=RESULTS_DIR)');
  process.exit(2);
}
const results = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as BenchResult)
  .sort((a, b) => a.order - b.order);

const cell = (s: string | undefined) => (s ?? '').replace(/\|/g, '\\|');
const lines: string[] = [];
lines.push('## Benchmarks', '');
lines.push(`\`npm run bench\`${SHORT ? ' (BENCH_SHORT=1)' : ''} on ${machineDescription()}, ${new Date().toISOString().slice(0, 10)}.`);
lines.push('Every baseline ran in the same run, on the same machine, with the same load generator.', '');
lines.push('| # | Measure | Timonel | Baseline | Ratio | Goal | Met |');
lines.push('|---|---|---|---|---|---|---|');
for (const r of results) {
  for (const row of r.rows) {
    const met = row.met === undefined ? '' : row.met ? 'yes' : '**no**';
    lines.push(`| ${r.order} | ${cell(row.metric)} | ${cell(row.value)} | ${cell(row.baseline)} | ${cell(row.ratio)} | ${cell(row.goal)} | ${met} |`);
  }
  if (r.rows.length === 0) lines.push(`| ${r.order} | ${cell(r.title)}: no result | | | | | |`);
}
const remarks = results.flatMap((r) => [...r.problems.map((p) => `- ${r.order}. **problem**: ${p.split('\n')[0]}`), ...r.notes.map((n) => `- ${r.order}. ${n}`)]);
if (remarks.length) lines.push('', ...remarks);
console.log(`\n${lines.join('\n')}`);
