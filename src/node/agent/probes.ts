// Probe and lifecycle-hook handlers: httpGet and tcpSocket from the host to the pod IP, exec through
// the OCI runtime's `exec` (crun/runc), with the probe's timeout.
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { connect } from 'node:net';
import type { Container, ExecAction, HTTPGetAction, TCPSocketAction } from 'kubernetes-types/core/v1.js';
import { CLIRuntime, type OCIRuntime } from '../runtime/index.js';

export interface ProbeResult {
  ok: boolean;
  /** why it failed, as the kubelet's Unhealthy event says it */
  message?: string;
}

export interface Handler {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
}

/** A named port (`http`) resolved against the container's ports. */
export function resolvePort(port: number | string | undefined, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export async function runHandler(h: Handler, o: { container: Container; podIP: string; runtime: OCIRuntime; containerID: string; timeoutMs: number }): Promise<ProbeResult> {
  if (h.httpGet) return httpProbe(h.httpGet, o.container, o.podIP, o.timeoutMs);
  if (h.tcpSocket) return tcpProbe(h.tcpSocket, o.container, o.podIP, o.timeoutMs);
  if (h.exec) return execProbe(o.runtime, o.containerID, h.exec.command ?? [], o.timeoutMs);
  return { ok: false, message: 'probe has no handler' };
}

function httpProbe(g: HTTPGetAction, container: Container, podIP: string, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(g.port, container);
  if (!port) return Promise.resolve({ ok: false, message: `unknown port ${String(g.port)}` });
  const host = g.host || podIP;
  const scheme = (g.scheme ?? 'HTTP').toLowerCase();
  const path = g.path ? (g.path.startsWith('/') ? g.path : `/${g.path}`) : '/';
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.33', Accept: '*/*' };
  for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  return new Promise((resolve) => {
    const mod = scheme === 'https' ? https : http;
    const req = mod.get(url, { headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (e) => resolve({ ok: false, message: `Get "${url}": ${e.message}` }));
  });
}

function tcpProbe(t: TCPSocketAction, container: Container, podIP: string, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(t.port, container);
  if (!port) return Promise.resolve({ ok: false, message: `unknown port ${String(t.port)}` });
  const host = t.host || podIP;
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: timeoutMs });
    s.once('connect', () => {
      s.destroy();
      resolve({ ok: true });
    });
    s.once('timeout', () => {
      s.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    s.once('error', (e) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${e.message}` }));
  });
}

/** Runs `command` inside the container; exit 0 is success. */
export function execProbe(runtime: OCIRuntime, id: string, command: string[], timeoutMs: number): Promise<ProbeResult> {
  if (!(runtime instanceof CLIRuntime)) return Promise.resolve({ ok: false, message: `exec probes are not supported by the ${runtime.name} runtime` });
  if (!command.length) return Promise.resolve({ ok: false, message: 'exec probe has no command' });
  return new Promise((resolve) => {
    execFile(runtime.binary, ['--root', runtime.rootDir, 'exec', id, ...command], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve({ ok: true });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      if (e.killed) return resolve({ ok: false, message: `command ${JSON.stringify(command.join(' '))} timed out` });
      const out = `${stdout}${stderr}`.trim().slice(0, 1024);
      resolve({ ok: false, message: out || `command ${JSON.stringify(command.join(' '))} exited with ${String(e.code)}` });
    });
  });
}
