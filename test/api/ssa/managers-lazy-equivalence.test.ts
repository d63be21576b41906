// updateManagedFields (entries read lazily, canonical FieldsV1 patched in place of sets) against the
// eager path it replaces: every entry read into a set, recordUpdate on the sets, encodeManagedFields.
// The two must give byte-identical managedFields over random write sequences, with entries sent back
// in other spellings, with applies in between and with more update managers than are kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyConfiguration, decodeManagedFields, encodeManagedFields, FieldSet, ssaSchemaFor, updateManagedFields } from '../../../src/api/ssa/index.js';
import { recordUpdate } from '../../../src/api/ssa/managers.js';
import type { KubeObject } from '../../../src/api/types.js';

type Obj = Record<string, any>;

let seed = 12345;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
const chance = (p: number) => rnd() < p;
const subset = <T>(a: readonly T[]): T[] => a.filter(() => chance(0.5));
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function labels(): Obj {
  const o: Obj = {};
  for (const k of subset(['a', 'B', '<x', 'é', '\u{1F600}', 'a.b'])) o[k] = pick(['1', '2']);
  return o;
}
function container(name: string): Obj {
  const c: Obj = { name, image: pick(['nginx', 'busybox']) };
  if (chance(0.6)) c.ports = subset([80, 443, 8080]).map((p) => ({ containerPort: p, ...(chance(0.5) ? { protocol: pick(['TCP', 'UDP']) } : {}) }));
  if (chance(0.5)) c.env = subset(['A', 'B', 'C']).map((n) => ({ name: n, value: pick(['x', 'y']) }));
  if (chance(0.4)) c.resources = chance(0.3) ? {} : { limits: { cpu: pick(['1', '2']) } };
  return c;
}
function deployment(): Obj {
  const containers = subset(['c1', 'c2', 'c3']).map(container);
  const o: Obj = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'default', uid: 'u1', ...(chance(0.6) ? { labels: labels() } : {}), ...(chance(0.3) ? { finalizers: subset(['f/a', 'f/b']) } : {}) },
    spec: { replicas: pick([1, 2]), selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a', ...labels() } }, spec: { containers: containers.length ? containers : [container('c1')] } } },
  };
  if (chance(0.5)) o.status = { replicas: pick([0, 1]) };
  return o;
}
function mutate(old: Obj): Obj {
  const fresh = deployment();
  const out = clone(old);
  delete out.metadata.managedFields;
  if (chance(0.4)) out.spec = fresh.spec;
  if (chance(0.4)) out.spec.template.spec.containers = fresh.spec.template.spec.containers;
  for (const k of ['labels', 'finalizers']) if (chance(0.3)) out.metadata[k] = fresh.metadata[k];
  return out;
}
/** The same FieldsV1 in another spelling: elements out of order, `.` on members without children. */
function respell(v: unknown, depth = 0): unknown {
  if (!v || typeof v !== 'object') return v;
  const keys = Object.keys(v);
  if (chance(0.3)) keys.reverse();
  if (depth > 0 && keys.length === 0 && chance(0.3)) return { '.': {} };
  const o: Obj = {};
  for (const k of keys) o[k] = respell((v as Obj)[k], depth + 1);
  return o;
}

const MANAGERS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];

describe('updateManagedFields with lazily read entries', () => {
  it('gives what reading every entry into a set, recording the update and writing the sets out gives', () => {
    const schema = ssaSchemaFor('apps/v1', 'Deployment');
    let checked = 0;
    for (let run = 0; run < 40; run++) {
      let live: Obj = deployment();
      updateManagedFields(undefined, live as KubeObject, 'creator', { apiVersion: 'apps/v1', kind: 'Deployment', ignored: FieldSet.of(['f:status']), now: '2024-01-01T00:00:00Z' });
      for (let step = 1; step < 20; step++) {
        const now = new Date(Date.UTC(2024, 0, 1) + step * pick([0, 1000, 60_000])).toISOString().replace('.000Z', 'Z');
        const manager = pick(MANAGERS);
        if (chance(0.15)) {
          live = applyConfiguration(live as KubeObject, deployment(), manager, true, { apiVersion: 'apps/v1', kind: 'Deployment', ignored: FieldSet.of(['f:status']), now }) as Obj;
          continue;
        }
        const next = mutate(live);
        const sent = live.metadata.managedFields as Obj[] | undefined;
        if (sent && chance(0.4)) next.metadata.managedFields = sent.map((e) => ({ ...clone(e), fieldsV1: respell(e.fieldsV1) }));
        else if (sent && chance(0.3)) next.metadata.managedFields = clone(sent);
        const eagerNext = clone(next);
        const ignored = FieldSet.of(['f:status']);
        updateManagedFields(live as KubeObject, next as KubeObject, manager, { apiVersion: 'apps/v1', kind: 'Deployment', ignored, now });

        const strip = (o: Obj) => ({ ...o, metadata: Object.fromEntries(Object.entries(o.metadata).filter(([k]) => k !== 'managedFields')) });
        let managed = decodeManagedFields(eagerNext.metadata.managedFields);
        if (managed.size === 0) managed = decodeManagedFields(live.metadata.managedFields);
        const want = managed.size === 0 ? undefined : (recordUpdate(strip(live), strip(eagerNext), managed, manager, { schema, apiVersion: 'apps/v1', ignored, now }), encodeManagedFields(managed));
        assert.equal(JSON.stringify(next.metadata.managedFields), JSON.stringify(want), `run ${run} step ${step}`);
        checked++;
        live = next;
      }
    }
    assert.ok(checked > 500);
  });
});
