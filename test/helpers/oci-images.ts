import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { rawTar, type RawEntry } from './images.js';

/** OCI / Docker media types as the tests write them (literal, not imported from the code under test). */
export const OCI = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export type Compression = 'gzip' | 'zstd' | 'none';

export interface LayerSpec {
  entries: RawEntry[];
  compression?: Compression;
  /** Overrides the media type (hostile tests: a type that lies about the compression). */
  mediaType?: string;
}

export interface Blob {
  digest: string;
  size: number;
  mediaType: string;
  bytes: Buffer;
}

export function compress(tar: Buffer, c: Compression): Buffer {
  if (c === 'gzip') return zlib.gzipSync(tar);
  if (c === 'zstd') return execFileSync('/usr/bin/zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 30 });
  return tar;
}

export function makeLayer(l: LayerSpec, docker = false): { blob: Blob; diffId: string } {
  const tar = rawTar(l.entries);
  const c = l.compression ?? 'gzip';
  const bytes = compress(tar, c);
  const mediaType = l.mediaType ?? (docker ? OCI.dockerLayer : c === 'gzip' ? OCI.layerGzip : c === 'zstd' ? OCI.layerZstd : OCI.layerTar);
  return { blob: { digest: sha256(bytes), size: bytes.length, mediaType, bytes }, diffId: sha256(tar) };
}

export interface ImageSpec {
  layers: LayerSpec[];
  /** config.config (Entrypoint, Cmd, Env, User, …). */
  run?: Record<string, unknown>;
  os?: string;
  architecture?: string;
  variant?: string;
  /** Docker schema 2 media types instead of OCI's. */
  docker?: boolean;
}

export interface BuiltImage {
  manifest: Blob;
  config: Blob;
  layers: Blob[];
}

/** Go's name for the host architecture (what an index names platforms by). */
export function hostGoArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const made = spec.layers.map((l) => makeLayer(l, spec.docker));
  const config = Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? hostGoArch(),
      os: spec.os ?? 'linux',
      ...(spec.variant ? { variant: spec.variant } : {}),
      config: spec.run ?? {},
      rootfs: { type: 'layers', diff_ids: made.map((m) => m.diffId) },
    }),
  );
  const configBlob: Blob = { digest: sha256(config), size: config.length, mediaType: spec.docker ? OCI.dockerConfig : OCI.config, bytes: config };
  const layers = made.map((m) => m.blob);
  const desc = (b: Blob): Record<string, unknown> => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const mt = spec.docker ? OCI.dockerManifest : OCI.manifest;
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt, config: desc(configBlob), layers: layers.map(desc) }));
  return { manifest: { digest: sha256(manifest), size: manifest.length, mediaType: mt, bytes: manifest }, config: configBlob, layers };
}

/** An index (or Docker manifest list) over images, each with its platform. */
export function buildIndex(entries: { image: BuiltImage; platform?: { os: string; architecture: string; variant?: string } }[], docker = false): Blob {
  const mt = docker ? OCI.dockerList : OCI.index;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mt,
      manifests: entries.map((e) => ({ mediaType: e.image.manifest.mediaType, digest: e.image.manifest.digest, size: e.image.manifest.size, ...(e.platform ? { platform: e.platform } : {}) })),
    }),
  );
  return { digest: sha256(bytes), size: bytes.length, mediaType: mt, bytes };
}

export function writeBlob(dir: string, b: Pick<Blob, 'digest' | 'bytes'>): void {
  const p = path.join(dir, 'blobs', 'sha256', b.digest.slice('sha256:'.length));
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, b.bytes);
}

export function imageBlobs(img: BuiltImage): Blob[] {
  return [img.manifest, img.config, ...img.layers];
}

/**
 * Writes an OCI image layout: blobs, oci-layout, and index.json with one entry per `refs` item
 * (descriptor of a manifest or an index, tagged with org.opencontainers.image.ref.name).
 */
export function writeLayout(dir: string, refs: { top: Blob; tag?: string }[], blobs: Blob[]): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const b of blobs) writeBlob(dir, b);
  for (const r of refs) writeBlob(dir, r.top);
  const index = {
    schemaVersion: 2,
    mediaType: OCI.index,
    manifests: refs.map((r) => ({ mediaType: r.top.mediaType, digest: r.top.digest, size: r.top.size, ...(r.tag !== undefined ? { annotations: { 'org.opencontainers.image.ref.name': r.tag } } : {}) })),
  };
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
  return dir;
}

/** Writes a layout holding one image under `tag`. */
export function writeImageLayout(dir: string, img: BuiltImage, tag = 'latest'): string {
  return writeLayout(dir, [{ top: img.manifest, tag }], imageBlobs(img));
}

/** Files of a busybox rootfs layer: Debian's static busybox with sh, ls, cat… as symlinks, /etc/passwd and /etc/group. */
export function busyboxEntries(): RawEntry[] {
  const busybox = fs.readFileSync('/bin/busybox');
  const applets = ['sh', 'ls', 'cat', 'echo', 'id', 'pwd', 'env', 'sleep', 'test', 'true', 'printf', 'stat', 'trap', 'kill'];
  return [
    { path: 'bin/', type: 'Directory' },
    { path: 'bin/busybox', body: busybox, mode: 0o755 },
    ...applets.map((a): RawEntry => ({ path: `bin/${a}`, type: 'SymbolicLink', linkpath: 'busybox' })),
    { path: 'etc/', type: 'Directory' },
    { path: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nappuser:x:1234:2345:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { path: 'etc/group', body: 'root:x:0:\ndaemon:x:1:\nappgroup:x:2345:\nstaff:x:50:\nnogroup:x:65534:\n' },
    { path: 'tmp/', type: 'Directory', mode: 0o1777 },
    { path: 'root/', type: 'Directory', mode: 0o700 },
  ];
}
