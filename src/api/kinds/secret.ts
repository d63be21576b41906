import type { Secret } from 'kubernetes-types/core/v1.js';
import { type FieldError, required, invalidValue, forbidden, tooLong, typeInvalid } from '../errors.js';
import type { KindInfo } from '../types.js';
import { formatAge } from '../names.js';
import { dataKeyErrors, decodeBase64 } from './configmap.js';
import { isObj, jsonEqual, FIELD_IMMUTABLE } from './checks.js';

export const MAX_SECRET_SIZE = 1024 * 1024;
const SERVICE_ACCOUNT_NAME_KEY = 'kubernetes.io/service-account.name';

/** The first byte where Go's decoder gives up, for its "illegal base64 data at input byte N" message. */
function illegalByte(s: string): number {
  const t = s.replace(/[\r\n]/g, '');
  const bad = t.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return bad;
  const pad = t.indexOf('=');
  if (pad >= 0 && pad < t.length - 2) return pad;
  return Math.floor(t.length / 4) * 4;
}

export const secretKind: KindInfo<Secret> = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  resource: 'secrets',
  singular: 'secret',
  namespaced: true,
  strategy: {
    defaults(secret) {
      if (!secret.type) secret.type = 'Opaque';
      // stringData is write-only: merged into data (base64) and never stored, as upstream's conversion does.
      const sd = (secret as { stringData?: unknown }).stringData;
      if (sd === undefined) return;
      if (isObj(sd)) {
        const data: Record<string, string> = isObj(secret.data) ? (secret.data as Record<string, string>) : {};
        for (const [k, v] of Object.entries(sd)) if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
        secret.data = data;
        delete (secret as { stringData?: unknown }).stringData;
      }
    },
    validate(secret) {
      const errs: FieldError[] = [];
      const raw = secret as Record<string, unknown>;
      if (raw.stringData !== undefined && !isObj(raw.stringData)) errs.push(typeInvalid('stringData', raw.stringData, 'must be of type object'));
      if (isObj(raw.stringData))
        for (const [k, v] of Object.entries(raw.stringData)) if (typeof v !== 'string') errs.push(typeInvalid(`stringData[${k}]`, v, 'must be of type string'));
      if (raw.type !== undefined && typeof raw.type !== 'string') errs.push(typeInvalid('type', raw.type, 'must be of type string'));
      const data: Record<string, Buffer> = {};
      let total = 0;
      if (raw.data !== undefined && raw.data !== null && !isObj(raw.data)) errs.push(typeInvalid('data', raw.data, 'must be of type object'));
      for (const [key, value] of Object.entries(isObj(raw.data) ? raw.data : {})) {
        for (const m of dataKeyErrors(key)) errs.push(invalidValue(`data[${key}]`, key, m));
        if (typeof value !== 'string') {
          errs.push(typeInvalid(`data[${key}]`, value, 'must be of type string'));
          continue;
        }
        const bytes = decodeBase64(value);
        if (!bytes) {
          errs.push(invalidValue(`data[${key}]`, '<secret contents redacted>', `illegal base64 data at input byte ${illegalByte(value)}`));
          continue;
        }
        data[key] = bytes;
        total += bytes.length;
      }
      if (total > MAX_SECRET_SIZE) errs.push(tooLong('data', '', MAX_SECRET_SIZE));
      const jsonKey = (key: string) => {
        if (!(key in data)) return void errs.push(required(`data[${key}]`));
        try {
          const v: unknown = JSON.parse(data[key].toString('utf8'));
          if (!isObj(v)) throw new Error('json: cannot unmarshal into Go value of type map[string]interface {}');
        } catch (e) {
          errs.push(invalidValue(`data[${key}]`, '<secret contents redacted>', e instanceof Error ? e.message : String(e)));
        }
      };
      switch (secret.type) {
        case 'kubernetes.io/service-account-token':
          if (!secret.metadata?.annotations?.[SERVICE_ACCOUNT_NAME_KEY]) errs.push(required(`metadata.annotations[${SERVICE_ACCOUNT_NAME_KEY}]`));
          break;
        case 'kubernetes.io/dockercfg':
          jsonKey('.dockercfg');
          break;
        case 'kubernetes.io/dockerconfigjson':
          jsonKey('.dockerconfigjson');
          break;
        case 'kubernetes.io/basic-auth':
          if (!('username' in data) && !('password' in data)) errs.push(required('data[username]'), required('data[password]'));
          break;
        case 'kubernetes.io/ssh-auth':
          if (!data['ssh-privatekey']?.length) errs.push(required('data[ssh-privatekey]'));
          break;
        case 'kubernetes.io/tls':
          if (!('tls.crt' in data)) errs.push(required('data[tls.crt]'));
          if (!('tls.key' in data)) errs.push(required('data[tls.key]'));
          break;
      }
      return errs;
    },
    validateUpdate(secret, old) {
      const errs: FieldError[] = [];
      if ((secret.type ?? '') !== (old.type ?? '')) errs.push(invalidValue('type', secret.type ?? '', FIELD_IMMUTABLE));
      if (old.immutable === true) {
        if (secret.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
        if (!jsonEqual(secret.data ?? {}, old.data ?? {})) errs.push(forbidden('data', 'field is immutable when `immutable` is set'));
      }
      return errs;
    },
    selectableFields: (secret) => ({ type: typeof secret.type === 'string' ? secret.type : '' }),
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Type', type: 'string', description: 'Used to facilitate programmatic handling of secret data.', priority: 0 },
        { name: 'Data', type: 'string', description: 'Data contains the secret data.', priority: 0 },
        { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
      ],
      row: (secret, now) => [
        secret.metadata?.name ?? '',
        typeof secret.type === 'string' ? secret.type : '',
        isObj(secret.data) ? Object.keys(secret.data).length : 0,
        formatAge(secret.metadata?.creationTimestamp, now),
      ],
    },
  },
};
