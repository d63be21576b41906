// Timonel's subset of the Kubernetes protobuf schema: the kinds clients send as
// `application/vnd.kubernetes.protobuf` and every message they embed.
//
// Message and field names, numbers and wire types are those of upstream's generated.proto
// (k8s.io/api and k8s.io/apimachinery v0.36.3). Packages are renamed short (`core`, `meta`, …) and one
// message sits on one line. Fields of packages outside this subset (alpha APIs) are left out: a decoder
// skips them as unknown fields.
//
// The custom field options carry what the JSON form needs and the wire cannot say, taken from the Go
// struct tags of the same types:
//   (ptr)    the Go field is a pointer: present on the wire means present in JSON, even when zero or empty
//   (keep)   a non-pointer scalar whose JSON tag lacks omitempty: its zero value is printed
//   (inline) an embedded struct whose fields JSON lifts into the parent
//   (json)   the JSON name, where it differs from the protobuf name
// Without (ptr) or (keep), Go writes zero scalars and empty structs that JSON would omit; the decoder
// drops them.
export const KUBERNETES_PROTO_SCHEMA = `
package meta;
message Condition{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];optional int64 observedGeneration=3;optional Time lastTransitionTime=4;optional string reason=5 [(keep)=true];optional string message=6 [(keep)=true];}
message FieldsV1{optional bytes Raw=1;}
message LabelSelector{map<string,string> matchLabels=1;repeated LabelSelectorRequirement matchExpressions=2;}
message LabelSelectorRequirement{optional string key=1 [(keep)=true];optional string operator=2 [(keep)=true];repeated string values=3;}
message ManagedFieldsEntry{optional string manager=1;optional string operation=2;optional string apiVersion=3;optional Time time=4 [(ptr)=true];optional string fieldsType=6;optional FieldsV1 fieldsV1=7 [(ptr)=true];optional string subresource=8;}
message MicroTime{optional int64 seconds=1;optional int32 nanos=2;}
message ObjectMeta{optional string name=1;optional string generateName=2;optional string namespace=3;optional string selfLink=4;optional string uid=5;optional string resourceVersion=6;optional int64 generation=7;optional Time creationTimestamp=8;optional Time deletionTimestamp=9 [(ptr)=true];optional int64 deletionGracePeriodSeconds=10 [(ptr)=true];map<string,string> labels=11;map<string,string> annotations=12;repeated OwnerReference ownerReferences=13;repeated string finalizers=14;repeated ManagedFieldsEntry managedFields=17;}
message OwnerReference{optional string apiVersion=5 [(keep)=true];optional string kind=1 [(keep)=true];optional string name=3 [(keep)=true];optional string uid=4 [(keep)=true];optional bool controller=6 [(ptr)=true];optional bool blockOwnerDeletion=7 [(ptr)=true];}
message Time{optional int64 seconds=1;optional int32 nanos=2;}
package runtime;
message TypeMeta{optional string apiVersion=1;optional string kind=2;}
message Unknown{optional TypeMeta typeMeta=1;optional bytes raw=2;optional string contentEncoding=3;optional string contentType=4;}
package intstr;
message IntOrString{optional int64 type=1;optional int32 intVal=2;optional string strVal=3;}
package resource;
message Quantity{optional string string=1;}
package core;
message AWSElasticBlockStoreVolumeSource{optional string volumeID=1 [(keep)=true];optional string fsType=2;optional int32 partition=3;optional bool readOnly=4;}
message Affinity{optional NodeAffinity nodeAffinity=1 [(ptr)=true];optional PodAffinity podAffinity=2 [(ptr)=true];optional PodAntiAffinity podAntiAffinity=3 [(ptr)=true];}
message AppArmorProfile{optional string type=1 [(keep)=true];optional string localhostProfile=2 [(ptr)=true];}
message AzureDiskVolumeSource{optional string diskName=1 [(keep)=true];optional string diskURI=2 [(keep)=true];optional string cachingMode=3 [(ptr)=true];optional string fsType=4 [(ptr)=true];optional bool readOnly=5 [(ptr)=true];optional string kind=6 [(ptr)=true];}
message AzureFileVolumeSource{optional string secretName=1 [(keep)=true];optional string shareName=2 [(keep)=true];optional bool readOnly=3;}
message CSIVolumeSource{optional string driver=1 [(keep)=true];optional bool readOnly=2 [(ptr)=true];optional string fsType=3 [(ptr)=true];map<string,string> volumeAttributes=4;optional LocalObjectReference nodePublishSecretRef=5 [(ptr)=true];}
message Capabilities{repeated string add=1;repeated string drop=2;}
message CephFSVolumeSource{repeated string monitors=1;optional string path=2;optional string user=3;optional string secretFile=4;optional LocalObjectReference secretRef=5 [(ptr)=true];optional bool readOnly=6;}
message CinderVolumeSource{optional string volumeID=1 [(keep)=true];optional string fsType=2;optional bool readOnly=3;optional LocalObjectReference secretRef=4 [(ptr)=true];}
message ClientIPConfig{optional int32 timeoutSeconds=1 [(ptr)=true];}
message ClusterTrustBundleProjection{optional string name=1 [(ptr)=true];optional string signerName=2 [(ptr)=true];optional meta.LabelSelector labelSelector=3 [(ptr)=true];optional bool optional=5 [(ptr)=true];optional string path=4 [(keep)=true];}
message ConfigMap{optional meta.ObjectMeta metadata=1;optional bool immutable=4 [(ptr)=true];map<string,string> data=2;map<string,bytes> binaryData=3;}
message ConfigMapEnvSource{optional LocalObjectReference localObjectReference=1 [(inline)=true];optional bool optional=2 [(ptr)=true];}
message ConfigMapKeySelector{optional LocalObjectReference localObjectReference=1 [(inline)=true];optional string key=2 [(keep)=true];optional bool optional=3 [(ptr)=true];}
message ConfigMapProjection{optional LocalObjectReference localObjectReference=1 [(inline)=true];repeated KeyToPath items=2;optional bool optional=4 [(ptr)=true];}
message ConfigMapVolumeSource{optional LocalObjectReference localObjectReference=1 [(inline)=true];repeated KeyToPath items=2;optional int32 defaultMode=3 [(ptr)=true];optional bool optional=4 [(ptr)=true];}
message Container{optional string name=1 [(keep)=true];optional string image=2;repeated string command=3;repeated string args=4;optional string workingDir=5;repeated ContainerPort ports=6;repeated EnvFromSource envFrom=19;repeated EnvVar env=7;optional ResourceRequirements resources=8;repeated ContainerResizePolicy resizePolicy=23;optional string restartPolicy=24 [(ptr)=true];repeated ContainerRestartRule restartPolicyRules=25;repeated VolumeMount volumeMounts=9;repeated VolumeDevice volumeDevices=21;optional Probe livenessProbe=10 [(ptr)=true];optional Probe readinessProbe=11 [(ptr)=true];optional Probe startupProbe=22 [(ptr)=true];optional Lifecycle lifecycle=12 [(ptr)=true];optional string terminationMessagePath=13;optional string terminationMessagePolicy=20;optional string imagePullPolicy=14;optional SecurityContext securityContext=15 [(ptr)=true];optional bool stdin=16;optional bool stdinOnce=17;optional bool tty=18;}
message ContainerExtendedResourceRequest{optional string containerName=1 [(keep)=true];optional string resourceName=2 [(keep)=true];optional string requestName=3 [(keep)=true];}
message ContainerPort{optional string name=1;optional int32 hostPort=2;optional int32 containerPort=3 [(keep)=true];optional string protocol=4;optional string hostIP=5;}
message ContainerResizePolicy{optional string resourceName=1 [(keep)=true];optional string restartPolicy=2 [(keep)=true];}
message ContainerRestartRule{optional string action=1;optional ContainerRestartRuleOnExitCodes exitCodes=2 [(ptr)=true];}
message ContainerRestartRuleOnExitCodes{optional string operator=1;repeated int32 values=2;}
message ContainerState{optional ContainerStateWaiting waiting=1 [(ptr)=true];optional ContainerStateRunning running=2 [(ptr)=true];optional ContainerStateTerminated terminated=3 [(ptr)=true];}
message ContainerStateRunning{optional meta.Time startedAt=1;}
message ContainerStateTerminated{optional int32 exitCode=1 [(keep)=true];optional int32 signal=2;optional string reason=3;optional string message=4;optional meta.Time startedAt=5;optional meta.Time finishedAt=6;optional string containerID=7;}
message ContainerStateWaiting{optional string reason=1;optional string message=2;}
message ContainerStatus{optional string name=1 [(keep)=true];optional ContainerState state=2;optional ContainerState lastState=3;optional bool ready=4 [(keep)=true];optional int32 restartCount=5 [(keep)=true];optional string image=6 [(keep)=true];optional string imageID=7 [(keep)=true];optional string containerID=8;optional bool started=9 [(ptr)=true];map<string,resource.Quantity> allocatedResources=10;optional ResourceRequirements resources=11 [(ptr)=true];repeated VolumeMountStatus volumeMounts=12;optional ContainerUser user=13 [(ptr)=true];repeated ResourceStatus allocatedResourcesStatus=14;optional string stopSignal=15 [(ptr)=true];}
message ContainerUser{optional LinuxContainerUser linux=1 [(ptr)=true];}
message DownwardAPIProjection{repeated DownwardAPIVolumeFile items=1;}
message DownwardAPIVolumeFile{optional string path=1 [(keep)=true];optional ObjectFieldSelector fieldRef=2 [(ptr)=true];optional ResourceFieldSelector resourceFieldRef=3 [(ptr)=true];optional int32 mode=4 [(ptr)=true];}
message DownwardAPIVolumeSource{repeated DownwardAPIVolumeFile items=1;optional int32 defaultMode=2 [(ptr)=true];}
message EmptyDirVolumeSource{optional string medium=1;optional resource.Quantity sizeLimit=2 [(ptr)=true];}
message EndpointAddress{optional string ip=1 [(keep)=true];optional string hostname=3;optional string nodeName=4 [(ptr)=true];optional ObjectReference targetRef=2 [(ptr)=true];}
message EndpointPort{optional string name=1;optional int32 port=2 [(keep)=true];optional string protocol=3;optional string appProtocol=4 [(ptr)=true];}
message EndpointSubset{repeated EndpointAddress addresses=1;repeated EndpointAddress notReadyAddresses=2;repeated EndpointPort ports=3;}
message Endpoints{optional meta.ObjectMeta metadata=1;repeated EndpointSubset subsets=2;}
message EnvFromSource{optional string prefix=1;optional ConfigMapEnvSource configMapRef=2 [(ptr)=true];optional SecretEnvSource secretRef=3 [(ptr)=true];}
message EnvVar{optional string name=1 [(keep)=true];optional string value=2;optional EnvVarSource valueFrom=3 [(ptr)=true];}
message EnvVarSource{optional ObjectFieldSelector fieldRef=1 [(ptr)=true];optional ResourceFieldSelector resourceFieldRef=2 [(ptr)=true];optional ConfigMapKeySelector configMapKeyRef=3 [(ptr)=true];optional SecretKeySelector secretKeyRef=4 [(ptr)=true];optional FileKeySelector fileKeyRef=5 [(ptr)=true];}
message EphemeralContainer{optional EphemeralContainerCommon ephemeralContainerCommon=1 [(inline)=true];optional string targetContainerName=2;}
message EphemeralContainerCommon{optional string name=1 [(keep)=true];optional string image=2;repeated string command=3;repeated string args=4;optional string workingDir=5;repeated ContainerPort ports=6;repeated EnvFromSource envFrom=19;repeated EnvVar env=7;optional ResourceRequirements resources=8;repeated ContainerResizePolicy resizePolicy=23;optional string restartPolicy=24 [(ptr)=true];repeated ContainerRestartRule restartPolicyRules=25;repeated VolumeMount volumeMounts=9;repeated VolumeDevice volumeDevices=21;optional Probe livenessProbe=10 [(ptr)=true];optional Probe readinessProbe=11 [(ptr)=true];optional Probe startupProbe=22 [(ptr)=true];optional Lifecycle lifecycle=12 [(ptr)=true];optional string terminationMessagePath=13;optional string terminationMessagePolicy=20;optional string imagePullPolicy=14;optional SecurityContext securityContext=15 [(ptr)=true];optional bool stdin=16;optional bool stdinOnce=17;optional bool tty=18;}
message EphemeralVolumeSource{optional PersistentVolumeClaimTemplate volumeClaimTemplate=1 [(ptr)=true];}
message Event{optional meta.ObjectMeta metadata=1;optional ObjectReference involvedObject=2;optional string reason=3;optional string message=4;optional EventSource source=5;optional meta.Time firstTimestamp=6;optional meta.Time lastTimestamp=7;optional int32 count=8;optional string type=9;optional meta.MicroTime eventTime=10;optional EventSeries series=11 [(ptr)=true];optional string action=12;optional ObjectReference related=13 [(ptr)=true];optional string reportingComponent=14 [(keep)=true];optional string reportingInstance=15 [(keep)=true];}
message EventSeries{optional int32 count=1;optional meta.MicroTime lastObservedTime=2;}
message EventSource{optional string component=1;optional string host=2;}
message ExecAction{repeated string command=1;}
message FCVolumeSource{repeated string targetWWNs=1;optional int32 lun=2 [(ptr)=true];optional string fsType=3;optional bool readOnly=4;repeated string wwids=5;}
message FileKeySelector{optional string volumeName=1 [(keep)=true];optional string path=2 [(keep)=true];optional string key=3 [(keep)=true];optional bool optional=4 [(ptr)=true];}
message FlexVolumeSource{optional string driver=1 [(keep)=true];optional string fsType=2;optional LocalObjectReference secretRef=3 [(ptr)=true];optional bool readOnly=4;map<string,string> options=5;}
message FlockerVolumeSource{optional string datasetName=1;optional string datasetUUID=2;}
message GCEPersistentDiskVolumeSource{optional string pdName=1 [(keep)=true];optional string fsType=2;optional int32 partition=3;optional bool readOnly=4;}
message GRPCAction{optional int32 port=1 [(keep)=true];optional string service=2 [(ptr)=true];}
message GitRepoVolumeSource{optional string repository=1 [(keep)=true];optional string revision=2;optional string directory=3;}
message GlusterfsVolumeSource{optional string endpoints=1 [(keep)=true];optional string path=2 [(keep)=true];optional bool readOnly=3;}
message HTTPGetAction{optional string path=1;optional intstr.IntOrString port=2;optional string host=3;optional string scheme=4;repeated HTTPHeader httpHeaders=5;}
message HTTPHeader{optional string name=1 [(keep)=true];optional string value=2 [(keep)=true];}
message HostAlias{optional string ip=1 [(keep)=true];repeated string hostnames=2;}
message HostIP{optional string ip=1 [(keep)=true];}
message HostPathVolumeSource{optional string path=1 [(keep)=true];optional string type=2 [(ptr)=true];}
message ISCSIVolumeSource{optional string targetPortal=1 [(keep)=true];optional string iqn=2 [(keep)=true];optional int32 lun=3 [(keep)=true];optional string iscsiInterface=4;optional string fsType=5;optional bool readOnly=6;repeated string portals=7;optional bool chapAuthDiscovery=8;optional bool chapAuthSession=11;optional LocalObjectReference secretRef=10 [(ptr)=true];optional string initiatorName=12 [(ptr)=true];}
message ImageVolumeSource{optional string reference=1;optional string pullPolicy=2;}
message ImageVolumeStatus{optional string imageRef=1;}
message KeyToPath{optional string key=1 [(keep)=true];optional string path=2 [(keep)=true];optional int32 mode=3 [(ptr)=true];}
message Lifecycle{optional LifecycleHandler postStart=1 [(ptr)=true];optional LifecycleHandler preStop=2 [(ptr)=true];optional string stopSignal=3 [(ptr)=true];}
message LifecycleHandler{optional ExecAction exec=1 [(ptr)=true];optional HTTPGetAction httpGet=2 [(ptr)=true];optional TCPSocketAction tcpSocket=3 [(ptr)=true];optional SleepAction sleep=4 [(ptr)=true];}
message LimitRange{optional meta.ObjectMeta metadata=1;optional LimitRangeSpec spec=2;}
message LimitRangeItem{optional string type=1 [(keep)=true];map<string,resource.Quantity> max=2;map<string,resource.Quantity> min=3;map<string,resource.Quantity> default=4;map<string,resource.Quantity> defaultRequest=5;map<string,resource.Quantity> maxLimitRequestRatio=6;}
message LimitRangeSpec{repeated LimitRangeItem limits=1;}
message LinuxContainerUser{optional int64 uid=1 [(keep)=true];optional int64 gid=2 [(keep)=true];repeated int64 supplementalGroups=3;}
message LoadBalancerIngress{optional string ip=1;optional string hostname=2;optional string ipMode=3 [(ptr)=true];repeated PortStatus ports=4;}
message LoadBalancerStatus{repeated LoadBalancerIngress ingress=1;}
message LocalObjectReference{optional string name=1;}
message ModifyVolumeStatus{optional string targetVolumeAttributesClassName=1;optional string status=2 [(keep)=true];}
message NFSVolumeSource{optional string server=1 [(keep)=true];optional string path=2 [(keep)=true];optional bool readOnly=3;}
message Namespace{optional meta.ObjectMeta metadata=1;optional NamespaceSpec spec=2;optional NamespaceStatus status=3;}
message NamespaceCondition{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];optional meta.Time lastTransitionTime=4;optional string reason=5;optional string message=6;}
message NamespaceSpec{repeated string finalizers=1;}
message NamespaceStatus{optional string phase=1;repeated NamespaceCondition conditions=2;}
message NodeAffinity{optional NodeSelector requiredDuringSchedulingIgnoredDuringExecution=1 [(ptr)=true];repeated PreferredSchedulingTerm preferredDuringSchedulingIgnoredDuringExecution=2;}
message NodeAllocatableResourceClaimStatus{optional string resourceClaimName=1 [(keep)=true];repeated string containers=2;map<string,resource.Quantity> resources=3;}
message NodeSelector{repeated NodeSelectorTerm nodeSelectorTerms=1;}
message NodeSelectorRequirement{optional string key=1 [(keep)=true];optional string operator=2 [(keep)=true];repeated string values=3;}
message NodeSelectorTerm{repeated NodeSelectorRequirement matchExpressions=1;repeated NodeSelectorRequirement matchFields=2;}
message ObjectFieldSelector{optional string apiVersion=1;optional string fieldPath=2 [(keep)=true];}
message ObjectReference{optional string kind=1;optional string namespace=2;optional string name=3;optional string uid=4;optional string apiVersion=5;optional string resourceVersion=6;optional string fieldPath=7;}
message PersistentVolumeClaim{optional meta.ObjectMeta metadata=1;optional PersistentVolumeClaimSpec spec=2;optional PersistentVolumeClaimStatus status=3;}
message PersistentVolumeClaimCondition{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];optional meta.Time lastProbeTime=3;optional meta.Time lastTransitionTime=4;optional string reason=5;optional string message=6;}
message PersistentVolumeClaimSpec{repeated string accessModes=1;optional meta.LabelSelector selector=4 [(ptr)=true];optional VolumeResourceRequirements resources=2;optional string volumeName=3;optional string storageClassName=5 [(ptr)=true];optional string volumeMode=6 [(ptr)=true];optional TypedLocalObjectReference dataSource=7 [(ptr)=true];optional TypedObjectReference dataSourceRef=8 [(ptr)=true];optional string volumeAttributesClassName=9 [(ptr)=true];}
message PersistentVolumeClaimStatus{optional string phase=1;repeated string accessModes=2;map<string,resource.Quantity> capacity=3;repeated PersistentVolumeClaimCondition conditions=4;map<string,resource.Quantity> allocatedResources=5;map<string,string> allocatedResourceStatuses=7;optional string currentVolumeAttributesClassName=8 [(ptr)=true];optional ModifyVolumeStatus modifyVolumeStatus=9 [(ptr)=true];}
message PersistentVolumeClaimTemplate{optional meta.ObjectMeta metadata=1;optional PersistentVolumeClaimSpec spec=2;}
message PersistentVolumeClaimVolumeSource{optional string claimName=1 [(keep)=true];optional bool readOnly=2;}
message PhotonPersistentDiskVolumeSource{optional string pdID=1 [(keep)=true];optional string fsType=2;}
message Pod{optional meta.ObjectMeta metadata=1;optional PodSpec spec=2;optional PodStatus status=3;}
message PodAffinity{repeated PodAffinityTerm requiredDuringSchedulingIgnoredDuringExecution=1;repeated WeightedPodAffinityTerm preferredDuringSchedulingIgnoredDuringExecution=2;}
message PodAffinityTerm{optional meta.LabelSelector labelSelector=1 [(ptr)=true];repeated string namespaces=2;optional string topologyKey=3 [(keep)=true];optional meta.LabelSelector namespaceSelector=4 [(ptr)=true];repeated string matchLabelKeys=5;repeated string mismatchLabelKeys=6;}
message PodAntiAffinity{repeated PodAffinityTerm requiredDuringSchedulingIgnoredDuringExecution=1;repeated WeightedPodAffinityTerm preferredDuringSchedulingIgnoredDuringExecution=2;}
message PodCertificateProjection{optional string signerName=1;optional string keyType=2;optional int32 maxExpirationSeconds=3 [(ptr)=true];optional string credentialBundlePath=4;optional string keyPath=5;optional string certificateChainPath=6;map<string,string> userAnnotations=7;}
message PodCondition{optional string type=1 [(keep)=true];optional int64 observedGeneration=7;optional string status=2 [(keep)=true];optional meta.Time lastProbeTime=3;optional meta.Time lastTransitionTime=4;optional string reason=5;optional string message=6;}
message PodDNSConfig{repeated string nameservers=1;repeated string searches=2;repeated PodDNSConfigOption options=3;}
message PodDNSConfigOption{optional string name=1;optional string value=2 [(ptr)=true];}
message PodExtendedResourceClaimStatus{repeated ContainerExtendedResourceRequest requestMappings=1;optional string resourceClaimName=2 [(keep)=true];}
message PodIP{optional string ip=1 [(keep)=true];}
message PodOS{optional string name=1 [(keep)=true];}
message PodReadinessGate{optional string conditionType=1 [(keep)=true];}
message PodResourceClaim{optional string name=1 [(keep)=true];optional string resourceClaimName=3 [(ptr)=true];optional string resourceClaimTemplateName=4 [(ptr)=true];}
message PodResourceClaimStatus{optional string name=1 [(keep)=true];optional string resourceClaimName=2 [(ptr)=true];}
message PodSchedulingGate{optional string name=1 [(keep)=true];}
message PodSchedulingGroup{optional string podGroupName=1 [(ptr)=true];}
message PodSecurityContext{optional SELinuxOptions seLinuxOptions=1 [(ptr)=true];optional WindowsSecurityContextOptions windowsOptions=8 [(ptr)=true];optional int64 runAsUser=2 [(ptr)=true];optional int64 runAsGroup=6 [(ptr)=true];optional bool runAsNonRoot=3 [(ptr)=true];repeated int64 supplementalGroups=4;optional string supplementalGroupsPolicy=12 [(ptr)=true];optional int64 fsGroup=5 [(ptr)=true];repeated Sysctl sysctls=7;optional string fsGroupChangePolicy=9 [(ptr)=true];optional SeccompProfile seccompProfile=10 [(ptr)=true];optional AppArmorProfile appArmorProfile=11 [(ptr)=true];optional string seLinuxChangePolicy=13 [(ptr)=true];}
message PodSpec{repeated Volume volumes=1;repeated Container initContainers=20;repeated Container containers=2;repeated EphemeralContainer ephemeralContainers=34;optional string restartPolicy=3;optional int64 terminationGracePeriodSeconds=4 [(ptr)=true];optional int64 activeDeadlineSeconds=5 [(ptr)=true];optional string dnsPolicy=6;map<string,string> nodeSelector=7;optional string serviceAccountName=8;optional string serviceAccount=9;optional bool automountServiceAccountToken=21 [(ptr)=true];optional string nodeName=10;optional bool hostNetwork=11;optional bool hostPID=12;optional bool hostIPC=13;optional bool shareProcessNamespace=27 [(ptr)=true];optional PodSecurityContext securityContext=14 [(ptr)=true];repeated LocalObjectReference imagePullSecrets=15;optional string hostname=16;optional string subdomain=17;optional Affinity affinity=18 [(ptr)=true];optional string schedulerName=19;repeated Toleration tolerations=22;repeated HostAlias hostAliases=23;optional string priorityClassName=24;optional int32 priority=25 [(ptr)=true];optional PodDNSConfig dnsConfig=26 [(ptr)=true];repeated PodReadinessGate readinessGates=28;optional string runtimeClassName=29 [(ptr)=true];optional bool enableServiceLinks=30 [(ptr)=true];optional string preemptionPolicy=31 [(ptr)=true];map<string,resource.Quantity> overhead=32;repeated TopologySpreadConstraint topologySpreadConstraints=33;optional bool setHostnameAsFQDN=35 [(ptr)=true];optional PodOS os=36 [(ptr)=true];optional bool hostUsers=37 [(ptr)=true];repeated PodSchedulingGate schedulingGates=38;repeated PodResourceClaim resourceClaims=39;optional ResourceRequirements resources=40 [(ptr)=true];optional string hostnameOverride=41 [(ptr)=true];optional PodSchedulingGroup schedulingGroup=43 [(ptr)=true];}
message PodStatus{optional int64 observedGeneration=17;optional string phase=1;repeated PodCondition conditions=2;optional string message=3;optional string reason=4;optional string nominatedNodeName=11;optional string hostIP=5;repeated HostIP hostIPs=16;optional string podIP=6;repeated PodIP podIPs=12;optional meta.Time startTime=7 [(ptr)=true];repeated ContainerStatus initContainerStatuses=10;repeated ContainerStatus containerStatuses=8;optional string qosClass=9;repeated ContainerStatus ephemeralContainerStatuses=13;optional string resize=14;repeated PodResourceClaimStatus resourceClaimStatuses=15;optional PodExtendedResourceClaimStatus extendedResourceClaimStatus=18 [(ptr)=true];map<string,resource.Quantity> allocatedResources=19;optional ResourceRequirements resources=20 [(ptr)=true];repeated NodeAllocatableResourceClaimStatus nodeAllocatableResourceClaimStatuses=21;}
message PodTemplate{optional meta.ObjectMeta metadata=1;optional PodTemplateSpec template=2;}
message PodTemplateSpec{optional meta.ObjectMeta metadata=1;optional PodSpec spec=2;}
message PortStatus{optional int32 port=1 [(keep)=true];optional string protocol=2 [(keep)=true];optional string error=3 [(ptr)=true];}
message PortworxVolumeSource{optional string volumeID=1 [(keep)=true];optional string fsType=2;optional bool readOnly=3;}
message PreferredSchedulingTerm{optional int32 weight=1 [(keep)=true];optional NodeSelectorTerm preference=2;}
message Probe{optional ProbeHandler handler=1 [(inline)=true];optional int32 initialDelaySeconds=2;optional int32 timeoutSeconds=3;optional int32 periodSeconds=4;optional int32 successThreshold=5;optional int32 failureThreshold=6;optional int64 terminationGracePeriodSeconds=7 [(ptr)=true];}
message ProbeHandler{optional ExecAction exec=1 [(ptr)=true];optional HTTPGetAction httpGet=2 [(ptr)=true];optional TCPSocketAction tcpSocket=3 [(ptr)=true];optional GRPCAction grpc=4 [(ptr)=true];}
message ProjectedVolumeSource{repeated VolumeProjection sources=1;optional int32 defaultMode=2 [(ptr)=true];}
message QuobyteVolumeSource{optional string registry=1 [(keep)=true];optional string volume=2 [(keep)=true];optional bool readOnly=3;optional string user=4;optional string group=5;optional string tenant=6;}
message RBDVolumeSource{repeated string monitors=1;optional string image=2 [(keep)=true];optional string fsType=3;optional string pool=4;optional string user=5;optional string keyring=6;optional LocalObjectReference secretRef=7 [(ptr)=true];optional bool readOnly=8;}
message ReplicationController{optional meta.ObjectMeta metadata=1;optional ReplicationControllerSpec spec=2;optional ReplicationControllerStatus status=3;}
message ReplicationControllerCondition{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];optional meta.Time lastTransitionTime=3;optional string reason=4;optional string message=5;}
message ReplicationControllerSpec{optional int32 replicas=1 [(ptr)=true];optional int32 minReadySeconds=4;map<string,string> selector=2;optional PodTemplateSpec template=3 [(ptr)=true];}
message ReplicationControllerStatus{optional int32 replicas=1 [(keep)=true];optional int32 fullyLabeledReplicas=2;optional int32 readyReplicas=4;optional int32 availableReplicas=5;optional int64 observedGeneration=3;repeated ReplicationControllerCondition conditions=6;}
message ResourceClaim{optional string name=1 [(keep)=true];optional string request=2;}
message ResourceFieldSelector{optional string containerName=1;optional string resource=2 [(keep)=true];optional resource.Quantity divisor=3;}
message ResourceHealth{optional string resourceID=1 [(keep)=true];optional string health=2;optional string message=6 [(ptr)=true];}
message ResourceQuota{optional meta.ObjectMeta metadata=1;optional ResourceQuotaSpec spec=2;optional ResourceQuotaStatus status=3;}
message ResourceQuotaSpec{map<string,resource.Quantity> hard=1;repeated string scopes=2;optional ScopeSelector scopeSelector=3 [(ptr)=true];}
message ResourceQuotaStatus{map<string,resource.Quantity> hard=1;map<string,resource.Quantity> used=2;}
message ResourceRequirements{map<string,resource.Quantity> limits=1;map<string,resource.Quantity> requests=2;repeated ResourceClaim claims=3;}
message ResourceStatus{optional string name=1 [(keep)=true];repeated ResourceHealth resources=2;}
message SELinuxOptions{optional string user=1;optional string role=2;optional string type=3;optional string level=4;}
message ScaleIOVolumeSource{optional string gateway=1 [(keep)=true];optional string system=2 [(keep)=true];optional LocalObjectReference secretRef=3 [(ptr)=true];optional bool sslEnabled=4;optional string protectionDomain=5;optional string storagePool=6;optional string storageMode=7;optional string volumeName=8;optional string fsType=9;optional bool readOnly=10;}
message ScopeSelector{repeated ScopedResourceSelectorRequirement matchExpressions=1;}
message ScopedResourceSelectorRequirement{optional string scopeName=1 [(keep)=true];optional string operator=2 [(keep)=true];repeated string values=3;}
message SeccompProfile{optional string type=1 [(keep)=true];optional string localhostProfile=2 [(ptr)=true];}
message Secret{optional meta.ObjectMeta metadata=1;optional bool immutable=5 [(ptr)=true];map<string,bytes> data=2;map<string,string> stringData=4;optional string type=3;}
message SecretEnvSource{optional LocalObjectReference localObjectReference=1 [(inline)=true];optional bool optional=2 [(ptr)=true];}
message SecretKeySelector{optional LocalObjectReference localObjectReference=1 [(inline)=true];optional string key=2 [(keep)=true];optional bool optional=3 [(ptr)=true];}
message SecretProjection{optional LocalObjectReference localObjectReference=1 [(inline)=true];repeated KeyToPath items=2;optional bool optional=4 [(ptr)=true];}
message SecretVolumeSource{optional string secretName=1;repeated KeyToPath items=2;optional int32 defaultMode=3 [(ptr)=true];optional bool optional=4 [(ptr)=true];}
message SecurityContext{optional Capabilities capabilities=1 [(ptr)=true];optional bool privileged=2 [(ptr)=true];optional SELinuxOptions seLinuxOptions=3 [(ptr)=true];optional WindowsSecurityContextOptions windowsOptions=10 [(ptr)=true];optional int64 runAsUser=4 [(ptr)=true];optional int64 runAsGroup=8 [(ptr)=true];optional bool runAsNonRoot=5 [(ptr)=true];optional bool readOnlyRootFilesystem=6 [(ptr)=true];optional bool allowPrivilegeEscalation=7 [(ptr)=true];optional string procMount=9 [(ptr)=true];optional SeccompProfile seccompProfile=11 [(ptr)=true];optional AppArmorProfile appArmorProfile=12 [(ptr)=true];}
message Service{optional meta.ObjectMeta metadata=1;optional ServiceSpec spec=2;optional ServiceStatus status=3;}
message ServiceAccount{optional meta.ObjectMeta metadata=1;repeated ObjectReference secrets=2;repeated LocalObjectReference imagePullSecrets=3;optional bool automountServiceAccountToken=4 [(ptr)=true];}
message ServiceAccountTokenProjection{optional string audience=1;optional int64 expirationSeconds=2 [(ptr)=true];optional string path=3 [(keep)=true];}
message ServicePort{optional string name=1;optional string protocol=2;optional string appProtocol=6 [(ptr)=true];optional int32 port=3 [(keep)=true];optional intstr.IntOrString targetPort=4;optional int32 nodePort=5;}
message ServiceSpec{repeated ServicePort ports=1;map<string,string> selector=2;optional string clusterIP=3;repeated string clusterIPs=18;optional string type=4;repeated string externalIPs=5;optional string sessionAffinity=7;optional string loadBalancerIP=8;repeated string loadBalancerSourceRanges=9;optional string externalName=10;optional string externalTrafficPolicy=11;optional int32 healthCheckNodePort=12;optional bool publishNotReadyAddresses=13;optional SessionAffinityConfig sessionAffinityConfig=14 [(ptr)=true];repeated string ipFamilies=19;optional string ipFamilyPolicy=17 [(ptr)=true];optional bool allocateLoadBalancerNodePorts=20 [(ptr)=true];optional string loadBalancerClass=21 [(ptr)=true];optional string internalTrafficPolicy=22 [(ptr)=true];optional string trafficDistribution=23 [(ptr)=true];}
message ServiceStatus{optional LoadBalancerStatus loadBalancer=1;repeated meta.Condition conditions=2;}
message SessionAffinityConfig{optional ClientIPConfig clientIP=1 [(ptr)=true];}
message SleepAction{optional int64 seconds=1 [(keep)=true];}
message StorageOSVolumeSource{optional string volumeName=1;optional string volumeNamespace=2;optional string fsType=3;optional bool readOnly=4;optional LocalObjectReference secretRef=5 [(ptr)=true];}
message Sysctl{optional string name=1 [(keep)=true];optional string value=2 [(keep)=true];}
message TCPSocketAction{optional intstr.IntOrString port=1;optional string host=2;}
message Toleration{optional string key=1;optional string operator=2;optional string value=3;optional string effect=4;optional int64 tolerationSeconds=5 [(ptr)=true];}
message TopologySpreadConstraint{optional int32 maxSkew=1 [(keep)=true];optional string topologyKey=2 [(keep)=true];optional string whenUnsatisfiable=3 [(keep)=true];optional meta.LabelSelector labelSelector=4 [(ptr)=true];optional int32 minDomains=5 [(ptr)=true];optional string nodeAffinityPolicy=6 [(ptr)=true];optional string nodeTaintsPolicy=7 [(ptr)=true];repeated string matchLabelKeys=8;}
message TypedLocalObjectReference{optional string apiGroup=1 [(ptr)=true];optional string kind=2 [(keep)=true];optional string name=3 [(keep)=true];}
message TypedObjectReference{optional string apiGroup=1 [(ptr)=true];optional string kind=2 [(keep)=true];optional string name=3 [(keep)=true];optional string namespace=4 [(ptr)=true];}
message Volume{optional string name=1 [(keep)=true];optional VolumeSource volumeSource=2 [(inline)=true];}
message VolumeDevice{optional string name=1 [(keep)=true];optional string devicePath=2 [(keep)=true];}
message VolumeMount{optional string name=1 [(keep)=true];optional bool readOnly=2;optional string recursiveReadOnly=7 [(ptr)=true];optional string mountPath=3 [(keep)=true];optional string subPath=4;optional string mountPropagation=5 [(ptr)=true];optional string subPathExpr=6;}
message VolumeMountStatus{optional string name=1 [(keep)=true];optional string mountPath=2 [(keep)=true];optional bool readOnly=3;optional string recursiveReadOnly=4 [(ptr)=true];optional VolumeStatus volumeStatus=5 [(ptr)=true];}
message VolumeProjection{optional SecretProjection secret=1 [(ptr)=true];optional DownwardAPIProjection downwardAPI=2 [(ptr)=true];optional ConfigMapProjection configMap=3 [(ptr)=true];optional ServiceAccountTokenProjection serviceAccountToken=4 [(ptr)=true];optional ClusterTrustBundleProjection clusterTrustBundle=5 [(ptr)=true];optional PodCertificateProjection podCertificate=6 [(ptr)=true];}
message VolumeResourceRequirements{map<string,resource.Quantity> limits=1;map<string,resource.Quantity> requests=2;}
message VolumeSource{optional HostPathVolumeSource hostPath=1 [(ptr)=true];optional EmptyDirVolumeSource emptyDir=2 [(ptr)=true];optional GCEPersistentDiskVolumeSource gcePersistentDisk=3 [(ptr)=true];optional AWSElasticBlockStoreVolumeSource awsElasticBlockStore=4 [(ptr)=true];optional GitRepoVolumeSource gitRepo=5 [(ptr)=true];optional SecretVolumeSource secret=6 [(ptr)=true];optional NFSVolumeSource nfs=7 [(ptr)=true];optional ISCSIVolumeSource iscsi=8 [(ptr)=true];optional GlusterfsVolumeSource glusterfs=9 [(ptr)=true];optional PersistentVolumeClaimVolumeSource persistentVolumeClaim=10 [(ptr)=true];optional RBDVolumeSource rbd=11 [(ptr)=true];optional FlexVolumeSource flexVolume=12 [(ptr)=true];optional CinderVolumeSource cinder=13 [(ptr)=true];optional CephFSVolumeSource cephfs=14 [(ptr)=true];optional FlockerVolumeSource flocker=15 [(ptr)=true];optional DownwardAPIVolumeSource downwardAPI=16 [(ptr)=true];optional FCVolumeSource fc=17 [(ptr)=true];optional AzureFileVolumeSource azureFile=18 [(ptr)=true];optional ConfigMapVolumeSource configMap=19 [(ptr)=true];optional VsphereVirtualDiskVolumeSource vsphereVolume=20 [(ptr)=true];optional QuobyteVolumeSource quobyte=21 [(ptr)=true];optional AzureDiskVolumeSource azureDisk=22 [(ptr)=true];optional PhotonPersistentDiskVolumeSource photonPersistentDisk=23 [(ptr)=true];optional ProjectedVolumeSource projected=26 [(ptr)=true];optional PortworxVolumeSource portworxVolume=24 [(ptr)=true];optional ScaleIOVolumeSource scaleIO=25 [(ptr)=true];optional StorageOSVolumeSource storageos=27 [(ptr)=true];optional CSIVolumeSource csi=28 [(ptr)=true];optional EphemeralVolumeSource ephemeral=29 [(ptr)=true];optional ImageVolumeSource image=30 [(ptr)=true];}
message VolumeStatus{optional ImageVolumeStatus image=1 [(ptr)=true];}
message VsphereVirtualDiskVolumeSource{optional string volumePath=1 [(keep)=true];optional string fsType=2;optional string storagePolicyName=3;optional string storagePolicyID=4;}
message WeightedPodAffinityTerm{optional int32 weight=1 [(keep)=true];optional PodAffinityTerm podAffinityTerm=2;}
message WindowsSecurityContextOptions{optional string gmsaCredentialSpecName=1 [(ptr)=true];optional string gmsaCredentialSpec=2 [(ptr)=true];optional string runAsUserName=3 [(ptr)=true];optional bool hostProcess=4 [(ptr)=true];}
package apps;
message DaemonSet{optional meta.ObjectMeta metadata=1;optional DaemonSetSpec spec=2;optional DaemonSetStatus status=3;}
message DaemonSetCondition{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];optional meta.Time lastTransitionTime=3;optional string reason=4;optional string message=5;}
message DaemonSetSpec{optional meta.LabelSelector selector=1 [(ptr)=true];optional core.PodTemplateSpec template=2;optional DaemonSetUpdateStrategy updateStrategy=3;optional int32 minReadySeconds=4;optional int32 revisionHistoryLimit=6 [(ptr)=true];}
message DaemonSetStatus{optional int32 currentNumberScheduled=1 [(keep)=true];optional int32 numberMisscheduled=2 [(keep)=true];optional int32 desiredNumberScheduled=3 [(keep)=true];optional int32 numberReady=4 [(keep)=true];optional int64 observedGeneration=5;optional int32 updatedNumberScheduled=6;optional int32 numberAvailable=7;optional int32 numberUnavailable=8;optional int32 collisionCount=9 [(ptr)=true];repeated DaemonSetCondition conditions=10;}
message DaemonSetUpdateStrategy{optional string type=1;optional RollingUpdateDaemonSet rollingUpdate=2 [(ptr)=true];}
message Deployment{optional meta.ObjectMeta metadata=1;optional DeploymentSpec spec=2;optional DeploymentStatus status=3;}
message DeploymentCondition{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];optional meta.Time lastUpdateTime=6;optional meta.Time lastTransitionTime=7;optional string reason=4;optional string message=5;}
message DeploymentSpec{optional int32 replicas=1 [(ptr)=true];optional meta.LabelSelector selector=2 [(ptr)=true];optional core.PodTemplateSpec template=3;optional DeploymentStrategy strategy=4;optional int32 minReadySeconds=5;optional int32 revisionHistoryLimit=6 [(ptr)=true];optional bool paused=7;optional int32 progressDeadlineSeconds=9 [(ptr)=true];}
message DeploymentStatus{optional int64 observedGeneration=1;optional int32 replicas=2;optional int32 updatedReplicas=3;optional int32 readyReplicas=7;optional int32 availableReplicas=4;optional int32 unavailableReplicas=5;optional int32 terminatingReplicas=9 [(ptr)=true];repeated DeploymentCondition conditions=6;optional int32 collisionCount=8 [(ptr)=true];}
message DeploymentStrategy{optional string type=1;optional RollingUpdateDeployment rollingUpdate=2 [(ptr)=true];}
message ReplicaSet{optional meta.ObjectMeta metadata=1;optional ReplicaSetSpec spec=2;optional ReplicaSetStatus status=3;}
message ReplicaSetCondition{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];optional meta.Time lastTransitionTime=3;optional string reason=4;optional string message=5;}
message ReplicaSetSpec{optional int32 replicas=1 [(ptr)=true];optional int32 minReadySeconds=4;optional meta.LabelSelector selector=2 [(ptr)=true];optional core.PodTemplateSpec template=3;}
message ReplicaSetStatus{optional int32 replicas=1 [(keep)=true];optional int32 fullyLabeledReplicas=2;optional int32 readyReplicas=4;optional int32 availableReplicas=5;optional int32 terminatingReplicas=7 [(ptr)=true];optional int64 observedGeneration=3;repeated ReplicaSetCondition conditions=6;}
message RollingUpdateDaemonSet{optional intstr.IntOrString maxUnavailable=1 [(ptr)=true];optional intstr.IntOrString maxSurge=2 [(ptr)=true];}
message RollingUpdateDeployment{optional intstr.IntOrString maxUnavailable=1 [(ptr)=true];optional intstr.IntOrString maxSurge=2 [(ptr)=true];}
message RollingUpdateStatefulSetStrategy{optional int32 partition=1 [(ptr)=true];optional intstr.IntOrString maxUnavailable=2 [(ptr)=true];}
message StatefulSet{optional meta.ObjectMeta metadata=1;optional StatefulSetSpec spec=2;optional StatefulSetStatus status=3;}
message StatefulSetCondition{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];optional meta.Time lastTransitionTime=3;optional string reason=4;optional string message=5;}
message StatefulSetOrdinals{optional int32 start=1 [(keep)=true];}
message StatefulSetPersistentVolumeClaimRetentionPolicy{optional string whenDeleted=1;optional string whenScaled=2;}
message StatefulSetSpec{optional int32 replicas=1 [(ptr)=true];optional meta.LabelSelector selector=2 [(ptr)=true];optional core.PodTemplateSpec template=3;repeated core.PersistentVolumeClaim volumeClaimTemplates=4;optional string serviceName=5 [(keep)=true];optional string podManagementPolicy=6;optional StatefulSetUpdateStrategy updateStrategy=7;optional int32 revisionHistoryLimit=8 [(ptr)=true];optional int32 minReadySeconds=9;optional StatefulSetPersistentVolumeClaimRetentionPolicy persistentVolumeClaimRetentionPolicy=10 [(ptr)=true];optional StatefulSetOrdinals ordinals=11 [(ptr)=true];}
message StatefulSetStatus{optional int64 observedGeneration=1;optional int32 replicas=2 [(keep)=true];optional int32 readyReplicas=3;optional int32 currentReplicas=4;optional int32 updatedReplicas=5;optional string currentRevision=6;optional string updateRevision=7;optional int32 collisionCount=9 [(ptr)=true];repeated StatefulSetCondition conditions=10;optional int32 availableReplicas=11 [(keep)=true];}
message StatefulSetUpdateStrategy{optional string type=1;optional RollingUpdateStatefulSetStrategy rollingUpdate=2 [(ptr)=true];}
package batch;
message CronJob{optional meta.ObjectMeta metadata=1;optional CronJobSpec spec=2;optional CronJobStatus status=3;}
message CronJobSpec{optional string schedule=1 [(keep)=true];optional string timeZone=8 [(ptr)=true];optional int64 startingDeadlineSeconds=2 [(ptr)=true];optional string concurrencyPolicy=3;optional bool suspend=4 [(ptr)=true];optional JobTemplateSpec jobTemplate=5;optional int32 successfulJobsHistoryLimit=6 [(ptr)=true];optional int32 failedJobsHistoryLimit=7 [(ptr)=true];}
message CronJobStatus{repeated core.ObjectReference active=1;optional meta.Time lastScheduleTime=4 [(ptr)=true];optional meta.Time lastSuccessfulTime=5 [(ptr)=true];}
message Job{optional meta.ObjectMeta metadata=1;optional JobSpec spec=2;optional JobStatus status=3;}
message JobCondition{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];optional meta.Time lastProbeTime=3;optional meta.Time lastTransitionTime=4;optional string reason=5;optional string message=6;}
message JobSpec{optional int32 parallelism=1 [(ptr)=true];optional int32 completions=2 [(ptr)=true];optional int64 activeDeadlineSeconds=3 [(ptr)=true];optional PodFailurePolicy podFailurePolicy=11 [(ptr)=true];optional SuccessPolicy successPolicy=16 [(ptr)=true];optional int32 backoffLimit=7 [(ptr)=true];optional int32 backoffLimitPerIndex=12 [(ptr)=true];optional int32 maxFailedIndexes=13 [(ptr)=true];optional meta.LabelSelector selector=4 [(ptr)=true];optional bool manualSelector=5 [(ptr)=true];optional core.PodTemplateSpec template=6;optional int32 ttlSecondsAfterFinished=8 [(ptr)=true];optional string completionMode=9 [(ptr)=true];optional bool suspend=10 [(ptr)=true];optional string podReplacementPolicy=14 [(ptr)=true];optional string managedBy=15 [(ptr)=true];}
message JobStatus{repeated JobCondition conditions=1;optional meta.Time startTime=2 [(ptr)=true];optional meta.Time completionTime=3 [(ptr)=true];optional int32 active=4;optional int32 succeeded=5;optional int32 failed=6;optional int32 terminating=11 [(ptr)=true];optional string completedIndexes=7;optional string failedIndexes=10 [(ptr)=true];optional UncountedTerminatedPods uncountedTerminatedPods=8 [(ptr)=true];optional int32 ready=9 [(ptr)=true];}
message JobTemplateSpec{optional meta.ObjectMeta metadata=1;optional JobSpec spec=2;}
message PodFailurePolicy{repeated PodFailurePolicyRule rules=1;}
message PodFailurePolicyOnExitCodesRequirement{optional string containerName=1 [(ptr)=true];optional string operator=2 [(keep)=true];repeated int32 values=3;}
message PodFailurePolicyOnPodConditionsPattern{optional string type=1 [(keep)=true];optional string status=2 [(keep)=true];}
message PodFailurePolicyRule{optional string action=1 [(keep)=true];optional PodFailurePolicyOnExitCodesRequirement onExitCodes=2 [(ptr)=true];repeated PodFailurePolicyOnPodConditionsPattern onPodConditions=3;}
message SuccessPolicy{repeated SuccessPolicyRule rules=1;}
message SuccessPolicyRule{optional string succeededIndexes=1 [(ptr)=true];optional int32 succeededCount=2 [(ptr)=true];}
message UncountedTerminatedPods{repeated string succeeded=1;repeated string failed=2;}
package rbac;
message AggregationRule{repeated meta.LabelSelector clusterRoleSelectors=1;}
message ClusterRole{optional meta.ObjectMeta metadata=1;repeated PolicyRule rules=2;optional AggregationRule aggregationRule=3 [(ptr)=true];}
message ClusterRoleBinding{optional meta.ObjectMeta metadata=1;repeated Subject subjects=2;optional RoleRef roleRef=3;}
message PolicyRule{repeated string verbs=1;repeated string apiGroups=2;repeated string resources=3;repeated string resourceNames=4;repeated string nonResourceURLs=5;}
message Role{optional meta.ObjectMeta metadata=1;repeated PolicyRule rules=2;}
message RoleBinding{optional meta.ObjectMeta metadata=1;repeated Subject subjects=2;optional RoleRef roleRef=3;}
message RoleRef{optional string apiGroup=1 [(keep)=true];optional string kind=2 [(keep)=true];optional string name=3 [(keep)=true];}
message Subject{optional string kind=1 [(keep)=true];optional string apiGroup=2;optional string name=3 [(keep)=true];optional string namespace=4;}
package networking;
message HTTPIngressPath{optional string path=1;optional string pathType=3 [(ptr)=true];optional IngressBackend backend=2;}
message HTTPIngressRuleValue{repeated HTTPIngressPath paths=1;}
message IPBlock{optional string cidr=1 [(keep)=true];repeated string except=2;}
message Ingress{optional meta.ObjectMeta metadata=1;optional IngressSpec spec=2;optional IngressStatus status=3;}
message IngressBackend{optional IngressServiceBackend service=4 [(ptr)=true];optional core.TypedLocalObjectReference resource=3 [(ptr)=true];}
message IngressClass{optional meta.ObjectMeta metadata=1;optional IngressClassSpec spec=2;}
message IngressClassParametersReference{optional string aPIGroup=1 [(json)="apiGroup", (ptr)=true];optional string kind=2 [(keep)=true];optional string name=3 [(keep)=true];optional string scope=4 [(ptr)=true];optional string namespace=5 [(ptr)=true];}
message IngressClassSpec{optional string controller=1;optional IngressClassParametersReference parameters=2 [(ptr)=true];}
message IngressLoadBalancerIngress{optional string ip=1;optional string hostname=2;repeated IngressPortStatus ports=4;}
message IngressLoadBalancerStatus{repeated IngressLoadBalancerIngress ingress=1;}
message IngressPortStatus{optional int32 port=1 [(keep)=true];optional string protocol=2 [(keep)=true];optional string error=3 [(ptr)=true];}
message IngressRule{optional string host=1;optional IngressRuleValue ingressRuleValue=2 [(inline)=true];}
message IngressRuleValue{optional HTTPIngressRuleValue http=1 [(ptr)=true];}
message IngressServiceBackend{optional string name=1 [(keep)=true];optional ServiceBackendPort port=2;}
message IngressSpec{optional string ingressClassName=4 [(ptr)=true];optional IngressBackend defaultBackend=1 [(ptr)=true];repeated IngressTLS tls=2;repeated IngressRule rules=3;}
message IngressStatus{optional IngressLoadBalancerStatus loadBalancer=1;}
message IngressTLS{repeated string hosts=1;optional string secretName=2;}
message NetworkPolicy{optional meta.ObjectMeta metadata=1;optional NetworkPolicySpec spec=2;}
message NetworkPolicyEgressRule{repeated NetworkPolicyPort ports=1;repeated NetworkPolicyPeer to=2;}
message NetworkPolicyIngressRule{repeated NetworkPolicyPort ports=1;repeated NetworkPolicyPeer from=2;}
message NetworkPolicyPeer{optional meta.LabelSelector podSelector=1 [(ptr)=true];optional meta.LabelSelector namespaceSelector=2 [(ptr)=true];optional IPBlock ipBlock=3 [(ptr)=true];}
message NetworkPolicyPort{optional string protocol=1 [(ptr)=true];optional intstr.IntOrString port=2 [(ptr)=true];optional int32 endPort=3 [(ptr)=true];}
message NetworkPolicySpec{optional meta.LabelSelector podSelector=1;repeated NetworkPolicyIngressRule ingress=2;repeated NetworkPolicyEgressRule egress=3;repeated string policyTypes=4;}
message ServiceBackendPort{optional string name=1;optional int32 number=2;}
package policy;
message PodDisruptionBudget{optional meta.ObjectMeta metadata=1;optional PodDisruptionBudgetSpec spec=2;optional PodDisruptionBudgetStatus status=3;}
message PodDisruptionBudgetSpec{optional intstr.IntOrString minAvailable=1 [(ptr)=true];optional meta.LabelSelector selector=2 [(ptr)=true];optional intstr.IntOrString maxUnavailable=3 [(ptr)=true];optional string unhealthyPodEvictionPolicy=4 [(ptr)=true];}
message PodDisruptionBudgetStatus{optional int64 observedGeneration=1;map<string,meta.Time> disruptedPods=2;optional int32 disruptionsAllowed=3 [(keep)=true];optional int32 currentHealthy=4 [(keep)=true];optional int32 desiredHealthy=5 [(keep)=true];optional int32 expectedPods=6 [(keep)=true];repeated meta.Condition conditions=7;}
package authentication;
message BoundObjectReference{optional string kind=1;optional string apiVersion=2;optional string name=3;optional string uid=4;}
message TokenRequest{optional meta.ObjectMeta metadata=1;optional TokenRequestSpec spec=2;optional TokenRequestStatus status=3;}
message TokenRequestSpec{repeated string audiences=1;optional int64 expirationSeconds=4 [(ptr)=true];optional BoundObjectReference boundObjectRef=3 [(ptr)=true];}
message TokenRequestStatus{optional string token=1;optional meta.Time expirationTimestamp=2;}
message SelfSubjectReview{optional meta.ObjectMeta metadata=1;optional SelfSubjectReviewStatus status=2;}
message SelfSubjectReviewStatus{optional UserInfo userInfo=1;}
message UserInfo{optional string username=1;optional string uid=2;repeated string groups=3;}
package authorization;
message SelfSubjectAccessReview{optional meta.ObjectMeta metadata=1;optional SelfSubjectAccessReviewSpec spec=2;}
message SelfSubjectAccessReviewSpec{optional ResourceAttributes resourceAttributes=1 [(ptr)=true];optional NonResourceAttributes nonResourceAttributes=2 [(ptr)=true];}
message SubjectAccessReview{optional meta.ObjectMeta metadata=1;optional SubjectAccessReviewSpec spec=2;}
message LocalSubjectAccessReview{optional meta.ObjectMeta metadata=1;optional SubjectAccessReviewSpec spec=2;}
message SubjectAccessReviewSpec{optional ResourceAttributes resourceAttributes=1 [(ptr)=true];optional NonResourceAttributes nonResourceAttributes=2 [(ptr)=true];optional string user=3;repeated string groups=4;optional string uid=6;}
message ResourceAttributes{optional string namespace=1;optional string verb=2;optional string group=3;optional string version=4;optional string resource=5;optional string subresource=6;optional string name=7;optional FieldSelectorAttributes fieldSelector=8 [(ptr)=true];optional LabelSelectorAttributes labelSelector=9 [(ptr)=true];}
message NonResourceAttributes{optional string path=1;optional string verb=2;}
message FieldSelectorAttributes{optional string rawSelector=1;repeated FieldSelectorRequirement requirements=2;}
message FieldSelectorRequirement{optional string key=1;optional string operator=2;repeated string values=3;}
message LabelSelectorAttributes{optional string rawSelector=1;repeated meta.LabelSelectorRequirement requirements=2;}
message SelfSubjectRulesReview{optional meta.ObjectMeta metadata=1;optional SelfSubjectRulesReviewSpec spec=2;}
message SelfSubjectRulesReviewSpec{optional string namespace=1;}
package scheduling;
message PriorityClass{optional meta.ObjectMeta metadata=1;optional int32 value=2 [(keep)=true];optional bool globalDefault=3;optional string description=4;optional string preemptionPolicy=5 [(ptr)=true];}
`;
