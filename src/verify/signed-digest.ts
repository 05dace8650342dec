import { createHash, type Hash } from 'node:crypto';
import { CapsuleError } from '../errors/capsule-error.js';

/** What of an OpenPGP signature packet decides the digest it signs (openpgp's SignaturePacket has these). */
export interface SignedDigestInput {
  version: number;
  signatureType: number | null;
  hashAlgorithm: number | null;
  /** The hashed part of the packet (version … hashed subpackets), hashed after the data. */
  signatureData: Uint8Array | null;
  /** v6 only: hashed before the data (RFC 9580 §5.2.4). */
  salt?: Uint8Array | null;
}

/** RFC 9580 §9.5 hash algorithm IDs → Node's names. Whether one is too weak is openpgp's call (SHA-1: for messages). */
const NODE_HASH: Record<number, string> = { 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224', 12: 'sha3-256', 14: 'sha3-512' };
/** Refused by openpgp for every signature; refused here before a byte is read, in openpgp's words. */
const BROKEN_HASH: Record<number, string> = { 1: 'MD5', 3: 'RIPEMD' };

const BINARY_SIGNATURE = 0x00;

/**
 * The digest a v4 or v6 detached binary-document signature signs, computed by Node's own hash
 * while the data streams past (RFC 9580 §5.2.4: salt ‖ data ‖ hashed part ‖ version 0xFF len32).
 * Feeding openpgp.js the digest instead of the data spares its web-stream plumbing, which cost
 * more than the hash itself (bench/stages.mjs). The public-key check stays openpgp's.
 */
export class SignedDigest {
  private readonly hash: Hash;

  private constructor(private readonly sig: SignedDigestInput & { signatureData: Uint8Array }, algorithm: string) {
    this.hash = createHash(algorithm);
    if (sig.version === 6) this.hash.update(sig.salt ?? new Uint8Array(0));
  }

  /** Throws a one-line CapsuleError for what an image signature may not be. */
  static start(sig: SignedDigestInput): SignedDigest {
    if (sig.signatureType !== BINARY_SIGNATURE) {
      const t = sig.signatureType === 0x01 ? 'a text-mode signature (gpg --textmode)' : `a signature of type 0x${(sig.signatureType ?? 0).toString(16).padStart(2, '0')}`;
      throw new CapsuleError('signature', `signature is ${t}, not a binary document signature`, { hint: 'sign the image with: gpg --detach-sign --armor IMAGE' });
    }
    if (sig.version !== 4 && sig.version !== 6) throw new CapsuleError('signature', `unsupported OpenPGP signature version ${sig.version}`);
    const broken = BROKEN_HASH[sig.hashAlgorithm ?? -1];
    if (broken !== undefined) throw new CapsuleError('signature', `signature does not verify: Insecure hash algorithm: ${broken}`);
    const algorithm = NODE_HASH[sig.hashAlgorithm ?? -1];
    if (algorithm === undefined) throw new CapsuleError('signature', `signature uses unsupported hash algorithm ${sig.hashAlgorithm ?? 'none'}`);
    if (sig.signatureData === null) throw new CapsuleError('signature', 'signature is truncated or garbled');
    return new SignedDigest({ ...sig, signatureData: sig.signatureData }, algorithm);
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }

  /** The digest over everything passed to update(); call once. */
  digest(): Uint8Array {
    const hashed = this.sig.signatureData;
    const trailer = Buffer.alloc(6);
    trailer[0] = this.sig.version;
    trailer[1] = 0xff;
    trailer.writeUInt32BE(hashed.length, 2);
    this.hash.update(hashed);
    this.hash.update(trailer);
    return new Uint8Array(this.hash.digest());
  }
}
