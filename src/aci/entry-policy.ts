import { CapsuleError } from '../errors/capsule-error.js';
import type { TarEntry } from './tar-reader.js';

/** Limits on what one image may contain; every one ends extraction with a clear error. */
export interface ExtractLimits {
  maxPathBytes: number;
  maxComponentBytes: number;
  maxDepth: number;
  maxEntries: number;
}

export const DEFAULT_LIMITS: ExtractLimits = { maxPathBytes: 4096, maxComponentBytes: 255, maxDepth: 128, maxEntries: 1_000_000 };

export type Classified =
  | { kind: 'manifest' }
  | { kind: 'rootfs-dir' }
  | { kind: 'rootfs'; rel: string };

const bad = (why: string): CapsuleError => new CapsuleError('hostile-image', why);

/**
 * Where an entry goes in an ACI layout, or why it is refused. Pure: no filesystem access.
 * Names are checked component by component; the extractor still never follows a link.
 */
export function classifyEntry(e: Pick<TarEntry, 'path' | 'type'>, limits: ExtractLimits = DEFAULT_LIMITS, what = 'entry name'): Classified {
  const raw = e.path;
  const shown = JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw);
  if (raw.includes('\0')) throw bad(`${what} ${shown} contains a NUL byte`);
  if (Buffer.byteLength(raw) > limits.maxPathBytes) throw bad(`${what} ${shown} is longer than ${limits.maxPathBytes} bytes`);
  if (raw.startsWith('/')) throw bad(`absolute ${what} ${shown}`);
  let name = raw.startsWith('./') ? raw.slice(2) : raw;
  if (name.endsWith('/')) name = name.replace(/\/+$/, '');
  const parts = name.split('/');
  for (const p of parts) {
    if (p === '..') throw bad(`${what} ${shown} contains ".."`);
    if (p === '' || p === '.') throw bad(`${what} ${shown} has an empty or "." component`);
    if (Buffer.byteLength(p) > limits.maxComponentBytes) throw bad(`${what} ${shown} has a component longer than ${limits.maxComponentBytes} bytes`);
  }
  if (parts.length > limits.maxDepth) throw bad(`${what} ${shown} is nested deeper than ${limits.maxDepth} levels`);
  if (name === 'manifest') {
    if (e.type !== 'file') throw bad('manifest is not a regular file');
    return { kind: 'manifest' };
  }
  if (name === 'rootfs') {
    if (e.type !== 'directory') throw bad('rootfs is not a directory');
    return { kind: 'rootfs-dir' };
  }
  if (parts[0] !== 'rootfs') throw bad(`unrecognized file path in layout: ${shown}`);
  return { kind: 'rootfs', rel: parts.slice(1).join('/') };
}

/** Entry types and mode bits an image may carry (the runtime provides /dev; setuid is a privilege request). */
export function checkEntryKind(e: Pick<TarEntry, 'path' | 'type' | 'mode' | 'rawType'>): void {
  const shown = JSON.stringify(e.path);
  switch (e.type) {
    case 'char':
    case 'block':
      throw bad(`device node ${shown} is not allowed in an image (the runtime provides /dev)`);
    case 'fifo':
      throw bad(`FIFO ${shown} is not allowed in an image`);
    case 'other':
      throw bad(`entry ${shown} has unsupported tar type ${JSON.stringify(e.rawType)}`);
    default:
  }
  if (e.type !== 'directory' && (e.mode & 0o6000) !== 0) {
    throw bad(`${shown} has the ${e.mode & 0o4000 ? 'setuid' : 'setgid'} bit set; images may not carry setuid or setgid files`);
  }
}

/**
 * An OCI layer entry's name as a path relative to the tree root ('' is the root itself: `./`,
 * `.`), by the same rules as ACI names: no NUL, no absolute names, no `..`, no empty or `.`
 * components after a leading `./`, bounded lengths and depth. Pure.
 */
export function layerEntryName(raw: string, limits: ExtractLimits = DEFAULT_LIMITS, what = 'layer entry name'): string {
  const shown = JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw);
  if (raw.includes('\0')) throw bad(`${what} ${shown} contains a NUL byte`);
  if (Buffer.byteLength(raw) > limits.maxPathBytes) throw bad(`${what} ${shown} is longer than ${limits.maxPathBytes} bytes`);
  if (raw.startsWith('/')) throw bad(`absolute ${what} ${shown}`);
  let name = raw;
  while (name.startsWith('./')) name = name.slice(2);
  name = name.replace(/\/+$/, '');
  if (name === '' || name === '.') return '';
  const parts = name.split('/');
  for (const p of parts) {
    if (p === '..') throw bad(`${what} ${shown} contains ".."`);
    if (p === '' || p === '.') throw bad(`${what} ${shown} has an empty or "." component`);
    if (Buffer.byteLength(p) > limits.maxComponentBytes) throw bad(`${what} ${shown} has a component longer than ${limits.maxComponentBytes} bytes`);
  }
  if (parts.length > limits.maxDepth) throw bad(`${what} ${shown} is nested deeper than ${limits.maxDepth} levels`);
  return name;
}

/** A hardlink target must name a file inside rootfs/ by the same rules as entry names. */
export function classifyLinkTarget(linkpath: string, limits: ExtractLimits = DEFAULT_LIMITS): string {
  const c = classifyEntry({ path: linkpath, type: 'file' }, limits, 'hardlink target');
  if (c.kind !== 'rootfs') throw new CapsuleError('hostile-image', `hardlink target ${JSON.stringify(linkpath)} is outside rootfs/`);
  return c.rel;
}
