// The OCI / Docker v2 image formats, as much of them as the node agent reads.

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

/** The image configuration: what a container runs by default. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
  rootfs: { type: string; diff_ids: string[] };
}

export const NODE_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

export function isIndex(mediaType: string | undefined, doc: { manifests?: unknown; layers?: unknown }): boolean {
  if (mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList) return true;
  if (mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest) return false;
  return Array.isArray(doc.manifests) && !Array.isArray(doc.layers);
}

/** The index entry for linux/amd64 (one without a variant preferred), or undefined. */
export function pickPlatform(index: ImageIndex, want: Platform = NODE_PLATFORM): Descriptor | undefined {
  const matches = index.manifests.filter((m) => m.platform?.os === want.os && m.platform?.architecture === want.architecture);
  return matches.find((m) => m.platform?.variant === undefined || m.platform.variant === want.variant) ?? matches[0];
}

export function platformsOf(index: ImageIndex): string {
  return index.manifests.map((m) => (m.platform ? [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/') : 'unknown')).join(', ');
}
