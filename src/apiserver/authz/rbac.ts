// The RBAC authorizer: Roles, ClusterRoles and their bindings held in memory, fed by the store's watch
// (no storage read per request), evaluated as upstream's RBACAuthorizer does.
import type { ClusterRole, ClusterRoleBinding, Role, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import { RBAC_GROUP } from '../../api/kinds/rbac.js';
import type { Store, StoreEvent } from '../../storage/store.js';
import type { UserInfo } from '../registry.js';
import { nodeIdentity, type NodeAuthorizer } from './node.js';
import { ruleAllows, type Attributes, type Rule } from './rules.js';

export const SYSTEM_MASTERS = 'system:masters';
const PREFIX = `/${RBAC_GROUP}/`;
const SA_PREFIX = 'system:serviceaccount:';

export interface Decision {
  allowed: boolean;
  /** why: the binding that allowed it, or the roles that could not be resolved */
  reason: string;
}

/** The four RBAC kinds as the watch reports them. */
export class RBACCache {
  readonly clusterRoles = new Map<string, ClusterRole>();
  readonly roles = new Map<string, Map<string, Role>>();
  readonly clusterRoleBindings = new Map<string, ClusterRoleBinding>();
  readonly roleBindings = new Map<string, Map<string, RoleBinding>>();
  /** called after a ClusterRole was added, changed or deleted (the aggregation controller listens) */
  onClusterRoleChange?: (name: string) => void;
  private watcher?: { stop(): void };

  constructor(private readonly store: Store) {}

  /** Lists every RBAC object and follows their changes from that revision on. */
  async start(): Promise<void> {
    const listed = await this.store.list(PREFIX);
    for (const v of listed.items) this.apply('ADDED', v.key, v.value);
    this.watcher = this.store.watch(PREFIX, { afterRev: listed.revision, onEvent: (ev: StoreEvent) => this.apply(ev.type, ev.key, ev.value) });
  }

  stop(): void {
    this.watcher?.stop();
  }

  private apply(type: StoreEvent['type'], key: string, value: string): void {
    const [resource, a, b] = key.slice(PREFIX.length).split('/');
    const deleted = type === 'DELETED';
    const obj = deleted ? undefined : JSON.parse(value);
    const inNamespace = <T>(m: Map<string, Map<string, T>>, ns: string, name: string) => {
      let byName = m.get(ns);
      if (deleted) {
        byName?.delete(name);
        if (byName && byName.size === 0) m.delete(ns);
        return;
      }
      if (!byName) m.set(ns, (byName = new Map()));
      byName.set(name, obj as T);
    };
    switch (resource) {
      case 'clusterroles':
        if (deleted) this.clusterRoles.delete(a);
        else this.clusterRoles.set(a, obj as ClusterRole);
        this.onClusterRoleChange?.(a);
        return;
      case 'clusterrolebindings':
        if (deleted) this.clusterRoleBindings.delete(a);
        else this.clusterRoleBindings.set(a, obj as ClusterRoleBinding);
        return;
      case 'roles':
        return inNamespace(this.roles, a, b);
      case 'rolebindings':
        return inNamespace(this.roleBindings, a, b);
    }
  }
}

/** Does `subject` (of a binding in `bindingNamespace`; '' for ClusterRoleBindings) name this user? */
export function subjectApplies(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      if (!user.username.startsWith(SA_PREFIX)) return false;
      const ns = subject.namespace || bindingNamespace;
      return user.username === `${SA_PREFIX}${ns}:${subject.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

/** What visitRules hands out for each rule: where it came from (for reasons; made only when asked for). */
export type RuleVisitor = (source: () => string, rule: Rule) => boolean | void;

export class RBACAuthorizer {
  /** `node`: the Node authorizer, asked first (upstream --authorization-mode=Node,RBAC) */
  constructor(
    readonly cache: RBACCache,
    readonly node?: NodeAuthorizer,
  ) {}

  /** The rules of the role a binding refers to; undefined (with an error text) when it does not exist. */
  roleRules(kind: string, name: string, namespace: string): { rules?: Rule[]; error?: string } {
    if (kind === 'ClusterRole') {
      const r = this.cache.clusterRoles.get(name);
      return r ? { rules: r.rules ?? [] } : { error: `clusterrole.${RBAC_GROUP} ${JSON.stringify(name)} not found` };
    }
    if (kind === 'Role') {
      const r = this.cache.roles.get(namespace)?.get(name);
      return r ? { rules: r.rules ?? [] } : { error: `role.${RBAC_GROUP} ${JSON.stringify(name)} not found` };
    }
    return { error: `unknown role kind ${JSON.stringify(kind)}` };
  }

  /**
   * Visits every rule that applies to `user` in `namespace` ('' = cluster-wide rules only): the rules of
   * ClusterRoleBindings, then of the RoleBindings in the namespace. The visitor returns true to stop.
   * Returns the errors of bindings whose role is missing.
   */
  visitRules(user: UserInfo, namespace: string, visit: RuleVisitor): string[] {
    const errors: string[] = [];
    for (const b of this.cache.clusterRoleBindings.values()) {
      const subject = b.subjects?.find((s) => subjectApplies(s, user, ''));
      if (!subject) continue;
      const { rules, error } = this.roleRules(b.roleRef.kind, b.roleRef.name, '');
      if (error) errors.push(error);
      const source = () => `ClusterRoleBinding ${JSON.stringify(b.metadata?.name)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(subject, '')}`;
      for (const rule of rules ?? []) if (visit(source, rule)) return errors;
    }
    if (!namespace) return errors;
    for (const b of this.cache.roleBindings.get(namespace)?.values() ?? []) {
      const subject = b.subjects?.find((s) => subjectApplies(s, user, namespace));
      if (!subject) continue;
      const { rules, error } = this.roleRules(b.roleRef.kind, b.roleRef.name, namespace);
      if (error) errors.push(error);
      const source = () => `RoleBinding ${JSON.stringify(`${b.metadata?.name}/${namespace}`)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(subject, namespace)}`;
      for (const rule of rules ?? []) if (visit(source, rule)) return errors;
    }
    return errors;
  }

  /** Every rule `user` holds in `namespace` (cluster-wide ones included), and resolution errors. */
  rulesFor(user: UserInfo, namespace: string): { rules: Rule[]; errors: string[] } {
    const rules: Rule[] = [];
    const errors = this.visitRules(user, namespace, (_s, r) => void rules.push(r));
    if (this.node && nodeIdentity(user).isNode) errors.unshift('node authorizer does not support user rule resolution');
    return { rules, errors };
  }

  authorize(a: Attributes): Decision {
    if (a.user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };
    let nodeReason = '';
    if (this.node) {
      const d = this.node.authorize(a);
      if (d.allowed) return d;
      nodeReason = d.reason;
    }
    const d = this.authorizeRBAC(a);
    if (d.allowed || !nodeReason) return d;
    return { allowed: false, reason: d.reason ? `${nodeReason}\n${d.reason}` : nodeReason };
  }

  private authorizeRBAC(a: Attributes): Decision {
    let allowedBy = '';
    const errors = this.visitRules(a.user, a.namespace, (source, rule) => {
      if (!ruleAllows(a, rule)) return false;
      allowedBy = source();
      return true;
    });
    if (allowedBy) return { allowed: true, reason: `RBAC: allowed by ${allowedBy}` };
    return { allowed: false, reason: errors.length ? `RBAC: ${aggregate(errors)}` : '' };
  }
}

/** Upstream's aggregate error text: one error as it is, several in brackets. */
export const aggregate = (errors: readonly string[]) => (errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`);
