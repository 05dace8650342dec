import fs from 'node:fs';
import type { ImageId } from '../spec/image-id.js';
import { deleteImage } from './image-index.js';
import { deleteRemotesOf } from './remote-index.js';
import { blobPath } from './layout.js';
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
  store.db.transaction(() => {
    deleteImage(store.db, id);
    deleteRemotesOf(store.db, id);
    for (const t of trees) deleteTree(store.db, t.id);
  })();
  for (const t of trees) await removeTree(store, t.id);
  await fs.promises.rm(blobPath(store.layout, id), { force: true });
}
