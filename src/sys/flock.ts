import { spawn, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { CapsuleError } from '../errors/capsule-error.js';
import { fixFileMode } from './shared-dir.js';

/**
 * Kernel flock(2) locks without a native addon: we open the lock file and let util-linux
 * flock(1) lock *our* open file description (passed as its fd 3). The lock belongs to that
 * description, so it stays held after flock(1) exits, is inherited by children that get the
 * fd, and is released by the kernel when the last holder dies — even on SIGKILL.
 */
export interface HeldLock {
  readonly fd: number;
  readonly path: string;
  release(): void;
}

export type LockMode = 'shared' | 'exclusive';

const FLOCK = '/usr/bin/flock';

function runFlock(fd: number, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(FLOCK, [...args, '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new CapsuleError('lock', `running ${FLOCK}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0 || code === 1) resolve(code);
      else reject(new CapsuleError('lock', `${FLOCK} failed (${code}): ${err.trim()}`));
    });
  });
}

/** Takes a lock; with `wait: false` returns null when someone else holds a conflicting one. */
/** `fileMode`: the lock file's mode when we own it (0o660 in a data dir shared with a group). */
export async function lockFile(path: string, mode: LockMode, wait: boolean | number, fileMode = 0o600): Promise<HeldLock | null> {
  const fd = openSync(path, 'a', fileMode);
  if (fileMode !== 0o600) fixFileMode(fd, fileMode);
  const args = [mode === 'shared' ? '-s' : '-x'];
  if (wait === false) args.push('-n');
  else if (typeof wait === 'number') args.push('-w', String(wait));
  let code: number;
  try {
    code = await runFlock(fd, args);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  if (code !== 0) {
    closeSync(fd);
    return null;
  }
  let released = false;
  return {
    fd,
    path,
    release() {
      if (!released) closeSync(fd);
      released = true;
    },
  };
}

/** True when some process holds a lock on `path` that conflicts with `mode`. */
export async function isLocked(path: string, mode: LockMode = 'shared'): Promise<boolean> {
  const l = await lockFile(path, mode, false);
  if (l === null) return true;
  l.release();
  return false;
}

/**
 * Locks (or with 'unlock', unlocks) an already-open descriptor, e.g. the lock file the `capsule`
 * wrapper opened on fd 3 and that stage1 inherits. Returns false when `wait: false` and the lock
 * is held elsewhere (or `wait` seconds passed).
 */
export async function lockFd(fd: number, mode: LockMode | 'unlock', wait: boolean | number): Promise<boolean> {
  const args = [mode === 'unlock' ? '-u' : mode === 'shared' ? '-s' : '-x'];
  if (wait === false) args.push('-n');
  else if (typeof wait === 'number') args.push('-w', String(wait));
  return (await runFlock(fd, args)) === 0;
}

/** Drops the lock of an open file description that other processes may share (a close would not). */
export function unlockFdSync(fd: number): void {
  const r = spawnSync(FLOCK, ['-u', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  if (r.error) throw new CapsuleError('lock', `running ${FLOCK}`, { cause: r.error });
  if (r.status !== 0) throw new CapsuleError('lock', `${FLOCK} -u failed (${String(r.status)}): ${r.stderr.toString().trim()}`);
}

/** True when `fd` and `path` are the same file: a lock file replaced or removed after we opened it is not the lock. */
export function isSameFile(fd: number, path: string): boolean {
  const a = fstatSync(fd);
  const b = statSync(path, { throwIfNoEntry: false });
  return b !== undefined && a.ino === b.ino && a.dev === b.dev;
}

/**
 * Tests a lock file without creating it: false when nobody holds an exclusive lock (or the file
 * does not exist), true when someone does, null when we may not open it.
 */
export async function probeLock(path: string): Promise<boolean | null> {
  for (;;) {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return false;
      if (code === 'EACCES' || code === 'EPERM') return null;
      throw e;
    }
    try {
      if (!(await lockFd(fd, 'shared', false))) return true;
      // Free, but only an answer about `path` if it still names the file we locked.
      if (isSameFile(fd, path)) return false;
    } finally {
      closeSync(fd);
    }
  }
}

/** PROC_PID_INIT_INO: the inode of the initial PID namespace (include/linux/proc_ns.h). */
const INIT_PID_NS = 'pid:[4026531836]';

/**
 * Inode numbers of files someone holds an exclusive lock on (flock, POSIX or OFD), from one read
 * of /proc/locks: lets a listing test a thousand lock files without a thousand flock(1) runs.
 * Only inodes are kept (a file's st_dev can differ from the superblock's, e.g. on btrfs), so a
 * hit may be another file's lock and must be confirmed; a miss is final.
 * Returns null where /proc/locks cannot be trusted: outside the initial PID namespace the kernel
 * hides locks whose taker (here a flock(1) that has exited) it cannot name.
 */
export function exclusiveLockInodes(): ReadonlySet<number> | null {
  let text: string;
  try {
    if (readlinkSync('/proc/self/ns/pid') !== INIT_PID_NS) return null;
    text = readFileSync('/proc/locks', 'latin1');
  } catch {
    return null;
  }
  const out = new Set<number>();
  // `1: FLOCK  ADVISORY  WRITE 27346 fe:00:2146370 0 EOF`; blocked waiters have `->` after the id.
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[1] === '->') continue;
    if (f[3] !== 'WRITE') continue;
    const ino = Number(f[5]?.split(':')[2]);
    if (Number.isSafeInteger(ino)) out.add(ino);
  }
  return out;
}
