import { CapsuleError } from '../errors/capsule-error.js';

/**
 * One 512-byte tar header block, decoded strictly: every field must have exactly one reading
 * among GNU tar, libarchive, Go's archive/tar and us, or the archive is refused
 * (CVE-2025-62518 class: an entry one reader sees and another does not).
 */
export interface RawHeader {
  /** The typeflag byte as a one-character string ('\0' for old regular files). */
  typeflag: string;
  /** name, with the ustar prefix applied; UTF-8, cut at the first NUL. */
  name: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (may be negative). */
  mtime: number;
  devmajor: number;
  devminor: number;
  format: 'ustar' | 'gnu' | 'v7';
}

const bad = (why: string): CapsuleError => new CapsuleError('bad-archive', why);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes `block` (512 bytes, not all zero). Throws a one-line `bad-archive` error naming the entry when it can. */
export function decodeHeader(block: Buffer): RawHeader {
  if (!checksumValid(block)) throw bad('invalid tar header checksum');
  const format = magicOf(block);
  const rawName = cBytes(block, 0, 100);
  const rawPrefix = format === 'ustar' ? cBytes(block, 345, 155) : Buffer.alloc(0);
  const nameBytes = rawPrefix.length > 0 ? Buffer.concat([rawPrefix, Buffer.from('/'), rawName]) : rawName;
  const name = text(nameBytes, 'entry name', nameBytes);
  const field = (what: string, off: number, len: number, signed = false): number => numeric(block, off, len, what, name, signed);
  const h: RawHeader = {
    typeflag: String.fromCharCode(block[156]!),
    name,
    linkname: text(cBytes(block, 157, 100), 'link target', nameBytes),
    mode: field('mode', 100, 8),
    uid: field('uid', 108, 8),
    gid: field('gid', 116, 8),
    size: field('size', 124, 12),
    mtime: field('mtime', 136, 12, true),
    devmajor: format === 'v7' ? 0 : field('devmajor', 329, 8),
    devminor: format === 'v7' ? 0 : field('devminor', 337, 8),
    format,
  };
  return h;
}

/** POSIX ustar ("ustar\0" "00"), old GNU ("ustar  \0") or v7 (no magic). Anything else is read differently by different tools. */
function magicOf(block: Buffer): RawHeader['format'] {
  const m = block.subarray(257, 265);
  if (m.equals(USTAR)) return 'ustar';
  if (m.equals(GNU)) return 'gnu';
  if (m.every((b) => b === 0)) return 'v7';
  throw bad(`unknown tar header format (magic ${JSON.stringify(m.toString('latin1'))}) for entry ${JSON.stringify(cBytes(block, 0, 100).toString('latin1'))}`);
}

const USTAR = Buffer.from('ustar\u000000', 'latin1');
const GNU = Buffer.from('ustar  \u0000', 'latin1');

/** The unsigned byte sum with the checksum field read as spaces (what every writer stores). */
function checksumValid(block: Buffer): boolean {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < 512; i++) sum += block[i]!;
  let stored: number;
  try {
    stored = numeric(block, 148, 8, 'checksum', '', false);
  } catch {
    return false;
  }
  return stored === sum;
}

/** A field up to its first NUL (C string semantics, as GNU tar and libarchive read it). */
function cBytes(block: Buffer, off: number, len: number): Buffer {
  const f = block.subarray(off, off + len);
  const nul = f.indexOf(0);
  return nul >= 0 ? f.subarray(0, nul) : f;
}

function text(bytes: Buffer, what: string, nameBytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    // Lossy decoding would map different byte names to one string (and fool duplicate checks).
    throw bad(`${what} of tar entry ${JSON.stringify(nameBytes.toString('latin1'))} is not valid UTF-8`);
  }
}

/**
 * An octal field (leading spaces, octal digits, then only spaces or NULs; empty means 0) or a
 * base-256 field (first byte 0x80, or 0xff for negative values where `signed`). Anything else
 * is refused instead of read as "the digits up to the first oddity".
 */
function numeric(block: Buffer, off: number, len: number, what: string, name: string, signed: boolean): number {
  const f = block.subarray(off, off + len);
  const fail = (): CapsuleError => bad(`invalid ${what} field in the tar header of ${JSON.stringify(name)}`);
  const first = f[0]!;
  if (first === 0x80 || first === 0xff) {
    if (first === 0xff && !signed) throw fail();
    let v = first === 0xff ? -1 : 0;
    for (let i = 1; i < len; i++) {
      v = v * 256 + f[i]!;
      if (!Number.isSafeInteger(v)) throw fail();
    }
    return v;
  }
  let i = 0;
  while (i < len && f[i] === 0x20) i++;
  let v = 0;
  const start = i;
  while (i < len && f[i]! >= 0x30 && f[i]! <= 0x37) {
    v = v * 8 + (f[i]! - 0x30);
    i++;
  }
  if (i === start && i < len && f[i] !== 0 && f[i] !== 0x20) throw fail();
  for (; i < len; i++) if (f[i] !== 0 && f[i] !== 0x20) throw fail();
  if (!Number.isSafeInteger(v)) throw fail();
  return v;
}
