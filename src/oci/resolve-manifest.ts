import { CapsuleError, DigestMismatch } from '../errors/capsule-error.js';
import { checkBytes } from './blob-fetch.js';
import { isIndexType, isManifestType, MAX_OCI_MANIFEST_BYTES, parseManifestBytes, shortDigest, type ParsedManifest } from './manifest.js';
import { choosePlatform, formatPlatform, type WantedPlatform } from './platform.js';
import { sha256Of } from './digest.js';
import type { ImageSource, Sha256Digest } from './types.js';

/** How deep indexes may nest (an index of indexes of manifests is already unusual). */
export const MAX_INDEX_DEPTH = 4;

export interface ResolvedManifest {
  /** What the reference named at the source, exactly as served (an index or a manifest). */
  topDigest: Sha256Digest;
  topBytes: Buffer;
  /** The image manifest chosen (equal to the top one when the reference named a manifest). */
  manifestDigest: Sha256Digest;
  manifestBytes: Buffer;
  manifest: ParsedManifest;
  /** True when the manifest was chosen from an index by platform. */
  fromIndex: boolean;
}

function bounded(bytes: Buffer, what: string): void {
  if (bytes.length > MAX_OCI_MANIFEST_BYTES) throw new CapsuleError('too-large', `${what} is larger than ${MAX_OCI_MANIFEST_BYTES} bytes`);
}

/**
 * Follows the reference to one image manifest: the top manifest (checked against the
 * reference's digest when it has one), then, through indexes, the child for `want` fetched by
 * digest and checked against its descriptor's size and digest. An index that names itself or an
 * ancestor, or nesting deeper than MAX_INDEX_DEPTH, is refused.
 */
export async function resolveManifest(source: ImageSource, want: WantedPlatform): Promise<ResolvedManifest> {
  const what = source.description;
  const expected = source.ref.digest as Sha256Digest | undefined;
  const top = await source.getManifest(expected, MAX_OCI_MANIFEST_BYTES);
  bounded(top.bytes, `the manifest of ${what}`);
  const topDigest = sha256Of(top.bytes);
  if (expected !== undefined && topDigest !== expected) throw new DigestMismatch(expected, topDigest, `the manifest of ${what} does not match the digest it was asked by`);
  let parsed = parseManifestBytes(top.bytes, top.mediaType, `the manifest of ${what}`);
  let digest = topDigest;
  let bytes = top.bytes;
  const seen = new Set<string>([topDigest]);
  for (let depth = 0; parsed.kind === 'index'; depth++) {
    if (depth >= MAX_INDEX_DEPTH) throw new CapsuleError('invalid-oci-manifest', `${what}: indexes nested deeper than ${MAX_INDEX_DEPTH} levels`);
    const { chosen, offered } = choosePlatform(parsed.manifests, want, (t) => isIndexType(t) || isManifestType(t));
    if (!chosen) {
      throw new CapsuleError('no-platform', `${what} has no image for ${formatPlatform(want)}${offered.length > 0 ? `; it offers ${offered.join(', ')}` : ' (it lists no usable image)'}`, { hint: 'choose one with --platform os/arch[/variant]' });
    }
    if (seen.has(chosen.digest)) throw new CapsuleError('invalid-oci-manifest', `${what}: the index ${shortDigest(digest)} refers to itself or to an index above it (${shortDigest(chosen.digest)})`);
    seen.add(chosen.digest);
    if (chosen.size > MAX_OCI_MANIFEST_BYTES) throw new CapsuleError('too-large', `${what}: manifest ${shortDigest(chosen.digest)} is ${chosen.size} bytes, more than ${MAX_OCI_MANIFEST_BYTES}`);
    const child = await source.getManifest(chosen.digest, Math.min(chosen.size, MAX_OCI_MANIFEST_BYTES));
    bounded(child.bytes, `manifest ${shortDigest(chosen.digest)} of ${what}`);
    checkBytes(child.bytes, chosen, 'manifest');
    parsed = parseManifestBytes(child.bytes, chosen.mediaType, `manifest ${shortDigest(chosen.digest)} of ${what}`);
    digest = chosen.digest;
    bytes = child.bytes;
  }
  return { topDigest, topBytes: top.bytes, manifestDigest: digest, manifestBytes: bytes, manifest: parsed, fromIndex: digest !== topDigest };
}
