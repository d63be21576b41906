// `--service-cidr`: ClusterIPs come from the range asked for (kubernetes the first address, kube-dns the
// tenth), a data dir keeps the range it was made with, and ranges `up` cannot use are refused clearly.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Service } from 'kubernetes-types/core/v1.js';
import { checkServiceCIDRFlag } from '../../src/cli/cluster.js';
import { removeTempDataDir, startTestCluster, tempDataDir } from '../helpers/cluster.js';

describe('service CIDR', () => {
  it('refuses ranges up cannot use, with the reason', () => {
    for (const [cidr, why] of [
      ['10.96.0.0', /not an IPv4 CIDR/],
      ['10.96.0.300/16', /not an IPv4 CIDR/],
      ['10.0.0.0/8', /must be \/12 to \/28, not \/8/],
      ['10.96.0.0/29', /must be \/12 to \/28, not \/29/],
      ['10.42.0.0/16', /overlaps the pods' addresses \(10\.42\.0\.0\/24\)/],
      ['10.32.0.0/12', /overlaps the pods' addresses/],
    ] as const)
      assert.throws(() => checkServiceCIDRFlag(cidr), why, cidr);
    for (const ok of ['10.96.0.0/12', '10.43.0.0/16', '172.20.0.0/28', '10.42.1.0/24']) checkServiceCIDRFlag(ok);
  });

  it('gives ClusterIPs from the range; the data dir keeps it across restarts', async () => {
    const dataDir = tempDataDir();
    try {
      const c = await startTestCluster({ dataDir, serviceCIDR: '10.96.0.0/16' });
      try {
        const ip = async (ns: string, name: string) => (JSON.parse((await c.kubectlOk(['get', 'service', '-n', ns, name, '-o', 'json'])).stdout) as Service).spec?.clusterIP;
        assert.equal(await ip('default', 'kubernetes'), '10.96.0.1');
        assert.equal(await ip('kube-system', 'kube-dns'), '10.96.0.10');
        await c.kubectlOk(['create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
        assert.match((await ip('default', 'web')) ?? '', /^10\.96\.\d+\.\d+$/);
        const bad = await c.kubectl(['create', 'service', 'clusterip', 'outside', '--tcp=80:8080', '--clusterip=10.43.0.50']);
        assert.notEqual(bad.code, 0);
        assert.match(bad.stderr, /not in the valid range|provided IP is not in the valid range|10\.96\.0\.0\/16/);
      } finally {
        await c.close();
      }
      assert.equal(readFileSync(join(dataDir, 'service-cidr'), 'utf8'), '10.96.0.0/16\n', 'the data dir records its range');
      // without the flag (a restart, `timonel down`) the recorded range is used
      const again = await startTestCluster({ dataDir });
      try {
        await again.kubectlOk(['create', 'service', 'clusterip', 'web2', '--tcp=80:8080']);
        assert.match((await again.kubectlOk(['get', 'service', 'web2', '-o', 'jsonpath={.spec.clusterIP}'])).stdout, /^10\.96\.\d+\.\d+$/);
      } finally {
        await again.close();
      }
      // another range: refused before anything starts
      await assert.rejects(() => startTestCluster({ dataDir, serviceCIDR: '10.43.0.0/16' }), /--service-cidr 10\.43\.0\.0\/16: this data dir's Services are on 10\.96\.0\.0\/16/);
    } finally {
      removeTempDataDir(dataDir);
    }
  });

  it('a data dir made before ranges were recorded keeps its Services’ range: another is refused and not recorded', async () => {
    const dataDir = tempDataDir();
    try {
      await (await startTestCluster({ dataDir, controllers: false })).close();
      rmSync(join(dataDir, 'service-cidr'));
      await assert.rejects(
        () => startTestCluster({ dataDir, controllers: false, serviceCIDR: '10.96.0.0/16' }),
        /the Services of this data dir are on another service CIDR \(the kubernetes Service has 10\.43\.0\.1\), not 10\.96\.0\.0\/16/,
      );
      assert.ok(!existsSync(join(dataDir, 'service-cidr')), 'the refused range is not recorded');
      await (await startTestCluster({ dataDir, controllers: false })).close();
      assert.equal(readFileSync(join(dataDir, 'service-cidr'), 'utf8'), '10.43.0.0/16\n');
    } finally {
      removeTempDataDir(dataDir);
    }
  });
});
