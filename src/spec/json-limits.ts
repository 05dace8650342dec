import { CapsuleError } from '../errors/capsule-error.js';

export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const MAX_JSON_DEPTH = 64;

/** Parses JSON from an untrusted source after checking size and nesting depth (deep input overflows the parser's stack). */
export function parseBoundedJson(text: string, what: string, maxBytes = MAX_MANIFEST_BYTES, maxDepth = MAX_JSON_DEPTH): unknown {
  if (Buffer.byteLength(text) > maxBytes) throw new CapsuleError('invalid-manifest', `${what}: larger than ${maxBytes} bytes`);
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw new CapsuleError('invalid-manifest', `${what}: nested deeper than ${maxDepth} levels`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CapsuleError('invalid-manifest', `${what}: not valid JSON: ${(e as Error).message}`);
  }
}
