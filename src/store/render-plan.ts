import { createHash } from 'node:crypto';
import { CapsuleError } from '../errors/capsule-error.js';
import type { ImageId } from '../spec/image-id.js';
import type { Dependency, ImageManifest } from '../spec/image-manifest.js';
import type { EntryFilter } from '../aci/tree-writer.js';

export interface RenderImage {
  id: ImageId;
  manifest: ImageManifest;
}

/** One image to apply, in priority order (first applied wins), with the whitelists that filter it. */
export interface PlannedLayer extends RenderImage {
  ancestorWhitelist: ReadonlySet<string> | undefined;
  ownWhitelist: ReadonlySet<string> | undefined;
}

export const MAX_DEPENDENCY_DEPTH = 32;

const set = (w: string[] | undefined): ReadonlySet<string> | undefined => (w && w.length > 0 ? new Set(w) : undefined);

/**
 * appc rendering as a pure plan: pre-order, later siblings first, so the first writer is the
 * highest-priority image (equivalent to extracting B, D, C, A with later wins for A→[B,C], C→[D]).
 * Each image is filtered by the root-most ancestor whitelist (all entries) and its own (non-directories).
 * Cycles are errors (the reference renderer loops forever).
 */
export function planRender(top: RenderImage, resolve: (dep: Dependency, parent: RenderImage) => RenderImage): PlannedLayer[] {
  const out: PlannedLayer[] = [];
  const visit = (img: RenderImage, stack: ImageId[], ancestor: ReadonlySet<string> | undefined): void => {
    if (stack.includes(img.id)) {
      const names = [...stack, img.id].map((s) => s.slice(0, 19));
      throw new CapsuleError('dependency-cycle', `dependency cycle: ${names.join(' -> ')}`);
    }
    if (stack.length >= MAX_DEPENDENCY_DEPTH) throw new CapsuleError('dependency-depth', `dependencies nested deeper than ${MAX_DEPENDENCY_DEPTH} levels`);
    const own = set(img.manifest.pathWhitelist);
    out.push({ ...img, ancestorWhitelist: ancestor, ownWhitelist: own });
    const nextAncestor = ancestor ?? own;
    const deps = img.manifest.dependencies ?? [];
    for (let i = deps.length - 1; i >= 0; i--) visit(resolve(deps[i]!, img), [...stack, img.id], nextAncestor);
  };
  visit(top, [], undefined);
  return out;
}

export function layerFilter(l: PlannedLayer): EntryFilter | undefined {
  const { ancestorWhitelist: anc, ownWhitelist: own } = l;
  if (!anc && !own) return undefined;
  return (rel, isDir) => {
    const p = `/${rel}`;
    if (anc && !anc.has(p)) return false;
    if (own && !isDir && !own.has(p)) return false;
    return true;
  };
}

/** `deps-sha512-…` over the ordered image IDs: a changed dependency gives a new tree. */
export function treeIdOf(plan: readonly RenderImage[]): string {
  const h = createHash('sha512');
  for (const l of plan) h.update(`${l.id}\n`);
  return `deps-sha512-${h.digest('hex').slice(0, 64)}`;
}
