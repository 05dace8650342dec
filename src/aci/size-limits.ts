import { CapsuleError } from '../errors/capsule-error.js';

/** Decompression-bomb limits: an absolute cap and a ratio to the compressed bytes read so far. */
export interface SizeLimits {
  maxUnpackedBytes: number;
  maxRatio: number;
  ratioAllowance: number;
}

export const DEFAULT_SIZE_LIMITS: SizeLimits = { maxUnpackedBytes: 32 * 2 ** 30, maxRatio: 200, ratioAllowance: 64 * 2 ** 20 };

export function checkUnpackedSize(unpacked: number, compressed: number, l: SizeLimits): void {
  if (unpacked > l.maxUnpackedBytes) {
    throw new CapsuleError('image-too-large', `image unpacks to more than ${l.maxUnpackedBytes} bytes`);
  }
  if (compressed > 0 && unpacked > l.ratioAllowance + l.maxRatio * compressed) {
    throw new CapsuleError('image-too-large', `image expands more than ${l.maxRatio}x (${unpacked} bytes from ${compressed} compressed): refusing a decompression bomb`);
  }
}
