import { parseImageId, type ImageId } from '../spec/image-id.js';
import type { Db } from './index-db.js';

/** What we know about an image URL: its validator, freshness and the image it gave (HTTP caching). */
export interface RemoteRecord {
  url: string;
  sigUrl: string | undefined;
  etag: string | undefined;
  imageId: ImageId;
  /** Seconds from downloadTime during which no request is made (Cache-Control max-age). */
  maxAge: number | undefined;
  downloadTime: number;
}

interface Row { url: string; sig_url: string | null; etag: string | null; image_id: string; max_age: number | null; download_time: number }

export function getRemote(db: Db, url: string): RemoteRecord | undefined {
  const r = db.prepare('SELECT * FROM remotes WHERE url = ?').get(url) as Row | undefined;
  if (!r) return undefined;
  return { url: r.url, sigUrl: r.sig_url ?? undefined, etag: r.etag ?? undefined, imageId: parseImageId(r.image_id), maxAge: r.max_age ?? undefined, downloadTime: r.download_time };
}

export function upsertRemote(db: Db, r: RemoteRecord): void {
  db.prepare('INSERT OR REPLACE INTO remotes (url, sig_url, etag, image_id, max_age, download_time) VALUES (?, ?, ?, ?, ?, ?)').run(r.url, r.sigUrl ?? null, r.etag ?? null, r.imageId, r.maxAge ?? null, r.downloadTime);
}

export function deleteRemotesOf(db: Db, imageId: string): void {
  db.prepare('DELETE FROM remotes WHERE image_id = ?').run(imageId);
}

/** Fresh: fetched less than max-age seconds ago, so no request is needed. */
export function isFresh(r: RemoteRecord, now: number): boolean {
  return r.maxAge !== undefined && now < r.downloadTime + r.maxAge * 1000;
}
