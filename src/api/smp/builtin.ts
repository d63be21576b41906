// Strategic-merge facts of the built-in kinds we serve, as upstream's Go struct tags state them (k8s.io/api v0.33,
// k8s.io/apimachinery meta/v1). Fields not listed are primitives, or objects/lists with no patch strategy
// anywhere below them: they patch as plain JSON merge (objects merge, lists and scalars replace).
import { atomicList, map, mergeList, object, replacedObject, retainKeysObject, set, struct, type SMPField, type SMPType } from './schema.js';

// meta/v1
const OwnerReference = struct('OwnerReference', {});
const ManagedFieldsEntry = struct('ManagedFieldsEntry', {});
export const ObjectMeta = struct('ObjectMeta', {
  labels: map,
  annotations: map,
  ownerReferences: mergeList('uid', OwnerReference),
  finalizers: set,
  managedFields: atomicList(ManagedFieldsEntry),
});
const Condition = struct('Condition', {});
const LabelSelector = struct('LabelSelector', { matchLabels: map, matchExpressions: atomicList() });

/** a top-level kind: every one has `metadata` */
const kind = (name: string, fields: Record<string, SMPField> = {}): SMPType =>
  struct(name, { metadata: object(ObjectMeta), ...fields });

// core/v1: pods and templates
const ResourceRequirements = struct('ResourceRequirements', { limits: map, requests: map, claims: atomicList() });
const containerFields = {
  ports: mergeList('containerPort', struct('ContainerPort', {})),
  envFrom: atomicList(struct('EnvFromSource', {})),
  env: mergeList('name', struct('EnvVar', {})),
  resources: object(ResourceRequirements),
  resizePolicy: atomicList(struct('ContainerResizePolicy', {})),
  volumeMounts: mergeList('mountPath', struct('VolumeMount', {})),
  volumeDevices: mergeList('devicePath', struct('VolumeDevice', {})),
};
export const Container = struct('Container', containerFields);
const EphemeralContainer = struct('EphemeralContainer', containerFields);

const PersistentVolumeClaimSpec = struct('PersistentVolumeClaimSpec', { resources: object(struct('VolumeResourceRequirements', { limits: map, requests: map })) });
const PersistentVolumeClaimTemplate = struct('PersistentVolumeClaimTemplate', { metadata: object(ObjectMeta), spec: object(PersistentVolumeClaimSpec) });
export const Volume = struct('Volume', {
  ephemeral: object(struct('EphemeralVolumeSource', { volumeClaimTemplate: object(PersistentVolumeClaimTemplate) })),
});

export const PodSpec = struct('PodSpec', {
  volumes: mergeList('name', Volume, { retainKeys: true }),
  initContainers: mergeList('name', Container),
  containers: mergeList('name', Container),
  ephemeralContainers: mergeList('name', EphemeralContainer),
  nodeSelector: map,
  imagePullSecrets: mergeList('name', struct('LocalObjectReference', {})),
  tolerations: atomicList(struct('Toleration', {})),
  hostAliases: mergeList('ip', struct('HostAlias', {})),
  readinessGates: atomicList(struct('PodReadinessGate', {})),
  overhead: map,
  topologySpreadConstraints: mergeList('topologyKey', struct('TopologySpreadConstraint', {})),
  schedulingGates: mergeList('name', struct('PodSchedulingGate', {})),
  resourceClaims: mergeList('name', struct('PodResourceClaim', {}), { retainKeys: true }),
});
const ContainerStatus = struct('ContainerStatus', {});
const PodStatus = struct('PodStatus', {
  conditions: mergeList('type', struct('PodCondition', {})),
  hostIPs: mergeList('ip', struct('HostIP', {})),
  podIPs: mergeList('ip', struct('PodIP', {})),
  initContainerStatuses: atomicList(ContainerStatus),
  containerStatuses: atomicList(ContainerStatus),
  ephemeralContainerStatuses: atomicList(ContainerStatus),
  resourceClaimStatuses: mergeList('name', struct('PodResourceClaimStatus', {}), { retainKeys: true }),
});
export const PodTemplateSpec = struct('PodTemplateSpec', { metadata: object(ObjectMeta), spec: object(PodSpec) });

