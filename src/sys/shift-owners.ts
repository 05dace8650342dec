import fs from 'node:fs';
import path from 'node:path';

/**
 * The chown-shifted tree for a pod in its own user namespace: every entry under ROOT (ROOT too)
 * owned by uid/gid N < SIZE becomes BASE+N; ids already at or above SIZE are left alone, so a
 * second pass changes nothing. Symbolic links are changed themselves (lchown), never followed;
 * mount points are not crossed (a volume or another file system keeps its owners). chown clears
 * set-user-ID and set-group-ID bits, so modes are put back afterwards.
 */
export function shiftOwners(root: string, base: number, size: number): void {
  const dev = fs.lstatSync(root).dev;
  const shift = (p: string, st: fs.Stats): void => {
    const uid = st.uid < size ? st.uid + base : st.uid;
    const gid = st.gid < size ? st.gid + base : st.gid;
    if (uid === st.uid && gid === st.gid) return;
    fs.lchownSync(p, uid, gid);
    if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) fs.chmodSync(p, st.mode & 0o7777);
  };
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      const st = fs.lstatSync(p);
      if (st.dev !== dev) continue;
      shift(p, st);
      if (st.isDirectory()) walk(p);
    }
  };
  shift(root, fs.lstatSync(root));
  walk(root);
}
