// Runs wrk (HTTP load from its own process, on the load core) and reads the JSON line of bench/wrk/report.lua.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './proc.js';

export interface WrkResult {
  requests: number;
  durationS: number;
  /** requests / duration (the duration is wrk's -d even when the count bound stopped it earlier) */
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** responses with status >= 400 */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  /** the count bound stopped it before -d: the rate is a lower bound */
  countBoundHit: boolean;
}

export interface WrkOptions {
  url: string;
  /** a script of bench/wrk/ (they all print the JSON line) */
  script: 'get.lua' | 'get-varied.lua' | 'create.lua';
  connections: number;
  durationS: number;
  /** stop after this many responses even before durationS */
  maxRequests: number;
  scriptArgs?: string[];
  timeoutS?: number;
}

export function haveWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const url = new URL(o.url);
  if (url.hostname !== '127.0.0.1') throw new Error(`wrk: only 127.0.0.1, not ${url.hostname}`);
  const args = [
    '-t1',
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    '--timeout',
    `${o.timeoutS ?? 5}s`,
    '-s',
    join(REPO, 'bench', 'wrk', o.script),
    o.url,
    '--',
    String(o.maxRequests),
    ...(o.scriptArgs ?? []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    // wrk stops itself at -d; this is only a guard against a hung wrk
    const guard = setTimeout(() => child.kill('SIGKILL'), (o.durationS + 30) * 1000);
    child.on('error', (e) => {
      clearTimeout(guard);
      reject(new Error(`wrk: ${e.message} (scripts/bench.sh installs it with apt-get)`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      const line = /^WRK_JSON (.*)$/m.exec(out);
      if (!line) return reject(new Error(`wrk exited (${signal ?? code}) without results:\n${out}\n${err}`));
      const j = JSON.parse(line[1]) as Record<string, number>;
      const durationS = j.durationUs / 1e6;
      resolve({
        requests: j.requests,
        durationS,
        rps: j.requests / durationS,
        p50Ms: j.p50Us / 1000,
        p90Ms: j.p90Us / 1000,
        p99Ms: j.p99Us / 1000,
        maxMs: j.maxUs / 1000,
        meanMs: j.meanUs / 1000,
        non2xx: j.status,
        socketErrors: { connect: j.connect, read: j.read, write: j.write, timeout: j.timeout },
        countBoundHit: j.requests >= o.maxRequests,
      });
    });
  });
}

/** A one-line account of what went wrong in a wrk run, or undefined when nothing did. */
export function wrkProblems(r: WrkResult): string | undefined {
  const e = r.socketErrors;
  const parts: string[] = [];
  if (r.non2xx) parts.push(`${r.non2xx} responses with status >= 400`);
  if (e.connect || e.read || e.write) parts.push(`socket errors connect ${e.connect}, read ${e.read}, write ${e.write}`);
  if (e.timeout) parts.push(`${e.timeout} requests timed out`);
  return parts.length ? parts.join('; ') : undefined;
}
