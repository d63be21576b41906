// Running `nft`: whole transactions on stdin (`nft -f -`) or through a long-lived `nft -i` (NftSession), and what a table holds.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export class NftError extends Error {}

/** Applies one transaction atomically; rejects with nft's stderr when any line fails (nothing applied then). */
export function nftApply(text: string, nft = 'nft'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(nft, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 8000) stderr += d;
    });
    child.on('error', (e) => reject(new NftError(`${nft}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new NftError(`nft -f: exit ${String(code)}: ${stderr.trim()}`))));
    child.stdin.on('error', () => {}); // the close handler reports the failure
    child.stdin.end(text);
  });
}

/** `nft args…` → stdout. */
export function nftRun(args: string[], nft = 'nft'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(nft, args, { timeout: 30_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new NftError(`nft ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The chains and sets/maps of `table ip <name>`; undefined when there is no such table. */
export async function listTable(name: string, nft = 'nft'): Promise<{ chains: Set<string>; sets: Set<string>; text: string } | undefined> {
  let text: string;
  try {
    text = await nftRun(['list', 'table', 'ip', name], nft);
  } catch (e) {
    if (/No such file or directory/.test((e as Error).message)) return undefined;
    throw e;
  }
  const chains = new Set<string>();
  const sets = new Set<string>();
  for (const m of text.matchAll(/^\t(chain|set|map) (\S+) \{$/gm)) (m[1] === 'chain' ? chains : sets).add(m[2]);
  return { chains, sets, text };
}

/** Whether `table ip <name>` exists (`nft list tables ip`: cheap, whatever the table holds). */
export async function tableExists(name: string, nft = 'nft'): Promise<boolean> {
  const out = await nftRun(['list', 'tables', 'ip'], nft);
  return out.split('\n').some((l) => l.trim() === `table ip ${name}`);
}

export async function deleteTable(name: string, nft = 'nft'): Promise<void> {
  // `add` first makes the delete succeed when the table is already gone.
  await nftApply(`add table ip ${name}\ndelete table ip ${name}\n`, nft);
}

/** Whether `nft` can be run here with the rights to change the ruleset. */
export async function nftUsable(nft = 'nft'): Promise<boolean> {
  try {
    await nftRun(['list', 'tables'], nft);
    return true;
  } catch {
    return false;
  }
}

export interface NftSessionOptions {
  /** transactions longer than this go to a one-off `nft -f` (default 8 KiB: `nft -i` reads its input a byte per system call) */
  maxLineBytes?: number;
  /** a new `nft -i` after this many transactions (it keeps every line in its history) */
  maxTransactions?: number;
  /** give up on one transaction after this long, ending the process (default 30 s) */
  timeoutMs?: number;
}

/**
 * One long-lived `nft -i` fed a transaction per line (commands joined by `;`: one batch, atomic), so
 * that a small change costs no process start, dynamic linking and teardown. After each transaction a
 * line of junk makes nft print a syntax error naming it: whatever nft wrote to stderr before that is
 * the transaction's own error. The process is started on first use and again after it died.
 */
export class NftSession {
  private child: ChildProcessWithoutNullStreams | undefined;
  private stderr = '';
  private wake: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private used = 0;
  private readonly maxLineBytes: number;
  private readonly maxTransactions: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly nft = 'nft',
    opts: NftSessionOptions = {},
  ) {
    this.maxLineBytes = opts.maxLineBytes ?? 8 * 1024;
    this.maxTransactions = opts.maxTransactions ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** The PID of the running `nft -i`, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts `nft -i` now rather than at the first transaction, so that no change waits for its start-up. */
  open(): void {
    if (!this.child) this.start();
  }

  /** Applies one transaction (the `nft -f` syntax, one command a line); rejects with nft's error, nothing applied then. */
  apply(text: string): Promise<void> {
    const run = this.queue.then(() => this.applyNow(text));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Ends the process (stdin closed; killed by PID when it does not exit within a second). */
  async close(): Promise<void> {
    await this.queue;
    await this.stop();
  }

  private async applyNow(text: string): Promise<void> {
    const line = text.trim().replace(/\n+/g, '; ');
    if (!line) return;
    if (line.length > this.maxLineBytes || line.includes('#')) return nftApply(text, this.nft);
    if (this.used >= this.maxTransactions) await this.stop();
    const child = this.child ?? this.start();
    this.used++;
    const mark = `%%timonel-${process.pid}-${++this.seq}`;
    this.stderr = '';
    child.stdin.write(`${line}\n${mark}\n`);
    const done = new RegExp(`(?:^|\\n)Error: [^\\n]*\\n${mark}\\n[ ^~]*\\n`);
    const deadline = Date.now() + this.timeoutMs;
    let m: RegExpExecArray | null;
    while (!(m = done.exec(this.stderr))) {
      if (this.child !== child) throw new NftError(`nft -i exited: ${this.stderr.trim()}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        await this.stop();
        throw new NftError(`nft -i: no answer within ${this.timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const own = this.stderr.slice(0, m.index).trim();
    this.stderr = '';
    if (own) throw new NftError(`nft: ${own.length > 8000 ? `${own.slice(0, 8000)}…` : own}`);
  }

  private start(): ChildProcessWithoutNullStreams {
    // HOME elsewhere: nft -i would read and write its command history there
    const child = spawn(this.nft, ['-i'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: '/nonexistent' } });
    this.child = child;
    this.used = 0;
    child.stdout.resume();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (this.child === child) this.stderr += d;
      this.wake?.();
    });
    child.stdin.on('error', () => {});
    const gone = () => {
      if (this.child === child) this.child = undefined;
      this.wake?.();
    };
    child.on('error', gone);
    child.on('close', gone);
    return child;
  }

  private async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(timer);
  }
}
