import { CapsuleError } from '../errors/capsule-error.js';
import { ByteReader } from './byte-reader.js';
import { parsePax, type PaxFields } from './pax-records.js';
import { decodeHeader } from './tar-header.js';

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

/** Typeflags Capsule reads; every other one (GNU sparse `S`, old long name `N`, contiguous `7`, Solaris `X`, volume labels, unknown letters that GNU tar and libarchive extract as plain files…) is refused. */
const TYPES: Record<string, { type: EntryType; name: string }> = {
  '0': { type: 'file', name: 'File' },
  '\0': { type: 'file', name: 'OldFile' },
  '1': { type: 'hardlink', name: 'Link' },
  '2': { type: 'symlink', name: 'SymbolicLink' },
  '3': { type: 'char', name: 'CharacterDevice' },
  '4': { type: 'block', name: 'BlockDevice' },
  '5': { type: 'directory', name: 'Directory' },
  '6': { type: 'fifo', name: 'FIFO' },
};
const REFUSED_TYPES: Record<string, string> = {
  N: 'an old GNU long-name entry (type N)',
  '7': 'a contiguous file (type 7)',
  S: 'a GNU sparse file (type S)',
  X: 'a Solaris extended header (type X)',
  M: 'a multi-volume continuation (type M)',
  V: 'a volume label (type V)',
  D: 'a GNU dump directory (type D)',
};

const MAX_META = 1024 * 1024;
const ZERO_BLOCK = Buffer.alloc(512);

const bad = (why: string): CapsuleError => new CapsuleError('bad-archive', why);

/** Metadata entries waiting for the entry they describe: at most one of each kind. */
interface Pending {
  pax: Buffer | null;
  paxName: string;
  longPath: string | null;
  longLink: string | null;
}

