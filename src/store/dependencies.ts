import { CapsuleError } from '../errors/capsule-error.js';
import type { Dependency } from '../spec/image-manifest.js';
import { formatNameRef } from '../spec/image-ref.js';
import type { Db } from './index-db.js';
import { findByName, getImage } from './image-index.js';
import type { RenderImage } from './render-plan.js';

/** A dependency the store does not have; fetchers catch it, fetch `dep`, and plan again. */
export class DependencyMissing extends CapsuleError {
  constructor(
    readonly dep: Dependency,
    message: string,
  ) {
    super('dependency-missing', message, { hint: 'fetch it first' });
    this.name = 'DependencyMissing';
  }
}

/** Finds a dependency in the store: by imageID when given (it must match), else by name and labels. */
export function resolveStoredDependency(db: Db, dep: Dependency): RenderImage {
  const labels = Object.fromEntries((dep.labels ?? []).map((l) => [l.name, l.value]));
  if (dep.imageID) {
    const r = getImage(db, dep.imageID);
    if (!r) throw new DependencyMissing(dep, `dependency ${formatNameRef(dep.imageName, labels)} with image ID ${dep.imageID.slice(0, 39)}… is not in the store`);
    if (r.name !== dep.imageName) throw new CapsuleError('dependency-mismatch', `dependency image ${dep.imageID.slice(0, 39)}… is named ${JSON.stringify(r.name)}, not ${JSON.stringify(dep.imageName)}`);
    return { id: r.id, manifest: r.manifest };
  }
  const r = findByName(db, dep.imageName, labels);
  if (!r) throw new DependencyMissing(dep, `dependency ${formatNameRef(dep.imageName, labels)} is not in the store`);
  return { id: r.id, manifest: r.manifest };
}
