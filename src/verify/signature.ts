import { CapsuleError } from '../errors/capsule-error.js';
import { prefixCovers } from '../spec/ac-identifier.js';
import type { Fingerprint } from '../spec/fingerprint.js';
import { type StoredKey } from './keystore.js';
import { loadOpenPgp } from './openpgp-lazy.js';
import type { ParsedKey } from './public-key.js';
import { signerCandidates } from './signer-candidates.js';
import type { KeyID, Signature } from 'openpgp';
import { SignedDigest, type SignedDigestInput } from './signed-digest.js';

/** A signature over an image file that verified with a trusted key, bound to the image's name. */
export interface VerifiedSignature {
  readonly fingerprint: Fingerprint;
  readonly userIds: string[];
  readonly trustedFor: string;
}

/** The outcome of the cryptographic check, before the signer is matched to the image name. */
export interface SignatureCheck {
  signer: ParsedKey;
  stored: StoredKey[];
}

const fail = (msg: string, hint?: string): CapsuleError => new CapsuleError('signature', msg, hint === undefined ? {} : { hint });

/** The signature was made by no trusted key; the hint names the prefix to trust when it is known. */
export class UntrustedSigner extends CapsuleError {
  constructor(name: string | undefined) {
    super('signature', 'signature made by a key that is not trusted (openpgp: signature made by unknown entity)', { hint: trustHint(name) });
    this.name = 'UntrustedSigner';
  }
}

/** The next step after an untrusted signer: `capsule trust --prefix "<name>" KEYFILE`. */
export function trustHint(name: string | undefined): string {
  return `trust the signing key with: capsule trust --prefix ${name === undefined ? '<image name>' : JSON.stringify(name)} KEYFILE`;
}

async function readArmoredSignature(armored: string): Promise<Signature> {
  const pgp = await loadOpenPgp();
  if (!armored.includes('-----BEGIN PGP SIGNATURE-----')) throw fail('signature is not an ASCII-armored OpenPGP signature');
  try {
    return await pgp.readSignature({ armoredSignature: armored });
  } catch (e) {
    throw new CapsuleError('signature', 'signature is truncated or garbled', { cause: e });
  }
}

/**
 * Verifies a detached signature over a byte stream while the stream is read. Only trusted keys
 * are candidates; an unknown signer (or a text-mode or otherwise unusable signature) fails before
 * any image byte is read. Returns the stream to consume and `result()`, to call once it was read
 * to its end.
 */
export async function verifyingStream(
  data: AsyncIterable<Uint8Array>,
  armoredSignature: string,
  trusted: StoredKey[],
  /** The image's name when known before its bytes (discovery, a name fetch): for the hint. */
  name?: string,
): Promise<{ data: AsyncIterable<Uint8Array>; result: () => Promise<SignatureCheck> }> {
  const pgp = await loadOpenPgp();
  const signature = await readArmoredSignature(armoredSignature);
  const issuers = signature.getSigningKeyIDs();
  const { candidates, misnamed } = await signerCandidates(trusted, issuers);
  if (candidates.length === 0 && misnamed[0]) {
    const m = misnamed[0];
    throw fail(`trusted key file ${JSON.stringify(m.file)} holds key ${m.holds}, not the key its name says (fingerprint mismatch)`, 'trust the key again with: capsule trust');
  }
  if (candidates.length === 0) throw new UntrustedSigner(name);
  // Every signature packet a candidate key could have made gets the digest it signs, computed
  // here while the bytes stream; openpgp then checks the signatures against those digests.
  const keyIds = candidates.flatMap((c) => c.parsed.key.getKeyIDs());
  const digests = signature.packets
    .filter((p) => keyIds.some((id) => id.equals(p.issuerKeyID)))
    .map((packet) => ({ packet, digest: SignedDigest.start(packet as SignedDigestInput) }));
  let ended = false;
  const tapped = (async function* () {
    for await (const c of data) {
      for (const d of digests) d.digest.update(c);
      yield c;
    }
    ended = true;
  })();
  return {
    data: tapped,
    result: async () => {
      if (!ended) throw new Error('verifyingStream: result() before the data was read to its end');
      for (const d of digests) (d.packet as unknown as { hashed?: Promise<Uint8Array> }).hashed = Promise.resolve(d.digest.digest());
      const message = await pgp.createMessage({ binary: new Uint8Array(0) });
      const res = await pgp.verify({ message, signature, verificationKeys: candidates.map((c) => c.parsed.key), format: 'binary' });
      let lastError: unknown;
      for (const s of res.signatures) {
        try {
          await s.verified;
        } catch (e) {
          lastError = e;
          continue;
        }
        const c = candidates.find((cand) => cand.parsed.key.getKeyIDs().some((id) => id.equals(s.keyID)));
        if (!c) continue;
        await checkKeyCurrentlyValid(c.parsed, s.keyID);
        return { signer: c.parsed, stored: c.stored };
      }
      throw new CapsuleError('signature', 'signature does not verify', { cause: lastError ?? new Error('no valid signature') });
    },
  };
}

/** Expired or revoked keys are refused even for signatures made while they were valid. */
export async function checkKeyCurrentlyValid(k: ParsedKey, keyID: KeyID): Promise<void> {
  if (await k.key.isRevoked()) throw fail(`signing key ${k.fingerprint} is revoked`);
  const exp = await k.key.getExpirationTime();
  if (exp instanceof Date && exp.getTime() <= Date.now()) throw fail(`signing key ${k.fingerprint} expired on ${exp.toISOString()}`);
  try {
    await k.key.getSigningKey(keyID, new Date());
  } catch (e) {
    throw new CapsuleError('signature', `signing key ${k.fingerprint} is not currently valid for signing (expired or revoked subkey)`, { cause: e });
  }
}

/** Binds the verified signer to the image's manifest name (root keys cover every name). */
export function checkSignerTrustedFor(check: SignatureCheck, name: string): VerifiedSignature {
  const scope = check.stored.find((s) => s.scope.kind === 'root' || prefixCovers(s.scope.prefix, name));
  if (!scope) {
    const prefixes = check.stored.map((s) => (s.scope.kind === 'prefix' ? s.scope.prefix : 'root')).join(', ');
    throw fail(`signature made by key ${check.signer.fingerprint}, which is trusted only for ${JSON.stringify(prefixes)}, not for ${JSON.stringify(name)}`, `to trust it for this name: capsule trust --prefix ${name} KEYFILE`);
  }
  return { fingerprint: check.signer.fingerprint, userIds: check.signer.userIds, trustedFor: scope.scope.kind === 'root' ? 'root' : scope.scope.prefix };
}
