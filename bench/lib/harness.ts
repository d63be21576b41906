// The frame of every benchmark: pinning, a check that the machine is quiet, servers that are always
// stopped and data dirs always removed, and the result saved for the summary.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bareServer, machineBusy, pinToLoadCore, removeDir, tempDir, timonelUp, type ProcessSample, type ServerProcess, type TimonelOptions } from './proc.js';
import { Report } from './report.js';
import { num } from './stats.js';

export class Bench {
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  constructor(readonly report: Report) {}

  /** A temporary directory removed when the benchmark ends. */
  dir(tag: string): string {
    const d = tempDir(tag);
    this.cleanups.push(() => removeDir(d));
    return d;
  }

  /** `timonel up` on a fresh data dir (plain HTTP unless asked otherwise), stopped when the benchmark ends. */
  async timonel(o: Partial<TimonelOptions> & { tag?: string } = {}): Promise<ServerProcess> {
    const server = await timonelUp({ dataDir: o.dataDir ?? this.dir(o.tag ?? 'data'), ...o });
    this.cleanups.push(() => server.stop());
    return server;
  }

  /** The bare node:http baseline serving `body`, stopped when the benchmark ends. */
  async bare(body: string): Promise<ServerProcess> {
    const file = join(this.dir('bare'), 'body.json');
    writeFileSync(file, body);
    const server = await bareServer(file);
    this.cleanups.push(() => server.stop());
    return server;
  }

  /** Reports a crash of the server (with its last log lines); true when it is still running. */
  alive(server: ServerProcess, during: string): boolean {
    const exit = server.exited();
    if (exit === undefined) return true;
    this.report.problem(`the server exited (${exit}) during ${during}; its last log lines:\n${server.stderrTail()}`);
    return false;
  }

  /** Notes when other processes took a noticeable share of the server's core during a measurement. */
  contention(usage: ProcessSample, during: string): void {
    if (usage.othersOnCore > 0.05)
      this.report.note(`other processes used ${num(usage.othersOnCore * 100)}% of the server's core during ${during}: those numbers are pessimistic`);
  }

  async close(): Promise<void> {
    for (const c of this.cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
    }
  }
}

/** Runs one benchmark: `name` names its result file, `order` its place in the summary. */
export async function runBench(name: string, order: number, title: string, body: (b: Bench) => Promise<void>): Promise<void> {
  pinToLoadCore();
  const report = new Report(order, title);
  const bench = new Bench(report);
  const busy = await machineBusy(1000);
  if (busy > 0.1) report.note(`the machine was ${num(busy * 100)}% busy with other work just before this benchmark: its numbers are noisy`);
  try {
    await body(bench);
  } catch (e) {
    report.problem(`the benchmark failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  } finally {
    await bench.close();
    report.save(name);
  }
}
