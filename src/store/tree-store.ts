import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../sys/atomic-write.js';
import { makeDirs } from '../sys/shared-dir.js';
import { treePath } from './layout.js';
import type { Store } from './store.js';
import { upsertTree, type TreeRecord } from './tree-index.js';

export const RENDERED_MARKER = 'rendered';

/** A tree counts only when its `rendered` marker exists (written last, after fsync). */
export function treeIsRendered(store: Store, id: string): boolean {
  return fs.existsSync(path.join(treePath(store.layout, id), RENDERED_MARKER));
}

/**
 * Moves a finished tree (`<tmp>/rootfs`) into `tree/<id>` by one rename and records it.
 * When another process committed the same tree first, ours is discarded: same ID, same content.
 */
export async function commitTree(store: Store, tmp: string, rec: TreeRecord): Promise<void> {
  const marker = path.join(tmp, RENDERED_MARKER);
  fs.writeFileSync(marker, `${JSON.stringify({ size: rec.size, deps: rec.deps })}\n`, { mode: 0o600 });
  const fd = fs.openSync(marker, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const dest = treePath(store.layout, rec.id);
  makeDirs(store.layout.treeDir, store.modes.readableDir);
  try {
    fs.renameSync(tmp, dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    if (!treeIsRendered(store, rec.id)) {
      // A leftover without a marker (a crashed render): replace it.
      await removeTree(store, rec.id);
      fs.renameSync(tmp, dest);
    } else await fs.promises.rm(tmp, { recursive: true, force: true });
  }
  await fsyncDir(store.layout.treeDir);
  upsertTree(store.db, rec);
}

/** Removes a tree: marker first, so a half-removed tree never reads as rendered. */
export async function removeTree(store: Store, id: string): Promise<void> {
  const dir = treePath(store.layout, id);
  await fs.promises.rm(path.join(dir, RENDERED_MARKER), { force: true });
  const trash = path.join(store.layout.tmpDir, `trash-${id}-${process.pid}-${Date.now()}`);
  makeDirs(store.layout.tmpDir, store.modes.writableDir);
  try {
    fs.renameSync(dir, trash);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await fs.promises.rm(trash, { recursive: true, force: true });
}

/** Bytes a tree occupies (apparent sizes of regular files). */
export function treeBytes(nodes: Iterable<{ type: string; size: number }>): number {
  let n = 0;
  for (const x of nodes) if (x.type === 'file') n += x.size;
  return n;
}
