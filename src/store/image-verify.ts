import path from 'node:path';
import { digestTree } from '../aci/tree-digest.js';
import { TreeWriter } from '../aci/tree-writer.js';
import { ensureTree, planFor } from './ensure-tree.js';
import type { ImageRecord } from './image-index.js';
import { treePath } from './layout.js';
import { applyLayers } from './render.js';
import { treeIdOf, type PlannedLayer } from './render-plan.js';
import type { Store } from './store.js';
import { deleteTree, getTree } from './tree-index.js';
import { removeTree, treeIsRendered } from './tree-store.js';

export type VerifyOutcome = 'verified' | 'rendered' | 're-rendered';

/**
 * What a correct tree looks like, derived from the source of truth: the stored blobs (each checked
 * against its image ID while read) replayed through the renderer without writing anything.
 */
async function expectedDigest(store: Store, plan: readonly PlannedLayer[], root: string): Promise<string> {
  const replay = new TreeWriter(root, undefined, 'replay');
  await applyLayers(store, replay, plan);
  replay.finish();
  return replay.digest();
}

/** Re-hashes an image's rendered tree; a tree that no longer matches is removed and rendered again. */
export async function verifyImageTree(store: Store, img: ImageRecord): Promise<{ outcome: VerifyOutcome; expected?: string; actual?: string }> {
  if (img.kind === 'oci') {
    const { verifyOciTree } = await import('./oci-output.js');
    return verifyOciTree(store, img);
  }
  const plan = planFor(store, img);
  const id = treeIdOf(plan);
  const rec = getTree(store.db, id);
  if (!rec || !treeIsRendered(store, id)) {
    await ensureTree(store, img);
    return { outcome: 'rendered' };
  }
  const rootfs = path.join(treePath(store.layout, id), 'rootfs');
  const expected = await expectedDigest(store, plan, rootfs);
  const actual = digestTree(rootfs);
  if (actual === expected) return { outcome: 'verified' };
  const lock = await store.lock('exclusive');
  try {
    deleteTree(store.db, id);
    await removeTree(store, id);
  } finally {
    lock.release();
  }
  await ensureTree(store, img);
  return { outcome: 're-rendered', expected, actual };
}
