// Debian's python3-kubernetes 22.6 (strict models: a response missing a required field raises).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { havePythonKubernetes, runPython } from '../helpers/python.js';
import { skipUnless } from '../helpers/skip.js';
import { kindManifests, scratchDir } from './support.js';

const PRELUDE = `
import json, os, sys, threading, time
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
config.load_kube_config(config_file=os.environ["KUBECONFIG"])
ns = os.environ["NS"]
out = {}
def status_of(e):
    body = json.loads(e.body)
    return {"code": e.status, "kind": body.get("kind"), "reason": body.get("reason"), "message": body.get("message")}
`;

async function python<T>(script: string, env: Record<string, string>): Promise<T> {
  const r = await runPython(`${PRELUDE}\n${script}\nprint(json.dumps(out))\n`, env, { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `python failed:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

describe('python3-kubernetes', skipUnless(havePythonKubernetes(), 'python3-kubernetes not installed (apt install python3-kubernetes)'), () => {
  let cluster: TestCluster;
  let env: Record<string, string>;
  const scratch = scratchDir();

  before(async () => {
    cluster = await startTestCluster({ controllers: ['namespace', 'storage-protection'] });
    env = { KUBECONFIG: cluster.kubeconfigPath, NS: 'py' };
    await cluster.kubectlOk(['create', '-f', scratch.write('ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: py}\n')]);
  });
  after(async () => {
    await cluster?.close();
    scratch.remove();
  });

  test('ConfigMap create, read, replace, patch, list, delete', async () => {
    const out = await python<Record<string, unknown>>(
      `
v1 = client.CoreV1Api()
cm = v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm", labels={"app": "py"}), data={"a": "1"}))
out["created"] = {"type": type(cm).__name__, "name": cm.metadata.name, "uid": cm.metadata.uid, "rv": cm.metadata.resource_version, "ts_type": type(cm.metadata.creation_timestamp).__name__}
r = v1.read_namespaced_config_map("py-cm", ns)
out["read"] = dict(r.data)
r.data["b"] = "2"
rep = v1.replace_namespaced_config_map("py-cm", ns, r)
out["replaced"] = {"data": rep.data, "rv": rep.metadata.resource_version}
r.data["b"] = "stale"
try:
    v1.replace_namespaced_config_map("py-cm", ns, r)
    out["stale"] = None
except ApiException as e:
    out["stale"] = status_of(e)
p = v1.patch_namespaced_config_map("py-cm", ns, {"data": {"c": "3"}})
out["patched"] = p.data
lst = v1.list_namespaced_config_map(ns, label_selector="app in (py,other)")
out["listed"] = [i.metadata.name for i in lst.items]
out["list_rv"] = lst.metadata.resource_version
st = v1.delete_namespaced_config_map("py-cm", ns)
out["deleted_type"] = type(st).__name__
try:
    v1.read_namespaced_config_map("py-cm", ns)
    out["gone"] = None
except ApiException as e:
    out["gone"] = status_of(e)
`,
      env,
    );
    const created = out.created as { type: string; name: string; uid: string; rv: string; ts_type: string };
    assert.equal(created.type, 'V1ConfigMap');
    assert.equal(created.name, 'py-cm');
    assert.match(created.uid, /^[0-9a-f-]{36}$/);
    assert.equal(created.ts_type, 'datetime', 'creationTimestamp parses as a datetime');
    assert.deepEqual(out.read, { a: '1' });
    const replaced = out.replaced as { data: Record<string, string>; rv: string };
    assert.deepEqual(replaced.data, { a: '1', b: '2' });
    assert.ok(Number(replaced.rv) > Number(created.rv));
    assert.deepEqual(out.stale && { code: (out.stale as { code: number }).code, reason: (out.stale as { reason: string }).reason }, { code: 409, reason: 'Conflict' });
    assert.deepEqual(out.patched, { a: '1', b: '2', c: '3' });
    assert.deepEqual(out.listed, ['py-cm']);
    assert.match(out.list_rv as string, /^\d+$/);
    assert.equal(out.deleted_type, 'V1Status');
    const gone = out.gone as { code: number; kind: string; reason: string; message: string };
    assert.deepEqual([gone.code, gone.kind, gone.reason], [404, 'Status', 'NotFound']);
    assert.match(gone.message, /configmaps "py-cm" not found/);
  });

  test('Deployment create, read, scale, status, list, delete', async () => {
    const out = await python<Record<string, unknown>>(
      `
apps = client.AppsV1Api()
body = client.V1Deployment(
    metadata=client.V1ObjectMeta(name="py-deploy", labels={"app": "py-deploy"}),
    spec=client.V1DeploymentSpec(
        replicas=2,
        selector=client.V1LabelSelector(match_labels={"app": "py-deploy"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "py-deploy"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="nginx:1.27", ports=[client.V1ContainerPort(container_port=80)])]))))
d = apps.create_namespaced_deployment(ns, body)
out["created"] = {"type": type(d).__name__, "generation": d.metadata.generation, "replicas": d.spec.replicas, "strategy": d.spec.strategy.type if d.spec.strategy else None}
r = apps.read_namespaced_deployment("py-deploy", ns)
out["read_image"] = r.spec.template.spec.containers[0].image
out["read_port"] = r.spec.template.spec.containers[0].ports[0].container_port
s = apps.read_namespaced_deployment_scale("py-deploy", ns)
out["scale"] = {"type": type(s).__name__, "replicas": s.spec.replicas, "selector": s.status.selector}
s2 = apps.patch_namespaced_deployment_scale("py-deploy", ns, {"spec": {"replicas": 3}})
out["scaled"] = s2.spec.replicas
r = apps.read_namespaced_deployment("py-deploy", ns)
r.status = client.V1DeploymentStatus(replicas=3, ready_replicas=2, observed_generation=r.metadata.generation,
    conditions=[client.V1DeploymentCondition(type="Available", status="True", reason="MinimumReplicasAvailable")])
st = apps.replace_namespaced_deployment_status("py-deploy", ns, r)
out["status"] = {"ready": st.status.ready_replicas, "conditions": [c.type for c in st.status.conditions], "generation": st.metadata.generation}
lst = apps.list_namespaced_deployment(ns)
out["listed"] = [(i.metadata.name, i.spec.replicas) for i in lst.items]
alln = apps.list_deployment_for_all_namespaces(label_selector="app=py-deploy")
out["all_namespaces"] = [i.metadata.namespace for i in alln.items]
apps.delete_namespaced_deployment("py-deploy", ns, body=client.V1DeleteOptions(propagation_policy="Background"))
try:
    apps.read_namespaced_deployment("py-deploy", ns)
    out["gone"] = None
except ApiException as e:
    out["gone"] = e.status
`,
      env,
    );
    assert.deepEqual(out.created, { type: 'V1Deployment', generation: 1, replicas: 2, strategy: 'RollingUpdate' });
    assert.equal(out.read_image, 'nginx:1.27');
    assert.equal(out.read_port, 80);
    assert.deepEqual(out.scale, { type: 'V1Scale', replicas: 2, selector: 'app=py-deploy' });
    assert.equal(out.scaled, 3);
    assert.deepEqual(out.status, { ready: 2, conditions: ['Available'], generation: 2 });
    assert.deepEqual(out.listed, [['py-deploy', 3]]);
    assert.deepEqual(out.all_namespaces, ['py']);
    assert.equal(out.gone, 404);
  });

  test('patches (strategic merge for a dict, JSON patch for a list) and server-side apply through the dynamic client', async () => {
    const out = await python<Record<string, unknown>>(
      `
from kubernetes import dynamic
v1 = client.CoreV1Api()
v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-patch"), data={"a": "1", "b": "2"}))
p = v1.patch_namespaced_config_map("py-patch", ns, [{"op": "test", "path": "/data/a", "value": "1"}, {"op": "remove", "path": "/data/b"}])
out["json_patched"] = p.data
p = v1.patch_namespaced_config_map("py-patch", ns, {"metadata": {"labels": {"l": "x"}}, "data": {"c": "3"}})
out["smp"] = {"data": p.data, "labels": p.metadata.labels}

dyn = dynamic.DynamicClient(client.ApiClient())
cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
doc = lambda data: json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-ssa", "namespace": ns}, "data": data})
a = dyn.server_side_apply(cms, body=doc({"k": "1"}), name="py-ssa", namespace=ns, field_manager="py-apply")
out["applied"] = {"data": dict(a.data), "managers": [[e.manager, e.operation] for e in a.metadata.managedFields]}
try:
    dyn.server_side_apply(cms, body=doc({"k": "2"}), name="py-ssa", namespace=ns, field_manager="py-other")
    out["conflict"] = None
except ApiException as e:
    out["conflict"] = status_of(e)
f = dyn.server_side_apply(cms, body=doc({"k": "2"}), name="py-ssa", namespace=ns, field_manager="py-other", force_conflicts=True)
out["forced"] = {"data": dict(f.data), "managers": sorted([e.manager, e.operation] for e in f.metadata.managedFields)}
`,
      env,
    );
    assert.deepEqual(out.json_patched, { a: '1' });
    assert.deepEqual(out.smp, { data: { a: '1', c: '3' }, labels: { l: 'x' } });
    assert.deepEqual(out.applied, { data: { k: '1' }, managers: [['py-apply', 'Apply']] });
    const conflict = out.conflict as { code: number; reason: string; message: string };
    assert.deepEqual([conflict.code, conflict.reason], [409, 'Conflict']);
    assert.equal(conflict.message, 'Apply failed with 1 conflict: conflict with "py-apply": .data.k');
    // forcing moves the field to py-other; py-apply is left owning nothing, so its entry goes
    assert.deepEqual(out.forced, { data: { k: '2' }, managers: [['py-other', 'Apply']] });
  });

  test('lists of every kind deserialize into the strict models', async () => {
    await Promise.all(
      Object.entries(kindManifests('py', '-py')).map(([name, text]) => cluster.kubectlOk(['create', '-f', scratch.write(`${name}.yaml`, text)])),
    );
    const out = await python<Record<string, number>>(
      `
core = client.CoreV1Api(); apps = client.AppsV1Api(); batch = client.BatchV1Api(); net = client.NetworkingV1Api()
rbac = client.RbacAuthorizationV1Api(); storage = client.StorageV1Api(); coord = client.CoordinationV1Api()
policy = client.PolicyV1Api(); disc = client.DiscoveryV1Api()
calls = {
  "pods": lambda: core.list_namespaced_pod(ns), "services": lambda: core.list_namespaced_service(ns),
  "endpoints": lambda: core.list_namespaced_endpoints(ns), "configmaps": lambda: core.list_namespaced_config_map(ns),
  "secrets": lambda: core.list_namespaced_secret(ns), "serviceaccounts": lambda: core.list_namespaced_service_account(ns),
  "events": lambda: core.list_namespaced_event(ns), "pvcs": lambda: core.list_namespaced_persistent_volume_claim(ns),
  "quotas": lambda: core.list_namespaced_resource_quota(ns), "limitranges": lambda: core.list_namespaced_limit_range(ns),
  "nodes": lambda: core.list_node(), "pvs": lambda: core.list_persistent_volume(), "namespaces": lambda: core.list_namespace(),
  "deployments": lambda: apps.list_namespaced_deployment(ns), "replicasets": lambda: apps.list_namespaced_replica_set(ns),
  "statefulsets": lambda: apps.list_namespaced_stateful_set(ns), "daemonsets": lambda: apps.list_namespaced_daemon_set(ns),
  "jobs": lambda: batch.list_namespaced_job(ns), "cronjobs": lambda: batch.list_namespaced_cron_job(ns),
  "ingresses": lambda: net.list_namespaced_ingress(ns), "ingressclasses": lambda: net.list_ingress_class(),
  "networkpolicies": lambda: net.list_namespaced_network_policy(ns), "leases": lambda: coord.list_namespaced_lease(ns),
  "roles": lambda: rbac.list_namespaced_role(ns), "rolebindings": lambda: rbac.list_namespaced_role_binding(ns),
  "clusterroles": lambda: rbac.list_cluster_role(), "clusterrolebindings": lambda: rbac.list_cluster_role_binding(),
  "storageclasses": lambda: storage.list_storage_class(), "pdbs": lambda: policy.list_namespaced_pod_disruption_budget(ns),
  "endpointslices": lambda: disc.list_namespaced_endpoint_slice(ns),
}
errors = {}
for name, call in calls.items():
    try:
        out[name] = len(call().items)
    except Exception as e:
        errors[name] = "%s: %s" % (type(e).__name__, e)
if errors:
    print(json.dumps(errors, indent=1), file=sys.stderr)
    sys.exit(1)
`,
      env,
    );
    for (const [kind, n] of Object.entries(out)) assert.ok(n >= 1, `${kind}: ${n} items`);
    assert.equal(Object.keys(out).length, 30);
  });

  test('watch.Watch().stream sees ADDED, MODIFIED, DELETED and ends at timeout_seconds', async () => {
    const out = await python<Record<string, unknown>>(
      `
v1 = client.CoreV1Api()
rv = v1.list_namespaced_config_map(ns).metadata.resource_version
def churn():
    time.sleep(0.5)
    v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="watched", labels={"w": "1"}), data={"v": "1"}))
    v1.patch_namespaced_config_map("watched", ns, {"data": {"v": "2"}})
    v1.delete_namespaced_config_map("watched", ns)
t = threading.Thread(target=churn)
t.start()
events = []
started = time.time()
w = watch.Watch()
for ev in w.stream(v1.list_namespaced_config_map, ns, resource_version=rv, label_selector="w=1", timeout_seconds=3):
    events.append([ev["type"], type(ev["object"]).__name__, ev["object"].metadata.name, (ev["object"].data or {}).get("v")])
t.join()
out["events"] = events
out["elapsed"] = time.time() - started
`,
      env,
    );
    assert.deepEqual(out.events, [
      ['ADDED', 'V1ConfigMap', 'watched', '1'],
      ['MODIFIED', 'V1ConfigMap', 'watched', '2'],
      ['DELETED', 'V1ConfigMap', 'watched', '2'],
    ]);
    const elapsed = out.elapsed as number;
    assert.ok(elapsed >= 2.5 && elapsed < 10, `the stream ended after timeout_seconds (${elapsed}s)`);
  });
});
