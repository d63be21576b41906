// pods/log served from the agent's CRI log files (the agent runs in the API server's process):
// container, follow, previous, tailLines, sinceSeconds, sinceTime, timestamps, limitBytes.
import { existsSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../../api/errors.js';
import { ClientStatusError } from '../../client/rest.js';
import { CRILogFollower } from '../runtime/logs.js';
import type { podStreamer } from './streams.js';

/** What one local node agent offers the log handler. */
export interface LogSource {
  getPod(namespace: string, name: string): Promise<Pod>;
  /** the dir holding `<container>/<attempt>.log` for the pod */
  logsDir(pod: Pod): string;
  /** whether that run of the container is still running (its file may still grow) */
  isRunning(pod: Pod, container: string, attempt: number): boolean;
}

interface LogCtx {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
}
type LogHandler = (ctx: LogCtx, r: { namespace?: string; name?: string }, method: string) => Promise<void>;

/** The part of the API server the handler is installed on. */
export interface SubresourceHost {
  subresourceHandlers: { set(key: string, handler: LogHandler): unknown };
  /** exec, attach and port-forward backends by node name (streams.ts) */
  podStreamers?: { set(nodeName: string, streamer: ReturnType<typeof podStreamer>): unknown; delete(nodeName: string): unknown };
}

const sources = new WeakMap<SubresourceHost, Map<string, LogSource>>();

/** Serves pods/log on `api` for pods of `nodeName`; returns the uninstaller. */
export function installPodLogs(api: SubresourceHost, nodeName: string, source: LogSource): () => void {
  let byNode = sources.get(api);
  if (!byNode) {
    byNode = new Map();
    sources.set(api, byNode);
    const nodes = byNode;
    api.subresourceHandlers.set('/pods/log', (ctx, r, method) => servePodLog(nodes, ctx, r, method));
  }
  byNode.set(nodeName, source);
  return () => {
    if (byNode.get(nodeName) === source) byNode.delete(nodeName);
  };
}

const badRequest = (message: string) => new StatusError(400, 'BadRequest', message);

function intParam(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`${name}: Invalid value: "${v}": must be an integer`);
  const n = Number(v);
  if (n < min) throw new StatusError(422, 'Invalid', `PodLogOptions "" is invalid: ${name}: Invalid value: ${n}: must be greater than ${min === 0 ? 'or equal to 0' : min - 1}`);
  return n;
}

const isTrue = (v: string | null) => v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';

interface LogOptions {
  follow: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceMs?: number;
  limitBytes?: number;
}

async function servePodLog(nodes: Map<string, LogSource>, ctx: LogCtx, r: { namespace?: string; name?: string }, method: string): Promise<void> {
  if (method !== 'GET') throw new StatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  const ns = r.namespace ?? 'default';
  const name = r.name ?? '';
  const any = nodes.values().next().value as LogSource | undefined;
  if (!any) throw new StatusError(404, 'NotFound', 'no node agent runs in this server');
  let pod: Pod;
  try {
    pod = await any.getPod(ns, name);
  } catch (e) {
    if (e instanceof ClientStatusError) throw new StatusError(e.status.code ?? 500, e.status.reason ?? 'InternalError', e.status.message ?? e.message, e.status.details);
    throw e;
  }
  const q = ctx.query;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const source = nodes.get(nodeName);
  if (!source) throw new StatusError(404, 'NotFound', `pod ${name} runs on node ${nodeName}, whose logs this server cannot read (no node agent for it runs here)`);
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const inits = (pod.spec?.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec?.ephemeralContainers ?? []).map((c) => c.name);
  let container = q.get('container') ?? '';
  if (!container) {
    if (containers.length !== 1) {
      let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`;
      if (inits.length) msg += ` or one of the init containers: [${inits.join(' ')}]`;
      throw badRequest(msg);
    }
    container = containers[0]!;
  }
  if (![...containers, ...inits, ...ephemeral].includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  const previous = isTrue(q.get('previous'));
  const sinceSeconds = intParam(q, 'sinceSeconds', 1);
  const sinceTime = q.get('sinceTime');
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = Date.now() - sinceSeconds * 1000;
  if (sinceTime) {
    const t = Date.parse(sinceTime);
    if (Number.isNaN(t)) throw badRequest(`sinceTime: Invalid value: "${sinceTime}": must be RFC 3339`);
    sinceMs = t;
  }
  const opts: LogOptions = {
    follow: isTrue(q.get('follow')) && !previous,
    timestamps: isTrue(q.get('timestamps')),
    tailLines: intParam(q, 'tailLines', 0),
    sinceMs,
    limitBytes: intParam(q, 'limitBytes', 1),
  };
  const dir = join(source.logsDir(pod), container);
  const attempts = existsSync(dir)
    ? readdirSync(dir)
        .map((f) => /^(\d+)\.log$/.exec(f))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b)
    : [];
  const status = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].find((s) => s.name === container);
  let attempt: number | undefined;
  if (previous) {
    attempt = attempts.length >= 2 ? attempts[attempts.length - 2] : undefined;
    if (attempt === undefined) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
  } else {
    attempt = attempts[attempts.length - 1];
    if (attempt === undefined) {
      const waiting = status?.state?.waiting?.reason ?? 'ContainerCreating';
      throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${waiting}`);
    }
  }
  const file = join(dir, `${attempt}.log`);
  const running = () => source.isRunning(pod, container, attempt!);
  await streamLog(ctx, file, opts, running);
}

