import path from 'node:path';
import { digestTree } from '../aci/tree-digest.js';
import { treePath } from './layout.js';
import type { Store } from './store.js';
import { deleteTree, getTree } from './tree-index.js';
import { removeTree, treeIsRendered } from './tree-store.js';

export type VerifyOutcome = 'verified' | 'rendered' | 're-rendered';

export interface TreeVerifyResult {
  outcome: VerifyOutcome;
  expected?: string;
  actual?: string;
}

/**
 * `image verify` of one rendered tree, for both image kinds: a tree not rendered yet is rendered;
 * one whose digest on disk differs from `expectedDigest` (replayed from the stored blobs) is
 * removed under the store's exclusive lock and rendered again.
 */
export async function verifyRenderedTree(store: Store, id: string, expectedDigest: (rootfs: string) => Promise<string>, render: () => Promise<unknown>): Promise<TreeVerifyResult> {
  if (!getTree(store.db, id) || !treeIsRendered(store, id)) {
    await render();
    return { outcome: 'rendered' };
  }
  const rootfs = path.join(treePath(store.layout, id), 'rootfs');
  const expected = await expectedDigest(rootfs);
  const actual = digestTree(rootfs);
  if (actual === expected) return { outcome: 'verified' };
  const lock = await store.lock('exclusive');
  try {
    deleteTree(store.db, id);
    await removeTree(store, id);
  } finally {
    lock.release();
  }
  await render();
  return { outcome: 're-rendered', expected, actual };
}
