import { createHash } from 'node:crypto';
import type { ImageId } from '../spec/image-id.js';
import type { Db } from './index-db.js';

/** One layer of a stored OCI image, bottom first: the blob as fetched and its uncompressed digest. */
export interface StoredLayer {
  digest: string;
  size: number;
  mediaType: string;
  /** `rootfs.diff_ids[i]` of the config: checked while the layer is rendered. */
  diffId: string;
}

/** What running an OCI image needs beyond its appc view (docker/podman rules, resolve-app.ts). */
export interface OciRunConfig {
  entrypoint: string[];
  cmd: string[];
  /** Config `User` as written: `name`, `uid`, `uid:gid`, `name:group`; '' means root. */
  user: string;
  stopSignal?: string;
}

export interface OciImageRecord {
  imageId: ImageId;
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  /** `os/arch[/variant]`. */
  platform: string;
  layers: StoredLayer[];
  run: OciRunConfig;
}

/** A reference (`registry/repository:tag` or `…@sha256:…`) that names a stored OCI image. */
export interface OciRefRecord {
  ref: string;
  /** `registry/repository`. */
  name: string;
  tag: string | undefined;
  imageId: ImageId;
  /** The digest of what the reference resolved to at the source (an index or a manifest): `update` compares it. */
  topDigest: string;
  /** The source string it was fetched from (`docker://…`, `oci:/path:tag`, …). */
  source: string;
  platform: string;
  updated: number;
}

interface ImageRow { image_id: string; manifest_digest: string; manifest_media_type: string; config_digest: string; platform: string; layers: string; run_config: string }
interface RefRow { ref: string; name: string; tag: string | null; image_id: string; top_digest: string; source: string; platform: string; updated: number }

const imageFromRow = (r: ImageRow): OciImageRecord => ({
  imageId: r.image_id as ImageId,
  manifestDigest: r.manifest_digest,
  manifestMediaType: r.manifest_media_type,
  configDigest: r.config_digest,
  platform: r.platform,
  layers: JSON.parse(r.layers) as StoredLayer[],
  run: JSON.parse(r.run_config) as OciRunConfig,
});

const refFromRow = (r: RefRow): OciRefRecord => ({
  ref: r.ref,
  name: r.name,
  tag: r.tag ?? undefined,
  imageId: r.image_id as ImageId,
  topDigest: r.top_digest,
  source: r.source,
  platform: r.platform,
  updated: r.updated,
});

export function getOciImage(db: Db, id: string): OciImageRecord | undefined {
  const r = db.prepare('SELECT * FROM oci_images WHERE image_id = ?').get(id) as ImageRow | undefined;
  return r && imageFromRow(r);
}

export function listOciImages(db: Db): OciImageRecord[] {
  return (db.prepare('SELECT * FROM oci_images').all() as ImageRow[]).map(imageFromRow);
}

export function getOciRef(db: Db, ref: string): OciRefRecord | undefined {
  const r = db.prepare('SELECT * FROM oci_refs WHERE ref = ?').get(ref) as RefRow | undefined;
  return r && refFromRow(r);
}

export function refsOfImage(db: Db, id: string): OciRefRecord[] {
  return (db.prepare('SELECT * FROM oci_refs WHERE image_id = ? ORDER BY updated').all(id) as RefRow[]).map(refFromRow);
}

export function listOciRefs(db: Db): OciRefRecord[] {
  return (db.prepare('SELECT * FROM oci_refs ORDER BY updated').all() as RefRow[]).map(refFromRow);
}

/**
 * Records an imported OCI image (its row in `images` is written by the caller in the same
 * transaction): the image, the reference it came under, and the blobs it holds.
 */
