import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { CapsuleError } from '../../errors/capsule-error.js';

/** mountinfo escapes space, tab, newline and backslash as `\ooo`. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or below `dir` (a canonical path), deepest first. Pure: give it /proc/self/mountinfo's text. */
export function mountsUnder(dir: string, mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp === undefined) continue;
    const p = unescapeMountPath(mp);
    if (p === dir || p.startsWith(`${dir}/`)) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

function readMountinfo(): string {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8');
}

/**
 * Before a pod directory is removed: detaches (umount -l) whatever is still mounted inside it,
 * e.g. an overlay left by a killed stage1, and refuses when something stays, so that removing the
 * directory never descends into a mounted file system (a host bind mount would be emptied).
 */
export function unmountUnder(dir: string): string[] {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const found = mountsUnder(real, readMountinfo());
  for (const mp of found) {
    const r = spawnSync('umount', ['-l', mp], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.error) throw new CapsuleError('pod-mounts', `running umount for ${mp}`, { cause: r.error });
  }
  const left = found.length > 0 ? mountsUnder(real, readMountinfo()) : [];
  if (left.length > 0) throw new CapsuleError('pod-mounts', `${left[0]!} is still mounted; not removing ${dir}`, { hint: 'unmount it, then run gc again' });
  return found;
}
