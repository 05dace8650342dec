import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CapsuleError, DigestMismatch } from '../errors/capsule-error.js';
import { ociBlobPath } from '../store/layout.js';
import type { Store } from '../store/store.js';
import { AsyncFileWriter } from '../sys/async-file-writer.js';
import { fsyncDir, tempName, writeFileAtomic } from '../sys/atomic-write.js';
import { removeOnSignal } from '../sys/signal-cleanup.js';
import type { BlobObserver } from './layer-feed.js';
import { shortDigest } from './manifest.js';
import type { Descriptor, ImageSource } from './types.js';

/** How often a cut transfer is resumed (when the source can) before the fetch fails. */
export const MAX_RESUMES = 3;

const tooLarge = (what: string, d: Descriptor): CapsuleError =>
  new CapsuleError('size-mismatch', `${what} ${shortDigest(d.digest)} is larger than its descriptor's ${d.size} bytes`);

/** Checks exact bytes against a descriptor: size first, then sha256. */
export function checkBytes(bytes: Buffer, d: Pick<Descriptor, 'digest' | 'size'>, what: string): void {
  if (bytes.length !== d.size) throw new CapsuleError('size-mismatch', `${what} ${shortDigest(d.digest)} has ${bytes.length} bytes, its descriptor says ${d.size}`);
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== d.digest) throw new DigestMismatch(d.digest, actual, `${what} does not match its digest`);
}

/** A small blob (a config) read into memory: never more than its descriptor's size (and `max`), checked. */
export async function readSmallBlob(source: ImageSource, d: Descriptor, max: number, what: string): Promise<Buffer> {
  if (d.size > max) throw new CapsuleError('too-large', `${what} ${shortDigest(d.digest)} is ${d.size} bytes, more than the ${max} allowed`);
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of await source.getBlob(d, 0)) {
    n += c.length;
    if (n > d.size) throw tooLarge(what, d);
    parts.push(c);
  }
  const bytes = Buffer.concat(parts);
  checkBytes(bytes, d, what);
  return bytes;
}

/** Whether the store already holds blob `digest` with `size` bytes (a layer is never fetched twice). */
export function haveBlob(store: Store, digest: string, size: number): boolean {
  try {
    const st = fs.statSync(ociBlobPath(store.layout, digest));
    return st.isFile() && st.size === size;
  } catch {
    return false;
  }
}

/** Stores checked bytes under their digest (atomic; an existing blob of that size is kept). True when it wrote one. */
export async function storeBlobBytes(store: Store, digest: string, bytes: Buffer): Promise<boolean> {
  if (haveBlob(store, digest, bytes.length)) return false;
  const dest = ociBlobPath(store.layout, digest);
  fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
  await writeFileAtomic(dest, bytes, 0o600);
  return true;
}

/** A partial download a cut (or killed) fetch left for a later one: `cas/tmp/blob-<hex>.partial`. */
function partialPath(store: Store, digest: string): string {
  return path.join(store.layout.tmpDir, `blob-${digest.slice('sha256:'.length)}.partial`);
}

async function hashFile(file: string, h: Hash): Promise<void> {
  for await (const c of fs.createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) h.update(c);
}

/**
 * Downloads a blob into the store, counting and hashing as it streams: more bytes than the
 * descriptor says abort at once, fewer are a cut transfer (resumed from where it stopped when
 * the source can, up to MAX_RESUMES times), and the sha256 must match before the blob is moved
 * to its content address. A failed transfer leaves its bytes as a partial file a later fetch
 * resumes from (re-hashing what is there); nothing unverified is ever under cas/blob.
 */
export interface BlobFetchOptions {
  /** Bytes as they arrive (progress). */
  onBytes?: (n: number) => void;
  /** Follows the download (a layer rendered while it arrives: layer-feed.ts). */
  observer?: BlobObserver;
  /** Aborted: the transfer stops at its next chunk (another part of the import failed). */
  signal?: AbortSignal;
}

export async function fetchBlobToStore(store: Store, source: ImageSource, d: Descriptor, what: string, o: BlobFetchOptions = {}): Promise<'stored' | 'present'> {
  const { onBytes, observer, signal } = o;
  if (haveBlob(store, d.digest, d.size)) {
    observer?.present();
    return 'present';
  }
  fs.mkdirSync(store.layout.tmpDir, { recursive: true, mode: 0o700 });
  const mine = path.join(store.layout.tmpDir, tempName('blob'));
  // A signal drops what this transfer holds (a cut transfer, not a signal, leaves a partial to resume).
  removeOnSignal(mine);
  const h = createHash('sha256');
  let have = 0;
  // Take over a partial file a previous fetch left: rename is atomic, so one process gets it.
  if (source.canResume) {
    try {
      fs.renameSync(partialPath(store, d.digest), mine);
      have = fs.statSync(mine).size;
      if (have > d.size) {
        fs.rmSync(mine, { force: true });
        have = 0;
      } else await hashFile(mine, h);
    } catch {
      have = 0;
    }
  }
  if (have > 0) onBytes?.(have);
  const written = observer ? (n: number) => observer.written(n) : undefined;
  const out = have > 0 ? await AsyncFileWriter.resume(mine, have, undefined, written) : await AsyncFileWriter.create(mine, 0o600, undefined, written);
  observer?.started(mine, have);
  let ok = false;
  let keep = false;
  try {
    for (let attempt = 0; ; attempt++) {
      const before = have;
      let cut: unknown;
      try {
        for await (const c of await source.getBlob(d, have)) {
          signal?.throwIfAborted();
          if (have + c.length > d.size) throw tooLarge(what, d);
          have += c.length;
          h.update(c);
          onBytes?.(c.length);
          await out.write(c);
        }
      } catch (e) {
        if (e instanceof CapsuleError && (e.code === 'size-mismatch' || e.code === 'digest-mismatch')) throw e;
        if (signal?.aborted) throw e;
        cut = e;
      }
      if (have === d.size && cut === undefined) break;
      const resumable = source.canResume && attempt < MAX_RESUMES && have > before;
      if (!resumable) {
        keep = cut !== undefined;
        if (cut !== undefined) throw new CapsuleError('fetch', `${what} ${shortDigest(d.digest)}: transfer failed after ${have} of ${d.size} bytes`, { cause: cut });
        throw new CapsuleError('size-mismatch', `${what} ${shortDigest(d.digest)} ended after ${have} bytes, its descriptor says ${d.size}`);
      }
    }
    await out.finish(true);
    ok = true;
  } finally {
    if (!ok) {
      await out.abort();
      // Keep the bytes for a later resume when the source can resume; else drop them.
      if (keep && source.canResume && have > 0) fs.renameSync(mine, partialPath(store, d.digest));
      else fs.rmSync(mine, { force: true });
    }
  }
  const actual = `sha256:${h.digest('hex')}`;
  if (actual !== d.digest) {
    fs.rmSync(mine, { force: true });
    throw new DigestMismatch(d.digest, actual, `${what} does not match its digest`);
  }
  observer?.verified();
  const dest = ociBlobPath(store.layout, d.digest);
  fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
  if (haveBlob(store, d.digest, d.size)) {
    fs.rmSync(mine, { force: true });
    observer?.movedTo(dest);
    return 'present';
  }
  fs.renameSync(mine, dest);
  observer?.movedTo(dest);
  await fsyncDir(path.dirname(dest));
  return 'stored';
}
