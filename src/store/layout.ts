import path from 'node:path';

/** Where everything lives under `--dir` (DESIGN.md "On disk"). Pure: computes paths only. */
export interface StoreLayout {
  dir: string;
  blobDir: string;
  /** OCI/Docker manifests, configs and layers as fetched: `cas/blob/sha256/<2 hex>/<64 hex>`. */
  ociBlobDir: string;
  dbDir: string;
  dbFile: string;
  tmpDir: string;
  treeDir: string;
  locksDir: string;
  podsDir: string;
  storeLock: string;
}

export function storeLayout(dir: string): StoreLayout {
  return {
    dir,
    blobDir: path.join(dir, 'cas', 'blob', 'sha512'),
    ociBlobDir: path.join(dir, 'cas', 'blob', 'sha256'),
    dbDir: path.join(dir, 'cas', 'db'),
    dbFile: path.join(dir, 'cas', 'db', 'index.sqlite'),
    tmpDir: path.join(dir, 'cas', 'tmp'),
    treeDir: path.join(dir, 'tree'),
    locksDir: path.join(dir, 'locks'),
    podsDir: path.join(dir, 'pods'),
    storeLock: path.join(dir, 'locks', 'store'),
  };
}

/** `cas/blob/sha512/<2 hex>/sha512-<hex>`. The id was validated by parseImageId, so it is a safe path component. */
export function blobPath(l: StoreLayout, id: string): string {
  const hex = id.slice('sha512-'.length);
  return path.join(l.blobDir, hex.slice(0, 2), id);
}

/** `cas/blob/sha256/<2 hex>/<hex>` for a `sha256:<hex>` digest (validated by the caller's parser, so a safe path). */
export function ociBlobPath(l: StoreLayout, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(l.ociBlobDir, hex.slice(0, 2), hex);
}

export function treePath(l: StoreLayout, treeId: string): string {
  return path.join(l.treeDir, treeId);
}
