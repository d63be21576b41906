import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { podKind, podRow } from '../../../src/api/kinds/pod.js';
import type { FieldError } from '../../../src/api/errors.js';

const s = podKind.strategy;
const NOW = Date.parse('2024-05-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();

function pod(spec: unknown, extra: Partial<Pod> = {}): Pod {
  const p = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', creationTimestamp: ago(3600_000) }, spec, ...extra } as Pod;
  s.defaults!(p);
  return p;
}
const created = (spec: unknown) => {
  const p = pod(spec);
  s.prepareForCreate!(p);
  return p;
};
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

describe('pod defaults and create', () => {
  it('applies Pod-only defaults (requests from limits, enableServiceLinks, hostNetwork ports)', () => {
    const p = pod({
      hostNetwork: true,
      containers: [{ name: 'a', image: 'a:1', ports: [{ containerPort: 8080 }], resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } } }],
    });
    const c = p.spec!.containers[0];
    assert.deepEqual(c.resources!.requests, { cpu: '500m', memory: '1Gi' });
    assert.equal(p.spec!.enableServiceLinks, true);
    assert.equal(c.ports![0].hostPort, 8080);
    const again = JSON.parse(JSON.stringify(p)) as Pod;
    s.defaults!(again);
    assert.deepEqual(again, p);
  });

  it('keeps podIP/podIPs and hostIP/hostIPs consistent', () => {
    const p = pod({ containers: [{ name: 'a', image: 'a' }] }, { status: { podIPs: [{ ip: '10.0.0.9' }, { ip: 'fd00::9' }], hostIP: '192.168.0.2' } });
    assert.equal(p.status!.podIP, '10.0.0.9');
    assert.deepEqual(p.status!.hostIPs, [{ ip: '192.168.0.2' }]);
    const old = pod({ containers: [{ name: 'a', image: 'a' }] }, { status: { podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.2' }] } });
    assert.deepEqual(old.status!.podIPs, [{ ip: '10.0.0.1' }]);
  });

  it('sets phase Pending and the QoS class on create, dropping user status', () => {
    const p = pod({ containers: [{ name: 'a', image: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } } }] }, { status: { phase: 'Running' } });
    s.prepareForCreate!(p);
    assert.deepEqual(p.status, { phase: 'Pending', qosClass: 'Guaranteed' });
  });

  it('marks scheduling-gated pods', () => {
    const p = created({ schedulingGates: [{ name: 'example.com/gate' }], containers: [{ name: 'a', image: 'a' }] });
    assert.equal(p.status!.conditions![0].reason, 'SchedulingGated');
    assert.equal(podRow(p, NOW)[2], 'SchedulingGated');
  });

  it('validates the spec with spec.* paths', () => {
    const errs = s.validate!(pod({ containers: [{ name: 'a', image: ' nginx ' }] }));
    assert.ok(fields(errs).includes('spec.containers[0].image:FieldValueInvalid'));
    assert.deepEqual(s.validate!(pod({ containers: [{ name: 'a', image: 'nginx' }] })), []);
  });

  it('reports the pod deletion cost annotation when it is not an int32', () => {
    const p = pod({ containers: [{ name: 'a', image: 'nginx' }] });
    p.metadata!.annotations = { 'controller.kubernetes.io/pod-deletion-cost': 'abc' };
    assert.deepEqual(fields(s.validate!(p)), ['metadata.annotations[controller.kubernetes.io/pod-deletion-cost]:FieldValueInvalid']);
  });
});

describe('pod update validation', () => {
  const base = () => created({ containers: [{ name: 'a', image: 'nginx:1', ports: [{ containerPort: 80 }] }], tolerations: [{ key: 'k', operator: 'Exists' }] });

  it('allows image changes, activeDeadlineSeconds and added tolerations', () => {
    const old = base();
    const next = JSON.parse(JSON.stringify(old)) as Pod;
    next.spec!.containers[0].image = 'nginx:2';
    next.spec!.activeDeadlineSeconds = 30;
    next.spec!.tolerations!.push({ key: 'x', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 });
    assert.deepEqual(s.validateUpdate!(next, old), []);
  });

  it('forbids other spec changes with upstream wording', () => {
    const old = base();
    const next = JSON.parse(JSON.stringify(old)) as Pod;
    next.spec!.containers[0].ports![0].containerPort = 81;
    const errs = s.validateUpdate!(next, old);
    assert.equal(errs.length, 1);
    assert.equal(errs[0].field, 'spec');
    assert.equal(errs[0].type, 'FieldValueForbidden');
    assert.ok(
      errs[0].detail!.startsWith(
        'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n',
      ),
    );
    assert.match(errs[0].detail!, /containerPort/);
  });

  it('forbids adding containers, removing tolerations and raising activeDeadlineSeconds', () => {
    const old = base();
    old.spec!.activeDeadlineSeconds = 10;
    const more = JSON.parse(JSON.stringify(old)) as Pod;
    more.spec!.containers.push({ name: 'b', image: 'b' });
    assert.equal(s.validateUpdate!(more, old)[0].detail, 'pod updates may not add or remove containers');
    const fewer = JSON.parse(JSON.stringify(old)) as Pod;
    fewer.spec!.tolerations = [];
    assert.ok(fields(s.validateUpdate!(fewer, old)).includes('spec.tolerations:FieldValueForbidden'));
    const later = JSON.parse(JSON.stringify(old)) as Pod;
    later.spec!.activeDeadlineSeconds = 20;
    assert.equal(s.validateUpdate!(later, old)[0].detail, 'must be less than or equal to previous value');
  });
});

