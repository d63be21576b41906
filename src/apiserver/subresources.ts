// Subresources: status, scale, namespaces/finalize, pods/binding, pods/eviction.
import { errBadRequest, errInvalid, errMethodNotAllowed, errNotFoundPath, StatusError } from '../api/errors.js';
import { formatLabelSelector } from '../api/labels.js';
import { deepClone, getPath, isPlainObject, setPath } from '../api/object.js';
import { applyJSONPatch, applyMergePatch } from '../api/patch.js';
import type { KindInfo, KubeObject } from '../api/types.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { PodCondition } from 'kubernetes-types/core/v1.js';
import { nowRFC3339 } from '../api/names.js';
import { bodyFormat, decodeBody } from './negotiate.js';
import type { ApiServer, Ctx, ResourceRequest } from './handler.js';
import { serveEviction } from './eviction.js';

export async function serveSubresource(server: ApiServer, ctx: Ctx, r: ResourceRequest, method: string): Promise<void> {
  if (r.name === undefined) throw errNotFoundPath();
  const x = server.internals;
  switch (r.subresource) {
    case 'status':
      if (method === 'GET') return x.sendItem(ctx, 200, r.info, await server.registry.get(r.info, r.namespace, r.name));
      if (method === 'PUT') return x.update(ctx, r, 'status');
      if (method === 'PATCH') return x.patch(ctx, r, 'status');
      throw errMethodNotAllowed();
    case 'scale':
      return serveScale(server, ctx, r, method);
    case 'finalize':
      if (r.info.resource !== 'namespaces' || method !== 'PUT') throw errMethodNotAllowed();
      return serveFinalize(server, ctx, r);
    case 'binding':
      if (r.info.resource !== 'pods' || method !== 'POST') throw errMethodNotAllowed();
      return serveBinding(server, ctx, r);
    case 'eviction':
      if (r.info.resource !== 'pods' || method !== 'POST') throw errMethodNotAllowed();
      return serveEviction(server, ctx, r);
    default: {
      const handler = server.subresourceHandlers.get(`${r.info.group}/${r.info.resource}/${r.subresource}`);
      if (handler) return handler(ctx, r, method);
      throw errNotFoundPath();
    }
  }
}

// ---- scale ----

function toScale(info: KindInfo, obj: KubeObject) {
  const sc = info.subresources!.scale!;
  const status: Record<string, unknown> = { replicas: Number(getPath(obj, sc.statusReplicasPath) ?? 0) };
  if (sc.selector) status.selector = sc.selector(obj) || undefined;
  else if (sc.labelSelectorPath) {
    const sel = getPath(obj, sc.labelSelectorPath);
    if (typeof sel === 'string') status.selector = sel;
    else if (isPlainObject(sel)) status.selector = formatLabelSelector(sel as LabelSelector);
  }
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata?.name,
      namespace: obj.metadata?.namespace,
      uid: obj.metadata?.uid,
      resourceVersion: obj.metadata?.resourceVersion,
      creationTimestamp: obj.metadata?.creationTimestamp,
    },
    spec: { replicas: Number(getPath(obj, sc.specReplicasPath) ?? 0) },
    status,
  };
}

async function serveScale(server: ApiServer, ctx: Ctx, r: ResourceRequest, method: string): Promise<void> {
  const x = server.internals;
  const info = r.info;
  const sc = info.subresources!.scale!;
  if (method === 'GET') {
    const item = await server.registry.get(info, r.namespace, r.name!);
    return x.sendValue(ctx, 200, toScale(info, item.obj));
  }
  if (method !== 'PUT' && method !== 'PATCH') throw errMethodNotAllowed();
  const opts = x.writeOptions(ctx);
  let scaleBody: unknown;
  let patchFmt: string | undefined;
  if (method === 'PUT') scaleBody = await x.readObject(ctx, info);
  else {
    patchFmt = bodyFormat(ctx.req.headers['content-type']);
    scaleBody = decodeBody(await x.readBody(ctx), patchFmt === 'apply-patch' ? 'yaml' : 'json');
  }
  const { item } = await server.registry.guaranteedUpdate(
    info,
    r.namespace,
    r.name!,
    (current) => {
      const obj = current!;
      const currentScale = toScale(info, obj);
      let desired: unknown;
      if (method === 'PUT') desired = scaleBody;
      else if (patchFmt === 'json-patch') desired = applyJSONPatch(currentScale, scaleBody);
      else desired = applyMergePatch(currentScale, scaleBody);
      if (!isPlainObject(desired)) throw errBadRequest('a Scale must be an object');
      const d = desired as { kind?: unknown; metadata?: { name?: unknown; resourceVersion?: string }; spec?: { replicas?: unknown } };
      if (d.kind !== undefined && d.kind !== '' && d.kind !== 'Scale') throw errBadRequest(`a ${String(d.kind)} cannot be handled as a Scale`);
      const bodyName = d.metadata?.name;
      if (bodyName !== undefined && bodyName !== '' && bodyName !== r.name)
        throw errBadRequest(`the name of the object (${String(bodyName)}) does not match the name on the URL (${r.name})`);
      const replicas = d.spec?.replicas ?? 0;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
        throw errInvalid('autoscaling', 'Scale', r.name!, [{ field: 'spec.replicas', type: 'FieldValueInvalid', value: replicas, detail: 'must be greater than or equal to 0' }]);
      const next = deepClone(obj);
      setPath(next as Record<string, unknown>, sc.specReplicasPath, replicas);
      // a resourceVersion in the Scale is a precondition on the object
      next.metadata!.resourceVersion = d.metadata?.resourceVersion || undefined;
      return next;
    },
    { ...opts, recordAs: 'scale' },
  );
  return x.sendValue(ctx, 200, toScale(info, item.obj));
}

