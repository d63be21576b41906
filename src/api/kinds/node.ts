import type { Node } from 'kubernetes-types/core/v1.js';
import { type FieldError, invalidValue, forbidden, duplicate, required, notSupported } from '../errors.js';
import type { KindInfo } from '../types.js';
import { formatAge } from '../names.js';
import { labelValueErrors } from '../validation.js';
import { type Obj, isObj, str, list, obj, dig, digStr, digList, cidrErrors, labelNameErrors, jsonEqual } from './checks.js';
import { quantityErrors, resourceList, canonicalizeResourceList } from './resources.js';

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const ROLE_PREFIX = 'node-role.kubernetes.io/';
const ROLE_LABEL = 'kubernetes.io/role';

/** `validateNodeTaints`; upstream reports them under `metadata.taints`. */
function validateTaints(v: unknown, errs: FieldError[]): void {
  const path = 'metadata.taints';
  const seen = new Set<string>();
  list(v, 'spec.taints', errs).forEach((x, i) => {
    const tp = `${path}[${i}]`;
    const t = obj(x, tp, errs) ?? {};
    const key = str(t.key, `${tp}.key`, errs);
    const value = str(t.value, `${tp}.value`, errs);
    const effect = str(t.effect, `${tp}.effect`, errs);
    errs.push(...labelNameErrors(`${tp}.key`, key));
    const msgs = labelValueErrors(value);
    if (msgs.length) errs.push(invalidValue(`${tp}.value`, value, msgs.join(';')));
    if (!effect) errs.push(required(`${tp}.effect`));
    else if (!TAINT_EFFECTS.includes(effect)) errs.push(notSupported(`${tp}.effect`, effect, TAINT_EFFECTS));
    const k = `${effect}\u0000${key}`;
    if (seen.has(k)) errs.push({ ...duplicate(tp, t), detail: 'taints must be unique by key and effect pair' });
    seen.add(k);
  });
}

function validateNodeResources(n: Node, errs: FieldError[]): void {
  for (const field of ['capacity', 'allocatable']) {
    const rl = resourceList(dig(n.status, field), `status.${field}`, errs);
    for (const [k, q] of Object.entries(rl)) errs.push(...quantityErrors(k, q, `status.${field}.${k}`));
  }
}

function validateNode(n: Node): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj(n.spec, 'spec', errs) ?? {};
  validateTaints(spec.taints, errs);
  validateNodeResources(n, errs);
  const cidrs = list(spec.podCIDRs, 'spec.podCIDRs', errs);
  cidrs.forEach((c, i) => errs.push(...cidrErrors(`spec.podCIDRs[${i}]`, typeof c === 'string' ? c : '')));
  if (cidrs.length > 1) {
    const v6 = cidrs.map((c) => String(c).includes(':'));
    if (cidrs.length > 2 || v6[0] === v6[1]) errs.push(invalidValue('spec.podCIDRs', cidrs, 'may specify no more than one CIDR for each IP family'));
    const seen = new Set<unknown>();
    cidrs.forEach((c, i) => {
      if (seen.has(c)) errs.push(duplicate(`spec.podCIDRs[${i}]`, c));
      seen.add(c);
    });
  }
  return errs;
}

function validateNodeUpdate(n: Node, old: Node): FieldError[] {
  const errs: FieldError[] = [];
  const seen: unknown[] = [];
  digList(n.status, 'addresses').forEach((a, i) => {
    if (seen.some((s) => jsonEqual(s, a))) errs.push(duplicate(`status.addresses[${i}]`, a));
    seen.push(a);
  });
  const oldCIDRs = digList(old.spec, 'podCIDRs');
  const newCIDRs = digList(n.spec, 'podCIDRs');
  if (oldCIDRs.length > 0 && (oldCIDRs.length !== newCIDRs.length || oldCIDRs.some((c, i) => c !== newCIDRs[i])))
    errs.push(forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  const oldProvider = digStr(old.spec, 'providerID');
  if (oldProvider && oldProvider !== digStr(n.spec, 'providerID'))
    errs.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
  if (digStr(n.spec, 'externalID') !== digStr(old.spec, 'externalID')) errs.push(forbidden('spec.externalID', 'may not be updated'));
  return errs;
}

/** Roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role=<role>` labels, sorted. */
export function nodeRoles(n: Node): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata?.labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX)) {
      const role = k.slice(ROLE_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === ROLE_LABEL && v) roles.add(v);
  }
  return [...roles].sort();
}

