import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

interface KubeconfigFile {
  clusters?: { cluster?: { server?: string; 'certificate-authority-data'?: string } }[];
  users?: { user?: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
}

export interface KubeconfigCredentials {
  server: string;
  caPem: string;
  clientCertPem?: string;
  clientKeyPem?: string;
}

const fromBase64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));

/** Server URL, CA and admin client certificate of the first cluster/user of a kubeconfig written by `timonel up`. */
export function readKubeconfig(path: string): KubeconfigCredentials {
  const config = parseYaml(readFileSync(path, 'utf8')) as KubeconfigFile;
  const cluster = config.clusters?.[0]?.cluster;
  const user = config.users?.[0]?.user;
  if (!cluster?.server) throw new Error(`no clusters[0].cluster.server in ${path}`);
  const caPem = fromBase64(cluster['certificate-authority-data']);
  if (!caPem) throw new Error(`no certificate-authority-data in ${path}`);
  return {
    server: cluster.server,
    caPem,
    clientCertPem: fromBase64(user?.['client-certificate-data']),
    clientKeyPem: fromBase64(user?.['client-key-data']),
  };
}

export interface RawRequestOptions {
  /** a string or Buffer is sent as is; anything else as JSON */
  body?: unknown;
  headers?: Record<string, string>;
  /** send no client certificate (an anonymous request) */
  anonymous?: boolean;
  /** default 30 s */
  timeoutMs?: number;
  /** send the body chunked, without a Content-Length */
  chunked?: boolean;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** the body parsed as JSON, or undefined when it is not JSON */
  json: unknown;
}

/** One HTTPS request to the server of a kubeconfig, authenticated with its client certificate unless `anonymous`. */
export function rawRequest(kubeconfigPath: string, method: string, path: string, opts: RawRequestOptions = {}): Promise<RawResponse> {
  // read every time: a restarted server rewrites its kubeconfig with a new port
  const creds = readKubeconfig(kubeconfigPath);
  const url = new URL(path, creds.server);
  let payload: Buffer | undefined;
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string') payload = Buffer.from(opts.body, 'utf8');
    else if (Buffer.isBuffer(opts.body)) payload = opts.body;
    else {
      payload = Buffer.from(JSON.stringify(opts.body), 'utf8');
      headers['Content-Type'] ??= 'application/json';
    }
    if (!opts.chunked) headers['Content-Length'] = String(payload.length);
  }
  const tlsCreds = creds;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers,
        ca: tlsCreds.caPem,
        cert: opts.anonymous ? undefined : tlsCreds.clientCertPem,
        key: opts.anonymous ? undefined : tlsCreds.clientKeyPem,
        agent: false,
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer after ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    if (payload && opts.chunked) {
      // several writes so the body really travels in chunks
      const step = 256 * 1024;
      for (let i = 0; i < payload.length; i += step) req.write(payload.subarray(i, i + step));
      req.end();
    } else req.end(payload);
  });
}

export interface WatchEvent {
  type: string;
  object: { kind?: string; code?: number; reason?: string; message?: string; metadata?: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> }; [k: string]: unknown };
}

export interface RawWatch {
  status: number;
  /** every event received so far */
  events: WatchEvent[];
  /** resolves with the first event (already received or future) that satisfies `match`; rejects after timeoutMs */
  waitFor(match: (ev: WatchEvent) => boolean, timeoutMs?: number): Promise<WatchEvent>;
  /** resolves when the server ends the stream */
  ended: Promise<void>;
  close(): void;
}

/** Opens a watch (`path` must carry `watch=true` or the `/watch/` prefix) and collects its JSON-lines events. */
export function rawWatch(kubeconfigPath: string, path: string, opts: { anonymous?: boolean } = {}): Promise<RawWatch> {
  // read every time: a restarted server rewrites its kubeconfig with a new port
  const creds = readKubeconfig(kubeconfigPath);
  const url = new URL(path, creds.server);
  const tlsCreds = creds;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers: { Accept: 'application/json' },
        ca: tlsCreds.caPem,
        cert: opts.anonymous ? undefined : tlsCreds.clientCertPem,
        key: opts.anonymous ? undefined : tlsCreds.clientKeyPem,
        agent: false,
      },
      (res) => {
        const events: WatchEvent[] = [];
        const waiters = new Set<{ match: (ev: WatchEvent) => boolean; resolve: (ev: WatchEvent) => void }>();
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) {
            if (!line.trim()) continue;
            const ev = JSON.parse(line) as WatchEvent;
            events.push(ev);
            for (const w of waiters) {
              if (w.match(ev)) {
                waiters.delete(w);
                w.resolve(ev);
              }
            }
          }
        });
        const ended = new Promise<void>((resolveEnd) => {
          res.on('end', () => resolveEnd());
          res.on('close', () => resolveEnd());
          res.on('error', () => resolveEnd());
        });
        resolve({
          status: res.statusCode ?? 0,
          events,
          ended,
          close: () => req.destroy(),
          waitFor(match, timeoutMs = 10_000) {
            const seen = events.find(match);
            if (seen) return Promise.resolve(seen);
            return new Promise((resolveEv, rejectEv) => {
              const w = {
                match,
                resolve: (ev: WatchEvent) => {
                  clearTimeout(timer);
                  resolveEv(ev);
                },
              };
              const timer = setTimeout(() => {
                waiters.delete(w);
                rejectEv(new Error(`no matching watch event within ${timeoutMs} ms; got: ${JSON.stringify(events.map((e) => [e.type, e.object?.metadata?.name]))}`));
              }, timeoutMs);
              waiters.add(w);
            });
          },
        });
      },
    );
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code === 'ECONNRESET') return;
      reject(e);
    });
    req.end();
  });
}
