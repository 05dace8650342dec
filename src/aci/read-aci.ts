import { CapsuleError } from '../errors/capsule-error.js';
import { parseImageManifest, type ImageManifest } from '../spec/image-manifest.js';
import { decodeManifestBytes, MAX_MANIFEST_BYTES } from '../spec/json-limits.js';
import { ByteReader } from './byte-reader.js';
import { checkEntryKind, classifyEntry, DEFAULT_LIMITS, type ExtractLimits } from './entry-policy.js';
import { readTar } from './tar-reader.js';
import type { TreeWriter } from './tree-writer.js';

export interface ReadAciResult {
  manifest: ImageManifest;
  manifestText: string;
}

/**
 * Reads an uncompressed ACI tar: checks the layout and every entry, parses the manifest and,
 * when given a writer, extracts rootfs/ into it. Always reads the stream to its end, so a hash
 * computed upstream covers trailing padding too.
 */
export async function readAci(tar: AsyncIterable<Buffer>, writer: TreeWriter | undefined, limits: ExtractLimits = DEFAULT_LIMITS): Promise<ReadAciResult> {
  const reader = new ByteReader(tar);
  let manifestText: string | undefined;
  let sawRootfs = false;
  const seen = new Set<string>();
  for await (const e of readTar(tar, reader)) {
    const c = classifyEntry(e, limits);
    if (c.kind === 'manifest') {
      if (manifestText !== undefined) throw new CapsuleError('hostile-image', 'duplicate file entry in archive: "manifest"');
      if (e.size > MAX_MANIFEST_BYTES) throw new CapsuleError('invalid-manifest', `manifest: larger than ${MAX_MANIFEST_BYTES} bytes`);
      const parts: Buffer[] = [];
      for await (const chunk of e.data) parts.push(chunk);
      manifestText = decodeManifestBytes(Buffer.concat(parts), 'manifest');
      continue;
    }
    if (c.kind === 'rootfs-dir') {
      if (sawRootfs) throw new CapsuleError('hostile-image', 'duplicate file entry in archive: "rootfs"');
      sawRootfs = true;
      writer?.setRootAttributes(e);
      continue;
    }
    checkEntryKind(e);
    if (writer) await writer.add(e, c.rel);
    else {
      if (seen.has(c.rel)) throw new CapsuleError('hostile-image', `duplicate file entry in archive: "rootfs/${c.rel}"`);
      seen.add(c.rel);
    }
  }
  await reader.drain();
  if (manifestText === undefined) throw new CapsuleError('bad-archive', 'no image manifest found in layout');
  if (!sawRootfs) throw new CapsuleError('bad-archive', 'no rootfs found in layout');
  return { manifest: parseImageManifest(manifestText), manifestText };
}