describe('pod table', () => {
  const running = (statuses: unknown[], extra: Record<string, unknown> = {}) => {
    const p = created({ containers: statuses.map((_, i) => ({ name: `c${i}`, image: 'x' })) });
    Object.assign(p, { status: { phase: 'Running', podIPs: [{ ip: '10.0.0.5' }], containerStatuses: statuses, ...extra } });
    p.spec!.nodeName = 'node-1';
    return p;
  };

  it('prints a ready running pod with wide columns', () => {
    const p = running([{ name: 'c0', ready: true, restartCount: 0, state: { running: {} } }]);
    assert.deepEqual(podRow(p, NOW), ['p', '1/1', 'Running', '0', '60m', '10.0.0.5', 'node-1', '<none>', '<none>']);
    assert.equal(podKind.strategy.table!.columns.length, podRow(p, NOW).length);
  });

  it('prints CrashLoopBackOff with the last restart age', () => {
    const p = running([
      {
        name: 'c0',
        ready: false,
        restartCount: 4,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 1, finishedAt: ago(5 * 60_000) } },
      },
    ]);
    const row = podRow(p, NOW);
    assert.equal(row[1], '0/1');
    assert.equal(row[2], 'CrashLoopBackOff');
    assert.equal(row[3], '4 (5m ago)');
  });

  it('prints init progress and init failures', () => {
    const p = created({ initContainers: [{ name: 'i1', image: 'x' }, { name: 'i2', image: 'x' }], containers: [{ name: 'c', image: 'x' }] });
    Object.assign(p, {
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'i1', state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          { name: 'i2', state: { running: {} } },
        ],
      },
    });
    assert.equal(podRow(p, NOW)[2], 'Init:1/2');
    Object.assign(p, { status: { phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 2, reason: 'Error' } } }] } });
    assert.equal(podRow(p, NOW)[2], 'Init:Error');
    Object.assign(p, { status: { phase: 'Pending', initContainerStatuses: [{ name: 'i1', state: { terminated: { exitCode: 137 } } }] } });
    assert.equal(podRow(p, NOW)[2], 'Init:ExitCode:137');
  });

  it('prints Completed, Terminating and the readiness gates count', () => {
    const done = running([{ name: 'c0', ready: false, state: { terminated: { exitCode: 0, reason: 'Completed' } } }], { phase: 'Succeeded' });
    assert.equal(podRow(done, NOW)[2], 'Completed');
    const deleting = running([{ name: 'c0', ready: true, state: { running: {} } }]);
    Object.assign(deleting.metadata!, { deletionTimestamp: ago(1000) });
    assert.equal(podRow(deleting, NOW)[2], 'Terminating');
    const gated = running([{ name: 'c0', ready: true, state: { running: {} } }], {
      conditions: [{ type: 'example.com/ready', status: 'True' }],
    });
    gated.spec!.readinessGates = [{ conditionType: 'example.com/ready' }, { conditionType: 'example.com/other' }];
    assert.equal(podRow(gated, NOW)[8], '1/2');
  });

  it('never throws on a pod without status or spec', () => {
    const row = podRow({ metadata: { name: 'x' } } as Pod, NOW);
    assert.deepEqual(row, ['x', '0/0', '', '0', '<unknown>', '<none>', '<none>', '<none>', '<none>']);
  });
});

describe('pod deletion', () => {
  it('uses upstream graceful deletion periods', () => {
    const p = created({ containers: [{ name: 'a', image: 'a' }] });
    const grace = s.gracefulDeleteSeconds!;
    assert.equal(grace(p, undefined), 0, 'an unscheduled pod goes at once');
    p.spec!.nodeName = 'n1';
    assert.equal(grace(p, undefined), 30);
    assert.equal(grace(p, 5), 5);
    assert.equal(grace(p, -3), 1);
    Object.assign(p, { status: { phase: 'Succeeded' } });
    assert.equal(grace(p, 10), 0);
  });
});

describe('pod kind info', () => {
  it('matches upstream discovery', () => {
    assert.equal(podKind.resource, 'pods');
    assert.deepEqual(podKind.shortNames, ['po']);
    assert.deepEqual(podKind.categories, ['all']);
    assert.equal(podKind.subresources!.status, true);
    const extra = Object.fromEntries(podKind.subresources!.extra!.map((e) => [e.name, e]));
    assert.deepEqual(Object.keys(extra).sort(), ['attach', 'binding', 'ephemeralcontainers', 'eviction', 'exec', 'log', 'portforward', 'proxy']);
    assert.equal(extra.eviction.group, 'policy');
    assert.equal(extra.exec.kind, 'PodExecOptions');
  });

  it('exposes the upstream selectable fields', () => {
    const p = created({ containers: [{ name: 'a', image: 'a' }] });
    p.spec!.nodeName = 'n1';
    assert.deepEqual(s.selectableFields!(p), {
      'spec.nodeName': 'n1',
      'spec.restartPolicy': 'Always',
      'spec.schedulerName': 'default-scheduler',
      'spec.serviceAccountName': '',
      'spec.hostNetwork': 'false',
      'status.phase': 'Pending',
      'status.podIP': '',
      'status.nominatedNodeName': '',
    });
  });
});
