// Shared by the integration tests: manifests for every served kind, kubectl table parsing, and
// `kubectl get -w` run in the background.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectlPath } from '../helpers/kubectl.js';

/** A scratch directory for manifests, removed by the returned function. */
export function scratchDir(prefix = 'timonel-it-'): { dir: string; write(name: string, text: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, text) {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * One manifest per served kind, grouped so that each group is one `kubectl create -f` (kubectl
 * throttles itself to 5 requests/s after a burst of 10, so big files are slow; groups run concurrently).
 * Cluster-scoped names carry `suffix` so several sets fit in one cluster.
 */
export function kindManifests(ns: string, suffix = ''): Record<string, string> {
  return {
    core: `
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: ${ns}, labels: {app: web, tier: front}}
spec:
  nodeName: node-a${suffix}
  containers:
  - name: c
    image: nginx:1.27
    ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80, protocol: TCP}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: ${ns}}
subsets:
- addresses: [{ip: 10.1.0.5}]
  ports: [{port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: ${ns}, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.1.0.5]}]
ports: [{port: 80, protocol: TCP, name: ""}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ${ns}}
data: {a: "1", b: two}
---
apiVersion: v1
kind: Secret
metadata: {name: sec, namespace: ${ns}}
type: Opaque
stringData: {password: hunter2}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: ${ns}}
---
apiVersion: v1
kind: Event
metadata: {name: web-0.created, namespace: ${ns}}
involvedObject: {kind: Pod, name: web-0, namespace: ${ns}, apiVersion: v1}
reason: Created
message: Created container c
type: Normal
source: {component: kubelet}
count: 1
`,
    cluster: `
apiVersion: v1
kind: Node
metadata: {name: node-a${suffix}, labels: {kubernetes.io/hostname: node-a${suffix}}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-a${suffix}}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /tmp/pv-a}
  storageClassName: slow${suffix}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: slow${suffix}}
provisioner: example.com/hostpath
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx${suffix}}
spec: {controller: example.com/ingress}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: tl-reader${suffix}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: tl-reader${suffix}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: tl-reader${suffix}}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
`,
    workloads: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web-d}}
  template:
    metadata: {labels: {app: web-d}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: ${ns}}
spec:
  replicas: 1
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec: {containers: [{name: c, image: nginx:1.27}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ${ns}}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: postgres:16}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ${ns}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: busybox:1.36}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: ${ns}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1.36, command: [echo, hi]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: ${ns}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox:1.36}]
`,
    networking: `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: ${ns}}
spec:
  ingressClassName: nginx${suffix}
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web, port: {number: 80}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: ${ns}}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: lock, namespace: ${ns}}
spec: {holderIdentity: me, leaseDurationSeconds: 15}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: ${ns}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: ${ns}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: robot, namespace: ${ns}}]
`,
    policy: `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim, namespace: ${ns}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  storageClassName: slow${suffix}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: ${ns}}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: quota, namespace: ${ns}}
