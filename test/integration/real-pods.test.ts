// Pods as real containers: a test cluster (controllers on, no simulated nodes) + the node agent with
// crun on a test-only bridge and CIDR + a local registry holding the busybox test image. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { existingCgroupDirs, podCgroupPath } from '../../src/node/runtime/index.js';
import { PodSandboxes } from '../../src/node/sandbox/index.js';
import { run } from '../helpers/exec.js';
import { skipUnless } from '../helpers/skip.js';
import { LocalNodeHarness, realPodsMissing } from './pod-harness.js';
import { eventually } from './support.js';

const missing = realPodsMissing();

describe('real pods through the node agent', skipUnless(missing === '', missing), () => {
  const h = new LocalNodeHarness('rp', 198, { pullBackoffBaseMs: 1000 }, { registry: true, cluster: { controllers: true }, groups: ['system:masters', 'system:nodes'] });

  before(() => h.start());
  after(() => h.close());

  const kubectl = (args: string[]) => h.cluster!.kubectlOk(args);
  const apply = (yaml: string) => h.cluster!.kubectlOk(['apply', '-f', '-'], { stdin: yaml });

  async function podNamed(name: string): Promise<Pod> {
    const p = await h.pods.get(name);
    if (p.metadata?.uid && !h.uids.includes(p.metadata.uid)) h.uids.push(p.metadata.uid);
    return p;
  }

  test('the node registers with the machine capacity and renews its Lease', async () => {
    const node = JSON.parse((await kubectl(['get', 'node', h.nodeName, '-o', 'json'])).stdout) as import('kubernetes-types/core/v1.js').Node;
    assert.ok(Number(node.status?.capacity?.cpu) >= 1);
    assert.match(node.status?.capacity?.memory ?? '', /^\d+Ki$/);
    assert.equal(node.status?.capacity?.pods, '110');
    assert.equal(node.spec?.podCIDR, h.cidr);
    assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    assert.deepEqual(node.status?.addresses?.map((a) => a.type), ['InternalIP', 'Hostname']);
    assert.match(node.status?.nodeInfo?.containerRuntimeVersion ?? '', /^crun:\/\//);
    const lease = await kubectl(['get', 'lease', '-n', 'kube-node-lease', h.nodeName, '-o', 'jsonpath={.spec.holderIdentity}']);
    assert.equal(lease.stdout, h.nodeName);
  });

  test('an httpd pod goes Running and Ready with a pod IP and answers from the host; deleting it cleans up', async () => {
    await apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: www}
data: {index.html: "hello from a real pod\\n"}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: httpd
    image: ${h.image}
    command: [httpd, -f, -p, "8080", -h, /www]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
    volumeMounts: [{name: www, mountPath: /www}]
  volumes: [{name: www, configMap: {name: www}}]
`);
    let pod = await podNamed('web');
    await eventually('web Ready', async () => {
      pod = await podNamed('web');
      return pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    }, 30_000);
    assert.equal(pod.status?.phase, 'Running');
    const ip = pod.status?.podIP ?? '';
    assert.ok(ip.startsWith(h.cidr.split('.').slice(0, 3).join('.') + '.'), ip);
    const cs = pod.status?.containerStatuses?.[0];
    assert.ok(cs?.state?.running?.startedAt);
    assert.match(cs?.containerID ?? '', /^crun:\/\//);
    assert.match(cs?.imageID ?? '', /@sha256:[0-9a-f]{64}$/);
    const curl = await run('curl', ['-sS', '--max-time', '5', `http://${ip}:8080/`]);
    assert.equal(curl.stdout, 'hello from a real pod\n', curl.stderr);
    const events = (await kubectl(['get', 'events', '--field-selector', 'involvedObject.name=web', '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}'])).stdout;
    for (const reason of ['Pulling', 'Pulled', 'Created', 'Started']) assert.ok(events.includes(reason), events);

    const uid = pod.metadata!.uid!;
    const pid = Number(readFileSync(join(h.stateDir, 'pods', uid, 'containers', 'httpd_0', 'pid'), 'utf8'));
    await kubectl(['delete', 'pod', 'web', '--wait=true', '--timeout=30s']);
    const sandboxes = new PodSandboxes({ stateDir: join(h.stateDir, 'network'), podCIDR: h.cidr, bridge: h.bridge, netnsPrefix: h.netnsPrefix, hostSysctls: false });
    await assert.rejects(h.pods.get('web'), /not found/);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(uid), 'no mount of the pod is left');
    assert.ok(!existsSync(`/run/netns/${sandboxes.netnsName(uid)}`), 'the netns is gone');
    assert.equal((await run('ip', ['link', 'show', 'dev', sandboxes.hostVethName(uid)])).code !== 0, true, 'the veth is gone');
    assert.deepEqual(existingCgroupDirs(podCgroupPath(h.cgroupParent, uid)), [], 'the cgroups are gone');
    assert.equal(existsSync(`/proc/${pid}`), false, 'the container process is gone');
    assert.equal(existsSync(join(h.stateDir, 'pods', uid)), false, 'the pod dir is gone');
    assert.equal(sandboxes.ipam.ipOf(uid), undefined, 'the pod IP is released');
  });

  test('env (literal, fieldRef, configMapKeyRef, secretKeyRef, envFrom) and configMap/secret volumes show in kubectl logs', async () => {
    await apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {color: blue, greeting.txt: "hi from a configmap file"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: envy, labels: {app: envy}}
spec:
  restartPolicy: Never
  initContainers:
  - name: init
    image: ${h.image}
    command: [sh, -c, "echo init ran"]
  containers:
  - name: main
    image: ${h.image}
    command: [sh, -c]
    args: ["echo GREETING=$GREETING; echo POD=$MY_POD NS=$MY_NS NODE=$MY_NODE IP=$MY_IP; echo COLOR=$COLOR PW=$PW CFG_color=$CFG_color; echo MEM=$MEM; cat /config/greeting.txt; echo; cat /secret/password; echo; echo APP=$(cat /info/app)"]
    env:
    - {name: WHO, value: world}
    - {name: GREETING, value: "hello $(WHO)"}
    - {name: MY_POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: MY_NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: settings, key: color}}}
    - {name: PW, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: MEM, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    envFrom: [{prefix: CFG_, configMapRef: {name: settings}}]
    resources: {limits: {memory: 64Mi, cpu: 200m}}
    volumeMounts:
    - {name: cfg, mountPath: /config}
    - {name: sec, mountPath: /secret}
    - {name: info, mountPath: /info}
  volumes:
  - {name: cfg, configMap: {name: settings}}
  - {name: sec, secret: {secretName: creds}}
  - {name: info, downwardAPI: {items: [{path: app, fieldRef: {fieldPath: "metadata.labels['app']"}}]}}
`);
    let pod = await podNamed('envy');
    await eventually('envy Succeeded', async () => {
      pod = await podNamed('envy');
      return pod.status?.phase === 'Succeeded';
    }, 30_000);
    assert.equal(pod.status?.initContainerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
    const logs = (await kubectl(['logs', 'envy'])).stdout;
    const ip = pod.status?.podIP;
    assert.ok(ip);
    assert.equal(
      logs,
      [
        'GREETING=hello world',
        `POD=envy NS=default NODE=${h.nodeName} IP=${ip}`,
        'COLOR=blue PW=s3cret CFG_color=blue',
        'MEM=64',
        'hi from a configmap file',
        's3cret',
        'APP=envy',
        '',
      ].join('\n'),
    );
    assert.equal((await kubectl(['logs', 'envy', '-c', 'init'])).stdout, 'init ran\n');
    const timestamps = (await kubectl(['logs', 'envy', '--timestamps', '--tail=1'])).stdout;
    assert.match(timestamps, /^\d{4}-\d\d-\d\dT[\d:.]+Z APP=envy\n$/);
    const bad = await h.cluster!.kubectl(['logs', 'envy', '-c', 'nope']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /container nope is not valid for pod envy/);
    await kubectl(['delete', 'pod', 'envy', '--wait=true', '--timeout=30s']);
  });

  test('a container exiting 1 with restartPolicy Always goes CrashLoopBackOff with restartCount climbing; --previous shows the last run', async () => {
    await apply(`
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: ${h.image}, command: [sh, -c, "echo crashing; exit 1"]}
`);
    let sawBackOff = false;
    let pod = await podNamed('crasher');
    await eventually('restartCount ≥ 2', async () => {
      pod = await podNamed('crasher');
      const cs = pod.status?.containerStatuses?.[0];
      if (cs?.state?.waiting?.reason === 'CrashLoopBackOff') sawBackOff = true;
      return (cs?.restartCount ?? 0) >= 2 && sawBackOff;
    }, 30_000);
    const cs = pod.status!.containerStatuses![0]!;
    assert.equal(cs.lastState?.terminated?.exitCode, 1);
    assert.equal(cs.lastState?.terminated?.reason, 'Error');
    assert.equal(pod.status?.phase, 'Running');
    assert.equal((await kubectl(['logs', 'crasher', '--previous'])).stdout, 'crashing\n');
    const events = (await kubectl(['get', 'events', '--field-selector', 'involvedObject.name=crasher,reason=BackOff', '-o', 'jsonpath={.items[*].message}'])).stdout;
    assert.match(events, /Back-off restarting failed container c in pod crasher_default/);
    await kubectl(['delete', 'pod', 'crasher', '--wait=true', '--timeout=30s']);
  });

  test('a Deployment of 2 replicas gets 2 running pods', async () => {
    await apply(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleepers}
spec:
  replicas: 2
  selector: {matchLabels: {app: sleepers}}
  template:
    metadata: {labels: {app: sleepers}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{name: s, image: ${h.image}, command: [sleep, "3600"]}]
`);
    await eventually('2 pods Running', async () => {
      const list = await h.pods.list({ labelSelector: 'app=sleepers' });
      for (const p of list.items) if (p.metadata?.uid && !h.uids.includes(p.metadata.uid)) h.uids.push(p.metadata.uid);
      return list.items.filter((p) => p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.ready).length === 2;
    }, 30_000);
    const list = await h.pods.list({ labelSelector: 'app=sleepers' });
    assert.equal(new Set(list.items.map((p) => p.status?.podIP)).size, 2);
    await kubectl(['delete', 'deployment', 'sleepers']);
    await eventually('sleepers gone', async () => (await h.pods.list({ labelSelector: 'app=sleepers' })).items.length === 0, 30_000);
  });

  test('a missing image goes ErrImagePull then ImagePullBackOff with a clear message', async () => {
    const missingImage = `${h.registry!.host}/test/does-not-exist:1`;
    await apply(`
apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  containers: [{name: c, image: ${missingImage}}]
`);
    const reasons = new Set<string>();
    let message = '';
    await eventually('ErrImagePull and ImagePullBackOff seen', async () => {
      const cs = (await podNamed('noimage')).status?.containerStatuses?.[0];
      const w = cs?.state?.waiting;
      if (w?.reason) reasons.add(w.reason);
      if (w?.reason === 'ErrImagePull') message = w.message ?? '';
      return reasons.has('ErrImagePull') && reasons.has('ImagePullBackOff');
    }, 20_000).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}: saw ${[...reasons].join(', ')}; ${JSON.stringify((await podNamed('noimage')).status)}`);
    });
    assert.match(message, /not found|unknown|NAME_UNKNOWN|MANIFEST_UNKNOWN/i);
    const events = (await kubectl(['get', 'events', '--field-selector', 'involvedObject.name=noimage', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}'])).stdout;
    assert.ok(events.includes(`Failed to pull image "${missingImage}"`), events);
    assert.ok(events.includes(`Back-off pulling image "${missingImage}"`), events);
    await kubectl(['delete', 'pod', 'noimage', '--wait=true', '--timeout=30s']);
  });

  test('kubectl logs -f follows a running container until it exits', async () => {
    await apply(`
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  restartPolicy: Never
  containers:
  - {name: t, image: ${h.image}, command: [sh, -c, "sleep 1; for i in 1 2 3 4 5; do echo line-$i; sleep 0.3; done"]}
`);
    await eventually('talker Running', async () => (await podNamed('talker')).status?.phase === 'Running', 30_000);
    const t0 = Date.now();
    const followed = await kubectl(['logs', '-f', 'talker']);
    assert.equal(followed.stdout, 'line-1\nline-2\nline-3\nline-4\nline-5\n');
    assert.ok(Date.now() - t0 >= 1000, 'kubectl logs -f waited for the lines');
    await kubectl(['delete', 'pod', 'talker', '--wait=true', '--timeout=30s']);
  });
});
