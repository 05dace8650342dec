import { CapsuleError } from '../errors/capsule-error.js';
import { parseStrictJson, StrictJsonError } from './strict-json.js';

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

/**
 * Parses an appc image or pod manifest: size bounded, then strictly (src/spec/strict-json.ts): a
 * key named twice, a number out of range or a lone surrogate is refused, so no other reader can
 * take the signed manifest for another one (issue 12 §3). One pass over the text.
 */
export function parseStrictManifestJson(text: string, what: string, maxBytes = MAX_MANIFEST_BYTES): unknown {
  if (Buffer.byteLength(text) > maxBytes) throw new CapsuleError('invalid-manifest', `${what}: larger than ${maxBytes} bytes`);
  try {
    return parseStrictJson(text, MAX_JSON_DEPTH);
  } catch (e) {
    if (e instanceof StrictJsonError) throw new CapsuleError('invalid-manifest', e.message.startsWith('nested deeper') ? `${what}: ${e.message}` : `${what}: not valid JSON: ${e.message}`);
    throw e;
  }
}

/** Decodes a manifest's bytes as UTF-8, refusing any byte sequence that is not (no lossy U+FFFD). */
export function decodeManifestBytes(bytes: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CapsuleError('invalid-manifest', `${what}: not valid UTF-8`);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * parseStrictManifestJson of bytes as they were fetched or read (OCI manifests, indexes, configs,
 * a docker-archive's manifest.json): they must be UTF-8 exactly (a lenient decode would turn bad
 * bytes into U+FFFD, and a digested document must mean one thing), with no byte-order mark.
 */
export function parseStrictJsonBytes(bytes: Buffer, what: string, maxBytes = MAX_MANIFEST_BYTES): unknown {
  if (bytes.length > maxBytes) throw new CapsuleError('invalid-manifest', `${what}: larger than ${maxBytes} bytes`);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new CapsuleError('invalid-manifest', `${what}: not valid JSON: not valid UTF-8`);
  }
  return parseStrictManifestJson(text, what, maxBytes);
}
