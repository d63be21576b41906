// The `fake` runtime: the OCIRuntime contract without processes, for agents of simulated nodes and
// for unit tests of the agent. A started container runs until it is killed (or `exit` is called).
import { constants as osConstants } from 'node:os';
import type { ContainerState, CreateOptions, OCIRuntime } from './oci.js';
import { RuntimeError } from './oci.js';

interface FakeContainer {
  state: ContainerState;
  stopped: Promise<void>;
  resolveStopped: () => void;
  /** signals it ignores (as a busybox PID 1 ignores SIGTERM) */
  ignores: Set<NodeJS.Signals>;
}

export class FakeRuntime implements OCIRuntime {
  readonly name = 'fake' as const;
  private readonly containers = new Map<string, FakeContainer>();
  private nextPid = 100_000;

  async create(id: string, bundleDir: string, _opts: CreateOptions): Promise<void> {
    if (this.containers.has(id)) throw new RuntimeError(`container ${id} already exists`);
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    this.containers.set(id, { state: { id, status: 'created', pid: 0, bundle: bundleDir }, stopped, resolveStopped, ignores: new Set() });
  }

  async start(id: string): Promise<void> {
    const c = this.get(id);
    if (c.state.status !== 'created') throw new RuntimeError(`container ${id} is ${c.state.status}, not created`);
    Object.assign(c.state, { status: 'running', pid: this.nextPid++, startedAt: new Date() });
  }

  /** Makes a running fake container ignore a signal. */
  ignoreSignal(id: string, signal: NodeJS.Signals): void {
    this.get(id).ignores.add(signal);
  }

  /** Ends a running fake container with `code` (a test's way to make it exit by itself). */
  exit(id: string, code: number, reason?: ContainerState['reason']): void {
    const c = this.get(id);
    if (c.state.status !== 'running') return;
    Object.assign(c.state, { status: 'stopped', pid: 0, exitCode: code, finishedAt: new Date(), reason: reason ?? (code === 0 ? 'Completed' : 'Error') });
    c.resolveStopped();
  }

  async state(id: string): Promise<ContainerState | undefined> {
    const c = this.containers.get(id);
    return c ? { ...c.state } : undefined;
  }

  async wait(id: string): Promise<ContainerState | undefined> {
    const c = this.containers.get(id);
    if (!c) return undefined;
    if (c.state.status === 'running') await c.stopped;
    return { ...c.state };
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<void> {
    const c = this.get(id);
    if (c.state.status !== 'running' || (signal !== 'SIGKILL' && c.ignores.has(signal))) return;
    this.exit(id, 128 + osConstants.signals[signal]);
    c.state.exitSignal = signal;
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    if (c.state.status === 'running') {
      if (!opts.force) throw new RuntimeError(`container ${id} is running; stop it or delete with force`);
      await this.kill(id, 'SIGKILL');
    }
    this.containers.delete(id);
  }

  async list(): Promise<ContainerState[]> {
    return [...this.containers.values()].map((c) => ({ ...c.state }));
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new RuntimeError(`container ${id} does not exist`);
    return c;
  }
}
