// Checkpoints of the SQLite write-ahead log on a thread of their own. A checkpoint copies the log's pages into
// the database file and syncs it: most of its time is spent waiting for the disk, and on the event loop that
// wait stalled every request (measured: ~75 % of a checkpoint's time is the sync, not CPU). A second connection
// on a worker thread runs them instead; passive checkpoints never block the writer, which keeps committing.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// CommonJS run by the worker (eval): the driver is resolved by the host, so it works from the bundle too.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: workerData.timeoutMs, fileMustExist: true });
db.pragma('synchronous = NORMAL');
parentPort.postMessage('ready');
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    // a second round copies most of what was committed during the first
    db.pragma('wal_checkpoint(PASSIVE)');
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e && e.message) });
  }
});
`;

type Reply = { ok: true } | { ok: false; error: string };

/** One passive checkpoint at a time, on a worker thread with its own connection to `file`. */
export class Checkpointer {
  private readonly worker: Worker;
  private waiting: { resolve(): void; reject(e: Error): void } | undefined;
  private exited: Error | undefined;
  private readonly stopped: Promise<void>;

  constructor(file: string, timeoutMs: number) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { file, driver, timeoutMs } });
    this.worker.on('message', (m: Reply | 'ready') => {
      if (m === 'ready') return void (this.isReady = true);
      const w = this.waiting;
      this.waiting = undefined;
      if (m.ok) w?.resolve();
      else w?.reject(new Error(m.error));
    });
    this.stopped = new Promise((resolve) => {
      this.worker.once('error', (e) => {
        this.exited = e;
      });
      this.worker.once('exit', (code) => {
        this.exited ??= new Error(`the checkpoint thread exited (code ${code})`);
        this.waiting?.reject(this.exited);
        this.waiting = undefined;
        resolve();
      });
    });
    // it must not keep a process alive that has nothing else to do (after the listeners, which would ref it again)
    this.worker.unref();
  }

  /** Whether a checkpoint is running. */
  get busy(): boolean {
    return this.waiting !== undefined;
  }

  /** Whether the thread has opened the database and takes checkpoints. */
  get ready(): boolean {
    return this.isReady && !this.exited;
  }
  private isReady = false;

  /** Whether the thread is gone (failed to open the file, or closed): checkpoints must run elsewhere. */
  get gone(): boolean {
    return this.exited !== undefined;
  }

  run(): Promise<void> {
    if (this.exited) return Promise.reject(this.exited);
    if (this.waiting) return Promise.reject(new Error('a checkpoint is already running'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.worker.postMessage('checkpoint');
    });
  }

  /** Resolves once no checkpoint runs (at once if none does); never rejects. */
  settled(): Promise<void> {
    const w = this.waiting;
    if (!w) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.waiting = {
        resolve: () => (w.resolve(), resolve()),
        reject: (e) => (w.reject(e), resolve()),
      };
    });
  }

  /** Waits for a checkpoint in progress, then closes the thread's connection and ends it. */
  async close(): Promise<void> {
    if (this.exited) return;
    // the caller waits for it
    this.worker.ref();
    await this.settled();
    this.worker.postMessage('close');
    await this.stopped;
  }
}
