// The scheduling algorithm's decisions on a fixed, varied cluster, recorded from the implementation
// before the per-pod CPU work (issue 4): which nodes are sampled (evaluated/feasible counts, the scan
// resuming where the last pod stopped), which node wins (ties broken by a seeded random), and the
// messages of pods that fit nowhere. Any change to these is a change of behaviour, not of speed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Framework } from '../../src/scheduler/algorithm.js';
import { FitError } from '../../src/scheduler/framework.js';
import { defaultPlugins } from '../../src/scheduler/plugins/index.js';
import { info, makeNode, makePod, snapshotOf } from './builders.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const NODES = 600;

function cluster() {
  return snapshotOf(
    Array.from({ length: NODES }, (_, i) =>
      makeNode(`n${String(i).padStart(3, '0')}`, {
        cpu: i % 7 === 0 ? '2' : '4',
        memory: i % 5 === 0 ? '8Gi' : '16Gi',
        pods: i % 19 === 0 ? 3 : 110,
        labels: { zone: `z${i % 3}`, ...(i % 2 === 0 ? { disk: 'ssd' } : {}) },
        taints: [
          ...(i % 11 === 0 ? [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] : []),
          ...(i % 13 === 0 ? [{ key: 'spot', value: 'true', effect: 'PreferNoSchedule' }] : []),
        ],
        unschedulable: i % 17 === 0,
      }),
    ),
  );
}

/** The i-th pod of the sequence: mostly plain 100m/500Mi pods, with every other shape mixed in. */
function podAt(i: number): Pod {
  const name = `p${i}`;
  switch (i % 12) {
    case 1:
      return makePod(name, { cpu: '1500m', memory: '1Gi' });
    case 2:
      return makePod(name, { cpu: '100m', spec: { nodeSelector: { disk: 'ssd' } } });
    case 3:
      return makePod(name, { cpu: '200m', memory: '500Mi', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] });
    case 4:
      return makePod(name, {
        cpu: '100m',
        labels: { app: 'spread' },
        spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'spread' } } }] },
      });
    case 5:
      return makePod(name, {
        cpu: '100m',
        labels: { app: 'web' },
        spec: {
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } } },
              ],
            },
          },
        },
      });
    case 6:
      return makePod(name, {
        cpu: '100m',
        labels: { app: 'solo' },
        spec: {
          affinity: {
            podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', labelSelector: { matchLabels: { app: 'solo' } } }] },
          },
        },
      });
    case 7:
      return makePod(name, {
        cpu: '300m',
        memory: '1Gi',
        spec: {
          affinity: {
            nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1'] }] } }] },
          },
        },
      });
    case 8:
      return makePod(name, {
        cpu: '100m',
        labels: { app: 'soft' },
        spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'soft' } } }] },
      });
    case 9:
      return i % 24 === 9 ? makePod(name, { cpu: '64' }) : makePod(name, { tolerations: [{ key: 'spot', operator: 'Exists' }] });
    case 10:
      return makePod(name);
    default:
      return makePod(name, { cpu: '100m', memory: '500Mi' });
  }
}

/** One line per pod: the node (or the FitError message), evaluated and feasible node counts. */
function decisions(pods: number): string[] {
  const snap = cluster();
  const fw = new Framework(defaultPlugins(), { random: seeded(7) });
  const out: string[] = [];
  for (let i = 0; i < pods; i++) {
    const pi = info(podAt(i));
    try {
      const r = fw.schedulePod(pi, snap);
      out.push(`${r.node.name} ${r.evaluatedNodes}/${r.feasibleNodes}`);
      snap.assumePod(pi, r.node.name);
      // a binding that failed now and then: the pod's resources leave the node again
      if (i % 50 === 49) snap.forgetPod(pi.key);
    } catch (e) {
      if (!(e instanceof FitError)) throw e;
      out.push(e.message);
    }
  }
  return out;
}

const digest = (lines: string[]) => createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);

test('decisions: 400 varied pods on 600 varied nodes are placed as before (sample, order, winners, messages)', () => {
  const got = decisions(400);
  assert.equal(got.length, 400);
  assert.deepEqual(got.slice(0, 14), [
    'n114 323/276',
    'n424 323/276',
    'n474 600/256',
    'n079 293/276',
    'n557 323/276',
    'n134 322/276',
    'n060 324/276',
    'n331 323/276',
    'n107 322/276',
    '0/600 nodes are available: 36 node(s) were unschedulable, 51 node(s) had untolerated taint {dedicated: gpu}, 513 Insufficient cpu. ' +
      'preemption: 0/600 nodes are available: 513 No preemption victims found for incoming pod, 87 Preemption is not helpful for scheduling.',
    'n248 323/276',
    'n584 322/276',
    'n431 324/276',
    'n127 323/276',
  ]);
  // all 400 lines, as the implementation before issue 4's changes produced them
  assert.equal(digest(got), '559566e7ffe6ff07');
});
