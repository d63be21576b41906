// The `timonel up` flags that shape simulated nodes: their capacity, labels and taints, how long a pod takes to
// start and a Job's pod to finish. Each is checked here, so a bad value stops `up` with one line instead of
// 5,000 failed registrations.
import type { Taint } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from '../api/quantity.js';
import { labelValueErrors, qualifiedNameErrors } from '../api/validation.js';
import type { SimulatedNodesOptions } from '../node/simulated/index.js';
import { parseDuration } from './token.js';

/** What the flags set (structured-cloneable: it crosses to the component thread). */
export type SimulatedNodeFlags = Pick<SimulatedNodesOptions, 'capacity' | 'labels' | 'taints' | 'startupDelayMs' | 'jobDurationMs'>;

export interface SimulatedNodeFlagValues {
  'simulated-node-capacity'?: string;
  'simulated-node-labels'?: string;
  'simulated-node-taints'?: string;
  'simulated-startup-delay'?: string;
  'simulated-job-duration'?: string;
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** `a=1,b=2` → pairs; an item without `=` is refused. */
function pairs(flag: string, v: string): [string, string][] {
  return v
    .split(',')
    .filter((item) => item !== '')
    .map((item) => {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new Error(`--${flag}: ${JSON.stringify(item)} is not name=value`);
      return [item.slice(0, eq).trim(), item.slice(eq + 1).trim()];
    });
}

function keyErrors(flag: string, key: string): void {
  const errs = qualifiedNameErrors(key);
  if (errs.length) throw new Error(`--${flag}: ${JSON.stringify(key)}: ${errs.join('; ')}`);
}

function valueErrors(flag: string, value: string): void {
  const errs = labelValueErrors(value);
  if (errs.length) throw new Error(`--${flag}: ${JSON.stringify(value)}: ${errs.join('; ')}`);
}

function duration(flag: string, v: string): number {
  try {
    return parseDuration(v);
  } catch {
    throw new Error(`--${flag}: not a duration (like 500ms, 2s, 1m): ${JSON.stringify(v)}`);
  }
}

/** The simulated nodes' options from `up`'s flags; throws with the flag's name on a bad value. */
export function simulatedNodeFlags(v: SimulatedNodeFlagValues): SimulatedNodeFlags {
  const out: SimulatedNodeFlags = {};
  if (v['simulated-node-capacity'] !== undefined) {
    const capacity: Record<string, string> = {};
    for (const [name, q] of pairs('simulated-node-capacity', v['simulated-node-capacity'])) {
      keyErrors('simulated-node-capacity', name);
      try {
        if (parseQuantity(q).mantissa < 0n) throw new Error('negative');
      } catch {
        throw new Error(`--simulated-node-capacity: ${name}: not a quantity (like 8, 500m, 32Gi): ${JSON.stringify(q)}`);
      }
      capacity[name] = q;
    }
    out.capacity = capacity;
  }
  if (v['simulated-node-labels'] !== undefined) {
    const labels: Record<string, string> = {};
    for (const [k, val] of pairs('simulated-node-labels', v['simulated-node-labels'])) {
      keyErrors('simulated-node-labels', k);
      valueErrors('simulated-node-labels', val);
      labels[k] = val;
    }
    out.labels = labels;
  }
  if (v['simulated-node-taints'] !== undefined) {
    const taints: Taint[] = [];
    for (const item of v['simulated-node-taints'].split(',').filter((t) => t !== '')) {
      // kubectl taint's form: key[=value]:Effect
      const m = /^([^=:]+)(?:=([^:]*))?:(.*)$/.exec(item.trim());
      if (!m) throw new Error(`--simulated-node-taints: ${JSON.stringify(item)} is not key[=value]:Effect`);
      const [, key, value, effect] = m;
      keyErrors('simulated-node-taints', key);
      if (value) valueErrors('simulated-node-taints', value);
      if (!TAINT_EFFECTS.includes(effect)) throw new Error(`--simulated-node-taints: effect ${JSON.stringify(effect)}: one of ${TAINT_EFFECTS.join(', ')}`);
      if (taints.some((t) => t.key === key && t.effect === effect)) throw new Error(`--simulated-node-taints: ${key}:${effect} given twice`);
      taints.push(value ? { key, value, effect } : { key, effect });
    }
    out.taints = taints;
  }
  if (v['simulated-startup-delay'] !== undefined) out.startupDelayMs = duration('simulated-startup-delay', v['simulated-startup-delay']);
  if (v['simulated-job-duration'] !== undefined) out.jobDurationMs = duration('simulated-job-duration', v['simulated-job-duration']);
  return out;
}
