// NftSession: transactions fed to one long-lived `nft -i` — applied atomically, errors reported with
// nft's message and nothing applied, the process reused, started again after it died or after
// maxTransactions, long transactions sent to `nft -f`. Needs root and nft; touches only its own table.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { deleteTable, nftApply, nftRun, NftError, NftSession } from '../../src/proxy/nft.js';
import { skipUnless } from '../helpers/skip.js';

const missing = process.getuid?.() !== 0 ? 'not root' : spawnSync('nft', ['list', 'tables'], { stdio: 'ignore' }).status !== 0 ? 'nft not installed or not usable' : '';
const TABLE = `tmsess${(process.pid % 100_000).toString(36)}`;
const T = `ip ${TABLE}`;

const alive = (pid: number | undefined) => pid !== undefined && spawnSync('kill', ['-0', String(pid)]).status === 0;
const elements = async () => {
  const text = await nftRun(['list', 'set', 'ip', TABLE, 'addrs']);
  return [...text.matchAll(/\d+\.\d+\.\d+\.\d+/g)].map((m) => m[0]).sort();
};

describe('nft -i session', skipUnless(missing === '', missing), () => {
  const sessions: NftSession[] = [];
  const session = (opts?: ConstructorParameters<typeof NftSession>[1]) => {
    const s = new NftSession('nft', opts);
    sessions.push(s);
    return s;
  };

  after(async () => {
    for (const s of sessions) {
      const pid = s.pid;
      await s.close().catch(() => {});
      if (alive(pid)) process.kill(pid!, 'SIGKILL');
    }
    await deleteTable(TABLE).catch(() => {});
  });

  it('applies multi-line transactions in one process', async () => {
    const s = session();
    assert.equal(s.pid, undefined, 'started on demand');
    s.open();
    const pid = s.pid;
    assert.ok(alive(pid), 'nft -i runs');
    await s.apply(`add table ${T}\nadd set ${T} addrs { type ipv4_addr; }\nadd chain ${T} c\n`);
    await s.apply(`add element ${T} addrs { 10.0.0.1, 10.0.0.2 }\nflush chain ${T} c\nadd rule ${T} c ip daddr @addrs accept\n`);
    await s.apply(`delete element ${T} addrs { 10.0.0.1 }\nadd element ${T} addrs { 10.0.0.3 }\n`);
    assert.equal(s.pid, pid, 'the same process');
    assert.deepEqual(await elements(), ['10.0.0.2', '10.0.0.3']);
    assert.match(await nftRun(['list', 'chain', 'ip', TABLE, 'c']), /ip daddr @addrs accept/);
    await s.apply('');
  });

  it('a failing transaction rejects with nft\'s error and applies nothing; the next one works', async () => {
    const s = session();
    await s.apply(`add element ${T} addrs { 10.0.0.4 }\n`);
    const pid = s.pid;
    await assert.rejects(s.apply(`add element ${T} addrs { 10.0.0.5 }\nadd element ${T} no-such-set { 10.0.0.6 }\n`), (e: Error) => {
      assert.ok(e instanceof NftError);
      assert.match(e.message, /No such file or directory/);
      assert.match(e.message, /no-such-set/);
      return true;
    });
    assert.deepEqual(await elements(), ['10.0.0.2', '10.0.0.3', '10.0.0.4'], 'the first command of the failed transaction is not applied');
    await assert.rejects(s.apply(`add element ${T} addrs { not-an-address }\n`), NftError);
    await s.apply(`add element ${T} addrs { 10.0.0.7 }\n`);
    assert.equal(s.pid, pid);
    assert.deepEqual(await elements(), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.7']);
  });

  it('concurrent calls run one after another, each with its own outcome', async () => {
    const s = session();
    const results = await Promise.allSettled([
      s.apply(`add element ${T} addrs { 10.0.1.1 }\n`),
      s.apply(`add element ${T} nope { 10.0.1.2 }\n`),
      s.apply(`add element ${T} addrs { 10.0.1.3 }\n`),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok((await elements()).includes('10.0.1.3'));
  });

  it('a killed nft is started again on the next transaction', async () => {
    const s = session();
    await s.apply(`add element ${T} addrs { 10.0.2.1 }\n`);
    const pid = s.pid!;
    process.kill(pid, 'SIGKILL');
    for (let i = 0; s.pid !== undefined && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.pid, undefined, 'the session saw it exit');
    await s.apply(`add element ${T} addrs { 10.0.2.2 }\n`);
    assert.ok(s.pid !== undefined && s.pid !== pid);
    assert.ok((await elements()).includes('10.0.2.2'));
  });

  it('a new process after maxTransactions; long transactions through nft -f; close ends the process', async () => {
    const s = session({ maxTransactions: 2, maxLineBytes: 200 });
    await s.apply(`add element ${T} addrs { 10.0.3.1 }\n`);
    const first = s.pid;
    await s.apply(`add element ${T} addrs { 10.0.3.2 }\n`);
    assert.equal(s.pid, first);
    await s.apply(`add element ${T} addrs { 10.0.3.3 }\n`);
    assert.notEqual(s.pid, first);
    assert.ok(!alive(first), 'the old nft -i is gone');
    const second = s.pid;
    const many = Array.from({ length: 40 }, (_, i) => `10.0.4.${i + 1}`);
    await s.apply(`add element ${T} addrs { ${many.join(', ')} }\n`);
    assert.equal(s.pid, second, 'not through the session');
    assert.ok((await elements()).includes('10.0.4.40'));
    await assert.rejects(s.apply(`add element ${T} nope { ${many.join(', ')} }\n`), /nft -f/);
    await s.close();
    assert.equal(s.pid, undefined);
    assert.ok(!alive(second));
  });
});
