import { CapsuleError } from '../errors/capsule-error.js';
import type { Message, VerifyMessageResult } from 'openpgp';
import type { StoredKey } from './keystore.js';
import { loadOpenPgp } from './openpgp-lazy.js';
import { checkKeyCurrentlyValid, type SignatureCheck } from './signature.js';
import { signerCandidates } from './signer-candidates.js';

/** A signature blob larger than this is not parsed (simple-signing ones are under 1 KiB). */
export const MAX_SIGNED_MESSAGE = 4 * 1024 * 1024;

/** The payload of an OpenPGP signed message whose one signature verified with a trusted key. */
export interface VerifiedPayload {
  check: SignatureCheck;
  /** The literal data, exactly as signed: parse it only now. */
  payload: Uint8Array;
}

const fail = (msg: string, hint?: string): CapsuleError => new CapsuleError('signature', msg, hint === undefined ? {} : { hint });

// OpenPGP packet tags (RFC 9580 §5): what a signed message may hold, and nothing else.
const TAG_SIGNATURE = 2;
const TAG_ONE_PASS = 4;
const TAG_COMPRESSED = 8;
const TAG_LITERAL = 11;
const TAG_MARKER = 10;

/**
 * Verifies an OpenPGP *signed message* (what containers/image's simple signing and
 * `skopeo standalone-sign` write; `gpg --sign`, possibly compressed) and returns its literal
 * data. The cryptographic check comes first, before anything of the payload is read: it must be a
 * signed message (not a detached signature, a cleartext-signed text or an encrypted message),
 * with exactly one signature, made by a key in `trusted` that is valid now (not expired or
 * revoked). Which image names the key is trusted for is the caller's check (the prefix).
 */
export async function verifySignedMessage(blob: Uint8Array, trusted: readonly StoredKey[]): Promise<VerifiedPayload> {
  if (blob.length > MAX_SIGNED_MESSAGE) throw fail(`signature is larger than ${MAX_SIGNED_MESSAGE} bytes`);
  const pgp = await loadOpenPgp();
  const head = Buffer.from(blob.subarray(0, 64)).toString('latin1');
  if (head.includes('-----BEGIN PGP SIGNED MESSAGE')) throw fail('signature is a cleartext-signed text, not an OpenPGP signed message');
  let message: Message<Uint8Array>;
  try {
    message = head.includes('-----BEGIN PGP') ? await pgp.readMessage({ armoredMessage: Buffer.from(blob).toString('utf8') }) : await pgp.readMessage({ binaryMessage: blob });
  } catch (e) {
    throw new CapsuleError('signature', 'signature is not an OpenPGP message', { cause: e });
  }
  const outer = message.packets.map((p) => (p.constructor as unknown as { tag: number }).tag);
  const inner = message.unwrapCompressed().packets.map((p) => (p.constructor as unknown as { tag: number }).tag);
  const allowed = new Set([TAG_SIGNATURE, TAG_ONE_PASS, TAG_LITERAL, TAG_MARKER]);
  if (outer.some((t) => t !== TAG_COMPRESSED && !allowed.has(t)) || inner.some((t) => !allowed.has(t))) {
    throw fail('signature is not an OpenPGP signed message (it holds encrypted or other packets)');
  }
  if (inner.filter((t) => t === TAG_LITERAL).length !== 1) throw fail('signature is not an OpenPGP signed message (no single literal data packet)');
  // One-pass signed (gpg --sign): the signature packets trail the literal data and are read
  // lazily, so the one-pass packets announce how many there are; otherwise they lead.
  const sigCount = inner.filter((t) => t === TAG_ONE_PASS).length || inner.filter((t) => t === TAG_SIGNATURE).length;
  if (sigCount === 0) throw fail('signature is an OpenPGP message without a signature');
  if (sigCount > 1) throw fail(`signature holds ${sigCount} signatures; exactly one is expected`);
  const issuers = message.getSigningKeyIDs();
  // A key file holding another key than its name says is no candidate (`misnamed` is not named here).
  const { candidates } = await signerCandidates(trusted, issuers);
  if (candidates.length === 0) {
    const who = issuers.map((i) => i.toHex()).join(', ') || 'an unnamed key';
    throw fail(`signature made by a key that is not trusted (key ID ${who})`, 'trust the signing key with: capsule trust --prefix REGISTRY/REPOSITORY KEYFILE');
  }
  let signatures: VerifyMessageResult<Uint8Array>['signatures'];
  let payload: Uint8Array;
  try {
    const r = await pgp.verify({ message, verificationKeys: candidates.map((c) => c.parsed.key), expectSigned: true, format: 'binary' });
    signatures = r.signatures;
    payload = Uint8Array.from(r.data as Uint8Array);
  } catch (e) {
    throw new CapsuleError('signature', 'signature does not verify', { cause: e });
  }
  if (signatures.length !== 1) throw fail(`signature holds ${signatures.length} signatures; exactly one is expected`);
  for (const s of signatures) {
    try {
      await s.verified;
    } catch (e) {
      throw new CapsuleError('signature', 'signature does not verify', { cause: e });
    }
    const c = candidates.find((cand) => cand.parsed.key.getKeyIDs().some((id) => id.equals(s.keyID)));
    if (!c) continue;
    await checkKeyCurrentlyValid(c.parsed, s.keyID);
    return { check: { signer: c.parsed, stored: c.stored }, payload };
  }
  throw fail('signature does not verify with a trusted key');
}
