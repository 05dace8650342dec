import { CapsuleError } from '../errors/capsule-error.js';
import { type ImageId, type ImageIdPrefix, parseImageId, prefixString } from '../spec/image-id.js';
import { parseImageManifest, type ImageManifest } from '../spec/image-manifest.js';
import { hostOsArch } from '../spec/os-arch.js';
import type { Db } from './index-db.js';

/** `aci`: an appc image (one blob, its own manifest). `oci`: an OCI/Docker image (src/store/oci-index.ts has its layers). */
export type ImageKind = 'aci' | 'oci';

export interface ImageRecord {
  id: ImageId;
  kind: ImageKind;
  /** ACI: the manifest's name. OCI: `registry/repository` of the reference it was first stored under. */
  name: string;
  labels: Record<string, string>;
  /** ACI: the image's manifest. OCI: the appc view of its config (what a run uses; src/oci/config-app.ts). */
  manifest: ImageManifest;
  /** ACI: the manifest exactly as the image carried it (cat-manifest prints this). OCI: the appc view as stored. */
  manifestText: string;
  size: number;
  importTime: number;
  lastUsed: number;
  latest: boolean;
}

interface Row { id: string; kind: string; name: string; labels: string; manifest: string; size: number; import_time: number; last_used: number; latest: number }

function fromRow(r: Row): ImageRecord {
  return {
    id: parseImageId(r.id),
    kind: r.kind === 'oci' ? 'oci' : 'aci',
    name: r.name,
    labels: JSON.parse(r.labels) as Record<string, string>,
    manifest: parseImageManifest(r.manifest),
    manifestText: r.manifest,
    size: r.size,
    importTime: r.import_time,
    lastUsed: r.last_used,
    latest: r.latest !== 0,
  };
}

export function labelsOf(m: ImageManifest): Record<string, string> {
  return Object.fromEntries((m.labels ?? []).map((l) => [l.name, l.value]));
}

export function listImages(db: Db): ImageRecord[] {
  return (db.prepare('SELECT * FROM images ORDER BY import_time, id').all() as Row[]).map(fromRow);
}

export function getImage(db: Db, id: ImageId): ImageRecord | undefined {
  const r = db.prepare('SELECT * FROM images WHERE id = ?').get(id) as Row | undefined;
  return r && fromRow(r);
}

/** rkt's prefix rules: ≥ 2 hex digits, unique among stored images (`sha512-…` ACIs, `sha256:…` OCI images). */
export function findByIdPrefix(db: Db, p: ImageIdPrefix): ImageRecord {
  const prefix = prefixString(p);
  const rows = db.prepare("SELECT * FROM images WHERE id >= ? AND id < ? LIMIT 2").all(prefix, `${prefix}g`) as Row[];
  if (rows.length === 0) throw new CapsuleError('image-not-found', `no image IDs found matching "${prefix}"`);
  if (rows.length > 1) throw new CapsuleError('ambiguous-image-id', `ambiguous image ID "${prefix}"`, { hint: 'give more hex digits' });
  return fromRow(rows[0]!);
}

/**
 * Best image for a name and labels: every requested label must match; os/arch, when not asked
 * for, must be the host's or absent; without a version, images fetched as "latest" win; then the newest.
 */
export function findByName(db: Db, name: string, labels: Record<string, string>): ImageRecord | undefined {
  const host = hostOsArch();
  const rows = (db.prepare("SELECT * FROM images WHERE name = ? AND kind = 'aci'").all(name) as Row[]).map(fromRow);
  const ok = rows.filter((r) => {
    for (const [k, v] of Object.entries(labels)) if (r.labels[k] !== v) return false;
    if (labels.os === undefined && r.labels.os !== undefined && r.labels.os !== host.os) return false;
    if (labels.arch === undefined && r.labels.arch !== undefined && r.labels.arch !== host.arch) return false;
    return true;
  });
  ok.sort((a, b) => (labels.version === undefined ? Number(b.latest) - Number(a.latest) : 0) || b.importTime - a.importTime);
  return ok[0];
}

export function upsertImage(db: Db, rec: Omit<ImageRecord, 'importTime' | 'lastUsed' | 'kind'> & { kind?: ImageKind }, now: number): void {
  db.prepare(
    `INSERT INTO images (id, kind, name, labels, manifest, size, import_time, last_used, latest)
     VALUES (@id, @kind, @name, @labels, @manifest, @size, @now, @now, @latest)
     ON CONFLICT(id) DO UPDATE SET last_used = @now, latest = MAX(latest, @latest)`,
  ).run({ id: rec.id, kind: rec.kind ?? 'aci', name: rec.name, labels: JSON.stringify(rec.labels), manifest: rec.manifestText, size: rec.size, now, latest: rec.latest ? 1 : 0 });
}

export function touchImage(db: Db, id: ImageId, now: number): void {
  db.prepare('UPDATE images SET last_used = ? WHERE id = ?').run(now, id);
}

export function deleteImage(db: Db, id: ImageId): void {
  db.prepare('DELETE FROM images WHERE id = ?').run(id);
}
