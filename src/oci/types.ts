/**
 * The OCI contract between image sources (registry, oci: layout, oci-archive:, docker-archive:)
 * and the importer that verifies and stores what they serve (src/oci/import-oci.ts). Sources only
 * move bytes; every digest and size is checked by the importer as the bytes stream.
 */
import type { OciReference } from './reference.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** Manifest media types a source asks for (registry `Accept`), best first. */
export const MANIFEST_ACCEPT: readonly string[] = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest];

/** `sha256:<64 lowercase hex>` (the only algorithm Capsule accepts for OCI content). */
export type Sha256Digest = string & { readonly __brand: 'Sha256Digest' };

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** A content descriptor, as read from a manifest or index (not yet verified). */
export interface Descriptor {
  mediaType: string;
  digest: Sha256Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

/** Bytes of a manifest or index exactly as served, with the type the source gave for them. */
export interface RawManifest {
  bytes: Buffer;
  /** Content-Type (parameters removed) or the layout descriptor's mediaType. */
  mediaType: string;
}

/**
 * Where an OCI image comes from. Implementations: the registry (src/oci/registry/), OCI layouts
 * and archives, docker-archive. Nothing returned is trusted: the importer checks sizes and digests.
 */
export interface ImageSource {
  /** For messages, without credentials: `docker://127.0.0.1:5000/team/app:1.0`, `oci:/path:tag`. */
  readonly description: string;
  /** The image's name as it will be stored and trusted (registry/repository, tag or digest). */
  readonly ref: OciReference;
  /**
   * The manifest or index the reference names (no digest) or the one with `digest` (children of
   * an index, or a reference by digest). `maxBytes` bounds what the source may read.
   */
  getManifest(digest: Sha256Digest | undefined, maxBytes: number): Promise<RawManifest>;
  /**
   * The bytes of a blob from `offset` (for resuming a cut transfer). The stream may be longer or
   * shorter than promised; the importer counts and hashes.
   */
  getBlob(desc: Descriptor, offset: number): Promise<AsyncIterable<Buffer>>;
  /** Signatures the source itself serves for a manifest digest (registry extensions); [] when none. */
  getSignatures(manifestDigest: Sha256Digest): Promise<Buffer[]>;
  /** Whether this source can serve `getBlob` with offset > 0. */
  readonly canResume: boolean;
  close(): Promise<void>;
}
