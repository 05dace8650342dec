import { readFileSync } from 'node:fs';
import type { KeyID } from 'openpgp';
import type { Fingerprint } from '../spec/fingerprint.js';
import type { StoredKey } from './keystore.js';
import { parsePublicKeys, type ParsedKey } from './public-key.js';

/** A trusted key that could have made the signature, with every trust entry (prefix) stored for it. */
export interface SignerCandidate {
  parsed: ParsedKey;
  stored: StoredKey[];
}

/**
 * The trusted keys whose key IDs are among the signature's `issuers`. The file name is the trust
 * decision (rkt: fingerprint mismatch): a file holding another key than its name says is never a
 * candidate, and is listed in `misnamed` when it holds one of the issuers (so a caller can name
 * it). An unreadable key file is skipped: it must not make every other key unusable.
 */
export async function signerCandidates(trusted: readonly StoredKey[], issuers: readonly KeyID[]): Promise<{ candidates: SignerCandidate[]; misnamed: { file: string; holds: Fingerprint }[] }> {
  const candidates: SignerCandidate[] = [];
  const misnamed: { file: string; holds: Fingerprint }[] = [];
  for (const sk of trusted) {
    const already = candidates.find((c) => c.parsed.fingerprint === sk.fingerprint);
    if (already) {
      already.stored.push(sk);
      continue;
    }
    let parsed: ParsedKey[];
    try {
      parsed = await parsePublicKeys(readFileSync(sk.file), sk.file);
    } catch {
      continue;
    }
    const p = parsed[0]!;
    if (!p.key.getKeyIDs().some((id) => issuers.some((i) => i.equals(id)))) continue;
    if (p.fingerprint !== sk.fingerprint) {
      misnamed.push({ file: sk.file, holds: p.fingerprint });
      continue;
    }
    candidates.push({ parsed: p, stored: [sk] });
  }
  return { candidates, misnamed };
}
