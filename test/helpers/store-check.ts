import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { RunResult, World } from './cli.js';

/** `sha512-<128 hex>` of the uncompressed tar inside `aci` (gzip or plain): the appc image ID. */
export function expectedId(aci: Buffer): string {
  const tar = aci[0] === 0x1f && aci[1] === 0x8b ? zlib.gunzipSync(aci) : aci;
  return `sha512-${createHash('sha512').update(tar).digest('hex')}`;
}

/** Writes `data` as `name` in the world's base dir and returns the path. */
export function writeImage(world: World, name: string, data: Buffer): string {
  const p = path.join(world.base, name);
  fs.writeFileSync(p, data);
  return p;
}

/** `capsule --insecure-options=image fetch …` in the world. */
export function fetchInsecure(world: World, args: string[], env?: Record<string, string>): Promise<RunResult> {
  return world.run(['--insecure-options=image', 'fetch', ...args], env ? { env } : {});
}

export interface ListedImage {
  id: string;
  name: string;
  import_time: string;
  last_used_time: string;
  size: number;
}

/** A listed name without its `:version` (image list shows `name:version`, as its table does). */
export function bareName(listed: string): string {
  return listed.replace(/:[^/:]*$/, '');
}

export async function listJson(world: World): Promise<ListedImage[]> {
  const r = await world.run(['image', 'list', '--format', 'json']);
  if (r.code !== 0) throw new Error(`image list failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ListedImage[];
}

const readdir = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d) : []);

/** What the store holds on disk, read directly (not through capsule). */
export interface StoreFiles {
  /** Full blob names (`sha512-<128 hex>`) with the hash of their content. */
  blobs: { name: string; actual: string; file: string }[];
  /** Tree directories and whether each has its `rendered` marker. */
  trees: { name: string; rendered: boolean; dir: string }[];
  tmp: string[];
}

export function storeFiles(dir: string): StoreFiles {
  const blobDir = path.join(dir, 'cas', 'blob', 'sha512');
  const blobs = readdir(blobDir).flatMap((shard) =>
    readdir(path.join(blobDir, shard)).map((name) => {
      const file = path.join(blobDir, shard, name);
      return { name, file, actual: `sha512-${createHash('sha512').update(fs.readFileSync(file)).digest('hex')}` };
    }),
  );
  const treeDir = path.join(dir, 'tree');
  const trees = readdir(treeDir).map((name) => ({ name, dir: path.join(treeDir, name), rendered: fs.existsSync(path.join(treeDir, name, 'rendered')) }));
  return { blobs, trees, tmp: readdir(path.join(dir, 'cas', 'tmp')) };
}

/**
 * The store invariants after any sequence of commands (crashes included, once gc ran):
 * every indexed image has a blob hashing to its ID, every blob is indexed, every tree is
 * rendered, and nothing is left in cas/tmp. Returns a list of violations (empty when consistent).
 */
export async function storeViolations(world: World): Promise<string[]> {
  const listed = await listJson(world);
  const files = storeFiles(world.dir);
  const out: string[] = [];
  for (const b of files.blobs) {
    if (b.actual !== b.name) out.push(`blob ${b.name} hashes to ${b.actual}`);
    if (!listed.some((i) => b.name.startsWith(i.id))) out.push(`blob ${b.name} has no index row`);
  }
  for (const i of listed) if (!files.blobs.some((b) => b.name.startsWith(i.id))) out.push(`image ${i.id} has no blob`);
  for (const t of files.trees) if (!t.rendered) out.push(`tree ${t.name} has no rendered marker`);
  for (const t of files.tmp) out.push(`cas/tmp holds ${t}`);
  return out;
}

/**
 * What `image gc` prints on stderr for a consistent store with nothing half-done: only the
 * rendered trees it removes because no pod uses them (rkt's `removed treestore`; run and prepare
 * render again). Read before the gc.
 */
export function treeRemovalLines(dir: string): string {
  return storeFiles(dir)
    .trees.map((t) => `removed treestore ${JSON.stringify(t.name)}\n`)
    .join('');
}

/** Full ID (`sha512-` + 128 hex) to the 64-hex store key capsule prints with --full and in JSON. */
export const key64 = (id: string): string => id.slice(0, 'sha512-'.length + 64);
export const short32 = (id: string): string => id.slice(0, 'sha512-'.length + 32);

/** path → content (files), `-> target` (symlinks) or `dir`, for a whole tree. */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(path.join(root, r));
      if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else if (st.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(path.join(root, r))}`;
      else out[r] = fs.readFileSync(path.join(root, r), 'utf8');
    }
  };
  walk('');
  return out;
}
