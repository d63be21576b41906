// The kubectl tests every supported kubectl version runs against one cluster of its own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { RunResult } from '../helpers/exec.js';
import { startTestCluster, tempDataDir, type TestCluster } from '../helpers/cluster.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { rawRequest } from '../helpers/raw.js';
import { skipUnless } from '../helpers/skip.js';
import { eventually, kindManifests, kindObjects, kubectlInBackground, parseTable, scratchDir, TABLE_HEADERS } from './support.js';

interface ObjectJSON {
  kind: string;
  apiVersion: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  [field: string]: unknown;
}

interface ListJSON {
  items: ObjectJSON[];
}

const names = (r: RunResult) =>
  r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/^[^/]+\//, ''))
    .sort();

/** Registers the kubectl tests for one kubectl minor version ('1.33', '1.20'). */
export function describeKubectl(version: string, extra?: (ctx: () => { cluster: TestCluster; k: KubectlRunner }) => void): void {
  describe(`kubectl ${version}`, skipUnless(kubectlPath(version) !== undefined, `kubectl ${version} not found (scripts/setup.sh fetches it)`), () => {
    let cluster: TestCluster;
    let scratch: ReturnType<typeof scratchDir>;
    let k: KubectlRunner;
    const NS = 'kinds';

    before(async () => {
      // the API server alone: these tests write workload status themselves, as controllers would
      cluster = await startTestCluster({ controllers: ['namespace', 'storage-protection'] });
      scratch = scratchDir();
      k = kubectlRunner(cluster, version);
      await k.ok(['create', '-f', scratch.write('ns.yaml', `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${NS}, labels: {team: a}}\n`)]);
    });
    after(async () => {
      await cluster?.close();
      scratch?.remove();
    });

    test('create -f creates every kind', async () => {
      const groups = Object.entries(kindManifests(NS));
      const results = await Promise.all(groups.map(([name, text]) => k.ok(['create', '-f', scratch.write(`${name}.yaml`, text)])));
      const out = results.map((r) => r.stdout).join('');
      for (const { ref } of kindObjects()) assert.match(out, new RegExp(`^${escape(ref)} created$`, 'm'), `no "${ref} created" in:\n${out}`);

      const namespaced = kindObjects().filter((o) => o.namespaced).map((o) => o.ref);
      const clusterScoped = kindObjects().filter((o) => !o.namespaced).map((o) => o.ref);
      const [nsList, clList] = await Promise.all([k.json<ListJSON>(['get', '-n', NS, ...namespaced]), k.json<ListJSON>(['get', ...clusterScoped])]);
      const items = [...nsList.items, ...clList.items];
      assert.equal(items.length, kindObjects().length);
      const revisions = new Set<string>();
      for (const item of items) {
        assert.match(item.metadata.uid ?? '', /^[0-9a-f-]{36}$/, `${item.kind} uid`);
        assert.match(item.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${item.kind} creationTimestamp`);
        assert.match(item.metadata.resourceVersion ?? '', /^\d+$/, `${item.kind} resourceVersion`);
        revisions.add(item.metadata.resourceVersion!);
      }
      assert.equal(revisions.size, items.length, 'every write has its own resourceVersion');
      const byKind = new Map(items.map((i) => [i.kind, i]));
      const secret = byKind.get('Secret')!;
      assert.deepEqual(secret.data, { password: Buffer.from('hunter2').toString('base64') });
      assert.equal(secret.stringData, undefined, 'stringData is never stored');
      assert.deepEqual(byKind.get('ConfigMap')!.data, { a: '1', b: 'two' });
      const deploy = byKind.get('Deployment')!;
      assert.equal((deploy.spec as { replicas: number }).replicas, 2);
      assert.equal(deploy.metadata.generation, 1);
      assert.equal(byKind.get('Pod')!.metadata.namespace, NS);
      assert.equal(byKind.get('Node')!.metadata.namespace, undefined);
    });

    test('get prints the printer columns of every kind', async () => {
      const resources = Object.keys(TABLE_HEADERS);
      const outputs = await Promise.all(resources.map((r) => k.ok(['get', r, '-n', NS])));
      const tables = new Map(resources.map((r, i) => [r, parseTable(outputs[i].stdout)]));
      for (const [resource, headers] of Object.entries(TABLE_HEADERS)) {
        assert.deepEqual(tables.get(resource)!.headers, headers, `columns of ${resource}`);
      }
      const row = (resource: string, name: string) => {
        const r = tables.get(resource)!.rows.find((x) => x.NAME === name);
        assert.ok(r, `no row ${name} in kubectl get ${resource}:\n${outputs[resources.indexOf(resource)].stdout}`);
        return r;
      };
      const pod = row('pods', 'web-0');
      assert.equal(pod.READY, '0/1');
      assert.equal(pod.STATUS, 'Pending');
      assert.equal(pod.RESTARTS, '0');
      assert.match(pod.AGE, /^\d+s$/);
      const svc = row('services', 'web');
      assert.equal(svc.TYPE, 'ClusterIP');
      assert.equal(svc['PORT(S)'], '80/TCP');
      assert.equal(svc['EXTERNAL-IP'], '<none>');
      const clusterIP = (await k.ok(['get', 'svc', 'web', '-n', NS, '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
      assert.equal(svc['CLUSTER-IP'], clusterIP || '<none>');
      const deploy = row('deployments.apps', 'web');
      assert.deepEqual([deploy.READY, deploy['UP-TO-DATE'], deploy.AVAILABLE], ['0/2', '0', '0']);
      assert.equal(row('replicasets.apps', 'rs').DESIRED, '1');
      assert.equal(row('statefulsets.apps', 'db').READY, '0/1');
      assert.equal(row('daemonsets.apps', 'agent')['NODE SELECTOR'], '<none>');
      assert.equal(row('jobs.batch', 'once').COMPLETIONS, '0/1');
      const cj = row('cronjobs.batch', 'nightly');
      assert.deepEqual([cj.SCHEDULE, cj.SUSPEND, cj.ACTIVE], ['0 3 * * *', 'False', '0']);
      assert.equal(row('configmaps', 'cfg').DATA, '2');
      assert.deepEqual([row('secrets', 'sec').TYPE, row('secrets', 'sec').DATA], ['Opaque', '1']);
      assert.equal(row('endpoints', 'web').ENDPOINTS, '10.1.0.5:80');
      const slice = row('endpointslices.discovery.k8s.io', 'web-abc');
      assert.deepEqual([slice.ADDRESSTYPE, slice.PORTS, slice.ENDPOINTS], ['IPv4', '80', '10.1.0.5']);
      const pv = row('persistentvolumes', 'pv-a');
      assert.deepEqual([pv.CAPACITY, pv['ACCESS MODES'], pv.STORAGECLASS], ['1Gi', 'RWO', 'slow']);
      assert.equal(row('persistentvolumeclaims', 'claim').STORAGECLASS, 'slow');
      assert.equal(row('storageclasses.storage.k8s.io', 'slow').PROVISIONER, 'example.com/hostpath');
      const ing = row('ingresses.networking.k8s.io', 'web');
      assert.deepEqual([ing.CLASS, ing.HOSTS, ing.PORTS], ['nginx', 'web.example.com', '80']);
      assert.equal(row('ingressclasses.networking.k8s.io', 'nginx').CONTROLLER, 'example.com/ingress');
      assert.equal(row('networkpolicies.networking.k8s.io', 'deny')['POD-SELECTOR'], 'app=web');
      assert.equal(row('leases.coordination.k8s.io', 'lock').HOLDER, 'me');
      assert.equal(row('rolebindings.rbac.authorization.k8s.io', 'reader').ROLE, 'Role/reader');
      assert.equal(row('clusterrolebindings.rbac.authorization.k8s.io', 'tl-reader').ROLE, 'ClusterRole/tl-reader');
      const hpa = row('horizontalpodautoscalers.autoscaling', 'web');
      assert.deepEqual([hpa.REFERENCE, hpa.MINPODS, hpa.MAXPODS], ['Deployment/web', '1', '5']);
      const pdb = row('poddisruptionbudgets.policy', 'web');
      assert.deepEqual([pdb['MIN AVAILABLE'], pdb['MAX UNAVAILABLE']], ['1', 'N/A']);
      assert.equal(row('namespaces', NS).STATUS, 'Active');
      assert.ok(row('nodes', 'node-a'));
    });

    test('get all lists the workloads and services of a namespace', async () => {
      const { stdout } = await k.ok(['get', 'all', '-n', NS, '-o', 'name']);
      const got = new Set(stdout.split('\n').filter(Boolean));
      for (const ref of [
        'pod/web-0',
        'service/web',
        'deployment.apps/web',
        'replicaset.apps/rs',
        'statefulset.apps/db',
        'daemonset.apps/agent',
        'job.batch/once',
        'cronjob.batch/nightly',
        'horizontalpodautoscaler.autoscaling/web',
      ])
        assert.ok(got.has(ref), `get all: no ${ref} in\n${stdout}`);
      assert.ok(!got.has('configmap/cfg'), 'configmaps are not in the "all" category');
    });

    test('status writes show in -o wide (IP, NODE) and deployment READY', async () => {
      await Promise.all([
        patchStatus(k, cluster, NS, 'pod', 'web-0', { status: { phase: 'Running', podIP: '10.1.0.9', podIPs: [{ ip: '10.1.0.9' }] } }),
        patchStatus(k, cluster, NS, 'deployment', 'web', { status: { replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1 } }),
      ]);
      const [pods, deploys, svcs] = await Promise.all([
        k.ok(['get', 'pods', '-n', NS, '-o', 'wide']),
        k.ok(['get', 'deploy', '-n', NS, '-o', 'wide']),
        k.ok(['get', 'svc', '-n', NS, '-o', 'wide']),
      ]);
      const pod = parseTable(pods.stdout);
      assert.deepEqual(pod.headers, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
      const p = pod.rows.find((r) => r.NAME === 'web-0')!;
      assert.deepEqual([p.STATUS, p.IP, p.NODE], ['Running', '10.1.0.9', 'node-a']);
      const d = parseTable(deploys.stdout);
      assert.deepEqual(d.headers, ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
      const dr = d.rows.find((r) => r.NAME === 'web')!;
      assert.deepEqual([dr.READY, dr['UP-TO-DATE'], dr.AVAILABLE, dr.CONTAINERS, dr.IMAGES, dr.SELECTOR], ['1/2', '2', '1', 'c', 'nginx:1.27', 'app=web-d']);
      const s = parseTable(svcs.stdout);
      assert.equal(s.headers.at(-1), 'SELECTOR');
      assert.equal(s.rows.find((r) => r.NAME === 'web')!.SELECTOR, 'app=web');

      // a status write leaves spec alone, a main-resource write leaves status alone
      await patchStatus(k, cluster, NS, 'deployment', 'web', { spec: { replicas: 7 }, status: { readyReplicas: 2 } });
      await k.ok(['patch', 'deployment', 'web', '-n', NS, '--type=merge', '-p', '{"status":{"readyReplicas":0}}']);
      const after = await k.json<ObjectJSON>(['get', 'deployment', 'web', '-n', NS]);
      assert.equal((after.spec as { replicas: number }).replicas, 2);
      assert.equal((after.status as { readyReplicas: number }).readyReplicas, 2);
    });

    test('-o yaml round trips through replace, and a stale copy conflicts', async () => {
      await k.ok(['create', '-f', scratch.write('rt.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rt, namespace: ${NS}, labels: {x: "1"}}\ndata: {k: v}\n`)]);
      const [yamlOut, json] = await Promise.all([k.ok(['get', 'cm', 'rt', '-n', NS, '-o', 'yaml']), k.json<ObjectJSON>(['get', 'cm', 'rt', '-n', NS])]);
      const fromYaml = parseYaml(yamlOut.stdout) as ObjectJSON;
      assert.deepEqual(fromYaml, json);

      const edited = { ...fromYaml, data: { k: 'v2', extra: 'added' } };
      const replaced = await k.ok(['replace', '-f', scratch.write('rt-edited.yaml', toYaml(edited))]);
      assert.match(replaced.stdout, /configmap\/rt replaced/);
      const now = await k.json<ObjectJSON>(['get', 'cm', 'rt', '-n', NS]);
      assert.deepEqual(now.data, { k: 'v2', extra: 'added' });
      assert.equal(now.metadata.uid, json.metadata.uid);
      assert.ok(Number(now.metadata.resourceVersion) > Number(json.metadata.resourceVersion));

      const stale = await k.run(['replace', '-f', scratch.write('rt-stale.yaml', yamlOut.stdout)]);
      assert.notEqual(stale.code, 0);
      assert.match(stale.stderr, /Conflict|the object has been modified/);
      assert.deepEqual((await k.json<ObjectJSON>(['get', 'cm', 'rt', '-n', NS])).data, { k: 'v2', extra: 'added' }, 'a refused replace changes nothing');

      // a Deployment read back and written unchanged keeps its generation
      const dYaml = (await k.ok(['get', 'deploy', 'web', '-n', NS, '-o', 'yaml'])).stdout;
      const before = parseYaml(dYaml) as ObjectJSON;
      await k.ok(['replace', '-f', scratch.write('d.yaml', dYaml)]);
      const d = await k.json<ObjectJSON>(['get', 'deploy', 'web', '-n', NS]);
      assert.equal(d.metadata.generation, before.metadata.generation);
      assert.deepEqual(d.spec, before.spec);
    });

    test('apply creates, leaves unchanged, then reconfigures', async () => {
      const manifest = (value: string, image: string) => `apiVersion: v1
kind: ConfigMap
metadata: {name: applied, namespace: ${NS}}
data: {key: ${value}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: applied, namespace: ${NS}, labels: {app: applied}}
spec:
  replicas: 1
  selector: {matchLabels: {app: applied}}
  template:
    metadata: {labels: {app: applied}}
    spec:
      containers:
      - name: main
        image: ${image}
        env: [{name: A, value: "1"}]
        ports: [{containerPort: 8080}]
`;
      const first = await k.ok(['apply', '-f', scratch.write('apply1.yaml', manifest('one', 'nginx:1.27'))]);
      assert.match(first.stdout, /configmap\/applied created/);
      assert.match(first.stdout, /deployment.apps\/applied created/);
      const again = await k.ok(['apply', '-f', scratch.write('apply1.yaml', manifest('one', 'nginx:1.27'))]);
      assert.match(again.stdout, /configmap\/applied unchanged/);
      assert.match(again.stdout, /deployment.apps\/applied unchanged/);
      const changed = await k.ok(['apply', '-f', scratch.write('apply2.yaml', manifest('two', 'nginx:1.28'))]);
      assert.match(changed.stdout, /configmap\/applied configured/);
      assert.match(changed.stdout, /deployment.apps\/applied configured/);
      const [cm, d] = await Promise.all([k.json<ObjectJSON>(['get', 'cm', 'applied', '-n', NS]), k.json<ObjectJSON>(['get', 'deploy', 'applied', '-n', NS])]);
      assert.deepEqual(cm.data, { key: 'two' });
      const containers = (d.spec as { template: { spec: { containers: { name: string; image: string; env: unknown[] }[] } } }).template.spec.containers;
      assert.equal(containers.length, 1);
      assert.equal(containers[0].image, 'nginx:1.28');
      assert.deepEqual(containers[0].env, [{ name: 'A', value: '1' }]);
      assert.equal(d.metadata.generation, 2);
      const lastApplied = JSON.parse(d.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}') as ObjectJSON;
      assert.equal((lastApplied.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0].image, 'nginx:1.28');
    });

    test('apply -f of every kind, then again: unchanged wherever kubectl computes an empty patch', async () => {
      const ns = 'applied-all';
      await k.ok(['apply', '-f', scratch.write('applied-ns.yaml', `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}\n`)]);
      const groups = Object.entries(kindManifests(ns, '-ap'));
      const files = groups.map(([name, text]) => scratch.write(`applied-${name}.yaml`, text));
      const first = (await Promise.all(files.map((f) => k.ok(['apply', '-f', f])))).map((r) => r.stdout).join('');
      const second = (await Promise.all(files.map((f) => k.ok(['apply', '-f', f])))).map((r) => r.stdout).join('');
      for (const { ref } of kindObjects('-ap')) {
        assert.match(first, new RegExp(`^${escape(ref)} created$`, 'm'), first);
        assert.match(second, new RegExp(`^${escape(ref)} ${reapplied(ref, k)}$`, 'm'), `re-apply of ${ref}:\n${second}`);
      }
    });

    test('label selectors of every operator', async () => {
      await k.ok(['create', '-f', scratch.write('sel.yaml', selectorFixtures(NS))]);
      const cases: [string, string[]][] = [
        ['env=prod', ['s1']],
        ['env==prod', ['s1']],
        ['env!=prod', ['s2', 's3', 's4']],
        ['env in (prod,dev)', ['s1', 's2']],
        ['env notin (prod,dev)', ['s3', 's4']],
        ['tier', ['s1', 's2']],
        ['!tier', ['s3', 's4']],
        ['env=prod,tier=web', ['s1']],
        ['env in (dev,test),!tier', ['s3']],
        ['env=none', []],
      ];
      const results = await Promise.all(cases.map(([sel]) => k.ok(['get', 'cm', '-n', NS, '-l', `${sel},sel=yes`, '-o', 'name'])));
      cases.forEach(([sel, want], i) => assert.deepEqual(names(results[i]), want, `-l '${sel}'`));
      // a selector in the table output too
      const table = parseTable((await k.ok(['get', 'cm', '-n', NS, '-l', 'sel=yes,env', '--show-labels'])).stdout);
      assert.deepEqual(table.rows.map((r) => r.NAME).sort(), ['s1', 's2', 's3']);
      assert.match(table.rows.find((r) => r.NAME === 's1')!.LABELS, /env=prod/);
    });

    test('field selectors: metadata.name, status.phase, secret type, event involvedObject', async () => {
      await k.ok(['create', '-f', scratch.write('fs.yaml', fieldSelectorFixtures(NS))]);
      await patchStatus(k, cluster, NS, 'pod', 'fs-running', { status: { phase: 'Running' } });
      const [byName, running, notRunning, custom, evs, nameAndNs] = await Promise.all([
        k.ok(['get', 'cm', '-n', NS, '--field-selector=metadata.name=cfg', '-o', 'name']),
        k.ok(['get', 'pods', '-n', NS, '--field-selector=status.phase=Running,metadata.name!=web-0', '-o', 'name']),
        k.ok(['get', 'pods', '-n', NS, '--field-selector=status.phase!=Running', '-o', 'name']),
        k.ok(['get', 'secrets', '-n', NS, '--field-selector=type=example.com/custom', '-o', 'name']),
        k.ok(['get', 'events', '-n', NS, '--field-selector=involvedObject.name=fs-running', '-o', 'name']),
        k.ok(['get', 'cm', '-A', `--field-selector=metadata.namespace=${NS},metadata.name=cfg`, '-o', 'name']),
      ]);
      assert.deepEqual(names(byName), ['cfg']);
      assert.deepEqual(names(running), ['fs-running']);
      assert.ok(names(notRunning).includes('fs-pending') && !names(notRunning).includes('fs-running'), notRunning.stdout);
      assert.deepEqual(names(custom), ['fs-custom']);
      assert.deepEqual(names(evs), ['fs-running.1']);
      assert.deepEqual(names(nameAndNs), ['cfg']);
      const bad = await k.run(['get', 'cm', '-n', NS, '--field-selector=data.a=1']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /field label not supported: data\.a/);
    });

    test('-A lists across namespaces with a NAMESPACE column', async () => {
      await k.ok(['create', '-f', scratch.write('other-ns.yaml', `apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: other}\n`)]);
      const [table, pods] = await Promise.all([k.ok(['get', 'cm', '-A']), k.ok(['get', 'pods', '--all-namespaces', '-l', 'app=web'])]);
      const t = parseTable(table.stdout);
      assert.deepEqual(t.headers, ['NAMESPACE', 'NAME', 'DATA', 'AGE']);
      const cfgNamespaces = t.rows.filter((r) => r.NAME === 'cfg').map((r) => r.NAMESPACE).sort();
      assert.deepEqual(cfgNamespaces, ['applied-all', NS, 'other']);
      const p = parseTable(pods.stdout);
      assert.deepEqual(p.headers.slice(0, 2), ['NAMESPACE', 'NAME']);
      assert.deepEqual(p.rows.map((r) => `${r.NAMESPACE}/${r.NAME}`), ['applied-all/web-0', `${NS}/web-0`]);
    });

    test('label and annotate add, overwrite and remove', async () => {
      await k.ok(['create', '-f', scratch.write('la.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: la, namespace: ${NS}}\n`)]);
      assert.match((await k.ok(['label', 'cm', 'la', '-n', NS, 'team=x', 'tier=db'])).stdout, /configmap\/la labeled/);
      const refused = await k.run(['label', 'cm', 'la', '-n', NS, 'team=y']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /already has a value \(x\)/);
      await k.ok(['label', 'cm', 'la', '-n', NS, 'team=y', '--overwrite']);
      await k.ok(['label', 'cm', 'la', '-n', NS, 'tier-']);
      assert.match((await k.ok(['annotate', 'cm', 'la', '-n', NS, 'note=hello there', 'gone=soon'])).stdout, /configmap\/la annotated/);
      await k.ok(['annotate', 'cm', 'la', '-n', NS, 'gone-']);
      const obj = await k.json<ObjectJSON>(['get', 'cm', 'la', '-n', NS]);
      assert.deepEqual(obj.metadata.labels, { team: 'y' });
      assert.deepEqual(obj.metadata.annotations, { note: 'hello there' });
      // label by selector across several objects
      const many = await k.ok(['label', 'cm', '-n', NS, '-l', 'sel=yes', 'bulk=1']);
      assert.equal(many.stdout.split('\n').filter((l) => /labeled$/.test(l)).length, 4, many.stdout);
    });

    test('describe shows objects and their events', async () => {
      const pod = await k.json<ObjectJSON>(['get', 'pod', 'web-0', '-n', NS]);
      await k.ok([
        'create',
        '-f',
        scratch.write(
          'ev.yaml',
          `apiVersion: v1
kind: Event
metadata: {name: web-0.described, namespace: ${NS}}
involvedObject: {kind: Pod, name: web-0, namespace: ${NS}, uid: ${pod.metadata.uid}, apiVersion: v1}
reason: Scheduled
message: Successfully assigned ${NS}/web-0 to node-a
type: Normal
source: {component: default-scheduler}
count: 1
firstTimestamp: "${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}"
lastTimestamp: "${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}"
`,
        ),
      ]);
      const [dp, dd, ds, dc, dn] = await Promise.all([
        k.ok(['describe', 'pod', 'web-0', '-n', NS]),
        k.ok(['describe', 'deployment', 'web', '-n', NS]),
        k.ok(['describe', 'service', 'web', '-n', NS]),
        k.ok(['describe', 'configmap', 'cfg', '-n', NS]),
        k.ok(['describe', 'namespace', NS]),
      ]);
      assert.match(dp.stdout, /^Name:\s+web-0$/m);
      assert.match(dp.stdout, /^Namespace:\s+kinds$/m);
      assert.match(dp.stdout, /^Node:\s+node-a/m);
      assert.match(dp.stdout, /^Labels:\s+app=web$/m);
      assert.match(dp.stdout, /Image:\s+nginx:1\.27/);
      assert.match(dp.stdout, /Normal\s+Scheduled\s+.*Successfully assigned kinds\/web-0 to node-a/);
      assert.match(dd.stdout, /^Selector:\s+app=web-d$/m);
      assert.match(dd.stdout, /^Replicas:\s+2 desired/m);
      assert.match(ds.stdout, /^Type:\s+ClusterIP$/m);
      assert.match(ds.stdout, /^Endpoints:\s+10\.1\.0\.5:80$/m);
      assert.match(dc.stdout, /^a:\n-+\n1$/m);
      assert.match(dn.stdout, /^Status:\s+Active$/m);
    });

    test('get -w prints ADDED, then MODIFIED and DELETED after other kubectl commands', async () => {
      await k.ok(['create', '-f', scratch.write('w.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched, namespace: ${NS}}\ndata: {a: "1"}\n`)]);
      const w = kubectlInBackground(version, cluster.kubeconfigPath, k.cacheDir, ['get', 'cm', 'watched', '-n', NS, '-w', '--output-watch-events']);
      try {
        await w.waitForLine(/^ADDED\s+watched\s+1\s/);
        await k.ok(['label', 'cm', 'watched', '-n', NS, 'seen=yes']);
        await w.waitForLine(/^MODIFIED\s+watched\s/);
        await k.ok(['patch', 'cm', 'watched', '-n', NS, '--type=merge', '-p', '{"data":{"b":"2"}}']);
        await w.waitForLine(/^MODIFIED\s+watched\s+2\s/);
        await k.ok(['delete', 'cm', 'watched', '-n', NS]);
        await w.waitForLine(/^DELETED\s+watched\s/);
        assert.match(w.lines[0], /^EVENT\s+NAME\s+DATA\s+AGE/);
      } finally {
        w.stop();
        await w.exited;
      }
    });

    test('get -w on a list ends at --request-timeout', async () => {
      const t0 = Date.now();
      const r = await k.run(['get', 'cm', '-n', NS, '-w', '--request-timeout=2s']);
      assert.ok(Date.now() - t0 < 15_000, 'the watch ended');
      assert.match(r.stdout, /^NAME\s+DATA\s+AGE/);
      assert.match(r.stdout, /^cfg\s+2\s/m);
    });

    test('delete, delete -f and delete --wait', async () => {
      await k.ok(['create', '-f', scratch.write('del.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: del1, namespace: ${NS}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: del2, namespace: ${NS}}\n`)]);
      const d1 = await k.ok(['delete', 'cm', 'del1', '-n', NS, '--wait']);
      assert.match(d1.stdout, /configmap "del1" deleted/);
      const gone = await k.run(['get', 'cm', 'del1', '-n', NS]);
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /configmaps "del1" not found/);
      const d2 = await k.ok(['delete', '-f', scratch.dir + '/del.yaml', '--ignore-not-found']);
      assert.match(d2.stdout, /secret "del2" deleted/);
      const missing = await k.run(['delete', 'cm', 'never-was', '-n', NS]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /NotFound|not found/);

      // a namespace with content: --wait returns once the namespace controller has emptied and removed it
      await k.ok(['create', '-f', scratch.write('doomed-ns.yaml', `apiVersion: v1\nkind: Namespace\nmetadata: {name: doomed}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: doomed}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s, namespace: doomed}\n`)]);
      const dn = await k.ok(['delete', 'namespace', 'doomed', '--wait', '--timeout=30s']);
      assert.match(dn.stdout, /namespace "doomed" deleted/);
      const nsGone = await k.run(['get', 'namespace', 'doomed']);
      assert.match(nsGone.stderr, /not found/);
      const leftovers = await k.ok(['get', 'cm,sa', '-n', 'doomed', '-o', 'name']);
      assert.equal(leftovers.stdout.trim(), '');

      // a pod bound to a node is only marked for deletion (its node would stop it), unless forced
      await k.ok(['create', '-f', scratch.write('bound.yaml', `apiVersion: v1\nkind: Pod\nmetadata: {name: bound, namespace: ${NS}}\nspec:\n  nodeName: node-a\n  containers: [{name: c, image: nginx}]\n`)]);
      await k.ok(['delete', 'pod', 'bound', '-n', NS, '--wait=false']);
      const terminating = await k.json<ObjectJSON>(['get', 'pod', 'bound', '-n', NS]);
      assert.ok(terminating.metadata.deletionTimestamp, 'deletionTimestamp set');
      const row = parseTable((await k.ok(['get', 'pod', 'bound', '-n', NS])).stdout).rows[0];
      assert.equal(row.STATUS, 'Terminating');
      await k.ok(['delete', 'pod', 'bound', '-n', NS, '--grace-period=0', '--force']);
      await eventually('forced pod gone', async () => (await k.run(['get', 'pod', 'bound', '-n', NS])).code !== 0);
    });

    test('api-resources lists shortNames; api-versions the groups', async () => {
      const [res, versions, clusterOnly] = await Promise.all([k.ok(['api-resources']), k.ok(['api-versions']), k.ok(['api-resources', '--namespaced=false', '-o', 'name'])]);
      const table = parseTable(res.stdout);
      assert.deepEqual(table.headers, ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
      const short = new Map<string, string>();
      for (const r of table.rows) short.set(`${r.NAME}.${r.APIVERSION}`, r.SHORTNAMES);
      const expected: [string, string][] = [
        ['pods.v1', 'po'],
        ['services.v1', 'svc'],
        ['deployments.apps/v1', 'deploy'],
        ['replicasets.apps/v1', 'rs'],
        ['namespaces.v1', 'ns'],
        ['configmaps.v1', 'cm'],
        ['persistentvolumes.v1', 'pv'],
        ['persistentvolumeclaims.v1', 'pvc'],
        ['ingresses.networking.k8s.io/v1', 'ing'],
        ['cronjobs.batch/v1', 'cj'],
        ['serviceaccounts.v1', 'sa'],
        ['endpoints.v1', 'ep'],
        ['nodes.v1', 'no'],
        ['events.v1', 'ev'],
        ['horizontalpodautoscalers.autoscaling/v2', 'hpa'],
      ];
      for (const [resource, sn] of expected) assert.ok((short.get(resource) ?? '').split(',').includes(sn), `${resource} shortNames: ${short.get(resource)}`);
      const kinds = new Set(table.rows.map((r) => r.KIND));
      for (const kind of ['Namespace', 'Pod', 'Service', 'Endpoints', 'EndpointSlice', 'ConfigMap', 'Secret', 'ServiceAccount', 'Event', 'Node', 'PersistentVolume', 'PersistentVolumeClaim', 'StorageClass', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Ingress', 'IngressClass', 'NetworkPolicy', 'Lease', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'HorizontalPodAutoscaler', 'ResourceQuota', 'LimitRange', 'PodDisruptionBudget'])
        assert.ok(kinds.has(kind), `api-resources lacks ${kind}`);
      const clusterScoped = clusterOnly.stdout.split('\n').filter(Boolean);
      for (const r of ['namespaces', 'nodes', 'persistentvolumes', 'storageclasses.storage.k8s.io', 'clusterroles.rbac.authorization.k8s.io']) assert.ok(clusterScoped.includes(r), `${r} is cluster-scoped`);
      assert.ok(!clusterScoped.includes('pods'));
      const groups = versions.stdout.split('\n').filter(Boolean);
      for (const gv of ['v1', 'apps/v1', 'batch/v1', 'autoscaling/v2', 'networking.k8s.io/v1', 'rbac.authorization.k8s.io/v1', 'storage.k8s.io/v1', 'policy/v1', 'coordination.k8s.io/v1', 'discovery.k8s.io/v1'])
        assert.ok(groups.includes(gv), `api-versions lacks ${gv}`);
      // short names work on the command line
      const byShort = await k.ok(['get', 'cm,deploy,svc,sa,ep,pvc,hpa,cj,ing', '-n', NS, '-o', 'name']);
      for (const ref of ['configmap/cfg', 'deployment.apps/web', 'service/web', 'serviceaccount/robot', 'endpoints/web', 'persistentvolumeclaim/claim', 'horizontalpodautoscaler.autoscaling/web', 'cronjob.batch/nightly', 'ingress.networking.k8s.io/web'])
        assert.match(byShort.stdout, new RegExp(`^${escape(ref)}$`, 'm'));
    });

    test('explain, where the server serves OpenAPI schemas', async (t) => {
      const v3 = await rawRequest(cluster.kubeconfigPath, 'GET', '/openapi/v3');
      const paths = Object.keys((v3.json as { paths?: Record<string, unknown> } | undefined)?.paths ?? {});
      const v2 = await rawRequest(cluster.kubeconfigPath, 'GET', '/openapi/v2');
      const definitions = Object.keys((v2.json as { definitions?: Record<string, unknown> } | undefined)?.definitions ?? {});
      const served = version === '1.20' ? definitions.length > 0 : paths.includes('api/v1');
      if (!served) {
        const message = `SKIPPED (capability absent): the server serves no OpenAPI ${version === '1.20' ? 'v2 definitions' : 'v3 schemas'} yet, so kubectl explain cannot work`;
        process.stderr.write(`${message}\n`);
        t.skip(message);
        return;
      }
      const r = await k.ok(['explain', 'pods.spec.containers']);
      assert.match(r.stdout, /image/);
      const d = await k.ok(['explain', 'deployment.spec.replicas']);
      assert.match(d.stdout, /integer/);
    });

    test('scale a Deployment, ReplicaSet and StatefulSet', async () => {
      const [sd, sr, ss] = await Promise.all([
        k.ok(['scale', 'deploy/web', '-n', NS, '--replicas=3']),
        k.ok(['scale', 'rs/rs', '-n', NS, '--replicas=4']),
        k.ok(['scale', 'statefulset', 'db', '-n', NS, '--replicas=2']),
      ]);
      assert.match(sd.stdout, /deployment.apps\/web scaled/);
      assert.match(sr.stdout, /replicaset.apps\/rs scaled/);
      assert.match(ss.stdout, /statefulset.apps\/db scaled/);
      const [d, r, s] = await Promise.all([
        k.ok(['get', 'deploy/web', '-n', NS, '-o', 'jsonpath={.spec.replicas}']),
        k.ok(['get', 'rs/rs', '-n', NS, '-o', 'jsonpath={.spec.replicas}']),
        k.ok(['get', 'sts/db', '-n', NS, '-o', 'jsonpath={.spec.replicas}']),
      ]);
      assert.deepEqual([d.stdout, r.stdout, s.stdout], ['3', '4', '2']);
      const gen = await k.ok(['get', 'deploy/web', '-n', NS, '-o', 'jsonpath={.metadata.generation}']);
      assert.ok(Number(gen.stdout) >= 2, 'scaling changes the spec: generation bumps');
      // --current-replicas is a precondition checked against the Scale subresource
      const pre = await k.run(['scale', 'deploy/web', '-n', NS, '--replicas=1', '--current-replicas=5']);
      assert.notEqual(pre.code, 0);
      assert.match(pre.stderr, /[Ee]xpected replicas to be 5, was 3/);
      assert.equal((await k.ok(['get', 'deploy/web', '-n', NS, '-o', 'jsonpath={.spec.replicas}'])).stdout, '3');
    });

    extra?.(() => ({ cluster, k }));
  });
}

export interface KubectlRunner {
  cacheDir: string;
  run(args: readonly string[], stdin?: string): Promise<RunResult>;
  ok(args: readonly string[], stdin?: string): Promise<RunResult>;
  json<T>(args: readonly string[]): Promise<T>;
  /** kubectl's minor version is at least this */
  atLeast(minor: number): boolean;
}

function kubectlRunner(cluster: TestCluster, version: string): KubectlRunner {
  const cacheDir = tempDataDir('timonel-kubectl-bg-cache-');
  const minor = Number(version.split('.')[1]);
  return {
    cacheDir,
    run: (args, stdin) => cluster.kubectl(args, { version, stdin }),
    ok: (args, stdin) => cluster.kubectlOk(args, { version, stdin }),
    async json<T>(args: readonly string[]) {
      const r = await cluster.kubectlOk([...args, '-o', 'json'], { version });
      return JSON.parse(r.stdout) as T;
    },
    atLeast: (m) => minor >= m,
  };
}

const STATUS_PATHS: Record<string, string> = { pod: '/api/v1/namespaces/{ns}/pods/{name}/status', deployment: '/apis/apps/v1/namespaces/{ns}/deployments/{name}/status' };

/** A merge patch of the status subresource: through kubectl where it can (1.24+), else straight to the API. */
async function patchStatus(k: KubectlRunner, cluster: TestCluster, ns: string, kind: 'pod' | 'deployment', name: string, patch: Record<string, unknown>): Promise<void> {
  if (k.atLeast(24)) {
    await k.ok(['patch', kind, name, '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify(patch)]);
    return;
  }
  const path = STATUS_PATHS[kind].replace('{ns}', ns).replace('{name}', name);
  const r = await rawRequest(cluster.kubeconfigPath, 'PATCH', path, { body: JSON.stringify(patch), headers: { 'Content-Type': 'application/merge-patch+json' } });
  assert.equal(r.status, 200, r.body);
}

/**
 * What kubectl prints when re-applying an unchanged manifest. Its patch is computed client-side, so
 * some kinds are always "configured", on any server: a Secret written with stringData (never stored),
 * a PodDisruptionBudget for kubectl ≥ 1.21 (its selector's patch strategy is "replace"), and a batch/v1
 * CronJob for kubectl 1.20 (which predates that version and falls back to a JSON merge patch, where the
 * server-defaulted containers list differs).
 */
function reapplied(ref: string, k: KubectlRunner): 'configured' | 'unchanged' {
  if (ref === 'secret/sec') return 'configured';
  if (ref === 'poddisruptionbudget.policy/web') return k.atLeast(21) ? 'configured' : 'unchanged';
  if (ref === 'cronjob.batch/nightly') return k.atLeast(21) ? 'unchanged' : 'configured';
  return 'unchanged';
}

function selectorFixtures(ns: string): string {
  const cm = (name: string, labels: Record<string, string>) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\n  labels: ${JSON.stringify({ sel: 'yes', ...labels })}\n`;
  return [cm('s1', { env: 'prod', tier: 'web' }), cm('s2', { env: 'dev', tier: 'web' }), cm('s3', { env: 'test' }), cm('s4', {})].join('---\n');
}

function fieldSelectorFixtures(ns: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: fs-running, namespace: ${ns}}
spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata: {name: fs-pending, namespace: ${ns}}
spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: v1
kind: Secret
metadata: {name: fs-custom, namespace: ${ns}}
type: example.com/custom
data: {k: dg==}
---
apiVersion: v1
kind: Event
metadata: {name: fs-running.1, namespace: ${ns}}
involvedObject: {kind: Pod, name: fs-running, namespace: ${ns}}
reason: Started
message: started
type: Normal
---
apiVersion: v1
kind: Event
metadata: {name: fs-pending.1, namespace: ${ns}}
involvedObject: {kind: Pod, name: fs-pending, namespace: ${ns}}
reason: Pulling
message: pulling
type: Normal
`;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
