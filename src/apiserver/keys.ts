// Storage keys for API objects: `/<group|core>/<resource>/<namespace>/<name>` or `/<group|core>/<resource>/<name>`.
import type { KindInfo } from '../api/types.js';

const groupSeg = (group: string) => group || 'core';

export const resourcePrefix = (info: Pick<KindInfo, 'group' | 'resource'>) => `/${groupSeg(info.group)}/${info.resource}/`;

export function objectKey(info: Pick<KindInfo, 'group' | 'resource' | 'namespaced'>, namespace: string | undefined, name: string): string {
  return info.namespaced ? `${resourcePrefix(info)}${namespace}/${name}` : `${resourcePrefix(info)}${name}`;
}

/** The prefix to list: every namespace when `namespace` is empty. */
export function listPrefix(info: Pick<KindInfo, 'group' | 'resource' | 'namespaced'>, namespace: string | undefined): string {
  return info.namespaced && namespace ? `${resourcePrefix(info)}${namespace}/` : resourcePrefix(info);
}
