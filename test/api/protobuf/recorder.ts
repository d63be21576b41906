// A stub API server on loopback that answers just enough discovery for kubectl and Helm to send
// writes, and records every request (method, path, content type, body bytes).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string;
  body: Buffer;
}

interface StubResource {
  name: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const GROUPS: Record<string, StubResource[]> = {
  v1: [
    { name: 'secrets', kind: 'Secret', namespaced: true },
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
    { name: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'] },
    { name: 'services', kind: 'Service', namespaced: true, shortNames: ['svc'] },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] },
    { name: 'resourcequotas', kind: 'ResourceQuota', namespaced: true, shortNames: ['quota'] },
    { name: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'] },
    { name: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'] },
  ],
  'apps/v1': [{ name: 'deployments', kind: 'Deployment', namespaced: true, shortNames: ['deploy'] }],
  'batch/v1': [
    { name: 'jobs', kind: 'Job', namespaced: true },
    { name: 'cronjobs', kind: 'CronJob', namespaced: true, shortNames: ['cj'] },
  ],
  'rbac.authorization.k8s.io/v1': [
    { name: 'roles', kind: 'Role', namespaced: true },
    { name: 'rolebindings', kind: 'RoleBinding', namespaced: true },
    { name: 'clusterroles', kind: 'ClusterRole', namespaced: false },
    { name: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
  ],
  'networking.k8s.io/v1': [{ name: 'ingresses', kind: 'Ingress', namespaced: true, shortNames: ['ing'] }],
  'policy/v1': [{ name: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true, shortNames: ['pdb'] }],
  'scheduling.k8s.io/v1': [{ name: 'priorityclasses', kind: 'PriorityClass', namespaced: false, shortNames: ['pc'] }],
};

function resourceList(gv: string): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv,
    resources: GROUPS[gv].map((r) => ({
      name: r.name,
      singularName: r.kind.toLowerCase(),
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      ...(r.shortNames ? { shortNames: r.shortNames } : {}),
    })),
  };
}

function groupList(): unknown {
  const groups = Object.keys(GROUPS)
    .filter((gv) => gv.includes('/'))
    .map((gv) => {
      const [name, version] = gv.split('/');
      const v = { groupVersion: gv, version };
      return { name, versions: [v], preferredVersion: v };
    });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

function kindOf(gv: string, resource: string): string {
  return GROUPS[gv]?.find((r) => r.name === resource)?.kind ?? 'Unknown';
}

/** Writes `<dir>/kubeconfig` for a plain-HTTP server without credentials; returns its path. */
export function writeKubeconfig(dir: string, server: string): string {
  const path = join(dir, 'kubeconfig');
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: stub
  cluster: {server: "${server}"}
users:
- name: stub
  user: {}
contexts:
- name: stub
  context: {cluster: stub, user: stub, namespace: default}
current-context: stub
`,
  );
  return path;
}

export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  private server?: Server;
  private dir?: string;
  kubeconfig = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.serve(req, res).catch((e) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(e));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.dir = mkdtempSync(join(tmpdir(), 'timonel-pb-recorder-'));
    this.kubeconfig = writeKubeconfig(this.dir, `http://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The recorded POSTs and PUTs with a body (or only those of `method`). */
  writes(method?: string): RecordedRequest[] {
    return this.requests.filter((r) => (method ? r.method === method : r.method === 'POST' || r.method === 'PUT') && r.body.length > 0);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, query: url.searchParams, contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });

    const send = (code: number, value: unknown) => {
      const body = JSON.stringify(value);
      res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (path === '/version')
      return send(200, { major: '1', minor: '33', gitVersion: 'v1.33.0', gitCommit: '', gitTreeState: 'clean', buildDate: '2025-01-01T00:00:00Z', goVersion: 'go1.24.0', compiler: 'gc', platform: 'linux/amd64' });
    if (path === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (path === '/apis') return send(200, groupList());
    if (path === '/api/v1') return send(200, resourceList('v1'));
    const m = /^\/apis\/([^/]+)\/([^/]+)$/.exec(path);
    if (m && GROUPS[`${m[1]}/${m[2]}`]) return send(200, resourceList(`${m[1]}/${m[2]}`));

    const r = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (!r) return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' });
    const gv = r[1] ? `${r[1]}/${r[2]}` : 'v1';
    const kind = kindOf(gv, r[4]);
    const name = r[5] ?? 'recorded';
    if (method === 'GET' && !r[5]) return send(200, { kind: `${kind}List`, apiVersion: gv, metadata: { resourceVersion: '1' }, items: [] });
    if (method === 'GET') return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${r[4]} "${name}" not found`, details: { name, kind: r[4] } });
    const obj = { kind, apiVersion: gv, metadata: { name, ...(r[3] ? { namespace: r[3] } : {}), resourceVersion: '2', uid: '00000000-0000-0000-0000-000000000001' } };
    return send(method === 'POST' ? 201 : 200, obj);
  }
}
