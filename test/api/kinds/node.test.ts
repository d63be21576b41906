import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Node } from 'kubernetes-types/core/v1.js';
import { nodeKind } from '../../../src/api/kinds/node.js';
import type { FieldError } from '../../../src/api/errors.js';

const s = nodeKind.strategy;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
const NOW = Date.parse('2024-05-11T00:00:00Z');

function node(extra: Partial<Node> = {}): Node {
  return {
    metadata: { name: 'n1', creationTimestamp: '2024-05-01T00:00:00Z', labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/role': 'edge' } },
    spec: {},
    status: {
      conditions: [{ type: 'Ready', status: 'True' } as never],
      addresses: [
        { type: 'Hostname', address: 'n1' },
        { type: 'InternalIP', address: '192.168.1.10' },
      ],
      nodeInfo: { kubeletVersion: 'v1.30.2', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.7' } as never,
      capacity: { cpu: '4', memory: '8Gi', pods: '110' },
    },
    ...extra,
  } as Node;
}

describe('node', () => {
  it('is cluster-scoped with status and proxy subresources', () => {
    assert.equal(nodeKind.namespaced, false);
    assert.deepEqual(nodeKind.shortNames, ['no']);
    assert.deepEqual(nodeKind.subresources!.extra!.map((e) => `${e.name}:${e.kind}`), ['proxy:NodeProxyOptions']);
  });

  it('defaults allocatable to capacity and mirrors podCIDR', () => {
    const n = node({ spec: { podCIDRs: ['10.244.0.0/24', 'fd00::/64'] } });
    s.defaults!(n);
    assert.equal(n.spec!.podCIDR, '10.244.0.0/24');
    assert.deepEqual(n.status!.allocatable, { cpu: '4', memory: '8Gi', pods: '110' });
  });

  it('prints STATUS, ROLES, AGE, VERSION and wide columns', () => {
    assert.deepEqual(s.table!.row(node(), NOW), [
      'n1', 'Ready', 'control-plane,edge', '10d', 'v1.30.2', '192.168.1.10', '<none>', 'Debian GNU/Linux 12', '6.1.0', 'containerd://1.7',
    ]);
    const cordoned = node({ spec: { unschedulable: true } });
    cordoned.status!.conditions = [{ type: 'Ready', status: 'False' } as never];
    assert.equal(s.table!.row(cordoned, NOW)[1], 'NotReady,SchedulingDisabled');
    const bare = { metadata: { name: 'x' } } as Node;
    assert.deepEqual(s.table!.row(bare, NOW), ['x', 'Unknown', '<none>', '<unknown>', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
    assert.deepEqual(s.selectableFields!(cordoned), { 'spec.unschedulable': 'true' });
  });

  it('validates taints, podCIDRs and capacity quantities', () => {
    const n = node({ spec: { taints: [{ key: 'k', effect: 'Bogus' } as never, { key: 'a', effect: 'NoSchedule' }, { key: 'a', effect: 'NoSchedule' }], podCIDRs: ['10.0.0.0/33'] } });
    n.status!.capacity = { cpu: '-1' };
    const errs = fields(s.validate!(n));
    assert.ok(errs.includes('metadata.taints[0].effect:FieldValueNotSupported'));
    assert.ok(errs.includes('metadata.taints[2]:FieldValueDuplicate'));
    assert.ok(errs.includes('spec.podCIDRs[0]:FieldValueInvalid'));
    assert.ok(errs.includes('status.capacity.cpu:FieldValueInvalid'));
  });

  it('forbids changing podCIDRs and providerID once set', () => {
    const old = node({ spec: { podCIDRs: ['10.244.0.0/24'], providerID: 'p1' } });
    const next = node({ spec: { podCIDRs: ['10.244.1.0/24'], providerID: 'p2' } });
    assert.deepEqual(fields(s.validateUpdate!(next, old)), ['spec.podCIDRs:FieldValueForbidden', 'spec.providerID:FieldValueForbidden']);
    assert.deepEqual(s.validateUpdate!(node({ spec: { podCIDRs: ['10.244.0.0/24'] } }), node()), []);
  });
});
