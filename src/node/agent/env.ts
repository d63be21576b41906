// A container's environment as the kubelet builds it: envFrom first, then env in order, with
// valueFrom (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef) and $(VAR) expansion of
// values from the variables defined before them and the Services' variables; then the Services'
// docker-link variables the container did not set itself.
import type { ConfigMap, Container, EnvVar, ObjectFieldSelector, Pod, ResourceFieldSelector, Secret, Service } from 'kubernetes-types/core/v1.js';
import { milliValue, parseQuantity, value as quantityValue } from '../../api/quantity.js';
import { expandVariableReferences } from '../runtime/index.js';

/** Reads the pod's namespace objects the agent needs (configmaps, secrets); undefined when absent. */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** the Services of a namespace, for the service environment variables (none when absent) */
  services?(namespace: string): Promise<Service[]>;
}

/** The API server's Service in `default`: its variables are set even with enableServiceLinks false. */
const MASTER_SERVICES = new Set(['kubernetes']);
const MASTER_SERVICE_NAMESPACE = 'default';

const isServiceIPSet = (svc: Service) => !!svc.spec?.clusterIP && svc.spec.clusterIP !== 'None';
const envVariableName = (s: string) => s.replace(/-/g, '_').toUpperCase();
const joinHostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** The variables (kubelet envvars.FromServices) that tell a container where these Services are. */
export function serviceLinkVariables(services: readonly Service[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const svc of services) {
    const ports = svc.spec?.ports ?? [];
    if (!isServiceIPSet(svc) || !ports.length) continue;
    const ip = svc.spec!.clusterIP!;
    const prefix = envVariableName(svc.metadata?.name ?? '');
    out.set(`${prefix}_SERVICE_HOST`, ip);
    out.set(`${prefix}_SERVICE_PORT`, String(ports[0].port));
    for (const sp of ports) if (sp.name) out.set(`${prefix}_SERVICE_PORT_${envVariableName(sp.name)}`, String(sp.port));
    ports.forEach((sp, i) => {
      const protocol = sp.protocol ?? 'TCP';
      const url = `${protocol.toLowerCase()}://${joinHostPort(ip, sp.port)}`;
      if (i === 0) out.set(`${prefix}_PORT`, url);
      const portPrefix = `${prefix}_PORT_${sp.port}_${protocol.toUpperCase()}`;
      out.set(portPrefix, url);
      out.set(`${portPrefix}_PROTO`, protocol.toLowerCase());
      out.set(`${portPrefix}_PORT`, String(sp.port));
      out.set(`${portPrefix}_ADDR`, ip);
    });
  }
  return out;
}

/**
 * The service variables a pod in `namespace` gets: those of its namespace's Services unless
 * enableServiceLinks is false, and always those of `default/kubernetes` (a Service of the pod's own
 * namespace with that name wins).
 */
export function serviceEnvironment(services: readonly Service[], namespace: string, enableServiceLinks: boolean): Map<string, string> {
  const chosen = new Map<string, Service>();
  for (const svc of services) {
    if (!isServiceIPSet(svc)) continue;
    const name = svc.metadata?.name ?? '';
    const ns = svc.metadata?.namespace ?? '';
    if (ns === namespace && enableServiceLinks) chosen.set(name, svc);
    else if (ns === MASTER_SERVICE_NAMESPACE && MASTER_SERVICES.has(name) && !chosen.has(name)) chosen.set(name, svc);
  }
  return serviceLinkVariables([...chosen.values()]);
}

async function podServiceEnvironment(pod: Pod, objects: ObjectSource): Promise<Map<string, string>> {
  if (!objects.services) return new Map();
  const ns = pod.metadata?.namespace ?? 'default';
  const links = pod.spec?.enableServiceLinks !== false;
  const lists = await Promise.all([links ? objects.services(ns) : [], ns === MASTER_SERVICE_NAMESPACE && links ? [] : objects.services(MASTER_SERVICE_NAMESPACE)]);
  return serviceEnvironment(lists.flat(), ns, links);
}

/** A failure the kubelet reports as the container's `CreateContainerConfigError`. */
export class ContainerConfigError extends Error {}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function bracketKey(path: string, prefix: string): string | undefined {
  const m = new RegExp(`^${prefix.replace('.', '\\.')}\\['(.*)'\\]$`).exec(path);
  return m ? m[1] : undefined;
}

