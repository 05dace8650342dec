import { CapsuleError, UsageError } from '../errors/capsule-error.js';
import { parseAcIdentifier } from '../spec/ac-identifier.js';

/** Where a key is trusted: every image (`root`) or names under a prefix (whole path segments). */
export type TrustScope = { kind: 'root' } | { kind: 'prefix'; prefix: string };

export function parseTrustPrefix(p: string): TrustScope {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) throw new UsageError('--prefix must not contain a URL scheme, omit https://');
  const clean = p.replace(/\/+$/, '');
  // A Docker registry with a port (`127.0.0.1:5000/team`, OCI images): the port is allowed in the
  // first segment only; the rest follows the image-name rules.
  const port = /^([^/:]+):([0-9]{1,5})(\/.*)?$/.exec(clean);
  try {
    if (port) {
      parseAcIdentifier(`${port[1]}${port[3] ?? ''}`, '--prefix');
      return { kind: 'prefix', prefix: clean };
    }
    return { kind: 'prefix', prefix: parseAcIdentifier(clean, '--prefix') };
  } catch (e) {
    throw new CapsuleError('usage', `invalid --prefix ${JSON.stringify(p)}`, { cause: e });
  }
}

export function scopeLabel(s: TrustScope): string {
  return s.kind === 'root' ? 'root' : s.prefix;
}