interface Record {
  time: string;
  ms: number;
  text: Buffer;
  partial: boolean;
}

/** Parses complete CRI records in `buf`; returns them and the bytes consumed. */
function parseRecords(buf: Buffer): { records: Record[]; used: number } {
  const records: Record[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    const line = buf.subarray(start, nl);
    start = nl + 1;
    const s1 = line.indexOf(0x20);
    const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
    const s3 = s2 < 0 ? -1 : line.indexOf(0x20, s2 + 1);
    if (s3 < 0) continue;
    const time = line.subarray(0, s1).toString();
    const tag = line.subarray(s2 + 1, s3).toString();
    records.push({ time, ms: Date.parse(time), text: line.subarray(s3 + 1), partial: tag === 'P' });
  }
  return { records, used: start };
}

/** Records joined into log lines (partial records continue the next one). */
function toLines(records: Record[], carry: { pending?: { time: string; ms: number; parts: Buffer[] } }): Array<{ time: string; ms: number; text: Buffer }> {
  const out: Array<{ time: string; ms: number; text: Buffer }> = [];
  for (const r of records) {
    const p = (carry.pending ??= { time: r.time, ms: r.ms, parts: [] });
    p.parts.push(r.text);
    if (!r.partial) {
      out.push({ time: p.time, ms: p.ms, text: Buffer.concat(p.parts) });
      carry.pending = undefined;
    }
  }
  return out;
}

async function streamLog(ctx: LogCtx, file: string, o: LogOptions, running: () => boolean): Promise<void> {
  const { res } = ctx;
  let closed = false;
  res.on('close', () => (closed = true));
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
  let written = 0;
  let done = false;
  const write = (lines: Array<{ time: string; ms: number; text: Buffer }>) => {
    for (const l of lines) {
      if (done) return;
      if (o.sinceMs !== undefined && l.ms < o.sinceMs) continue;
      let chunk = Buffer.concat([o.timestamps ? Buffer.from(`${l.time} `) : Buffer.alloc(0), l.text, Buffer.from('\n')]);
      if (o.limitBytes !== undefined && written + chunk.length >= o.limitBytes) {
        chunk = chunk.subarray(0, o.limitBytes - written);
        done = true;
      }
      written += chunk.length;
      res.write(chunk);
    }
  };
  const carry: { pending?: { time: string; ms: number; parts: Buffer[] } } = {};
  // follows the file across rotations (CRILogFollower); `rest` is an incomplete last record
  const follower = new CRILogFollower(file);
  const first = follower.read();
  const parsed = parseRecords(first);
  let rest = first.subarray(parsed.used);
  let lines = toLines(parsed.records, carry);
  if (o.sinceMs !== undefined) lines = lines.filter((l) => l.ms >= o.sinceMs!);
  if (o.tailLines !== undefined) lines = o.tailLines === 0 ? [] : lines.slice(-o.tailLines);
  write(lines);
  while (o.follow && !done && !closed) {
    const wasRunning = running();
    await new Promise((r) => setTimeout(r, 200));
    const more = follower.read();
    if (more.length) {
      const buf = rest.length ? Buffer.concat([rest, more]) : more;
      const p = parseRecords(buf);
      rest = buf.subarray(p.used);
      write(toLines(p.records, carry));
    } else if (!wasRunning) break;
  }
  follower.close();
  res.end();
}
