import fs from 'node:fs';
import path from 'node:path';
import { TreeWriter } from '../aci/tree-writer.js';
import { tempName } from '../sys/atomic-write.js';
import { findRenderedTree, planFor } from './tree-lookup.js';
import type { ImageRecord } from './image-index.js';
import { treePath } from './layout.js';
import { applyLayers } from './render.js';
import { treeIdOf, type PlannedLayer } from './render-plan.js';
import type { Store } from './store.js';
import type { TreeRecord } from './tree-index.js';
import { commitTree, treeBytes } from './tree-store.js';

export { planFor };

/** Renders `layers` into a fresh directory `rootfs` (created here, private while it fills). */
export async function renderInto(store: Store, rootfs: string, layers: readonly PlannedLayer[]): Promise<TreeWriter> {
  fs.mkdirSync(rootfs, { mode: 0o700 });
  const w = new TreeWriter(rootfs);
  await applyLayers(store, w, layers);
  w.finish();
  return w;
}

/** The rendered tree of an image with its dependencies, rendering it when missing. */
export async function ensureTree(store: Store, img: ImageRecord, now = Date.now()): Promise<{ tree: TreeRecord; rootfs: string }> {
  const found = findRenderedTree(store, img);
  if (found) return found;
  const plan = planFor(store, img);
  const id = treeIdOf(plan);
  const lock = await store.lock('shared');
  const tmp = await store.makeTemp(tempName('tree'));
  try {
    fs.mkdirSync(tmp, { mode: 0o700 });
    const w = await renderInto(store, path.join(tmp, 'rootfs'), plan);
    const rec: TreeRecord = { id, imageId: img.id, deps: plan.map((l) => l.id), size: treeBytes(w.nodes.values()), created: now };
    await commitTree(store, tmp, rec);
    return { tree: rec, rootfs: path.join(treePath(store.layout, id), 'rootfs') };
  } finally {
    lock.release();
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}
