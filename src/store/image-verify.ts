import path from 'node:path';
import { digestTree } from '../aci/tree-digest.js';
import { ensureTree, planFor } from './ensure-tree.js';
import type { ImageRecord } from './image-index.js';
import { treePath } from './layout.js';
import { treeIdOf } from './render-plan.js';
import type { Store } from './store.js';
import { deleteTree, getTree } from './tree-index.js';
import { removeTree, treeIsRendered } from './tree-store.js';

export type VerifyOutcome = 'verified' | 'rendered' | 're-rendered';

/** Re-hashes an image's rendered tree; a tree that no longer matches is removed and rendered again. */
export async function verifyImageTree(store: Store, img: ImageRecord): Promise<{ outcome: VerifyOutcome; expected?: string; actual?: string }> {
  const id = treeIdOf(planFor(store, img));
  const rec = getTree(store.db, id);
  if (!rec || !treeIsRendered(store, id)) {
    await ensureTree(store, img);
    return { outcome: 'rendered' };
  }
  const actual = digestTree(path.join(treePath(store.layout, id), 'rootfs'));
  if (actual === rec.digest) return { outcome: 'verified' };
  const lock = await store.lock('exclusive');
  try {
    deleteTree(store.db, id);
    await removeTree(store, id);
  } finally {
    lock.release();
  }
  await ensureTree(store, img);
  return { outcome: 're-rendered', expected: rec.digest, actual };
}
