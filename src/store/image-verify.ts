import { TreeWriter } from '../aci/tree-writer.js';
import { ensureTree, planFor } from './ensure-tree.js';
import type { ImageRecord } from './image-index.js';
import { applyLayers } from './render.js';
import { treeIdOf, type PlannedLayer } from './render-plan.js';
import type { Store } from './store.js';
import { verifyRenderedTree, type TreeVerifyResult } from './tree-verify.js';

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
export async function verifyImageTree(store: Store, img: ImageRecord): Promise<TreeVerifyResult> {
  if (img.kind === 'oci') {
    const { verifyOciTree } = await import('./oci-output.js');
    return verifyOciTree(store, img);
  }
  const plan = planFor(store, img);
  return verifyRenderedTree(
    store,
    treeIdOf(plan),
    (rootfs) => expectedDigest(store, plan, rootfs),
    () => ensureTree(store, img),
  );
}
