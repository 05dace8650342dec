import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { rawTar, type RawEntry } from './images.js';

export const sha256 = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

export type Compression = 'gzip' | 'zstd' | 'none';

export interface LayerSpec {
  entries: RawEntry[];
  compression?: Compression;
}

export interface BuiltBlob {
  digest: string;
  size: number;
  mediaType: string;
  bytes: Buffer;
}

export interface ImageSpec {
  layers: LayerSpec[];
  /** Merged into the config's `config` (Entrypoint, Cmd, Env, User, WorkingDir…). */
  config?: Record<string, unknown>;
  architecture?: string;
  os?: string;
  variant?: string;
}

export interface BuiltImage {
  manifest: BuiltBlob;
  config: BuiltBlob;
  layers: BuiltBlob[];
}

const LAYER_TYPE: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

/** The host's architecture in OCI's (GOARCH) spelling. */
export function hostArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
}

/** busybox-static as /bin/busybox with /bin/sh, /bin/echo and /bin/cat links: a layer that runs. */
export function busyboxEntries(): RawEntry[] {
  const body = fs.readFileSync('/bin/busybox');
  return [
    { path: 'bin/', type: 'Directory' },
    { path: 'bin/busybox', body, mode: 0o755 },
    ...['sh', 'echo', 'cat', 'ls', 'sleep', 'id', 'env', 'pwd'].map((n): RawEntry => ({ path: `bin/${n}`, type: 'SymbolicLink', linkpath: 'busybox' })),
  ];
}

function compress(tar: Buffer, c: Compression): Buffer {
  if (c === 'gzip') return zlib.gzipSync(tar, { level: 1 });
  if (c === 'zstd') return execFileSync('/usr/bin/zstd', ['-q', '-c', '-3'], { input: tar, maxBuffer: 1 << 30 });
  return tar;
}

/** Writes OCI image layouts by hand, blob by blob (what umoci and skopeo read). */
export class OciLayoutWriter {
  private readonly refs: { desc: Record<string, unknown> }[] = [];

  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  blob(bytes: Buffer, mediaType: string): BuiltBlob {
    const digest = sha256(bytes);
    fs.writeFileSync(path.join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { digest, size: bytes.length, mediaType, bytes };
  }

  /** A layer blob from raw bytes already compressed as `c` says. */
  layer(spec: LayerSpec): BuiltBlob {
    const c = spec.compression ?? 'gzip';
    return this.blob(compress(rawTar(spec.entries), c), LAYER_TYPE[c]);
  }

  image(spec: ImageSpec, layers?: BuiltBlob[]): BuiltImage {
    const ls = layers ?? spec.layers.map((l) => this.layer(l));
    const diffIds = ls.map((l) => {
      const raw = l.mediaType.endsWith('+gzip') ? zlib.gunzipSync(l.bytes) : l.mediaType.endsWith('+zstd') ? execFileSync('/usr/bin/zstd', ['-q', '-d', '-c'], { input: l.bytes, maxBuffer: 1 << 30 }) : l.bytes;
      return sha256(raw);
    });
    const config = this.blob(
      Buffer.from(
        JSON.stringify({
          architecture: spec.architecture ?? hostArch(),
          os: spec.os ?? 'linux',
          ...(spec.variant ? { variant: spec.variant } : {}),
          config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'], ...spec.config },
          rootfs: { type: 'layers', diff_ids: diffIds },
        }),
      ),
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = this.blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
          layers: ls.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
        }),
      ),
      'application/vnd.oci.image.manifest.v1+json',
    );
    return { manifest, config, layers: ls };
  }

  /** Names a manifest or index in index.json under `tag` (org.opencontainers.image.ref.name). */
  tag(tag: string, b: BuiltBlob, platform?: Record<string, string>): void {
    this.refs.push({ desc: { mediaType: b.mediaType, digest: b.digest, size: b.size, annotations: { 'org.opencontainers.image.ref.name': tag }, ...(platform ? { platform } : {}) } });
    this.flush();
  }

  /** An image index over several images, each with its platform. */
  index(images: { image: BuiltImage; platform: Record<string, string> }[]): BuiltBlob {
    return this.blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: images.map((i) => ({ mediaType: i.image.manifest.mediaType, digest: i.image.manifest.digest, size: i.image.manifest.size, platform: i.platform })),
        }),
      ),
      'application/vnd.oci.image.index.v1+json',
    );
  }

  private flush(): void {
    fs.writeFileSync(path.join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: this.refs.map((r) => r.desc) }));
  }
}
