import { CapsuleError } from '../../errors/capsule-error.js';

/** Reads a file of the image's rootfs (relative path), null when absent or unsafe to read. */
export type ImageFileReader = (relPath: string) => string | null;
/** Owner of a path in the image's rootfs (relative path), null when absent or unsafe. */
export type ImageStatReader = (relPath: string) => { uid: number; gid: number } | null;

const MAX_ID = 4294967294;

/** The id of `name` in an /etc/passwd or /etc/group text (third field); malformed lines are skipped. */
export function lookupId(db: string, name: string): number | undefined {
  for (const line of db.split('\n')) {
    if (line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3 || f[0] !== name) continue;
    const id = f[2] ?? '';
    if (/^[0-9]+$/.test(id) && Number(id) <= MAX_ID) return Number(id);
  }
  return undefined;
}

/**
 * A `user` / `group` as appc and rkt take it: an absolute path (the owner of that path in the
 * image), a number, or a name from the image's /etc/passwd or /etc/group; `root` is 0 even when
 * the image has no such file.
 */
export function resolveImageId(kind: 'user' | 'group', s: string, read: ImageFileReader, stat: ImageStatReader): number {
  const notFound = (): CapsuleError => new CapsuleError('app-identity', `${JSON.stringify(s)} ${kind} not found`);
  if (s.startsWith('/')) {
    let st: { uid: number; gid: number } | null;
    try {
      st = s.split('/').includes('..') ? null : stat(s.slice(1));
    } catch {
      st = null;
    }
    if (!st) throw notFound();
    return kind === 'user' ? st.uid : st.gid;
  }
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n > MAX_ID) throw new CapsuleError('app-identity', `invalid ${kind} id ${JSON.stringify(s)}`);
    return n;
  }
  let db: string | null;
  try {
    db = read(kind === 'user' ? 'etc/passwd' : 'etc/group');
  } catch {
    db = null;
  }
  const id = db === null ? undefined : lookupId(db, s);
  if (id !== undefined) return id;
  if (s === 'root') return 0;
  throw notFound();
}
