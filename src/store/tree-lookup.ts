import path from 'node:path';
import { resolveStoredDependency } from './dependencies.js';
import type { ImageRecord } from './image-index.js';
import { treePath } from './layout.js';
import { planRender, treeIdOf, type PlannedLayer } from './render-plan.js';
import type { Store } from './store.js';
import { getTree, type TreeRecord } from './tree-index.js';
import { treeIsRendered } from './tree-store.js';

/** The layers an image renders from: itself and its stored dependencies, depth-first. */
export function planFor(store: Store, img: ImageRecord): PlannedLayer[] {
  return planRender({ id: img.id, manifest: img.manifest }, (dep) => resolveStoredDependency(store.db, dep));
}

/**
 * The image's rendered tree when it is already in the tree store (the common case: trees are
 * rendered on fetch). Kept apart from rendering so starting a pod loads no archive code.
 */
export function findRenderedTree(store: Store, img: ImageRecord): { tree: TreeRecord; rootfs: string } | null {
  const id = treeIdOf(planFor(store, img));
  const existing = getTree(store.db, id);
  if (existing && treeIsRendered(store, id)) return { tree: existing, rootfs: path.join(treePath(store.layout, id), 'rootfs') };
  return null;
}
