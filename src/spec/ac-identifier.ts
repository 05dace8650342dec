import { CapsuleError } from '../errors/capsule-error.js';

/** An appc AC Identifier (image names, label names): lower-case unreserved characters. */
export type AcIdentifier = string & { readonly __brand: 'AcIdentifier' };
/** An appc AC Name (app, volume, port names): RFC 1123 label characters. */
export type AcName = string & { readonly __brand: 'AcName' };

const ID_CHARS = /^[a-z0-9._~/-]+$/;
const ID_EDGES = /^[a-z0-9].*[a-z0-9]$|^[a-z0-9]$/s;
const NAME_CHARS = /^[a-z0-9-]+$/;

export function parseAcIdentifier(s: string, field = 'name'): AcIdentifier {
  if (s === '') throw new CapsuleError('invalid-name', `${field}: ACIdentifier cannot be empty`);
  if (s.length > 512) throw new CapsuleError('invalid-name', `${field}: ACIdentifier is longer than 512 characters`);
  if (!ID_CHARS.test(s)) {
    throw new CapsuleError('invalid-name', `${field}: ${JSON.stringify(s)} must contain only lower case alphanumeric characters plus "-._~/"`);
  }
  if (!ID_EDGES.test(s)) {
    throw new CapsuleError('invalid-name', `${field}: ${JSON.stringify(s)} must start and end with only lower case alphanumeric characters`);
  }
  if (s.split('/').some((seg) => seg === '.' || seg === '..' || seg === '')) {
    throw new CapsuleError('invalid-name', `${field}: ${JSON.stringify(s)} must not contain empty, "." or ".." path segments`);
  }
  return s as AcIdentifier;
}

export function parseAcName(s: string, field = 'name'): AcName {
  if (s === '') throw new CapsuleError('invalid-name', `${field}: ACName cannot be empty`);
  if (s.length > 253 || !NAME_CHARS.test(s) || s.startsWith('-') || s.endsWith('-')) {
    throw new CapsuleError('invalid-name', `${field}: ${JSON.stringify(s)} must contain only lower case alphanumeric characters plus "-" and start and end with an alphanumeric character`);
  }
  return s as AcName;
}

/** The path segments of a name; prefix trust and discovery match on whole segments. */
export function nameSegments(name: string): string[] {
  return name.split('/').filter((s) => s !== '');
}

/** True when `prefix` covers `name` segment by segment (`a.com/app` covers `a.com/app/x`, not `a.com/application`). */
export function prefixCovers(prefix: string, name: string): boolean {
  const p = nameSegments(prefix);
  const n = nameSegments(name);
  if (p.length === 0 || p.length > n.length) return false;
  return p.every((seg, i) => seg === n[i]);
}
