import { CapsuleError } from '../errors/capsule-error.js';
import { type Fingerprint, parseFingerprint } from '../spec/fingerprint.js';
import { loadOpenPgp } from './openpgp-lazy.js';
import type { PublicKey } from 'openpgp';

export interface ParsedKey {
  key: PublicKey;
  fingerprint: Fingerprint;
  userIds: string[];
  subkeyFingerprints: Fingerprint[];
  armored: string;
}

/** Reads every public key in an armored or binary key file. Private keys are refused. */
export async function parsePublicKeys(data: Uint8Array, what: string): Promise<ParsedKey[]> {
  const pgp = await loadOpenPgp();
  const text = Buffer.from(data).toString('latin1');
  let keys: PublicKey[];
  try {
    keys = text.includes('-----BEGIN PGP') ? await pgp.readKeys({ armoredKeys: text }) : await pgp.readKeys({ binaryKeys: data });
  } catch (e) {
    throw new CapsuleError('bad-key', `reading OpenPGP key from ${what}`, { cause: e });
  }
  if (keys.length === 0) throw new CapsuleError('bad-key', `no OpenPGP key found in ${what}`);
  return keys.map((k) => {
    if (k.isPrivate()) throw new CapsuleError('bad-key', `${what} holds a private key; give the public key (gpg --export --armor)`);
    const pub = k.toPublic();
    return {
      key: pub,
      fingerprint: parseFingerprint(pub.getFingerprint()),
      userIds: pub.getUserIDs(),
      subkeyFingerprints: pub.getSubkeys().map((s) => parseFingerprint(s.getFingerprint())),
      armored: pub.armor(),
    };
  });
}

/**
 * Refuses a key that could verify nothing now (issue 12 §4): revoked, expired, or without a
 * signing key (primary or subkey) valid today. Verification refuses such keys anyway
 * (signature.ts checkKeyCurrentlyValid); `trust` says so when the key is added instead of later.
 */
export async function refuseUnusableKey(k: ParsedKey, what: string): Promise<void> {
  if (await k.key.isRevoked()) throw new CapsuleError('bad-key', `key ${k.fingerprint} from ${what} is revoked`);
  const exp = await k.key.getExpirationTime();
  if (exp instanceof Date && exp.getTime() <= Date.now()) throw new CapsuleError('bad-key', `key ${k.fingerprint} from ${what} expired on ${exp.toISOString()}`);
  try {
    await k.key.getSigningKey(undefined, new Date());
  } catch (e) {
    throw new CapsuleError('bad-key', `key ${k.fingerprint} from ${what} has no signing key valid now (expired or revoked subkeys)`, { cause: e });
  }
}
