import { createReadStream } from 'node:fs';
import { readAci } from '../aci/read-aci.js';
import type { TreeWriter } from '../aci/tree-writer.js';
import { CapsuleError, DigestMismatch } from '../errors/capsule-error.js';
import { createHash } from 'node:crypto';
import { blobPath } from './layout.js';
import { layerFilter, type PlannedLayer } from './render-plan.js';
import type { Store } from './store.js';

/** Streams a stored blob, checking on the way that it still hashes to its ID. */
export async function* readBlob(store: Store, id: string): AsyncGenerator<Buffer> {
  const h = createHash('sha512');
  let stream;
  try {
    stream = createReadStream(blobPath(store.layout, id), { highWaterMark: 1024 * 1024 });
    for await (const c of stream as AsyncIterable<Buffer>) {
      h.update(c);
      yield c;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CapsuleError('blob-missing', `image blob ${id.slice(0, 39)}… is missing from the store`, { hint: 'fetch the image again' });
    throw e;
  }
  const actual = `sha512-${h.digest('hex')}`;
  if (actual !== id) throw new DigestMismatch(id, actual, 'stored image blob is corrupt');
}

/** Applies planned layers (highest priority first) from their stored blobs. */
export async function applyLayers(store: Store, writer: TreeWriter, layers: readonly PlannedLayer[]): Promise<void> {
  for (const l of layers) {
    writer.nextLayer(layerFilter(l));
    await readAci(readBlob(store, l.id), writer);
  }
}

/** The top image's own pathWhitelist also removes its non-directories after the fact (its manifest may come last). */
export function applyOwnWhitelist(writer: TreeWriter, top: PlannedLayer): void {
  const own = top.ownWhitelist;
  if (!own) return;
  for (const [rel, n] of [...writer.nodes.entries()]) if (rel !== '' && n.type !== 'dir' && !own.has(`/${rel}`)) writer.removeFile(rel);
}
