// /status and pods/binding writes are validated by the kind's narrow hooks: a bad status is still
// refused, while the spec (kept as stored) is not validated again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { rawRequest } from '../helpers/raw.js';
import { podKind } from '../../src/api/kinds/pod.js';
import { deploymentKind } from '../../src/api/kinds/deployment.js';
import type { FieldError } from '../../src/api/errors.js';
import type { KubeObject, Strategy } from '../../src/api/types.js';

const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

function pod(status: Pod['status'], spec: Partial<NonNullable<Pod['spec']>> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Never', nodeName: 'n1', ...spec },
    status,
  };
}

describe('pod validateStatusUpdate', () => {
  const check = (next: Pod, old: Pod) => fields(podKind.strategy.validateStatusUpdate!(next, old));

  it('accepts an ordinary kubelet status', () => {
    const old = pod({ phase: 'Pending' });
    const next = pod({
      phase: 'Running',
      podIP: '10.0.0.2',
      podIPs: [{ ip: '10.0.0.2' }, { ip: 'fd00::2' }],
      hostIPs: [{ ip: '192.168.1.1' }],
      conditions: [{ type: 'Ready', status: 'True' }, { type: 'example.com/gate', status: 'True' }],
      containerStatuses: [{ name: 'c', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }],
    });
    assert.deepEqual(check(next, old), []);
  });

  it('refuses bad addresses, two IPs of one family and duplicates', () => {
    const old = pod({});
    assert.deepEqual(check(pod({ podIPs: [{ ip: 'nope' }] }), old), ['status.podIPs[0]:FieldValueInvalid']);
    assert.deepEqual(check(pod({ podIPs: [{ ip: '10.0.0.1' }, { ip: '10.0.0.1' }] }), old), ['status.podIPs:FieldValueInvalid', 'status.podIPs[1]:FieldValueDuplicate']);
    assert.deepEqual(check(pod({ hostIPs: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] }), old), ['status.hostIPs:FieldValueInvalid']);
  });

  it('refuses a bad nominatedNodeName and condition type', () => {
    const old = pod({});
    assert.deepEqual(check(pod({ nominatedNodeName: 'Bad_Node' }), old), ['status.nominatedNodeName:FieldValueInvalid']);
    assert.deepEqual(check(pod({ conditions: [{ type: 'a/b/c', status: 'True' }] }), old), ['status.conditions[0].Type:FieldValueInvalid']);
  });

  it('keeps terminated containers terminated unless the restart policy allows', () => {
    const term = { name: 'c', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1 } } };
    const run = { ...term, state: { running: {} } };
    assert.deepEqual(check(pod({ containerStatuses: [run] }), pod({ containerStatuses: [term] })), ['status.containerStatuses[0].state:FieldValueForbidden']);
    const onFailure = { restartPolicy: 'OnFailure' };
    assert.deepEqual(check(pod({ containerStatuses: [run] }, onFailure), pod({ containerStatuses: [term] }, onFailure)), []);
    const sidecar = { initContainers: [{ name: 'c', image: 'x', restartPolicy: 'Always' }] };
    assert.deepEqual(check(pod({ initContainerStatuses: [run] }, sidecar), pod({ initContainerStatuses: [term] }, sidecar)), []);
  });

  it('refuses a changed nodeName and mirror-pod annotation changes', () => {
    assert.deepEqual(check(pod({}, { nodeName: 'n2' }), pod({})), ['status.nodeName:FieldValueForbidden']);
    const mirrored = pod({});
    mirrored.metadata!.annotations = { 'kubernetes.io/config.mirror': 'x' };
    assert.deepEqual(check(mirrored, pod({})), ['metadata.annotations[kubernetes.io/config.mirror]:FieldValueForbidden']);
  });

  it('does not look at the spec', () => {
    const broken = pod({}, { containers: [{ name: 'NOT A NAME', image: '' }] });
    assert.ok(podKind.strategy.validate!(broken).length > 0);
    assert.deepEqual(check(broken, broken), []);
  });

  it('binding: refuses a gated pod, ignores the rest of the spec', () => {
    const gated = pod({}, { schedulingGates: [{ name: 'g' }] });
    assert.deepEqual(fields(podKind.strategy.validateBinding!(gated, gated)), ['spec.nodeName:FieldValueForbidden']);
    const broken = pod({}, { containers: [{ name: 'NOT A NAME', image: '' }] });
    assert.deepEqual(fields(podKind.strategy.validateBinding!(broken, broken)), []);
  });
});

