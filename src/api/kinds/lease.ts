// coordination.k8s.io/v1 Lease: leader election and node heartbeats.
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { type FieldError, invalidValue, typeInvalid } from '../errors.js';
import { formatAge } from '../names.js';
import { isPlainObject } from '../object.js';
import type { KindInfo, KubeObject } from '../types.js';

type LeaseObject = Lease & KubeObject;

const absent = (v: unknown) => v === undefined || v === null;
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Fields of the alpha CoordinatedLeaderElection feature, which is off: dropped unless already in use. */
const GATED_FIELDS = ['strategy', 'preferredHolder'];

function dropGatedFields(spec: unknown, oldSpec?: unknown): void {
  if (!isPlainObject(spec)) return;
  const inUse = isPlainObject(oldSpec) && GATED_FIELDS.some((f) => !absent(oldSpec[f]));
  if (!inUse) for (const f of GATED_FIELDS) delete spec[f];
}

export const leaseKind: KindInfo<LeaseObject> = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  resource: 'leases',
  singular: 'lease',
  namespaced: true,
  allowCreateOnUpdate: true,
  strategy: {
    prepareForCreate(lease) {
      dropGatedFields(lease.spec);
    },
    prepareForUpdate(lease, old) {
      dropGatedFields(lease.spec, old.spec);
    },
    validate(lease) {
      const spec = lease.spec as unknown;
      if (absent(spec)) return [];
      if (!isPlainObject(spec)) return [typeInvalid('spec', spec, 'must be of type object')];
      const errs: FieldError[] = [];
      if (!absent(spec.holderIdentity) && typeof spec.holderIdentity !== 'string')
        errs.push(typeInvalid('spec.holderIdentity', spec.holderIdentity, 'must be of type string'));
      const duration = spec.leaseDurationSeconds;
      if (!absent(duration)) {
        if (!Number.isInteger(duration)) errs.push(typeInvalid('spec.leaseDurationSeconds', duration, 'must be of type integer'));
        else if ((duration as number) <= 0) errs.push(invalidValue('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
      }
      const transitions = spec.leaseTransitions;
      if (!absent(transitions)) {
        if (!Number.isInteger(transitions)) errs.push(typeInvalid('spec.leaseTransitions', transitions, 'must be of type integer'));
        else if ((transitions as number) < 0) errs.push(invalidValue('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
      }
      for (const f of ['acquireTime', 'renewTime']) {
        const v = spec[f];
        if (!absent(v) && (typeof v !== 'string' || !MICRO_TIME.test(v) || Number.isNaN(Date.parse(v))))
          errs.push(typeInvalid(`spec.${f}`, v, 'must be a timestamp in RFC 3339 form'));
      }
      return errs;
    },
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Holder', type: 'string', description: 'The identity of the holder of a current lease.', priority: 0 },
        { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 },
      ],
      row: (lease, now) => [
        lease.metadata?.name ?? '',
        typeof lease.spec?.holderIdentity === 'string' ? lease.spec.holderIdentity : '',
        formatAge(lease.metadata?.creationTimestamp, now),
      ],
    },
  },
};
