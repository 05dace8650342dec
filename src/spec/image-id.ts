import { CapsuleError } from '../errors/capsule-error.js';

/** `sha512-` + 128 lower-case hex: the SHA-512 of an image's uncompressed tar (appc). */
export type ImageId = string & { readonly __brand: 'ImageId' };

const FULL = /^sha512-[0-9a-f]{128}$/;

export function parseImageId(s: string): ImageId {
  if (!FULL.test(s)) throw new CapsuleError('invalid-image-id', `badly formatted image ID ${JSON.stringify(s)}`);
  return s as ImageId;
}

export function imageIdFromHex(hex: string): ImageId {
  return parseImageId(`sha512-${hex}`);
}

/** What a user typed that should resolve to one stored image: a prefix of ≥ 2 hex digits. */
export interface ImageIdPrefix {
  readonly hex: string;
}

/** True when `s` looks like an image hash (rkt classifies `sha512-…` arguments as IDs first). */
export function looksLikeImageId(s: string): boolean {
  return /^sha512-/i.test(s);
}

export function parseImageIdPrefix(s: string): ImageIdPrefix {
  const m = /^sha512-([0-9a-f]*)$/i.exec(s); // same case-insensitivity as looksLikeImageId
  if (!m) throw new CapsuleError('invalid-image-id', `badly formatted image ID ${JSON.stringify(s)}`);
  const hex = (m[1] ?? '').toLowerCase();
  if (hex.length < 2) throw new CapsuleError('image-id-too-short', `image ID too short: ${JSON.stringify(s)}`, { hint: 'give at least 2 hex digits after sha512-' });
  if (hex.length > 128) throw new CapsuleError('invalid-image-id', `badly formatted image ID ${JSON.stringify(s)}`);
  return { hex };
}

/** rkt's display forms: 12 hex in listings, 32 from fetch, 64 (the store key) with --full. */
export function shortImageId(id: ImageId, hexLength: 12 | 32 | 64 | 128): string {
  return id.slice(0, 'sha512-'.length + hexLength);
}