/** The STATUS cell: Ready / NotReady / Unknown, plus SchedulingDisabled when cordoned. */
export function nodeStatus(n: Node): string {
  const status: string[] = [];
  const ready = [...digList(n.status, 'conditions')].reverse().find((c) => digStr(c, 'type') === 'Ready');
  if (ready) status.push(digStr(ready, 'status') === 'True' ? 'Ready' : 'NotReady');
  else status.push('Unknown');
  if (dig(n.spec, 'unschedulable') === true) status.push('SchedulingDisabled');
  return status.join(',');
}

const address = (n: Node, type: string) => digStr(digList(n.status, 'addresses').find((a) => digStr(a, 'type') === type), 'address') || '<none>';
const info = (n: Node, k: string) => digStr(n.status, 'nodeInfo', k);

/** Upstream node defaults plus the v1 podCIDR/podCIDRs conversion; also run on /status writes. */
function defaultNode(n: Node): void {
  // podCIDR mirrors podCIDRs[0]; a disagreeing podCIDR wins, as in upstream's conversion.
  const spec = n.spec as Obj | undefined;
  if (isObj(spec)) {
    const one = typeof spec.podCIDR === 'string' ? spec.podCIDR : '';
    const many = Array.isArray(spec.podCIDRs) ? spec.podCIDRs : [];
    if (one && (many.length === 0 || many[0] !== one)) spec.podCIDRs = [one];
    else if (!one && typeof many[0] === 'string' && many[0]) spec.podCIDR = many[0];
  }
  const status = n.status as Obj | undefined;
  if (isObj(status) && (status.allocatable === undefined || status.allocatable === null) && isObj(status.capacity))
    status.allocatable = { ...status.capacity };
  if (isObj(status)) {
    canonicalizeResourceList(status.capacity);
    canonicalizeResourceList(status.allocatable);
  }
}

export const nodeKind: KindInfo<Node> = {
  group: '',
  version: 'v1',
  kind: 'Node',
  resource: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  subresources: {
    status: true,
    extra: [{ name: 'proxy', kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
  },
  strategy: {
    defaults: defaultNode,
    prepareForStatusUpdate: defaultNode,
    validate: validateNode,
    validateUpdate: validateNodeUpdate,
    selectableFields: (n) => ({ 'spec.unschedulable': String(dig(n.spec, 'unschedulable') === true) }),
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Status', type: 'string', description: 'The status of the node', priority: 0 },
        { name: 'Roles', type: 'string', description: 'The roles of the node', priority: 0 },
        { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
        { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', priority: 0 },
        { name: 'Internal-IP', type: 'string', description: 'List of addresses reachable to the node.', priority: 1 },
        { name: 'External-IP', type: 'string', description: 'List of addresses reachable to the node.', priority: 1 },
        { name: 'OS-Image', type: 'string', description: 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', priority: 1 },
        { name: 'Kernel-Version', type: 'string', description: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", priority: 1 },
        { name: 'Container-Runtime', type: 'string', description: 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', priority: 1 },
      ],
      row: (n, now) => [
        n.metadata?.name ?? '',
        nodeStatus(n),
        nodeRoles(n).join(',') || '<none>',
        formatAge(n.metadata?.creationTimestamp, now),
        info(n, 'kubeletVersion'),
        address(n, 'InternalIP'),
        address(n, 'ExternalIP'),
        info(n, 'osImage') || '<unknown>',
        info(n, 'kernelVersion') || '<unknown>',
        info(n, 'containerRuntimeVersion') || '<unknown>',
      ],
    },
  },
};