// ---- namespaces/finalize ----

async function serveFinalize(server: ApiServer, ctx: Ctx, r: ResourceRequest): Promise<void> {
  const x = server.internals;
  const body = (await x.readObject(ctx, r.info)) as KubeObject;
  const finalizers = (body?.spec as { finalizers?: unknown } | undefined)?.finalizers;
  if (finalizers !== undefined && !Array.isArray(finalizers)) throw errBadRequest('spec.finalizers must be a list');
  const { item } = await server.registry.guaranteedUpdate(
    r.info,
    undefined,
    r.name!,
    (current) => {
      const next = deepClone(current!);
      const spec = (next.spec ?? {}) as { finalizers?: string[] };
      spec.finalizers = (finalizers as string[] | undefined) ?? [];
      if (!spec.finalizers.length) delete spec.finalizers;
      next.spec = spec;
      if (body.metadata?.resourceVersion) next.metadata!.resourceVersion = body.metadata.resourceVersion;
      return next;
    },
    { ...x.writeOptions(ctx), subresource: 'finalize' },
  );
  return x.sendItem(ctx, 200, r.info, item);
}

// ---- pods/binding ----

async function serveBinding(server: ApiServer, ctx: Ctx, r: ResourceRequest): Promise<void> {
  const x = server.internals;
  const body = (await x.readObject(ctx, r.info)) as
    | { metadata?: { name?: string; uid?: string; annotations?: Record<string, string> }; target?: { name?: string; kind?: string } }
    | undefined;
  const node = body?.target?.name;
  if (!node) throw errInvalid('', 'Binding', r.name!, [{ field: 'target.name', type: 'FieldValueRequired', detail: '' }]);
  if (body?.metadata?.name && body.metadata.name !== r.name) throw errBadRequest('the name of the binding does not match the pod');
  await server.registry.guaranteedUpdate(
    r.info,
    r.namespace,
    r.name!,
    (current) => {
      // guaranteedUpdate hands mutate a fresh copy of the stored pod
      const pod = current! as KubeObject & { spec?: { nodeName?: string }; status?: { conditions?: PodCondition[] } };
      const uid = body?.metadata?.uid;
      if (uid && pod.metadata?.uid !== uid)
        throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on pods "${r.name}": Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata?.uid ?? ''}`);
      if (pod.metadata?.deletionTimestamp) throw errBadRequest(`pod ${r.name} is being deleted, cannot be assigned to a host`);
      if (pod.spec?.nodeName) throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${r.name}": pod ${r.name} is already assigned to node "${pod.spec.nodeName}"`);
      pod.spec = { ...(pod.spec ?? {}), nodeName: node };
      const annotations = body?.metadata?.annotations;
      if (annotations && Object.keys(annotations).length) pod.metadata = { ...pod.metadata, annotations: { ...(pod.metadata?.annotations ?? {}), ...annotations } };
      // as upstream's assignPod: the binding itself records PodScheduled=True
      const conditions = (pod.status ??= {}).conditions ?? [];
      const i = conditions.findIndex((c) => c.type === 'PodScheduled');
      const now = nowRFC3339();
      const scheduled: PodCondition = { type: 'PodScheduled', status: 'True', lastTransitionTime: i >= 0 && conditions[i].status === 'True' ? conditions[i].lastTransitionTime : now };
      if (i >= 0) conditions[i] = scheduled;
      else conditions.push(scheduled);
      pod.status.conditions = conditions;
      return pod;
    },
    // as upstream (kubernetes#127508), a binding leaves managedFields as they are
    { ...x.writeOptions(ctx), subresource: 'binding', skipFieldTracking: true },
  );
  return x.sendValue(ctx, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}
