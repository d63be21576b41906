// A small keep-alive HTTP client for the Node load generators and the benchmarks' setup requests.
import { Agent, request } from 'node:http';

export interface Response {
  status: number;
  body: string;
  /** from the request being sent to the last byte of the response */
  ms: number;
}

export class Client {
  readonly base: URL;
  readonly agent: Agent;

  constructor(base: string, maxSockets = 64) {
    this.base = new URL(base);
    if (this.base.hostname !== '127.0.0.1') throw new Error(`bench clients talk to 127.0.0.1 only, not ${this.base.hostname}`);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(method: string, path: string, body?: string | object, contentType = 'application/json', timeoutMs = 30_000): Promise<Response> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          headers: {
            Accept: 'application/json',
            ...(payload !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no response within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like request, but a status other than `expect` is an error carrying the response body. */
  async must(method: string, path: string, body?: string | object, expect: number[] = [200, 201], contentType?: string): Promise<Response> {
    const r = await this.request(method, path, body, contentType);
    if (!expect.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${r.body.slice(0, 300)}`);
    return r;
  }

  async ensureNamespace(name: string): Promise<void> {
    await this.must('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, [201, 409]);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The name of the i-th object a preload creates. */
export function objectName(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(5, '0')}`;
}

/** `n` bytes of data, the same for every object of a benchmark. */
export function payload(n: number): string {
  return 'x'.repeat(n);
}

export function configMap(name: string, dataBytes: number, extra: Record<string, string> = {}): object {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { payload: payload(dataBytes), ...extra } };
}

export function secret(name: string, dataBytes: number, version = 0): object {
  // base64 of dataBytes bytes is ~4/3 as long; Secret data must be base64
  const data = Buffer.from(payload(dataBytes)).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name }, data: { payload: data, version: Buffer.from(String(version)).toString('base64') } };
}
