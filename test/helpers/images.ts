import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { hostOsArch } from '../../src/spec/os-arch.js';
import { END_OF_ARCHIVE, encodeHeader, padding, type TarHeaderFields } from '../../src/aci/tar-writer.js';
import { CAPSULE, ROOT } from './cli.js';

const cache = new Map<string, string>();
let cacheDir: string | undefined;

/** Builds a sample image from images/<name> once per test process; returns the .aci path. */
export function sampleImage(name: 'busybox' | 'probe' | 'ace-main' | 'ace-sidekick'): string {
  const hit = cache.get(name);
  if (hit && fs.existsSync(hit)) return hit;
  // One cache per test run, made and removed by the global setup; a private one otherwise.
  cacheDir ??= process.env.CAPSULE_TEST_IMAGE_CACHE ?? fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-images-'));
  const out = path.join(cacheDir, `${name}.aci`);
  execFileSync('bash', [path.join(ROOT, 'images/build.sh'), name, out], { env: { ...process.env, CAPSULE }, stdio: ['ignore', 'pipe', 'inherit'] });
  cache.set(name, out);
  return out;
}

/** One entry of a hand-made archive: header fields plus optional body. */
export interface RawEntry extends Partial<TarHeaderFields> {
  path: string;
  body?: Buffer | string;
}

/**
 * Writes a tar exactly as described (no path cleaning, no validation), so tests can build
 * hostile archives; `gzip` compresses it.
 */
export function rawTar(entries: RawEntry[], opts: { gzip?: boolean; trailer?: Buffer } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    const type = e.type ?? (e.path.endsWith('/') ? 'Directory' : 'File');
    parts.push(encodeHeader({ mode: type === 'Directory' ? 0o755 : 0o644, ...e, type, size: type === 'File' ? body.length : (e.size ?? 0) }));
    if (type === 'File') {
      parts.push(body, padding(body.length));
    }
  }
  parts.push(END_OF_ARCHIVE);
  if (opts.trailer) parts.push(opts.trailer);
  const tar = Buffer.concat(parts);
  return opts.gzip ? zlib.gzipSync(tar) : tar;
}

/** The host's os and arch labels: an image without them is refused at fetch and at run (rkt). */
export const PLATFORM_LABELS: ReadonlyArray<{ name: string; value: string }> = [
  { name: 'os', value: hostOsArch().os },
  { name: 'arch', value: hostOsArch().arch },
];

/** `labels` with the host's os and arch added where they are missing. */
export function withPlatform(labels: ReadonlyArray<{ name: string; value: string }> = []): Array<{ name: string; value: string }> {
  return [...PLATFORM_LABELS.filter((p) => !labels.some((l) => l.name === p.name)), ...labels];
}

/** An image manifest for the host (os and arch labels always there; `extra.labels` are added to them). */
export function manifestJson(name: string, extra: Record<string, unknown> = {}): string {
  const labels = withPlatform(Array.isArray(extra.labels) ? (extra.labels as Array<{ name: string; value: string }>) : []);
  return JSON.stringify({ acKind: 'ImageManifest', acVersion: '0.8.11', name, ...extra, labels });
}

/** A minimal valid ACI: rootfs/ plus the given entries and a manifest named `name`. */
export function simpleAci(name: string, entries: RawEntry[] = [], extra: Record<string, unknown> = {}): Buffer {
  return rawTar([{ path: 'rootfs/', type: 'Directory' }, ...entries, { path: 'manifest', body: manifestJson(name, extra) }], { gzip: true });
}
