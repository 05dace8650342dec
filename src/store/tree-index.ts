import type { Db } from './index-db.js';

export interface TreeRecord {
  id: string;
  imageId: string;
  deps: string[];
  size: number;
  created: number;
}

interface Row { id: string; image_id: string; deps: string; size: number; created: number }
const fromRow = (r: Row): TreeRecord => ({ id: r.id, imageId: r.image_id, deps: JSON.parse(r.deps) as string[], size: r.size, created: r.created });

export function getTree(db: Db, id: string): TreeRecord | undefined {
  const r = db.prepare('SELECT * FROM trees WHERE id = ?').get(id) as Row | undefined;
  return r && fromRow(r);
}

export function treesOfImage(db: Db, imageId: string): TreeRecord[] {
  return (db.prepare('SELECT * FROM trees WHERE image_id = ?').all(imageId) as Row[]).map(fromRow);
}

export function listTrees(db: Db): TreeRecord[] {
  return (db.prepare('SELECT * FROM trees').all() as Row[]).map(fromRow);
}

export function upsertTree(db: Db, t: TreeRecord): void {
  db.prepare('INSERT OR REPLACE INTO trees (id, image_id, deps, size, created) VALUES (?, ?, ?, ?, ?)').run(t.id, t.imageId, JSON.stringify(t.deps), t.size, t.created);
}

export function deleteTree(db: Db, id: string): void {
  db.prepare('DELETE FROM trees WHERE id = ?').run(id);
}

/** Total tree bytes per image, for `image list`'s SIZE column. */
export function treeSizes(db: Db): Map<string, number> {
  const rows = db.prepare('SELECT image_id, SUM(size) AS s FROM trees GROUP BY image_id').all() as { image_id: string; s: number }[];
  return new Map(rows.map((r) => [r.image_id, r.s]));
}
