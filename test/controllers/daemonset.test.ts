import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ControllerRevision, DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { RESOURCES } from '../../src/client/shared.js';
import { daemonSetController, isPodUpdated, scaledValue } from '../../src/controllers/daemonset/controller.js';
import { daemonPodTolerations, nodeShouldRunDaemonPod, targetNodeName } from '../../src/controllers/daemonset/predicates.js';
import { eventsAbout, startWorkloadHarness, waitFor, type WorkloadHarness } from '../helpers/fake-kubelet.js';

const NS = 'default';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function dsManifest(name: string, extra: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'agent:1' }], ...podSpec } },
      ...extra,
    },
  });
}

const node = (name: string, extra: Partial<Node> = {}): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, ...extra });

describe('daemonset predicates', () => {
  const ds = (spec: Record<string, unknown> = {}) => JSON.parse(dsManifest('x', {}, spec)) as DaemonSet;
  it('adds the daemon tolerations (network-unavailable only with hostNetwork)', () => {
    const keys = daemonPodTolerations({ containers: [] }).map((t) => `${t.key}:${t.effect}`);
    assert.deepEqual(keys, [
      'node.kubernetes.io/not-ready:NoExecute',
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/memory-pressure:NoSchedule',
      'node.kubernetes.io/pid-pressure:NoSchedule',
      'node.kubernetes.io/unschedulable:NoSchedule',
    ]);
    assert.ok(daemonPodTolerations({ containers: [], hostNetwork: true }).some((t) => t.key === 'node.kubernetes.io/network-unavailable'));
  });
  it('decides by node selector, affinity and taints', () => {
    const plain = node('a');
    assert.deepEqual(nodeShouldRunDaemonPod(plain, ds()), { shouldRun: true, shouldContinueRunning: true });
    assert.equal(nodeShouldRunDaemonPod(plain, ds({ nodeSelector: { disk: 'ssd' } })).shouldRun, false);
    const tainted = node('b', { spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } });
    assert.deepEqual(nodeShouldRunDaemonPod(tainted, ds()), { shouldRun: false, shouldContinueRunning: true });
    const evicting = node('c', { spec: { taints: [{ key: 'dedicated', effect: 'NoExecute' }] } });
    assert.deepEqual(nodeShouldRunDaemonPod(evicting, ds()), { shouldRun: false, shouldContinueRunning: false });
    assert.equal(nodeShouldRunDaemonPod(tainted, ds({ tolerations: [{ key: 'dedicated', operator: 'Exists' }] })).shouldRun, true);
    const cordoned = node('d', { spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } });
    assert.equal(nodeShouldRunDaemonPod(cordoned, ds()).shouldRun, true);
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] }] } } };
    assert.equal(nodeShouldRunDaemonPod(plain, ds({ affinity })).shouldRun, false);
  });
  it('reads the target node and the updated state of a pod; scales percentages up', () => {
    const pod: Pod = {
      metadata: { labels: { 'controller-revision-hash': 'abc', 'pod-template-generation': '2' } },
      spec: { containers: [], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }] } } } },
    };
    assert.equal(targetNodeName(pod), 'n1');
    assert.ok(isPodUpdated(pod, 'abc', 5));
    assert.ok(isPodUpdated(pod, 'zzz', 2));
    assert.ok(!isPodUpdated(pod, 'zzz', 3));
    assert.equal(scaledValue('10%', 15, 0), 2);
    assert.equal(scaledValue(3, 15, 0), 3);
  });
});

