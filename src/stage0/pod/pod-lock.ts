import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';
import { exclusiveLockInodes, isSameFile, lockFd, lockFile, probeLock, unlockFdSync, type LockMode } from '../../sys/flock.js';
import { podLockPath } from '../../stage1/contract.js';

/**
 * The pod lock (docs/stage1-contract.md, "The pod lock"): an flock on
 * `<runtimeDir>/pods/<uuid>.lock`. The file can be replaced (run-prepared renames the wrapper's
 * pending lock over it) or removed (gc), so every taker checks that the path still names the file
 * it locked, and tries again when it does not: a lock on a file nobody else will open is no lock.
 */
export interface PodLock {
  readonly path: string;
  /** The descriptor holding the lock (the inherited fd 3 for run and run-prepared). */
  readonly fd: number;
  release(): void;
}

export function lockDir(runtimeDir: string): string {
  return path.join(runtimeDir, 'pods');
}

function ensureLockDir(runtimeDir: string): void {
  // Like the bin/capsule wrapper, which may create them first: the runtime dir 0755, its pods/ 0700
  // (only root may take or test pod locks: a reader's shared lock could hold up run-prepared and gc).
  fs.mkdirSync(runtimeDir, { recursive: true, mode: 0o755 });
  fs.mkdirSync(lockDir(runtimeDir), { recursive: true, mode: 0o700 });
}

/** Takes the pod lock; null when `wait` is false (or a timeout in seconds) and someone else holds it. */
export async function lockPod(runtimeDir: string, uuid: string, mode: LockMode, wait: boolean | number): Promise<PodLock | null> {
  ensureLockDir(runtimeDir);
  const p = podLockPath(runtimeDir, uuid);
  for (;;) {
    const l = await lockFile(p, mode, wait);
    if (l === null) return null;
    if (isSameFile(l.fd, p)) return { path: p, fd: l.fd, release: () => l.release() };
    l.release();
  }
}

/**
 * Locks the descriptor the `capsule` wrapper opened (`CAPSULE_LOCK_FD`, its file at
 * `pendingPath`); the caller then moves that file to the pod's lock path. Releasing drops the lock
 * of the shared file description (the wrapper holds a copy of the descriptor).
 */
export async function lockInherited(fd: number, pendingPath: string, alreadyHeld = false): Promise<PodLock> {
  let ok: boolean;
  try {
    // The wrapper usually locked it already: a fork from sh is cheaper than a spawn from Node.
    ok = alreadyHeld || (await lockFd(fd, 'exclusive', false));
  } catch (e) {
    throw new CapsuleError('pod-lock', `locking the inherited pod lock descriptor ${fd}`, { cause: e });
  }
  if (!ok) throw new CapsuleError('pod-lock', `the inherited pod lock ${pendingPath} (fd ${fd}) is held by another process`);
  let released = false;
  return {
    path: pendingPath,
    fd,
    release() {
      if (released) return;
      released = true;
      unlockFdSync(fd);
    },
  };
}

/** Moves an inherited lock's file to the pod's lock path (atomically replacing an older one). */
export function installInherited(runtimeDir: string, uuid: string, l: PodLock): PodLock {
  ensureLockDir(runtimeDir);
  const p = podLockPath(runtimeDir, uuid);
  try {
    fs.renameSync(l.path, p);
  } catch (e) {
    throw new CapsuleError('pod-lock', `moving the pod lock ${l.path} to ${p}`, { cause: e });
  }
  return { path: p, fd: l.fd, release: () => l.release() };
}

/** Whether someone holds the pod's lock exclusively (false when it has no lock file). */
export async function isPodLocked(runtimeDir: string, uuid: string): Promise<boolean> {
  return (await probeLock(podLockPath(runtimeDir, uuid))) === true;
}

/**
 * Tests many pods' locks at once. One read of /proc/locks answers for every lock file nobody
 * holds (the common case: a thousand exited pods cost no process at all); only pods that appear
 * locked there are confirmed with flock(1). Where /proc/locks cannot be trusted, every lock file
 * that exists is tested with flock(1), a few at a time. null: the lock file exists but we may not
 * open it (an unprivileged caller) and /proc/locks could not answer. `held`: for tests.
 */
export async function probePodLocks(runtimeDir: string, uuids: readonly string[], held: ReadonlySet<number> | null = exclusiveLockInodes()): Promise<Map<string, boolean | null>> {
  const out = new Map<string, boolean | null>();
  const check: string[] = [];
  for (const u of uuids) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(podLockPath(runtimeDir, u), { throwIfNoEntry: false });
    } catch {
      out.set(u, null); // not even allowed to look (an unprivileged caller): nobody can tell here
      continue;
    }
    if (st === undefined) out.set(u, false);
    else if (held !== null && !held.has(st.ino)) out.set(u, false);
    else check.push(u);
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < check.length) {
      const u = check[next++]!;
      const r = await probeLock(podLockPath(runtimeDir, u));
      // Unreadable for us, but /proc/locks showed a lock on this inode: believe it.
      out.set(u, r === null && held !== null ? true : r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, check.length) }, worker));
  return out;
}

/** Removes the lock file of a deleted pod; call while holding its lock. */
export function removeLockFile(l: PodLock): void {
  try {
    if (isSameFile(l.fd, l.path)) fs.unlinkSync(l.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
