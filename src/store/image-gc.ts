import fs from 'node:fs';
import path from 'node:path';
import { listImages } from './image-index.js';
import { referencedBlobs } from './oci-index.js';
import { removeImage } from './image-remove.js';
import type { Store } from './store.js';
import { deleteTree, listTrees } from './tree-index.js';
import { removeTree } from './tree-store.js';

export interface GcReport {
  tempRemoved: string[];
  treesRemoved: string[];
  blobsRemoved: string[];
  imagesRemoved: string[];
}

/** What pods (and live pins) use; read under the exclusive store lock, so nothing starts using more meanwhile. */
export type InUse = (store: Store) => Promise<{ images: ReadonlySet<string>; trees: ReadonlySet<string> }>;

/**
 * Collects store garbage under the exclusive store lock (no import or pod start is in progress
 * then): leftovers of killed imports (temp files, blobs and trees without index rows, trees
 * without their `rendered` marker), every rendered tree no pod uses (rkt: `run` and `prepare`
 * render again when needed), then images not used within the grace period. What pods use
 * (`inUse`, read under the lock, pins included) is kept. The grace period is measured from
 * `now()` taken once the lock is held: an image used a moment before with `--grace-period=0s` goes.
 */
export async function gcImages(store: Store, gracePeriodMs: number, now: () => number, inUse: InUse): Promise<GcReport> {
  const report: GcReport = { tempRemoved: [], treesRemoved: [], blobsRemoved: [], imagesRemoved: [] };
  const lock = await store.lock('exclusive');
  try {
    const l = store.layout;
    const refs = await inUse(store);
    const treesInUse = refs.trees;
    const t0 = now();
    for (const name of safeReaddir(l.tmpDir)) {
      await fs.promises.rm(path.join(l.tmpDir, name), { recursive: true, force: true });
      report.tempRemoved.push(name);
    }
    const images = listImages(store.db);
    const imageIds = new Set<string>(images.map((i) => i.id));
    const trees = listTrees(store.db);
    const knownTrees = new Set(trees.map((t) => t.id));
    for (const t of trees) {
      if (treesInUse.has(t.id)) continue; // a pod's overlay lower dir or its copy source
      deleteTree(store.db, t.id);
      await removeTree(store, t.id);
      report.treesRemoved.push(t.id);
    }
    for (const name of safeReaddir(l.treeDir)) {
      if (!knownTrees.has(name) && !treesInUse.has(name)) {
        await removeTree(store, name);
        report.treesRemoved.push(name);
      }
    }
    for (const shard of safeReaddir(l.blobDir)) {
      for (const name of safeReaddir(path.join(l.blobDir, shard))) {
        if (!imageIds.has(name)) {
          await fs.promises.rm(path.join(l.blobDir, shard, name), { force: true });
          report.blobsRemoved.push(name);
        }
      }
    }
    // OCI blobs (layers, configs, manifests) that no stored image holds: a cut import's, or a
    // shared layer whose last image went.
    const held = referencedBlobs(store.db);
    for (const shard of safeReaddir(l.ociBlobDir)) {
      for (const name of safeReaddir(path.join(l.ociBlobDir, shard))) {
        if (!held.has(`sha256:${name}`)) {
          await fs.promises.rm(path.join(l.ociBlobDir, shard, name), { force: true });
          report.blobsRemoved.push(`sha256:${name}`);
        }
      }
    }
    for (const img of images) {
      if (refs.images.has(img.id)) continue;
      if (t0 - img.lastUsed >= gracePeriodMs) {
        await removeImage(store, img.id, treesInUse);
        report.imagesRemoved.push(img.id);
      }
    }
  } finally {
    lock.release();
  }
  return report;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
