import fs from 'node:fs';
import path from 'node:path';
import { livePins } from '../../store/pins.js';
import type { Store } from '../../store/store.js';
import { POD_FILES, type PodRuntime } from '../../stage1/contract.js';
import { listPodDir } from './pod.js';
import { POD_DIRS } from './pod-state.js';

/**
 * Images and trees that pods on disk still use (any state: a prepared pod mounts its trees later,
 * an exited one is exported from them). `image gc` keeps these even when the image was removed,
 * like rkt, so removing an image never breaks a pod.
 */
export function podImageRefs(dataDir: string): { images: Set<string>; trees: Set<string> } {
  const images = new Set<string>();
  const trees = new Set<string>();
  for (const state of POD_DIRS) {
    for (const uuid of listPodDir(dataDir, state)) {
      let r: PodRuntime;
      try {
        r = JSON.parse(fs.readFileSync(path.join(dataDir, 'pods', state, uuid, POD_FILES.runtime), 'utf8')) as PodRuntime;
      } catch {
        continue;
      }
      for (const a of r.apps ?? []) {
        if (typeof a.image?.id === 'string') images.add(a.image.id);
        if (typeof a.image?.treeId === 'string') trees.add(a.image.treeId);
      }
    }
  }
  return { images, trees };
}

/**
 * Everything `image gc` and `image rm` must keep: what pods on disk use plus what live pins
 * (pods being created) hold. The caller holds the store lock exclusively. Pins are read first:
 * a pin is dropped only after its pod's runtime.json is complete, and pods are scanned in
 * state order (every transition moves forward in POD_DIRS), so no pod falls between the two.
 */
export async function storeRefsInUse(store: Store, dataDir: string): Promise<{ images: Set<string>; trees: Set<string> }> {
  const pins = await livePins(store);
  const pods = podImageRefs(dataDir);
  return { images: new Set([...pins.images, ...pods.images]), trees: new Set([...pins.trees, ...pods.trees]) };
}
