import type { ServiceAccount } from 'kubernetes-types/core/v1.js';
import type { KindInfo } from '../types.js';
import { formatAge } from '../names.js';
import { isObj } from './checks.js';

/** Secret references keep only their name (upstream cleanSecretReferences). */
function cleanSecretReferences(sa: ServiceAccount): void {
  if (!Array.isArray(sa.secrets)) return;
  sa.secrets = sa.secrets.map((s) => (isObj(s) && typeof s.name === 'string' ? { name: s.name } : {}));
}

export const serviceAccountKind: KindInfo<ServiceAccount> = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  resource: 'serviceaccounts',
  singular: 'serviceaccount',
  namespaced: true,
  shortNames: ['sa'],
  returnDeletedObject: true,
  subresources: {
    extra: [{ name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] }],
  },
  strategy: {
    prepareForCreate: cleanSecretReferences,
    prepareForUpdate: cleanSecretReferences,
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Secrets', type: 'string', description: 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.', priority: 0 },
        { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
      ],
      row: (sa, now) => [sa.metadata?.name ?? '', Array.isArray(sa.secrets) ? sa.secrets.length : 0, formatAge(sa.metadata?.creationTimestamp, now)],
    },
  },
};
