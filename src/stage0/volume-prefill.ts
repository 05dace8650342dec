import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError } from '../errors/capsule-error.js';

const MAX_LINKS = 40;

/**
 * PATH inside the tree ROOT as a process with ROOT as "/" sees it: symlinks followed, absolute
 * ones and ".." at the top kept at ROOT. Returns the host path of what it names, or null when a
 * component is missing. For trees nothing else writes (a rendered image tree).
 */
export function resolveInTree(root: string, p: string): string | null {
  const parts: string[] = [];
  const rest = p.split('/');
  let links = 0;
  while (rest.length > 0) {
    const c = rest.shift() ?? '';
    if (c === '' || c === '.') continue;
    if (c === '..') {
      parts.pop();
      continue;
    }
    const here = path.join(root, ...parts, c);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(here);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return null;
      const target = fs.readlinkSync(here);
      if (target.startsWith('/')) parts.length = 0;
      rest.unshift(...target.split('/'));
      continue;
    }
    if (rest.some((x) => x !== '' && x !== '.') && !st.isDirectory()) return null;
    parts.push(c);
  }
  return path.join(root, ...parts);
}

/**
 * Fills the volume directory DST with the image's content at MOUNTPATH inside TREEROOT (rkt's
 * implicit volumes, Docker's semantics) and gives DST that directory's mode and owner. Nothing to
 * copy (the path is missing or not a directory): DST stays as it is.
 */
export function prefillVolume(treeRoot: string, mountPath: string, dst: string): void {
  const src = resolveInTree(treeRoot, mountPath);
  if (src === null) return;
  const st = fs.statSync(src);
  if (!st.isDirectory()) return;
  try {
    // cp -a keeps owners, modes, links, special files and xattrs; --reflink shares blocks where it can.
    execFileSync('/bin/cp', ['-a', '--reflink=auto', '--', `${src}/.`, `${dst}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new CapsuleError('pod-prepare', `copying the image's ${mountPath} into its volume`, { cause: e });
  }
  fs.chownSync(dst, st.uid, st.gid);
  fs.chmodSync(dst, st.mode & 0o7777);
}
