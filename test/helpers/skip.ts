/**
 * Options for node:test's test()/describe() that skip, loudly, when a capability is absent:
 *   test('python client lists pods', skipUnless(havePythonKubernetes(), 'python3-kubernetes'), async () => …)
 * The reason shows in the runner's report as `# SKIP SKIPPED (capability absent): …` and on stderr.
 */
export function skipUnless(cond: boolean, why: string): { skip: string | false } {
  if (cond) return { skip: false };
  const message = `SKIPPED (capability absent): ${why}`;
  process.stderr.write(`${message}\n`);
  return { skip: message };
}