// core/v1: the other kinds
const Pod = kind('Pod', { spec: object(PodSpec), status: object(PodStatus) });
const ConfigMap = kind('ConfigMap', { data: map, binaryData: map });
const Secret = kind('Secret', { data: map, stringData: map });
const Endpoints = kind('Endpoints', { subsets: atomicList(struct('EndpointSubset', {})) });
const Event = kind('Event');
const LimitRange = kind('LimitRange', { spec: object(struct('LimitRangeSpec', { limits: atomicList(struct('LimitRangeItem', {})) })) });
const Namespace = kind('Namespace', {
  status: object(struct('NamespaceStatus', { conditions: mergeList('type', struct('NamespaceCondition', {})) })),
});
const Node = kind('Node', {
  spec: object(struct('NodeSpec', { podCIDRs: set, taints: atomicList(struct('Taint', {})) })),
  status: object(
    struct('NodeStatus', {
      capacity: map,
      allocatable: map,
      conditions: mergeList('type', struct('NodeCondition', {})),
      addresses: mergeList('type', struct('NodeAddress', {})),
      images: atomicList(struct('ContainerImage', {})),
      volumesAttached: atomicList(struct('AttachedVolume', {})),
      runtimeHandlers: atomicList(struct('NodeRuntimeHandler', {})),
    }),
  ),
});
const PersistentVolume = kind('PersistentVolume', { spec: object(struct('PersistentVolumeSpec', { capacity: map })) });
const PersistentVolumeClaimStatus = struct('PersistentVolumeClaimStatus', {
  capacity: map,
  conditions: mergeList('type', struct('PersistentVolumeClaimCondition', {})),
  allocatedResources: map,
  allocatedResourceStatuses: map,
});
const PersistentVolumeClaim = kind('PersistentVolumeClaim', { spec: object(PersistentVolumeClaimSpec), status: object(PersistentVolumeClaimStatus) });
const ResourceQuota = kind('ResourceQuota', {
  spec: object(struct('ResourceQuotaSpec', { hard: map })),
  status: object(struct('ResourceQuotaStatus', { hard: map, used: map })),
});
const ServiceAccount = kind('ServiceAccount', {
  secrets: mergeList('name', struct('ObjectReference', {})),
  imagePullSecrets: atomicList(struct('LocalObjectReference', {})),
});
const ReplicationController = kind('ReplicationController', {
  spec: object(struct('ReplicationControllerSpec', { selector: map, template: object(PodTemplateSpec) })),
  status: object(struct('ReplicationControllerStatus', { conditions: mergeList('type', struct('ReplicationControllerCondition', {})) })),
});
const Service = kind('Service', {
  spec: object(struct('ServiceSpec', { ports: mergeList('port', struct('ServicePort', {})), selector: map })),
  status: object(struct('ServiceStatus', { conditions: mergeList('type', Condition) })),
});

// apps/v1
const conditionsStatus = (name: string, conditionType: string) =>
  object(struct(name, { conditions: mergeList('type', struct(conditionType, {})) }));
const Deployment = kind('Deployment', {
  spec: object(
    struct('DeploymentSpec', {
      selector: object(LabelSelector),
      template: object(PodTemplateSpec),
      strategy: retainKeysObject(struct('DeploymentStrategy', {})),
    }),
  ),
  status: conditionsStatus('DeploymentStatus', 'DeploymentCondition'),
});
const ReplicaSet = kind('ReplicaSet', {
  spec: object(struct('ReplicaSetSpec', { selector: object(LabelSelector), template: object(PodTemplateSpec) })),
  status: conditionsStatus('ReplicaSetStatus', 'ReplicaSetCondition'),
});
const StatefulSet = kind('StatefulSet', {
  spec: object(
    struct('StatefulSetSpec', {
      selector: object(LabelSelector),
      template: object(PodTemplateSpec),
      volumeClaimTemplates: atomicList(struct('PersistentVolumeClaim', {})),
    }),
  ),
  status: conditionsStatus('StatefulSetStatus', 'StatefulSetCondition'),
});
const DaemonSet = kind('DaemonSet', {
  spec: object(struct('DaemonSetSpec', { selector: object(LabelSelector), template: object(PodTemplateSpec) })),
  status: conditionsStatus('DaemonSetStatus', 'DaemonSetCondition'),
});

// batch/v1
const JobSpec = struct('JobSpec', { selector: object(LabelSelector), template: object(PodTemplateSpec) });
const Job = kind('Job', { spec: object(JobSpec), status: conditionsStatus('JobStatus', 'JobCondition') });
const CronJob = kind('CronJob', {
  spec: object(struct('CronJobSpec', { jobTemplate: object(struct('JobTemplateSpec', { metadata: object(ObjectMeta), spec: object(JobSpec) })) })),
});

// autoscaling, policy
const HorizontalPodAutoscaler = kind('HorizontalPodAutoscaler', {
  spec: object(struct('HorizontalPodAutoscalerSpec', { metrics: atomicList(struct('MetricSpec', {})) })),
  status: object(
    struct('HorizontalPodAutoscalerStatus', {
      currentMetrics: atomicList(struct('MetricStatus', {})),
      conditions: mergeList('type', struct('HorizontalPodAutoscalerCondition', {})),
    }),
  ),
});
const Scale = kind('Scale');
const PodDisruptionBudget = kind('PodDisruptionBudget', {
  spec: object(struct('PodDisruptionBudgetSpec', { selector: replacedObject(LabelSelector) })),
  status: object(struct('PodDisruptionBudgetStatus', { disruptedPods: map, conditions: mergeList('type', Condition) })),
});

