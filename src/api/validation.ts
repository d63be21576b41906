// Name, label and annotation rules shared by every kind (upstream apimachinery validation).
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { type FieldError, invalidValue, required, forbidden, tooLong } from './errors.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Returns the problems with `value` as a DNS-1123 label (max 63), empty when valid. */
export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(value)) errs.push(DNS1123_LABEL_MSG);
  return errs;
}

/** Returns the problems with `value` as a DNS-1123 subdomain (max 253), empty when valid. */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value)) errs.push(DNS1123_SUBDOMAIN_MSG);
  return errs;
}

/** Returns the problems with `value` as a DNS-1035 label (Service names), empty when valid. */
export function dns1035LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1035_LABEL.test(value)) errs.push(DNS1035_LABEL_MSG);
  return errs;
}

/** A name validator as kinds use them: returns messages, empty when the name is fine. */
export type NameValidator = (name: string, prefix: boolean) => string[];

const maskTrailingDash = (name: string, prefix: boolean) => (prefix && name.endsWith('-') ? name.slice(0, -1) + 'a' : name);

export const nameIsDNSSubdomain: NameValidator = (name, prefix) => dns1123SubdomainErrors(maskTrailingDash(name, prefix));
export const nameIsDNSLabel: NameValidator = (name, prefix) => dns1123LabelErrors(maskTrailingDash(name, prefix));
export const nameIsDNS1035Label: NameValidator = (name, prefix) => dns1035LabelErrors(maskTrailingDash(name, prefix));
/** Path-segment names (RBAC roles and bindings): anything but '.', '..', or containing '/' or '%'. */
export const nameIsPathSegment: NameValidator = (name) => {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  const errs: string[] = [];
  for (const bad of ['/', '%']) if (name.includes(bad)) errs.push(`may not contain '${bad}'`);
  return errs;
};

/** A qualified name (`prefix/name` with a DNS subdomain prefix) as label and annotation keys use. */
export function qualifiedNameErrors(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of dns1123SubdomainErrors(prefix)) errs.push('prefix part ' + m);
  } else {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (!QUALIFIED_NAME_PART.test(name)) errs.push(QUALIFIED_NAME_MSG);
  return errs;
}

export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(value)) errs.push(LABEL_VALUE_MSG);
  return errs;
}

