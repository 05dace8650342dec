import crypto from 'node:crypto';
import type { GlobalOptions } from '../../config/global-options.js';
import { CapsuleError } from '../../errors/capsule-error.js';
import type { HttpClient } from '../../fetch/http-client.js';
import { configDirs, makeHttpClient } from '../../fetch/http-setup.js';
import { keystoreRoots, listTrustedKeys } from '../../verify/keystore.js';
import { checkSignerTrustedFor, type VerifiedSignature } from '../../verify/signature.js';
import { verifySignedMessage } from '../../verify/signed-message.js';
import { formatReference, parseOciReference, repositoryName, type OciReference } from '../reference.js';
import type { ImageSource, Sha256Digest } from '../types.js';
import { readLookaside } from './lookaside.js';
import { loadRegistriesD, lookasideFor } from './registries-d.js';
import { parseClaim, type UntrustedClaim } from './signature-claim.js';

/** A simple-signing signature that verified, from a trusted signer, for this reference and digest. */
export interface VerifiedOciSignature extends VerifiedSignature {
  /** The reference the claim names (`registry/repository:tag`). */
  reference: string;
  manifestDigest: Sha256Digest;
}

export interface OciSignatureContext {
  g: GlobalOptions;
  /** The client for https lookaside stores (made on first use by default). */
  http?: () => HttpClient;
  debug?: (msg: string) => void;
}

/** The signed identity must be the reference asked for: the same repository and tag (by digest: the repository). */
export function identityMatches(claimed: OciReference, asked: OciReference): boolean {
  if (claimed.registry !== asked.registry || claimed.repository !== asked.repository) return false;
  if (asked.tag !== undefined) return claimed.tag === asked.tag && (claimed.digest === undefined || claimed.digest === asked.digest);
  return true;
}

/** The claim binds this reference and this manifest digest; the reason otherwise. */
export function claimMismatch(claim: UntrustedClaim, asked: OciReference, digest: Sha256Digest): string | undefined {
  let claimed: OciReference;
  try {
    claimed = parseOciReference(claim.dockerReference);
  } catch {
    return `it names ${JSON.stringify(claim.dockerReference)}, which is not an image reference`;
  }
  if (!identityMatches(claimed, asked)) return `it is a signature for ${formatReference(claimed)}, not for ${formatReference(asked)}`;
  if (claim.dockerManifestDigest !== digest) return `it signs manifest ${claim.dockerManifestDigest}, not ${digest} (what the registry served)`;
  return undefined;
}

const sha256 = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

/**
 * Checks an OCI image's simple-signing signatures before anything of it is indexed: from the
 * lookaside store `registries.d` names for its `registry/repository`, and from the source itself
 * (a registry's signature extension). Accepted when one signature (a) verifies as an OpenPGP
 * signed message with a key from Capsule's trust store, (b) then parses as a claim with no
 * unknown critical field and no duplicate key, (c) names the reference that was asked for and
 * the manifest digest that was fetched, and (d) comes from a key trusted for the image's
 * `registry/repository` prefix (whole segments). Throws a one-line CapsuleError otherwise,
 * with every signature's reason.
 */
export async function verifyOciSignatures(ctx: OciSignatureContext, ref: OciReference, manifestDigest: Sha256Digest, manifest: Buffer, source: ImageSource): Promise<VerifiedOciSignature> {
  if (sha256(manifest) !== manifestDigest) throw new CapsuleError('digest-mismatch', `${source.description}: the manifest's bytes are not ${manifestDigest}`);
  const dirs = configDirs(ctx.g);
  const lookaside = lookasideFor(await loadRegistriesD(dirs), ref);
  let client: HttpClient | undefined;
  const http = ctx.http ?? ((): HttpClient => (client ??= makeHttpClient(ctx.g)));
  const blobs: Buffer[] = [];
  try {
    if (lookaside?.lookaside !== undefined) blobs.push(...(await readLookaside(lookaside.lookaside, ref, manifestDigest, http)));
  } catch (e) {
    throw new CapsuleError('signature', `${source.description}: reading signatures from the lookaside store ${lookaside!.lookaside} (${lookaside!.file})`, { cause: e });
  } finally {
    await client?.close();
  }
  blobs.push(...(await source.getSignatures(manifestDigest)));
  ctx.debug?.(`${source.description}: ${blobs.length} signature(s) for ${manifestDigest}${lookaside?.lookaside !== undefined ? ` (lookaside ${lookaside.lookaside})` : ''}`);
  if (blobs.length === 0) {
    const where = lookaside?.lookaside !== undefined ? `no signature in the lookaside store ${lookaside.lookaside}` : `no lookaside store is configured for ${repositoryName(ref)} in registries.d`;
    throw new CapsuleError('signature-missing', `the image is not signed: ${where}, and the source serves no signatures`, {
      hint: 'see docs/signing-oci.md, or pass --insecure-options=image to use unsigned images',
    });
  }
  const trusted = listTrustedKeys(keystoreRoots(ctx.g.systemConfig, ctx.g.localConfig));
  const reasons: string[] = [];
  let hint: string | undefined;
  for (const [i, blob] of blobs.entries()) {
    try {
      // (a) cryptography first: nothing of the payload is read before the signature verified.
      const { check, payload } = await verifySignedMessage(blob, trusted);
      // (b) then the claim, strictly.
      const claim = parseClaim(payload);
      // (c) the claim names what was asked for and what was fetched (the mix-and-match attack).
      const why = claimMismatch(claim, ref, manifestDigest);
      if (why !== undefined) throw new CapsuleError('signature', why);
      // (d) the signer is trusted for this image's name.
      const signer = checkSignerTrustedFor(check, repositoryName(ref));
      return { ...signer, reference: claim.dockerReference, manifestDigest };
    } catch (e) {
      if (!(e instanceof CapsuleError)) throw e;
      reasons.push(`signature ${i + 1}: ${innermost(e)}`);
      hint ??= e.hint;
    }
  }
  throw new CapsuleError('signature', `no valid signature for manifest ${manifestDigest}: ${reasons.join('; ')}`, hint === undefined ? {} : { hint });
}

/** The message with its causes, in one line (openpgp's reason after ours). */
function innermost(e: Error): string {
  const parts = [e.message];
  let c = e.cause;
  while (c instanceof Error && parts.length < 4) {
    parts.push(c.message.split('\n')[0]!);
    c = c.cause;
  }
  return parts.join(': ');
}

/** The importer's signature check (import-oci's OciSignatureCheck): the signer's identities, one line each. */
export function ociSignatureVerifier(ctx: OciSignatureContext): (ref: OciReference, manifestDigest: Sha256Digest, manifest: Buffer, source: ImageSource) => Promise<{ signers: string[]; verified: VerifiedOciSignature }> {
  return async (ref, manifestDigest, manifest, source) => {
    const v = await verifyOciSignatures(ctx, ref, manifestDigest, manifest, source);
    return { signers: v.userIds.length > 0 ? v.userIds : [v.fingerprint], verified: v };
  };
}
