import fs from 'node:fs';
import { listPodDir, listPodUuids, locatePod, Pod, podPath } from './pod.js';
import { deletePod, type DeleteHooks, type Stage1Gc } from './pod-delete.js';
import { lockDir, lockPod, probePodLocks, removeLockFile } from './pod-lock.js';
import { isPodUuid } from './pod-uuid.js';
import type { PodDir } from './pod-state.js';

export interface GcOptions {
  dataDir: string;
  runtimeDir: string;
  /** Exited pods are deleted this long after gc marked them (ms). */
  gracePeriodMs: number;
  /** Prepared pods never run are thrown away after this long (ms). */
  expirePreparedMs: number;
  /** Only the mark phase. */
  markOnly: boolean;
  stage1Gc: Stage1Gc;
  now?: () => number;
}

export interface GcHooks extends DeleteHooks {
  /** `moving pod "<uuid>" to garbage` */
  markedExited(uuid: string): void;
  /** `moving failed prepare "<uuid>" to garbage` */
  markedAborted(uuid: string): void;
  /** `moving expired prepared pod "<uuid>" to garbage` */
  expiredPrepared(uuid: string): void;
  /** `Garbage collecting pod "<uuid>"` */
  collecting(uuid: string): void;
  /** `pod "<uuid>" not removed: still within grace period (…)` */
  withinGrace(uuid: string): void;
  failed(uuid: string, e: unknown): void;
}

/**
 * Pods in `dir` (those `only` accepts) whose lock nobody holds, now locked by us; pods someone
 * else holds are skipped silently. `probe`: test all locks in one batch first (run/ and prepare/,
 * where most pods are locked while in use).
 */
async function lockFree(o: GcOptions, dir: PodDir, probe: boolean, kept: Map<string, Pod>, only: (uuid: string) => boolean = () => true): Promise<Pod[]> {
  const uuids = listPodDir(o.dataDir, dir).sort().filter(only);
  const held = probe ? await probePodLocks(o.runtimeDir, uuids.filter((u) => !kept.has(u))) : new Map<string, boolean | null>();
  const out: Pod[] = [];
  for (const u of uuids) {
    const mine = kept.get(u);
    if (mine) {
      kept.delete(u);
      out.push(mine);
      continue;
    }
    if (held.get(u) === true) continue;
    const pod = new Pod(o.dataDir, o.runtimeDir, u, dir);
    if (!(await pod.lockExclusive(false))) continue;
    // It may have moved before we got the lock.
    if (!pod.refresh() || pod.state !== dir) {
      pod.releaseLock();
      continue;
    }
    out.push(pod);
  }
  return out;
}

function ctimeMs(p: string): number | null {
  return fs.statSync(p, { throwIfNoEntry: false })?.ctimeMs ?? null;
}

/**
 * rkt's gc. Mark: exited pods (run/, unlocked) move to exited-garbage/ and aborted prepares
 * (prepare/ or embryo/, unlocked) to garbage/. Sweep (not with markOnly): prepared pods older than
 * expirePrepared move to garbage/; exited-garbage pods marked longer than the grace period ago
 * (the directory's ctime is the mark time) and everything in garbage/ are deleted. Every move
 * and deletion holds the pod's lock; pods someone else holds are skipped. A pod moved to a
 * directory this run will also empty keeps its lock until then (one flock(1) per pod, not two).
 * Returns the number of pods that could not be handled.
 */
export async function gcPods(o: GcOptions, hooks: GcHooks): Promise<number> {
  const now = o.now ?? Date.now;
  let failed = 0;
  const kept = new Map<string, Pod>();
  /** Runs `f` on each pod; its lock is released unless `f` returns true (kept for a later phase). */
  const each = async (pods: Pod[], f: (p: Pod) => Promise<boolean> | boolean): Promise<void> => {
    for (const p of pods) {
      let keep = false;
      try {
        keep = await f(p);
      } catch (e) {
        failed++;
        hooks.failed(p.uuid, e);
      } finally {
        if (keep) kept.set(p.uuid, p);
        else p.releaseLock();
      }
    }
  };
  try {
    await mark(o, hooks, each, kept);
    if (!o.markOnly) await sweep(o, hooks, each, kept, now);
  } finally {
    for (const p of kept.values()) p.releaseLock();
  }
  if (!o.markOnly) await removeOrphanLocks(o, hooks);
  return failed;
}

