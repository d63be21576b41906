// DefaultTolerationSeconds: a new pod that does not tolerate the not-ready and unreachable NoExecute
// taints gets tolerations for them bounded by tolerationSeconds (300 by default), so its pods leave a
// failed node after five minutes rather than at once or never.
import type { Toleration } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/types.js';
import type { AdmissionPlugin } from '../registry.js';

export const TAINT_NODE_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_NODE_UNREACHABLE = 'node.kubernetes.io/unreachable';

export interface DefaultTolerationSecondsOptions {
  /** upstream --default-not-ready-toleration-seconds (300) */
  notReadyTolerationSeconds?: number;
  /** upstream --default-unreachable-toleration-seconds (300) */
  unreachableTolerationSeconds?: number;
}

/** Whether a toleration covers `key`:NoExecute the way upstream's plugin checks it (same key or empty key; NoExecute or empty effect). */
const covers = (t: Toleration, key: string) => (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect);

/**
 * Only pod creates are admitted here: this registry's admission hook does not say whether a write is to a
 * subresource, and adding tolerations during a status update would change the spec.
 */
export function defaultTolerationSeconds(opts: DefaultTolerationSecondsOptions = {}): AdmissionPlugin {
  const notReady = opts.notReadyTolerationSeconds ?? 300;
  const unreachable = opts.unreachableTolerationSeconds ?? 300;
  return {
    name: 'DefaultTolerationSeconds',
    admit(op, info, obj: KubeObject) {
      if (op !== 'create' || info.group !== '' || info.resource !== 'pods') return;
      const spec = obj.spec as { tolerations?: Toleration[] } | undefined;
      if (!spec || typeof spec !== 'object') return;
      const tolerations = Array.isArray(spec.tolerations) ? spec.tolerations : [];
      const add: Toleration[] = [];
      if (!tolerations.some((t) => t && covers(t, TAINT_NODE_NOT_READY)))
        add.push({ key: TAINT_NODE_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: notReady });
      if (!tolerations.some((t) => t && covers(t, TAINT_NODE_UNREACHABLE)))
        add.push({ key: TAINT_NODE_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: unreachable });
      if (add.length) spec.tolerations = [...tolerations, ...add];
    },
  };
}
