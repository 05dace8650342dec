import { CapsuleError } from '../errors/capsule-error.js';

/** An OpenPGP key fingerprint: 40 lower-case hex (v4) or 64 (v6); the keystore's file names. */
export type Fingerprint = string & { readonly __brand: 'Fingerprint' };

export function parseFingerprint(s: string): Fingerprint {
  const f = s.replace(/\s+/g, '').toLowerCase();
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(f)) throw new CapsuleError('invalid-fingerprint', `${JSON.stringify(s)} is not a key fingerprint (40 or 64 hex digits)`);
  return f as Fingerprint;
}

/** rkt's display: upper case, groups of 4, a double space in the middle. */
export function displayFingerprint(f: Fingerprint): string {
  const groups = f.toUpperCase().match(/.{4}/g) ?? [];
  const half = groups.length / 2;
  return `${groups.slice(0, half).join(' ')}  ${groups.slice(half).join(' ')}`;
}
