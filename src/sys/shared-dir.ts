import fs from 'node:fs';
import path from 'node:path';

/**
 * rkt's group model: when the data dir belongs to a group other than root's and has the setgid
 * bit (`install -d -m 2750 -g capsule /var/lib/capsule`), that group's members may use the image
 * store (fetch, image list, image rm) and read pods (list, status). New directories then inherit
 * the group (setgid) and the store's are group-writable; otherwise everything stays private to
 * its owner, as before. Modes are applied with chmod, so the umask cannot narrow them.
 */
export interface DataDirModes {
  /** The data dir is shared with its group. */
  shared: boolean;
  /** Directories members write to: cas/, its blob, db and tmp dirs, locks/. */
  writableDir: number;
  /** Directories only root writes but members read: tree/. */
  readableDir: number;
  /** Files members write: the index database, lock files. */
  writableFile: number;
  /** Files members read: blobs. */
  readableFile: number;
}

const PRIVATE: DataDirModes = { shared: false, writableDir: 0o700, readableDir: 0o700, writableFile: 0o600, readableFile: 0o600 };
const SHARED: DataDirModes = { shared: true, writableDir: 0o2770, readableDir: 0o2750, writableFile: 0o660, readableFile: 0o640 };

/** Pure: the modes for a data dir with this stat (undefined: it does not exist yet). */
export function modesFor(st: { mode: number; gid: number } | undefined): DataDirModes {
  return st !== undefined && (st.mode & 0o2000) !== 0 && st.gid !== 0 ? SHARED : PRIVATE;
}

export function dataDirModes(dataDir: string): DataDirModes {
  try {
    return modesFor(fs.statSync(dataDir));
  } catch {
    return PRIVATE;
  }
}

/** `mkdir -p` giving every directory it creates exactly `mode` (the umask would drop group bits). */
export function makeDirs(dir: string, mode: number): void {
  const first = fs.mkdirSync(dir, { recursive: true, mode });
  if (first === undefined) return;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    fs.chmodSync(d, mode);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
}

/** Gives a file we own exactly `mode` (after an open that created it under a umask). */
export function fixFileMode(fd: number, mode: number): void {
  const st = fs.fstatSync(fd);
  if ((st.mode & 0o7777) !== mode && st.uid === (process.getuid?.() ?? st.uid)) fs.fchmodSync(fd, mode);
}
