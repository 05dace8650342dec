import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { digestRecords, type NodeRecord } from './tree-writer.js';

type Rec = Pick<NodeRecord, 'type' | 'mode' | 'uid' | 'gid' | 'mtime' | 'size' | 'digest'>;

/** Recomputes a rendered tree's digest from disk (lstat only; never follows a link). */
export function digestTree(root: string): string {
  const records: [string, Rec][] = [];
  const walk = (rel: string): void => {
    const dir = rel === '' ? root : path.join(root, rel);
    for (const name of fs.readdirSync(dir)) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = path.join(root, r);
      const st = fs.lstatSync(p);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isDirectory()) {
        records.push([r, { type: 'dir', ...base, size: 0, digest: '' }]);
        walk(r);
      } else if (st.isSymbolicLink()) {
        records.push([r, { type: 'symlink', ...base, mode: 0o777, size: 0, digest: fs.readlinkSync(p) }]);
      } else if (st.isFile()) {
        const h = createHash('sha256');
        const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          const buf = Buffer.allocUnsafe(1024 * 1024);
          let n: number;
          while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
        } finally {
          fs.closeSync(fd);
        }
        records.push([r, { type: 'file', ...base, size: st.size, digest: h.digest('hex') }]);
      } else {
        records.push([r, { type: 'file', ...base, size: -1, digest: 'special' }]);
      }
    }
  };
  walk('');
  return digestRecords(records);
}