export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (labels === undefined || labels === null) return errs;
  if (typeof labels !== 'object' || Array.isArray(labels)) return [invalidValue(path, labels, 'must be a map of string keys to string values')];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    for (const m of qualifiedNameErrors(k)) errs.push(invalidValue(path, k, m));
    if (typeof v !== 'string') errs.push(invalidValue(`${path}.${k}`, v, 'must be a string'));
    else for (const m of labelValueErrors(v)) errs.push(invalidValue(path, v, m));
  }
  return errs;
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (annotations === undefined || annotations === null) return errs;
  if (typeof annotations !== 'object' || Array.isArray(annotations))
    return [invalidValue(path, annotations, 'must be a map of string keys to string values')];
  let total = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    for (const m of qualifiedNameErrors(k.toLowerCase())) errs.push(invalidValue(path, k, m));
    if (typeof v !== 'string') errs.push(invalidValue(`${path}.${k}`, v, 'must be a string'));
    else total += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(tooLong(path, '', TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

export interface MetaValidationOptions {
  namespaced: boolean;
  nameValidator: NameValidator;
}

/** Validates the metadata of an object being created or updated. */
export function validateObjectMeta(meta: ObjectMeta | undefined, opts: MetaValidationOptions): FieldError[] {
  const errs: FieldError[] = [];
  if (!meta || typeof meta !== 'object') return [required('metadata')];
  const { name, generateName, namespace } = meta;
  if (generateName !== undefined && generateName !== '') {
    if (typeof generateName !== 'string') errs.push(invalidValue('metadata.generateName', generateName, 'must be a string'));
    else for (const m of opts.nameValidator(generateName, true)) errs.push(invalidValue('metadata.generateName', generateName, m));
  }
  if (name === undefined || name === '') {
    errs.push(required('metadata.name', 'name or generateName is required'));
  } else if (typeof name !== 'string') {
    errs.push(invalidValue('metadata.name', name, 'must be a string'));
  } else {
    for (const m of opts.nameValidator(name, false)) errs.push(invalidValue('metadata.name', name, m));
  }
  if (opts.namespaced) {
    if (namespace === undefined || namespace === '') errs.push(required('metadata.namespace'));
    else if (typeof namespace !== 'string') errs.push(invalidValue('metadata.namespace', namespace, 'must be a string'));
    else for (const m of dns1123LabelErrors(namespace)) errs.push(invalidValue('metadata.namespace', namespace, m));
  } else if (namespace) {
    errs.push(forbidden('metadata.namespace', 'not allowed on this type'));
  }
  if (typeof meta.generation === 'number' && meta.generation < 0)
    errs.push(invalidValue('metadata.generation', meta.generation, 'must be greater than or equal to 0'));
  errs.push(...validateLabels(meta.labels, 'metadata.labels'));
  errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  errs.push(...validateOwnerReferences(meta.ownerReferences, 'metadata.ownerReferences'));
  errs.push(...validateFinalizers(meta.finalizers, 'metadata.finalizers'));
  return errs;
}

/** Kinds that may not own other objects (upstream BannedOwners), as `group/version, Kind=kind`. */
const BANNED_OWNERS = new Set(['/v1, Kind=Event']);

/** apiVersion as group and version (`apps/v1`, `v1`); undefined when it has more than one '/'. */
function splitAPIVersion(apiVersion: string): { group: string; version: string } | undefined {
  const parts = apiVersion.split('/');
  if (parts.length === 1) return { group: '', version: parts[0] };
  if (parts.length === 2) return { group: parts[0], version: parts[1] };
  return undefined;
}

/** Upstream ValidateOwnerReferences: per-reference fields are reported at `path.<field>` (no index). */
export function validateOwnerReferences(refs: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (refs === undefined || refs === null) return errs;
  if (!Array.isArray(refs)) return [invalidValue(path, refs, 'must be a list')];
  let firstController = '';
  for (const ref of refs as unknown[]) {
    if (!ref || typeof ref !== 'object' || Array.isArray(ref)) {
      errs.push(invalidValue(path, ref, 'must be an object'));
      continue;
    }
    const r = ref as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    const gv = splitAPIVersion(str(r.apiVersion));
    const kind = str(r.kind);
    if (!gv || gv.version === '') errs.push(invalidValue(`${path}.apiVersion`, r.apiVersion ?? '', 'version must not be empty'));
    if (kind === '') errs.push(invalidValue(`${path}.kind`, r.kind ?? '', 'must not be empty'));
    if (str(r.name) === '') errs.push(invalidValue(`${path}.name`, r.name ?? '', 'must not be empty'));
    if (str(r.uid) === '') errs.push(invalidValue(`${path}.uid`, r.uid ?? '', 'must not be empty'));
    const gvk = gv ? `${gv.group}/${gv.version}, Kind=${kind}` : `/, Kind=${kind}`;
    if (BANNED_OWNERS.has(gvk)) errs.push(invalidValue(path, ref, `${gvk} is disallowed from being an owner`));
    if (r.controller === true) {
      const current = `${kind}/${str(r.name)}`;
      if (firstController)
        errs.push(
          invalidValue(
            path,
            refs,
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${current}`,
          ),
        );
      else firstController = current;
    }
  }
  return errs;
}

const FINALIZER_ORPHAN = 'orphan';
const FINALIZER_FOREGROUND = 'foregroundDeletion';

/** Upstream ValidateFinalizers: qualified names, reported at `path` (no index); not both orphan and foregroundDeletion. */
export function validateFinalizers(finalizers: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (finalizers === undefined || finalizers === null) return errs;
  if (!Array.isArray(finalizers)) return [invalidValue(path, finalizers, 'must be a list of strings')];
  for (const f of finalizers as unknown[]) {
    if (typeof f !== 'string') errs.push(invalidValue(path, f, 'must be a string'));
    else for (const m of qualifiedNameErrors(f)) errs.push(invalidValue(path, f, m));
  }
  if (finalizers.includes(FINALIZER_ORPHAN) && finalizers.includes(FINALIZER_FOREGROUND))
    errs.push(invalidValue(path, finalizers, `finalizer ${FINALIZER_ORPHAN} and ${FINALIZER_FOREGROUND} cannot be both set`));
  return errs;
}
