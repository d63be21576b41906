import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { type FieldError, invalidValue, forbidden, tooLong, typeInvalid } from '../errors.js';
import { deepEqual } from '../object.js';
import type { KindInfo } from '../types.js';
import { formatAge } from '../names.js';

const KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_SIZE = 1024 * 1024;

/** Go's StdEncoding (padded, CR/LF ignored); undefined when the text is not valid base64. */
export function decodeBase64(s: string): Buffer | undefined {
  const t = s.replace(/[\r\n]/g, '');
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return undefined;
  return Buffer.from(t, 'base64');
}

/** ConfigMap and Secret data keys: a file name made of alphanumerics, '-', '_' or '.'. */
export function dataKeyErrors(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push('must be no more than 253 characters');
  if (!KEY.test(key))
    errs.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

export const configMapKind: KindInfo<ConfigMap> = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  resource: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  returnDeletedObject: false,
  strategy: {
    validate(cm) {
      const errs: FieldError[] = [];
      let total = 0;
      for (const field of ['data', 'binaryData'] as const) {
        const m = cm[field];
        if (m === undefined || m === null) continue;
        if (typeof m !== 'object' || Array.isArray(m)) {
          errs.push(typeInvalid(field, m, 'must be of type object'));
          continue;
        }
        for (const [k, v] of Object.entries(m)) {
          for (const msg of dataKeyErrors(k)) errs.push(invalidValue(`${field}[${k}]`, k, msg));
          if (typeof v !== 'string') {
            errs.push(typeInvalid(`${field}[${k}]`, v, 'must be of type string'));
            continue;
          }
          if (field === 'data' && cm.binaryData && k in cm.binaryData) errs.push(invalidValue(`data[${k}]`, k, 'duplicate of key present in binaryData'));
          if (field === 'binaryData') {
            const bytes = decodeBase64(v);
            if (!bytes) errs.push(invalidValue(`binaryData[${k}]`, '', 'illegal base64 data'));
            else total += bytes.length;
          } else total += Buffer.byteLength(v, 'utf8');
        }
      }
      if (total > MAX_SIZE) errs.push(tooLong('', '', MAX_SIZE));
      return errs;
    },
    validateUpdate(cm, old) {
      const errs: FieldError[] = [];
      if (old.immutable === true) {
        if (cm.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
        if (!deepEqual(cm.data ?? {}, old.data ?? {})) errs.push(forbidden('data', 'field is immutable when `immutable` is set'));
        if (!deepEqual(cm.binaryData ?? {}, old.binaryData ?? {})) errs.push(forbidden('binaryData', 'field is immutable when `immutable` is set'));
      }
      return errs;
    },
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Data', type: 'integer', description: 'Number of keys in the ConfigMap.', priority: 0 },
        { name: 'Age', type: 'string', description: 'Time since the object was created.', priority: 0 },
      ],
      row: (cm, now) => [
        cm.metadata!.name!,
        Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length,
        formatAge(cm.metadata!.creationTimestamp, now),
      ],
    },
  },
};