describe('daemonset controller (through the API and kubectl)', () => {
  let h: WorkloadHarness;

  before(async () => {
    h = await startWorkloadHarness([daemonSetController], { kubelet: { readyAfterMs: 30 } });
    const nodes = h.rest.resource<Node>(RESOURCES.nodes);
    await nodes.create(node('n1', { metadata: { name: 'n1', labels: { role: 'worker' } } }));
    await nodes.create(node('n2', { metadata: { name: 'n2', labels: { role: 'worker' } }, spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } }));
    await nodes.create(node('tainted', { metadata: { name: 'tainted', labels: { role: 'worker' } }, spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } }));
  });
  after(async () => {
    await h?.close();
  });

  const pods = () => h.rest.resource<Pod>(RESOURCES.pods, NS);
  const nodes = () => h.rest.resource<Node>(RESOURCES.nodes);
  const daemonSets = () => h.rest.resource<DaemonSet>(RESOURCES.daemonsets, NS);
  const livePods = async (app: string) => (await pods().list({ labelSelector: `app=${app}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const podNodes = async (app: string) => (await livePods(app)).map((p) => targetNodeName(p)!).sort();
  const dsWhere = (name: string, want: (d: DaemonSet) => boolean) =>
    waitFor(`daemonset ${name}`, async () => {
      const d = await daemonSets().get(name);
      return want(d) ? d : undefined;
    });

  it('runs one pod per fitting node, pinned by node affinity, none on a node whose taint it does not tolerate', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: dsManifest('agent', {}, { nodeSelector: { role: 'worker' } }) });
    const ds = await dsWhere('agent', (d) => d.status?.numberReady === 2 && d.status?.numberAvailable === 2);
    assert.equal(ds.status?.desiredNumberScheduled, 2);
    assert.equal(ds.status?.currentNumberScheduled, 2);
    assert.equal(ds.status?.updatedNumberScheduled, 2);
    assert.equal(ds.status?.numberMisscheduled, 0);
    assert.equal(ds.status?.observedGeneration, ds.metadata?.generation);
    assert.deepEqual(await podNodes('agent'), ['n1', 'n2']);
    const pod = (await livePods('agent')).find((p) => targetNodeName(p) === 'n2')!;
    assert.deepEqual(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, {
      nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }],
    });
    assert.ok(pod.spec?.tolerations?.some((t) => t.key === 'node.kubernetes.io/unschedulable' && t.operator === 'Exists' && t.effect === 'NoSchedule'));
    assert.equal(pod.metadata?.labels?.['pod-template-generation'], '1');
    assert.equal(pod.metadata?.generateName, 'agent-');
    const revs = (await h.rest.resource<ControllerRevision>(RESOURCES.controllerrevisions, NS).list({ labelSelector: 'app=agent' })).items;
    assert.equal(revs.length, 1);
    assert.equal(pod.metadata?.labels?.['controller-revision-hash'], revs[0].metadata?.labels?.['controller-revision-hash']);
    assert.equal(revs[0].metadata?.name, `agent-${revs[0].metadata?.labels?.['controller-revision-hash']}`);
    const created = (await eventsAbout(h.rest, NS, 'agent')).filter((e) => e.reason === 'SuccessfulCreate');
    assert.equal(created.length, 2);
    assert.match(created[0].message ?? '', /^Created pod: agent-/);
    const got = await h.cluster.kubectlOk(['get', 'ds', 'agent', '--no-headers']);
    assert.match(got.stdout, /^agent\s+2\s+2\s+2\s+2\s+2\s+role=worker\s/);
  });

  it('follows nodes: a new node gets a pod, a node that stops matching or goes away loses it', async () => {
    await nodes().create(node('n3', { metadata: { name: 'n3', labels: { role: 'worker' } } }));
    await dsWhere('agent', (d) => d.status?.desiredNumberScheduled === 3 && d.status?.numberReady === 3);
    assert.deepEqual(await podNodes('agent'), ['n1', 'n2', 'n3']);
    await nodes().patch('n3', 'merge', { metadata: { labels: { role: 'other' } } });
    await dsWhere('agent', (d) => d.status?.desiredNumberScheduled === 2 && d.status?.currentNumberScheduled === 2 && d.status?.numberMisscheduled === 0);
    await waitFor('pod on n3 deleted', async () => (!(await podNodes('agent')).includes('n3') ? true : undefined));
    await nodes().patch('n3', 'merge', { metadata: { labels: { role: 'worker' } } });
    await waitFor('pod back on n3', async () => ((await podNodes('agent')).includes('n3') ? true : undefined));
    await nodes().delete('n3');
    await waitFor('pod of the deleted node deleted', async () => ((await podNodes('agent')).join() === 'n1,n2' ? true : undefined));
    await dsWhere('agent', (d) => d.status?.desiredNumberScheduled === 2 && d.status?.numberReady === 2);
  });

  it('rolls out a new template one node at a time, and kubectl rollout status/history/undo work', async () => {
    await h.cluster.kubectlOk(['annotate', 'ds/agent', 'kubernetes.io/change-cause=v2']);
    await h.cluster.kubectlOk(['set', 'image', 'ds/agent', 'c=agent:2']);
    const ds = await dsWhere('agent', (d) => d.metadata?.generation === d.status?.observedGeneration && d.status?.updatedNumberScheduled === 2 && d.status?.numberAvailable === 2);
    for (const p of await livePods('agent')) {
      assert.equal(p.spec?.containers[0].image, 'agent:2');
      assert.equal(p.metadata?.labels?.['pod-template-generation'], ds.metadata?.annotations?.['deprecated.daemonset.template.generation']);
    }
    const status = await h.cluster.kubectlOk(['rollout', 'status', 'ds/agent', '--timeout=10s']);
    assert.match(status.stdout, /daemon set "agent" successfully rolled out/);
    const history = await h.cluster.kubectlOk(['rollout', 'history', 'ds/agent']);
    assert.match(history.stdout, /1\s+<none>\n2\s+v2/);
    const undo = await h.cluster.kubectlOk(['rollout', 'undo', 'ds/agent', '--to-revision=1']);
    assert.match(undo.stdout, /rolled back/);
    await dsWhere('agent', (d) => d.metadata?.generation === d.status?.observedGeneration && d.status?.updatedNumberScheduled === 2 && d.status?.numberAvailable === 2);
    await waitFor('pods back on agent:1', async () => {
      const list = await livePods('agent');
      return list.length === 2 && list.every((p) => p.spec?.containers[0].image === 'agent:1') ? true : undefined;
    });
    const revs = (await h.rest.resource<ControllerRevision>(RESOURCES.controllerrevisions, NS).list({ labelSelector: 'app=agent' })).items;
    assert.deepEqual(revs.map((r) => r.revision).sort(), [2, 3], 'the old revision is renumbered');
    const skipped = await h.cluster.kubectlOk(['rollout', 'undo', 'ds/agent', '--to-revision=3']);
    assert.match(skipped.stdout, /skipped rollback \(current template already matches revision 3\)/);
  });

  it('surges with maxSurge: the new pod comes before the old one goes; OnDelete waits for deletions', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], {
      stdin: dsManifest('surge', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } }, { nodeSelector: { role: 'worker' } }),
    });
    await dsWhere('surge', (d) => d.status?.numberAvailable === 2);
    await h.cluster.kubectlOk(['set', 'image', 'ds/surge', 'c=agent:2']);
    let maxPods = 0;
    await waitFor('surge rolled', async () => {
      const list = await livePods('surge');
      maxPods = Math.max(maxPods, list.length);
      return list.length === 2 && list.every((p) => p.spec?.containers[0].image === 'agent:2') ? true : undefined;
    });
    assert.ok(maxPods >= 3, `a surge pod existed beside the old ones (saw ${maxPods})`);

    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: dsManifest('ondel', { updateStrategy: { type: 'OnDelete' } }, { nodeSelector: { role: 'worker' } }) });
    await dsWhere('ondel', (d) => d.status?.numberAvailable === 2);
    await h.cluster.kubectlOk(['set', 'image', 'ds/ondel', 'c=agent:2']);
    await dsWhere('ondel', (d) => d.metadata?.generation === d.status?.observedGeneration);
    await sleep(300);
    const before = await livePods('ondel');
    assert.ok(before.every((p) => p.spec?.containers[0].image === 'agent:1'));
    await pods().delete(before[0].metadata!.name!);
    await waitFor('replacement at the new template', async () => {
      const list = await livePods('ondel');
      return list.length === 2 && list.filter((p) => p.spec?.containers[0].image === 'agent:2').length === 1 ? true : undefined;
    });
  });
});
