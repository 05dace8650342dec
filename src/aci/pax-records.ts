import { CapsuleError } from '../errors/capsule-error.js';

/** The PAX keywords Capsule reads; every other keyword is ignored (POSIX allows that). */
export interface PaxFields {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch, possibly fractional or negative. */
  mtime?: number;
}

const bad = (why: string): CapsuleError => new CapsuleError('bad-archive', why);
const utf8 = new TextDecoder('utf-8', { fatal: true });
const DECIMAL = /^[0-9]+$/;
const TIME = /^-?[0-9]+(\.[0-9]+)?$/;
const UTF8_CHARSET = 'ISO-IEC 10646 2000 UTF-8';

/**
 * Parses a PAX extended header body strictly ("<len> <keyword>=<value>\n" records, `len`
 * counting the whole record). Where readers differ, refuse instead of picking one reading:
 * malformed records (node-tar drops them silently), bytes that are not UTF-8 (decoded lossily
 * elsewhere), a NUL in a path (C readers cut it short), an empty value, a keyword given twice, GNU sparse maps (GNU tar
 * rebuilds a different file from the same bytes), binary header charsets.
 * `global` (a `g` header) may not set path, linkpath or size: renaming or resizing every later
 * entry is read differently by different tools, and no writer needs it. `kind` names the header
 * in messages (`PAX header of "rootfs/x"`).
 */
export function parsePax(body: Buffer, global: boolean, kind: string): PaxFields {
  const out: PaxFields = {};
  const seen = new Set<string>();
  let off = 0;
  while (off < body.length) {
    const space = body.indexOf(0x20, off);
    const lenText = space < 0 ? '' : body.subarray(off, space).toString('latin1');
    if (space < 0 || space - off > 12 || !DECIMAL.test(lenText)) throw bad(`malformed record in the ${kind} (at byte ${off}): no length`);
    const len = Number(lenText);
    if (len <= space - off + 1 || off + len > body.length || body[off + len - 1] !== 0x0a) throw bad(`malformed record in the ${kind} (at byte ${off}): its length ${len} does not end at a newline`);
    const rec = body.subarray(space + 1, off + len - 1);
    off += len;
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw bad(`malformed record in the ${kind}: ${JSON.stringify(rec.toString('latin1').slice(0, 80))}`);
    const key = decode(rec.subarray(0, eq), kind);
    // xattr values are binary by definition (star's SCHILY.xattr); Capsule ignores them, so
    // their bytes cannot change what it reads. Every other value must be UTF-8.
    if (key.startsWith('SCHILY.xattr.')) continue;
    const value = decode(rec.subarray(eq + 1), kind);
    if (seen.has(key)) throw bad(`${kind} sets ${JSON.stringify(key)} twice`);
    seen.add(key);
    apply(out, key, value, kind, global);
  }
  return out;
}

function decode(b: Buffer, kind: string): string {
  try {
    return utf8.decode(b);
  } catch {
    throw bad(`a record in the ${kind} is not valid UTF-8: ${JSON.stringify(b.toString('latin1').slice(0, 80))}`);
  }
}

function apply(out: PaxFields, key: string, value: string, kind: string, global: boolean): void {
  if (key.startsWith('GNU.sparse.')) throw bad(`${kind} describes a GNU sparse file (${key}); sparse entries are not supported`);
  if (key === 'hdrcharset') {
    if (value !== UTF8_CHARSET) throw bad(`${kind} sets hdrcharset=${JSON.stringify(value)}; only UTF-8 names are supported`);
    return;
  }
  if (!['path', 'linkpath', 'size', 'uid', 'gid', 'mtime'].includes(key)) return;
  if (global && (key === 'path' || key === 'linkpath' || key === 'size')) throw bad(`${kind} sets ${JSON.stringify(key)}, which would apply to every later entry`);
  // An empty value means "delete the field" (POSIX), which readers implement differently; only
  // an empty linkpath is kept (writers such as node-tar emit it for every entry), and the reader
  // refuses it where the header holds a link name it could fall back to.
  if (value === '' && key !== 'linkpath') throw bad(`${kind} has an empty ${key}`);
  switch (key) {
    case 'path':
    case 'linkpath':
      if (value.includes('\0')) throw bad(`${kind} ${key} ${JSON.stringify(value)} contains a NUL byte`);
      out[key] = value;
      return;
    case 'size':
    case 'uid':
    case 'gid': {
      const n = DECIMAL.test(value) ? Number(value) : NaN;
      // Out-of-range values would fail (or be changed silently) at write time.
      if (!Number.isSafeInteger(n)) throw bad(`${kind} has an invalid ${key} ${JSON.stringify(value.slice(0, 40))}`);
      out[key] = n;
      return;
    }
    case 'mtime': {
      const n = TIME.test(value) ? Number(value) : NaN;
      if (!Number.isFinite(n) || Math.abs(n) > 8.64e12) throw bad(`${kind} has an invalid mtime ${JSON.stringify(value.slice(0, 40))}`);
      out.mtime = n;
      return;
    }
    default:
  }
}