export function upsertOciImage(db: Db, img: OciImageRecord, ref: Omit<OciRefRecord, 'imageId'>, blobs: readonly string[]): void {
  db.prepare(
    `INSERT INTO oci_images (image_id, manifest_digest, manifest_media_type, config_digest, platform, layers, run_config)
     VALUES (@id, @md, @mt, @cd, @pl, @layers, @run)
     ON CONFLICT(image_id) DO UPDATE SET manifest_digest = @md, manifest_media_type = @mt, platform = @pl, layers = @layers, run_config = @run`,
  ).run({ id: img.imageId, md: img.manifestDigest, mt: img.manifestMediaType, cd: img.configDigest, pl: img.platform, layers: JSON.stringify(img.layers), run: JSON.stringify(img.run) });
  db.prepare(
    `INSERT INTO oci_refs (ref, name, tag, image_id, top_digest, source, platform, updated)
     VALUES (@ref, @name, @tag, @id, @top, @source, @platform, @updated)
     ON CONFLICT(ref) DO UPDATE SET image_id = @id, top_digest = @top, source = @source, platform = @platform, updated = @updated`,
  ).run({ ref: ref.ref, name: ref.name, tag: ref.tag ?? null, id: img.imageId, top: ref.topDigest, source: ref.source, platform: ref.platform, updated: ref.updated });
  // The blob set is the current manifest's: a re-import with other layers (another compression) replaces it.
  db.prepare('DELETE FROM oci_blobs WHERE image_id = ?').run(img.imageId);
  const ins = db.prepare('INSERT OR IGNORE INTO oci_blobs (digest, image_id) VALUES (?, ?)');
  for (const b of blobs) ins.run(b, img.imageId);
}

/** Removes an OCI image's own rows (its `images` row is the caller's). */
export function deleteOciImage(db: Db, id: string): void {
  db.prepare('DELETE FROM oci_images WHERE image_id = ?').run(id);
  db.prepare('DELETE FROM oci_refs WHERE image_id = ?').run(id);
  db.prepare('DELETE FROM oci_blobs WHERE image_id = ?').run(id);
}

/** Every blob digest some stored image holds (what gc keeps under cas/blob/sha256). */
export function referencedBlobs(db: Db): Set<string> {
  return new Set((db.prepare('SELECT DISTINCT digest FROM oci_blobs').all() as { digest: string }[]).map((r) => r.digest));
}

/** Whether any stored image holds blob `digest` (other than `except`). */
export function blobInUse(db: Db, digest: string, except?: string): boolean {
  const r = db.prepare('SELECT 1 FROM oci_blobs WHERE digest = ? AND image_id != ? LIMIT 1').get(digest, except ?? '');
  return r !== undefined;
}

/**
 * The tree of an OCI image is keyed by its ordered layer digests: images sharing a base share
 * nothing wrongly, and an identical layer list (the same image under another config) renders nothing again.
 */
export function ociTreeId(layers: readonly Pick<StoredLayer, 'digest'>[]): string {
  const h = createHash('sha256');
  for (const l of layers) h.update(`${l.digest}\n`);
  return `layers-sha256-${h.digest('hex')}`;
}

/** References recorded as fetched from `source` (the image argument as given, paths absolute), newest first. */
export function refsFromSource(db: Db, source: string): OciRefRecord[] {
  return (db.prepare('SELECT * FROM oci_refs WHERE source = ? ORDER BY updated DESC').all(source) as RefRow[]).map(refFromRow);
}

/** References naming `name` (`registry/repository`) with `tag`, for name lookup (`capsule run registry/repo:tag`). */
export function refsByName(db: Db, name: string, tag: string | undefined): OciRefRecord[] {
  const rows = tag === undefined ? db.prepare('SELECT * FROM oci_refs WHERE name = ? ORDER BY updated DESC').all(name) : db.prepare('SELECT * FROM oci_refs WHERE name = ? AND tag = ? ORDER BY updated DESC').all(name, tag);
  return (rows as RefRow[]).map(refFromRow);
}

/** The blobs (manifests, config, layers) an image holds. */
export function blobsOfImage(db: Db, id: string): string[] {
  return (db.prepare('SELECT digest FROM oci_blobs WHERE image_id = ?').all(id) as { digest: string }[]).map((r) => r.digest);
}
