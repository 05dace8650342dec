import fs from 'node:fs';
import { CapsuleError } from '../errors/capsule-error.js';

/** A detached signature from a local file (`IMAGE.asc` or --signature), as text for verifyingStream. */
export function readSignatureFile(file: string): string {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch (e) {
    throw new CapsuleError('signature', `error opening signature file ${JSON.stringify(file)}`, { cause: e, hint: 'sign the image, pass --signature, or skip verification with --insecure-options=image' });
  }
}
