import { CapsuleError } from '../errors/capsule-error.js';
import { looksLikeImageId, parseImageIdPrefix } from '../spec/image-id.js';
import { formatNameRef, parseNameRef } from '../spec/image-ref.js';
import { findByIdPrefix, findByName, type ImageRecord } from './image-index.js';
import type { Store } from './store.js';

/** An image already in the store, by ID prefix (≥ 2 hex) or by name[:version][,labels]. */
export function resolveStoredImage(store: Store, arg: string): ImageRecord {
  if (looksLikeImageId(arg)) {
    const p = parseImageIdPrefix(arg);
    if (!store.exists) throw new CapsuleError('image-not-found', `no image IDs found matching ${JSON.stringify(arg)}`);
    return findByIdPrefix(store.db, p);
  }
  const ref = parseNameRef(arg);
  const r = store.exists ? findByName(store.db, ref.name, ref.labels) : undefined;
  if (!r) throw new CapsuleError('image-not-found', `no image named ${JSON.stringify(formatNameRef(ref.name, ref.labels))} in the store`);
  return r;
}
