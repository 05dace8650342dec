import fs from 'node:fs';
import path from 'node:path';

/** The filesystem a path lives on, as a user would name it (mount point and type) and its space. */
export interface FilesystemInfo {
  mountPoint: string;
  fsType: string;
  freeBytes: number;
  totalBytes: number;
}

/** Unescapes mountinfo's octal escapes (`\040` is a space). */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * The mount (point and type) of `file`, from mountinfo text: the longest mount point that
 * contains it, the last such mount winning (a mount over a mount hides the one below). Pure.
 */
export function mountOf(mountinfo: string, file: string): { mountPoint: string; fsType: string } | undefined {
  let best: { mountPoint: string; fsType: string } | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const mp = unescape(left.split(' ')[4] ?? '');
    const fsType = right.split(' ')[0] ?? '';
    if (!mp.startsWith('/')) continue;
    const inside = mp === '/' || file === mp || file.startsWith(`${mp}/`);
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = { mountPoint: mp, fsType };
  }
  return best;
}

/**
 * The filesystem holding `p` (or, when `p` does not exist yet, its nearest existing parent), or
 * undefined when it cannot be told. `mountinfo` is a parameter so tests can pass their own.
 */
export function filesystemOf(p: string, mountinfo = '/proc/self/mountinfo'): FilesystemInfo | undefined {
  let dir = path.resolve(p);
  for (;;) {
    try {
      dir = fs.realpathSync(dir);
      break;
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  }
  try {
    const st = fs.statfsSync(dir);
    const m = mountOf(fs.readFileSync(mountinfo, 'utf8'), dir);
    if (!m) return undefined;
    return { ...m, freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize };
  } catch {
    return undefined;
  }
}
