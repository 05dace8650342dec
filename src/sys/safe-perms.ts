import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';

/**
 * ssh's and netrc's rule for the files Capsule trusts (issue 12 §4): trusted keys, auth.d and
 * docker.d credentials, and every directory on the way to them from the configuration root,
 * must not be changeable by anyone but root and the invoking user; credentials must not be
 * readable by others either. A data dir must not be writable by others.
 */
export type TrustedKind = 'dir' | 'key' | 'secret' | 'data-dir';

const octal = (m: number): string => `0${(m & 0o7777).toString(8).padStart(3, '0')}`;

/** What is wrong with a path's mode and owner for its kind, or undefined. Pure. */
export function permProblem(kind: TrustedKind, mode: number, uid: number, me: number): string | undefined {
  if (uid !== 0 && uid !== me) return `owned by uid ${uid} (only root or uid ${me}, who runs capsule, may own it)`;
  const who = (bits: number): string => [bits & 0o070 ? 'group' : '', bits & 0o007 ? 'others' : ''].filter((x) => x).join(' and ');
  switch (kind) {
    case 'dir':
    case 'key': {
      const w = mode & 0o022;
      return w ? `mode ${octal(mode)}: writable by ${who(w)}` : undefined;
    }
    case 'secret': {
      const w = mode & 0o022;
      if (w) return `mode ${octal(mode)}: writable by ${who(w)}`;
      return mode & 0o004 ? `mode ${octal(mode)}: readable by others (it holds credentials; chmod o-rwx)` : undefined;
    }
    case 'data-dir':
      return mode & 0o002 ? `mode ${octal(mode)}: writable by others` : undefined;
  }
}

const invoker = (): number => process.getuid?.() ?? 0;

/** Refuses `p` (lstat: a symlink is judged by its target's own entry below) unless its mode and owner are safe. */
export function checkTrustedPath(p: string, kind: TrustedKind, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return; // absent: nothing to trust
  }
  const problem = permProblem(kind, st.mode, st.uid, invoker());
  if (problem !== undefined) throw new CapsuleError('unsafe-permissions', `refusing ${what} ${p}: ${problem}`);
}

/** `checkTrustedPath` for `root` and every directory from it down to `dir` (inclusive). */
export function checkTrustedDirs(root: string, dir: string, what: string): void {
  const rel = path.relative(root, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`checkTrustedDirs: ${dir} is not under ${root}`);
  let cur = root;
  checkTrustedPath(cur, 'dir', what);
  for (const seg of rel === '' ? [] : rel.split(path.sep)) {
    cur = path.join(cur, seg);
    checkTrustedPath(cur, 'dir', what);
  }
}