// discovery, events, storage, networking, coordination, rbac, admissionregistration
const EndpointSlice = kind('EndpointSlice', {
  endpoints: atomicList(struct('Endpoint', {})),
  ports: atomicList(struct('EndpointPort', {})),
});
const EventsV1Event = kind('Event');
const StorageClass = kind('StorageClass', { parameters: map, allowedTopologies: atomicList(struct('TopologySelectorTerm', {})) });
const Ingress = kind('Ingress');
const IngressClass = kind('IngressClass');
const NetworkPolicy = kind('NetworkPolicy', {
  spec: object(struct('NetworkPolicySpec', { podSelector: object(LabelSelector), ingress: atomicList(), egress: atomicList(), policyTypes: atomicList() })),
});
const Lease = kind('Lease');
const ControllerRevision = kind('ControllerRevision');
// apiextensions.k8s.io types carry no patch strategies (listType tags only)
const CustomResourceDefinition = kind('CustomResourceDefinition');
const PolicyRule = struct('PolicyRule', {});
const Subject = struct('Subject', {});
const Role = kind('Role', { rules: atomicList(PolicyRule) });
const ClusterRole = kind('ClusterRole', { rules: atomicList(PolicyRule) });
const RoleBinding = kind('RoleBinding', { subjects: atomicList(Subject) });
const ClusterRoleBinding = kind('ClusterRoleBinding', { subjects: atomicList(Subject) });
const ValidatingWebhookConfiguration = kind('ValidatingWebhookConfiguration', { webhooks: mergeList('name', struct('ValidatingWebhook', {})) });
const MutatingWebhookConfiguration = kind('MutatingWebhookConfiguration', { webhooks: mergeList('name', struct('MutatingWebhook', {})) });

const BUILTIN: ReadonlyMap<string, SMPType> = new Map<string, SMPType>([
  ['v1/ConfigMap', ConfigMap],
  ['v1/Endpoints', Endpoints],
  ['v1/Event', Event],
  ['v1/LimitRange', LimitRange],
  ['v1/Namespace', Namespace],
  ['v1/Node', Node],
  ['v1/PersistentVolume', PersistentVolume],
  ['v1/PersistentVolumeClaim', PersistentVolumeClaim],
  ['v1/Pod', Pod],
  ['v1/ReplicationController', ReplicationController],
  ['v1/ResourceQuota', ResourceQuota],
  ['v1/Secret', Secret],
  ['v1/Service', Service],
  ['v1/ServiceAccount', ServiceAccount],
  ['apps/v1/Deployment', Deployment],
  ['apps/v1/ReplicaSet', ReplicaSet],
  ['apps/v1/StatefulSet', StatefulSet],
  ['apps/v1/DaemonSet', DaemonSet],
  ['apps/v1/ControllerRevision', ControllerRevision],
  ['apiextensions.k8s.io/v1/CustomResourceDefinition', CustomResourceDefinition],
  ['batch/v1/Job', Job],
  ['batch/v1/CronJob', CronJob],
  ['autoscaling/v2/HorizontalPodAutoscaler', HorizontalPodAutoscaler],
  ['autoscaling/v1/Scale', Scale],
  ['policy/v1/PodDisruptionBudget', PodDisruptionBudget],
  ['discovery.k8s.io/v1/EndpointSlice', EndpointSlice],
  ['events.k8s.io/v1/Event', EventsV1Event],
  ['storage.k8s.io/v1/StorageClass', StorageClass],
  ['networking.k8s.io/v1/Ingress', Ingress],
  ['networking.k8s.io/v1/IngressClass', IngressClass],
  ['networking.k8s.io/v1/NetworkPolicy', NetworkPolicy],
  ['coordination.k8s.io/v1/Lease', Lease],
  ['rbac.authorization.k8s.io/v1/Role', Role],
  ['rbac.authorization.k8s.io/v1/ClusterRole', ClusterRole],
  ['rbac.authorization.k8s.io/v1/RoleBinding', RoleBinding],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', ClusterRoleBinding],
  ['admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration', ValidatingWebhookConfiguration],
  ['admissionregistration.k8s.io/v1/MutatingWebhookConfiguration', MutatingWebhookConfiguration],
]);

/** The patch facts of a built-in kind; undefined for anything else (custom resources patch as JSON merge). */
export function smpSchemaFor(apiVersion: string, kind: string): SMPType | undefined {
  return BUILTIN.get(`${apiVersion}/${kind}`);
}