/** The value of a downward API field path (env fieldRef and downwardAPI volumes). */
export function fieldPathValue(pod: Pod, sel: ObjectFieldSelector, podIP?: string, hostIP?: string): string {
  const p = sel.fieldPath;
  const meta = pod.metadata ?? {};
  switch (p) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.hostIP':
      return hostIP ?? pod.status?.hostIP ?? '';
    case 'status.hostIPs':
      return hostIP ?? pod.status?.hostIP ?? '';
    case 'status.podIP':
      return podIP ?? pod.status?.podIP ?? '';
    case 'status.podIPs':
      return podIP ?? pod.status?.podIP ?? '';
  }
  const label = bracketKey(p, 'metadata.labels');
  if (label !== undefined) return meta.labels?.[label] ?? '';
  const ann = bracketKey(p, 'metadata.annotations');
  if (ann !== undefined) return meta.annotations?.[ann] ?? '';
  throw new ContainerConfigError(`unsupported fieldPath: ${p}`);
}

/** `key="value"` lines sorted by key, as downwardAPI files of labels/annotations are written. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/** resourceFieldRef: the container's limit or request in units of the divisor (rounded up); limits default to the node's allocatable. */
export function resourceFieldValue(pod: Pod, container: Container | undefined, sel: ResourceFieldSelector, allocatable: Record<string, string>): string {
  const c = sel.containerName ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === sel.containerName) : container;
  if (!c) throw new ContainerConfigError(`container ${sel.containerName} not found for resourceFieldRef`);
  const [kind, res] = sel.resource.split('.') as ['limits' | 'requests', string];
  let q: string | number | undefined = kind === 'limits' ? c.resources?.limits?.[res] : c.resources?.requests?.[res];
  if (q === undefined && kind === 'limits') q = allocatable[res];
  if (q === undefined && kind === 'requests') q = c.resources?.limits?.[res] ?? (res === 'cpu' ? 0 : 0);
  if (q === undefined) throw new ContainerConfigError(`unsupported resource: ${sel.resource}`);
  const divisor = sel.divisor !== undefined ? parseQuantity(sel.divisor) : parseQuantity('1');
  if (res === 'cpu') {
    const m = Number(milliValue(parseQuantity(q)));
    const d = Number(milliValue(divisor)) || 1000;
    return String(Math.ceil(m / d));
  }
  const bytes = Number(quantityValue(parseQuantity(q)));
  const d = Number(quantityValue(divisor)) || 1;
  return String(Math.ceil(bytes / d));
}

export interface EnvContext {
  pod: Pod;
  container: Container;
  objects: ObjectSource;
  podIP?: string;
  hostIP?: string;
  allocatable: Record<string, string>;
}

export async function resolveEnv(ctx: EnvContext): Promise<Array<{ name: string; value: string }>> {
  const { pod, container, objects } = ctx;
  const ns = pod.metadata?.namespace ?? 'default';
  const vars = new Map<string, string>();
  const serviceVars = await podServiceEnvironment(pod, objects);
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = await objects.configMap(ns, from.configMapRef.name ?? '');
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) if (ENV_NAME.test(prefix + k)) vars.set(prefix + k, v);
    } else if (from.secretRef) {
      const s = await objects.secret(ns, from.secretRef.name ?? '');
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(s.data ?? {})) if (ENV_NAME.test(prefix + k)) vars.set(prefix + k, Buffer.from(v, 'base64').toString('utf8'));
    }
  }
  for (const e of container.env ?? []) {
    const v = await envValue(ctx, e, ns, vars, serviceVars);
    if (v !== undefined) vars.set(e.name, v);
  }
  for (const [name, value] of [...serviceVars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) if (!vars.has(name)) vars.set(name, value);
  return [...vars].map(([name, value]) => ({ name, value }));
}

async function envValue(ctx: EnvContext, e: EnvVar, ns: string, defined: Map<string, string>, serviceVars: Map<string, string>): Promise<string | undefined> {
  if (!e.valueFrom) return expandVariableReferences(e.value ?? '', (n) => defined.get(n) ?? serviceVars.get(n));
  const f = e.valueFrom;
  if (f.configMapKeyRef) {
    const ref = f.configMapKeyRef;
    const cm = await ctx.objects.configMap(ns, ref.name ?? '');
    if (!cm) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`configmap "${ref.name}" not found`);
    }
    const v = cm.data?.[ref.key] ?? (cm.binaryData?.[ref.key] !== undefined ? Buffer.from(cm.binaryData[ref.key]!, 'base64').toString('utf8') : undefined);
    if (v === undefined && !ref.optional) throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
    return v;
  }
  if (f.secretKeyRef) {
    const ref = f.secretKeyRef;
    const s = await ctx.objects.secret(ns, ref.name ?? '');
    if (!s) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`secret "${ref.name}" not found`);
    }
    const raw = s.data?.[ref.key];
    if (raw === undefined) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
    }
    return Buffer.from(raw, 'base64').toString('utf8');
  }
  if (f.fieldRef) return fieldPathValue(ctx.pod, f.fieldRef, ctx.podIP, ctx.hostIP);
  if (f.resourceFieldRef) return resourceFieldValue(ctx.pod, ctx.container, f.resourceFieldRef, ctx.allocatable);
  return '';
}
