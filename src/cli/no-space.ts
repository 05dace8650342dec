import { CapsuleError, errorChain, isSystemError } from '../errors/capsule-error.js';
import { filesystemOf, type FilesystemInfo } from '../sys/filesystem.js';
import { humanSize } from './table.js';

/** SQLite reports a full disk as SQLITE_FULL, or as an I/O error when its shared-memory file cannot grow. */
const sqliteCode = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' && c.startsWith('SQLITE_') ? c : undefined;
};

/** Below this, an SQLite I/O error on the data dir is taken for a full disk. */
const NEARLY_FULL = 1024 * 1024;

export function describeFilesystem(fs: FilesystemInfo): string {
  return `the filesystem at ${fs.mountPoint} (${fs.fsType}, ${humanSize(fs.freeBytes)} free of ${humanSize(fs.totalBytes)})`;
}

/**
 * A failure caused by a full disk, said as such: "no space left on device" and which filesystem
 * (rkt users met `disk I/O error` from the index instead). Other errors are returned unchanged.
 * `dataDir` is where the store lives: the filesystem of an error without a path. `fsOf` is the
 * seam tests replace.
 */
export function explainNoSpace(e: unknown, dataDir: string, debug: boolean, fsOf: (p: string) => FilesystemInfo | undefined = filesystemOf): unknown {
  const chain = errorChain(e);
  let where: string | undefined;
  for (const c of chain) {
    if (isSystemError(c) && (c.code === 'ENOSPC' || c.code === 'EDQUOT')) {
      where = c.path ?? dataDir;
      break;
    }
    const sq = sqliteCode(c);
    if (sq === 'SQLITE_FULL') {
      where = dataDir;
      break;
    }
    if (sq?.startsWith('SQLITE_IOERR')) {
      const f = fsOf(dataDir);
      if (f && f.freeBytes < NEARLY_FULL) where = dataDir;
      break;
    }
  }
  if (where === undefined) return e;
  const f = fsOf(where);
  // A plain Error, the root cause: the one-line format shows the outer and deepest Capsule steps before it.
  const cause = new Error(`no space left on device${f ? ` on ${describeFilesystem(f)}` : ''}`, debug ? { cause: chain.at(-1) } : {});
  // The Capsule errors keep saying what was being done; the cause below them is the full disk.
  let out: Error = cause;
  for (const c of chain.filter((x): x is CapsuleError => x instanceof CapsuleError).reverse()) {
    out = new CapsuleError(c.code, c.message, { cause: out, ...(c.hint !== undefined ? { hint: c.hint } : {}) });
  }
  return out === cause ? new CapsuleError('no-space', cause.message, debug ? { cause: chain.at(-1) } : {}) : out;
}
