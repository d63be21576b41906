// The default profile: upstream's plugins in upstream's order, with upstream's score weights.
import type { Plugin } from '../framework.js';
import { InterPodAffinityPlugin } from './inter-pod-affinity.js';
import { NodeAffinityPlugin } from './node-affinity.js';
import { NodeNamePlugin } from './node-name.js';
import { NodeResourcesBalancedAllocationPlugin } from './node-resources-balanced-allocation.js';
import { NodeResourcesFitPlugin } from './node-resources-fit.js';
import { NodeUnschedulablePlugin } from './node-unschedulable.js';
import { PodTopologySpreadPlugin } from './pod-topology-spread.js';
import { TaintTolerationPlugin } from './taint-toleration.js';
import { VolumeBindingPlugin, type VolumeBindingOptions } from './volume-binding.js';

export interface ProfilePlugin {
  plugin: Plugin;
  /** score weight (plugins that do not score ignore it) */
  weight: number;
}

export function defaultPlugins(volumeBinding: VolumeBindingOptions = {}): ProfilePlugin[] {
  return [
    { plugin: new NodeUnschedulablePlugin(), weight: 0 },
    { plugin: new NodeNamePlugin(), weight: 0 },
    { plugin: new TaintTolerationPlugin(), weight: 3 },
    { plugin: new NodeAffinityPlugin(), weight: 2 },
    { plugin: new NodeResourcesFitPlugin(), weight: 1 },
    { plugin: new VolumeBindingPlugin(volumeBinding), weight: 0 },
    { plugin: new PodTopologySpreadPlugin(), weight: 2 },
    { plugin: new InterPodAffinityPlugin(), weight: 2 },
    { plugin: new NodeResourcesBalancedAllocationPlugin(), weight: 1 },
  ];
}
