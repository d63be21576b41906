// Storage keys for API objects: `/<group|core>/<resource>/<namespace>/<name>` or `/<group|core>/<resource>/<name>`.
import type { KindInfo } from '../api/types.js';

const groupSeg = (group: string) => group || 'core';

/** Where a kind's objects live: its own group/resource, or the one it shares storage with. */
export const resourcePrefix = (info: Pick<KindInfo, 'group' | 'resource' | 'storage'>) => {
  const at = info.storage ?? info;
  return `/${groupSeg(at.group)}/${at.resource}/`;
};

export function objectKey(info: Pick<KindInfo, 'group' | 'resource' | 'namespaced' | 'storage'>, namespace: string | undefined, name: string): string {
  return info.namespaced ? `${resourcePrefix(info)}${namespace}/${name}` : `${resourcePrefix(info)}${name}`;
}

/** The prefix to list: every namespace when `namespace` is empty. */
export function listPrefix(info: Pick<KindInfo, 'group' | 'resource' | 'namespaced' | 'storage'>, namespace: string | undefined): string {
  return info.namespaced && namespace ? `${resourcePrefix(info)}${namespace}/` : resourcePrefix(info);
}
