import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { RESOURCES } from '../../src/client/shared.js';
import { deploymentController } from '../../src/controllers/deployment/controller.js';
import {
  computeHash,
  equalIgnoreHash,
  findActiveOrLatest,
  maxSurge,
  maxUnavailable,
  replicaSetProportion,
  resolveFenceposts,
  safeEncodeString,
  setNewReplicaSetAnnotations,
} from '../../src/controllers/deployment/util.js';
import { replicaSetController } from '../../src/controllers/replicaset/controller.js';
import { eventsAbout, startWorkloadHarness, waitFor, type WorkloadHarness } from '../helpers/fake-kubelet.js';

const NS = 'default';
const HASH_ALPHABET = /^[bcdfghjklmnpqrstvwxz2456789]+$/;

interface ManifestOptions {
  replicas?: number;
  image?: string;
  strategy?: unknown;
  progressDeadlineSeconds?: number;
  revisionHistoryLimit?: number;
  minReadySeconds?: number;
  annotations?: Record<string, string>;
  paused?: boolean;
}

function deployment(name: string, o: ManifestOptions = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: { app: name } },
      ...(o.strategy ? { strategy: o.strategy } : {}),
      ...(o.progressDeadlineSeconds ? { progressDeadlineSeconds: o.progressDeadlineSeconds } : {}),
      ...(o.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: o.revisionHistoryLimit } : {}),
      ...(o.minReadySeconds ? { minReadySeconds: o.minReadySeconds } : {}),
      ...(o.paused ? { paused: true } : {}),
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: o.image ?? 'nginx:1.25' }] } },
    },
  });
}

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('deployment controller (through the API and kubectl 1.33)', () => {
  let h: WorkloadHarness;

  before(async () => {
    h = await startWorkloadHarness([replicaSetController, deploymentController], {
      // a "never-ready" image is a container that never passes its readiness probe
      kubelet: { readyAfterMs: 120, shouldRun: (p) => !p.spec?.containers.some((c) => c.image?.startsWith('never-ready')) },
    });
  });
  after(async () => {
    await h?.close();
  });

  const deployments = () => h.rest.resource<Deployment>(RESOURCES.deployments, NS);
  const replicaSets = () => h.rest.resource<ReplicaSet>(RESOURCES.replicasets, NS);
  const pods = () => h.rest.resource<Pod>(RESOURCES.pods, NS);
  const rsOf = async (app: string) =>
    (await replicaSets().list({ labelSelector: `app=${app}` })).items.sort((a, b) => Number(a.metadata?.annotations?.['deployment.kubernetes.io/revision']) - Number(b.metadata?.annotations?.['deployment.kubernetes.io/revision']));
  const rolloutStatus = (name: string) => h.cluster.kubectlOk(['rollout', 'status', `deployment/${name}`, '--timeout=30s'], { timeoutMs: 40_000 });
  const condition = (d: Deployment, type: string) => d.status?.conditions?.find((c) => c.type === type);
  const scalingEvents = async (name: string) => (await eventsAbout(h.rest, NS, name)).filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message);

  it('creates <name>-<pod-template-hash> and rolls it out', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('web') });
    const out = await rolloutStatus('web');
    assert.match(out.stdout, /deployment "web" successfully rolled out/);

    const d = await deployments().get('web');
    const [rs] = await rsOf('web');
    const hash = computeHash(d.spec!.template);
    assert.match(hash, HASH_ALPHABET);
    assert.equal(rs.metadata?.name, `web-${hash}`);
    assert.deepEqual(rs.metadata?.labels, { app: 'web', 'pod-template-hash': hash });
    assert.deepEqual(rs.spec?.selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
    assert.equal(rs.spec?.template?.metadata?.labels?.['pod-template-hash'], hash);
    assert.deepEqual(rs.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller, r.blockOwnerDeletion]), [['Deployment', 'web', d.metadata?.uid, true, true]]);
    const a = rs.metadata?.annotations ?? {};
    assert.equal(a['deployment.kubernetes.io/revision'], '1');
    assert.equal(a['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(a['deployment.kubernetes.io/max-replicas'], '4');
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');

    assert.equal(d.status?.observedGeneration, d.metadata?.generation);
    assert.equal(d.status?.replicas, 3);
    assert.equal(d.status?.updatedReplicas, 3);
    assert.equal(d.status?.readyReplicas, 3);
    assert.equal(d.status?.availableReplicas, 3);
    assert.equal(d.status?.unavailableReplicas, undefined);
    const available = condition(d, 'Available');
    assert.deepEqual([available?.status, available?.reason, available?.message], ['True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.']);
    const progressing = condition(d, 'Progressing');
    assert.deepEqual([progressing?.status, progressing?.reason, progressing?.message], ['True', 'NewReplicaSetAvailable', `ReplicaSet "web-${hash}" has successfully progressed.`]);
    assert.deepEqual(await scalingEvents('web'), [`Scaled up replica set web-${hash} from 0 to 3`]);

    // pods carry the hash label and belong to the ReplicaSet
    const ps = (await pods().list({ labelSelector: `app=web,pod-template-hash=${hash}` })).items;
    assert.equal(ps.length, 3);
    assert.ok(ps.every((p) => p.metadata?.ownerReferences?.[0].uid === rs.metadata?.uid));

    const wide = await h.cluster.kubectlOk(['get', 'deploy', 'web', '--no-headers']);
    assert.match(wide.stdout, /^web\s+3\/3\s+3\s+3\s/);
  });

  it('re-applying (even with new deployment annotations) keeps the same ReplicaSet', async () => {
    const before = await rsOf('web');
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('web') });
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('web', { annotations: { team: 'blue' } }) });
    const rs = await waitFor('the annotation copied to the ReplicaSet', async () => {
      const [only] = await rsOf('web');
      return only.metadata?.annotations?.team === 'blue' ? only : undefined;
    });
    assert.equal(rs.metadata?.name, before[0].metadata?.name);
    assert.equal((await rsOf('web')).length, 1);
    await rolloutStatus('web');
  });

  it('rolls out a new template step by step without going below replicas - maxUnavailable ready pods', async () => {
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('roll', { replicas: 4, strategy }) });
    await rolloutStatus('roll');

    // watch the pods: ready and not being deleted, at every event
    const list = await pods().list({ labelSelector: 'app=roll' });
    const state = new Map<string, Pod>(list.items.map((p) => [p.metadata!.name!, p]));
    const readyNow = () => [...state.values()].filter((p) => isReady(p) && !p.metadata?.deletionTimestamp).length;
    let minReady = readyNow();
    assert.equal(minReady, 4);
    const w = await pods().watch({ labelSelector: 'app=roll', resourceVersion: list.metadata.resourceVersion });
    const watching = (async () => {
      for await (const ev of w.events) {
        if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') continue;
        const p = ev.object as Pod;
        if (ev.type === 'DELETED') state.delete(p.metadata!.name!);
        else state.set(p.metadata!.name!, p);
        minReady = Math.min(minReady, readyNow());
      }
    })();
    // and the ReplicaSets' desired sizes, which may never exceed replicas + maxSurge
    let maxTotal = 0;
    const rsState = new Map<string, number>();
    const rsList = await replicaSets().list({ labelSelector: 'app=roll' });
    for (const rs of rsList.items) rsState.set(rs.metadata!.name!, rs.spec?.replicas ?? 0);
    const rw = await replicaSets().watch({ labelSelector: 'app=roll', resourceVersion: rsList.metadata.resourceVersion });
    const watchingRS = (async () => {
      for await (const ev of rw.events) {
        if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') continue;
        const rs = ev.object as ReplicaSet;
        if (ev.type === 'DELETED') rsState.delete(rs.metadata!.name!);
        else rsState.set(rs.metadata!.name!, rs.spec?.replicas ?? 0);
        maxTotal = Math.max(maxTotal, [...rsState.values()].reduce((a, b) => a + b, 0));
      }
    })();
    try {
      await h.cluster.kubectlOk(['set', 'image', 'deployment/roll', 'app=nginx:1.26']);
      const out = await rolloutStatus('roll');
      assert.match(out.stdout, /successfully rolled out/);
    } finally {
      w.close();
      rw.close();
      await watching.catch(() => undefined);
      await watchingRS.catch(() => undefined);
    }
    assert.ok(minReady >= 3, `ready pods went down to ${minReady}`);
    assert.ok(maxTotal <= 5, `ReplicaSets asked for ${maxTotal} pods`);

    const [oldRS, newRS] = await rsOf('roll');
    assert.equal(oldRS.spec?.replicas, 0);
    assert.equal(newRS.spec?.replicas, 4);
    assert.equal(oldRS.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(newRS.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.equal(newRS.spec?.template?.spec?.containers[0].image, 'nginx:1.26');
    const events = await scalingEvents('roll');
    assert.ok(events.includes(`Scaled up replica set ${newRS.metadata?.name} from 0 to 1`), events.join('\n'));
    assert.ok(events.some((e) => e === `Scaled down replica set ${oldRS.metadata?.name} from 4 to 3`), events.join('\n'));
    assert.ok(events.some((e) => /^Scaled down replica set \S+ from \d+ to 0$/.test(e ?? '')));
    const d = await deployments().get('roll');
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.equal(d.status?.updatedReplicas, 4);
    assert.equal(d.status?.replicas, 4);
  });

  it('shows the history, and undo reuses the old ReplicaSet with a new revision', async () => {
    const history = await h.cluster.kubectlOk(['rollout', 'history', 'deployment/roll']);
    assert.match(history.stdout, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const rev1 = await h.cluster.kubectlOk(['rollout', 'history', 'deployment/roll', '--revision=1']);
    assert.match(rev1.stdout, /Image:\s+nginx:1\.25/);

    const [rs1, rs2] = await rsOf('roll');
    const undo = await h.cluster.kubectlOk(['rollout', 'undo', 'deployment/roll']);
    assert.match(undo.stdout, /deployment.apps\/roll rolled back/);
    await rolloutStatus('roll');
    const after = await rsOf('roll');
    assert.deepEqual(after.map((r) => r.metadata?.name).sort(), [rs1.metadata?.name, rs2.metadata?.name].sort(), 'no new ReplicaSet');
    const reused = after.find((r) => r.metadata?.name === rs1.metadata?.name)!;
    assert.equal(reused.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(reused.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(reused.spec?.replicas, 4);
    assert.equal(after.find((r) => r.metadata?.name === rs2.metadata?.name)?.spec?.replicas, 0);
    const d = await deployments().get('roll');
    assert.equal(d.spec?.template?.spec?.containers[0].image, 'nginx:1.25');
    assert.equal(d.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');

    await h.cluster.kubectlOk(['rollout', 'undo', 'deployment/roll', '--to-revision=2']);
    await rolloutStatus('roll');
    const again = await rsOf('roll');
    assert.equal(again.length, 2);
    const back = again.find((r) => r.metadata?.name === rs2.metadata?.name)!;
    assert.equal(back.metadata?.annotations?.['deployment.kubernetes.io/revision'], '4');
    assert.equal(back.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '2');
    assert.equal(back.spec?.replicas, 4);
    const hist = await h.cluster.kubectlOk(['rollout', 'history', 'deployment/roll']);
    assert.match(hist.stdout, /\n3\s+<none>\n4\s+<none>/);
  });

  it('pause holds template changes back; resume rolls them out; restart makes a new ReplicaSet', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('pz', { replicas: 2 }) });
    await rolloutStatus('pz');
    await h.cluster.kubectlOk(['rollout', 'pause', 'deployment/pz']);
    const paused = await waitFor('the paused condition', async () => {
      const d = await deployments().get('pz');
      return condition(d, 'Progressing')?.reason === 'DeploymentPaused' ? d : undefined;
    });
    assert.deepEqual([condition(paused, 'Progressing')?.status, condition(paused, 'Progressing')?.message], ['Unknown', 'Deployment is paused']);
    await h.cluster.kubectlOk(['set', 'image', 'deployment/pz', 'app=nginx:1.26']);
    // still paused: the spec change is observed but no ReplicaSet is created
    await waitFor('the spec change observed', async () => {
      const d = await deployments().get('pz');
      return d.status?.observedGeneration === d.metadata?.generation ? d : undefined;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await rsOf('pz')).length, 1);
    // scaling works while paused
    await h.cluster.kubectlOk(['scale', 'deployment/pz', '--replicas=3']);
    await waitFor('the paused deployment scaled', async () => ((await rsOf('pz'))[0].spec?.replicas === 3 ? true : undefined));
    assert.equal((await rsOf('pz')).length, 1);

    await h.cluster.kubectlOk(['rollout', 'resume', 'deployment/pz']);
    await rolloutStatus('pz');
    const afterResume = await rsOf('pz');
    assert.equal(afterResume.length, 2);
    assert.equal(afterResume[1].spec?.template?.spec?.containers[0].image, 'nginx:1.26');
    assert.equal(afterResume[1].spec?.replicas, 3);

    await h.cluster.kubectlOk(['rollout', 'restart', 'deployment/pz']);
    await waitFor('a third ReplicaSet', async () => ((await rsOf('pz')).length === 3 ? true : undefined));
    await rolloutStatus('pz');
    const latest = (await rsOf('pz'))[2];
    assert.ok(latest.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']);
    assert.equal(latest.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(latest.spec?.replicas, 3);
  });

  it('Recreate scales the old ReplicaSet to zero and waits for its pods before creating new ones', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('rec', { strategy: { type: 'Recreate' } }) });
    await rolloutStatus('rec');
    const [oldRS] = await rsOf('rec');
    const list = await pods().list({ labelSelector: 'app=rec' });
    const live = new Set(list.items.map((p) => p.metadata!.name!));
    let overlap = 0;
    const w = await pods().watch({ labelSelector: 'app=rec', resourceVersion: list.metadata.resourceVersion });
    const watching = (async () => {
      for await (const ev of w.events) {
        if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') continue;
        const p = ev.object as Pod;
        if (ev.type === 'DELETED') live.delete(p.metadata!.name!);
        else if (ev.type === 'ADDED') {
          const oldLeft = [...live].filter((n) => n.startsWith(`${oldRS.metadata!.name}-`)).length;
          overlap = Math.max(overlap, oldLeft);
          live.add(p.metadata!.name!);
        }
      }
    })();
    try {
      await h.cluster.kubectlOk(['set', 'image', 'deployment/rec', 'app=nginx:1.26']);
      await rolloutStatus('rec');
    } finally {
      w.close();
      await watching.catch(() => undefined);
    }
    assert.equal(overlap, 0, 'a new pod appeared while old pods still existed');
    const [, newRS] = await rsOf('rec');
    const events = await scalingEvents('rec');
    assert.deepEqual(events.slice(-2), [`Scaled down replica set ${oldRS.metadata?.name} from 3 to 0`, `Scaled up replica set ${newRS.metadata?.name} from 0 to 3`]);
  });

  it('reports ProgressDeadlineExceeded when the new pods never become ready', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('stuck', { replicas: 2, progressDeadlineSeconds: 2, image: 'never-ready:1' }) });
    const res = await h.cluster.kubectl(['rollout', 'status', 'deployment/stuck', '--timeout=20s'], { timeoutMs: 30_000 });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /deployment "stuck" exceeded its progress deadline/);
    const d = await deployments().get('stuck');
    const [rs] = await rsOf('stuck');
    const p = condition(d, 'Progressing');
    assert.deepEqual([p?.status, p?.reason, p?.message], ['False', 'ProgressDeadlineExceeded', `ReplicaSet "${rs.metadata?.name}" has timed out progressing.`]);
    const a = condition(d, 'Available');
    assert.deepEqual([a?.status, a?.reason, a?.message], ['False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.']);
    assert.equal(d.status?.unavailableReplicas, 2);
  });

  it('keeps only revisionHistoryLimit old ReplicaSets', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('hist', { replicas: 1, revisionHistoryLimit: 1 }) });
    await rolloutStatus('hist');
    for (const tag of ['1.26', '1.27', '1.28']) {
      await h.cluster.kubectlOk(['set', 'image', 'deployment/hist', `app=nginx:${tag}`]);
      await rolloutStatus('hist');
    }
    const left = await waitFor('old ReplicaSets cleaned up', async () => {
      const rss = await rsOf('hist');
      return rss.length === 2 ? rss : undefined;
    });
    assert.deepEqual(
      left.map((r) => r.spec?.template?.spec?.containers[0].image),
      ['nginx:1.27', 'nginx:1.28'],
    );
  });

  it('scales every active ReplicaSet proportionally in the middle of a rollout', async () => {
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 0 } };
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('prop', { replicas: 5, strategy }) });
    await rolloutStatus('prop');
    // the new pods never get ready, so the rollout stays half way
    await h.cluster.kubectlOk(['set', 'image', 'deployment/prop', 'app=never-ready:2']);
    await waitFor('the new ReplicaSet surged', async () => {
      const rss = await rsOf('prop');
      return rss.length === 2 && rss[1].spec?.replicas === 3 ? true : undefined;
    });
    await h.cluster.kubectlOk(['scale', 'deployment/prop', '--replicas=10']);
    const rss = await waitFor('proportional scaling', async () => {
      const list = await rsOf('prop');
      const total = list.reduce((n, r) => n + (r.spec?.replicas ?? 0), 0);
      return total === 13 ? list : undefined;
    });
    // 5 old + 3 new of at most 8, now at most 13: 5*13/8 ≈ 8, 3*13/8 ≈ 5
    assert.deepEqual(rss.map((r) => r.spec?.replicas), [8, 5]);
    assert.ok(rss.every((r) => r.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'] === '10'));
    assert.ok(rss.every((r) => r.metadata?.annotations?.['deployment.kubernetes.io/max-replicas'] === '13'));
  });

  it('salts the hash with collisionCount when another ReplicaSet already has the name', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('coll', { replicas: 1, paused: true }) });
    const d = await deployments().get('coll');
    const hash = computeHash(d.spec!.template);
    await replicaSets().create({
      metadata: { name: `coll-${hash}`, namespace: NS, labels: { squatter: 'yes' } },
      spec: { replicas: 0, selector: { matchLabels: { squatter: 'yes' } }, template: { metadata: { labels: { squatter: 'yes' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    await h.cluster.kubectlOk(['rollout', 'resume', 'deployment/coll']);
    await rolloutStatus('coll');
    const after = await deployments().get('coll');
    assert.equal(after.status?.collisionCount, 1);
    const rss = await rsOf('coll');
    assert.deepEqual(rss.map((r) => r.metadata?.name), [`coll-${computeHash(d.spec!.template, 1)}`]);
    const squatter = await replicaSets().get(`coll-${hash}`);
    assert.equal(squatter.metadata?.ownerReferences, undefined);
    assert.equal(squatter.spec?.template?.spec?.containers[0].image, 'busybox');
  });

  it('copies minReadySeconds to the ReplicaSet and counts availability after it', async () => {
    await h.cluster.kubectlOk(['apply', '-f', '-'], { stdin: deployment('mrs', { replicas: 2, minReadySeconds: 1 }) });
    const [rs] = await waitFor('a ReplicaSet', async () => {
      const list = await rsOf('mrs');
      return list.length ? list : undefined;
    });
    assert.equal(rs.spec?.minReadySeconds, 1);
    const ready = await waitFor('ready but not yet available', async () => {
      const d = await deployments().get('mrs');
      return d.status?.readyReplicas === 2 ? d : undefined;
    });
    assert.ok((ready.status?.availableReplicas ?? 0) < 2);
    await rolloutStatus('mrs');
    assert.equal((await deployments().get('mrs')).status?.availableReplicas, 2);
  });
});

// ---- pure parts ----

describe('pod-template-hash', () => {
  it('safe-encodes the decimal FNV-32a value with the vowel-free alphabet', () => {
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
    const t = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    const h1 = computeHash(t);
    assert.match(h1, HASH_ALPHABET);
    assert.ok(h1.length <= 10);
    // stable: key order, nulls and empty collections do not matter
    assert.equal(computeHash({ spec: { containers: [{ image: 'nginx', name: 'c', env: [] }] }, metadata: { labels: { app: 'a' }, annotations: {} } }), h1);
    assert.notEqual(computeHash({ ...t, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } }), h1);
    // the collision count salts the hash
    assert.notEqual(computeHash(t, 0), h1);
    assert.notEqual(computeHash(t, 1), computeHash(t, 0));
    assert.equal(computeHash(t, 1), computeHash(t, 1));
  });

  it('compares templates ignoring the hash label', () => {
    const t = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    assert.equal(equalIgnoreHash(t, { ...t, metadata: { labels: { app: 'a', 'pod-template-hash': 'abc' }, creationTimestamp: null } as never }), true);
    assert.equal(equalIgnoreHash(t, { ...t, metadata: { labels: { app: 'b' } } }), false);
    assert.equal(equalIgnoreHash({ spec: { containers: [], volumes: [{ name: 'v', emptyDir: {} }] } }, { spec: { containers: [], volumes: [{ name: 'v' }] } }), false);
  });
});

describe('fenceposts', () => {
  it('rounds surge up and unavailable down, and never lets both be zero', () => {
    assert.deepEqual(resolveFenceposts('25%', '25%', 10), { surge: 3, unavailable: 2 });
    assert.deepEqual(resolveFenceposts('25%', '25%', 1), { surge: 1, unavailable: 0 });
    assert.deepEqual(resolveFenceposts(0, '10%', 5), { surge: 0, unavailable: 1 });
    assert.deepEqual(resolveFenceposts(2, 1, 5), { surge: 2, unavailable: 1 });
    assert.throws(() => resolveFenceposts('5', 1, 5), /not a percentage/);
    const d = (replicas: number, type = 'RollingUpdate'): Deployment => ({
      spec: { replicas, selector: {}, template: {}, strategy: type === 'Recreate' ? { type } : { type, rollingUpdate: { maxSurge: '50%', maxUnavailable: '100%' } } },
    });
    assert.equal(maxSurge(d(3)), 2);
    assert.equal(maxUnavailable(d(3)), 3);
    assert.equal(maxUnavailable(d(0)), 0);
    assert.equal(maxSurge(d(3, 'Recreate')), 0);
  });
});

describe('revision annotations', () => {
  it('raises the revision of a reused ReplicaSet and keeps the old one in revision-history', () => {
    const d: Deployment = { metadata: { annotations: { team: 'x', 'deployment.kubernetes.io/revision': '7', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, spec: { replicas: 2, selector: {}, template: {} } };
    const rs: ReplicaSet = { metadata: { annotations: { 'deployment.kubernetes.io/revision': '2', 'deployment.kubernetes.io/revision-history': '1' } }, spec: { selector: {} } };
    assert.equal(setNewReplicaSetAnnotations(d, rs, '5', true), true);
    assert.deepEqual(rs.metadata?.annotations, { team: 'x', 'deployment.kubernetes.io/revision': '5', 'deployment.kubernetes.io/revision-history': '1,2' });
    assert.equal(setNewReplicaSetAnnotations(d, rs, '5', true), false);
    // a new ReplicaSet also gets desired and max replicas (2 + 25% rounded up)
    const fresh: ReplicaSet = { metadata: {}, spec: { selector: {} } };
    setNewReplicaSetAnnotations(d, fresh, '1', false);
    assert.deepEqual(fresh.metadata?.annotations, {
      team: 'x',
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '2',
      'deployment.kubernetes.io/max-replicas': '3',
    });
    // the history is trimmed from the oldest end
    const long: ReplicaSet = { metadata: { annotations: { 'deployment.kubernetes.io/revision': '30', 'deployment.kubernetes.io/revision-history': '10,20' } }, spec: { selector: {} } };
    setNewReplicaSetAnnotations(d, long, '40', true, 5);
    assert.equal(long.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '20,30');
  });
});

describe('proportional scaling helpers', () => {
  const rs = (name: string, replicas: number, created: string, maxReplicas?: number): ReplicaSet => ({
    metadata: { name, uid: name, creationTimestamp: created, annotations: maxReplicas ? { 'deployment.kubernetes.io/max-replicas': String(maxReplicas) } : {} },
    spec: { replicas, selector: {} },
  });
  it('finds the single active or the latest ReplicaSet', () => {
    const a = rs('a', 0, '2024-01-01T00:00:00Z');
    const b = rs('b', 0, '2024-01-02T00:00:00Z');
    assert.equal(findActiveOrLatest(undefined, [a, b])?.metadata?.name, 'b');
    assert.equal(findActiveOrLatest(rs('n', 0, '2024-01-03T00:00:00Z'), [a, b])?.metadata?.name, 'n');
    assert.equal(findActiveOrLatest(undefined, [a, rs('c', 2, '2024-01-01T00:00:00Z')])?.metadata?.name, 'c');
    assert.equal(findActiveOrLatest(rs('n', 1, '2024-01-03T00:00:00Z'), [rs('c', 2, '2024-01-01T00:00:00Z')]), undefined);
  });
  it('gives each ReplicaSet its share of the change, bounded by what is left', () => {
    const d: Deployment = { spec: { replicas: 10, selector: {}, template: {}, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 0 } } }, status: { replicas: 8 } };
    assert.equal(replicaSetProportion(rs('old', 5, '2024-01-01T00:00:00Z', 8), d, 5, 0), 3);
    assert.equal(replicaSetProportion(rs('new', 3, '2024-01-02T00:00:00Z', 8), d, 5, 3), 2);
    assert.equal(replicaSetProportion(rs('zero', 0, '2024-01-02T00:00:00Z', 8), d, 5, 0), 0);
    const down: Deployment = { ...d, spec: { ...d.spec!, replicas: 0 } };
    assert.equal(replicaSetProportion(rs('old', 5, '2024-01-01T00:00:00Z', 8), down, -8, 0), -5);
  });
});
