// NamespaceLifecycle: nothing is created in a namespace that does not exist or is being deleted,
// and the namespaces the system needs cannot be deleted.
import { errForbidden, errNotFound, StatusError } from '../../api/errors.js';
import type { KindInfo, KubeObject } from '../../api/types.js';
import type { AdmissionPlugin, Registry } from '../registry.js';

export const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

/** Kinds that may be written in a terminating namespace (what its cleanup itself writes). */
const ALLOWED_WHILE_TERMINATING = new Set(['events', 'leases', 'subjectaccessreviews', 'localsubjectaccessreviews', 'tokenreviews']);

export function namespaceLifecycle(namespaceKind: () => KindInfo | undefined): AdmissionPlugin {
  return {
    name: 'NamespaceLifecycle',
    async admit(op, info, obj: KubeObject, _old, reg: Registry) {
      if (info.resource === 'namespaces' && info.group === '') {
        if (op === 'delete' && IMMORTAL_NAMESPACES.has(obj.metadata?.name ?? ''))
          throw errForbidden(`namespaces "${obj.metadata?.name}" is forbidden: this namespace may not be deleted`, {
            name: obj.metadata?.name,
            kind: 'namespaces',
          });
        return;
      }
      if (!info.namespaced || op !== 'create') return;
      const nsName = obj.metadata?.namespace;
      if (!nsName) return;
      const nsKind = namespaceKind();
      if (!nsKind) return;
      const ns = await reg.getItem(nsKind, undefined, nsName);
      if (!ns) throw errNotFound({ group: '', resource: 'namespaces' }, nsName);
      const phase = (ns.obj.status as { phase?: string } | undefined)?.phase;
      if ((ns.obj.metadata.deletionTimestamp || phase === 'Terminating') && !ALLOWED_WHILE_TERMINATING.has(info.resource))
        throw new StatusError(
          403,
          'Forbidden',
          `${info.resource}${info.group ? '.' + info.group : ''} "${obj.metadata?.name ?? ''}" is forbidden: unable to create new content in namespace ${nsName} because it is being terminated`,
          { name: obj.metadata?.name, group: info.group || undefined, kind: info.resource, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${nsName} is being terminated`, field: 'metadata.namespace' }] },
        );
    },
  };
}
