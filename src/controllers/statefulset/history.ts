// Controller history (upstream pkg/controller/history): ControllerRevisions that snapshot a workload's
// pod template as the patch `kubectl rollout undo` applies, named `<parent>-<hash>` and numbered.
import type { ControllerRevision } from 'kubernetes-types/apps/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { isAlreadyExists, isConflict, type MetaObject, type ResourceClient } from '../../client/rest.js';

/** upstream history.ControllerRevisionHashLabel */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const HTML_UNSAFE: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * JSON as Go's json.Marshal writes a value decoded into maps: keys sorted, no spaces, <>& escaped.
 * kubectl compares a revision's data with its own encoding of the template byte for byte.
 */
export function goJSON(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map((x) => goJSON(x)).join(',')}]`;
  if (typeof v === 'string') return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => HTML_UNSAFE[c]);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((k) => `${goJSON(k)}:${goJSON(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** 32-bit FNV-1 (Go's fnv.New32, as upstream HashControllerRevision uses). */
export function fnv32(bytes: Uint8Array, hash = 0x811c9dc5): number {
  let h = hash >>> 0;
  for (const b of bytes) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h;
}

/** upstream rand.SafeEncodeString */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHABET[ch.codePointAt(0)! % SAFE_ALPHABET.length];
  return out;
}

/** upstream HashControllerRevision over the revision's raw data, then the collision count in decimal. */
export function hashControllerRevision(rawData: string, probe?: number): string {
  let h = fnv32(new TextEncoder().encode(rawData));
  if (probe !== undefined && probe !== null) h = fnv32(new TextEncoder().encode(String(probe)), h);
  return safeEncodeString(String(h));
}

/** `<prefix>-<hash>`, the prefix cut so the name still fits a label value (63 characters). */
export function controllerRevisionName(prefix: string, hash: string): string {
  const max = 63 - hash.length - 1;
  let p = prefix.length > max ? prefix.slice(0, max) : prefix;
  p = p.replace(/[-.]+$/, '');
  return `${p}-${hash}`;
}

/**
 * The patch a revision holds (upstream getPatch of the StatefulSet and DaemonSet controllers, and
 * kubectl's): `{"spec":{"template":{…,"$patch":"replace"}}}`, as Go-encoded JSON.
 */
export function templatePatch(template: PodTemplateSpec | undefined): string {
  return goJSON({ spec: { template: { ...(template ?? {}), $patch: 'replace' } } });
}

/** The data of a revision as the raw bytes upstream compares. */
export const rawDataOf = (cr: ControllerRevision): string => goJSON((cr as { data?: unknown }).data ?? null);

/** The pod template a revision restores (its data's spec.template without the directive). */
export function templateOfRevision(cr: ControllerRevision): PodTemplateSpec | undefined {
  const data = (cr as { data?: { spec?: { template?: Record<string, unknown> } } }).data;
  const t = data?.spec?.template;
  if (!t || typeof t !== 'object') return undefined;
  const { $patch: _directive, ...rest } = t;
  return rest as PodTemplateSpec;
}

/** upstream NewControllerRevision: labels are the template's plus the hash, named `<parent>-<hash>`. */
export function newControllerRevision(
  parent: MetaObject,
  ownerRef: OwnerReference,
  templateLabels: Record<string, string> | undefined,
  rawData: string,
  revision: number,
  collisionCount: number | undefined,
): ControllerRevision {
  const hash = hashControllerRevision(rawData, collisionCount);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: controllerRevisionName(parent.metadata?.name ?? '', hash),
      namespace: parent.metadata?.namespace,
      labels: { ...(templateLabels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
      ownerReferences: [ownerRef],
    },
    data: JSON.parse(rawData) as ControllerRevision['data'],
    revision,
  };
}

/** Same hash label (when both have one) and the same data (upstream EqualRevision). */
export function equalRevision(a: ControllerRevision | undefined, b: ControllerRevision | undefined): boolean {
  if (!a || !b) return a === b;
  const ha = a.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL];
  const hb = b.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL];
  if (ha !== undefined && hb !== undefined && ha !== hb) return false;
  return rawDataOf(a) === rawDataOf(b);
}

export const findEqualRevisions = (revisions: ControllerRevision[], needle: ControllerRevision): ControllerRevision[] =>
  revisions.filter((r) => equalRevision(r, needle));

/** Lowest revision first, then oldest, then by name (upstream byRevision). */
export function sortRevisions(revisions: ControllerRevision[]): ControllerRevision[] {
  const created = (r: ControllerRevision) => Date.parse(r.metadata?.creationTimestamp ?? '') || 0;
  return [...revisions].sort(
    (a, b) => (a.revision ?? 0) - (b.revision ?? 0) || created(a) - created(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
  );
}

/** One more than the highest revision (upstream nextRevision). */
export const nextRevision = (revisions: ControllerRevision[]): number => revisions.reduce((m, r) => Math.max(m, r.revision ?? 0), 0) + 1;

/**
 * upstream realHistory.CreateControllerRevision: creates the revision; when its name is taken by a
 * revision with other data, bumps `collision.count` and tries the next name.
 */
export async function createControllerRevision(
  client: ResourceClient<ControllerRevision>,
  parent: MetaObject,
  revision: ControllerRevision,
  collision: { count: number },
): Promise<ControllerRevision> {
  const rawData = rawDataOf(revision);
  for (;;) {
    const hash = hashControllerRevision(rawData, collision.count);
    const cr: ControllerRevision = {
      ...revision,
      metadata: {
        ...revision.metadata,
        name: controllerRevisionName(parent.metadata?.name ?? '', hash),
        labels: { ...(revision.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash },
      },
    };
    try {
      return await client.create(cr);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const existing = await client.get(cr.metadata!.name!);
      if (equalRevision(existing, cr)) return existing;
      collision.count++;
    }
  }
}

/** Sets a revision's number (upstream UpdateControllerRevision), retrying conflicts with a fresh read. */
export async function updateRevisionNumber(client: ResourceClient<ControllerRevision>, cr: ControllerRevision, revision: number): Promise<ControllerRevision> {
  let cur = cr;
  for (let i = 0; ; i++) {
    if (cur.revision === revision) return cur;
    try {
      return await client.update({ ...cur, revision });
    } catch (e) {
      if (!isConflict(e) || i >= 4) throw e;
      cur = await client.get(cr.metadata!.name!);
    }
  }
}
