// The shapes every layer shares: a generic Kubernetes object and how a kind describes itself.
import type { ObjectMeta as K8sObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { FieldError } from './errors.js';
import type { NameValidator } from './validation.js';

/** kubernetes-types marks server-set fields readonly; the server is the one that sets them. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type ObjectMeta = Mutable<K8sObjectMeta>;

/** Any Kubernetes object as it travels as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

/** A KubeObject whose metadata is known to be present (after the API server has admitted it). */
export interface StoredKubeObject extends KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { name: string };
}

/** A column of a `meta.k8s.io/v1 Table`, as `kubectl get` prints it. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  /** 0 = always shown; 1 = only with `-o wide` */
  priority: number;
}

export type TableCell = string | number | boolean | null;

export interface TableConvertor<T extends object = KubeObject> {
  columns: TableColumn[];
  /** cells in the order of `columns`; `now` is for AGE-like columns */
  row(obj: T, now: number): TableCell[];
}

/** What makes a kind special; the generic REST store does everything else. */
export interface Strategy<T extends object = KubeObject> {
  /** Fill defaults in place. Must be idempotent: applied on every write path. */
  defaults?(obj: T): void;
  /** Called once before create (after defaults): e.g. clear status, set phase. */
  prepareForCreate?(obj: T): void;
  /** Called before an update of the main resource: e.g. keep the old status. The generic store already keeps status when the kind has a status subresource. */
  prepareForUpdate?(obj: T, old: T): void;
  /** Called before an update of the status subresource. The generic store already keeps spec. */
  prepareForStatusUpdate?(obj: T, old: T): void;
  /** Validation of the object (metadata is validated generically). Paths are relative to the object root. */
  validate?(obj: T): FieldError[];
  /** Extra checks on update, e.g. immutable fields. */
  validateUpdate?(obj: T, old: T): FieldError[];
  /**
   * Validation of a /status write, used instead of `validate` and `validateUpdate` (the status strategy
   * keeps the stored spec, so it need not be checked again). Without it a status write is validated in full.
   */
  validateStatusUpdate?(obj: T, old: T): FieldError[];
  /** Validation of a pods/binding write, used instead of `validate` (only nodeName, annotations and a condition change). */
  validateBinding?(obj: T, old: T): FieldError[];
  /** Extra `fieldSelector` fields (metadata.name and metadata.namespace are always there). */
  selectableFields?(obj: T): Record<string, string>;
  /** Table columns for `kubectl get`. Without one, NAME and AGE are printed. */
  table?: TableConvertor<T>;
  /** DELETE: seconds before the object really goes (a pod running on a node); 0 or undefined = now. */
  gracefulDeleteSeconds?(obj: T, requested: number | undefined): number | undefined;
  /** DELETE: mark the object as being deleted (e.g. Namespace phase Terminating). */
  beginDelete?(obj: T): void;
  /** true while something beyond metadata.finalizers holds the deletion (Namespace spec.finalizers). */
  deletionBlocked?(obj: T): boolean;
}

export interface SubresourceInfo {
  /** `status` subresource: writes to the main resource keep status, writes to /status keep spec. */
  status?: boolean;
  /** `scale` subresource (autoscaling/v1 Scale) with the paths it maps to. */
  scale?: {
    specReplicasPath: string;
    statusReplicasPath: string;
    labelSelectorPath?: string;
    /** the Scale's status.selector when the selector is not a LabelSelector (ReplicationController's label map) */
    selector?(obj: KubeObject): string;
  };
  /** Other subresources listed in discovery (e.g. `log`, `exec`, `binding`, `eviction`, `finalize`, `token`). */
  extra?: { name: string; kind: string; group?: string; version?: string; verbs: string[] }[];
}

export interface KindInfo<T extends object = KubeObject> {
  group: string; // '' for core
  version: string;
  kind: string;
  /** plural, lower case: the URL segment */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** verbs served; default: create delete deletecollection get list patch update watch */
  verbs?: string[];
  subresources?: SubresourceInfo;
  /** `metadata.generation` is kept and bumped on spec changes */
  generation?: boolean;
  /** PUT to a missing object creates it (Endpoints, Lease, …) */
  allowCreateOnUpdate?: boolean;
  /** DELETE answers with the deleted object instead of a success Status */
  returnDeletedObject?: boolean;
  /** kept in another kind's storage, converted on the way in and out (events.k8s.io Event → core Event) */
  storage?: { group: string; resource: string; toStorage(obj: KubeObject): KubeObject; fromStorage(obj: KubeObject): KubeObject };
  /** how names are checked (default: DNS-1123 subdomain) */
  nameValidator?: NameValidator;
  strategy: Strategy<T>;
}

export const apiVersionOf = (k: { group: string; version: string }) => (k.group ? `${k.group}/${k.version}` : k.version);
