import fs from 'node:fs';

/** A positive PID read from a file stage1 wrote (`ppid`, `pid`), or null. */
export function readPidFile(file: string): number | null {
  let s: string;
  try {
    s = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
  const n = /^\d+$/.test(s) ? Number(s) : 0;
  return n > 0 ? n : null;
}

/**
 * The only child of `pid` (rkt's `ppid` convention: nspawn's only child is the pod's init), null
 * when `pid` is gone or has not exactly one child.
 */
export function onlyChildOf(pid: number): number | null {
  let children: string;
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  } catch {
    return null;
  }
  const pids = children.split(/\s+/).filter(Boolean);
  return pids.length === 1 ? Number(pids[0]) : null;
}
