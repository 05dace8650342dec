import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { ByteReader } from '../aci/byte-reader.js';
import { decompressAs, detectLayerCompression, sniffWith, type LayerCompression } from '../aci/decompress.js';
import { LayerWriter } from '../aci/layer-writer.js';
import { checkUnpackedSize, DEFAULT_SIZE_LIMITS, type SizeLimits } from '../aci/size-limits.js';
import { readTar } from '../aci/tar-reader.js';
import { CapsuleError, DigestMismatch } from '../errors/capsule-error.js';
import { tempName } from '../sys/atomic-write.js';
import type { ImageRecord } from './image-index.js';
import { ociBlobPath, treePath } from './layout.js';
import { getOciImage, ociTreeId, type OciImageRecord, type StoredLayer } from './oci-index.js';
import type { Store } from './store.js';
import { getTree, type TreeRecord } from './tree-index.js';
import { commitTree, treeBytes, treeIsRendered } from './tree-store.js';

const short = (d: string): string => d.slice(0, 'sha256:'.length + 12);

/** Streams a stored OCI blob, checking on the way that it still hashes to its digest. */
export async function* readOciBlob(store: Store, digest: string): AsyncGenerator<Buffer> {
  const h = createHash('sha256');
  try {
    for await (const c of createReadStream(ociBlobPath(store.layout, digest), { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      h.update(c);
      yield c;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CapsuleError('blob-missing', `blob ${short(digest)} is missing from the store`, { hint: 'fetch the image again' });
    throw e;
  }
  const actual = `sha256:${h.digest('hex')}`;
  if (actual !== digest) throw new DigestMismatch(digest, actual, 'stored blob is corrupt');
}

/** The compression a layer media type promises; undefined for a type that does not say (checked by content only). */
export function mediaTypeCompression(mediaType: string): LayerCompression | undefined {
  if (/\+gzip$|\.tar\.gzip$|\.tar\.gz$/.test(mediaType)) return 'gzip';
  if (/\+zstd$|\.tar\.zstd$/.test(mediaType)) return 'zstd';
  if (/\.tar$/.test(mediaType)) return 'none';
  return undefined;
}

/**
 * Applies one stored layer: decompressed by what its content is (which must agree with its media
 * type), bounded against decompression bombs, and its uncompressed bytes checked against the
 * config's diff_id.
 */
export async function applyLayer(store: Store, writer: LayerWriter, layer: StoredLayer, limits: SizeLimits = DEFAULT_SIZE_LIMITS): Promise<void> {
  await applyLayerBytes(writer, layer, readOciBlob(store, layer.digest), limits);
}

/**
 * applyLayer with the layer's compressed bytes from elsewhere (a download as it arrives,
 * layer-feed.ts): `blob` must end only when its bytes are known to match the layer's digest.
 */
export async function applyLayerBytes(writer: LayerWriter, layer: StoredLayer, blob: AsyncIterable<Buffer>, limits: SizeLimits = DEFAULT_SIZE_LIMITS): Promise<void> {
  let compressed = 0;
  const counted = (async function* () {
    for await (const c of blob) {
      compressed += c.length;
      yield c;
    }
  })();
  const { kind, stream } = await sniffWith(counted, detectLayerCompression);
  const promised = mediaTypeCompression(layer.mediaType);
  if (promised !== undefined && promised !== kind) {
    throw new CapsuleError('bad-layer', `layer ${short(layer.digest)} is ${kind === 'none' ? 'uncompressed' : `${kind}-compressed`} but its media type ${layer.mediaType} says ${promised === 'none' ? 'uncompressed' : promised}`);
  }
  const diff = createHash('sha256');
  let unpacked = 0;
  const tar = (async function* () {
    for await (const c of decompressAs(kind, stream)) {
      unpacked += c.length;
      checkUnpackedSize(unpacked, compressed, limits);
      diff.update(c);
      yield c;
    }
  })();
  writer.nextLayer();
  const reader = new ByteReader(tar);
  try {
    for await (const e of readTar(tar, reader)) await writer.add(e);
    await reader.drain();
  } catch (e) {
    if (e instanceof CapsuleError) throw new CapsuleError(e.code, `layer ${short(layer.digest)}`, { cause: e });
    throw e;
  }
  const actual = `sha256:${diff.digest('hex')}`;
  if (actual !== layer.diffId) throw new DigestMismatch(layer.diffId, actual, `layer ${short(layer.digest)} does not match the config's diff_id`);
}

export async function applyLayers(store: Store, writer: LayerWriter, layers: readonly StoredLayer[]): Promise<void> {
  for (const l of layers) await applyLayer(store, writer, l);
}

/** Renders an OCI image's layers into a fresh directory `rootfs` (created here, private while it fills). */
export async function renderOciInto(store: Store, rootfs: string, layers: readonly StoredLayer[]): Promise<LayerWriter> {
  fs.mkdirSync(rootfs, { mode: 0o700 });
  const w = new LayerWriter(rootfs);
  await applyLayers(store, w, layers);
  w.finish();
  return w;
}

export function ociImageOf(store: Store, img: Pick<ImageRecord, 'id'>): OciImageRecord {
  const o = getOciImage(store.db, img.id);
  if (!o) throw new CapsuleError('image-missing', `OCI image ${short(img.id)} has no layer record in the store`, { hint: 'fetch it again' });
  return o;
}

export function findRenderedOciTree(store: Store, img: Pick<ImageRecord, 'id'>): { tree: TreeRecord; rootfs: string } | null {
  const id = ociTreeId(ociImageOf(store, img).layers);
  const existing = getTree(store.db, id);
  if (existing && treeIsRendered(store, id)) return { tree: existing, rootfs: path.join(treePath(store.layout, id), 'rootfs') };
  return null;
}

/**
 * Renders an OCI image's tree into the tree store unless it is there (keyed by the ordered layer
 * digests). Returns the writer's policy report when it rendered.
 */
export async function ensureOciTree(store: Store, img: Pick<ImageRecord, 'id'>, now = Date.now()): Promise<{ tree: TreeRecord; rootfs: string; writer?: LayerWriter }> {
  const found = findRenderedOciTree(store, img);
  if (found) return found;
  const o = ociImageOf(store, img);
  const id = ociTreeId(o.layers);
  const lock = await store.lock('shared');
  const tmp = await store.makeTemp(tempName('tree'));
  try {
    fs.mkdirSync(tmp, { mode: 0o700 });
    const w = await renderOciInto(store, path.join(tmp, 'rootfs'), o.layers);
    const rec: TreeRecord = { id, imageId: img.id, deps: o.layers.map((l) => l.digest), size: treeBytes(w.nodes.values()), created: now };
    await commitTree(store, tmp, rec);
    return { tree: rec, rootfs: path.join(treePath(store.layout, id), 'rootfs'), writer: w };
  } finally {
    lock.release();
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

/** An OCI image's manifest or config as fetched (its CAS blob, re-checked against its digest). */
export async function ociManifestText(store: Store, img: Pick<ImageRecord, 'id'>, which: 'manifest' | 'config'): Promise<string> {
  const o = ociImageOf(store, img);
  const parts: Buffer[] = [];
  for await (const c of readOciBlob(store, which === 'manifest' ? o.manifestDigest : o.configDigest)) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}
