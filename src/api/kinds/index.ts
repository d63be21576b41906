// Every built-in kind the API serves. Adding a kind: write its strategy file, list it in its group's index.
import { Scheme } from '../scheme.js';
import { coreKinds } from './core-index.js';
import { customResourceDefinitionKind } from './crd.js';
import { groupKinds } from './groups-index.js';
import { workloadKinds } from './workloads-index.js';

export function builtinScheme(): Scheme {
  return new Scheme().register(...coreKinds, ...workloadKinds, ...groupKinds, customResourceDefinitionKind);
}