describe('registry: status and binding writes', () => {
  let cluster: TestCluster;
  const counts = { pod: 0, deployment: 0 };
  const spy = <T extends object>(s: Strategy<T>, key: keyof typeof counts) => {
    const orig = s.validate!;
    s.validate = (o: T) => {
      counts[key]++;
      return orig(o);
    };
    return () => {
      s.validate = orig;
    };
  };
  let restore: (() => void)[] = [];
  before(async () => {
    cluster = await startTestCluster({ controllers: false });
    restore = [spy(podKind.strategy, 'pod'), spy(deploymentKind.strategy as Strategy<KubeObject>, 'deployment')];
  });
  after(async () => {
    for (const r of restore) r();
    await cluster?.close();
  });
  const req = (method: string, path: string, body?: unknown, contentType = 'application/merge-patch+json') =>
    rawRequest(cluster.kubeconfigPath, method, path, { body, headers: { 'Content-Type': contentType } });
  const pods = '/api/v1/namespaces/default/pods';

  it('pods: bad status refused, good status and binding skip spec validation', async () => {
    const created = await req('POST', pods, { metadata: { name: 'sv' }, spec: { containers: [{ name: 'c', image: 'x' }], restartPolicy: 'Never' } }, 'application/json');
    assert.equal(created.status, 201, created.body);
    assert.equal(counts.pod, 1);

    const bad = await req('PATCH', `${pods}/sv/status`, { status: { podIPs: [{ ip: 'not-an-ip' }] } });
    assert.equal(bad.status, 422, bad.body);
    assert.match(bad.body, /status\.podIPs\[0\]/);

    const bound = await req('POST', `${pods}/sv/binding`, { metadata: { name: 'sv' }, target: { kind: 'Node', name: 'n1' } }, 'application/json');
    assert.equal(bound.status, 201, bound.body);
    const good = await req('PATCH', `${pods}/sv/status`, { status: { phase: 'Running', podIPs: [{ ip: '10.1.0.4' }] } });
    assert.equal(good.status, 200, good.body);
    assert.equal((good.json as Pod).status?.podIP, '10.1.0.4');
    assert.equal((good.json as Pod).spec?.nodeName, 'n1');
    assert.equal(counts.pod, 1, 'neither /status nor /binding ran the full pod validation');

    const label = await req('PATCH', `${pods}/sv`, { metadata: { labels: { a: 'b' } } });
    assert.equal(label.status, 200, label.body);
    assert.equal(counts.pod, 2, 'a write of the pod itself is validated in full');
  });

  it('deployments: negative status counters refused without revalidating the template', async () => {
    const path = '/apis/apps/v1/namespaces/default/deployments';
    const d = {
      metadata: { name: 'd' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    };
    assert.equal((await req('POST', path, d, 'application/json')).status, 201);
    const before = counts.deployment;
    const bad = await req('PATCH', `${path}/d/status`, { status: { readyReplicas: -1 } });
    assert.equal(bad.status, 422, bad.body);
    assert.match(bad.body, /status\.readyReplicas/);
    const good = await req('PATCH', `${path}/d/status`, { status: { replicas: 2, readyReplicas: 1 } });
    assert.equal(good.status, 200, good.body);
    assert.equal(counts.deployment, before);
  });
});
