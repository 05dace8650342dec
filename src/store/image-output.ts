import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';
import { writeFileAtomic } from '../sys/atomic-write.js';
import { planFor, renderInto } from './ensure-tree.js';
import type { ImageRecord } from './image-index.js';
import { blobPath } from './layout.js';
import type { PlannedLayer } from './render-plan.js';
import type { Store } from './store.js';

/** Writes the stored (uncompressed) ACI to `out`: byte-identical to the original tar. */
export async function exportImage(store: Store, img: ImageRecord, out: string, overwrite: boolean): Promise<void> {
  if (img.kind === 'oci') {
    const { exportOciArchive } = await import('./oci-output.js');
    return exportOciArchive(store, img, out, overwrite);
  }
  if (!overwrite && fs.existsSync(out)) throw new CapsuleError('exists', `${JSON.stringify(out)} already exists`, { hint: 'pass --overwrite to replace it' });
  const tmp = path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.${process.pid}.tmp`);
  try {
    await fs.promises.copyFile(blobPath(store.layout, img.id), tmp);
    const h = await fs.promises.open(tmp, 'r+');
    await h.sync();
    await h.close();
    await fs.promises.rename(tmp, out);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * `image extract` (the image alone) and `image render` (with dependencies, as an app would see it)
 * into a directory created here; with `rootfsOnly` the directory is the rootfs itself.
 */
export async function writeImageTree(store: Store, img: ImageRecord, dir: string, o: { withDependencies: boolean; rootfsOnly: boolean; overwrite: boolean }): Promise<void> {
  if (fs.existsSync(dir)) {
    if (!o.overwrite) throw new CapsuleError('exists', `extraction target ${JSON.stringify(dir)} already exists`, { hint: 'pass --overwrite to replace it' });
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
  if (img.kind === 'oci') {
    const { writeOciTree } = await import('./oci-output.js');
    return writeOciTree(store, img, dir, o.rootfsOnly);
  }
  const layers: PlannedLayer[] = o.withDependencies ? planFor(store, img) : [{ id: img.id, manifest: img.manifest, ancestorWhitelist: undefined, ownWhitelist: undefined }];
  if (o.rootfsOnly) {
    await renderInto(store, dir, layers);
    return;
  }
  fs.mkdirSync(dir, { mode: 0o755 });
  await renderInto(store, path.join(dir, 'rootfs'), layers);
  await writeFileAtomic(path.join(dir, 'manifest'), img.manifestText, 0o644);
}
