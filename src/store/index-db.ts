import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { CapsuleError } from '../errors/capsule-error.js';
import { fixFileMode, makeDirs, type DataDirModes } from '../sys/shared-dir.js';

export type Db = BetterSqlite3.Database;

const SCHEMA_VERSION = 2;

const MIGRATIONS: string[] = [
  `CREATE TABLE images (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     labels TEXT NOT NULL,
     manifest TEXT NOT NULL,
     size INTEGER NOT NULL,
     import_time INTEGER NOT NULL,
     last_used INTEGER NOT NULL,
     latest INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX images_name ON images(name);
   CREATE TABLE trees (
     id TEXT PRIMARY KEY,
     image_id TEXT NOT NULL,
     deps TEXT NOT NULL,
     size INTEGER NOT NULL,
     created INTEGER NOT NULL
   );
   CREATE INDEX trees_image ON trees(image_id);
   CREATE TABLE remotes (
     url TEXT PRIMARY KEY,
     sig_url TEXT,
     etag TEXT,
     image_id TEXT,
     max_age INTEGER,
     download_time INTEGER
   );`,
  // 2: OCI/Docker images. Their `images` row (kind 'oci', id = config digest) carries the appc
  // view runs use; oci_images the manifest and ordered layers; oci_refs every reference that
  // names one (tags, digests) and where it came from; oci_blobs which CAS blobs each image holds
  // (reference counts for gc: a blob goes when no image row points to it).
  `ALTER TABLE images ADD COLUMN kind TEXT NOT NULL DEFAULT 'aci';
   CREATE TABLE oci_images (
     image_id TEXT PRIMARY KEY,
     manifest_digest TEXT NOT NULL,
     manifest_media_type TEXT NOT NULL,
     config_digest TEXT NOT NULL,
     platform TEXT NOT NULL,
     layers TEXT NOT NULL,
     run_config TEXT NOT NULL
   );
   CREATE TABLE oci_refs (
     ref TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     tag TEXT,
     image_id TEXT NOT NULL,
     top_digest TEXT NOT NULL,
     source TEXT NOT NULL,
     platform TEXT NOT NULL,
     updated INTEGER NOT NULL
   );
   CREATE INDEX oci_refs_image ON oci_refs(image_id);
   CREATE INDEX oci_refs_name ON oci_refs(name);
   CREATE TABLE oci_blobs (
     digest TEXT NOT NULL,
     image_id TEXT NOT NULL,
     PRIMARY KEY (digest, image_id)
   );
   CREATE INDEX oci_blobs_image ON oci_blobs(image_id);`,
];

/**
 * The addon's path, so better-sqlite3 skips `bindings`' search of a dozen candidate paths
 * (~1.5 ms on every command that opens the store); left to the search when the layout differs.
 */
function nativeBinding(require: NodeJS.Require): { nativeBinding?: string } {
  try {
    const p = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
    return existsSync(p) ? { nativeBinding: p } : {};
  } catch {
    return {};
  }
}

/**
 * Opens the index. WAL mode plus a busy timeout lets many capsule processes read and write
 * at once; every multi-row change runs in a transaction.
 */
export function openIndex(dbDir: string, dbFile: string, modes?: DataDirModes): Db {
  if (modes?.shared) {
    makeDirs(dbDir, modes.writableDir);
    // SQLite gives its -wal and -shm files the database file's mode: group-writable from the start.
    const fd = openSync(dbFile, 'a', modes.writableFile);
    try {
      fixFileMode(fd, modes.writableFile);
    } finally {
      closeSync(fd);
    }
  } else mkdirSync(dbDir, { recursive: true, mode: 0o700 });
  const require = createRequire(import.meta.url);
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  // The busy timeout covers ordinary lock waits, but opening can also meet SQLITE_BUSY at once
  // (another process switching a fresh index to WAL, or checkpointing as it closes the last
  // connection: seen with two fetches starting together on a loaded host). Retried within the
  // same 30 s budget.
  const deadline = Date.now() + OPEN_BUSY_BUDGET_MS;
  for (let attempt = 0; ; attempt++) {
    let db: Db | undefined;
    try {
      db = new Database(dbFile, { timeout: 30_000, ...nativeBinding(require) });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 30000');
      migrate(db);
      return db;
    } catch (e) {
      db?.close();
      if (isBusy(e) && Date.now() < deadline) {
        sleepMs(Math.min(10 * 2 ** attempt, 200));
        continue;
      }
      if (e instanceof CapsuleError) throw e;
      throw new CapsuleError('store', `opening the image index ${dbFile}`, { cause: e });
    }
  }
}

const OPEN_BUSY_BUDGET_MS = 30_000;

const isBusy = (e: unknown): boolean => String((e as { code?: unknown }).code).startsWith('SQLITE_BUSY');

/** Blocks the thread (openIndex is synchronous; this is only reached while another process holds the file). */
function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}


function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current === SCHEMA_VERSION) return;
  if (current > SCHEMA_VERSION) throw new CapsuleError('store', `image index schema ${current} is newer than this capsule understands (${SCHEMA_VERSION})`);
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const v = db.pragma('user_version', { simple: true }) as number;
    for (let i = v; i < SCHEMA_VERSION; i++) db.exec(MIGRATIONS[i]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