type Each = (pods: Pod[], f: (p: Pod) => Promise<boolean> | boolean) => Promise<void>;

async function mark(o: GcOptions, hooks: GcHooks, each: Each, kept: Map<string, Pod>): Promise<void> {
  await each(await lockFree(o, 'run', true, kept), (p) => {
    hooks.markedExited(p.uuid);
    p.toExitedGarbage();
    return !o.markOnly && o.gracePeriodMs <= 0;
  });
  await each(await lockFree(o, 'prepare', true, kept), (p) => {
    hooks.markedAborted(p.uuid);
    p.toGarbage();
    return !o.markOnly;
  });
  // An embryo is locked before its directory exists (createPod): unlocked, its creator died
  // before it reached prepare/ (issue 12 §5). Like an aborted prepare.
  await each(await lockFree(o, 'embryo', true, kept), (p) => {
    hooks.markedAborted(p.uuid);
    p.toGarbage();
    return !o.markOnly;
  });
}

async function sweep(o: GcOptions, hooks: GcHooks, each: Each, kept: Map<string, Pod>, now: () => number): Promise<void> {
  const expired = (u: string): boolean => {
    const c = ctimeMs(podPath(o.dataDir, 'prepared', u));
    return c !== null && (o.expirePreparedMs <= 0 || now() - c >= o.expirePreparedMs);
  };
  await each(await lockFree(o, 'prepared', false, kept, expired), (p) => {
    hooks.expiredPrepared(p.uuid);
    p.toGarbage();
    return true;
  });

  const graceOver = (u: string): boolean => {
    const c = ctimeMs(podPath(o.dataDir, 'exited-garbage', u));
    if (c === null) return false;
    // ctime has sub-millisecond precision, the clock whole milliseconds: a pod marked in this
    // very run can look up to 1 ms younger than now. A zero grace period is always over.
    if (o.gracePeriodMs <= 0 || now() - c >= o.gracePeriodMs) return true;
    hooks.withinGrace(u);
    return false;
  };
  await each(await lockFree(o, 'exited-garbage', false, kept, graceOver), async (p) => {
    hooks.collecting(p.uuid);
    await deletePod(p, o.stage1Gc, hooks);
    return false;
  });

  await each(await lockFree(o, 'garbage', false, kept), async (p) => {
    hooks.collecting(p.uuid);
    await deletePod(p, o.stage1Gc, hooks);
    return false;
  });
}

/**
 * Lock files whose pod no longer exists (a pod removed by hand, or by a gc that crashed): removed
 * under their lock, after checking again that no pod directory appeared meanwhile.
 */
async function removeOrphanLocks(o: GcOptions, hooks: GcHooks): Promise<void> {
  let names: string[];
  try {
    names = fs.readdirSync(lockDir(o.runtimeDir));
  } catch {
    return;
  }
  const locks = names.filter((n) => n.endsWith('.lock') && isPodUuid(n.slice(0, -'.lock'.length))).map((n) => n.slice(0, -'.lock'.length));
  if (locks.length === 0) return;
  const pods = new Set(listPodUuids(o.dataDir));
  for (const u of locks) {
    if (pods.has(u)) continue;
    const l = await lockPod(o.runtimeDir, u, 'exclusive', false);
    if (!l) continue;
    try {
      if (locatePod(o.dataDir, u) === null) {
        removeLockFile(l);
        hooks.debug(`removed the lock file of pod "${u}", which no longer exists`);
      }
    } catch (e) {
      hooks.warn(`removing the lock file of pod "${u}"`, e);
    } finally {
      l.release();
    }
  }
}
