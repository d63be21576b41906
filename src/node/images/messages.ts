// The kubelet's event messages for image pulls, so `kubectl describe pod` reads the same.

/** Go's time.Duration printing after Truncate(time.Millisecond): `512ms`, `1.5s`, `2m3.004s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = (total % 60_000) / 1000;
  const sec = `${s.toFixed(3).replace(/\.?0+$/, '')}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

/** Event reason `Pulling` (Normal). */
export const pullingMessage = (image: string) => `Pulling image "${image}"`;

/** Event reason `Pulled` (Normal) after a pull; `totalMs` includes waiting for other pulls. */
export const pulledMessage = (image: string, pullMs: number, totalMs: number, sizeBytes: number) =>
  `Successfully pulled image "${image}" in ${formatDuration(pullMs)} (${formatDuration(totalMs)} including waiting). Image size: ${sizeBytes} bytes.`;

/** Event reason `Pulled` (Normal) when the policy let a present image be used. */
export const alreadyPresentMessage = (image: string) => `Container image "${image}" already present on machine`;

/** Event reason `Failed` (Warning); then `Error: ErrImagePull`. */
export const failedToPullMessage = (image: string, error: string) => `Failed to pull image "${image}": ${error}`;

/** Event reason `BackOff` (Normal); the container waits with reason ImagePullBackOff. */
export const backOffMessage = (image: string) => `Back-off pulling image "${image}"`;
