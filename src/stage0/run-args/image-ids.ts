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

/** Lines of an /etc/passwd or /etc/group text, split into fields (comments and short lines skipped). */
function records(db: string | null, min: number): string[][] {
  if (db === null) return [];
  return db.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.split(':')).filter((f) => f.length >= min);
}

const idOf = (s: string | undefined): number | undefined => (s !== undefined && /^[0-9]+$/.test(s) && Number(s) <= MAX_ID ? Number(s) : undefined);

/**
 * An OCI config's `User` as docker and podman resolve it: `''` is root; `name` or `uid`, with
 * `:group` or `:gid`. Names are looked up in the image's /etc/passwd and /etc/group. With no
 * group, the gid is the user's primary group from /etc/passwd (0 for a uid it does not list) and
 * the supplementary groups are the /etc/group entries that list the user; with a group, there are
 * no supplementary groups.
 */
export function resolveOciUser(user: string, read: ImageFileReader): { uid: number; gid: number; supplementaryGids: number[] } {
  const s = user.trim();
  if (s === '') return { uid: 0, gid: 0, supplementaryGids: [] };
  const colon = s.indexOf(':');
  const u = colon < 0 ? s : s.slice(0, colon);
  const g = colon < 0 ? undefined : s.slice(colon + 1);
  const safeRead = (p: string): string | null => {
    try {
      return read(p);
    } catch {
      return null;
    }
  };
  const passwd = records(safeRead('etc/passwd'), 4);
  const numeric = idOf(u);
  if (numeric === undefined && !/^[0-9]+$/.test(u) && u !== '' && passwd.every((f) => f[0] !== u) && u !== 'root') {
    throw new CapsuleError('app-identity', `user ${JSON.stringify(u)} not found in the image's /etc/passwd`);
  }
  if (/^[0-9]+$/.test(u) && numeric === undefined) throw new CapsuleError('app-identity', `invalid user id ${JSON.stringify(u)}`);
  const entry = numeric !== undefined ? passwd.find((f) => idOf(f[2]) === numeric) : passwd.find((f) => f[0] === u);
  const uid = numeric ?? idOf(entry?.[2]) ?? 0;
  if (g !== undefined && g !== '') {
    const gnum = idOf(g);
    if (gnum !== undefined) return { uid, gid: gnum, supplementaryGids: [] };
    if (/^[0-9]+$/.test(g)) throw new CapsuleError('app-identity', `invalid group id ${JSON.stringify(g)}`);
    const ge = records(safeRead('etc/group'), 3).find((f) => f[0] === g);
    const gid = idOf(ge?.[2]) ?? (g === 'root' ? 0 : undefined);
    if (gid === undefined) throw new CapsuleError('app-identity', `group ${JSON.stringify(g)} not found in the image's /etc/group`);
    return { uid, gid, supplementaryGids: [] };
  }
  const gid = idOf(entry?.[3]) ?? 0;
  const name = entry?.[0];
  const supplementaryGids =
    name === undefined
      ? []
      : [...new Set(records(safeRead('etc/group'), 4).filter((f) => (f[3] ?? '').split(',').map((m) => m.trim()).includes(name)).map((f) => idOf(f[2])).filter((x): x is number => x !== undefined && x !== gid))];
  return { uid, gid, supplementaryGids };
}
