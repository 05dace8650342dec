import { Header, Pax } from 'tar';
import { CapsuleError } from '../errors/capsule-error.js';
import { ByteReader } from './byte-reader.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

/** One tar entry with PAX/GNU long names applied. `data` must be consumed (or `skip()`ed) before the next entry. */
export interface TarEntry {
  path: string;
  type: EntryType;
  rawType: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  linkpath: string;
  devmajor: number;
  devminor: number;
  data: AsyncIterable<Buffer>;
}

const TYPES: Record<string, EntryType> = {
  File: 'file', OldFile: 'file', ContiguousFile: 'file', Directory: 'directory', SymbolicLink: 'symlink',
  Link: 'hardlink', CharacterDevice: 'char', BlockDevice: 'block', FIFO: 'fifo',
};

const MAX_META = 1024 * 1024;
const ZERO_BLOCK = Buffer.alloc(512);

const bad = (why: string): CapsuleError => new CapsuleError('bad-archive', why);

/**
 * Frames a tar stream: one parser for everything we read (manifest, checks, extraction), so no
 * two components can disagree about where an entry starts (CVE-2025-62518 class).
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, reader = new ByteReader(source)): AsyncGenerator<TarEntry> {
  let pax: Pax | null = null;
  let globalPax: Pax | null = null;
  let longPath: string | null = null;
  let longLink: string | null = null;
  for (;;) {
    let block: Buffer | null;
    try {
      block = await reader.readExact(512);
    } catch (e) {
      throw bad((e as Error).message);
    }
    if (block === null) throw bad('unexpected end of archive: no end-of-archive marker');
    if (block.equals(ZERO_BLOCK)) return; // end of archive; the caller drains any padding
    const h = new Header(block);
    if (!h.cksumValid) throw bad('invalid tar header checksum');
    const size = h.size ?? 0;
    if (size < 0 || !Number.isSafeInteger(size)) throw bad(`invalid entry size in tar header`);
    const padded = Math.ceil(size / 512) * 512;
    const t = h.type as string;
    if (t === 'ExtendedHeader' || t === 'GlobalExtendedHeader' || t === 'NextFileHasLongPath' || t === 'NextFileHasLongLinkpath' || t === 'OldGnuLongPath') {
      if (size > MAX_META) throw bad(`tar metadata entry too large (${size} bytes)`);
      const body = size === 0 ? Buffer.alloc(0) : await reader.readExact(padded);
      if (body === null) throw bad('unexpected end of archive in a metadata entry');
      const text = body.subarray(0, size);
      if (t === 'ExtendedHeader') pax = Pax.parse(text.toString('utf8'), pax ?? undefined, false);
      else if (t === 'GlobalExtendedHeader') globalPax = Pax.parse(text.toString('utf8'), globalPax ?? undefined, true);
      else if (t === 'NextFileHasLongLinkpath') longLink = cString(text);
      else longPath = cString(text);
      continue;
    }
    const merged = setFields(globalPax, pax);
    const path = longPath ?? merged.path ?? h.path ?? '';
    const linkpath = longLink ?? merged.linkpath ?? h.linkpath ?? '';
    let entrySize = size;
    if (merged.size !== undefined) {
      if (size !== 0 && merged.size !== size) throw bad(`inconsistent sizes for ${JSON.stringify(path)}: header ${size}, pax ${merged.size}`);
      entrySize = merged.size;
    }
    // PAX and base-256 fields can hold values no file can have; they would fail (or be silently
    // changed) at fchown/futimes time, leaving a tree that never matches its recorded digest.
    if (!Number.isSafeInteger(entrySize) || entrySize < 0) throw bad(`invalid size for ${JSON.stringify(path)}`);
    const uid = merged.uid ?? h.uid ?? 0;
    const gid = merged.gid ?? h.gid ?? 0;
    if (!validId(uid) || !validId(gid)) throw bad(`invalid owner ${uid}:${gid} for ${JSON.stringify(path)}`);
    const mtime = merged.mtime ?? h.mtime ?? new Date(0);
    if (Number.isNaN(mtime.getTime())) throw bad(`invalid modification time for ${JSON.stringify(path)}`);
    pax = null;
    longPath = null;
    longLink = null;
    const type = TYPES[t] ?? 'other';
    // Links, directories and devices carry no data; any bytes they claim are skipped, never yielded.
    const entryPadded = Math.ceil(entrySize / 512) * 512;
    let remaining = type === 'file' ? entrySize : 0;
    let stale = false;
    const entry: TarEntry = {
      path,
      type,
      rawType: t,
      size: type === 'file' ? entrySize : 0,
      mode: (h.mode ?? 0) & 0o7777,
      uid,
      gid,
      mtime,
      linkpath,
      devmajor: h.devmaj ?? 0,
      devminor: h.devmin ?? 0,
      data: (async function* () {
        if (stale) throw bad('an entry was read after the archive moved past it');
        for await (const c of reader.stream(remaining)) {
          remaining -= c.length;
          yield c;
        }
      })(),
    };
    const fileBytes = remaining;
    yield entry;
    // Whatever the consumer left unread, plus padding, keeps the next header aligned.
    await reader.skip(remaining + (entryPadded - fileBytes));
    stale = true;
  }
}

/** Pax objects hold every field, unset ones as undefined: merge only set ones, so a per-entry header keeps the global header's other values. */
function setFields(...sources: (Pax | null)[]): Partial<Pax> {
  const out: Record<string, unknown> = {};
  for (const src of sources) for (const [k, v] of Object.entries(src ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

/** A Linux uid/gid: 32 bits, and (uid_t)-1 means "no change" to chown. */
function validId(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n < 0xffffffff;
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return (nul >= 0 ? b.subarray(0, nul) : b).toString('utf8');
}
