import { createHash } from 'node:crypto';
import type { Sha256Digest } from './types.js';

/** The sha256 digest of exact bytes, as OCI writes it. */
export function sha256Of(b: Buffer): Sha256Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}` as Sha256Digest;
}
