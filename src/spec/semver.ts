import { CapsuleError } from '../errors/capsule-error.js';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
}

export function parseSemVer(s: string, field: string): SemVer {
  const m = SEMVER.exec(s);
  if (!m) throw new CapsuleError('invalid-manifest', `${field}: SemVer is bad: ${JSON.stringify(s)}`);
  const v = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
  if (v.major === 0 && v.minor === 0 && v.patch === 0) throw new CapsuleError('invalid-manifest', `${field}: SemVer cannot be zero`);
  return v;
}
