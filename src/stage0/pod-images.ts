import fs from 'node:fs';
import path from 'node:path';
import type { GlobalOptions } from '../config/global-options.js';
import { CapsuleError } from '../errors/capsule-error.js';
import type { ImageManifest } from '../spec/image-manifest.js';
import { checkRunnablePlatform, hostOsArch } from '../spec/os-arch.js';
import { findRenderedTree } from '../store/tree-lookup.js';
import { getImage, labelsOf } from '../store/image-index.js';
import type { Pin } from '../store/pins.js';
import type { Store } from '../store/store.js';
import { fetchImage } from './fetch-image.js';
import type { RemoteSession } from './fetch-remote.js';
import type { FetchHooks } from './fetch-types.js';
import type { PullPolicy } from './pull-policy.js';
import type { OciRunConfig } from '../store/oci-index.js';
import type { WantedPlatform } from '../oci/platform.js';

/** An app's image, in the store with its rendered tree. */
export interface PodImage {
  id: string;
  name: string;
  treeId: string;
  manifest: ImageManifest;
  /** The rendered tree's rootfs (read-only for stage0). */
  rootfs: string;
  /** An OCI image's run config (Entrypoint, Cmd, User, StopSignal); absent for ACIs. */
  oci?: OciRunConfig;
}

/**
 * Resolves (fetching what is missing, like rkt: ID, file, URL, name) and renders one image. An
 * image already in the store must be for this host too (rkt's prepareAppImage checks).
 */
export async function loadPodImage(store: Store, arg: string, signature: string | undefined, policy: PullPolicy, g: GlobalOptions, hooks: FetchHooks, remote: RemoteSession, pin: Pin, platform?: WantedPlatform): Promise<PodImage> {
  const f = await fetchImage(store, { arg, ...(signature ? { signature } : {}), ...(platform ? { platform } : {}) }, policy, g, hooks, remote);
  checkRunnablePlatform(labelsOf(f.manifest), hostOsArch());
  // Found (or rendered) and pinned in one hold of the store lock: image gc, which takes it
  // exclusively, either ran before (and the tree is rendered again) or sees the pin.
  const lock = await store.lock('shared');
  try {
    const rec = getImage(store.db, f.id);
    if (!rec) throw new CapsuleError('image-missing', `image ${f.id} was removed from the store while the pod was being prepared (image gc or image rm); try again`);
    if (rec.kind === 'oci') {
      // Layers rendered in order into a tree keyed by their digests (shared by images with the
      // same layers). The pinned image keeps its layer blobs (gc keeps blobs of stored images).
      const { ensureOciTree, ociImageOf } = await import('../store/oci-render.js');
      const { tree, rootfs } = await ensureOciTree(store, rec);
      pin.add([f.id], [tree.id]);
      return { id: f.id, name: f.manifest.name, treeId: tree.id, manifest: f.manifest, rootfs, oci: ociImageOf(store, rec).run };
    }
    const { tree, rootfs } = findRenderedTree(store, rec) ?? (await (await import('../store/ensure-tree.js')).ensureTree(store, rec));
    pin.add([f.id, ...tree.deps], [tree.id]);
    return { id: f.id, name: f.manifest.name, treeId: tree.id, manifest: f.manifest, rootfs };
  } finally {
    lock.release();
  }
}

/**
 * Reads a small file of an image's rootfs (/etc/passwd, /etc/group) without following any
 * symlink, so an image cannot make stage0 read a host file.
 */
export function readImageFile(rootfs: string, rel: string): string | null {
  let p = rootfs;
  for (const part of rel.split('/').filter(Boolean)) {
    p = path.join(p, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) return null;
  }
  try {
    const st = fs.lstatSync(p);
    if (!st.isFile() || st.size > 4 << 20) return null;
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

/** Owner of a path inside an image (for `--user=/path`), not following symlinks. */
export function statImageFile(rootfs: string, rel: string): { uid: number; gid: number } | null {
  let p = rootfs;
  for (const part of rel.split('/').filter(Boolean)) {
    p = path.join(p, part);
    try {
      if (fs.lstatSync(p).isSymbolicLink()) return null;
    } catch {
      return null;
    }
  }
  const st = fs.lstatSync(p);
  return { uid: st.uid, gid: st.gid };
}
