// Field management for the API server: metadata.managedFields on every write, and server-side apply
// (`PATCH` with `application/apply-patch+yaml`).
import { errInvalid, invalidValue, required, tooLong, type FieldError } from '../api/errors.js';
import { deepClone, deepEqual, isPlainObject } from '../api/object.js';
import { applyConfiguration, FieldSet, updateManagedFields } from '../api/ssa/index.js';
import type { ManagedFieldsEntry } from 'kubernetes-types/meta/v1.js';
import { apiVersionOf, type KindInfo, type KubeObject } from '../api/types.js';
import type { ApiServer } from './handler.js';

export const FIELD_MANAGER_MAX_LENGTH = 128;

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * The manager of a write that names none: the User-Agent up to its first `/`, printable characters only,
 * at most 128 bytes (`kubectl/v1.33.0 (linux/amd64) …` → `kubectl`).
 */
export function managerFromUserAgent(userAgent: string | undefined): string {
  const ua = userAgent ?? '';
  const slash = ua.indexOf('/');
  const head = slash < 0 ? ua : ua.slice(0, slash);
  // printable ASCII (the usual case) is kept whole
  if (head.length <= FIELD_MANAGER_MAX_LENGTH && PRINTABLE_ASCII.test(head)) return head;
  let out = '';
  let bytes = 0;
  for (const ch of head) {
    if (!PRINTABLE.test(ch)) continue;
    const n = Buffer.byteLength(ch);
    if (bytes + n > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** PatchOptions validation of an apply: the 422 upstream answers for a missing or malformed fieldManager. */
function checkApplyManager(manager: string): void {
  const errs: FieldError[] = [];
  if (manager === '') errs.push(required('fieldManager', 'is required for apply patch'));
  if (Buffer.byteLength(manager) > FIELD_MANAGER_MAX_LENGTH) errs.push(tooLong('fieldManager', manager, FIELD_MANAGER_MAX_LENGTH));
  let i = 0;
  for (const ch of manager) {
    if (!PRINTABLE.test(ch))
      errs.push(invalidValue('fieldManager', manager, `invalid character U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} (at position ${i})`));
    i += Buffer.byteLength(ch);
  }
  if (errs.length) throw errInvalid('meta.k8s.io', 'PatchOptions', '', errs);
}

/**
 * Fields a write cannot change and so never owns: a kind's status outside its status subresource, and
 * everything but status through it.
 */
function ignoredFields(info: KindInfo, subresource: string | undefined, ...objs: unknown[]): FieldSet | undefined {
  if (subresource === 'status') {
    const ignored = new FieldSet();
    for (const o of objs) if (isPlainObject(o)) for (const k of Object.keys(o)) if (k !== 'status') ignored.members.add(`f:${k}`);
    return ignored;
  }
  if (!subresource && info.subresources?.status) return FieldSet.of(['f:status']);
  return undefined;
}

function withoutManagedFieldsAndVersion(obj: KubeObject): KubeObject {
  const { managedFields: _m, resourceVersion: _rv, ...meta } = obj.metadata ?? {};
  return { ...obj, metadata: meta };
}

/**
 * A write that changes nothing but managedFields timestamps keeps the old managedFields, so it stays a
 * no-op (upstream's IgnoreManagedFieldsTimestampsTransformer).
 */
function keepTimestampsOfNoop(obj: KubeObject, old: KubeObject): void {
  const now = obj.metadata?.managedFields;
  const before = old.metadata?.managedFields;
  if (!Array.isArray(now) || !Array.isArray(before) || now.length !== before.length) return;
  for (let i = 0; i < now.length; i++) if (!deepEqual({ ...now[i], time: undefined }, { ...before[i], time: undefined })) return;
  // status and spec first: what most writes change, found without walking the rest (metadata, a pod's spec)
  if (!deepEqual(obj.status, old.status) || !deepEqual(obj.spec, old.spec)) return;
  if (!deepEqual(withoutManagedFieldsAndVersion(obj), withoutManagedFieldsAndVersion(old))) return;
  obj.metadata!.managedFields = deepClone(before);
}

const objectKey = (info: KindInfo, obj: KubeObject | undefined) => `${info.resource}.${info.group}/${obj?.metadata?.namespace ?? ''}/${obj?.metadata?.name ?? ''}`;

export function installFieldManager(api: ApiServer): void {
  // A status write keeps the stored metadata, so an apply through the status subresource hands its
  // managedFields from serverSideApply to the tracker here (the two run back to back in one update).
  const statusApplies = new Map<string, ManagedFieldsEntry[] | undefined>();
  api.registry.trackManagedFields = (info, obj, old, ctx) => {
    if (ctx.operation === 'Apply' && ctx.subresource) {
      const key = objectKey(info, obj);
      if (obj.metadata && statusApplies.has(key)) {
        const entries = statusApplies.get(key);
        if (entries) obj.metadata.managedFields = entries;
        else delete obj.metadata.managedFields;
      }
      statusApplies.delete(key);
    }
    // an apply's managedFields were settled by serverSideApply below
    if (ctx.operation === 'Update')
      updateManagedFields(old, obj, ctx.manager, {
        apiVersion: apiVersionOf(info),
        kind: info.kind,
        subresource: ctx.subresource,
        ignored: ignoredFields(info, ctx.subresource, obj, old),
        untimed: ctx.subresource === 'scale',
      });
    if (old) keepTimestampsOfNoop(obj, old);
  };
  api.serverSideApply = (info, current, applied, force, manager, subresource) => {
    checkApplyManager(manager);
    const out = applyConfiguration(current, applied, manager, force, {
      apiVersion: apiVersionOf(info),
      kind: info.kind,
      subresource,
      ignored: ignoredFields(info, subresource, applied, current),
    });
    if (subresource && current) statusApplies.set(objectKey(info, current), out.metadata?.managedFields);
    return out;
  };
}
