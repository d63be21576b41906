import type { ContainerState, OCIRuntime } from './oci.js';

/**
 * Graceful termination as the kubelet does it: SIGTERM, up to `gracePeriodSeconds` for the
 * container to exit, then SIGKILL. Resolves with the stopped container's state.
 */
export async function stopContainer(runtime: OCIRuntime, id: string, gracePeriodSeconds: number): Promise<ContainerState | undefined> {
  const state = await runtime.state(id);
  if (!state || state.status !== 'running') return runtime.wait(id);
  const stopped = runtime.wait(id);
  if (gracePeriodSeconds > 0) {
    await runtime.kill(id, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), gracePeriodSeconds * 1000)));
    const first = await Promise.race([stopped, expired]);
    clearTimeout(timer);
    if (first !== 'expired') return first;
  }
  await runtime.kill(id, 'SIGKILL');
  return stopped;
}
