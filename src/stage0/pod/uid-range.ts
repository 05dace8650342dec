import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../../errors/capsule-error.js';

/** One pod's user namespace range: host uids BASE … BASE+SIZE-1 are the pod's 0 … SIZE-1. */
export interface UidRange {
  base: number;
  size: number;
}

export const UID_RANGE_SIZE = 0x10000;
/** Bases are picked among these multiples of 64 Ki, above the ids of ordinary host users and below nspawn's own picks (0x70000000 and up are left to others). */
const FIRST = 0x10000000 / UID_RANGE_SIZE;
const LAST = 0x6fff0000 / UID_RANGE_SIZE;

const rangesDir = (dataDir: string): string => path.join(dataDir, 'uid-ranges');

/**
 * Reserves a range no other pod of this data dir holds: a file uid-ranges/<base> made with
 * O_EXCL names the pod (two pods racing for one base: one wins, the other picks again).
 */
export function allocateUidRange(dataDir: string, uuid: string, pick: () => number = () => crypto.randomInt(FIRST, LAST + 1)): UidRange {
  const dir = rangesDir(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 64; attempt++) {
    const base = pick() * UID_RANGE_SIZE;
    try {
      fs.writeFileSync(path.join(dir, String(base)), `${uuid}\n`, { flag: 'wx', mode: 0o600 });
      return { base, size: UID_RANGE_SIZE };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new CapsuleError('uid-range', `reserving a user namespace range in ${dir}`, { cause: e });
    }
  }
  throw new CapsuleError('uid-range', `no free user namespace range in ${dir} after 64 tries`);
}

/** Gives the pod's range back (only when the file still names the pod). */
export function releaseUidRange(dataDir: string, uuid: string, range: UidRange): void {
  const f = path.join(rangesDir(dataDir), String(range.base));
  try {
    if (fs.readFileSync(f, 'utf8').trim() === uuid) fs.rmSync(f, { force: true });
  } catch {
    /* already gone */
  }
}

/**
 * Gives back every range naming the pod, whether or not its runtime.json was written (a pod
 * whose creation failed after the reservation is freed by gc/rm all the same).
 */
export function releasePodUidRanges(dataDir: string, uuid: string): number {
  const dir = rangesDir(dataDir);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let freed = 0;
  for (const n of names) {
    if (!/^[0-9]+$/.test(n)) continue;
    const before = fs.existsSync(path.join(dir, n));
    releaseUidRange(dataDir, uuid, { base: Number(n), size: UID_RANGE_SIZE });
    if (before && !fs.existsSync(path.join(dir, n))) freed++;
  }
  return freed;
}
