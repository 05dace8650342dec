import { CapsuleError, UsageError } from '../errors/capsule-error.js';
import { parseAcIdentifier } from '../spec/ac-identifier.js';

/** Where a key is trusted: every image (`root`) or names under a prefix (whole path segments). */
export type TrustScope = { kind: 'root' } | { kind: 'prefix'; prefix: string };

export function parseTrustPrefix(p: string): TrustScope {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) throw new UsageError('--prefix must not contain a URL scheme, omit https://');
  try {
    return { kind: 'prefix', prefix: parseAcIdentifier(p.replace(/\/+$/, ''), '--prefix') };
  } catch (e) {
    throw new CapsuleError('usage', `invalid --prefix ${JSON.stringify(p)}`, { cause: e });
  }
}

export function scopeLabel(s: TrustScope): string {
  return s.kind === 'root' ? 'root' : s.prefix;
}
