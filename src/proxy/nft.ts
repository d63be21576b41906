// Running `nft`: whole transactions on stdin (`nft -f -`), and what a table holds.
import { execFile, spawn } from 'node:child_process';

export class NftError extends Error {}

/** Applies one transaction atomically; rejects with nft's stderr when any line fails (nothing applied then). */
export function nftApply(text: string, nft = 'nft'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(nft, ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 8000) stderr += d;
    });
    child.on('error', (e) => reject(new NftError(`${nft}: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new NftError(`nft -f: exit ${String(code)}: ${stderr.trim()}`))));
    child.stdin.on('error', () => {}); // the close handler reports the failure
    child.stdin.end(text);
  });
}

/** `nft args…` → stdout. */
export function nftRun(args: string[], nft = 'nft'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(nft, args, { timeout: 30_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new NftError(`nft ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The chains and sets/maps of `table ip <name>`; undefined when there is no such table. */
export async function listTable(name: string, nft = 'nft'): Promise<{ chains: Set<string>; sets: Set<string>; text: string } | undefined> {
  let text: string;
  try {
    text = await nftRun(['list', 'table', 'ip', name], nft);
  } catch (e) {
    if (/No such file or directory/.test((e as Error).message)) return undefined;
    throw e;
  }
  const chains = new Set<string>();
  const sets = new Set<string>();
  for (const m of text.matchAll(/^\t(chain|set|map) (\S+) \{$/gm)) (m[1] === 'chain' ? chains : sets).add(m[2]);
  return { chains, sets, text };
}

/** Whether `table ip <name>` exists (`nft list tables ip`: cheap, whatever the table holds). */
export async function tableExists(name: string, nft = 'nft'): Promise<boolean> {
  const out = await nftRun(['list', 'tables', 'ip'], nft);
  return out.split('\n').some((l) => l.trim() === `table ip ${name}`);
}

export async function deleteTable(name: string, nft = 'nft'): Promise<void> {
  // `add` first makes the delete succeed when the table is already gone.
  await nftApply(`add table ip ${name}\ndelete table ip ${name}\n`, nft);
}

/** Whether `nft` can be run here with the rights to change the ruleset. */
export async function nftUsable(nft = 'nft'): Promise<boolean> {
  try {
    await nftRun(['list', 'tables'], nft);
    return true;
  } catch {
    return false;
  }
}
