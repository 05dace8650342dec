import fs from 'node:fs';
import type { ImageId } from '../spec/image-id.js';
import { deleteImage } from './image-index.js';
import { deleteRemotesOf } from './remote-index.js';
import { blobPath, ociBlobPath } from './layout.js';
import { blobInUse, blobsOfImage, deleteOciImage } from './oci-index.js';
import { isOciImageId } from '../spec/image-id.js';
import type { Store } from './store.js';
import { deleteTree, treesOfImage } from './tree-index.js';
import { removeTree } from './tree-store.js';

/**
 * Removes an image: index rows first (one transaction; from then on it is gone for every reader),
 * then its trees and blob. Trees in `keepTrees` (used by pods) stay with their index rows, so a
 * pod never loses its root filesystem; `image gc` removes them once no pod uses them.
 * Caller holds the store lock exclusively.
 */
export async function removeImage(store: Store, id: ImageId, keepTrees: ReadonlySet<string> = new Set()): Promise<void> {
  const trees = treesOfImage(store.db, id).filter((t) => !keepTrees.has(t.id));
  const oci = isOciImageId(id);
  // An OCI image's blobs that no other image holds go with it (layers are shared between images).
  const blobs = oci ? blobsOfImage(store.db, id).filter((d) => !blobInUse(store.db, d, id)) : [];
  store.db.transaction(() => {
    deleteImage(store.db, id);
    deleteRemotesOf(store.db, id);
    if (oci) deleteOciImage(store.db, id);
    for (const t of trees) deleteTree(store.db, t.id);
  })();
  for (const t of trees) await removeTree(store, t.id);
  if (!oci) await fs.promises.rm(blobPath(store.layout, id), { force: true });
  for (const d of blobs) await fs.promises.rm(ociBlobPath(store.layout, d), { force: true });
}
