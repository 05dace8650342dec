import fs from 'node:fs';
import path from 'node:path';
import { LayerWriter } from '../aci/layer-writer.js';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../aci/tar-writer.js';
import { CapsuleError } from '../errors/capsule-error.js';
import type { ImageRecord } from './image-index.js';
import { ociBlobPath } from './layout.js';
import { ociTreeId, refsOfImage } from './oci-index.js';
import { applyLayers, ensureOciTree, ociImageOf, readOciBlob, renderOciInto } from './oci-render.js';
import type { Store } from './store.js';
import { verifyRenderedTree, type TreeVerifyResult } from './tree-verify.js';

/**
 * `image extract` / `image render` of an OCI image: its layers applied in order into a directory
 * created here (an OCI image has no dependencies, so both give the same tree). Without
 * `rootfsOnly`, DIR gets `rootfs/` and `manifest` (the appc view runs use), like an ACI.
 */
export async function writeOciTree(store: Store, img: ImageRecord, dir: string, rootfsOnly: boolean): Promise<void> {
  const layers = ociImageOf(store, img).layers;
  if (rootfsOnly) {
    await renderOciInto(store, dir, layers);
    return;
  }
  fs.mkdirSync(dir, { mode: 0o755 });
  await renderOciInto(store, path.join(dir, 'rootfs'), layers);
  fs.writeFileSync(path.join(dir, 'manifest'), img.manifestText, { mode: 0o644 });
}

/** A tar member from a stored blob (re-checked against its digest as it is copied). */
async function* blobMember(store: Store, digest: string): AsyncGenerator<Buffer> {
  const size = fs.statSync(ociBlobPath(store.layout, digest)).size;
  yield encodeHeader({ path: `blobs/sha256/${digest.slice('sha256:'.length)}`, type: 'File', mode: 0o644, size });
  yield* readOciBlob(store, digest);
  yield padding(size);
}

function fileMember(name: string, body: Buffer): Buffer[] {
  return [encodeHeader({ path: name, type: 'File', mode: 0o644, size: body.length }), body, padding(body.length)];
}

/**
 * `image export` of an OCI image: an `oci-archive` (a tar of an OCI image layout) holding its
 * manifest, config and layers as stored, and index.json naming the manifest with its tag
 * (`org.opencontainers.image.ref.name`), so `oci-archive:FILE:TAG` (capsule, podman, skopeo) reads it.
 */
export async function exportOciArchive(store: Store, img: ImageRecord, out: string, overwrite: boolean): Promise<void> {
  if (!overwrite && fs.existsSync(out)) throw new CapsuleError('exists', `${JSON.stringify(out)} already exists`, { hint: 'pass --overwrite to replace it' });
  const o = ociImageOf(store, img);
  const ref = refsOfImage(store.db, img.id).at(-1);
  const tag = ref?.tag;
  const manifestSize = fs.statSync(ociBlobPath(store.layout, o.manifestDigest)).size;
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: o.manifestMediaType, digest: o.manifestDigest, size: manifestSize, ...(tag !== undefined ? { annotations: { 'org.opencontainers.image.ref.name': tag } } : {}) }],
  };
  const tmp = path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.${process.pid}.tmp`);
  const h = await fs.promises.open(tmp, 'w', 0o644);
  try {
    const write = async (b: Buffer): Promise<void> => {
      if (b.length > 0) await h.write(b);
    };
    for (const b of fileMember('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'))) await write(b);
    for (const b of fileMember('index.json', Buffer.from(JSON.stringify(index)))) await write(b);
    const blobs = [...new Set([o.manifestDigest, o.configDigest, ...o.layers.map((l) => l.digest)])];
    for (const d of blobs) for await (const b of blobMember(store, d)) await write(b);
    await write(END_OF_ARCHIVE);
    await h.sync();
    await h.close();
    await fs.promises.rename(tmp, out);
  } catch (e) {
    await h.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * `image verify` of an OCI image: the layers replayed from their blobs (each re-checked against
 * its digest and diff_id) give the digest a correct tree has; a tree that differs is rendered again.
 */
export async function verifyOciTree(store: Store, img: ImageRecord): Promise<TreeVerifyResult> {
  const o = ociImageOf(store, img);
  const expectedDigest = async (rootfs: string): Promise<string> => {
    const replay = new LayerWriter(rootfs, undefined, 'replay');
    await applyLayers(store, replay, o.layers);
    replay.finish();
    return replay.digest();
  };
  return verifyRenderedTree(store, ociTreeId(o.layers), expectedDigest, () => ensureOciTree(store, img));
}
