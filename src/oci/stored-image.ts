import { CapsuleError } from '../errors/capsule-error.js';
import { looksLikeImageId } from '../spec/image-id.js';
import { getImage, type ImageRecord } from '../store/image-index.js';
import type { Db } from '../store/index-db.js';
import { getOciImage, refsByName, type OciRefRecord } from '../store/oci-index.js';
import { resolveStoredImage as resolveAciOrId } from '../store/resolve-image.js';
import type { Store } from '../store/store.js';
import { parseOciReference, repositoryName } from './reference.js';

/**
 * A stored OCI image named as docker and podman name them: `registry/repository[:tag]`,
 * `name[:tag]` (Docker Hub's, `library/` for single names; `:latest` when no tag) or
 * `…@sha256:<manifest digest>`. undefined when the argument is not such a name or names nothing
 * stored. The newest reference wins.
 */
export function findOciByName(db: Db, arg: string): { image: ImageRecord; ref: OciRefRecord } | undefined {
  let r;
  try {
    r = parseOciReference(arg.replace(/^docker:(\/\/)?/, ''));
  } catch {
    return undefined;
  }
  const refs = refsByName(db, repositoryName(r), r.digest !== undefined ? undefined : r.tag);
  for (const ref of refs) {
    if (r.digest !== undefined && ref.topDigest !== r.digest && getOciImage(db, ref.imageId)?.manifestDigest !== r.digest) continue;
    const image = getImage(db, ref.imageId);
    if (image) return { image, ref };
  }
  return undefined;
}

/**
 * An image already in the store by ID prefix, appc name (src/store/resolve-image.ts) or OCI name.
 * An appc image of that name wins over an OCI one.
 */
export function resolveStoredImage(store: Store, arg: string): ImageRecord {
  if (looksLikeImageId(arg) || !store.exists) return resolveAciOrId(store, arg);
  try {
    return resolveAciOrId(store, arg);
  } catch (e) {
    const oci = findOciByName(store.db, arg);
    if (oci) return oci.image;
    if (e instanceof CapsuleError && e.code === 'invalid-name') {
      throw new CapsuleError('image-not-found', `no image named ${JSON.stringify(arg)} in the store`);
    }
    throw e;
  }
}