spec: {hard: {pods: "10", requests.cpu: "4"}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: ${ns}}
spec:
  limits: [{type: Container, default: {cpu: 500m}, defaultRequest: {cpu: 100m}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: ${ns}}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
`,
  };
}

/** `<resource>/<name>` (as `kubectl create` prints them) of every object in kindManifests(). */
export function kindObjects(suffix = ''): { ref: string; namespaced: boolean }[] {
  const ns = (ref: string) => ({ ref, namespaced: true });
  const cl = (ref: string) => ({ ref, namespaced: false });
  return [
    ns('pod/web-0'),
    ns('service/web'),
    ns('endpoints/web'),
    ns('endpointslice.discovery.k8s.io/web-abc'),
    ns('configmap/cfg'),
    ns('secret/sec'),
    ns('serviceaccount/robot'),
    ns('event/web-0.created'),
    cl(`node/node-a${suffix}`),
    cl(`persistentvolume/pv-a${suffix}`),
    cl(`storageclass.storage.k8s.io/slow${suffix}`),
    cl(`ingressclass.networking.k8s.io/nginx${suffix}`),
    cl(`clusterrole.rbac.authorization.k8s.io/tl-reader${suffix}`),
    cl(`clusterrolebinding.rbac.authorization.k8s.io/tl-reader${suffix}`),
    ns('deployment.apps/web'),
    ns('replicaset.apps/rs'),
    ns('statefulset.apps/db'),
    ns('daemonset.apps/agent'),
    ns('job.batch/once'),
    ns('cronjob.batch/nightly'),
    ns('ingress.networking.k8s.io/web'),
    ns('networkpolicy.networking.k8s.io/deny'),
    ns('lease.coordination.k8s.io/lock'),
    ns('role.rbac.authorization.k8s.io/reader'),
    ns('rolebinding.rbac.authorization.k8s.io/reader'),
    ns('persistentvolumeclaim/claim'),
    ns('horizontalpodautoscaler.autoscaling/web'),
    ns('resourcequota/quota'),
    ns('limitrange/limits'),
    ns('poddisruptionbudget.policy/web'),
  ];
}

/**
 * The header row of kubectl's table output for each kind (upstream's printer column names,
 * upper-cased), without -o wide.
 */
export const TABLE_HEADERS: Record<string, string[]> = {
  pods: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
  services: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
  endpoints: ['NAME', 'ENDPOINTS', 'AGE'],
  'endpointslices.discovery.k8s.io': ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'],
  configmaps: ['NAME', 'DATA', 'AGE'],
  secrets: ['NAME', 'TYPE', 'DATA', 'AGE'],
  serviceaccounts: ['NAME', 'SECRETS', 'AGE'],
  nodes: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
  persistentvolumes: ['NAME', 'CAPACITY', 'ACCESS MODES', 'RECLAIM POLICY', 'STATUS', 'CLAIM', 'STORAGECLASS', 'VOLUMEATTRIBUTESCLASS', 'REASON', 'AGE'],
  persistentvolumeclaims: ['NAME', 'STATUS', 'VOLUME', 'CAPACITY', 'ACCESS MODES', 'STORAGECLASS', 'VOLUMEATTRIBUTESCLASS', 'AGE'],
  'storageclasses.storage.k8s.io': ['NAME', 'PROVISIONER', 'RECLAIMPOLICY', 'VOLUMEBINDINGMODE', 'ALLOWVOLUMEEXPANSION', 'AGE'],
  'deployments.apps': ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
  'replicasets.apps': ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'],
  'statefulsets.apps': ['NAME', 'READY', 'AGE'],
  'daemonsets.apps': ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'],
  'jobs.batch': ['NAME', 'STATUS', 'COMPLETIONS', 'DURATION', 'AGE'],
  'cronjobs.batch': ['NAME', 'SCHEDULE', 'TIMEZONE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'AGE'],
  'ingresses.networking.k8s.io': ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE'],
  'ingressclasses.networking.k8s.io': ['NAME', 'CONTROLLER', 'PARAMETERS', 'AGE'],
  'networkpolicies.networking.k8s.io': ['NAME', 'POD-SELECTOR', 'AGE'],
  'leases.coordination.k8s.io': ['NAME', 'HOLDER', 'AGE'],
  'roles.rbac.authorization.k8s.io': ['NAME', 'CREATED AT'],
  'clusterroles.rbac.authorization.k8s.io': ['NAME', 'CREATED AT'],
  'rolebindings.rbac.authorization.k8s.io': ['NAME', 'ROLE', 'AGE'],
  'clusterrolebindings.rbac.authorization.k8s.io': ['NAME', 'ROLE', 'AGE'],
  'horizontalpodautoscalers.autoscaling': ['NAME', 'REFERENCE', 'TARGETS', 'MINPODS', 'MAXPODS', 'REPLICAS', 'AGE'],
  resourcequotas: ['NAME', 'REQUEST', 'LIMIT', 'AGE'],
  limitranges: ['NAME', 'CREATED AT'],
  'poddisruptionbudgets.policy': ['NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE'],
  namespaces: ['NAME', 'STATUS', 'AGE'],
};

export interface ParsedTable {
  headers: string[];
  rows: Record<string, string>[];
}

/**
 * Parses kubectl's column output. Columns are cut at the header's column starts (kubectl's tabwriter
 * aligns every row to them), so cells and headers may contain single spaces.
 */
export function parseTable(stdout: string): ParsedTable {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return { headers: [], rows: [] };
  const header = lines[0];
  const starts: number[] = [];
  const re = /\S+(?: \S+)*/g;
  for (let m = re.exec(header); m; m = re.exec(header)) starts.push(m.index);
  const cut = (line: string) =>
    starts.map((s, i) => line.slice(s, i + 1 < starts.length ? starts[i + 1] : undefined).trim());
  const headers = cut(header);
  const rows = lines.slice(1).map((line) => {
    const cells = cut(line);
    return Object.fromEntries(headers.map((h, i) => [h, cells[i] ?? '']));
  });
  return { headers, rows };
}

export interface BackgroundKubectl {
  pid: number;
  /** stdout lines so far */
  lines: string[];
  stderr(): string;
  /** resolves with the first stdout line (past or future) matching `re` */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** resolves with the exit code once kubectl ends */
  exited: Promise<number | null>;
  /** SIGTERM by PID (no-op once exited) */
  stop(): void;
}

const running = new Set<number>();
process.on('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Starts a long-running kubectl (e.g. `get -w`) with its own discovery cache dir. */
export function kubectlInBackground(version: string, kubeconfig: string, cacheDir: string, args: readonly string[]): BackgroundKubectl {
  const bin = kubectlPath(version);
  if (bin === undefined) throw new Error(`kubectl ${version} is not available`);
  const child = spawn(bin, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error('could not spawn kubectl');
  const pid = child.pid;
  running.add(pid);
  const lines: string[] = [];
  let stderr = '';
  let pending = '';
  const waiters = new Set<{ re: RegExp; resolve: (line: string) => void }>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters) {
        if (w.re.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      done = true;
      running.delete(pid);
      resolve(code);
    }),
  );
  return {
    pid,
    lines,
    stderr: () => stderr,
    exited,
    stop: () => {
      if (!done) process.kill(pid, 'SIGTERM');
    },
    waitForLine(re, timeoutMs = 10_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          re,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`kubectl ${args.join(' ')}: no line matching ${re} within ${timeoutMs} ms\nstdout:\n${lines.join('\n')}\nstderr:\n${stderr}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
  };
}

/** Polls `cond` until it holds. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
