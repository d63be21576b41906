import type { Namespace } from 'kubernetes-types/core/v1.js';
import { type FieldError, invalidValue } from '../errors.js';
import type { KindInfo } from '../types.js';
import { formatAge } from '../names.js';
import { nameIsDNSLabel, qualifiedNameErrors } from '../validation.js';
import { isObj, list, str, digStr } from './checks.js';

export const LABEL_METADATA_NAME = 'kubernetes.io/metadata.name';
const FINALIZER_KUBERNETES = 'kubernetes';

/** The `kubernetes.io/metadata.name` label always carries the name (upstream defaulting and Canonicalize). */
function setNameLabel(ns: Namespace): void {
  const name = ns.metadata?.name;
  if (!name) return;
  const meta = ns.metadata!;
  meta.labels = { ...(meta.labels ?? {}), [LABEL_METADATA_NAME]: name };
}

/** `validateFinalizerName`: a qualified name that is either standard (`kubernetes`) or domain-prefixed. */
function finalizerErrors(f: string, path: string): FieldError[] {
  const errs = qualifiedNameErrors(f).map((m) => invalidValue(path, f, m));
  if (!f.includes('/') && f !== FINALIZER_KUBERNETES)
    errs.push(invalidValue(path, f, 'name is neither a standard finalizer name nor is it fully qualified'));
  return errs;
}

export const namespaceKind: KindInfo<Namespace> & { nameValidator: typeof nameIsDNSLabel } = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  resource: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  nameValidator: nameIsDNSLabel,
  subresources: {
    status: true,
    extra: [{ name: 'finalize', kind: 'Namespace', verbs: ['update'] }],
  },
  strategy: {
    defaults(ns) {
      setNameLabel(ns);
      const status = isObj(ns.status) ? ns.status : {};
      if (!status.phase) status.phase = 'Active';
      Object.assign(ns, { status });
    },
    prepareForCreate(ns) {
      Object.assign(ns, { status: { phase: 'Active' } });
      const spec = isObj(ns.spec) ? ns.spec : {};
      const finalizers = Array.isArray(spec.finalizers) ? spec.finalizers : [];
      if (!finalizers.includes(FINALIZER_KUBERNETES)) spec.finalizers = [...finalizers, FINALIZER_KUBERNETES];
      ns.spec = spec;
      setNameLabel(ns);
    },
    prepareForUpdate(ns, old) {
      const finalizers = isObj(old.spec) && Array.isArray(old.spec.finalizers) ? (old.spec.finalizers as string[]) : undefined;
      if (finalizers === undefined) {
        if (isObj(ns.spec)) delete ns.spec.finalizers;
      } else ns.spec = { ...(isObj(ns.spec) ? ns.spec : {}), finalizers: [...finalizers] };
      setNameLabel(ns);
    },
    prepareForStatusUpdate(ns) {
      setNameLabel(ns);
    },
    beginDelete(ns) {
      Object.assign(ns, { status: { ...(isObj(ns.status) ? ns.status : {}), phase: 'Terminating' } });
    },
    // The namespace controller empties spec.finalizers (through /finalize) once the contents are gone.
    deletionBlocked: (ns) => isObj(ns.spec) && Array.isArray(ns.spec.finalizers) && ns.spec.finalizers.length > 0,
    validate(ns) {
      const errs: FieldError[] = [];
      list(isObj(ns.spec) ? ns.spec.finalizers : undefined, 'spec.finalizers', errs).forEach((f, i) =>
        errs.push(...finalizerErrors(str(f, `spec.finalizers[${i}]`, errs), 'spec.finalizers')),
      );
      return errs;
    },
    selectableFields: (ns) => ({ 'status.phase': digStr(ns.status, 'phase'), name: ns.metadata?.name ?? '' }),
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Status', type: 'string', description: 'The status of the namespace', priority: 0 },
        { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
      ],
      row: (ns, now) => [ns.metadata?.name ?? '', digStr(ns.status, 'phase'), formatAge(ns.metadata?.creationTimestamp, now)],
    },
  },
};
