import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { CapsuleError } from '../errors/capsule-error.js';

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
export async function lockFile(path: string, mode: LockMode, wait: boolean | number): Promise<HeldLock | null> {
  const fd = openSync(path, 'a', 0o600);
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
