import { CapsuleError } from '../errors/capsule-error.js';

/**
 * A stored image's ID: `sha512-` + 128 lower-case hex (an ACI: the SHA-512 of its uncompressed
 * tar, appc) or `sha256:` + 64 lower-case hex (an OCI/Docker image: its config digest, as podman
 * and docker name images).
 */
export type ImageId = string & { readonly __brand: 'ImageId' };

export type ImageIdAlgorithm = 'sha512' | 'sha256';

const FULL = /^(?:sha512-[0-9a-f]{128}|sha256:[0-9a-f]{64})$/;

export function parseImageId(s: string): ImageId {
  if (!FULL.test(s)) throw new CapsuleError('invalid-image-id', `badly formatted image ID ${JSON.stringify(s)}`);
  return s as ImageId;
}

export function imageIdFromHex(hex: string): ImageId {
  return parseImageId(`sha512-${hex}`);
}

export function isOciImageId(id: string): boolean {
  return id.startsWith('sha256:');
}

/** What a user typed that should resolve to one stored image: a prefix of ≥ 2 hex digits. */
export interface ImageIdPrefix {
  readonly alg: ImageIdAlgorithm;
  readonly hex: string;
}

/** True when `s` looks like an image hash (rkt classifies `sha512-…` arguments as IDs first; `sha256:…` names OCI images). */
export function looksLikeImageId(s: string): boolean {
  return /^sha512-/i.test(s) || /^sha256:[0-9a-f]*$/i.test(s);
}

const MAX_HEX: Record<ImageIdAlgorithm, number> = { sha512: 128, sha256: 64 };

export function parseImageIdPrefix(s: string): ImageIdPrefix {
  const m = /^(sha512-|sha256:)([0-9a-f]*)$/i.exec(s); // same case-insensitivity as looksLikeImageId
  if (!m) throw new CapsuleError('invalid-image-id', `badly formatted image ID ${JSON.stringify(s)}`);
  const alg: ImageIdAlgorithm = m[1]!.toLowerCase().startsWith('sha512') ? 'sha512' : 'sha256';
  const sep = alg === 'sha512' ? '-' : ':';
  const hex = (m[2] ?? '').toLowerCase();
  if (hex.length < 2) throw new CapsuleError('image-id-too-short', `image ID too short: ${JSON.stringify(s)}`, { hint: `give at least 2 hex digits after ${alg}${sep}` });
  if (hex.length > MAX_HEX[alg]) throw new CapsuleError('invalid-image-id', `badly formatted image ID ${JSON.stringify(s)}`);
  return { alg, hex };
}

/** The prefix as stored IDs begin: `sha512-<hex>` or `sha256:<hex>`. */
export function prefixString(p: ImageIdPrefix): string {
  return p.alg === 'sha512' ? `sha512-${p.hex}` : `sha256:${p.hex}`;
}

/**
 * rkt's display forms: 12 hex in listings, 32 from fetch, 64 (the store key) with --full.
 * OCI IDs show 12 hex in listings (podman's short ID) and all 64 otherwise.
 */
export function shortImageId(id: ImageId, hexLength: 12 | 32 | 64 | 128): string {
  if (isOciImageId(id)) return id.slice(0, 'sha256:'.length + (hexLength === 12 ? 12 : 64));
  return id.slice(0, 'sha512-'.length + hexLength);
}
