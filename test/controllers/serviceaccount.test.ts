import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { isNotFound, type RestClient } from '../../src/client/rest.js';
import { RESOURCES } from '../../src/client/shared.js';
import type { Transport } from '../../src/client/transport.js';
import { serviceAccountController } from '../../src/controllers/serviceaccount/controller.js';
import type { TestCluster } from '../helpers/cluster.js';
import { startControllerHarness, type ControllerHarness } from '../helpers/fake-kubelet.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('serviceaccount controller', () => {
  let h: ControllerHarness | undefined;
  let cluster: TestCluster;
  let rest: RestClient;
  const posts: string[] = [];

  const defaultSA = (ns: string) =>
    waitFor(`default ServiceAccount in ${ns}`, async () => {
      try {
        return await rest.resource<ServiceAccount>(RESOURCES.serviceaccounts, ns).get('default');
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    });

  before(async () => {
    h = await startControllerHarness([serviceAccountController], {
      controllerUser: 'system:serviceaccount:kube-system:service-account-controller',
      wrapControllerTransport: (inner): Transport => ({
        request: (req) => {
          if (req.method === 'POST') posts.push(req.path);
          return inner.request(req);
        },
        stream: (req) => inner.stream(req),
        close: () => inner.close(),
      }),
    });
    ({ cluster, rest } = h);
  });
  after(() => h?.close());

  it('creates default in the namespaces that exist and in new ones', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public']) assert.equal((await defaultSA(ns)).metadata?.name, 'default');
    await cluster.kubectlOk(['create', 'namespace', 'team-a']);
    const sa = await defaultSA('team-a');
    assert.equal(sa.metadata?.namespace, 'team-a');
    const got = await cluster.kubectlOk(['get', 'serviceaccounts', '-n', 'team-a']);
    assert.match(got.stdout, /^default\s+/m);
  });

  it('recreates default when it is deleted', async () => {
    const before = await defaultSA('team-a');
    await cluster.kubectlOk(['delete', 'serviceaccount', 'default', '-n', 'team-a']);
    const again = await waitFor('a new default', async () => {
      const sa = await defaultSA('team-a');
      return sa.metadata?.uid !== before.metadata?.uid ? sa : undefined;
    });
    assert.ok(again.metadata?.uid);
  });

  it('does not create one in a namespace being deleted', async () => {
    const nss = rest.resource<Namespace>(RESOURCES.namespaces);
    // held Terminating by its finalizer: nobody runs the namespace controller here
    await nss.create({ metadata: { name: 'leaving' } });
    await defaultSA('leaving');
    await nss.delete('leaving');
    await rest.resource<ServiceAccount>(RESOURCES.serviceaccounts, 'leaving').delete('default').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(rest.resource<ServiceAccount>(RESOURCES.serviceaccounts, 'leaving').get('default'), (e: unknown) => isNotFound(e));
    assert.equal(posts.filter((p) => p.startsWith('/api/v1/namespaces/leaving/serviceaccounts')).length, 1, 'only the first, before the deletion');
  });
});
