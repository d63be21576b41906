// What one benchmark found: printed as it goes, saved as JSON for scripts/bench.sh's summary table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ResultRow {
  metric: string;
  value: string;
  /** the same measure of the baseline, run in the same benchmark */
  baseline?: string;
  ratio?: string;
  goal?: string;
  /** whether the goal was met (absent when there is no goal) */
  met?: boolean;
}

export interface BenchResult {
  /** orders the summary table */
  order: number;
  title: string;
  rows: ResultRow[];
  notes: string[];
  /** what went wrong on the server side: errors, non-2xx, crashes */
  problems: string[];
}

export class Report {
  private readonly result: BenchResult;

  constructor(order: number, title: string) {
    this.result = { order, title, rows: [], notes: [], problems: [] };
    console.log(`\n## ${order}. ${title}\n`);
  }

  /** A line of the benchmark's own output only. */
  log(line: string): void {
    console.log(line);
  }

  row(r: ResultRow): void {
    this.result.rows.push(r);
    const parts = [`${r.metric}: ${r.value}`];
    if (r.baseline !== undefined) parts.push(`baseline ${r.baseline}`);
    if (r.ratio !== undefined) parts.push(`ratio ${r.ratio}`);
    if (r.goal !== undefined) parts.push(`goal ${r.goal} → ${r.met ? 'met' : 'NOT met'}`);
    console.log(`  * ${parts.join(' | ')}`);
  }

  note(text: string): void {
    this.result.notes.push(text);
    console.log(`  note: ${text}`);
  }

  problem(text: string): void {
    this.result.problems.push(text);
    console.log(`  PROBLEM: ${text}`);
  }

  get hasProblems(): boolean {
    return this.result.problems.length > 0;
  }

  /** Writes the result where scripts/bench.sh collects them (BENCH_OUT), if set. */
  save(name: string): void {
    const dir = process.env.BENCH_OUT;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${String(this.result.order).padStart(2, '0')}-${name}.json`), JSON.stringify(this.result, null, 2));
  }
}
