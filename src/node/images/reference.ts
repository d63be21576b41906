// Image references as docker/distribution normalizes them: `busybox` → `docker.io/library/busybox:latest`.

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** registry host[:port], `docker.io` for Docker Hub */
  domain: string;
  /** repository path inside the registry, e.g. `library/busybox` */
  path: string;
  tag?: string;
  /** `sha256:<hex>` */
  digest?: string;
}

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export class InvalidImageNameError extends Error {
  readonly reason = 'InvalidImageName';
  constructor(image: string, why: string) {
    super(`Failed to apply default image tag "${image}": couldn't parse image name "${image}": ${why}`);
  }
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const SHA256 = /^sha256:[0-9a-f]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

/** Parses and normalizes an image reference (`busybox`, `repo/app:1`, `host:5000/a/b@sha256:…`). */
export function parseImageReference(image: string): ImageReference {
  if (image === '') throw new InvalidImageNameError(image, 'invalid reference format');
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidImageNameError(image, 'invalid reference format');
    if (!SHA256.test(digest)) throw new InvalidImageNameError(image, `unsupported digest algorithm or format: ${digest}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidImageNameError(image, 'invalid reference format');
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN.test(domain)) throw new InvalidImageNameError(image, 'invalid reference format');
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (path !== path.toLowerCase()) throw new InvalidImageNameError(image, 'repository name must be lowercase');
  if (!path.split('/').every((c) => PATH_COMPONENT.test(c))) throw new InvalidImageNameError(image, 'invalid reference format');
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw new InvalidImageNameError(image, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, tag, digest };
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The canonical string: `docker.io/library/busybox:1.36`, `…@sha256:…`, or both. */
export function formatImageReference(ref: ImageReference): string {
  return repositoryName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The `imagePullPolicy` an API server defaults to: Always for `:latest` (or no tag and no digest), else IfNotPresent. */
export function defaultPullPolicy(image: string): PullPolicy {
  let ref: ImageReference;
  try {
    ref = parseImageReference(image);
  } catch {
    return 'IfNotPresent';
  }
  return ref.tag === DEFAULT_TAG ? 'Always' : 'IfNotPresent';
}
