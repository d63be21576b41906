// The hottest functions of a V8 CPU profile (from `node --cpu-prof`), by self and by inclusive time.
//   BENCH_SERVER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" BENCH_ONLY=watch npm run bench
//   node --import tsx bench/profile-top.ts /tmp/prof/CPU.*.cpuprofile [N] [--under REGEX]
// --under counts only the samples whose stack has a function whose label matches REGEX (e.g. `^serve `);
// --not-under REGEX leaves out the samples whose stack has one that matches.
import { readFileSync } from 'node:fs';
import { REPO } from './lib/proc.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const underAt = args.indexOf('--under');
const under = underAt >= 0 ? new RegExp(args.splice(underAt, 2)[1] ?? '') : undefined;
const notUnderAt = args.indexOf('--not-under');
const notUnder = notUnderAt >= 0 ? new RegExp(args.splice(notUnderAt, 2)[1] ?? '') : undefined;
const [file, n = '25'] = args;
if (!file) {
  console.error('usage: profile-top.ts FILE.cpuprofile [N] [--under REGEX] [--not-under REGEX]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

const label = (node: ProfileNode) => {
  const f = node.callFrame;
  const where = f.url.replace(/^file:\/\//, '').replace(`${REPO}/`, '');
  return `${f.functionName || '(anonymous)'} ${where}${where ? `:${f.lineNumber + 1}` : ''}`;
};

const stackMatches = (id: number, re: RegExp): boolean => {
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) if (re.test(label(byId.get(cur)!))) return true;
  return false;
};

const sampled = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  if (under && !stackMatches(id, under)) return;
  if (notUnder && stackMatches(id, notUnder)) return;
  sampled.set(id, (sampled.get(id) ?? 0) + dt);
  total += dt;
});

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, dt] of sampled) {
  const leaf = byId.get(id)!;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
}

const top = (m: Map<string, number>) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(n))
    .map(([k, t]) => `${(t / 1000).toFixed(0).padStart(8)} ms ${((100 * t) / total).toFixed(1).padStart(5)} %  ${k}`)
    .join('\n');
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n\nby self time:\n${top(self)}\n\nby inclusive time:\n${top(inclusive)}`);
