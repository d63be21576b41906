// Kubernetes `Status` errors: every 4xx/5xx the API server returns is one of these,
// so every client (kubectl, client-go, client-node, python) shows a useful message.
import type { Status, StatusCause, StatusDetails } from 'kubernetes-types/meta/v1.js';

export type { Status, StatusCause, StatusDetails };

/** A field-level validation failure, reported as one `causes[]` entry of an `Invalid` Status. */
export interface FieldError {
  /** dotted field path, e.g. `metadata.name` or `spec.containers[0].image` */
  field: string;
  /** FieldValueRequired | FieldValueInvalid | FieldValueNotSupported | FieldValueDuplicate | FieldValueTooLong | FieldValueForbidden | FieldValueTypeInvalid */
  type: FieldErrorType;
  /** the offending value (rendered into the message as upstream does) */
  value?: unknown;
  /** human detail, e.g. "must be no more than 63 characters" */
  detail?: string;
}

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueForbidden'
  | 'FieldValueTypeInvalid'
  | 'FieldValueNotFound';

export const required = (field: string, detail = ''): FieldError => ({ field, type: 'FieldValueRequired', detail });
export const invalidValue = (field: string, value: unknown, detail: string): FieldError => ({
  field,
  type: 'FieldValueInvalid',
  value,
  detail,
});
export const notSupported = (field: string, value: unknown, supported: readonly string[]): FieldError => ({
  field,
  type: 'FieldValueNotSupported',
  value,
  detail: `supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
});
export const duplicate = (field: string, value: unknown): FieldError => ({ field, type: 'FieldValueDuplicate', value });
export const forbidden = (field: string, detail: string): FieldError => ({ field, type: 'FieldValueForbidden', detail });
export const tooLong = (field: string, value: unknown, max: number): FieldError => ({
  field,
  type: 'FieldValueTooLong',
  value,
  detail: `must have at most ${max} bytes`,
});
export const typeInvalid = (field: string, value: unknown, detail: string): FieldError => ({
  field,
  type: 'FieldValueTypeInvalid',
  value,
  detail,
});

function renderValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

/** The message of one field error, worded as upstream's field.Error.ErrorBody. */
export function fieldErrorBody(e: FieldError): string {
  const detail = e.detail ? `: ${e.detail}` : '';
  switch (e.type) {
    case 'FieldValueRequired':
      return `Required value${detail}`;
    case 'FieldValueForbidden':
      return `Forbidden${detail}`;
    case 'FieldValueTooLong':
      return `Too long${detail}`;
    case 'FieldValueTooMany':
      return `Too many${detail}`;
    case 'FieldValueDuplicate':
      return `Duplicate value: ${renderValue(e.value)}`;
    case 'FieldValueNotSupported':
      return `Unsupported value: ${renderValue(e.value)}${detail}`;
    case 'FieldValueNotFound':
      return `Not found: ${renderValue(e.value)}`;
    case 'FieldValueTypeInvalid':
      return `Invalid value: ${renderValue(e.value)}${detail}`;
    default:
      return `Invalid value: ${renderValue(e.value)}${detail}`;
  }
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

export const isStatusError = (e: unknown): e is StatusError => e instanceof StatusError;

/** A group/resource pair as error messages print it: `deployments.apps`, `pods`. */
export interface GroupResource {
  group: string;
  resource: string;
}
const qualified = (gr: GroupResource) => (gr.group ? `${gr.resource}.${gr.group}` : gr.resource);

export const errNotFound = (gr: GroupResource, name: string) =>
  new StatusError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, {
    name,
    group: gr.group || undefined,
    kind: gr.resource,
  });

export const errAlreadyExists = (gr: GroupResource, name: string) =>
  new StatusError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, {
    name,
    group: gr.group || undefined,
    kind: gr.resource,
  });

export const errConflict = (gr: GroupResource, name: string, why: string) =>
  new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, {
    name,
    group: gr.group || undefined,
    kind: gr.resource,
  });

export const OBJECT_MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

export function errInvalid(group: string, kind: string, name: string, errors: FieldError[]) {
  const causes: StatusCause[] = errors.map((e) => ({
    reason: e.type,
    message: fieldErrorBody(e),
    field: e.field,
  }));
  const agg = errors.map((e) => `${e.field}: ${fieldErrorBody(e)}`);
  const msg = agg.length === 1 ? agg[0] : `[${agg.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${msg}`, {
    name,
    group: group || undefined,
    kind,
    causes,
  });
}

export const errBadRequest = (message: string) => new StatusError(400, 'BadRequest', message);
export const errUnauthorized = (message = 'Unauthorized') => new StatusError(401, 'Unauthorized', message);
export const errForbidden = (message: string, details?: StatusDetails) =>
  new StatusError(403, 'Forbidden', message, details);
export const errMethodNotAllowed = (message = 'the server does not allow this method on the requested resource') =>
  new StatusError(405, 'MethodNotAllowed', message);
export const errNotAcceptable = (message: string) => new StatusError(406, 'NotAcceptable', message);
export const errGone = (message: string) => new StatusError(410, 'Expired', message);
export const errTooLarge = (limit: number) =>
  new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
export const errUnsupportedMediaType = (contentType: string) =>
  new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf${contentType ? ` (got ${contentType})` : ''}`);
export const errTooManyRequests = (message: string, retryAfterSeconds = 1) =>
  new StatusError(429, 'TooManyRequests', message, { retryAfterSeconds });
export const errInternal = (message: string) =>
  new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
export const errTimeout = (message: string) => new StatusError(504, 'Timeout', message);
export const errServiceUnavailable = (message: string) => new StatusError(503, 'ServiceUnavailable', message);
export const errNotFoundPath = () => new StatusError(404, 'NotFound', 'the server could not find the requested resource', {});
