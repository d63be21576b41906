// Wiring of one API server: scheme + store + admission + HTTP(S) listener.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Scheme } from '../api/scheme.js';
import type { Store } from '../storage/store.js';
import { defaultStorageClass } from './admission/default-storageclass.js';
import { defaultTolerationSeconds } from './admission/default-tolerations.js';
import { limitRanger } from './admission/limitrange.js';
import { namespaceLifecycle } from './admission/namespace.js';
import { nodeRestriction } from './admission/noderestriction.js';
import { podSecurityAdmission } from './admission/podsecurity.js';
import { resourceQuotaAdmission } from './admission/resourcequota.js';
import { serviceAccountAdmission, type ServiceAccountAdmissionOptions } from './admission/serviceaccount.js';
import { storageObjectInUseProtection } from './admission/storage-object-in-use-protection.js';
import { mutatingAdmissionWebhook, validatingAdmissionWebhook } from './admission/webhook.js';
import { serviceAllocator, type ServiceAllocatorOptions } from './admission/service-alloc.js';
import { type Authenticator, bootstrapTokenAuthenticator, unionAuthenticator } from './authn.js';
import { installAuthorization } from './authz/index.js';
import { installCustomResourceDefinitions } from './crd/index.js';
import { installFieldManager } from './fieldmanager.js';
import { installProtobuf } from './protobuf.js';
import { installStreaming } from './streaming/index.js';
import { installStrategicMerge } from './smp.js';
import { ApiServer, type VersionInfo } from './handler.js';
import { ServiceAccountTokenKeys, serviceAccountTokenAuthenticator } from './sa-token.js';
import { installServiceAccountTokens, registryLookup } from './tokenrequest.js';

export interface ListenOptions {
  port: number;
  bind: string;
  /** PEMs for HTTPS; plain HTTP when absent */
  tls?: { certPem: string; keyPem: string; caPem: string };
}

export interface RunningApiServer {
  api: ApiServer;
  server: Server;
  port: number;
  close(): Promise<void>;
}

export const TIMONEL_VERSION = '0.1.0';

export function versionInfo(): VersionInfo {
  return {
    major: '1',
    minor: '33',
    gitVersion: 'v1.33.0+timonel',
    gitCommit: TIMONEL_VERSION,
    gitTreeState: 'clean',
    buildDate: '2026-11-25T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

export interface NewApiServerOptions {
  store: Store;
  scheme: Scheme;
  authenticate: Authenticator;
  serverAddress: string;
  anonymousIsAdmin?: boolean;
  services?: ServiceAllocatorOptions;
  /** ServiceAccount admission: whether a pod's account must exist (default true, as upstream) */
  serviceAccountAdmission?: ServiceAccountAdmissionOptions;
  /** PKCS#8 PEM of the P-256 key that signs service account tokens; without one, a key that lives as long as the process */
  serviceAccountKeyPem?: string;
  /** `iss` of service account tokens (default https://kubernetes.default.svc.cluster.local) */
  serviceAccountIssuer?: string;
  log?: (l: string) => void;
}

export function newApiServer(o: NewApiServerOptions): ApiServer {
  const saKeys = new ServiceAccountTokenKeys({ keyPem: o.serviceAccountKeyPem, issuer: o.serviceAccountIssuer });
  const saAuthenticator = serviceAccountTokenAuthenticator(saKeys, registryLookup(() => api), o.log);
  const lookup = registryLookup(() => api);
  const bootstrapTokens = bootstrapTokenAuthenticator((ns, name) => lookup('secrets', ns, name), o.log);
  const api: ApiServer = new ApiServer({ ...o, authenticate: unionAuthenticator(o.authenticate, saAuthenticator, bootstrapTokens), version: versionInfo() });
  installServiceAccountTokens(api, saKeys, o.serverAddress);
  installAuthorization(api, { alwaysAllow: o.anonymousIsAdmin, log: o.log });
  installStreaming(api);
  installProtobuf(api);
  installStrategicMerge(api);
  installFieldManager(api);
  installCustomResourceDefinitions(api, o.log);
  api.registry.admission.push(
    namespaceLifecycle(() => o.scheme.lookup('', 'v1', 'namespaces')),
    // with the Node authorizer only: the insecure test mode lets one node identity run many simulated nodes
    ...(o.anonymousIsAdmin ? [] : [nodeRestriction(() => o.scheme.lookup('', 'v1', 'nodes'))]),
    serviceAccountAdmission(() => o.scheme.lookup('', 'v1', 'serviceaccounts'), o.serviceAccountAdmission),
    limitRanger(() => o.scheme.lookup('', 'v1', 'limitranges')),
    // webhooks: mutating before any validating plugin; validating before anything reserves (IPs, quota)
    mutatingAdmissionWebhook((g, v, r) => o.scheme.lookup(g, v, r), { log: o.log }),
    podSecurityAdmission(() => o.scheme.lookup('', 'v1', 'namespaces')),
    validatingAdmissionWebhook((g, v, r) => o.scheme.lookup(g, v, r), { log: o.log }),
    serviceAllocator(o.services),
    defaultStorageClass(() => o.scheme.lookup('storage.k8s.io', 'v1', 'storageclasses')),
    storageObjectInUseProtection(),
    defaultTolerationSeconds(),
    // last, so it charges only what every other plugin let through
    resourceQuotaAdmission(() => o.scheme.lookup('', 'v1', 'resourcequotas')),
  );
  return api;
}

export async function listen(api: ApiServer, o: ListenOptions): Promise<RunningApiServer> {
  const server: Server = o.tls
    ? (createHttpsServer({ cert: o.tls.certPem, key: o.tls.keyPem, ca: o.tls.caPem, requestCert: true, rejectUnauthorized: false }, api.handle) as unknown as Server)
    : createHttpServer(api.handle);
  // Watches and log streams last long; Node's default request timeout would cut them.
  server.requestTimeout = 0;
  // exec, attach and port-forward upgrade to WebSocket or SPDY
  server.on('upgrade', api.handleUpgrade);
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    api,
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        api.closeWatches();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
