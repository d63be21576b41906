// What a node agent in this process offers the API server's exec, attach and port-forward handlers: the
// node agent (src/node/agent/streams.ts) implements PodStreamer and registers it in ApiServer.podStreamers.
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Pod } from 'kubernetes-types/core/v1.js';

export interface TerminalSize {
  width: number;
  height: number;
}

/** A process started by exec (or the container's own output, for attach). */
export interface StreamProcess {
  stdin?: Writable;
  stdout?: Readable;
  stderr?: Readable;
  /** settles when the process ends: its exit code, or a message when it could not run */
  exit: Promise<{ code: number; message?: string }>;
  resize?(size: TerminalSize): void;
  kill(): void;
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface PodStreamer {
  /** Runs `command` in a running container of the pod. Throws StatusError (400) for a container that is not running. */
  exec(pod: Pod, container: string, command: string[], o: StreamOptions): Promise<StreamProcess>;
  /** The output of the running container from now on (and its stdin, when it has one). */
  attach(pod: Pod, container: string, o: StreamOptions): Promise<StreamProcess>;
  /** A TCP connection to `port` on the pod's loopback (its network namespace). */
  portForward(pod: Pod, port: number): Promise<Duplex>;
}
