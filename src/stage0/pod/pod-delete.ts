import fs from 'node:fs';
import path from 'node:path';
import { mdsRoot, removeRegistration } from '../../mds/mds-store.js';
import { CapsuleError } from '../../errors/capsule-error.js';
import type { PodRuntime } from '../../stage1/contract.js';
import { readPodRuntime, type Pod } from './pod.js';
import { removeLockFile } from './pod-lock.js';
import { unmountUnder } from './pod-mounts.js';
import { releasePodUidRanges } from './uid-range.js';

/** The flavour's gc entrypoint for one pod (cgroups, network, leftovers outside the pod dir); handed in by the CLI. */
export type Stage1Gc = (podDir: string, runtime: PodRuntime) => Promise<void>;

export interface DeleteHooks {
  /** Something went wrong that does not stop the removal (e.g. stage1 gc failed). */
  warn(msg: string, cause?: unknown): void;
  debug(msg: string): void;
}

/**
 * Deletes a pod in exited-garbage or garbage whose lock we hold: stage1 gc (when runtime.json
 * is readable), leftover mounts detached, the directory removed, then its lock file.
 */
export async function deletePod(pod: Pod, stage1Gc: Stage1Gc, hooks: DeleteHooks): Promise<void> {
  if (pod.state !== 'exited-garbage' && pod.state !== 'garbage') throw new CapsuleError('pod-delete', `pod "${pod.uuid}" is not garbage (it is in ${pod.state}/); not deleting it`);
  const lock = pod.heldLock();
  if (!lock) throw new CapsuleError('pod-delete', `pod "${pod.uuid}": deleting without its lock`);
  let runtime: PodRuntime | null = null;
  try {
    runtime = readPodRuntime(pod);
  } catch (e) {
    hooks.debug(`pod "${pod.uuid}": no usable runtime.json, skipping stage1 gc (${e instanceof Error ? e.message : String(e)})`);
  }
  if (runtime) {
    try {
      await stage1Gc(pod.dir, runtime);
    } catch (e) {
      // Host state that only this pod's files can undo (a network DEL that failed) keeps the pod
      // for the next gc, which retries; anything else is reported and the pod removed.
      if (e instanceof CapsuleError && e.code === 'net-teardown') throw new CapsuleError('pod-delete', `pod "${pod.uuid}" kept for the next gc`, { cause: e });
      hooks.warn(`problem performing stage1 GC on "${pod.uuid}"`, e);
    }
  }
  // Its metadata service registration (if it had one) ends with it: pods/<state>/<uuid> → data dir.
  try {
    if (removeRegistration(mdsRoot(path.resolve(pod.dir, '../../..')), pod.uuid)) hooks.debug(`pod "${pod.uuid}": metadata service registration removed`);
  } catch (e) {
    hooks.warn(`pod "${pod.uuid}": removing its metadata service registration`, e);
  }
  // Its user namespace range (--private-users), found by name: runtime.json may never have been written.
  if (releasePodUidRanges(path.resolve(pod.dir, '../../..'), pod.uuid) > 0) hooks.debug(`pod "${pod.uuid}": uid range given back`);
  const detached = unmountUnder(pod.dir);
  for (const mp of detached) hooks.debug(`detached leftover mount ${mp}`);
  try {
    fs.rmSync(pod.dir, { recursive: true, force: true });
  } catch (e) {
    throw new CapsuleError('pod-delete', `unable to remove pod "${pod.uuid}"`, { cause: e });
  }
  removeLockFile(lock);
  pod.releaseLock();
}
