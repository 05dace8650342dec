import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { TarEntry } from './tar-reader.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/** Largest ustar octal time (year 2242); ext4, btrfs and tmpfs store it exactly, larger values get clamped by the kernel. */
const MAX_TIME = 0o77777777777;

/**
 * The mtime a tree writer sets and records: times before 1970 become 0 (Node's utimes turns a
 * negative number into "now") and far-future ones the ustar maximum, so the recorded digest
 * always matches what `digestTree` later reads from disk.
 */
export function fsSeconds(d: Date): number {
  return Math.min(Math.max(Math.floor(d.getTime() / 1000), 0), MAX_TIME);
}

/** The attributes a tree writer gives one entry and records for it. */
export interface EntryAttrs {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

/**
 * How a tree writer places entries: `writes` false is replay (nothing on disk, file contents
 * hashed); `chown` keeps the archive's owners (root only), otherwise everything is the caller's `uid`/`gid`.
 */
export interface EntryWriting {
  readonly writes: boolean;
  readonly chown: boolean;
  readonly uid: number;
  readonly gid: number;
}

/** The caller's way of writing: only root keeps the archive's owners. */
export function entryWriting(writes: boolean): EntryWriting {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return { writes, chown: uid === 0, uid, gid };
}

export function entryAttrs(e: TarEntry, w: EntryWriting): EntryAttrs {
  return {
    mode: e.mode & 0o7777,
    uid: w.chown ? e.uid : w.uid,
    gid: w.chown ? e.gid : w.gid,
    mtime: fsSeconds(e.mtime),
  };
}

/**
 * A regular file's contents at `p`, created O_CREAT|O_EXCL|O_NOFOLLOW (never through a link,
 * never over anything), then its owner, mode and time; in replay only hashed. The digest is ''
 * when written (writing does not hash: fetch speed).
 */
export async function writeFileEntry(e: TarEntry, p: string, a: EntryAttrs, w: EntryWriting): Promise<{ size: number; digest: string }> {
  let size = 0;
  if (!w.writes) {
    const hash = createHash('sha256');
    for await (const chunk of e.data) {
      hash.update(chunk);
      size += chunk.length;
    }
    return { size, digest: hash.digest('hex') };
  }
  const fd = fs.openSync(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    for await (const chunk of e.data) {
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
      size += chunk.length;
    }
    if (w.chown) fs.fchownSync(fd, a.uid, a.gid);
    fs.fchmodSync(fd, a.mode);
    fs.futimesSync(fd, a.mtime, a.mtime);
    return { size, digest: '' };
  } finally {
    fs.closeSync(fd);
  }
}

/** A symlink at `p` with the link's own owner and time (nothing in replay). */
export function writeSymlinkEntry(linkpath: string, p: string, a: EntryAttrs, w: EntryWriting): void {
  if (!w.writes) return;
  fs.symlinkSync(linkpath, p);
  if (w.chown) fs.lchownSync(p, a.uid, a.gid);
  fs.lutimesSync(p, a.mtime, a.mtime);
}