/**
 * Frames a tar stream: one parser for everything we read (manifest, checks, extraction), so no
 * two components can disagree about where an entry starts (CVE-2025-62518 class). Every field
 * that GNU tar, libarchive and Go's archive/tar could read differently is refused with a
 * one-line error naming the entry (see docs/security.md): PAX/ustar size disagreements, a GNU
 * long name and a PAX path on one entry, two metadata headers of one kind, global headers that
 * rename or resize, non-UTF-8 names and records, types other than the plain ones, data claimed
 * by entries that have none.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, reader = new ByteReader(source)): AsyncGenerator<TarEntry> {
  let globalPax: PaxFields = {};
  let p: Pending = { pax: null, paxName: '', longPath: null, longLink: null };
  const pendingAny = (): boolean => p.pax !== null || p.longPath !== null || p.longLink !== null;
  for (;;) {
    let block: Buffer | null;
    try {
      block = await reader.readExact(512);
    } catch (e) {
      throw bad((e as Error).message);
    }
    if (block === null) throw bad('unexpected end of archive: no end-of-archive marker');
    if (block.equals(ZERO_BLOCK)) {
      // End of archive; the caller drains any padding.
      if (pendingAny()) throw bad('a tar metadata entry (PAX or GNU long name) is not followed by the entry it describes');
      return;
    }
    const h = decodeHeader(block);
    const t = h.typeflag;
    const shownRaw = JSON.stringify(h.name);
    if (t === 'x' || t === 'g' || t === 'L' || t === 'K') {
      if (h.size > MAX_META) throw bad(`tar metadata entry too large (${h.size} bytes)`);
      const body = h.size === 0 ? Buffer.alloc(0) : await reader.readExact(Math.ceil(h.size / 512) * 512);
      if (body === null) throw bad('unexpected end of archive in a metadata entry');
      const data = body.subarray(0, h.size);
      if (t === 'g') {
        if (pendingAny()) throw bad(`a global PAX header ${shownRaw} sits between an entry's metadata and the entry`);
        globalPax = { ...globalPax, ...parsePax(data, true, `global PAX header ${shownRaw}`) };
      } else if (t === 'x') {
        if (p.pax !== null) throw bad(`two PAX headers for one tar entry (${JSON.stringify(p.paxName)}, ${shownRaw})`);
        p.pax = Buffer.from(data);
        p.paxName = h.name;
      } else {
        const which = t === 'L' ? 'longPath' : 'longLink';
        if (p[which] !== null) throw bad(`two GNU long ${t === 'L' ? 'names' : 'link names'} for one tar entry`);
        p[which] = longName(data, t);
      }
      continue;
    }
    const kind = TYPES[t];
    if (kind === undefined) {
      throw bad(`tar entry ${shownRaw} is ${REFUSED_TYPES[t] ?? `of unknown type ${JSON.stringify(t)}`}; only files, directories, links, devices and FIFOs are supported`);
    }
    const pax = p.pax === null ? {} : parsePax(p.pax, false, `PAX header of ${shownRaw}`);
    if (p.longPath !== null && pax.path !== undefined) throw bad(`tar entry ${shownRaw} has both a GNU long name ${JSON.stringify(p.longPath)} and a PAX path ${JSON.stringify(pax.path)}`);
    if (p.longLink !== null && pax.linkpath !== undefined) throw bad(`tar entry ${shownRaw} has both a GNU long link name and a PAX linkpath`);
    if (pax.linkpath === '' && h.linkname !== '') throw bad(`PAX header of ${shownRaw} empties the link name ${JSON.stringify(h.linkname)} (read as "delete" by some tools, as "keep" by others)`);
    const merged: PaxFields = { ...globalPax, ...pax };
    const path = p.longPath ?? merged.path ?? h.name;
    const linkpath = p.longLink ?? merged.linkpath ?? h.linkname;
    const shown = JSON.stringify(path);
    p = { pax: null, paxName: '', longPath: null, longLink: null };
    let type = kind.type;
    if (merged.size !== undefined && merged.size !== h.size) {
      // Also when the header says 0: one reader would take the header's 0 and read the data as
      // the next headers (TARmageddon), another the PAX size.
      throw bad(`inconsistent sizes for ${shown}: header ${h.size}, pax ${merged.size}`);
    }
    const size = h.size;
    if (path.endsWith('/') && type === 'file') {
      // Old tars mark directories as a regular file with a trailing slash; GNU tar and libarchive
      // read any such entry as a directory, Go only type "\0" ones. Accept only the unambiguous case.
      if (t !== '\0' || size !== 0) throw bad(`tar entry ${shown} is a regular file whose name ends in "/"`);
      type = 'directory';
    }
    // Readers disagree on whether links, directories and devices may carry data (pax allows it
    // for hardlinks, others read the bytes as the next header): such entries may claim none.
    if (type !== 'file' && size !== 0) throw bad(`tar entry ${shown} (${kind.name}) claims ${size} bytes of data`);
    // PAX and base-256 fields can hold values no file can have; they would fail (or be silently
    // changed) at fchown/futimes time, leaving a tree that never matches its recorded digest.
    const uid = merged.uid ?? h.uid;
    const gid = merged.gid ?? h.gid;
    if (!validId(uid) || !validId(gid)) throw bad(`invalid owner ${uid}:${gid} for ${shown}`);
    const mtime = new Date((merged.mtime ?? h.mtime) * 1000);
    if (Number.isNaN(mtime.getTime())) throw bad(`invalid modification time for ${shown}`);
    const padded = Math.ceil(size / 512) * 512;
    let remaining = size;
    let stale = false;
    const entry: TarEntry = {
      path,
      type,
      rawType: kind.name,
      size,
      mode: h.mode & 0o7777,
      uid,
      gid,
      mtime,
      linkpath,
      devmajor: h.devmajor,
      devminor: h.devminor,
      data: (async function* () {
        if (stale) throw bad('an entry was read after the archive moved past it');
        for await (const c of reader.stream(remaining)) {
          remaining -= c.length;
          yield c;
        }
      })(),
    };
    yield entry;
    // Whatever the consumer left unread, plus padding, keeps the next header aligned.
    await reader.skip(remaining + (padded - size));
    stale = true;
  }
}

/** A GNU `L`/`K` body: the name, NUL-terminated. A NUL inside it or bytes that are not UTF-8 would be read differently elsewhere. */
function longName(data: Buffer, t: string): string {
  const what = t === 'L' ? 'GNU long name' : 'GNU long link name';
  let body = data;
  while (body.length > 0 && body[body.length - 1] === 0) body = body.subarray(0, body.length - 1);
  if (body.includes(0)) throw bad(`${what} ${JSON.stringify(body.toString('latin1').slice(0, 200))} contains a NUL byte`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw bad(`${what} ${JSON.stringify(body.toString('latin1').slice(0, 200))} is not valid UTF-8`);
  }
}

/** A Linux uid/gid: 32 bits, and (uid_t)-1 means "no change" to chown. */
function validId(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n < 0xffffffff;
}
